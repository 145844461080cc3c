"""The plumbing every use-case shares: the context, question cleaning and the access seam.

`ServiceContext` holds the collaborators (store, embedders, access control, audit log, model,
gates, review queue, flag rules) and `build_context` opens them from Settings. `clean_question`
strips invisible and control characters and refuses empty or over-long questions;
`permitted_libraries` checks the principal may ask and which libraries it may read, auditing
denials; `append_event` writes one audit event for a principal. The use-cases in
`assistant.service` and `assistant.feedback` build on these.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.access import AccessControl
from assistant.audit import AuditLog
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


@dataclass
class ServiceContext:
    """The collaborators of the use-cases; built from Settings unless injected (tests)."""

    settings: Settings
    store: VectorStore
    embedder: DenseEmbedder
    access: AccessControl
    audit: AuditLog
    sparse: SparseEncoder = field(default_factory=SparseEncoder)
    chat: ChatModel | None = None
    policy: Policy = "strict"
    gates: GateRegistry | None = None
    review: ReviewQueue | None = None
    flag_rules: FlagRules | None = None
    _vectors: dict[str, list[float]] = field(default_factory=dict, repr=False)
    # Kept across questions: the retriever caches the library profile (term rarity, glosses),
    # and the hospital glossary is read once per process.
    _retriever: HybridRetriever | None = field(default=None, repr=False)
    _glossary: TermTable | None = field(default=None, repr=False)
    _translations: dict[str, str] = field(default_factory=dict, repr=False)

    def gate_registry(self) -> GateRegistry:
        """The department approvals (opened on the configured database on first use)."""
        if self.gates is None:
            self.gates = GateRegistry.open(self.settings)
        return self.gates

    def review_queue(self) -> ReviewQueue:
        """The review queue (opened on the configured database on first use)."""
        if self.review is None:
            self.review = ReviewQueue.open(self.settings)
        return self.review

    def rules_for(self, department: str) -> FlagRules:
        """The flag rules with the department's overrides."""
        return (self.flag_rules or load_flag_rules()).for_department(department)

    @property
    def retriever(self) -> HybridRetriever:
        """The hybrid retriever over this context's store and embedders."""
        if self._retriever is None:
            self._retriever = HybridRetriever(
                self.settings, store=self.store, embedder=self.embedder, sparse=self.sparse
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
        """Release the store (the embedded one is single-process)."""
        self.store.close()


def build_context(
    settings: Settings,
    *,
    store: VectorStore | None = None,
    embedder: DenseEmbedder | None = None,
    access: AccessControl | None = None,
    audit: AuditLog | None = None,
    chat: ChatModel | None = None,
) -> ServiceContext:
    """Open every collaborator the configuration names; injected ones are used as given."""
    from assistant.audit import open_audit_log
    from assistant.embedding import load_dense_embedder
    from assistant.store import open_store

    if chat is None and settings.llm.base_url:
        chat = ChatModel(settings.llm)
    return ServiceContext(
        settings=settings,
        store=store or open_store(settings),
        embedder=embedder or load_dense_embedder(settings.embedding),
        access=access or AccessControl.open(settings),
        audit=audit or open_audit_log(settings),
        chat=chat,
        policy=settings.citation_policy,
    )


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
    ctx: ServiceContext, principal: Principal, *, action: str, obj: str, exc: AccessDenied
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
    ctx: ServiceContext, principal: Principal, *, action: str, library: str | None
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
    ctx: ServiceContext,
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
    from assistant.audit import open_audit_log

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
