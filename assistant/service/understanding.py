"""What a question asks (DESIGN.md §1 step 4, issue #10): condensed, analysed, and checked
against what the library holds.

`condense_follow_up` turns a follow-up ("and for children?") into a standalone search question;
`understand_question` gives the subject terms, the aspect and the question in the other
languages the libraries hold (the term table, and with an open gate one cached model
translation); `search_for_subject` searches again for a subject the first search missed, and
`subject_refusal` / `empty_refusal` say what the library lacks rather than answer about
another subject.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from assistant.citations import content_terms
from assistant.domain import (
    Refusal,
    Source,
)
from assistant.errors import (
    GuideCiteError,
)
from assistant.generation import (
    Draft,
    source_context,
)
from assistant.llm import ChatModel
from assistant.prompts import condense_messages, translate_messages
from assistant.questions import (
    QuestionAnalysis,
    SubjectTerm,
    analyse_question,
    aspect_words,
    term_in_text,
)
from assistant.retrieval import RetrievalResult, fuse_by_rank
from assistant.service.context import Context

logger = logging.getLogger(__name__)


_TRANSLATION_CACHE_SIZE = 1024  # questions


def condense_follow_up(
    ctx: Context,
    question: str,
    *,
    history: Sequence[str],
    language: Literal["zh", "en"],
    chat: ChatModel | None,
) -> str:
    """A standalone search question for a follow-up ("and for children?")."""
    if not history:
        return question
    previous = history[-1]
    if chat is not None:
        try:
            turns = [("user", h) for h in history[-3:]]
            reply = chat.complete(condense_messages(turns, question, language=language))
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


def understand_question(
    ctx: Context, question: str, *, libraries: Sequence[str], chat: ChatModel | None = None
) -> QuestionAnalysis:
    """Step 4: subject, aspect and the question in the other languages the libraries hold.

    The term table always; with a `chat` model (the caller passes none when the department's
    gate is closed) one short translation call per question, cached by the question's hash,
    whose result is searched beside the table's terms.
    """
    profile = ctx.retriever.profile()
    analysis = analyse_question(question, table=ctx.term_table(), rarity=profile.rarity)
    if chat is None or not libraries or not ctx.settings.llm.translate_questions:
        return analysis
    held = profile.languages_of(libraries)
    translations = dict(analysis.translations)
    for target in sorted(held - {analysis.language}):
        translated = _translate_question(ctx, chat, question, target=target)
        if translated:
            translations[target] = f"{translated} {translations.get(target, '')}".strip()
    return replace(
        analysis,
        translations=translations,
        translated_by_model=translations != analysis.translations,
    )


def _translate_question(ctx: Context, chat: ChatModel, question: str, *, target: str) -> str | None:
    key = hashlib.sha256(f"{target}\x1f{question}".encode()).hexdigest()
    if key in ctx._translations:
        return ctx._translations[key]
    try:
        reply = chat.complete(translate_messages(question, target=target))  # type: ignore[arg-type]
    except GuideCiteError as exc:
        logger.warning("translating the question failed (%s); term table only", type(exc))
        return None
    lines = reply.content.strip().splitlines()
    text = lines[0].strip() if lines else ""
    if not text or len(text) > ctx.settings.max_question_chars:
        return None
    if len(ctx._translations) > _TRANSLATION_CACHE_SIZE:
        ctx._translations.clear()
    ctx._translations[key] = text
    return text


def holds_term(source: Source, term: SubjectTerm) -> bool:
    """Whether the passage (with its title and section) names the subject term."""
    return term_in_text(term, " ".join([source.text, *source_context(source)]))


def search_for_subject(
    ctx: Context,
    analysis: QuestionAnalysis,
    retrieval: RetrievalResult,
    *,
    libraries: Sequence[str],
) -> RetrievalResult:
    """A second search when no passage found holds the question's main name.

    The question's own wording and a bag of translated terms can both miss the passage that
    names the drug or disease (its words in another language, a long passage). Before refusing
    for a missing subject, search for the names themselves (every form, every language) with
    the aspect's words; passages holding the main name join the front of the list.
    """
    anchors = analysis.anchors
    if (
        not anchors
        or not retrieval.sources
        or any(holds_term(s, anchors[0]) for s in retrieval.sources)
    ):
        return retrieval
    if not anchors[0].in_library:
        return retrieval  # no passage anywhere holds it: the refusal is certain
    names = " ".join(dict.fromkeys(f for a in anchors for f in a.forms))
    found: list[Source] = []
    for language in ("zh", "en"):
        words = " ".join(aspect_words(analysis.aspect, language)) if analysis.aspect else ""
        result = ctx.retriever.retrieve(
            f"{names} {words}".strip(), libraries=libraries, channel="sparse"
        )
        found.extend(s for s in result.sources if holds_term(s, anchors[0]))
    if not found:
        return retrieval
    k = len(retrieval.sources)
    merged = fuse_by_rank([found, retrieval.sources], weights=[1.0, 0.5])[:k]
    sources = [s.model_copy(update={"n": n}) for n, s in enumerate(merged, start=1)]
    return replace(
        retrieval,
        sources=sources,
        relevant=True,
        cross_lingual=any(s.language not in (None, retrieval.language) for s in sources),
    )


def subject_refusal(analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Refusal | None:
    """A refusal naming what is missing when no retrieved passage holds the subject."""
    anchors = analysis.anchors
    if not retrieval.sources:
        return None
    if not anchors:
        if retrieval.reasons and retrieval.cross_lingual and not analysis.translated_by_model:
            # Only the term table's other-language words found anything (the question's own
            # search did not), and the question names nothing specific to check them against:
            # a bag of dictionary senses is no evidence that the passages answer it.
            return Refusal(reason="no_relevant_passage", missing=analysis.subject)
        return None
    missing = [a.term for a in anchors if not any(holds_term(s, a) for s in retrieval.sources)]
    if anchors[0].term in missing:
        return Refusal(reason="subject_not_found", missing=missing)
    return None


def empty_refusal(analysis: QuestionAnalysis, draft: Draft) -> Refusal:
    reasons = {d.reason for d in draft.dropped}
    if analysis.aspect is not None and "other_aspect" in reasons:
        return Refusal(reason="aspect_not_stated", missing=[analysis.aspect.name])
    return Refusal(reason="no_responsive_sentence", missing=analysis.subject)
