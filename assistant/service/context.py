"""The one context of the use-cases, opened once per process (DESIGN.md §2).

`Context` holds the collaborators (settings, access control, audit log, accounts, store,
embedders, model, gates, review queue, flag rules, conversations), opened once per process by
`open_context`; every use-case in `assistant.service` takes it.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Literal

from assistant.access import AccessControl
from assistant.accounts import Accounts, Authenticator
from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.embedding import DenseEmbedder, SparseEncoder
from assistant.errors import GuideCiteError
from assistant.flags import FlagRules, load_flag_rules
from assistant.gates import GateRegistry
from assistant.glossary import LayeredTerms, TermTable, cedict_table, load_glossaries
from assistant.llm import ChatModel
from assistant.retrieval import HybridRetriever
from assistant.review import ReviewQueue
from assistant.store import VectorStore
from assistant.transliteration import char_readings

logger = logging.getLogger(__name__)

Policy = Literal["strict", "annotate"]

_VECTOR_CACHE_SIZE = 4096  # texts; ~1.5 KB each at 384 dimensions


class Context:
    """The collaborators of every use-case, opened once per process (DESIGN.md §2).

    Settings, access control and the audit log are opened at once; the vector store, the
    embedding model, the chat model and the accounts only when a use-case first needs them, so
    an administrative command never loads a model or takes the embedded store's lock. Nothing
    here changes per request: per-request choices (the citation policy, whether the model may
    be called) are arguments of the use-cases. Collaborators passed in are used as given
    (tests, the web app sharing one store).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        access: AccessControl | None = None,
        audit: AuditLog | None = None,
        accounts: Accounts | None = None,
        authenticator: Authenticator | None = None,
        store: VectorStore | None = None,
        embedder: DenseEmbedder | None = None,
        sparse: SparseEncoder | None = None,
        chat: ChatModel | None = None,
        gates: GateRegistry | None = None,
        review: ReviewQueue | None = None,
        flag_rules: FlagRules | None = None,
        conversations: ConversationStore | None = None,
    ) -> None:
        from assistant.audit.log import open_audit_log

        self._settings = settings
        self._access = access or AccessControl.open(settings)
        self._audit = audit or open_audit_log(settings)
        self._accounts = accounts
        self._authenticator = authenticator
        self._store = store
        self._embedder = embedder
        self._sparse = sparse or SparseEncoder()
        self._chat = chat
        self._gates = gates
        self._review = review
        self._flag_rules = flag_rules
        self._conversations = conversations
        self._lock = threading.Lock()
        self._vectors: dict[str, list[float]] = {}
        # Kept across questions: the retriever caches the library profile (term rarity,
        # glosses), and the hospital glossary is read once per process.
        self._retriever: HybridRetriever | None = None
        self._glossary: TermTable | None = None
        self._vocabulary = TermTable()
        self._translations: dict[str, str] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            raise AttributeError(
                f"the context is the same for every request: pass {name!r} as an argument"
            )
        super().__setattr__(name, value)

    @property
    def settings(self) -> Settings:
        """The configuration the context was opened with."""
        return self._settings

    @property
    def access(self) -> AccessControl:
        """Casbin access control on the configured database."""
        return self._access

    @property
    def audit(self) -> AuditLog:
        """The audit log on the configured database."""
        return self._audit

    @property
    def accounts(self) -> Accounts:
        """Local accounts (and SSO sign-in) on the shared database."""
        with self._lock:
            if self._accounts is None:
                self._accounts = Accounts.open(
                    self._settings, access=self._access, authenticator=self._authenticator
                )
        return self._accounts

    @property
    def store(self) -> VectorStore:
        """The vector store (the embedded one is opened, and locked, on first use)."""
        with self._lock:
            if self._store is None:
                from assistant.store import open_store

                self._store = open_store(self._settings)
        return self._store

    @property
    def embedder(self) -> DenseEmbedder:
        """The dense embedding model (loaded on first use)."""
        with self._lock:
            if self._embedder is None:
                from assistant.embedding import load_dense_embedder

                self._embedder = load_dense_embedder(self._settings.embedding)
        return self._embedder

    @property
    def sparse(self) -> SparseEncoder:
        """The sparse (BM25-term) encoder."""
        return self._sparse

    @property
    def chat(self) -> ChatModel | None:
        """The chat model (`GUIDECITE_LLM__BASE_URL`); None means extractive answers only."""
        return self._chat

    def gate_registry(self) -> GateRegistry:
        """The department approvals (opened on the configured database on first use)."""
        if self._gates is None:
            self._gates = GateRegistry.open(self._settings)
        return self._gates

    def review_queue(self) -> ReviewQueue:
        """The review queue (opened on the configured database on first use)."""
        if self._review is None:
            self._review = ReviewQueue.open(self._settings)
        return self._review

    def conversation_store(self) -> ConversationStore:
        """The stored chat conversations (opened on the configured database on first use)."""
        if self._conversations is None:
            self._conversations = ConversationStore.open(self._settings)
        return self._conversations

    def rules_for(self, department: str) -> FlagRules:
        """The flag rules with the department's overrides."""
        return (self._flag_rules or load_flag_rules()).for_department(department)

    @property
    def retriever(self) -> HybridRetriever:
        """The hybrid retriever over this context's store and embedders."""
        if self._retriever is None:
            self._retriever = HybridRetriever(
                self._settings, store=self.store, embedder=self.embedder, sparse=self._sparse
            )
        return self._retriever

    def term_table(self) -> LayeredTerms:
        """The bilingual term table: the hospital glossary's names, the library's glosses, the
        glossary's everyday vocabulary, CC-CEDICT (candidates the library holds first)."""
        if self._glossary is None:
            self._glossary, self._vocabulary = load_glossaries()
        profile = self.retriever.profile()
        # The glossary's names and the library's glosses are clinical (a question naming one is
        # about it); its everyday vocabulary and the dictionary only translate. The glossary's two
        # lists and the glosses are written by people: their round trips are synonyms.
        return LayeredTerms(
            (self._glossary, profile.glosses, self._vocabulary, cedict_table()),
            clinical=2,
            curated=3,
            names=profile.names,
            held=profile.holds,
        )

    def warm_up(self) -> dict[str, float]:
        """Load now what the first question would otherwise wait for (issue 16 item 6).

        The dense model, the word segmenter's dictionary, the library's term profile and the
        bilingual term table each take about a second on two cores the first time. Returns the
        seconds each step took. A step whose backing service is down (an embeddings endpoint,
        say) is logged and left to the first question, which reports it to the person asking.
        """
        steps: dict[str, float] = {}
        for name, step in (
            ("retriever", lambda: self.retriever),
            ("segmenter", lambda: self.sparse.tokenize("流行性感冒 influenza")),
            ("dense_model", lambda: self.embedder.embed_query("influenza")),
            ("term_table", self.term_table),
            ("drug_names", char_readings),
        ):
            started = time.perf_counter()
            try:
                step()
            except GuideCiteError as exc:
                logger.warning("warm-up step %s failed: %s", name, type(exc).__name__)
                continue
            steps[name] = round(time.perf_counter() - started, 3)
        return steps

    def similarity(self, a: str, b: str) -> float:
        """Cosine of two texts under the dense model (for citation support).

        Vectors are kept per text (bounded): a source cited by several sentences, or shown for
        the next question too, is embedded once.
        """
        missing = list(dict.fromkeys(t for t in (a, b) if t not in self._vectors))
        if missing:
            if len(self._vectors) + len(missing) > _VECTOR_CACHE_SIZE:
                self._vectors.clear()
            self._vectors.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
        va, vb = self._vectors[a], self._vectors[b]
        return float(sum(x * y for x, y in zip(va, vb, strict=True)))

    def close(self) -> None:
        """Release the store if it was opened (the embedded one is single-process)."""
        if self._store is not None:
            self._store.close()


def open_context(settings: Settings, **given: Any) -> Context:
    """Open the one context for this process; collaborators in `given` are used as given.

    The chat model is the configured one (`GUIDECITE_LLM__BASE_URL`) unless `chat` is given.
    """
    if "chat" not in given and settings.llm.base_url:
        given["chat"] = ChatModel(settings.llm)
    return Context(settings, **given)
