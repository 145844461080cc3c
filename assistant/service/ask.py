"""The one wiring point: `answer_question` and `search_sources` (DESIGN.md §1).

Order matters and is enforced here: access → privacy → gate → retrieve → generate → verify →
flag → audit. Nothing reaches the model, the index or the logs before access and redaction; the
audit event is written before the answer is returned, and if it cannot be written the answer is
withheld (fail closed, 等保2.0 8.1.4.3). Here too: the question's cleaning (`clean_question`)
and who may ask it (`permitted_libraries`), the refusal recorded when the store is unavailable
(`record_unavailable`), and what a page shows beside an answer (`readable_libraries`,
`support_spans`, `original_file`).
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from assistant import citations
from assistant.config import Settings
from assistant.conflicts import find_conflicts
from assistant.domain import (
    Answer,
    AnswerMode,
    AnswerSentence,
    AuditAction,
    AuditEvent,
    GuidelineConflict,
    Principal,
    Refusal,
    Source,
    Strength,
    libraries_object,
    library_object,
    page_object,
)
from assistant.errors import (
    AccessDenied,
    AuditUnavailable,
    GuideCiteError,
    InvalidInput,
    StoreLocked,
)
from assistant.flags import apply_severities, cited_sources, compute_flags, is_high, make_flag
from assistant.gates import GateStatus, gate_banner
from assistant.generation import (
    Draft,
    generate_draft,
)
from assistant.language import detect_language
from assistant.llm import ChatModel
from assistant.privacy import RedactionResult, redact_text
from assistant.prompts import template_hash
from assistant.questions import (
    QuestionAnalysis,
)
from assistant.retrieval import RetrievalResult
from assistant.service.acting import record
from assistant.service.context import Context, Policy, open_context
from assistant.service.passages import original_document
from assistant.service.review import open_review_item
from assistant.service.understanding import (
    anchored_relevance,
    anchors_held,
    answers_nothing,
    condense_follow_up,
    continue_cut_passages,
    empty_refusal,
    holds_term,
    named_by_class,
    names_subject,
    precede_drugless_passages,
    search_for_aspect,
    search_for_subject,
    subject_refusal,
    understand_question,
)
from assistant.service.verdicts import responsiveness_flags, verify_draft

logger = logging.getLogger(__name__)

# Progress of one question for a waiting user: ("retrieving" | "sources" | "generating" |
# "verifying", detail). Nothing passed here is answer text: under either policy only verified
# sentences reach the user, in the returned Answer.
ProgressFn = Callable[[str, dict[str, Any]], None]

REFUSAL = {
    "zh": "指南库未涵盖这个问题。下面列出最相关的段落，仅供参考，并非答案。",
    "en": "The guideline library does not cover this question. The nearest passages are shown "
    "as related reading, not as an answer.",
}
REFUSAL_SUBJECT = {
    "zh": "指南库中没有关于“{missing}”的段落，因此无法回答。下面列出的段落仅供参考，并非答案。",
    "en": "The guideline library has no passage about {missing}, so this question cannot be "
    "answered from it. The nearest passages are shown as related reading, not as an answer.",
}
REFUSAL_ASPECT = {
    "zh": "指南库涉及这个主题，但没有说明所问的{aspect}。下面列出的段落仅供参考，并非答案。",
    "en": "The guideline library covers this subject but does not state its {aspect}. The "
    "nearest passages are shown as related reading, not as an answer.",
}
ASPECT_NAMES = {
    "zh": {
        "dose": "剂量",
        "missed_dose": "漏服后的处理",
        "renal_dose": "肾功能不全时的剂量",
        "duration": "疗程或持续时间",
        "frequency": "间隔或频率",
        "incubation": "潜伏期",
        "contraindication": "禁忌",
        "adverse_effects": "不良反应",
        "value": "具体数值",
        "timing": "开始时机或时间窗",
        "indication": "适用人群或适应证",
        "max_dose": "最大剂量",
        "age": "适用年龄",
        "age_affected": "好发年龄",
        "site": "给药部位",
        "discontinuation": "停药或减量方法",
        "formula": "中医方药",
        "treatment": "治疗或处理方法",
        "proportion": "比例或发生率",
        "conversion": "换算系数",
        "interaction": "与其他药物合用",
        "severity": "重症（重型、危重型）的判断标准",
    },
    "en": {
        "dose": "dose",
        "missed_dose": "what to do after a missed dose",
        "renal_dose": "dose in kidney impairment",
        "duration": "duration",
        "frequency": "interval or frequency",
        "incubation": "incubation period",
        "contraindication": "contraindications",
        "adverse_effects": "adverse effects",
        "value": "value",
        "timing": "timing (how soon to start)",
        "indication": "indications (who or what it is for)",
        "max_dose": "maximum dose",
        "age": "age limit",
        "age_affected": "ages most affected",
        "site": "site of administration",
        "discontinuation": "stopping or tapering schedule",
        "formula": "formula of Chinese medicine",
        "treatment": "treatment or management",
        "proportion": "proportion or rate",
        "conversion": "conversion factor",
        "interaction": "use together with other drugs",
        "severity": "criteria for severe or critical illness",
    },
}
NO_LIBRARY = {
    "zh": "您目前没有可查阅的指南库，请联系科室管理员。",
    "en": "You have no guideline library you may read; ask your department administrator.",
}


def answer_question(
    principal: Principal,
    question: str,
    *,
    ctx: Context,
    library: str | None = None,
    history: Sequence[str] = (),
    progress: ProgressFn | None = None,
    policy: Policy | None = None,
    strength: Strength | None = None,
) -> Answer:
    """Answer one question for an authenticated principal, following DESIGN.md §1.

    `policy` is the citation policy for this question (default: the configured one).
    `strength` keeps only sources whose stated grade has that strength (issue #17 §1); when
    none does, the answer is a refusal.

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
        visible = visible_text(question)
        reason = "question_too_long" if visible else "empty_question"
        detail = {
            "reason": reason,
            "question_chars": len(visible),
            "raw_chars": len(question),
            "limit": ctx.settings.max_question_chars,
        }
        obj = library_object(library or "*")
        _audit_failed_ask(ctx, principal, obj=obj, outcome="rejected", detail=detail)
        raise
    libraries = permitted_libraries(ctx, principal, action=AuditAction.ASK, library=library)
    try:
        answer, event = _answer_and_audit(
            ctx,
            principal,
            cleaned,
            libraries=libraries,
            history=history,
            report=report,
            started=started,
            policy=policy or ctx.settings.citation_policy,
            strength=strength,
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
        obj = libraries_object(libraries)
        _audit_failed_ask(ctx, principal, obj=obj, outcome="error", detail=detail)
        raise
    answer.audit_event_id = event.id
    _track_answer(ctx, principal, event, answer)
    return answer


def _audit_failed_ask(
    ctx: Context,
    principal: Principal,
    *,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> None:
    """Record an `ask` that ended without an answer; never masks the error that ended it."""
    try:
        record(
            ctx.audit, principal, action=AuditAction.ASK, obj=obj, outcome=outcome, detail=detail
        )
    except Exception as audit_exc:
        # The user must see the original error, not the audit's: log that this one is missing.
        logger.error("failed ask not audited (%s): %s", outcome, type(audit_exc).__name__)


def _answer_and_audit(
    ctx: Context,
    principal: Principal,
    cleaned: str,
    *,
    libraries: list[str],
    history: Sequence[str],
    report: ProgressFn,
    started: float,
    policy: Policy,
    strength: Strength | None = None,
) -> tuple[Answer, AuditEvent]:
    """Steps 2–8 of DESIGN.md §1 for a checked question; returns the answer and its event."""
    redaction = redact_text(cleaned)
    prior = [redact_text(h).text for h in history]
    language = detect_language(redaction.text)
    gate = ctx.gate_registry().status(principal.department)
    # Without a current ethics approval nothing goes to the model, not even the condensing call.
    chat = ctx.chat if gate.open else None
    report("retrieving", {"redactions": len(redaction.as_redactions())})
    searched_for = condense_follow_up(
        ctx, redaction.text, history=prior, language=language, chat=chat
    )
    analysis = understand_question(ctx, searched_for, libraries=libraries, chat=chat)
    retrieval = ctx.retriever.retrieve(
        searched_for,
        libraries=libraries,
        translations=analysis.translations,
        translated_by_model=analysis.translated_by_model,
        bag_groups=analysis.bag_groups,
        names_subject=names_subject(analysis),
        anchors_held=anchors_held(analysis),
    )
    retrieval = search_for_subject(ctx, analysis, retrieval, libraries=libraries)
    classed = named_by_class(analysis, retrieval)
    if classed is not analysis:
        # No passage names the drug: search for its class ("Percocet": opioids) instead.
        analysis = classed
        retrieval = search_for_subject(ctx, analysis, retrieval, libraries=libraries)
    retrieval = search_for_aspect(ctx, analysis, retrieval, libraries=libraries)
    retrieval = _without_bibliography(retrieval)
    retrieval = anchored_relevance(analysis, retrieval)
    retrieval = continue_cut_passages(ctx, analysis, retrieval)
    retrieval = precede_drugless_passages(ctx, analysis, retrieval)
    if strength:
        retrieval = _keep_strength(retrieval, strength)
    t_retrieved = time.perf_counter()
    report("sources", {"sources": list(retrieval.sources), "relevant": retrieval.relevant})
    gate_reason = _gate_reason(ctx, gate, retrieval)
    if gate_reason:
        chat = None
    refusal = subject_refusal(analysis, retrieval)
    report("generating", {"model": chat is not None and refusal is None})
    draft = _draft_answer(chat, redaction.text, retrieval, analysis, refusal, language=language)
    t_generated = time.perf_counter()
    report("verifying", {"sentences": len(draft.sentences)})
    sentences, flags, draft = verify_draft(
        ctx, redaction.text, retrieval, draft, analysis=analysis, language=language, policy=policy
    )
    if draft.mode != AnswerMode.REFUSED and not sentences:
        # Every candidate was dropped: say what the library lacks rather than show nothing.
        refusal = empty_refusal(analysis, draft)
        draft = replace(draft, mode=AnswerMode.REFUSED, sentences=[])
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
    flags += responsiveness_flags(
        draft, sentences, refusal, analysis=analysis, sources=retrieval.sources, rules=rules
    )
    refused = draft.mode == AnswerMode.REFUSED
    conflicts = [] if refused else _guideline_conflicts(analysis, retrieval.sources, sentences)
    if conflicts:
        why = _conflict_detail(conflicts, sentences)
        flags.append(make_flag("guideline_conflict", why, rules=rules))
    if refused and refusal is None:
        reason = "insufficient_evidence" if draft.insufficient_evidence else "no_relevant_passage"
        refusal = Refusal(reason=reason, missing=analysis.subject)
    answer = Answer(
        session_id=principal.session_id,
        mode=draft.mode,
        sentences=sentences,
        sources=[] if refused else retrieval.sources,
        related=retrieval.sources[:3] if refused else [],
        flags=flags,
        redactions=redaction.as_redactions(),
        dropped=draft.dropped,
        refusal=refusal if refused else None,
        subject=analysis.subject,
        conflicts=conflicts,
        aspect=analysis.aspect.name if analysis.aspect else None,
        searched_for=searched_for if searched_for != redaction.text else None,
        message=refusal_message(refusal, language=language) if refused and refusal else None,
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
    if conflicts:
        # Issue #17 §3: never choose one side silently; both passages are among the sources.
        note = conflict_message(conflicts, language=language)
        answer.message = f"{answer.message}\n{note}" if answer.message else note
    answer.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 2)
    detail = _ask_detail(
        ctx, redaction, answer, draft, retrieval, principal=principal, gate=gate, policy=policy
    )
    if strength:
        detail["strength"] = strength.value  # the filter the person chose (issue #17 §1)
    event = record(
        ctx.audit,
        principal,
        action=AuditAction.ASK,
        obj=libraries_object(libraries),
        outcome=str(answer.mode),
        detail=detail,
    )
    return answer, event


CONFLICT = {
    "zh": "两部指南对此给出的数值不同，请对照原文：{sides}",
    "en": "Two guidelines state different values for this; compare the sources: {sides}",
}


def _guideline_conflicts(
    analysis: QuestionAnalysis, sources: Sequence[Source], sentences: Sequence[AnswerSentence]
) -> list[GuidelineConflict]:
    """Conflicts among the sources the shown sentences cite and those of the same subject."""
    cited = {n for s in sentences for n in s.citations}
    top = analysis.anchors[0] if analysis.anchors else None
    behind = [s for s in sources if s.n in cited or (top is not None and holds_term(s, top))]
    return find_conflicts(analysis, behind)


def _conflict_detail(
    conflicts: Sequence[GuidelineConflict], sentences: Sequence[AnswerSentence] = ()
) -> str:
    """The flag's detail: each conflict's sides, and whether the shown sentences cite only one
    side of one (a model that chose instead of reporting the disagreement, issue #17)."""
    pairs = [
        " vs ".join(f"[{side.n}] {side.doc_id}: {side.quantity}" for side in c.sides)
        for c in conflicts
    ]
    detail = f"{len(conflicts)} conflicting: " + "; ".join(pairs)
    cited = {n for s in sentences for n in s.citations}
    one_sided = sorted(
        {
            side.n
            for c in conflicts
            for side in c.sides
            if side.n in cited and not all(other.n in cited for other in c.sides)
        }
    )
    if one_sided:
        detail += "; the answer cites one side only: " + " ".join(f"[{n}]" for n in one_sided)
    return detail


def conflict_message(conflicts: Sequence[GuidelineConflict], *, language: str) -> str:
    """What the user reads when the guidelines behind an answer state different values."""
    sep = "；" if language == "zh" else "; "
    pairs = []
    for conflict in conflicts:
        sides = [
            f"[{side.n}] {side.title}{f' ({side.version})' if side.version else ''}: "
            f"{side.quantity}"
            for side in conflict.sides
        ]
        pairs.append(" / ".join(sides))
    return CONFLICT["zh" if language == "zh" else "en"].format(sides=sep.join(pairs))


def refusal_message(refusal: Refusal, *, language: str) -> str:
    """What a refused user reads: what the library lacks, in the question's language."""
    missing = "、".join(refusal.missing) if language == "zh" else ", ".join(refusal.missing)
    if refusal.reason == "subject_not_found" and missing:
        return REFUSAL_SUBJECT[language].format(missing=missing)
    if refusal.reason == "aspect_not_stated" and refusal.missing:
        aspect = ASPECT_NAMES[language].get(refusal.missing[0], refusal.missing[0])
        return REFUSAL_ASPECT[language].format(aspect=aspect)
    return REFUSAL[language]


def _gate_reason(ctx: Context, gate: GateStatus, retrieval: RetrievalResult) -> str | None:
    """Why the ethics gate keeps this answer extractive (None when it does not)."""
    if ctx.chat is None:
        return None  # generation is off anyway; the gate changes nothing
    if not gate.open:
        return gate.reason or "no_approval"
    if not gate.covers([s.library for s in retrieval.sources]):
        return "library_out_of_scope"
    return None


def _track_answer(ctx: Context, principal: Principal, event: AuditEvent, answer: Answer) -> None:
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
    chat: ChatModel | None,
    question: str,
    retrieval: RetrievalResult,
    analysis: QuestionAnalysis,
    refusal: Refusal | None,
    *,
    language: Literal["zh", "en"],
) -> Draft:
    if not retrieval.relevant or refusal is not None:
        return Draft(mode=AnswerMode.REFUSED, sentences=[])
    draft = generate_draft(
        question, retrieval.sources, chat=chat, language=language, analysis=analysis
    )
    if draft.insufficient_evidence:
        return Draft(
            mode=AnswerMode.REFUSED,
            sentences=[],
            model=draft.model,
            reasoning=draft.reasoning,
            insufficient_evidence=True,
        )
    return draft


def _ask_detail(
    ctx: Context,
    redaction: RedactionResult,
    answer: Answer,
    draft: Draft,
    retrieval: RetrievalResult,
    *,
    principal: Principal,
    gate: GateStatus,
    policy: Policy,
) -> dict[str, Any]:
    """The `ask` audit record: redacted question *and* its answer (issue #4 item 3)."""
    return {
        "answer_id": answer.answer_id,
        "question": redaction.text,
        "searched_for": answer.searched_for,
        "language": retrieval.language,
        "channel": retrieval.channel,
        "mode": str(answer.mode),
        "subject": answer.subject,
        "aspect": answer.aspect,
        "languages_searched": retrieval.languages,
        "cross_lingual": retrieval.cross_lingual,
        "sentences": [s.model_dump() for s in answer.sentences],
        "dropped": [d.model_dump() for d in answer.dropped],
        "refusal": answer.refusal.model_dump() if answer.refusal else None,
        "conflicts": [c.model_dump() for c in answer.conflicts],
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
            for s in (answer.sources or answer.related)
        ],
        "sources_shown": bool(answer.sources),
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
        "policy": policy,
        "via": principal.via,
    }


def _without_bibliography(retrieval: RetrievalResult) -> RetrievalResult:
    """The sources without passages of a reference list or a list of web resources.

    A reference list names other papers; a line of it matched by the question's words
    ("…infection control approach… in adult intensive care units") is no answer. Nor is a
    resource list's title under a link ("Developing a broader approach to management of
    infection control breaches…", under "Insulin Administration: http://…").
    """
    kept = [s for s in retrieval.sources if not answers_nothing(s)]
    if len(kept) == len(retrieval.sources):
        return retrieval
    return _only(retrieval, kept, reason="bibliography")


def _keep_strength(retrieval: RetrievalResult, strength: Strength) -> RetrievalResult:
    """Only the sources whose stated grade has `strength` (issue #17 §1)."""
    graded = [s for s in retrieval.sources if s.grade and s.grade.strength == strength]
    return _only(retrieval, graded, reason=f"no_{strength.value}_grade")


def _only(retrieval: RetrievalResult, kept: list[Source], *, reason: str) -> RetrievalResult:
    """The result with only the `kept` sources, numbered again from 1.

    None left is no evidence: the result is not relevant (with `reason`), so the answer
    refuses rather than draw on the passages left out.
    """
    sources = [s.model_copy(update={"n": n}) for n, s in enumerate(kept, 1)]
    if sources:
        return replace(retrieval, sources=sources)
    return replace(retrieval, sources=[], relevant=False, reasons=[*retrieval.reasons, reason])


# A strength filter picks from this many of the best hits (the retriever's most), so that
# graded passages ranked below the first few still reach the list (issue #17 §1).
SEARCH_POOL = 50


def search_sources(
    principal: Principal,
    query: str,
    *,
    ctx: Context,
    library: str | None = None,
    k: int | None = None,
    strength: Strength | None = None,
) -> list[Source]:
    """Retrieve sources only (no generation) for `guidecite search`; audited like `ask`.

    With `strength`, only sources whose stated grade has that strength are kept (issue #17 §1),
    chosen from the best `SEARCH_POOL` hits and numbered again from 1.
    """
    cleaned = clean_question(query, max_chars=ctx.settings.max_question_chars)
    libraries = permitted_libraries(ctx, principal, action=AuditAction.SEARCH, library=library)
    redaction = redact_text(cleaned)
    gate = ctx.gate_registry().status(principal.department)
    analysis = understand_question(
        ctx, redaction.text, libraries=libraries, chat=ctx.chat if gate.open else None
    )
    retrieval = ctx.retriever.retrieve(
        redaction.text,
        libraries=libraries,
        k=SEARCH_POOL if strength else k,
        translations=analysis.translations,
        translated_by_model=analysis.translated_by_model,
        bag_groups=analysis.bag_groups,
        names_subject=names_subject(analysis),
        anchors_held=anchors_held(analysis),
    )
    sources = retrieval.sources
    if strength:
        graded = [s for s in sources if s.grade and s.grade.strength == strength]
        wanted = k or ctx.settings.retrieval.top_k
        sources = [s.model_copy(update={"n": n}) for n, s in enumerate(graded[:wanted], 1)]
    found = [{"chunk_id": s.chunk_id, "score": s.score} for s in sources]
    detail: dict[str, Any] = {
        "query": redaction.text,
        "redactions": redaction.counts,
        "sources": found,
    }
    if strength:
        detail["strength"] = strength.value
    obj = libraries_object(libraries)
    record(ctx.audit, principal, action=AuditAction.SEARCH, obj=obj, outcome="ok", detail=detail)
    return sources


# ---- the question in, and who may ask it --------------------------------------------------

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
    ctx: Context, principal: Principal, *, action: AuditAction, obj: str, exc: AccessDenied
) -> None:
    detail = {
        "reason": getattr(exc, "reason", "not_permitted"),
        "flags": [{**make_flag("access_denied", obj).model_dump(), "severity": "info"}],
    }
    record(ctx.audit, principal, action=action, obj=obj, outcome="denied", detail=detail)


def permitted_libraries(
    ctx: Context, principal: Principal, *, action: AuditAction, library: str | None
) -> list[str]:
    """Check the principal may ask, and which libraries it may read; denials are audited."""
    try:
        ctx.access.require(principal, "ask", page_object("chat"))
        readable = ctx.access.readable_libraries(principal)
        if library is not None and library not in readable:
            raise AccessDenied(
                f"{principal.user} may not read library {library}",
                user_message=f"You do not have access to the library {library!r}.",
            )
    except AccessDenied as exc:
        _audit_denial(ctx, principal, action=action, obj=library_object(library or "*"), exc=exc)
        raise
    return [library] if library else readable


def record_unavailable(
    settings: Settings,
    *,
    user: str,
    via: str | None,
    action: AuditAction,
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
    reason = "store_locked" if isinstance(error, StoreLocked) else "service_unavailable"
    detail: dict[str, Any] = {
        "reason": reason,
        "error": type(error).__name__,
        "retryable": bool(error.retryable),
        "question_chars": len(visible_text(question)),
        "via": via,
    }
    try:
        ctx = open_context(settings)
        try:
            who: Principal | str = ctx.accounts.principal_for(user)
        except AccessDenied as denied:
            who = via or "cli:unknown"
            detail = {**detail, "claimed_user": user, "user_refused": denied.reason}
        obj = library_object(library or "*")
        return record(ctx.audit, who, action=action, obj=obj, outcome="unavailable", detail=detail)
    except Exception as exc:  # the refusal stands; only its record is missing
        logger.error("unavailable %s not audited (%s): %s", action, reason, type(exc).__name__)
        return None


# ---- what a page shows beside an answer ------------------------------------------------------


def readable_libraries(ctx: Context, principal: Principal) -> list[str]:
    """The libraries the principal may read (what the chat offers to search)."""
    return ctx.access.readable_libraries(principal)


def support_spans(passage: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    """Where a cited passage holds the words of the sentences citing it (to highlight)."""
    return citations.support_spans(passage, sentences)


def original_file(ctx: Context, source: Source) -> Path | None:
    """The stored original of a source's document version, inside DATA_DIR only."""
    found = original_document(ctx, source)
    return found.path if found else None


def as_recorded(question: str) -> tuple[str, int]:
    """The question as the model and the records see it — cleaned, each identifier replaced by
    its placeholder — and how many identifiers were replaced (for a page to say so)."""
    redaction = redact_text(visible_text(question))
    return redaction.text, sum(redaction.counts.values())
