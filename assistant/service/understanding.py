"""What a question asks (DESIGN.md §1 step 4, issue #10): condensed, analysed, and checked
against what the library holds.

`condense_follow_up` turns a follow-up ("and for children?") into a standalone search question;
`understand_question` gives the subject terms, the aspect and the question in the other
languages the libraries hold (the term table, and with an open gate one cached model
translation); `search_for_subject` searches again for a subject the first search missed
(`search_for_aspect` for what is asked of it), and
`subject_refusal` / `empty_refusal` say what the library lacks rather than answer about
another subject.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal

from assistant.aspects import Aspect, aspect_words, grades_in, treats_a_grade
from assistant.citations import content_terms, split_sentences
from assistant.domain import Refusal, Source
from assistant.drug_subjects import (
    asks_which_drug,
    names_some_drug,
)
from assistant.errors import (
    GuideCiteError,
)
from assistant.generation import (
    Draft,
    source_context,
)
from assistant.language import (
    has_cjk,
    is_bibliography,
    is_credits,
    is_link_list,
    is_reference_list,
)
from assistant.llm import ChatModel
from assistant.mentions import drug_shaped
from assistant.populations import populations
from assistant.prompts import condense_messages, translate_messages
from assistant.questions import (
    QuestionAnalysis,
    SubjectTerm,
    analyse_question,
    by_class,
    term_in_text,
    weighted_coverage,
)
from assistant.retrieval import RetrievalResult, fuse_by_rank, to_source
from assistant.service.context import Context
from assistant.store import Hit

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


def answers_nothing(source: Source) -> bool:
    """A passage of a reference list, a list of web resources or the acknowledgements: it
    names documents or people, never says what to do."""
    path = source.section.split(" > ")
    return (
        is_bibliography(path)
        or is_credits(path)
        or is_link_list(source.text)
        or is_reference_list(source.text)
    )


def with_context(source: Source) -> str:
    """A passage's text with its section and title: what its sentences stand under."""
    return " ".join([source.text, *source_context(source)])


def holds_term(source: Source, term: SubjectTerm) -> bool:
    """Whether the passage (with its title and section) names the subject term."""
    return term_in_text(term, with_context(source))


def names_subject(analysis: QuestionAnalysis) -> Callable[[Source], bool] | None:
    """Whether a passage names the question's main subject, for the retriever to tell a
    language that cannot answer. None when the question names no drug, disease or procedure,
    or one no passage holds in any language (then no language is more likely to answer)."""
    if not analysis.anchors or not analysis.anchors[0].in_library:
        return None
    main = analysis.anchors[0]
    return lambda source: holds_term(source, main)


def anchors_held(analysis: QuestionAnalysis) -> Callable[[Source], int] | None:
    """How many of the question's names (those the library holds) a passage names."""
    held = [a for a in analysis.anchors if a.in_library]
    if not held:
        return None
    return lambda source: sum(holds_term(source, a) for a in held)


def search_for_subject(
    ctx: Context,
    analysis: QuestionAnalysis,
    retrieval: RetrievalResult,
    *,
    libraries: Sequence[str],
) -> RetrievalResult:
    """A second search when no passage found holds one of the question's names.

    The question's own wording and a bag of translated terms can both miss the passage that
    names the drug, disease or test (its words in another language, a long passage, a Latin
    code drowned among Chinese words: "IgM" scores one term where each Chinese word scores
    several). Before refusing for a missing subject, search for the first missing name itself
    (in Chinese every form, in English its Latin forms) with the aspect's words and the
    question's other names in that language; passages holding it join the front of the list,
    those that also hold the question's other names first. Reference and resource lists name
    it without saying anything of it: never these.
    """
    anchors = analysis.anchors
    if not anchors or not retrieval.sources:
        return retrieval
    # A reference list naming it says nothing of it: the name is still missing. So is a name
    # the library writes otherwise in the question's language ("glucometer": "blood glucose
    # meters") that no passage in that language holds, however many in the other language do.
    saying = [s for s in retrieval.sources if not answers_nothing(s)]
    own = [s for s in saying if s.language in (None, analysis.language)]
    missing = [
        a
        for a in anchors
        if not any(holds_term(s, a) for s in saying)
        or (_respelled(analysis, a) and not any(holds_term(s, a) for s in own))
    ]
    if not missing:
        # A class of drug the question names by an everyday word (激素), naming no drug: the
        # answer speaks of it (assistant/responsiveness.py), so it must be among the passages.
        missing = [
            t
            for t in analysis.common
            if not analysis.drug_anchors
            and analysis.aspect is not None
            and drug_shaped(t.term)
            and not any(holds_term(s, t) for s in saying)
        ]
    if not missing or not missing[0].in_library:
        return retrieval  # nothing missing, or no passage anywhere holds it: refusal is certain
    target = missing[0]
    found: dict[str, Source] = {}
    for language in ("zh", "en"):
        # Chinese passages write Latin codes as they are (IgM), English ones no Chinese: the
        # English search holds the Latin forms alone, or the Chinese name's n-grams outscore
        # the one English word in every Chinese passage.
        forms = [f for f in target.forms if language == "zh" or not has_cjk(f)]
        if not forms:
            continue
        names = " ".join(dict.fromkeys(forms))
        words = " ".join(aspect_words(analysis.aspect, language)) if analysis.aspect else ""
        # Searched with the question's other names in this language too: a short name
        # written with common characters ("B 病毒") is in many passages, and those naming the
        # rest of the question are the ones wanted; alone, since the other names may fill the
        # list with passages that lack it ("新冠" beside "血浆").
        others = " ".join(
            f
            for a in anchors
            if a is not target
            for f in [f for f in a.forms if has_cjk(f) == (language == "zh")][:2]
        )
        queries = dict.fromkeys(
            q.strip() for q in (f"{names} {words}", f"{names} {others} {words}")
        )
        for query in queries:
            result = ctx.retriever.retrieve(
                query, libraries=libraries, channel="sparse", k=2 * ctx.settings.retrieval.top_k
            )
            for s in result.sources:
                # A reference or resource list names the subject without saying anything of it.
                if holds_term(s, target) and not answers_nothing(s):
                    found.setdefault(s.chunk_id or s.text, s)
    if not found:
        return retrieval
    names_held: dict[str, tuple[int, float]] = {}

    def fewer_names(source: Source) -> tuple[int, float]:
        # Among passages holding as many names, the one holding the rarer (heavier) name
        # first: a passage found for a common missing name ("卒中") never pushes out the one
        # naming the question's rarest word (糖化血红蛋白) that the first search found.
        key = source.chunk_id or source.text
        if key not in names_held:
            held = [a for a in anchors if holds_term(source, a)]
            names_held[key] = (-len(held), -sum(a.weight for a in held))
        return names_held[key]

    # Stable sort: the search's own order among passages holding as many of the names. A
    # passage found for the missing name never pushes out one holding more of the question's
    # names (the missing "name" may be a word no answering passage uses: 界定, "define").
    return _joined(retrieval, sorted(found.values(), key=fewer_names), order=fewer_names)


def _joined(
    retrieval: RetrievalResult,
    found: list[Source],
    *,
    order: Callable[[Source], tuple[int, float] | int],
) -> RetrievalResult:
    """The first search's result with a second search's passages fused in by rank (the first
    search's at half weight), in `order` (stable), cut to its length and numbered again."""
    fused = fuse_by_rank([found, retrieval.sources], weights=[1.0, 0.5])
    merged = sorted(fused, key=order)[: len(retrieval.sources)]
    sources = [s.model_copy(update={"n": n}) for n, s in enumerate(merged, start=1)]
    return replace(
        retrieval,
        sources=sources,
        relevant=True,
        cross_lingual=any(s.language not in (None, retrieval.language) for s in sources),
    )


def search_for_aspect(
    ctx: Context,
    analysis: QuestionAnalysis,
    retrieval: RetrievalResult,
    *,
    libraries: Sequence[str],
) -> RetrievalResult:
    """A second search when no passage found states what the question asks of its subject.

    The passages that name the subject most may never state the aspect: "Influenza incubation
    period?" finds the outpatient guide's passages on influenza, and the Chinese influenza
    guideline's "潜伏期一般为1～7天" ranks below them. Before refusing for an aspect not stated,
    search for the main name with the aspect's words in each language; passages that hold the
    name and state the aspect join the list, those holding more of the question's names first.
    """
    aspect = analysis.aspect
    anchors = analysis.anchors
    if aspect is None or not anchors or not retrieval.sources:
        return retrieval
    main = analysis.drug_to_give or anchors[0]
    if any(holds_term(s, main) and _states(aspect, s, analysis.text) for s in retrieval.sources):
        return retrieval
    if aspect.headed:
        found = _under_headings(ctx, aspect, analysis.text, retrieval, main)
    else:
        found = _found_by_words(ctx, aspect, main, libraries=libraries)
    if not found:
        return retrieval
    return _joined(retrieval, found, order=lambda s: -sum(holds_term(s, a) for a in anchors))


def _found_by_words(
    ctx: Context, aspect: Aspect, main: SubjectTerm, *, libraries: Sequence[str]
) -> list[Source]:
    """Passages found by the main name with the aspect's words, in each language, that hold
    the name and state the aspect (never a reference or resource list)."""
    found: dict[str, Source] = {}
    for language in ("zh", "en"):
        words = aspect_words(aspect, language)
        forms = [f for f in main.forms if language == "zh" or not has_cjk(f)]
        if not words or not forms:
            continue
        query = f"{' '.join(dict.fromkeys(forms))} {' '.join(words)}"
        result = ctx.retriever.retrieve(
            query, libraries=libraries, channel="sparse", k=ctx.settings.retrieval.top_k
        )
        for source in result.sources:
            if (
                holds_term(source, main)
                and aspect.stated_in(source.text)
                and not answers_nothing(source)
            ):
                found.setdefault(source.chunk_id or source.text, source)
    return list(found.values())


def _states(aspect: Aspect, source: Source, question: str) -> bool:
    """Whether a passage states the aspect: in its words, or for an aspect stated by headings
    (a grade's criteria) in the section it stands under, of the grade the question names
    ("（三）重型" says what severe is, "（四）危重型" does not)."""
    if not aspect.headed:
        return aspect.stated_in(source.text)
    asked = grades_in(question)
    if treats_a_grade(source.section):
        return False
    return any(
        aspect.stated_in(heading) and (not asked or bool(grades_in(heading) & asked))
        for heading in (*source.section.split(" > "), source.text)
    )


_HEADED_DOCUMENTS = 2  # documents of the subject whose headings are read
_HEADED_CHUNKS = 2000  # chunks read of each (a long guideline has a few hundred)
_HEADED_PASSAGES = 4  # passages under the aspect's headings joined to the search


def _under_headings(
    ctx: Context, aspect: Aspect, question: str, retrieval: RetrievalResult, main: SubjectTerm
) -> list[Source]:
    """The passages of the subject's documents that stand under a heading stating the aspect
    ("七、临床分型 > （三）重型"), in document order.

    A heading is a few words among a passage's many, and the passages under it need not name
    the subject ("2.儿童符合下列任何一条：（1）超高热…"): a search by words ranks them below the
    passages that name the subject and the grade in passing ("减少重症和死亡"). The documents
    are those of the passages found that name the subject, best first.
    """
    documents: dict[str, Source] = {}
    for source in retrieval.sources:
        if holds_term(source, main) and not answers_nothing(source):
            documents.setdefault(source.doc_id, source)
    found: list[Source] = []
    for source in list(documents.values())[:_HEADED_DOCUMENTS]:
        rows = ctx.store.scroll(
            doc_id=source.doc_id,
            status="current",
            libraries=[source.library],
            limit=_HEADED_CHUNKS,
        )
        under = [
            passage
            for passage in (
                to_source(0, Hit(id=point_id, score=source.score, payload=payload))
                for point_id, payload in rows
            )
            if _states(aspect, passage, question) and holds_term(passage, main)
        ]
        found += sorted(under, key=lambda p: p.chunk_index or 0)
    return found[:_HEADED_PASSAGES]


def _respelled(analysis: QuestionAnalysis, term: SubjectTerm) -> bool:
    """Whether the library writes the term otherwise in the question's own script."""
    return any(f in analysis.respelled for f in term.forms[1:] if has_cjk(f) == has_cjk(term.term))


def continue_cut_passages(
    ctx: Context, analysis: QuestionAnalysis, retrieval: RetrievalResult
) -> RetrievalResult:
    """A passage naming the question's subject whose statement goes on in the next chunk of
    its document is followed by that chunk.

    The chunker cuts by length: "（2）经鼻高流量氧疗（HFNC）或无创通气（NIV）：" ends one chunk and
    "PaO2/FiO2≤200应给予 HFNC 或 NIV" opens the next; the list item "1.鼠咬热：…" ends one chunk
    and goes on in the next ("两种病原体感染均可用抗生素治疗，总疗程14天…", under the item head
    1.鼠咬热), which names no 鼠咬热 and is not found. The next chunk is taken when the passage
    stops mid-statement or the next chunk continues a list item headed by the subject. Only
    the chunk right after, in the same library, for at most `_MAX_CONTINUED` passages.
    """
    if not analysis.anchors or not retrieval.sources:
        return retrieval
    main = analysis.anchors[0]
    return _with_neighbours(
        ctx,
        retrieval,
        step=1,
        wanted=lambda source: term_in_text(main, " ".join((source.item_head or "", source.text))),
        keep=lambda source, after: (
            _cut_off(source.text) or bool(after.item_head and term_in_text(main, after.item_head))
        ),
    )


def _chunk_of(ctx: Context, source: Source, index: int) -> Source | None:
    """Chunk `index` of a passage's document (current, in its library), scored as it is."""
    rows = ctx.store.scroll(
        doc_id=source.doc_id,
        chunk_index=index,
        status="current",
        libraries=[source.library],
        limit=1,
    )
    if not rows:
        return None
    point_id, payload = rows[0]
    return to_source(0, Hit(id=point_id, score=source.score, payload=payload))


_MAX_CONTINUED = 3  # passages whose next chunk is looked up
# How a complete statement ends: a stop, a closing bracket or quote after one.
_STATEMENT_END = frozenset('。.!?！？；;…）)」』”"】]')


def _cut_off(text: str) -> bool:
    """Whether a passage stops mid-statement: on a lead-in's colon or inside a sentence."""
    tail = text.rstrip()
    return bool(tail) and tail[-1] not in _STATEMENT_END


def precede_drugless_passages(
    ctx: Context, analysis: QuestionAnalysis, retrieval: RetrievalResult
) -> RetrievalResult:
    """A passage that never names the one drug the question asks about is followed by the chunk
    before it, when that chunk, in the same section, names the drug: the chunker cut "…一般选择
    甲泼尼龙。" from the dose that opens the next chunk ("初始剂量：多为2mg/(kg.d)左右"), which
    is found alone. Whether the dose is the drug's the composer decides
    (`named_in_the_chunk_before`); this only puts the chunk where it can look. At most
    `_MAX_CONTINUED` passages are looked up."""
    drugs = analysis.drug_anchors
    if len(drugs) != 1 or not retrieval.sources:
        return retrieval
    drug = drugs[0]
    return _with_neighbours(
        ctx,
        retrieval,
        step=-1,
        wanted=lambda source: (
            not term_in_text(drug, f"{source.item_head or ''} {with_context(source)}")
            and not names_some_drug(next(iter(split_sentences(source.text)), ""))
        ),
        keep=lambda source, prior: (
            prior.section == source.section and term_in_text(drug, prior.text)
        ),
    )


def _with_neighbours(
    ctx: Context,
    retrieval: RetrievalResult,
    *,
    step: int,
    wanted: Callable[[Source], bool],
    keep: Callable[[Source, Source], bool],
) -> RetrievalResult:
    """Each passage `wanted` followed by its document's chunk `step` away (+1 the next, -1 the
    one before) when `keep(passage, chunk)` and the chunk is not already there; at most
    `_MAX_CONTINUED` chunks are looked up. The sources are numbered again when any is added."""
    have = {(s.doc_id, s.chunk_index) for s in retrieval.sources}
    out: list[Source] = []
    looked = 0
    for source in retrieval.sources:
        out.append(source)
        index = source.chunk_index
        if (
            looked >= _MAX_CONTINUED
            or index is None
            or index + step < 0
            or (source.doc_id, index + step) in have
            or not wanted(source)
        ):
            continue
        looked += 1
        neighbour = _chunk_of(ctx, source, index + step)
        if neighbour is not None and keep(source, neighbour):
            out.append(neighbour)
            have.add((source.doc_id, index + step))
    if len(out) == len(retrieval.sources):
        return retrieval
    sources = [s.model_copy(update={"n": n}) for n, s in enumerate(out, start=1)]
    return replace(retrieval, sources=sources)


def named_by_class(analysis: QuestionAnalysis, retrieval: RetrievalResult) -> QuestionAnalysis:
    """The analysis in which a drug no passage found names, after the search for it, is named
    by its class too ("alprazolam": benzodiazepines). A drug some passage names is answered of
    itself: "every 2 weeks … opioids for acute pain" is no follow-up for methadone."""
    saying = [s for s in retrieval.sources if not answers_nothing(s)]
    unheld = [a for a in analysis.anchors if a.kinds and not any(holds_term(s, a) for s in saying)]
    return by_class(analysis, unheld)


def anchored_relevance(analysis: QuestionAnalysis, retrieval: RetrievalResult) -> RetrievalResult:
    """A search the lexical floor judged irrelevant is relevant when its passages name every
    drug, disease or procedure the question names.

    The floor divides the best BM25 score by the number of query terms, so a long colloquial
    question ("哪些小孩得流感更容易发展成重症？") falls under it although the passages name its
    subject. Naming the subject is not answering: each sentence still has to be responsive
    (subject and aspect) before it is shown, and an unnamed subject still refuses. A question
    that names neither an aspect nor a population gives that check nothing beyond the name
    ("流感" alone passes any sentence of the influenza guideline), so it stays refused.
    """
    anchors = analysis.anchors
    if retrieval.relevant or not retrieval.sources or not anchors:
        return retrieval
    if analysis.aspect is None and not populations(analysis.text) and not asks_which_drug(analysis):
        return retrieval  # "用什么药" asks a drug: the sentence must name one
    if not all(any(holds_term(s, a) for s in retrieval.sources[:3]) for a in anchors):
        return retrieval
    return replace(retrieval, relevant=True, reasons=[*retrieval.reasons, "anchored"])


def subject_refusal(analysis: QuestionAnalysis, retrieval: RetrievalResult) -> Refusal | None:
    """A refusal naming what is missing when no retrieved passage holds the subject."""
    anchors = analysis.anchors
    if not retrieval.sources:
        return None
    if not anchors:
        if (
            retrieval.reasons
            and retrieval.cross_lingual
            and not analysis.translated_by_model
            and not _bag_covered(analysis, retrieval.sources)
        ):
            # Only the term table's other-language words found anything (the question's own
            # search did not), and the question names nothing specific to check them against:
            # a bag of dictionary senses is no evidence that the passages answer it, unless
            # one passage holds nearly all of the question's words.
            return Refusal(reason="no_relevant_passage", missing=analysis.subject)
        return None
    missing = [a.term for a in anchors if not any(holds_term(s, a) for s in retrieval.sources)]
    if anchors[0].term in missing:
        return Refusal(reason="subject_not_found", missing=missing)
    return None


# The share of a question's term weight one passage must hold for the term table's words alone
# to be trusted: every word but a light one ("多剂量药瓶开封后最多能用多少天" → multi-dose vial,
# opened, days in one CDC passage). A passage that shares a word or two is not enough.
BAG_TRUST: float = 0.75


def _bag_covered(analysis: QuestionAnalysis, sources: Sequence[Source]) -> bool:
    """One of the top passages holds two of the question's words or more, and nearly all of
    their weight (a question of one vague word, "how long should it last?", never is)."""
    for source in sources[:3]:
        text = with_context(source)
        held = sum(1 for t in analysis.terms if term_in_text(t, text))
        if held >= 2 and weighted_coverage(analysis, text) >= BAG_TRUST:
            return True
    return False


def empty_refusal(analysis: QuestionAnalysis, draft: Draft) -> Refusal:
    reasons = {d.reason for d in draft.dropped}
    if analysis.aspect is not None and "other_aspect" in reasons:
        return Refusal(reason="aspect_not_stated", missing=[analysis.aspect.name])
    return Refusal(reason="no_responsive_sentence", missing=analysis.subject)
