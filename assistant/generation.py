"""Build the prompt, call the model with structured output, parse; extractive fallback (issue #3).

The model may only cite the numbers of the sources it was given: the JSON schema's enum makes
any other number impossible at decode time on SGLang (xgrammar). A server that rejects
json_schema gets one plain-text retry whose `[n]` markers are parsed instead. Whatever the model
returns is verified afterwards (assistant/citations.py); when it fails, errors or is not
configured, the answer is the best-matching guideline sentences copied verbatim, each citing its
source — verified by construction.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from assistant.aspects import states_dose
from assistant.citations import content_terms, parse_citation_markers, split_sentences
from assistant.domain import AnswerMode, DroppedSentence, Source
from assistant.drug_subjects import (
    another_entry,
    is_asked_name,
    labelled_by_another_drug,
    names_a_drug,
    names_another_single_drug,
    names_some_drug,
    opens_with_an_asked_drug,
    opens_with_another_drug,
)
from assistant.errors import ModelCallError
from assistant.language import CJK_CHARS, has_cjk
from assistant.llm import ChatModel, citation_schema
from assistant.mentions import drug_shaped
from assistant.passage_layout import (
    LABEL_MAX_CHARS,
    PassageLayout,
    clauses_before,
    entry_label,
    is_first_item,
    is_lead_in,
    item_labels,
    layout,
    numbered_entries,
)
from assistant.populations import Patient, fits, is_row, patient_of, populations
from assistant.prompts import build_messages
from assistant.quantities import extract_quantities
from assistant.questions import (
    QuestionAnalysis,
    normalised,
    term_in_text,
    weighted_coverage,
)
from assistant.responsiveness import (
    Responsiveness,
    defines,
    heading_of,
    judge_responsive,
    no_definition_answers,
    says_none_of_it,
)
from assistant.zh_names import names_in

logger = logging.getLogger(__name__)

# A question asking "how much / how long / which dose" is answered by a sentence with numbers.
_QUANTITY_QUESTION = re.compile(
    r"剂量|用量|多少|多久|几天|几次|疗程|多长|多大|\bdose|\bdosage|how (?:much|many|long|often)|"
    r"\bmg\b|duration|frequency",
    re.IGNORECASE,
)
_DOSE_QUESTION = re.compile(r"剂量|用量|怎么用|用法|\bdos(?:e|age|ing)\b", re.IGNORECASE)
_DOSE_UNITS = {"mg", "g", "ug", "kg", "ml", "l", "iu", "mg/kg", "mg/kg/d", "mg/(kg·d)"}

# A question asking what something consists of ("What are the elements of X?", "X包括哪些？")
# is answered by the sentence that lists them, or by a lead-in with its list.
_ENUMERATION_QUESTION = re.compile(
    r"\bwhat are the (?:\w+ )?(?:elements|components|types|kinds|categories|parts|steps|"
    r"principles|measures|criteria|signs|symptoms|indications|contraindications|"
    r"core components)\b|\bwhich (?:elements|components|types|kinds|steps|measures)\b|"
    r"\blist (?:the|all)\b|包括哪些|包含哪些|有哪些|哪几[种类项个条]|分为哪|分哪几",
    re.IGNORECASE,
)
_LIST_MARK = re.compile(r"(?<![\d.])\d{1,2}\)|[①-⑳]|[（(]\d{1,2}[)）]")
# Three short items in a row, the last after "and"/"or" ("gloves, gowns, masks and eye
# protection"); clauses set off by commas are longer.
_SHORT_ITEMS = re.compile(r"(?:\b[^,;:.]{1,40},\s*){2,}[^,;:.]{1,40}\s(?:and|or)\s")
# Enough to put a list before sentences that only share the question's words.
_ENUMERATION_BONUS = 1.0


def enumerates(sentence: str) -> bool:
    """Whether a sentence lists three things or more: numbered inline ("1) …, 2) …") or
    joined by 、 or commas ("hand hygiene, gloves, gowns and masks")."""
    if len(_LIST_MARK.findall(sentence)) >= 2:
        return True
    return sentence.count("、") >= 2 or bool(_SHORT_ITEMS.search(sentence))


DraftSentence = tuple[str, list[int]]


@dataclass
class Draft:
    """A candidate answer before verification."""

    mode: AnswerMode
    sentences: list[DraftSentence]
    insufficient_evidence: bool = False
    model: str | None = None
    reasoning: str | None = None
    used_schema: bool = False
    error_code: str | None = None
    error_message: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    dropped: list[DroppedSentence] = field(default_factory=list)


def _quantity_bonus(text: str, *, dose: bool) -> float:
    """Prefer sentences stating numbers (and, for dose questions, amounts of a drug)."""
    quantities = extract_quantities(text)
    if not quantities:
        return 0.0
    if dose and any(q.unit in _DOSE_UNITS for q in quantities):
        return 0.5
    return 0.25


# Shown text loses list markers ("（1）", "1.", "①", "•") and page furniture that PDF extraction
# leaves inside sentences (running heads, "Page 12", "- 12 -"); what remains is still a verbatim
# part of the passage.
_LIST_MARKER_RE = re.compile(
    r"^\s*(?:[（(]\s*[0-9一二三四五六七八九十]{1,3}\s*[）)]|[0-9]{1,2}[.、．](?!\d)|"
    r"[一二三四五六七八九十]{1,3}[、．.]|[①-⑳]|[a-h][.)](?=\s)|[•·▪●○■□◆◇›»\-–—*]\s|"
    # A PDF's bullet glyph read as a control or private-use character ("\x9f Standards…").
    r"[\x80-\x9f\uf0a7\uf0b7\uf0d8\uf076\uf0fc])\s*"
)
_FURNITURE_RES = (
    re.compile(r"MMWR\s*/\s*\w+ \d{1,2}, \d{4}\s*/\s*Vol\. \d+\s*/\s*No\. \d+\s*\d*"),
    re.compile(r"(?:^|\s)[-—–]\s*\d{1,3}\s*[-—–](?:\s|$)"),
    re.compile(r"(?:^|\s)(?:Page|第)\s*\d{1,4}\s*(?:页|of \d{1,4})?(?:\s|$)"),
    # A checklist's answer boxes and the next row's letter ("Yes No Not applicable (…) G.").
    re.compile(r"(?:^|\s)Yes No(?: Not applicable(?: \([^()]*\))?)?(?: [A-H]\.)?(?=\s|$)"),
)
# How many sentences before a candidate may hold its subject (see assistant.service.verdicts).
CONTEXT_SENTENCES = 2
# Sentences shorter than this carry no claim of their own (headings, fragments).
_MIN_SENTENCE_CHARS = 8
# Letters, digits and CJK characters: a list's bare label ("L.", "2.") has fewer than two.
_WORD_CHARS = re.compile(r"[^\W_]")
# How much the question's words found only in what a sentence stands under (its section, item
# head and document title) count toward choosing it, beside those found in it.
_CONTEXT_SHARE = 0.5
# Entries of a table of contents run together ("Section 1: Facility Demographics Section 2:
# Infection Control Program…"): three or more in one sentence make it a list of headings.
_CONTENTS_ENTRY = re.compile(
    r"\b(?:section|chapter|part|appendix|annex)\s+(?:\d+|[IVX]+|[A-H])\b|第[一二三四五六七八九十\d]+[章节部分]",
    re.IGNORECASE,
)
# A table of contents cut into sentences: headings with their page numbers ("…at the facility
# level 67 Core component 8: Built environment … 69 8a General principles 69 8b.") or with a
# checklist's section code ("Hand Hygiene VI.a/b."). It points to the text; it says nothing.
_PAGE_THEN_HEADING_RE: Final[re.Pattern[str]] = re.compile(
    r"[a-z]{3,}\)?\s+\d{1,3}\s+(?:(?!(?:Years?|Months?|Weeks?|Days?|Hours?|Minutes?)\b)"
    r"[A-Z][a-z]+|\d+[a-z]\b)"
)
_SECTION_CODE_RE: Final[re.Pattern[str]] = re.compile(
    r"^[^.。；;]{1,80}?\s[IVXLC]{1,5}\.[a-z](?:/[a-z])*\.?\s*$"
)


# A register's row: dates of terms of office or grants ("04/20/2021–08/31/2024"), sums of money
# ("£456 042"). Two or more in one sentence make it a row of an annex's table, never guidance.
_REGISTER_FIELD: Final[re.Pattern[str]] = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b(?:19|20)\d{2}-\d{2}-\d{2}\b|[£$€]\s?\d"
)


def _a_register_row(sentence: str) -> bool:
    return len(_REGISTER_FIELD.findall(sentence)) >= 2


def _a_contents_entry(sentence: str) -> bool:
    """Whether a sentence is a piece of a table of contents, not text."""
    return (
        len(_PAGE_THEN_HEADING_RE.findall(sentence)) >= 2
        or _SECTION_CODE_RE.search(sentence) is not None
    )


# Labels of a recommendation table, split out as sentences: its strength and evidence quality
# ("Strong, low quality 5b.") or its heading with a number ("Multimodal strategies 5a.").
# They say nothing of what to do.
_TABLE_LABEL = re.compile(
    r"^(?:(?:strong|conditional|weak)(?: recommendation)?,?\s*(?:(?:very\s+)?(?:low|moderate|high)"
    r"(?:\s+quality)?(?:\s+(?:of\s+)?evidence)?)?\s*(?:\d{1,2}[a-z]?)?"
    r"|[A-Z][A-Za-z/\- ]{2,60}?\s\d{1,2}[a-z])\.?$",
    re.IGNORECASE,
)
# A sentence opening with these answers the case the sentence before it leaves open
# ("Otherwise, the preferred method … is an alcohol-based hand rub" follows "wash with soap and
# water after caring for patients with C. difficile"): shown without that sentence, it says the
# opposite of its guideline for the case it leaves out.
_DEPENDENT_OPENING = re.compile(
    r"^\W*(?:otherwise|however|instead|conversely|in (?:that|this|such|these|those) cases?|"
    r"if (?:so|not)|in contrast|in (?:all )?other cases|否则|不然|反之|然而|但是?|此时|在此情况下|"
    r"这种情况下|如是|其[他它余]情况|除此之外)",
    re.IGNORECASE,
)


# A recommendation of its own: an actor and "should" ("Clinicians should ask patients about
# …", "Facilities should assure …"). It says what it is about itself, never continues the
# topic of the sentence before.
_OWN_ACTION = re.compile(
    r"^\W*(?:implementation considerations\W+)?(?:clinicians|physicians|providers|prescribers|"
    r"health ?care (?:personnel|providers|professionals|workers|facilities)|hcp|staff|"
    r"facilities|organizations|hospitals|programs?)\b[^.;:]{0,40}?\b(?:should|must|shall)\b",
    re.IGNORECASE,
)


def clean_shown(text: str) -> str:
    """A sentence without its list marker and page furniture."""
    for pattern in _FURNITURE_RES:
        text = pattern.sub(" ", text)
    previous = None
    while previous != text:
        previous = text
        text = _LIST_MARKER_RE.sub("", text, count=1)
    trailing = _NEXT_ITEMS_MARKER_RE.search(text)
    if trailing and text[: trailing.start()].split()[-1].lower() not in _NUMBERED_THINGS:
        text = text[: trailing.start()]
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# The next item's roman-numeral marker, left at the end of the item before it when the text
# ran "i. Upon hire… ii. Annually iii. When…" on one line ("…reprocess devices ii."); not a
# numeral that numbers what the word before it names ("type ii.", "appendix iv.").
_NEXT_ITEMS_MARKER_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<=\S)\s+(?:ii|iii|iv|vi{0,3}|ix|x)\.\s*$"
)
_NUMBERED_THINGS: Final[frozenset[str]] = frozenset(
    str.split(
        "type appendix annex table figure section part chapter stage grade class phase step "
        "category level box volume vol item schedule tier"
    )
)


@functools.lru_cache(maxsize=256)
def passage_sentences(text: str) -> tuple[PassageLayout, tuple[str, ...]]:
    """A passage's layout and its sentences as shown (cached: composing an answer and verifying
    it read the same few passages sentence by sentence)."""
    structure = layout(text)
    return structure, tuple(clean_shown(s) for s in structure.sentences)


def source_context(source: Source) -> list[str]:
    """What a passage's sentences stand under: its section path and document title."""
    return [source.section, source.title]


@dataclass(frozen=True)
class _Candidate:
    score: float
    rank: int
    position: int
    text: str
    n: int
    doc_id: str
    chunk_index: int
    # Sentences of the same passage shown with it: before it, what names its subject (the
    # sentence before, the head of its list item); after it, a lead-in's list items.
    along_before: tuple[int, ...] = ()
    along_after: tuple[int, ...] = ()
    clauses: tuple[str, ...] = ()  # the earlier clauses of the statement it continues
    under: float = 0.0  # what its section and title add when choosing the document
    # The sentence of the chunk before that names its drug: (that source's n, its position).
    carried: tuple[int, int] | None = None


def _lexical_score(text: str, wanted: set[str], *, numbers: bool, dose: bool, rank: int) -> float:
    terms = content_terms(text)
    overlap = len(wanted & terms) / len(wanted) if wanted else 0.0
    if numbers and overlap > 0:
        overlap += _quantity_bonus(text, dose=dose)
    return overlap - rank * 0.01


def _wanted_in(source: Source, wanted: set[str], analysis: QuestionAnalysis | None) -> set[str]:
    """The question's words in the source's language: its own, or its term-table translation
    into the source's (a passage in the other language shares none of the question's words,
    so a same-language passage sharing one always outranked it)."""
    if analysis is None or source.language in (None, analysis.language):
        return wanted
    translated = analysis.translations.get(source.language)
    return content_terms(translated) if translated else wanted


def _held_names(analysis: QuestionAnalysis, source: Source) -> int:
    """How many of the question's names the passage (with its section and title) holds."""
    text = " ".join([source.text, *source_context(source)])
    return sum(term_in_text(a, text) for a in analysis.anchors)


def subject_context(layout: PassageLayout, position: int) -> list[list[int]]:
    """Where a sentence's subject may stand, nearest first: each sentence before it (up to
    CONTEXT_SENTENCES, with those between) within its own list item, then its heads (its list
    item's, its list's lead-in). A sentence of the next item ("2.阿兹夫定片。" after the first
    item's "…奈玛特韦减半服用") is about that item's subject, never the one before."""
    start = _item_start(layout, position)
    options = [
        list(range(position - back, position))
        for back in range(1, min(position - start, CONTEXT_SENTENCES) + 1)
    ]
    return options + [[head] for head in reversed(layout.heads[position])]


def _item_start(layout: PassageLayout, position: int) -> int:
    """How far back a sentence's subject may be sought: no further than the start of the list
    item it is or continues, when that item is a later one ("2.", "②", "（二）"); what stands
    before a later item belongs to the item before it. A first item may take the sentence
    that opens its list ("下列人群…较易发展为重型病例。" before "（一）年龄<5岁的儿童；")."""
    if layout.kinds[position] is not None:
        head = position
    else:
        marked = [h for h in layout.heads[position] if layout.kinds[h] is not None]
        if not marked:
            return 0
        head = max(marked)
    return 0 if is_first_item(layout.sentences[head]) else head


def _entry_start(
    analysis: QuestionAnalysis, labels: Sequence[str | None], position: int
) -> int | None:
    """The nearest sentence up to `position` that opens an entry of its own: one labelled by a
    topic ("遗传性和获得性高凝状态：…", "灌注时间：…") that none of the question's words names.
    A label saying what of the entry follows (用法：, 注意事项：, 成人：) opens none: the dose
    under "奥司他韦：…" is still the drug's. `labels`: each sentence's `entry_label`."""
    for i in range(position, -1, -1):
        label = labels[i]
        if (
            label is not None
            and not _PART_OF_AN_ENTRY.fullmatch(label.strip())
            and not populations(label)
            and not any(term_in_text(t, label) for t in analysis.terms)
        ):
            return i
    return None


# Labels of what an entry says of its subject, not of another subject.
_PART_OF_AN_ENTRY: Final[re.Pattern[str]] = re.compile(
    r"(?:用法|用量|用法用量|剂量|疗程|注意|注意事项|禁忌|禁忌证|禁忌症|不良反应|适应证|适应症|"
    r"适用人群|适用范围|治法|症见|方药|基本方药|推荐方药|处方|推荐处方|煎服法|加减|推荐|推荐意见|"
    r"说明|备注|要点|要点论述|证据|方法|用药|给药|"
    r"notes?|dos(?:e|es|age|ing)|usage|administration|rationale|recommendations?|comments?)",
    re.IGNORECASE,
)


def about_the_drug_before(
    analysis: QuestionAnalysis,
    layout: PassageLayout,
    raw: Sequence[str],
    position: int,
    above: Sequence[str] = (),
) -> bool:
    """A sentence naming no drug nor any of the question's names, under a sentence or an item
    head that opens with a drug the question does not name: its subject is that drug. So is
    any sentence of an entry labelled by such a drug (or that is one), unless it opens with
    an asked drug: the asked drug named there is a comparator or a prior treatment.
    `above`: heads from outside the passage it stands under (see `item_head_over`)."""
    heads = [raw[i] for i in layout.heads[position]]
    labelled = any(labelled_by_another_drug(analysis, h) for h in [raw[position], *heads]) or any(
        labelled_by_another_drug(analysis, h, head=True) for h in above
    )
    if labelled and not opens_with_an_asked_drug(analysis, raw[position]):
        return True  # "常见不良反应为…" in the entry "（1）瑞戈非尼：…既往接受过索拉非尼治疗…"
    if names_a_drug(analysis, raw[position]):
        return False
    nearest = [raw[position - 1]] if position > 0 else []
    return any(opens_with_another_drug(analysis, h) for h in [*nearest, *heads, *above])


def item_head_over(source: Source, layout: PassageLayout, position: int) -> list[str]:
    """The head of the list item a passage begins inside of, over the sentences before its
    first marked item ("只有母亲的潜在获益…" under "1.奈玛特韦片…"), never over those after
    ("2.阿兹夫定片。…不建议在妊娠期使用" is about the next drug)."""
    return [source.item_head] if source.item_head and position < layout.first_item else []


def named_in_the_chunk_before(
    analysis: QuestionAnalysis,
    source: Source,
    before: Source | None,
    structure: PassageLayout,
    raw: Sequence[str],
    position: int,
) -> int | None:
    """Where the chunk before a passage names the asked drug that a sentence of the passage
    speaks of: the split left the drug ("…一般选择甲泼尼龙。") in one chunk and its dose
    ("初始剂量：多为2mg/(kg.d)左右") at the start of the next, under the same section.

    Only when the question names one drug; the passage, up to the sentence, names no drug and
    opens no list item (an item is about its own head); and the chunk before names no other
    drug (a class, "糖皮质激素", is none) from its last sentence naming the asked one on. A
    section heading naming a class never stands in for the drug: the drug must be named.
    """
    drugs = analysis.drug_anchors
    if (
        len(drugs) != 1
        or before is None
        or before.section != source.section
        or before.library != source.library
        or position >= structure.first_item
        or term_in_text(drugs[0], " ".join([source.item_head or "", *source_context(source)]))
        or any(
            names_some_drug(raw[i]) or term_in_text(drugs[0], raw[i]) for i in range(position + 1)
        )
    ):
        return None
    _, previous = passage_sentences(before.text)
    for i in range(len(previous) - 1, -1, -1):
        if term_in_text(drugs[0], previous[i]):
            tail = " ".join(previous[i:])
            return None if names_another_single_drug(analysis, tail) else i
    return None


def compose_extractive(
    question: str,
    sources: Sequence[Source],
    *,
    analysis: QuestionAnalysis | None = None,
    max_sentences: int = 3,
) -> tuple[list[DraftSentence], list[DroppedSentence]]:
    """An answer composed from the passage that carries the question's subject and aspect.

    Candidates are the sources' sentences that are responsive (assistant/responsiveness.py); the
    best one picks the document, and up to `max_sentences` responsive sentences of that document
    follow in document order — never padding from other guidelines. A sentence whose subject is
    only in the sentence before it, or in the head of its list item, takes that sentence along;
    a lead-in ("…标准（满足下列任意 1 条）：") takes its list along, or is left out without one.
    Non-responsive sentences that the overlap alone would have chosen are returned as dropped,
    with the reason.
    """
    wanted = content_terms(question)
    numbers = bool(_QUANTITY_QUESTION.search(question))
    dose = bool(_DOSE_QUESTION.search(question))
    listing = bool(_ENUMERATION_QUESTION.search(question))
    chosen: list[_Candidate] = []
    rejected: list[tuple[float, str, str, int]] = []
    shown_of: dict[int, tuple[str, ...]] = {}
    by_chunk = {(s.doc_id, s.chunk_index): s for s in sources}
    for rank, source in enumerate(sources):
        structure, raw = passage_sentences(source.text)
        shown_of[source.n] = raw
        context = source_context(source)
        labels = (heading_of(source.section),)
        names_held: int | None = None  # of the question's names in this passage, when needed
        entry_labels = [entry_label(t, longest=LABEL_MAX_CHARS) for t in raw]
        entries = numbered_entries(source.text)
        labels_only = item_labels(structure)  # shown only along with a sentence under them
        answering: set[int] = set()  # positions of this passage's responsive sentences
        for position, text in enumerate(raw):
            if (
                len(text) < _MIN_SENTENCE_CHARS
                or _TABLE_LABEL.match(text)
                or len(_CONTENTS_ENTRY.findall(text)) >= 3
                or _a_contents_entry(text)
                or _a_register_row(text)
                or position in labels_only
            ):
                continue
            after = structure.items[position]
            if is_lead_in(text) and not after:
                continue  # a lead-in whose list this passage does not hold says nothing
            lexical = _lexical_score(
                text, _wanted_in(source, wanted, analysis), numbers=numbers, dose=dose, rank=rank
            )
            if analysis is None:
                if lexical > 0:
                    chosen.append(
                        _Candidate(lexical, rank, position, text, source.n, source.doc_id,
                                   source.chunk_index or 0, along_after=after)
                    )  # fmt: skip
                continue
            if another_entry(question, entry_labels[position], entries):
                # "②高剂量：…" when the question asks the "①低剂量" entry beside it.
                rejected.append((lexical, text, "other_subject", source.n))
                continue
            clauses = clauses_before(raw, position)
            above = item_head_over(source, structure, position)
            dependent = position > 0 and _DEPENDENT_OPENING.search(text) is not None
            if dependent and position - 1 not in answering:
                # Its premise, the sentence before, does not answer the question: neither does it.
                rejected.append((lexical, text, "needs_context", source.n))
                continue
            # The short head its list item stands under ("2.中度：" over "（1）胡蜂蜇刺数量≥15针；")
            # is a heading of it too.
            item_label = [
                raw[i] for i in structure.heads[position] if len(raw[i]) <= LABEL_MAX_CHARS
            ]
            verdict = judge_responsive(
                analysis,
                text,
                context=[*above, *context],
                clauses=clauses,
                titles=[source.title],
                passage=source.text,
                labels=[*labels, *item_label],
            )
            before: tuple[int, ...] = ()
            carried: tuple[int, int] | None = None
            top = analysis.anchors[0] if analysis.anchors else None
            if top is not None and not term_in_text(top, text):
                # The subject is in a sentence before or in the item's head: take it along, so
                # the shown text names what it is about ("成人剂量每次75mg" after "奥司他韦：…").
                # The nearest that makes it responsive: a wider one may name the question's
                # other names too ("IL-6 抑制剂：托珠单抗。" two sentences up).
                # Every name the passage holds should be shown: a dose under "IL-6 …可试用。"
                # names the test but not the drug two sentences up ("托珠单抗。").
                if names_held is None:
                    names_held = _held_names(analysis, source)
                taken: tuple[Responsiveness, tuple[int, ...]] | None = None
                entry = _entry_start(analysis, entry_labels, position)
                for option in subject_context(structure, position):
                    named = [raw[i] for i in option]
                    plain = set(option) - set(structure.heads[position])
                    if plain and _OWN_ACTION.search(text):
                        continue  # "Clinicians should ask …" after "… offering naloxone"
                    if plain and entry is not None and min(plain) < entry:
                        # "遗传性和获得性高凝状态：…" after "颅内动脉夹层可行抗血小板药物治疗。":
                        # a new entry, about its label, never the sentence before it.
                        continue
                    if no_definition_answers(analysis) and any(defines(raw[i]) for i in plain):
                        continue  # a definition shown along answers no other question
                    if term_in_text(top, " ".join(named)):
                        # A head (the item's, the list's lead-in) says whom the sentence is
                        # about too; a plain sentence before it only what it is about.
                        heads = set(structure.heads[position])
                        along = judge_responsive(
                            analysis,
                            text,
                            context=[*(raw[i] for i in option if i in heads), *above, *context],
                            clauses=clauses,
                            titles=[source.title],
                            along=[raw[i] for i in option if i not in heads],
                            passage=source.text,
                            labels=[*labels, *(raw[i] for i in option if i in heads)],
                        )
                        if along.responsive:
                            if taken is None or along.anchors_found > taken[0].anchors_found:
                                taken = (along, tuple(option))
                            if along.anchors_found >= names_held:
                                break
                            continue
                        if along.reason != "other_subject" and taken is None:
                            verdict = along  # the subject is there; aspect or population not
                            break
                if taken is not None:
                    verdict, before = taken
                elif not verdict.responsive and source.chunk_index:
                    # Its drug is named only in the chunk before, under the same section.
                    prior = by_chunk.get((source.doc_id, source.chunk_index - 1))
                    at = named_in_the_chunk_before(
                        analysis, source, prior, structure, raw, position
                    )
                    if prior is not None and at is not None:
                        naming = passage_sentences(prior.text)[1][at]
                        along = judge_responsive(
                            analysis,
                            text,
                            context=[*above, *context],
                            clauses=clauses,
                            titles=[source.title],
                            along=[naming],
                            passage=source.text,
                            labels=labels,
                        )
                        if along.responsive:
                            verdict, carried = along, (prior.n, at)
                if verdict.responsive and about_the_drug_before(
                    analysis, structure, raw, position, above
                ):
                    # "孕妇或可能怀孕的妇女禁用" after "法维拉韦：适用于…": it is about that drug.
                    verdict = Responsiveness(False, "other_subject", verdict.anchors_found)
            if not verdict.responsive:
                rejected.append((lexical, text, verdict.reason or "not_responsive", source.n))
                continue
            answering.add(position)
            if says_none_of_it(
                analysis, " ".join([*(raw[i] for i in before), text]), under=[*above, *labels]
            ):
                # The premise of a sentence after it ("Otherwise, …"), never an answer alone.
                rejected.append((lexical, text, "other_subject", source.n))
                continue
            if dependent:
                before = tuple(sorted({*before, position - 1}))  # shown with its premise
            # The question's terms in the sentence (with what it takes along), in any language,
            # by their rarity: what distinguishes the answering sentence from its responsive
            # neighbours. A question in the other language shares no words with it, so the
            # lexical part may be nothing; scores stay positive for the cut below.
            shown = " ".join([*(raw[i] for i in before), text])
            if carried is not None:
                shown = f"{naming} {shown}"
            score = max(lexical, 0.0) + weighted_coverage(analysis, shown)
            # What the sentence stands under tells documents apart when the sentence alone does
            # not: "syringe" in a wound-care paragraph of an animal-bite guideline and in one of
            # the outpatient guide ("门诊注射时一个注射器能给多个病人用吗"), whose title says 门诊.
            # It chooses the document, never which of its sentences are shown.
            under = _CONTEXT_SHARE * (
                weighted_coverage(analysis, " ".join((shown, *above, *context)))
                - weighted_coverage(analysis, shown)
            )
            if listing and (after or enumerates(text)):
                score += _ENUMERATION_BONUS
            chosen.append(
                _Candidate(score, rank, position, text, source.n, source.doc_id,
                           source.chunk_index or 0, before, after, tuple(clauses), under,
                           carried)
            )  # fmt: skip
    dropped = [
        DroppedSentence(text=text, reason=reason, citations=[n])
        for _, text, reason, n in sorted(rejected, key=lambda r: -r[0])[:5]
        if _ > 0
    ]
    if analysis is not None:
        chosen = _rows_for_the_patient(chosen, patient_of(question))
    if not chosen:
        return [], dropped
    best = max(chosen, key=lambda c: (c.score + c.under, -c.rank, -c.position))
    same_doc = [c for c in chosen if c.doc_id == best.doc_id and c.score >= best.score * 0.6]
    same_doc.sort(key=lambda c: (-c.score, c.rank, c.position))
    # A sentence the document repeats (a summary box and its section, two overlapping
    # passages) is one sentence of the answer, never shown twice.
    # Of two wordings, the fuller one is shown ("主要适用于" over "适用于"), where the first stood.
    distinct: list[_Candidate] = []
    for candidate in same_doc:
        at = next((i for i, k in enumerate(distinct) if _restates(candidate.text, k.text)), None)
        if at is None:
            distinct.append(candidate)
        elif len(_LABEL_RE.sub("", candidate.text)) > len(_LABEL_RE.sub("", distinct[at].text)):
            distinct[at] = candidate  # fuller by its words, not by a label ("Summary: …")
    same_doc = distinct
    # Up to `max_sentences` candidates, each with what it takes along; when the best is a
    # lead-in with its list ("住院治疗标准（满足下列标准任意 1 条）：" + items), that list is the
    # answer, not the start of one.
    picked = same_doc[:1] if same_doc[0].along_after else same_doc[:max_sentences]
    picked.sort(key=lambda c: (c.chunk_index, c.rank, c.position))
    out: list[DraftSentence] = []
    seen: set[str] = set()
    for candidate in picked:
        raw = shown_of[candidate.n]
        if candidate.carried is not None:
            n, at = candidate.carried
            if _plain(shown_of[n][at]) not in seen:
                seen.add(_plain(shown_of[n][at]))
                out.append((shown_of[n][at], [n]))
        for position in _shown_positions(candidate):
            text = raw[position]
            if position == candidate.position and analysis is not None:
                text = asked_drugs_part(text, analysis)
            if len(_WORD_CHARS.findall(text)) >= 2 and _plain(text) not in seen:
                seen.add(_plain(text))
                out.append((text, [candidate.n]))
    texts = {text for text, _ in out}
    return out, [d for d in dropped if d.text not in texts]


def asked_drugs_part(sentence: str, analysis: QuestionAnalysis) -> str:
    """Of a sentence listing several drugs' doses clause by clause ("…，克拉霉素用法：10-15mg/
    (kg.d)，乙酰麦迪霉素：剂量30-40mg/kg.d，…"), the clauses of the drug asked: from the clause
    it heads to the next clause another drug heads. A dose before its name is another drug's
    (a passage beginning mid-list: "多为30-45mg/(kg.d)，克拉霉素用法：…"). The sentence as it is
    when no clause is headed by the asked drug, or none by another."""
    asked = analysis.drug_anchors
    clauses = [c for c in _CLAUSE_RE.split(sentence) if c]
    if not asked or len(clauses) < 2:
        return sentence
    forms = {normalised(f) for a in asked for f in a.forms}
    heads = [_head_name(c) for c in clauses]

    def asked_head(head: str | None) -> bool:
        # "罗红霉素用法：" heads roxithromycin's clause, not 红霉素's.
        return head is not None and is_asked_name(head, forms, analysis.other_names)

    own = _asked_drugs_statements(sentence, asked_head)
    if own is not None:
        return own

    first = next((i for i, head in enumerate(heads) if asked_head(head)), None)
    if first is None:
        return sentence
    end = next(
        (j for j in range(first + 1, len(clauses)) if heads[j] and not asked_head(heads[j])),
        None,
    )
    if end is None and not any(states_dose(c) for c in clauses[:first]):
        return sentence  # nothing before it is another drug's dose
    part = "".join(clauses[first:end]).strip()
    return part.rstrip("，,；;") if end is not None else part


def _asked_drugs_statements(sentence: str, asked: Callable[[str | None], bool]) -> str | None:
    """Of an English sentence joining statements about several drugs' doses with semicolons
    ("…hydrocodone 5 mg … 20 MME daily; extended-release tablets containing oxycodone 10 mg …
    30 MME daily."), the statements naming only the asked drug, when another drug's statement
    states a dose; None otherwise."""
    if has_cjk(sentence):
        return None
    parts = [p.strip() for p in _STATEMENT_RE.split(sentence) if p.strip()]
    if len(parts) < 2:
        return None
    drugs = [[normalised(n) for n in names_in(p) if drug_shaped(n)] for p in parts]
    own = [p for p, d in zip(parts, drugs, strict=True) if d and all(asked(n) for n in d)]
    others = [
        p
        for p, d in zip(parts, drugs, strict=True)
        if any(not asked(n) for n in d) and states_dose(p)
    ]
    if not own or not others:
        return None
    shown = "; ".join(own)
    return shown if shown[-1] in ".!?" else f"{shown}."


def _head_name(clause: str) -> str | None:
    """The drug name a clause opens with, as a label ("克拉霉素用法：…", "乙酰麦迪霉素：…")."""
    opening = _CLAUSE_OPENING_RE.match(clause)
    if opening is None:
        return None
    names = [n for n in names_in(opening.group(1)) if drug_shaped(n)]
    return normalised(names[0]) if names else None


# A clause of a listing sentence, with its comma or semicolon; what a clause opens with before
# its label's colon or 用法.
_CLAUSE_RE: Final[re.Pattern[str]] = re.compile(r"(?<=[，；,;])")
# English statements joined in one sentence by semicolons.
_STATEMENT_RE: Final[re.Pattern[str]] = re.compile(r";\s+")
_CLAUSE_OPENING_RE: Final[re.Pattern[str]] = re.compile(
    r"\s*(?:[①-⑳]|\d+[.、])?\s*([^，；,;：:]{2,14}?)\s*(?:用法|用量|剂量)?\s*[：:]"
)


def _plain(text: str) -> str:
    """A sentence as compared for repeats: NFKC, without case or spacing."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


@functools.lru_cache(maxsize=4096)
def _restates(text: str, other: str) -> bool:
    """Whether a sentence says what another of its document says, a word or two apart: a
    recommendation's summary box and its section ("…risks for resuming drug use…" and "…risks
    for return to drug use… (96)"). The same quantities with units, the same negations, and
    nearly all content words shared; a reference number or a grade in brackets is no part
    ("胡蜂蜇刺数量<15针" and "≥15针" are two rows, never one)."""
    if _plain(text) == _plain(other):
        return True
    a, b = _UNCITED_RE.sub(" ", text), _UNCITED_RE.sub(" ", other)
    if _measured(a) != _measured(b) or _negations(a) != _negations(b):
        return False
    words, others = content_terms(a), content_terms(b)
    return bool(words and others) and len(words & others) >= _RESTATED * len(words | others)


def _measured(text: str) -> set[tuple[float, float, str | None, str]]:
    return {(q.low, q.high, q.unit, q.relation) for q in extract_quantities(text)}


def _negations(text: str) -> list[str]:
    return sorted(m.group().lower() for m in _NEGATION_RE.finditer(text))


# A bracketed reference or grade ("(96)", "[238]", "(recommendation category: A, evidence type:
# 4)", "（证据等级2，推荐A）"), with no quantity in a unit.
_UNCITED_RE: Final[re.Pattern[str]] = re.compile(
    rf"[(\[（【](?![^)\]）】]*\d\s*[A-Za-zµμ%{CJK_CHARS}/])[^()\[\]（）【】]{{0,80}}[)\]）】]"
)
_NEGATION_RE: Final[re.Pattern[str]] = re.compile(
    r"\b(?:not|no|never|nor|without|avoid|avoided)\b|不|无|非|禁|勿|未|避免", re.IGNORECASE
)
_RESTATED: Final[float] = 0.8
# A short label before a colon ("Summary:", "推荐意见："), no part of what a sentence says.
_LABEL_RE: Final[re.Pattern[str]] = re.compile(r"^[^:：。.;；]{1,20}[:：]\s*")


def _rows_for_the_patient(chosen: list[_Candidate], patient: Patient) -> list[_Candidate]:
    """When a row of a dosing table holds the patient the question describes, the other rows
    (by weight or by age) are no answer for them ("20公斤的孩子": the 15–23 kg row, not the
    "2 周～8 月龄" one)."""
    if not patient.described:
        return chosen
    if not any(fits(patient, c.text, c.clauses) for c in chosen):
        return chosen
    return [c for c in chosen if fits(patient, c.text, c.clauses) or not is_row(c.text)]


def _shown_positions(candidate: _Candidate) -> list[int]:
    return [*candidate.along_before, candidate.position, *candidate.along_after]


def extractive_sentences(
    question: str, sources: Sequence[Source], *, max_sentences: int = 3
) -> list[DraftSentence]:
    """The source sentences sharing most content terms with the question, verbatim, cited."""
    sentences, _ = compose_extractive(question, sources, max_sentences=max_sentences)
    return sentences


def extractive_draft(
    question: str,
    sources: Sequence[Source],
    *,
    analysis: QuestionAnalysis | None = None,
    error: ModelCallError | None = None,
    error_code: str | None = None,
) -> Draft:
    """An extractive answer, noting the generation failure it replaces, if any."""
    sentences, dropped = compose_extractive(question, sources, analysis=analysis)
    return Draft(
        mode=AnswerMode.EXTRACTIVE,
        sentences=sentences,
        error_code=error.code if error else error_code,
        error_message=error.user_message if error else None,
        dropped=dropped,
    )


def generate_draft(
    question: str,
    sources: Sequence[Source],
    *,
    chat: ChatModel | None,
    language: Literal["zh", "en"],
    analysis: QuestionAnalysis | None = None,
) -> Draft:
    """Ask the model for a cited answer; fall back to extraction on any failure."""
    if chat is None or not sources:
        return extractive_draft(question, sources, analysis=analysis)
    numbers = [s.n for s in sources]
    messages = build_messages(question, sources, language=language)
    try:
        reply = chat.complete(messages, json_schema=citation_schema(numbers))
    except ModelCallError as exc:
        logger.warning("generation failed (%s); answering extractively", exc.code)
        return extractive_draft(question, sources, analysis=analysis, error=exc)
    if reply.structured is not None:
        sentences, insufficient = parse_structured(reply.structured)
    else:
        sentences, insufficient = parse_plain_text(reply.content)
    given = set(numbers)
    if any(n not in given for _, cites in sentences for n in cites):
        return extractive_draft(
            question, sources, analysis=analysis, error_code="llm_citation_out_of_range"
        )
    if not sentences and not insufficient:
        return extractive_draft(question, sources, analysis=analysis, error_code="llm_empty_answer")
    return Draft(
        mode=AnswerMode.GENERATIVE,
        sentences=sentences,
        insufficient_evidence=insufficient and not sentences,
        model=reply.model,
        reasoning=reply.reasoning,
        used_schema=reply.used_schema,
        usage=dict(reply.usage),
    )


def parse_structured(data: dict[str, Any]) -> tuple[list[DraftSentence], bool]:
    """Sentences and the insufficient-evidence flag from schema-shaped JSON."""
    sentences: list[DraftSentence] = []
    for item in data.get("sentences") or []:
        text, marked = parse_citation_markers(str(item.get("text", "")))
        cites = [int(n) for n in item.get("citations") or [] if isinstance(n, int)]
        text = text.strip()
        if text:
            sentences.append((text, list(dict.fromkeys([*cites, *marked]))))
    return sentences, bool(data.get("insufficient_evidence"))


def parse_plain_text(content: str) -> tuple[list[DraftSentence], bool]:
    """Sentences with `[n]` markers from a plain-text answer (json_schema fallback)."""
    sentences: list[DraftSentence] = []
    for raw in split_sentences(content, lead_ins_apart=False):
        text, cites = parse_citation_markers(raw)
        if text.strip():
            sentences.append((text.strip(), cites))
    lowered = content.lower()
    insufficient = not sentences or (
        "insufficient evidence" in lowered or "证据不足" in content or "未涵盖" in content
    )
    return sentences, insufficient and not any(c for _, c in sentences)
