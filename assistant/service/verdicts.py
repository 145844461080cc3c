"""Both verdicts on every sentence of a draft answer (issue #10): faithful and responsive.

*Faithful*: the cited passage supports the sentence (numbers, doses, units and a stated grade
included; `assistant.citations`). *Responsive*: it is about the question's subject and aspect
(`assistant.responsiveness.judge_responsive`), read with the context it needs — the section and
title of its sources and the sentences before it. Only sentences that are both are shown; a
non-responsive one is dropped under either citation policy, and under `strict` an unfaithful
generated sentence replaces the whole answer by the extractive one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final, Literal

from assistant.aspects import states_dose
from assistant.citations import SentenceVerdict, verify_answer
from assistant.domain import (
    AnswerMode,
    AnswerSentence,
    DroppedSentence,
    Flag,
    Refusal,
    Source,
)
from assistant.drug_subjects import (
    names_other,
)
from assistant.flags import make_flag
from assistant.generation import (
    CONTEXT_SENTENCES,
    Draft,
    about_the_drug_before,
    extractive_draft,
    item_head_over,
    passage_sentences,
    source_context,
)
from assistant.mentions import form_in_text
from assistant.passage_layout import (
    LABEL_MAX_CHARS,
    PassageLayout,
    clauses_before,
    entry_label,
    introduces_a_list,
)
from assistant.populations import populations
from assistant.questions import (
    QuestionAnalysis,
    SubjectTerm,
    term_in_text,
)
from assistant.responsiveness import (
    Responsiveness,
    heading_of,
    judge_responsive,
)
from assistant.retrieval import RetrievalResult
from assistant.service.context import Context, Policy


def responsiveness_flags(
    draft: Draft,
    sentences: Sequence[AnswerSentence],
    refusal: Refusal | None,
    *,
    analysis: QuestionAnalysis,
    sources: Sequence[Source],
    rules: Any,
) -> list[Flag]:
    """Flags of issue #10 item 6: dropped sentences, a missing subject, a cross-lingual answer,
    an answer about the drug's class."""
    flags: list[Flag] = []
    if draft.dropped:
        wrong_doses = [
            d for d in draft.dropped if d.reason == "other_subject" and states_dose(d.text)
        ]
        # Worth a reviewer's look when the model wrote another drug's dose, or when another
        # drug's dose was all the passages offered. An extractive answer that shows the asked
        # dose and left the neighbouring rows of the table out is the check working: flagging
        # it filled the review queue with answers that were right.
        answered = draft.mode != AnswerMode.GENERATIVE and any(
            states_dose(s.text) for s in sentences
        )
        if (
            wrong_doses
            and not answered
            and analysis.aspect is not None
            and analysis.aspect.name == "dose"
        ):
            flags.append(
                make_flag("wrong_subject_dose", f"{len(wrong_doses)} dropped", rules=rules)
            )
        reasons = sorted({d.reason for d in draft.dropped})
        detail = f"{len(draft.dropped)} dropped: {', '.join(reasons)}"
        flags.append(make_flag("non_responsive_dropped", detail, rules=rules))
    if draft.mode == AnswerMode.REFUSED and refusal is not None:
        if refusal.reason == "subject_not_found":
            flags.append(make_flag("subject_missing", ", ".join(refusal.missing), rules=rules))
        elif refusal.reason == "aspect_not_stated":
            flags.append(make_flag("aspect_not_stated", ", ".join(refusal.missing), rules=rules))
    # Answered by the drug's class (alprazolam: "benzodiazepines"): the doctor reads what the
    # guideline says of the class, and a reviewer may check it holds for the drug.
    by_class = [
        a
        for a in analysis.anchors
        if a.by_class and not any(a.named_itself(s.text) for s in sentences if s.supported)
    ]
    if by_class and sentences and draft.mode != AnswerMode.REFUSED:
        detail = "; ".join(f"{a.term}: {a.kinds[0]}" for a in by_class)
        flags.append(make_flag("class_answer", detail, rules=rules))
    other = [s for s in sentences if s.language is not None]
    if other and draft.mode != AnswerMode.REFUSED:
        cited = sorted({n for s in other for n in s.citations})
        languages = sorted({str(s.language) for s in other})
        flags.append(
            make_flag(
                "cross_lingual_answer",
                f"sources {cited} in {','.join(languages)}",
                rules=rules,
            )
        )
    return flags


def verify_draft(
    ctx: Context,
    question: str,
    retrieval: RetrievalResult,
    draft: Draft,
    *,
    analysis: QuestionAnalysis,
    language: Literal["zh", "en"],
    policy: Policy,
) -> tuple[list[AnswerSentence], list[Flag], Draft]:
    """Both verdicts for every sentence; only faithful *and* responsive ones are shown.

    A non-responsive sentence is dropped under either policy (never shown with ⚠) and the
    others stay. An unfaithful generated sentence makes `strict` replace the whole answer by
    the extractive one (the model misread its sources), while `annotate` shows it marked.
    """
    flags: list[Flag] = []
    if draft.mode == AnswerMode.REFUSED:
        return [], flags, draft
    by_n = {s.n: s for s in retrieval.sources}
    texts = {s.n: s.text for s in retrieval.sources}
    verdicts = _verdicts(ctx, draft, texts)
    failing = [i for i, v in enumerate(verdicts) if not v.supported]
    if failing and draft.mode == AnswerMode.GENERATIVE:
        first = failing[0]
        detail = f"sentence {first + 1}: {verdicts[first].reason}" + (
            f" ({', '.join(verdicts[first].missing_quantities)})"
            if verdicts[first].missing_quantities
            else ""
        )
        flags.append(make_flag("unsupported_sentence", detail))
        if policy == "strict":
            replaced = extractive_draft(question, retrieval.sources, analysis=analysis)
            replaced.model, replaced.reasoning = draft.model, draft.reasoning
            replaced.dropped = [
                DroppedSentence(text=text, reason=f"unfaithful:{verdicts[i].reason}", citations=c)
                for i, (text, c) in enumerate(draft.sentences)
                if i in failing
            ] + replaced.dropped
            draft = replaced
            verdicts = _verdicts(ctx, draft, texts)
    shown: list[AnswerSentence] = []
    dropped = list(draft.dropped)
    kept: list[tuple[str, list[int]]] = []

    def judge(index: int, unseen: frozenset[str] = frozenset()) -> Responsiveness:
        text, cites = draft.sentences[index]
        context, along = _sentence_context(draft, index, by_n)
        verdict = judge_responsive(
            analysis,
            text,
            context=[c for c in context if c not in unseen],
            along=[c for c in along if c not in unseen],
            clauses=_clauses_in_sources(text, [by_n[n].text for n in cites if n in by_n]),
            titles=[by_n[n].title for n in cites if n in by_n],
            passage=" ".join(by_n[n].text for n in cites if n in by_n),
            # The lead-in of its list says what its items state ("…需及早气管插管：" over
            # "（4）频繁呼吸暂停。"), as in the composer.
            labels=[
                *(heading_of(by_n[n].section) for n in cites if n in by_n),
                *(c for c in context if introduces_a_list(c)),
            ],
        )
        if verdict.responsive and any(
            _about_another_drug(analysis, by_n[n], text) for n in cites if n in by_n
        ):
            # "孕妇…禁用" under "法维拉韦：…", quoted for a question about no drug: it is about
            # that drug, whether or not its head is shown.
            return Responsiveness(False, "other_subject", verdict.anchors_found)
        return verdict

    judged = [judge(index) for index in range(len(draft.sentences))]
    # A sentence whose subject only a dropped sentence before it names reads as about nothing,
    # or about something else: it goes with the sentence it needs ("…musculoskeletal
    # injuries…" dropped, "Multiple guidelines … postoperative pain…" two sentences on).
    unseen = frozenset(
        text
        for index, (text, _) in enumerate(draft.sentences)
        if not judged[index].responsive
        and not _names_the_next(draft, judged, index, analysis, by_n)
    )
    if unseen:
        judged = [
            judge(index, unseen) if verdict.responsive else verdict
            for index, verdict in enumerate(judged)
        ]
    for index, ((text, cites), verdict) in enumerate(zip(draft.sentences, verdicts, strict=True)):
        responsive = judged[index]
        if not responsive.responsive and not _names_the_next(draft, judged, index, analysis, by_n):
            dropped.append(
                DroppedSentence(text=text, reason=responsive.reason or "", citations=list(cites))
            )
            continue
        cited = [by_n[n] for n in cites if n in by_n]
        if draft.mode == AnswerMode.GENERATIVE and _unnamed_dose(analysis, text, kept, cited):
            # "成人剂量每次75mg，每日2次。" quoted from under "奥司他韦：…": true of its source,
            # but read alone it is a dose of nothing; the reader must see whose it is.
            dropped.append(DroppedSentence(text=text, reason="unnamed_subject", citations=cites))
            continue
        source_language = {s.language for s in cited} - {None, language}
        shown.append(
            AnswerSentence(
                text=text,
                citations=list(cites),
                supported=verdict.supported,
                support_score=verdict.support_score,
                faithful=verdict.supported,
                responsive=True,
                language=next(iter(source_language)) if source_language else None,
            )
        )
        kept.append((text, list(cites)))
    draft = replace(draft, sentences=kept, dropped=dropped)
    if not shown and draft.mode == AnswerMode.GENERATIVE:
        # Nothing the model wrote answers the question: compose from the passages instead.
        fallback = extractive_draft(question, retrieval.sources, analysis=analysis)
        fallback.model, fallback.reasoning = draft.model, draft.reasoning
        fallback.dropped = dropped + fallback.dropped
        return verify_draft(
            ctx, question, retrieval, fallback, analysis=analysis, language=language, policy=policy
        )
    return shown, flags, draft


def _unnamed_dose(
    analysis: QuestionAnalysis,
    text: str,
    shown: Sequence[tuple[str, list[int]]],
    cited: Sequence[Source],
) -> bool:
    """A dose whose drug neither the sentence, the answer's sentences before it, nor its
    sources' section or title names (the model quoted it from under its item head)."""
    if not analysis.anchors or not states_dose(text):
        return False
    top = analysis.anchors[0]
    visible = [text, *(t for t, _ in shown), *(c for s in cited for c in source_context(s))]
    return not term_in_text(top, " ".join(visible))


def _sentence_context(
    draft: Draft, index: int, by_n: dict[int, Source]
) -> tuple[list[str], list[str]]:
    """What a sentence stands under — its sources' section and title, the heads of its list
    item — and the sentences before it, in its passage and in the answer. The sentences
    before say what it is about, never whom ("孕妇禁用。用法：每次1600mg" is no dose for
    pregnancy), as in the composer."""
    text, cites = draft.sentences[index]
    context = [c for n in cites if n in by_n for c in source_context(by_n[n])]
    along: list[str] = []
    for n in cites:
        # A quoted sentence stands under the sentences before it in its passage, as an
        # extractive one does ("成人剂量每次75mg" quoted from under "奥司他韦：…").
        heads, before = _preceding_in_source(by_n[n], text) if n in by_n else ([], [])
        context.extend(heads)
        along.extend(before)
    along.extend(text for text, _ in draft.sentences[max(0, index - CONTEXT_SENTENCES) : index])
    # A sentence of the chunk before, under the same section, shown earlier in the answer says
    # what this passage's sentences are about as a sentence before them in it would ("…一般选择
    # 甲泼尼龙。" over the dose and the list of cases that open the next chunk).
    along.extend(
        earlier
        for earlier, earlier_cites in draft.sentences[:index]
        if earlier_cites != cites and _goes_on_in(by_n, earlier_cites, cites)
    )
    return context, list(dict.fromkeys(a for a in along if a not in context))


def _placed(source: str, sentence: str) -> tuple[PassageLayout, tuple[str, ...], int] | None:
    """Where a quoted sentence stands in a passage: its layout, sentences and position."""
    structure, sentences = passage_sentences(source)
    return (structure, sentences, sentences.index(sentence)) if sentence in sentences else None


def _preceding_in_source(source: Source, sentence: str) -> tuple[list[str], list[str]]:
    """The heads a quoted sentence stands under in its passage (its list item's, its list's
    lead-in, the head of the item the passage begins inside of) and the sentences just before
    it."""
    placed = _placed(source.text, sentence)
    if placed is None:
        return [], []
    structure, sentences, index = placed
    heads = [
        *(sentences[h] for h in structure.heads[index]),
        *item_head_over(source, structure, index),
    ]
    before = [s for s in sentences[max(0, index - CONTEXT_SENTENCES) : index] if s not in heads]
    return heads, before


def _about_another_drug(analysis: QuestionAnalysis, source: Source, sentence: str) -> bool:
    """A quoted sentence naming no drug under one that opens with a drug not asked about."""
    placed = _placed(source.text, sentence)
    if placed is None:
        return False
    structure, sentences, index = placed
    above = item_head_over(source, structure, index)
    return about_the_drug_before(analysis, structure, sentences, index, above)


def _clauses_in_sources(sentence: str, sources: Sequence[str]) -> list[str]:
    """The earlier clauses of the statement a quoted sentence continues in its passage."""
    for source in sources:
        if placed := _placed(source, sentence):
            _, sentences, index = placed
            return clauses_before(sentences, index)
    return []


def _labelled_by(named: Sequence[SubjectTerm], text: str) -> bool:
    """A sentence that opens with one of the names as its label ("法维拉韦：适用于成人…"): an
    entry's head however long, what the sentences under it are about."""
    label = entry_label(text, longest=_LABEL_LONGEST)
    return label is not None and any(form_in_text(f, label) for a in named for f in a.forms)


_LABEL_LONGEST: Final[int] = 16  # characters of an entry's label ("②法维拉韦：", "Methadone:")


def _heads_an_item(sentence: str, sources: Sequence[str]) -> bool:
    """Whether the sentence is the head of a list item in a passage ("3.莫诺拉韦胶囊。")."""
    for source in sources:
        if placed := _placed(source, sentence):
            structure, _, at = placed
            if any(at in heads for heads in structure.heads):
                return True
    return False


def _names_the_next(
    draft: Draft,
    judged: Sequence[Responsiveness],
    index: int,
    analysis: QuestionAnalysis,
    by_n: dict[int, Source],
) -> bool:
    """A sentence kept as context: it names the subject that the next, responsive sentence of
    the same source only implies ("奥司他韦：…。" before "成人剂量每次75mg…").

    The head of a drug's entry may be the row of another population ("帕拉米韦：成人：一般用量
    为300mg…" before "儿童：每次10mg/kg…"): it is kept when the responsive row names its own
    population, so each dose reads with whom it is for; without it the child's row would be a
    dose of no drug.
    """
    reason = judged[index].reason
    if not analysis.anchors or reason not in ("other_aspect", "other_population", "other_subject"):
        return False
    text, cites = draft.sentences[index]
    top = analysis.anchors[0]
    window = draft.sentences[index + 1 : index + 1 + CONTEXT_SENTENCES]
    if reason == "other_subject":
        # A short head naming one of two names ("莫诺拉韦胶囊。" asked "哺乳期能吃莫诺拉韦吗")
        # lacks the other itself, but says whose the next sentence is.
        named = [a for a in analysis.anchors if term_in_text(a, text)]
        if (
            not named
            or (len(text) > LABEL_MAX_CHARS and not _labelled_by(named, text))
            or states_dose(text)
            or names_other(analysis, text)
            or not _heads_an_item(text, [s.text for s in by_n.values()])
        ):
            return False
        return any(
            judged[index + 1 + offset].responsive
            and _goes_on_in(by_n, cites, following_cites)
            and not any(term_in_text(a, following) for a in named)
            for offset, (following, following_cites) in enumerate(window)
        )
    return any(
        judged[index + 1 + offset].responsive
        and _goes_on_in(by_n, cites, following_cites)
        and not term_in_text(top, following)
        and (reason == "other_aspect" or bool(populations(following)))
        for offset, (following, following_cites) in enumerate(window)
    ) and (
        # A head naming another drug beside the asked one ("奥司他韦与帕拉米韦。") says nothing
        # of whose the next sentence is.
        term_in_text(top, text) and not names_other(analysis, text)
        if reason == "other_population"
        else any(term_in_text(a, text) for a in analysis.anchors)
    )


def _goes_on_in(by_n: dict[int, Source], cites: Sequence[int], following: Sequence[int]) -> bool:
    """Whether a later sentence quotes the same passage, or the chunk right after it under the
    same section (the composer shows "…一般选择甲泼尼龙。" with the dose that opens the next
    chunk: see `named_in_the_chunk_before`)."""
    if list(following) == list(cites):
        return True
    here = [by_n[n] for n in cites if n in by_n]
    after = [by_n[n] for n in following if n in by_n]
    return (
        len(here) == len(after) == 1
        and here[0].doc_id == after[0].doc_id
        and here[0].section == after[0].section
        and here[0].chunk_index is not None
        and after[0].chunk_index == here[0].chunk_index + 1
    )


def _verdicts(ctx: Context, draft: Draft, sources: dict[int, str]) -> list[SentenceVerdict]:
    multilingual = {"zh", "en"} <= set(ctx.settings.embedding.languages)
    return verify_answer(
        draft.sentences,
        sources,
        similarity=ctx.similarity,
        cross_lingual_similarity_ok=multilingual,
    )
