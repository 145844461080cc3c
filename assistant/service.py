"""The one wiring point: `answer_question` and `search_sources` (DESIGN.md §1).

Order matters and is enforced here: access → privacy → gate → retrieve → generate → verify →
flag → audit. Nothing reaches the model, the index or the logs before access and redaction; the
audit event is written before the answer is returned, and if it cannot be written the answer is
withheld (fail closed, 等保2.0 8.1.4.3).
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from assistant.access import AccessControl
from assistant.audit import AuditLog
from assistant.citations import SentenceVerdict, content_terms, verify_answer
from assistant.config import Settings
from assistant.domain import (
    Answer,
    AnswerMode,
    AnswerSentence,
    AuditEvent,
    Flag,
    Principal,
    Source,
)
from assistant.embedding import DenseEmbedder, SparseEncoder
from assistant.errors import AccessDenied, AuditUnavailable, GuideCiteError, InvalidInput
from assistant.flags import (
    FlagRules,
    apply_severities,
    cited_sources,
    compute_flags,
    is_high,
    load_flag_rules,
    make_flag,
)
from assistant.gates import GateRegistry, GateStatus, gate_banner
from assistant.generation import Draft, extractive_draft, generate_draft
from assistant.llm import ChatModel
from assistant.privacy import RedactionResult, redact_text
from assistant.prompts import condense_messages, detect_language, template_hash
from assistant.retrieval import HybridRetriever, RetrievalResult
from assistant.review import ReviewQueue, open_review_item
from assistant.store import VectorStore

logger = logging.getLogger(__name__)

Policy = Literal["strict", "annotate"]
# Progress of one question for a waiting user: ("retrieving" | "sources" | "generating" |
# "verifying", detail). Nothing passed here is answer text: under either policy only verified
# sentences reach the user, in the returned Answer.
ProgressFn = Callable[[str, dict[str, Any]], None]

REFUSAL = {
    "zh": "指南库未涵盖这个问题。下面列出最相关的段落，仅供参考，并非答案。",
    "en": "The guideline library does not cover this question. The nearest passages are shown "
    "as related reading, not as an answer.",
}
NO_LIBRARY = {
    "zh": "您目前没有可查阅的指南库，请联系科室管理员。",
    "en": "You have no guideline library you may read; ask your department administrator.",
}
# Characters stripped from questions: NUL/control (except newline and tab), zero-width and
# bidirectional overrides, which can hide text from reviewers (issue #9 item 2).
_INVISIBLE = {
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
}  # fmt: skip


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
        return HybridRetriever(
            self.settings, store=self.store, embedder=self.embedder, sparse=self.sparse
        )

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


def _visible_text(question: str) -> str:
    normalised = unicodedata.normalize("NFC", question)
    return "".join(
        ch
        for ch in normalised
        if ch not in _INVISIBLE and (ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    ).strip()


def clean_question(question: str, *, max_chars: int) -> str:
    """Strip invisible and control characters; refuse empty or over-long questions."""
    cleaned = _visible_text(question)
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


def condense_follow_up(
    ctx: ServiceContext, question: str, *, history: Sequence[str], language: Literal["zh", "en"]
) -> str:
    """A standalone search question for a follow-up ("and for children?")."""
    if not history:
        return question
    previous = history[-1]
    if ctx.chat is not None:
        try:
            turns = [("user", h) for h in history[-3:]]
            reply = ctx.chat.complete(condense_messages(turns, question, language=language))
            condensed = reply.content.strip().splitlines()[0] if reply.content.strip() else ""
            if 0 < len(condensed) <= ctx.settings.max_question_chars:
                return condensed
        except GuideCiteError as exc:
            logger.warning("condensing the follow-up failed (%s); carrying key terms", type(exc))
    # Without a model: a short follow-up ("and for children?") is searched together with the
    # previous question, whose terms carry the topic.
    if len(content_terms(question)) >= 4:
        return question
    return f"{previous} {question}"


def answer_question(
    principal: Principal,
    question: str,
    *,
    ctx: ServiceContext,
    library: str | None = None,
    history: Sequence[str] = (),
    progress: ProgressFn | None = None,
) -> Answer:
    """Answer one question for an authenticated principal, following DESIGN.md §1.

    `progress` hears each stage as it starts (and the sources once found) so a page can show
    what is happening; the answer itself is only the returned, verified `Answer`.
    """
    stages: list[str] = []

    def report(stage: str, detail: dict[str, Any]) -> None:
        stages.append(stage)
        if progress is not None:
            progress(stage, detail)

    started = time.perf_counter()
    try:
        cleaned = clean_question(question, max_chars=ctx.settings.max_question_chars)
    except InvalidInput:
        # 等保2.0 8.1.4.3: a refused question is a user action too. Lengths and a reason code
        # only: the text was never redacted and may hold identifiers.
        visible = _visible_text(question)
        reason = "question_too_long" if visible else "empty_question"
        detail = {
            "reason": reason,
            "question_chars": len(visible),
            "raw_chars": len(question),
            "limit": ctx.settings.max_question_chars,
        }
        obj = f"library:{library or '*'}"
        _audit_failed_ask(ctx, principal, obj=obj, outcome="rejected", detail=detail)
        raise
    libraries = permitted_libraries(ctx, principal, action="ask", library=library)
    try:
        answer, event = _answer_and_audit(
            ctx,
            principal,
            cleaned,
            libraries=libraries,
            history=history,
            report=report,
            started=started,
        )
    except AuditUnavailable:
        raise  # nothing more can be recorded; the answer is withheld (fail closed)
    except Exception as exc:
        detail = {
            "error": type(exc).__name__,
            "stage": stages[-1] if stages else "starting",
            "retryable": bool(getattr(exc, "retryable", False)),
            "question_chars": len(cleaned),
        }
        obj = ",".join(f"library:{name}" for name in libraries) or "library:none"
        _audit_failed_ask(ctx, principal, obj=obj, outcome="error", detail=detail)
        raise
    answer.audit_event_id = event.id
    _track_answer(ctx, principal, event, answer)
    return answer


def _audit_failed_ask(
    ctx: ServiceContext,
    principal: Principal,
    *,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> None:
    """Record an `ask` that ended without an answer; never masks the error that ended it."""
    try:
        _append(
            ctx,
            principal,
            action="ask",
            obj=obj,
            outcome=outcome,
            detail={**detail, "via": principal.via},
        )
    except Exception as audit_exc:
        # The user must see the original error, not the audit's: log that this one is missing.
        logger.error("failed ask not audited (%s): %s", outcome, type(audit_exc).__name__)


def _answer_and_audit(
    ctx: ServiceContext,
    principal: Principal,
    cleaned: str,
    *,
    libraries: list[str],
    history: Sequence[str],
    report: ProgressFn,
    started: float,
) -> tuple[Answer, AuditEvent]:
    """Steps 2–8 of DESIGN.md §1 for a checked question; returns the answer and its event."""
    redaction = redact_text(cleaned)
    prior = [redact_text(h).text for h in history]
    language = detect_language(redaction.text)
    gate = ctx.gate_registry().status(principal.department)
    # Without a current ethics approval nothing goes to the model, not even the condensing call.
    gen_ctx = ctx if gate.open else replace(ctx, chat=None)
    report("retrieving", {"redactions": len(redaction.as_redactions())})
    searched_for = condense_follow_up(gen_ctx, redaction.text, history=prior, language=language)
    retrieval = ctx.retriever.retrieve(searched_for, libraries=libraries)
    t_retrieved = time.perf_counter()
    report("sources", {"sources": list(retrieval.sources), "relevant": retrieval.relevant})
    gate_reason = _gate_reason(ctx, gate, retrieval)
    if gate_reason:
        gen_ctx = replace(ctx, chat=None)
    report("generating", {"model": gen_ctx.chat is not None and retrieval.relevant})
    draft = _draft_answer(gen_ctx, redaction.text, retrieval, language=language)
    t_generated = time.perf_counter()
    report("verifying", {"sentences": len(draft.sentences)})
    sentences, flags, draft = _verify(ctx, redaction.text, retrieval, draft, language=language)
    t_verified = time.perf_counter()
    rules = ctx.rules_for(principal.department)
    flags = apply_severities(flags, rules=rules)
    flags += compute_flags(
        question=redaction.text,
        redaction=redaction,
        draft=draft,
        retrieval=retrieval,
        cited=cited_sources(retrieval.sources, (n for s in sentences for n in s.citations)),
        gate_reason=gate_reason,
        rules=rules,
    )
    answer = Answer(
        session_id=principal.session_id,
        mode=draft.mode,
        sentences=sentences,
        sources=retrieval.sources,
        flags=flags,
        redactions=redaction.as_redactions(),
        searched_for=searched_for if searched_for != redaction.text else None,
        message=REFUSAL[language] if draft.mode == AnswerMode.REFUSED else None,
        timings_ms={
            "retrieve": round((t_retrieved - started) * 1000, 2),
            "generate": round((t_generated - t_retrieved) * 1000, 2),
            "verify": round((t_verified - t_generated) * 1000, 2),
        },
    )
    if not libraries:
        answer.message = NO_LIBRARY[language]
    elif gate_reason and answer.message is None:
        answer.message = gate_banner(gate_reason, language=language)
    answer.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 2)
    event = ctx.audit.append_event(
        actor=principal.user,
        role=str(principal.role),
        department=principal.department,
        session_id=principal.session_id,
        action="ask",
        object=",".join(f"library:{name}" for name in libraries) or "library:none",
        outcome=str(answer.mode),
        detail=_ask_detail(
            ctx, redaction, answer, draft, retrieval, principal=principal, gate=gate
        ),
    )
    return answer, event


def _gate_reason(ctx: ServiceContext, gate: GateStatus, retrieval: RetrievalResult) -> str | None:
    """Why the ethics gate keeps this answer extractive (None when it does not)."""
    if ctx.chat is None:
        return None  # generation is off anyway; the gate changes nothing
    if not gate.open:
        return gate.reason or "no_approval"
    if not gate.covers([s.library for s in retrieval.sources]):
        return "library_out_of_scope"
    return None


def _track_answer(
    ctx: ServiceContext, principal: Principal, event: AuditEvent, answer: Answer
) -> None:
    """Index the answer for feedback; a high flag opens a review item (issue 6 item 1)."""
    queue = ctx.review_queue()
    queue.remember_answer(
        answer_id=answer.answer_id,
        audit_event_id=int(event.id or 0),
        actor=principal.user,
        department=principal.department,
        ts=event.ts_utc,
    )
    if is_high(answer.flags):
        high = [f for f in answer.flags if f.severity == "high"]
        open_review_item(ctx, principal, ask_event=event, flags=high, queue=queue)


def _draft_answer(
    ctx: ServiceContext,
    question: str,
    retrieval: RetrievalResult,
    *,
    language: Literal["zh", "en"],
) -> Draft:
    if not retrieval.relevant:
        return Draft(mode=AnswerMode.REFUSED, sentences=[])
    draft = generate_draft(question, retrieval.sources, chat=ctx.chat, language=language)
    if draft.insufficient_evidence:
        return Draft(
            mode=AnswerMode.REFUSED,
            sentences=[],
            model=draft.model,
            reasoning=draft.reasoning,
            insufficient_evidence=True,
        )
    return draft


def _verify(
    ctx: ServiceContext,
    question: str,
    retrieval: RetrievalResult,
    draft: Draft,
    *,
    language: Literal["zh", "en"],
) -> tuple[list[AnswerSentence], list[Flag], Draft]:
    """Verify every sentence; under `strict`, an unsupported generated answer is replaced."""
    flags: list[Flag] = []
    if draft.mode == AnswerMode.REFUSED:
        return [], flags, draft
    sources = {s.n: s.text for s in retrieval.sources}
    verdicts = _verdicts(ctx, draft, sources)
    failing = [i for i, v in enumerate(verdicts) if not v.supported]
    if failing and draft.mode == AnswerMode.GENERATIVE:
        first = failing[0]
        detail = f"sentence {first + 1}: {verdicts[first].reason}" + (
            f" ({', '.join(verdicts[first].missing_quantities)})"
            if verdicts[first].missing_quantities
            else ""
        )
        flags.append(make_flag("unsupported_sentence", detail))
        if ctx.policy == "strict":
            replaced = extractive_draft(question, retrieval.sources)
            replaced.model, replaced.reasoning = draft.model, draft.reasoning
            draft = replaced
            verdicts = _verdicts(ctx, draft, sources)
    sentences = [
        AnswerSentence(
            text=text,
            citations=list(cites),
            supported=verdict.supported,
            support_score=verdict.support_score,
        )
        for (text, cites), verdict in zip(draft.sentences, verdicts, strict=True)
    ]
    return sentences, flags, draft


def _verdicts(ctx: ServiceContext, draft: Draft, sources: dict[int, str]) -> list[SentenceVerdict]:
    multilingual = {"zh", "en"} <= set(ctx.settings.embedding.languages)
    return verify_answer(
        draft.sentences,
        sources,
        similarity=ctx.similarity,
        cross_lingual_similarity_ok=multilingual,
    )


def _ask_detail(
    ctx: ServiceContext,
    redaction: RedactionResult,
    answer: Answer,
    draft: Draft,
    retrieval: RetrievalResult,
    *,
    principal: Principal,
    gate: GateStatus,
) -> dict[str, Any]:
    """The `ask` audit record: redacted question *and* its answer (issue #4 item 3)."""
    return {
        "answer_id": answer.answer_id,
        "question": redaction.text,
        "searched_for": answer.searched_for,
        "language": retrieval.language,
        "channel": retrieval.channel,
        "mode": str(answer.mode),
        "sentences": [s.model_dump() for s in answer.sentences],
        "sources": [
            {
                "n": s.n,
                "chunk_id": s.chunk_id,
                "doc_id": s.doc_id,
                "title": s.title,
                "version": s.version,
                "section": s.section,
                "library": s.library,
                "page": s.page,
                "text": s.text,
                "score": s.score,
                "dense_score": s.dense_score,
                "sparse_score": s.sparse_score,
            }
            for s in answer.sources
        ],
        "relevance": {
            "relevant": retrieval.relevant,
            "best_dense": retrieval.best_dense,
            "best_sparse": retrieval.best_sparse,
            "term_coverage": round(retrieval.term_coverage, 4),
        },
        "flags": [{**f.model_dump(), "severity": f.severity} for f in answer.flags],
        "gate": {
            "open": gate.open,
            "reason": gate.reason,
            "reference": gate.approval.reference if gate.approval else None,
        },
        "redactions": redaction.counts,
        "model": draft.model or (ctx.chat.model if ctx.chat else None),
        "prompt_template_sha256": template_hash(),
        "used_schema": draft.used_schema,
        "llm_error": draft.error_code,
        "reasoning": draft.reasoning,
        "timings_ms": answer.timings_ms,
        "policy": ctx.policy,
        "via": principal.via,
    }


def search_sources(
    principal: Principal,
    query: str,
    *,
    ctx: ServiceContext,
    library: str | None = None,
    k: int | None = None,
) -> list[Source]:
    """Retrieve sources only (no generation) for `guidecite search`; audited like `ask`."""
    cleaned = clean_question(query, max_chars=ctx.settings.max_question_chars)
    libraries = permitted_libraries(ctx, principal, action="search", library=library)
    redaction = redact_text(cleaned)
    retrieval = ctx.retriever.retrieve(redaction.text, libraries=libraries, k=k)
    ctx.audit.append_event(
        actor=principal.user,
        role=str(principal.role),
        department=principal.department,
        session_id=principal.session_id,
        action="search",
        object=",".join(f"library:{name}" for name in libraries) or "library:none",
        outcome="ok",
        detail={
            "query": redaction.text,
            "redactions": redaction.counts,
            "sources": [{"chunk_id": s.chunk_id, "score": s.score} for s in retrieval.sources],
            "via": principal.via,
        },
    )
    return retrieval.sources


def record_feedback(
    principal: Principal,
    *,
    answer_id: str,
    helpful: bool,
    comment: str = "",
    ctx: ServiceContext,
) -> int:
    """Record 👍/👎 on one of the principal's answers (comment redacted); returns the event id.

    👎 raises the `negative_feedback` flag, which opens (or joins) the answer's review item.
    """
    queue = ctx.review_queue()
    obj = f"answer:{answer_id}"
    redaction = redact_text(comment.strip()[: ctx.settings.max_question_chars])
    base = {"answer_id": answer_id, "helpful": helpful, "via": principal.via}
    ref = queue.answer_ref(answer_id)
    try:
        if ref is None:
            raise InvalidInput(f"no answer {answer_id}", user_message="That answer is unknown.")
        if ref["actor"] != principal.user:
            # Feedback speaks for the person who asked; nobody rates someone else's answer.
            raise AccessDenied(
                f"{principal.user} rated an answer of {ref['actor']}",
                reason="not_your_answer",
                user_message="You can only give feedback on your own answers.",
            )
    except (InvalidInput, AccessDenied) as exc:
        outcome = "denied" if isinstance(exc, AccessDenied) else "refused"
        _append(ctx, principal, action="feedback", obj=obj, outcome=outcome, detail=base)
        raise
    rules = ctx.rules_for(str(ref["department"]))
    flags = [] if helpful else [make_flag("negative_feedback", redaction.text[:200], rules=rules)]
    event = _append(
        ctx,
        principal,
        action="feedback",
        obj=obj,
        outcome="helpful" if helpful else "not_helpful",
        detail={
            **base,
            "ask_event_id": ref["audit_event_id"],
            "comment": redaction.text,
            "redactions": redaction.counts,
            "flags": [{**f.model_dump(), "severity": f.severity} for f in flags],
        },
    )
    feedback = {
        "event_id": event.id,
        "helpful": helpful,
        "comment": redaction.text,
        "by": principal.user,
        "ts_utc": event.ts_utc.isoformat(),
    }
    if not helpful or queue.by_answer(answer_id) is not None:
        ask_event = _find_ask_event(ctx, ref)
        open_review_item(
            ctx, principal, ask_event=ask_event, flags=flags, feedback=feedback, queue=queue
        )
    return int(event.id or 0)


def _append(
    ctx: ServiceContext,
    principal: Principal,
    *,
    action: str,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> AuditEvent:
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


def _find_ask_event(ctx: ServiceContext, ref: dict[str, Any]) -> AuditEvent:
    """The `ask` event an answer reference names (scanned from its timestamp on)."""
    for event in ctx.audit.iter_events(since=ref["ts_utc"], actions={"ask"}):
        if event.id == ref["audit_event_id"]:
            return event
    raise InvalidInput(
        f"ask event {ref['audit_event_id']} not found (purged?)",
        user_message="The answer's audit record is no longer available.",
    )
