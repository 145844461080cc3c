"""Recommendation grades stated in text, normalised beside their own wording (#17 §1).

Ingestion stores them with each chunk; the verifier checks a grade an answer states against the
cited passage (`assistant.citations`). Both use this one detector.

A guideline states how strong a recommendation is and how certain its evidence, each on its
own scale. `detect_grades` finds the grades in a chunk's text and maps them onto two shared
fields, keeping the original wording (and so the original scale: in the 原发性肝癌诊疗指南
"证据等级1" is the *best* level) and the span of the sentence the grade belongs to.

| form (example) | strength | certainty |
| --- | --- | --- |
| 推荐A, 推荐等级A, 推荐强度：强, 强推荐, 强烈推荐 | strong | |
| 推荐B/C, 推荐强度：弱/中等, 弱推荐, (有)条件推荐 | conditional | |
| 不推荐 | against | |
| 证据等级/证据级别 1 / 2 / 3 / 4–5 (OCEBM 2011) | | high / moderate / low / very_low |
| 证据等级/证据级别/证据质量 A/B/C/D, 高/中/低/极低 | | high / moderate / low / very_low |
| "strong recommendation" | strong | |
| "weak / conditional / discretionary recommendation" | conditional | |
| "… recommendation against" | against | |
| "high / moderate / low / very low quality (certainty) of evidence" | | as stated |
| GRADE code 1A–2C, alone in brackets: 1 / 2, A / B / C | strong / conditional | h / m / l |
| CDC "recommendation category: A / B" | strong / conditional | |
| CDC "evidence type: 1 / 2 / 3 / 4" | | high / moderate / low / very_low |
| ESC "Class I / IIa / IIb / III" | strong / cond. / cond. / against | |
| AHA "COR 1 / 2a / 2b / 3" | strong / cond. / cond. / against | |
| ESC "Level (of evidence) A / B / C", AHA "LOE A, B-R/NR, C-LD" | | high / moderate / low |
| AHA "LOE C-EO" (expert opinion) | | very_low |

Why these choices: the liver guideline's 推荐B is "中等程度推荐 … 应注意考虑医患共同决策", which
is GRADE's conditional recommendation (shared decision), so only A is strong. OCEBM levels 4–5
(case series, mechanism-based reasoning) and CDC type 4 ("very little confidence") are GRADE's
very low. A recommendation *against* something is its own strength only where the scale says so
(Class III, 不推荐, "recommendation against"); the degree of that recommendation is in `original`.

A grade counts only where it is stated as one: bracketed ("（证据等级3，推荐C）",
"(Strong recommendation, low quality of evidence)") or labelled with a colon
("recommendation category: A"). Method sections that *describe* a scale ("证据等级1~5",
"强推荐（推荐A）代表…", "category A recommendations are…") are not grades.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from assistant.domain import Certainty, Grade, Strength

S = Strength
C = Certainty

_LEVEL_1_TO_5 = {"1": C.HIGH, "2": C.MODERATE, "3": C.LOW, "4": C.VERY_LOW, "5": C.VERY_LOW}
_LEVEL_A_TO_D = {"A": C.HIGH, "B": C.MODERATE, "C": C.LOW, "D": C.VERY_LOW}
_LEVEL_WORDS = {"高": C.HIGH, "中": C.MODERATE, "低": C.LOW, "极低": C.VERY_LOW}
_EN_LEVELS = {"high": C.HIGH, "moderate": C.MODERATE, "low": C.LOW, "very low": C.VERY_LOW}
_REC_A_TO_C = {"A": S.STRONG, "B": S.CONDITIONAL, "C": S.CONDITIONAL}
_REC_WORDS = {"强": S.STRONG, "弱": S.CONDITIONAL, "中": S.CONDITIONAL, "中等": S.CONDITIONAL}
_ZH_STRENGTH = {
    "强推荐": S.STRONG,
    "强烈推荐": S.STRONG,
    "弱推荐": S.CONDITIONAL,
    "有条件推荐": S.CONDITIONAL,
    "条件推荐": S.CONDITIONAL,
    "不推荐": S.AGAINST,
}
_EN_STRENGTH = {
    "strong": S.STRONG,
    "weak": S.CONDITIONAL,
    "conditional": S.CONDITIONAL,
    "discretionary": S.CONDITIONAL,
}
_ESC_CLASS = {"I": S.STRONG, "IIa": S.CONDITIONAL, "IIb": S.CONDITIONAL, "II": S.CONDITIONAL}
_ESC_CLASS["III"] = S.AGAINST
_AHA_COR = {"1": S.STRONG, "2a": S.CONDITIONAL, "2b": S.CONDITIONAL, "3": S.AGAINST}
_ESC_LEVEL = {"A": C.HIGH, "B": C.MODERATE, "C": C.LOW}

# A level that is part of a range or a footnote marker ("证据等级1~5", "证据等级1*") is a
# description of the scale, not a grade.
_NOT_A_LEVEL = r"(?![~～\-–—*\d])"


@dataclass(frozen=True)
class _Component:
    """One piece of a stated grade: its span and what it says."""

    start: int
    end: int
    strength: Strength | None
    certainty: Certainty | None
    labelled: bool  # stated with a label and colon: counts without brackets
    bare: bool  # a bare code ("1A"): counts only when the brackets hold nothing else


Reading = tuple[Strength | None, Certainty | None]


def _pattern(regex: str, read: Callable[[re.Match[str]], Reading], *, bare: bool = False) -> Any:
    return re.compile(regex), read, bare


def _en_level(value: str) -> Certainty:
    return _EN_LEVELS[re.sub(r"[\s-]+", " ", value.lower())]


def _zh_evidence(v: str) -> Certainty:
    return _LEVEL_1_TO_5.get(v) or _LEVEL_A_TO_D.get(v.upper()) or _LEVEL_WORDS[v]


def _en_strength(m: re.Match[str]) -> Reading:
    return (S.AGAINST if m["against"] else _EN_STRENGTH[m["v"].lower()]), None


def _aha_level(m: re.Match[str]) -> Reading:
    return None, (C.VERY_LOW if (m["sub"] or "").upper() == "EO" else _ESC_LEVEL[m["v"]])


_PATTERNS = [
    # Chinese evidence level: 证据等级3 / 证据级别：B / 证据质量 低
    _pattern(
        r"(?:证据等级|证据级别|证据质量|证据水平)\s*[:：]?\s*(?P<v>[1-5]|[A-Da-d]|极低|高|中|低)"
        + _NOT_A_LEVEL,
        lambda m: (None, _zh_evidence(m["v"])),
    ),
    # Chinese labelled strength: 推荐等级A / 推荐强度：强 / 推荐意见：B
    _pattern(
        r"(?:推荐等级|推荐强度|推荐意见|推荐级别)\s*[:：]?\s*(?P<v>[A-Ca-c](?![A-Za-z])|强|弱|中等|中)",
        lambda m: (
            _REC_A_TO_C.get(m["v"].upper()) or _REC_WORDS[m["v"]],
            None,
        ),
    ),
    # The liver guideline's bare form: 推荐A / 推荐 C
    _pattern(r"推荐\s*(?P<v>[A-C])(?![A-Za-z])", lambda m: (_REC_A_TO_C[m["v"]], None)),
    _pattern(
        r"(?P<v>强烈推荐|强推荐|弱推荐|有条件推荐|条件推荐|不推荐)",
        lambda m: (_ZH_STRENGTH[m["v"]], None),
    ),
    # GRADE in English
    _pattern(
        r"(?i:(?P<v>strong|weak|conditional|discretionary)\s+recommendations?"
        r"(?P<against>\s+against)?)",
        _en_strength,
    ),
    _pattern(
        r"(?i:strength\s+of\s+recommendation\s*[:：]\s*(?P<v>strong|weak|conditional))",
        lambda m: (_EN_STRENGTH[m["v"].lower()], None),
    ),
    _pattern(
        r"(?i:(?P<v>very[\s-]+low|high|moderate|low)[\s-]+(?:quality|certainty)"
        r"(?:\s+of)?\s+evidence)",
        lambda m: (None, _en_level(m["v"])),
    ),
    _pattern(
        r"(?i:(?:quality|certainty|level)\s+of\s+(?:the\s+)?evidence\s*[:：]?\s*"
        r"(?P<v>very[\s-]+low|high|moderate|low)\b)",
        lambda m: (None, _en_level(m["v"])),
    ),
    # GRADE code 1A–2C, counted only alone in brackets: "(1B)", "(GRADE 2C)"
    _pattern(
        r"(?:GRADE\s*)?\b(?P<s>[12])(?P<c>[A-C])\b",
        lambda m: (
            S.STRONG if m["s"] == "1" else S.CONDITIONAL,
            _ESC_LEVEL[m["c"]],
        ),
        bare=True,
    ),
    # CDC (ACIP-adapted GRADE)
    _pattern(
        r"(?i:recommendation\s+category)\s*(?P<colon>[:：])?\s*(?P<v>[AB])\b",
        lambda m: (S.STRONG if m["v"] == "A" else S.CONDITIONAL, None),
    ),
    _pattern(
        r"(?i:evidence\s+type)\s*(?P<colon>[:：])?\s*(?P<v>[1-4])\b" + _NOT_A_LEVEL,
        lambda m: (None, _LEVEL_1_TO_5[m["v"]]),
    ),
    # ESC / AHA
    _pattern(r"\b[Cc]lass\s+(?P<v>III|IIa|IIb|II|I)\b", lambda m: (_ESC_CLASS[m["v"]], None)),
    _pattern(
        r"\bCOR\s*[:：]?\s*(?P<v>1|2a|2b|3)\b",
        lambda m: (_AHA_COR[m["v"]], None),
    ),
    _pattern(
        r"\b(?:[Ll]evel\s+of\s+[Ee]vidence|LOE|[Ll]evel)\s*[:：]?\s*(?P<v>[ABC])"
        r"(?:-(?P<sub>R|NR|LD|EO))?\b",
        _aha_level,
    ),
]

_OPEN = "（([【［"
_CLOSE = "）)]】］"
# What may stand between two pieces of one grade: "证据等级3，推荐C", "category: A; evidence type".
_JOINER = re.compile(r"[\s,;，；、/:：]*(?:and|和|及)?[\s,;，；、/:：]*")
_SENTENCE_END = re.compile(r"[。！？；]|[.!?](?=\s|$)")
_SPACE = re.compile(r"\s+")
# A bracket right after a grade word glosses it: "弱推荐（有条件推荐）", "强推荐（推荐A）代表…".
_GLOSSED = re.compile(
    r"(?:强|弱|条件|程度)推荐$|(?i:(?:strong|weak|conditional)\s+recommendations?)$"
)


def detect_grades(text: str) -> list[Grade]:
    """Every grade stated in `text`, in order, with the span of the sentence it belongs to."""
    grades = []
    for group in _group(_components(text), text):
        grade = _read_group(group, text)
        if grade is not None:
            grades.append(grade)
    return grades


def grades_payload(grades: Iterable[Grade]) -> list[dict[str, Any]] | None:
    """The chunk payload's `grade` field: every grade with its span, or None when none."""
    rows = [
        {
            "strength": g.strength.value if g.strength else None,
            "certainty": g.certainty.value if g.certainty else None,
            "original": g.original,
            "start": g.start,
            "end": g.end,
        }
        for g in grades
    ]
    return rows or None


def _components(text: str) -> list[_Component]:
    found: list[_Component] = []
    for regex, read, bare in _PATTERNS:
        for m in regex.finditer(text):
            strength, certainty = read(m)
            labelled = bool(m.groupdict().get("colon")) or "：" in m.group() or ":" in m.group()
            found.append(_Component(m.start(), m.end(), strength, certainty, labelled, bare))
    # Longest first at each position, then drop pieces inside an earlier, longer one
    # ("推荐等级A" is one piece, not also "推荐A"... "强推荐" not also "推荐").
    found.sort(key=lambda c: (c.start, -(c.end - c.start)))
    kept: list[_Component] = []
    for comp in found:
        if kept and comp.start < kept[-1].end:
            continue
        kept.append(comp)
    return kept


def _group(components: list[_Component], text: str) -> list[list[_Component]]:
    groups: list[list[_Component]] = []
    for comp in components:
        if groups and _JOINER.fullmatch(text, groups[-1][-1].end, comp.start):
            groups[-1].append(comp)
        else:
            groups.append([comp])
    return groups


def _prev_char(text: str, index: int) -> tuple[str, int]:
    """The last non-space character before `index` and its position ('' and -1 at the start)."""
    i = index - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return (text[i], i) if i >= 0 else ("", -1)


def _next_char(text: str, index: int) -> tuple[str, int]:
    i = index
    while i < len(text) and text[i].isspace():
        i += 1
    return (text[i], i) if i < len(text) else ("", len(text))


def _read_group(group: list[_Component], text: str) -> Grade | None:
    start, end = group[0].start, group[-1].end
    before, open_at = _prev_char(text, start)
    after, close_at = _next_char(text, end)
    opened = bool(before) and before in _OPEN
    closed = bool(after) and after in _CLOSE
    if any(c.bare for c in group):
        if not (opened and closed and len(group) == 1):
            return None
    # One bracket suffices: a grade cut in two by a chunk boundary keeps only one.
    elif not (opened or closed or any(c.labelled for c in group)):
        return None
    if opened and _glosses_a_grade(text, open_at):
        return None  # "弱推荐（有条件推荐）", "强推荐（推荐A）代表…": defining the scale
    strengths = {c.strength for c in group if c.strength}
    certainties = {c.certainty for c in group if c.certainty}
    if len(strengths) > 1 or len(certainties) > 1:
        return None  # "推荐A、推荐B" lists the scale
    span_start, span_end = _sentence_span(
        text, start=open_at if opened else start, end=close_at + 1 if closed else end
    )
    return Grade(
        strength=next(iter(strengths), None),
        certainty=next(iter(certainties), None),
        original=_SPACE.sub(" ", text[start:end]).strip(" ,;，；"),
        start=span_start,
        end=span_end,
    )


def _glosses_a_grade(text: str, open_at: int) -> bool:
    head = text[max(0, open_at - 12) : open_at].rstrip()
    return bool(_GLOSSED.search(head))


def _sentence_span(text: str, *, start: int, end: int) -> tuple[int, int]:
    """The sentence a grade at text[start:end] belongs to: the one it closes, or the one before.

    "…每隔6个月进行1次肝癌监测（证据等级2，推荐A）；" closes its sentence; WHO writes the
    grade after the full stop: "The panel recommends … . (Strong recommendation, …)".
    """
    before, at = _prev_char(text, start)
    anchor = start
    if before and _SENTENCE_END.match(text, at):
        anchor = at  # the grade follows the sentence's own full stop
    sentence_start = 0
    for m in _SENTENCE_END.finditer(text, 0, anchor):
        sentence_start = m.end()
    while sentence_start < len(text) and text[sentence_start].isspace():
        sentence_start += 1
    after, at_after = _next_char(text, end)
    if anchor == start and after and _SENTENCE_END.match(text, at_after):
        end = at_after + 1
    return sentence_start, end
