"""The one context of the use-cases, question cleaning and the access seam (DESIGN.md §2).

`Context` holds the collaborators (settings, access control, audit log, accounts, store,
embedders, model, gates, review queue, flag rules), opened once per process by
`open_context`. `clean_question` strips invisible and control characters and refuses empty or over-long questions;
`permitted_libraries` checks the principal may ask and which libraries it may read, auditing
denials; `append_event` writes one audit event for a principal. The use-cases in
`assistant.service.ask` and `assistant.service.feedback` build on these.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import uuid
from typing import Any, Literal

from assistant.access import AccessControl
from assistant.accounts import Accounts, Authenticator
from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.domain import AuditEvent, Principal
from assistant.embedding import DenseEmbedder, SparseEncoder
from assistant.errors import AccessDenied, GuideCiteError, InvalidInput, StoreLocked
from assistant.flags import FlagRules, load_flag_rules, make_flag
from assistant.gates import GateRegistry
from assistant.glossary import LayeredTerms, TermTable, cedict_table, load_glossary
from assistant.llm import ChatModel
from assistant.retrieval import HybridRetriever
from assistant.review import ReviewQueue
from assistant.store import VectorStore

logger = logging.getLogger(__name__)

Policy = Literal["strict", "annotate"]

# Characters stripped from questions: NUL/control (except newline and tab), zero-width and
# bidirectional overrides, which can hide text from reviewers (issue #9 item 2).
_INVISIBLE = {
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
}  # fmt: skip
# Whole terminal escape sequences (ECMA-48), not just their ESC byte: stripping ESC alone left
# "[31m" in a stored question (issue #11 item 8). CSI (colours, cursor moves), OSC (titles,
# hyperlinks) and DCS/SOS/PM/APC strings up to their terminator, then any other ESC sequence;
# the 8-bit C1 forms too.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)


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
        self._lock = threading.Lock()
        self._vectors: dict[str, list[float]] = {}
        # Kept across questions: the retriever caches the library profile (term rarity,
        # glosses), and the hospital glossary is read once per process.
        self._retriever: HybridRetriever | None = None
        self._glossary: TermTable | None = None
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
        """The bilingual term table: the hospital glossary, the library's glosses, CC-CEDICT."""
        if self._glossary is None:
            self._glossary = load_glossary()
        glosses = self.retriever.profile().glosses
        return LayeredTerms((self._glossary, glosses, cedict_table()), clinical=2)

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


def visible_text(question: str) -> str:
    """The question in NFC with invisible characters, terminal escape sequences and control
    characters (but newline, tab) removed."""
    normalised = unicodedata.normalize("NFC", question)
    # Invisible characters first, so one placed inside an escape sequence cannot split it.
    visible = "".join(ch for ch in normalised if ch not in _INVISIBLE)
    visible = _ESCAPE_SEQUENCE.sub("", visible)
    return "".join(
        ch for ch in visible if ch in "\n\t" or unicodedata.category(ch)[0] != "C"
    ).strip()


def clean_question(question: str, *, max_chars: int) -> str:
    """Strip invisible and control characters; refuse empty or over-long questions."""
    cleaned = visible_text(question)
    if not cleaned:
        raise InvalidInput(
            "empty question", user_message="The question is empty. 问题为空，请输入问题。"
        )
    if len(cleaned) > max_chars:
        raise InvalidInput(
            f"question of {len(cleaned)} characters exceeds {max_chars}",
            user_message=(
                f"The question has {len(cleaned)} characters; the limit is {max_chars} "
                f"(GUIDECITE_MAX_QUESTION_CHARS). Please shorten it. "
                f"问题过长（{len(cleaned)} 字符，上限 {max_chars}），请精简后再问。"
            ),
        )
    return cleaned


def _audit_denial(
    ctx: Context, principal: Principal, *, action: str, obj: str, exc: AccessDenied
) -> None:
    ctx.audit.append_event(
        actor=principal.user,
        role=str(principal.role),
        department=principal.department,
        session_id=principal.session_id,
        action=action,
        object=obj,
        outcome="denied",
        detail={
            "reason": getattr(exc, "reason", "not_permitted"),
            "via": principal.via,
            "flags": [{**make_flag("access_denied", obj).model_dump(), "severity": "info"}],
        },
    )


def permitted_libraries(
    ctx: Context, principal: Principal, *, action: str, library: str | None
) -> list[str]:
    """Check the principal may ask, and which libraries it may read; denials are audited."""
    try:
        ctx.access.require(principal, "ask", "page:chat")
        readable = ctx.access.readable_libraries(principal)
        if library is not None and library not in readable:
            raise AccessDenied(
                f"{principal.user} may not read library {library}",
                user_message=f"You do not have access to the library {library!r}.",
            )
    except AccessDenied as exc:
        _audit_denial(ctx, principal, action=action, obj=f"library:{library or '*'}", exc=exc)
        raise
    return [library] if library else readable


def append_event(
    ctx: Context,
    principal: Principal,
    *,
    action: str,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> AuditEvent:
    """Write one audit event for the principal (actor, role, department, session)."""
    return ctx.audit.append_event(
        actor=principal.user,
        role=str(principal.role),
        department=principal.department,
        session_id=principal.session_id,
        action=action,
        object=obj,
        outcome=outcome,
        detail=detail,
    )


def record_unavailable(
    settings: Settings,
    *,
    user: str,
    via: str | None,
    action: str,
    library: str | None,
    question: str,
    error: GuideCiteError,
) -> AuditEvent | None:
    """Audit an `ask` or `search` refused before any context exists because a backing service
    is unavailable — the embedded store held by another process (issue #11 item 6) — through
    the audit database, which is not the store. Outcome `unavailable`, a reason code, lengths
    only: the question was never redacted. An unknown or disabled `user` is recorded as the
    operator `via` with the claimed name in the detail (DESIGN.md §6). Returns None, logging
    why, when the audit database itself cannot be written: the user still sees `error`."""
    from assistant.accounts import Accounts
    from assistant.audit.log import open_audit_log

    reason = "store_locked" if isinstance(error, StoreLocked) else "service_unavailable"
    detail: dict[str, Any] = {
        "reason": reason,
        "error": type(error).__name__,
        "retryable": bool(error.retryable),
        "question_chars": len(visible_text(question)),
        "via": via,
    }
    try:
        access = AccessControl.open(settings)
        audit = open_audit_log(settings)
        try:
            principal = Accounts.open(settings, access=access).principal_for(user)
        except AccessDenied as denied:
            actor, role, department = via or "cli:unknown", "unknown", "unknown"
            session_id = uuid.uuid4().hex
            detail = {**detail, "claimed_user": user, "user_refused": denied.reason}
        else:
            actor, role, department = principal.user, str(principal.role), principal.department
            session_id = principal.session_id
        return audit.append_event(
            actor=actor,
            role=role,
            department=department,
            session_id=session_id,
            action=action,
            object=f"library:{library or '*'}",
            outcome="unavailable",
            detail=detail,
        )
    except Exception as exc:  # the refusal stands; only its record is missing
        logger.error("unavailable %s not audited (%s): %s", action, reason, type(exc).__name__)
        return None
