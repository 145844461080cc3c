"""Sentence splitting, citation markers and support verification for generated answers.

Issue #3 item 5: every answer sentence needs at least one citation naming a source that was
given, and each cited source must support it:

1. `no_citation` / `unknown_citation`: no citation, or a number that names no given source.
2. `number_mismatch`: every number, dose, unit, percentage and range in the sentence must be
   stated by a cited source (see `assistant.quantities`; `300 mg` never matches `300 μg`), and
   every identifier with digits (`H1N1`, `IL-6`, `COVID-19`) must appear in one.
   `grade_not_in_source`: a recommendation grade the sentence states ("（证据等级3，推荐C）",
   "(Strong recommendation, low quality of evidence)") must be stated by a cited source too:
   the same strength and certainty as far as the sentence gives them, or the same wording
   (issue #17 §1). A grade is a claim like a dose: 推荐A cited to a passage graded 推荐C is wrong.
3. Support: the share of the sentence's content terms (jieba for Chinese, stop words dropped)
   found in the cited sources of the sentence's language, combined with the injected embedding
   `similarity` when there is one. `SupportThresholds` holds the calibrated cut-offs.

Cross-lingual sentences (a Chinese sentence citing an English passage, or the reverse): lexical
overlap cannot work and numbers must still match. The default MiniLM is English-only (zh–en
cosine ≈ 0.03 for a faithful translation), so similarity cannot vouch either: unless the
caller says its model compares the two languages (`cross_lingual_similarity_ok=True`, e.g. a
multilingual e5), such a sentence is `supported=False` with reason `cross_lingual_unverifiable`
and the strict policy falls back to the passages themselves. With the flag set, a
cross-lingual sentence is supported when its numbers match and the similarity reaches
`SupportThresholds.min_cross_lingual_similarity`. A sentence citing sources in both languages
is judged lexically on those in its own language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import jieba

from assistant.domain import Grade
from assistant.grades import detect_grades
from assistant.language import detect_language, has_cjk
from assistant.quantities import extract_quantities, quantity_supported

__all__ = [
    "SentenceVerdict",
    "SupportThresholds",
    "content_terms",
    "parse_citation_markers",
    "split_sentences",
    "strip_reference_markers",
    "verify_answer",
    "verify_sentence",
]

Similarity = Callable[[str, str], float]


@dataclass(frozen=True)
class SupportThresholds:
    """Cut-offs for `verify_sentence`, calibrated on corpus sentences (see tests and report).

    - `min_overlap`: share of the sentence's content terms that the cited sources must contain
      when no similarity function is given.
    - `lexical_weight`: weight of the term overlap in the combined score
      `lexical_weight * overlap + (1 - lexical_weight) * similarity`.
    - `min_support`: combined score needed when a similarity function is given.
    - `min_overlap_with_similarity`: overlap floor even then, so that similarity alone never
      vouches for a sentence whose words are not in the source.
    - `min_cross_lingual_similarity`: similarity needed for a cross-lingual sentence when the
      caller declares its model multilingual.
    """

    # Calibrated on 475 real sentences (195 zh, 280 en) plus 27 hand paraphrases: copied and
    # paraphrased sentences reach overlap ≥ 0.67; sentences cited to another guideline stay
    # ≤ 0.5 (99th percentile 0.4). MiniLM similarity of a sentence to its whole chunk is weak
    # (copied zh sentences from 0.09), so it only tips sentences already near the overlap bar.
    min_overlap: float = 0.6
    lexical_weight: float = 0.7
    min_support: float = 0.55
    min_overlap_with_similarity: float = 0.5
    # Not calibrated: no multilingual model ships here. Set it for the model you configure.
    min_cross_lingual_similarity: float = 0.75


@dataclass(frozen=True)
class SentenceVerdict:
    """Whether the cited sources support one sentence, and why not when they do not."""

    supported: bool
    support_score: float
    reason: str | None = None
    missing_quantities: list[str] = field(default_factory=list)
    best_source: int | None = None
    matched_terms: list[str] = field(default_factory=list)
    overlap: float = 0.0
    similarity: float | None = None


# --- sentences and markers -------------------------------------------------------------------

_MARKER_BODY: Final[str] = r"\^?\d+(?:\s*[-–,，、;]\s*\^?\d+)*"
_MARKER_RE: Final[re.Pattern[str]] = re.compile(
    rf"[ \t]*(?:\[(?P<a>{_MARKER_BODY})\]|【(?P<b>{_MARKER_BODY})】|［(?P<c>{_MARKER_BODY})］)"
)
_TERMINATOR_RE: Final[re.Pattern[str]] = re.compile(r"[。！？；!?.\n]")
# In a guideline's text a colon ends a lead-in when a numbered item follows it on the same line
# ("…并有以下表现时，需及早气管插管机械通气：（1）严重低氧血症：…"): the item is a sentence of its
# own.
_PASSAGE_TERMINATOR_RE: Final[re.Pattern[str]] = re.compile(
    r"[。！？；!?.\n]|：(?=\s*(?:（\d{1,2}）|\(\d{1,2}\)|[①-⑳]))"
)
_TAIL_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?:[。！？；!?…]+|[”’\"'）)」』]|\s*(?:\[{_MARKER_BODY}\]|【{_MARKER_BODY}】|［{_MARKER_BODY}］))*"
)
# Words whose trailing period does not end an English sentence.
_ABBREVIATIONS: Final[frozenset[str]] = frozenset(
    {
        "e.g",
        "i.e",
        "dr",
        "no",
        "nos",
        "al",
        "vs",
        "fig",
        "figs",
        "approx",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "ref",
        "refs",
        "vol",
        "cf",
        "eq",
        "ca",
        "u.s",
        "resp",
        "incl",
        "dept",
        "viz",
    }
)
_WORD_BEFORE_RE: Final[re.Pattern[str]] = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_MAX_MARKER_RANGE: Final[int] = 20
_LIST_NUMBER_RE: Final[re.Pattern[str]] = re.compile(r"\s*\d{1,2}")
_ITEM_LETTERS: Final[str] = "abcdefgh"


def _opens_lettered_item(text: str, pos: int) -> bool:
    """Whether the period at `pos` follows a lettered list mark ("…include: a. Before contact
    with a patient. b. …"): one letter a–h after a line start, a colon or a sentence's end."""
    if pos < 1 or pos > len(text) or text[pos - 1] not in _ITEM_LETTERS:
        return False
    if pos >= 2 and not text[pos - 2].isspace():
        return False
    before = text[: pos - 1].rstrip(" \t")
    return not before or before[-1] in "\n:：;；.。"


def _period_ends_sentence(text: str, pos: int) -> bool:
    line = text[text.rfind("\n", 0, pos) + 1 : pos]
    if _LIST_NUMBER_RE.fullmatch(line) or _opens_lettered_item(text, pos):
        return False  # "2.住院治疗标准…", "include: a. Before…": a list mark opens its item
    before = text[max(0, pos - 40) : pos]
    if before.count("(") + before.count("（") > before.count(")") + before.count("）"):
        return False  # inside brackets: "2mg/（kg.次）", "(e.g. adults)"
    after = text[pos + 1 : pos + 2]
    if after and not (after.isspace() or has_cjk(after) or after in "[【［”’\"')）"):
        return False  # 2.5, e.g, 3.2.1, www.example.org
    word = _WORD_BEFORE_RE.search(text[:pos])
    if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
        return False
    following = text[pos + 1 :].lstrip()
    if following[:1] in _ITEM_LETTERS and following[1:3] in (". ", ".\n"):
        return True  # "…a patient. b. Before…": the next item's mark
    # An English sentence does not start in lower case: "approx. two", "etc. and".
    return not (following[:1].isascii() and following[:1].islower())


# A line ending in a dose label ("…用法：", "剂量：") continues on the next: a line break there
# is the PDF's, and the dose on the next line belongs to the drug before it, never to the drug
# the next line goes on to name ("25-50mg/(kg.d)，罗红霉素用法：…").
_DOSE_LABEL_END_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:用法|用量|剂量|剂量为|dose|dosage)\s*[:：][ \t]*$", re.IGNORECASE
)


# A line that ends in a label's colon and a next line that opens with a value (a number that is
# no list mark: "8-10mg", "1.5mg", not "1.发热"): the line break is the PDF's wrap.
_LABEL_END_RE: Final[re.Pattern[str]] = re.compile(r"[:：][ \t]*$")
_VALUE_START_RE: Final[re.Pattern[str]] = re.compile(r"[ \t]*\d(?!\d?\s*[.．、)）](?!\d))")


def _value_after_label(text: str, start: int, pos: int) -> bool:
    return bool(_LABEL_END_RE.search(text, start, pos) and _VALUE_START_RE.match(text, pos + 1))


def split_sentences(text: str, *, lead_ins_apart: bool = True) -> list[str]:
    """Split zh/en/mixed text into sentences; trailing citation markers stay with theirs.

    `lead_ins_apart`: a lead-in's colon before a numbered item on its line ends a sentence
    (guideline text). A model's answer is split without it: its lead-in carries no citation of
    its own, which the list's first item does ("推荐以下：（1）…[1]；")."""
    sentences: list[str] = []
    start = 0
    terminators = _PASSAGE_TERMINATOR_RE if lead_ins_apart else _TERMINATOR_RE
    for match in terminators.finditer(text):
        pos = match.start()
        if pos < start:
            continue
        char = match.group()
        if char == "." and not _period_ends_sentence(text, pos):
            continue
        if char == "\n" and _DOSE_LABEL_END_RE.search(text, start, pos):
            continue  # "乙酰吉他霉素用法：\n25-50mg/(kg.d)": the dose is the label's
        if char == "\n" and _value_after_label(text, start, pos):
            continue  # "5-16岁：\n8-10mg/(kg.次)，qd": the row's value, wrapped
        end = pos + 1
        if char != "\n":
            tail = _TAIL_RE.match(text, end)
            end = tail.end() if tail else end
        sentences.extend(_attribution_apart(text[start:end]))
        start = end
    sentences.extend(_attribution_apart(text[start:]))
    return sentences


# A table's or figure's attribution run on after its last row with no full stop between
# ("… Tramadol 0.2 Sources: Adapted from …", "…（资料来源：…）"): a sentence of its own.
_ATTRIBUTION_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<=\S)\s+(?=(?:Sources?|资料来源|数据来源)\s*[:：])"
)
_MIN_BEFORE_ATTRIBUTION: Final[int] = 12


def _attribution_apart(piece: str) -> list[str]:
    piece = piece.strip()
    if not piece:
        return []
    cut = _ATTRIBUTION_RE.search(piece)
    if cut is None or cut.start() < _MIN_BEFORE_ATTRIBUTION:
        return [piece]
    return [piece[: cut.start()].strip(), *_attribution_apart(piece[cut.end() :])]


def _marker_numbers(body: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*[,，、;]\s*", body):
        bounds = [int(b.strip().lstrip("^")) for b in re.split(r"[-–]", part) if b.strip()]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= _MAX_MARKER_RANGE:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


# Where an answer's own markers stand: at the end of its sentence, before or after the closing
# punctuation ("75 mg [1].", "75 mg.[1][3]", "每次 75mg［1，2］。").
_TRAILING_MARKERS_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?:{_MARKER_RE.pattern}|[。！？；!?.…]+|[”’\"'）)」』]|\s+)+$"
)


def parse_citation_markers(text: str) -> tuple[str, list[int]]:
    """Strip the answer's own markers — `[1]`, `[1, 2]`, `[1-3]`, `【1】`, `[^1]` at the end of
    the sentence — and return the clean text and their numbers.

    A bracketed number inside the sentence is the guideline's reference to its bibliography
    ("以上[1-3]，…"), copied with the guideline's text: it is kept as text and never read as a
    citation of a numbered source.
    """
    numbers: list[int] = []

    def collect(match: re.Match[str]) -> str:
        body = match.group("a") or match.group("b") or match.group("c") or ""
        for number in _marker_numbers(body):
            if number not in numbers:
                numbers.append(number)
        return ""

    tail = _TRAILING_MARKERS_RE.search(text)
    start = tail.start() if tail else len(text)
    clean = text[:start] + _MARKER_RE.sub(collect, text[start:])
    return re.sub(r"[ \t]{2,}", " ", clean).strip(), numbers


def strip_reference_markers(text: str) -> str:
    """The text without any bracketed reference numbers (a guideline's bibliography markers)."""
    return re.sub(r"[ \t]{2,}", " ", _MARKER_RE.sub("", text)).strip()


# --- content terms ---------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ZH_STOP: Final[frozenset[str]] = _words(
    "的 了 和 与 及 或 等 是 为 在 对 可 以 应 "
    "其 中 者 于 由 将 被 从 而 且 但 也 就 都 "
    "又 并 该 此 这 那 之 所 因 如 若 则 即 个 "
    "时 后 前 内 上 下 有 着 把 给 让 向 至 到 "
    "再 还 更 很 较 已 要 能 会 每 各 些 他 她 "
    "它 我 你 们 地 得 及其 以及 或者 以上 以下 "
    "可以 应该 应当 进行 需要 我们 他们 其中 如果 "
    "因此 所以 同时 其他 其它 等等 可能 一般 通常 "
    "主要 包括 根据 这些 那些 对于 关于 具有 相关 "
    "情况 时间 方面 一些 一定 目前 没有 不是 均 即可 "
    "可用 用于 作为 以及 天 日 周 月 年 岁 次 剂 "
    "倍 克 升 例 名 分钟 小时 毫克 微克"
)
_EN_STOP: Final[frozenset[str]] = _words(
    "a about above after again against all also am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each either few "
    "for from further had has have having he her here hers herself him himself his how however "
    "i if in into is it its itself just may me might more most must my myself no nor not of off "
    "on once only or other others our ours out over own per same shall she should so some such "
    "than that the their theirs them themselves then there these they this those through thus to "
    "too under until up upon us very via was we were what when where whether which while who "
    "whom why will with within without would you your yours e.g i.e etc et al "
    # Units: quantities are checked on their own, as numbers with units.
    "mg g kg ml l ug mcg day days week weeks month months year years hour hours h min "
    "times dose doses percent"
)
_EN_WORD_RE: Final[re.Pattern[str]] = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
_NUMBERISH_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:[\d.,%~\-–/]+[a-zA-Zμ%/]*|[零〇一二两三四五六七八九十百千万半]+[个]?[天日周月年岁次剂倍克]?)$"
)
_EN_SUFFIXES: Final[tuple[str, ...]] = (
    "ations",
    "ation",
    "ings",
    "ing",
    "edly",
    "ed",
    "ly",
    "es",
    "s",
)
# Single Chinese characters stay terms (jieba splits unknown drug names into characters:
# 帕拉/米/韦), except the function words and unit characters in _ZH_STOP.
KEEP_SINGLE_CJK: Final[bool] = True


def _stem(word: str) -> str:
    # Crude suffix stripping so that "doses"/"dose" and "recommended"/"recommend" meet.
    for suffix in _EN_SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _english_term(token: str) -> str | None:
    word = token.lower().strip("'-")
    if len(word) < 2 or word in _EN_STOP:
        return None
    return _stem(word)


def _chinese_term(token: str) -> str | None:
    if token in _ZH_STOP or _NUMBERISH_RE.match(token):
        return None
    if not all(has_cjk(c) for c in token):
        return None
    if len(token) == 1 and not KEEP_SINGLE_CJK:
        return None
    return token


@functools.lru_cache(maxsize=4096)
def _term_pairs(text: str) -> tuple[tuple[str, str], ...]:
    """(surface form, term) for each content word, in text order."""
    normal = unicodedata.normalize("NFKC", text)
    pairs: list[tuple[str, str]] = []
    if not has_cjk(normal):
        for match in _EN_WORD_RE.finditer(normal):
            term = _english_term(match.group())
            if term:
                pairs.append((match.group(), term))
        return tuple(pairs)
    for token in jieba.lcut(normal):
        token = token.strip()
        if not token:
            continue
        term = _english_term(token) if _EN_WORD_RE.fullmatch(token) else _chinese_term(token)
        if term:
            pairs.append((token, term))
    return tuple(pairs)


def content_terms(text: str) -> set[str]:
    """Content words of `text`: jieba tokens for Chinese, stemmed English words; no stop words."""
    return {term for _, term in _term_pairs(text)}


_CODE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]+-?\d[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"
)


def _codes(text: str) -> set[str]:
    # Identifiers with digits are claims too: H3N2 cited to a passage about H1N1 is wrong.
    return {m.group().lower() for m in _CODE_RE.finditer(unicodedata.normalize("NFKC", text))}


# --- verification ----------------------------------------------------------------------------


def _missing_quantities(sentence: str, cited_texts: Sequence[str]) -> list[str]:
    source_quantities = [q for text in cited_texts for q in extract_quantities(text)]
    missing = [
        q.raw for q in extract_quantities(sentence) if not quantity_supported(q, source_quantities)
    ]
    source_codes: set[str] = set().union(*(_codes(text) for text in cited_texts))
    missing.extend(sorted(_codes(sentence) - source_codes))
    return missing


def _grade_key(original: str) -> str:
    return re.sub(r"[\s,;，；、:：]+", "", unicodedata.normalize("NFKC", original)).lower()


def _grade_stated(stated: Grade, found: Sequence[Grade]) -> bool:
    """Whether a cited source states `stated`: its wording, or every field it gives."""
    for grade in found:
        if _grade_key(grade.original) == _grade_key(stated.original):
            return True
        same_strength = stated.strength is None or stated.strength == grade.strength
        same_certainty = stated.certainty is None or stated.certainty == grade.certainty
        if same_strength and same_certainty:
            return True
    return False


def _unstated_grades(sentence: str, cited_texts: Sequence[str]) -> list[str]:
    """The grades `sentence` states that no cited source states (original wording)."""
    stated = detect_grades(sentence)
    if not stated:
        return []
    found = [g for text in cited_texts for g in detect_grades(text)]
    return [g.original for g in stated if not _grade_stated(g, found)]


def _matched_surface(source: str, terms: set[str]) -> list[str]:
    seen: list[str] = []
    for surface, term in _term_pairs(source):
        if term in terms and surface not in seen:
            seen.append(surface)
    return seen


def _similarity_can_decide(overlap: float, *, thresholds: SupportThresholds) -> bool:
    """Whether a similarity in [0, 1] could change a same-language verdict at this overlap.

    Below `min_overlap_with_similarity` a sentence fails whatever the similarity; from
    `min_support / lexical_weight` up it passes whatever the similarity (copied and extractive
    sentences). Only in between is the model asked for same-language sources: embedding every
    cited source cost ~250 ms per answer on 2 cores (eval/bench_all.py).
    """
    certain = thresholds.min_support / thresholds.lexical_weight
    return thresholds.min_overlap_with_similarity <= overlap < certain


def verify_sentence(
    sentence: str,
    citations: Sequence[int],
    sources: Mapping[int, str],
    *,
    similarity: Similarity | None = None,
    languages: tuple[str, str] | None = None,
    thresholds: SupportThresholds = SupportThresholds(),  # frozen: a shared default is safe
    cross_lingual_similarity_ok: bool = False,
) -> SentenceVerdict:
    """Check that the cited sources support `sentence` (see the module docstring for the rules).

    `languages` is (sentence language, sources language) when the caller knows them; otherwise
    both are detected from the text.
    """
    marked: list[int] = []
    if citations:
        # The caller names the sources: bracketed numbers in the text are the guideline's own
        # bibliography references, copied with its sentence ("…以上[1-3]。"), not citations.
        text = strip_reference_markers(sentence)
    else:
        text, marked = parse_citation_markers(sentence)
    cited = list(dict.fromkeys([*citations, *marked]))
    if not cited:
        return SentenceVerdict(supported=False, support_score=0.0, reason="no_citation")
    if any(n not in sources for n in cited):
        return SentenceVerdict(supported=False, support_score=0.0, reason="unknown_citation")

    sentence_lang = languages[0] if languages else detect_language(text)
    source_lang = {n: languages[1] if languages else detect_language(sources[n]) for n in cited}
    same = [n for n in cited if source_lang[n] == sentence_lang]
    missing = _missing_quantities(text, [sources[n] for n in cited])

    terms = content_terms(text)
    per_source = {n: content_terms(sources[n]) & terms for n in same}
    covered: set[str] = set().union(*per_source.values())
    overlap = len(covered) / len(terms) if terms else 0.0
    usable = [n for n in cited if n in same or cross_lingual_similarity_ok]
    if not _similarity_can_decide(overlap, thresholds=thresholds):
        usable = [n for n in usable if n not in same]  # only other-language sources need it
        if not usable:
            similarity = None  # the overlap alone settles it: skip the embedding model
    sims = (
        {n: max(0.0, min(1.0, similarity(text, sources[n]))) for n in usable} if similarity else {}
    )

    def source_score(n: int) -> float:
        if n not in same:
            return sims.get(n, 0.0)
        share = len(per_source[n]) / len(terms) if terms else 0.0
        if n not in sims:
            return share
        return thresholds.lexical_weight * share + (1 - thresholds.lexical_weight) * sims[n]

    best = max(cited, key=source_score)  # ties keep the first cited source
    best_sim = max(sims.values()) if sims else None
    matched = _matched_surface(sources[best], terms) if best in same else []

    reason: str | None = None
    if same:
        if best_sim is None:
            score = overlap
            ok = overlap >= thresholds.min_overlap
        else:
            same_sim = max((sims[n] for n in same if n in sims), default=0.0)
            w = thresholds.lexical_weight
            score = w * overlap + (1 - w) * same_sim
            ok = score >= thresholds.min_support and (
                overlap >= thresholds.min_overlap_with_similarity
            )
        if not terms:
            reason = "no_content"
        elif not ok:
            reason = "low_overlap"
    elif cross_lingual_similarity_ok and best_sim is not None:
        score = best_sim
        if score < thresholds.min_cross_lingual_similarity:
            reason = "low_similarity"
    else:
        score = best_sim or 0.0
        reason = "cross_lingual_unverifiable"
    if _unstated_grades(text, [sources[n] for n in cited]):
        # Before numbers: "证据等级1" against a passage's "证据等级3" is a wrong grade, not a dose.
        reason = "grade_not_in_source"
    elif missing:
        reason = "number_mismatch"
    return SentenceVerdict(
        supported=reason is None,
        support_score=round(max(0.0, min(1.0, score)), 4),
        reason=reason,
        missing_quantities=missing,
        best_source=best,
        matched_terms=matched,
        overlap=round(overlap, 4),
        similarity=None if best_sim is None else round(best_sim, 4),
    )


def verify_answer(
    sentences: Sequence[tuple[str, Sequence[int]]],
    sources: Mapping[int, str],
    *,
    similarity: Similarity | None = None,
    languages: tuple[str, str] | None = None,
    thresholds: SupportThresholds = SupportThresholds(),  # frozen: a shared default is safe
    cross_lingual_similarity_ok: bool = False,
) -> list[SentenceVerdict]:
    """Verify each (sentence, citations) pair of an answer against the numbered sources."""
    return [
        verify_sentence(
            text,
            citations,
            sources,
            similarity=similarity,
            languages=languages,
            thresholds=thresholds,
            cross_lingual_similarity_ok=cross_lingual_similarity_ok,
        )
        for text, citations in sentences
    ]


# ---- where a passage supports the sentences citing it (for highlighting) --------------------

_HIGHLIGHT_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*")


def support_spans(passage: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of `passage` holding content terms of the sentences that cite it
    (Latin words whole; Chinese terms of two characters or more), merged and in order."""
    targets = supporting_terms(passage, sentences)
    return _support_spans(passage, targets) if targets else []


def _support_spans(passage: str, targets: set[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _HIGHLIGHT_WORD.finditer(passage):
        if content_terms(match.group(0)) & targets:
            spans.append(match.span())
    for term in targets:
        # Single characters are too common in Chinese to show as support.
        if not has_cjk(term) or len(term) < 2:
            continue
        start = passage.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = passage.find(term, start + len(term))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def supporting_terms(passage: str, sentences: Iterable[str]) -> set[str]:
    """Content terms a passage shares with the answer sentences that cite it."""
    cited = content_terms(" ".join(sentences))
    return cited & content_terms(passage) if cited else set()
