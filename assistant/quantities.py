"""Numbers, doses, units, percentages and ranges in zh/en clinical text, as comparable values.

Issue #3 item 5: every quantity in an answer sentence must appear in a cited source, compared
as normalised number+unit pairs and ranges, not digits alone (`300 mg` never matches
`300 μg … 5 mg`; `1~7天`, `1至7天`, `1-7 days` are one range).

Extraction is deliberately symmetric: the same rules run over the sentence and the source, so
anything a sentence copies from its source (years such as `2025年版`, section numbers) is found
on both sides. Chinese and English number words count only where they are clearly quantities
(followed by a unit, after `百分之`, or a stand-alone `二十`): `一般`, `十二指肠`, `十分`
and `one of` are words, not numbers. Digits glued to Latin letters (`H1N1`, `IL-6`,
`COVID-19`, `T790M`) are identifiers, not quantities; callers compare those as codes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from assistant.language import CJK_CHARS

__all__ = ["Quantity", "extract_quantities", "quantity_supported"]


def _aliases(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(value.split("|")) for key, value in table.items()}


@dataclass(frozen=True)
class Quantity:
    """One quantity: a value (`low == high`) or a range, in a canonical unit (None: bare number).

    `relation` is `=`, `>=`, `>`, `<=` or `<` (from `≥`, `不少于`, `at least`, `以上`, …).
    `raw` is the text it came from and takes no part in equality, so formatting variants of
    the same quantity compare equal.
    """

    low: float
    high: float
    unit: str | None
    raw: str = field(compare=False)
    relation: str = "="

    @property
    def is_range(self) -> bool:
        """True when the quantity spans two different bounds."""
        return self.low != self.high


# --- units -----------------------------------------------------------------------------------

# alias -> canonical unit. Matching is case-insensitive and longest-first; ASCII aliases must
# end at a word boundary so `mo` never eats `months` and `d` never eats `doses`.
_UNIT_ALIASES: Final[dict[str, tuple[str, ...]]] = _aliases(
    {
        "ng": "ng|nanogram|nanograms|纳克",
        "ug": "μg|ug|mcg|microgram|micrograms|微克",
        "mg": "mg|milligram|milligrams|毫克",
        "g": "g|gram|grams|克",
        "kg": "kg|kilogram|kilograms|千克|公斤",
        "ml": "ml|milliliter|milliliters|millilitre|millilitres|毫升",
        "dl": "dl|deciliter|decilitre|分升",
        "l": "l|liter|liters|litre|litres|升",
        "ul": "μl|ul|microliter|microliters|微升",
        "iu": "iu|international units|international unit|国际单位|u|units|unit|单位",
        "mmol": "mmol|millimole|millimoles|毫摩尔",
        "umol": "μmol|umol|micromole|micromoles|微摩尔",
        "meq": "meq",
        "mme": "mme|morphine milligram equivalents|morphine milligram equivalent",
        "%": "%|percent|per cent",
        "permille": "‰",
        "year": "years old|year old|years of age|year-old|years|year|yrs|yr|周岁|岁|年",
        "month": "months old|month-old|months|month|mos|mo|月龄|个月|月",
        "week": "weeks|week|wks|wk|周龄|周|星期",
        "day": "days|day|d|天|日",
        "hour": "hours|hour|hrs|hr|h|小时",
        "min": "minutes|minute|mins|min|分钟",
        "sec": "seconds|second|sec|秒",
        "times": "times|次",
        "dose": "doses|dose|剂",
        "fold": "fold|倍",
        "celsius": "°c|摄氏度|度",
        "mmhg": "mmhg|毫米汞柱",
        "cmh2o": "cmh2o",
        "kpa": "kpa|千帕",
        "cm": "cm|centimeter|centimeters|厘米",
        "mm": "mm|millimeter|millimeters|毫米",
        "m": "m|meter|meters|metre|metres|米",
        "m2": "m^2|m2|平方米",
        "copies": "copies|copy|拷贝",
        "cases": "例",
    }
)
_ALIAS_TO_UNIT: Final[dict[str, str]] = {
    alias.lower(): unit for unit, aliases in _UNIT_ALIASES.items() for alias in aliases
}
# Units that may follow a Chinese or English number word (`三天`, `seven days`): the words
# themselves are too common to read as numbers anywhere else.
_WORD_NUMBER_UNITS: Final[frozenset[str]] = frozenset(
    {
        "year",
        "month",
        "week",
        "day",
        "hour",
        "min",
        "sec",
        "times",
        "dose",
        "fold",
        "cases",
        "mg",
        "g",
        "kg",
        "ml",
        "l",
        "ug",
        "iu",
        "%",
    }
)
# Order of denominators in a compound unit, so mg/(kg·d), mg/kg/d and mg·kg⁻¹·d⁻¹ agree.
_DENOMINATOR_RANK: Final[dict[str, int]] = {
    "kg": 0,
    "m2": 0,
    "g": 0,
    "l": 1,
    "dl": 1,
    "ml": 1,
    "ul": 1,
    "day": 2,
    "week": 2,
    "month": 2,
    "year": 2,
    "hour": 2,
    "min": 2,
    "sec": 2,
    "times": 3,
    "dose": 3,
}
_MASS: Final[dict[str, float]] = {"ng": 1e-6, "ug": 1e-3, "mg": 1.0, "g": 1e3, "kg": 1e6}
_VOLUME: Final[dict[str, float]] = {"ul": 1e-3, "ml": 1.0, "dl": 100.0, "l": 1e3}


def _alias_pattern(aliases: Sequence[str]) -> str:
    parts = []
    for alias in sorted(set(aliases), key=len, reverse=True):
        escaped = re.escape(alias).replace(r"\ ", r"\s+")
        # ASCII words need boundaries (`over` inside `moreover`); CJK and symbols do not.
        if alias[0].isascii() and alias[0].isalpha():
            escaped = r"(?<![a-z])" + escaped
        if alias[-1].isascii() and alias[-1].isalnum():
            escaped += r"(?![a-z])"
        parts.append(escaped)
    return "(?:" + "|".join(parts) + ")"


_UNIT_RE: Final[str] = _alias_pattern(list(_ALIAS_TO_UNIT))
_DENOM_RE: Final[str] = _alias_pattern(
    [a for a, u in _ALIAS_TO_UNIT.items() if u in _DENOMINATOR_RANK] + ["分"]
)
# numerator [/denominator …] | /(kg·d) | ·kg^-1·d^-1 | per day
_COMPOUND_RE: Final[str] = (
    rf"(?:{_UNIT_RE}|(?=/))"
    rf"(?:\s*/\s*\(\s*{_DENOM_RE}(?:\s*[·.*×・•∙]\s*{_DENOM_RE})+\s*\)"
    rf"|\s*/\s*{_DENOM_RE}"
    rf"|\s*[·.・•∙]\s*{_DENOM_RE}\s*\^?\s*-\s*1"
    rf"|\s+per\s+{_DENOM_RE})*"
)

# --- relations -------------------------------------------------------------------------------

_PREFIX_RELATIONS: Final[dict[str, tuple[str, ...]]] = _aliases(
    {
        ">=": (
            "≥|⩾|≧|>=|不少于|不低于|不小于|至少|大于等于|大于或等于|at least|"
            "no less than|not less than|greater than or equal to|no fewer than"
        ),
        ">": ">|大于|高于|超过|多于|more than|greater than|over|above|exceeding|older than",
        "<=": (
            "≤|⩽|≦|<=|不超过|不大于|不高于|不多于|至多|最多|小于等于|小于或等于|"
            "at most|no more than|not more than|up to|not exceeding|"
            "no greater than"
        ),
        "<": "<|小于|低于|少于|不足|less than|fewer than|under|below|younger than",
    }
)
_POSTFIX_RELATIONS: Final[dict[str, tuple[str, ...]]] = _aliases(
    {
        ">=": (
            "及以上|或以上|以上|or more|or older|or greater|or above|and above|and older|or longer"
        ),
        "<=": (
            "及以下|或以下|以下|以内|之内|or less|or fewer|or younger|or below|and below|or shorter"
        ),
    }
)
_PREFIX_TO_REL: Final[dict[str, str]] = {
    word: rel for rel, words in _PREFIX_RELATIONS.items() for word in words
}
_POSTFIX_TO_REL: Final[dict[str, str]] = {
    word: rel for rel, words in _POSTFIX_RELATIONS.items() for word in words
}
_PREFIX_RE: Final[str] = _alias_pattern(list(_PREFIX_TO_REL))
_POSTFIX_RE: Final[str] = _alias_pattern(list(_POSTFIX_TO_REL))

# --- numbers ---------------------------------------------------------------------------------

_NUM: Final[str] = r"\d+(?:\.\d+)?(?:\s*[万亿])?(?:\s*[×x*]\s*10\s*\^\s*-?\d+)?"
_RANGE_SEP: Final[str] = r"(?:~|〜|∼|-|–|—|至|到|(?<![a-z])to(?=\s))"
_QUANTITY_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?:(?P<rel>{_PREFIX_RE})\s*)?"
    r"(?<![A-Za-z\d.])(?<![A-Za-z]-)(?<![A-Za-z]\^)"
    rf"(?P<a>{_NUM})\s*(?:个\s*)?(?:-?(?P<ua>{_COMPOUND_RE}))?"
    rf"(?:\s*{_RANGE_SEP}\s*(?P<b>{_NUM})(?![\d])\s*(?:个\s*)?(?:-?(?P<ub>{_COMPOUND_RE}))?)?"
    rf"(?:\s*(?P<post>{_POSTFIX_RE}))?",
    re.IGNORECASE,
)

_CN_DIGITS: Final[dict[str, int]] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_SCALES: Final[dict[str, int]] = {"十": 10, "百": 100, "千": 1000}
_CN_BIG: Final[dict[str, int]] = {"万": 10_000, "亿": 100_000_000}
_CN_NUM_CHARS: Final[str] = "零〇一二两三四五六七八九十百千万亿"
_EN_NUMBERS: Final[dict[str, int]] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
_WORD_UNIT_RE: Final[str] = _alias_pattern(
    [a for a, u in _ALIAS_TO_UNIT.items() if u in _WORD_NUMBER_UNITS]
)
_CN_NUMBER_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?<![\d.])(?P<pct>[百千]分之)?(?P<num>[{_CN_NUM_CHARS}]+|半)(?=(?P<unit>\s*个?\s*{_WORD_UNIT_RE})?)"
    rf"(?P<tail>[^{CJK_CHARS}]|$)?",
    re.IGNORECASE,
)
_EN_NUMBER_RE: Final[re.Pattern[str]] = re.compile(
    r"\b(?P<num>(?:" + "|".join(sorted(_EN_NUMBERS, key=len, reverse=True)) + r")"
    r"(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?)"
    rf"(?=[- ]{_WORD_UNIT_RE})",
    re.IGNORECASE,
)
_TIMES_WORDS_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<!\bat )\b(?P<w>once|twice|thrice)\b", re.IGNORECASE
)
_SUPERSCRIPTS: Final[dict[str, str]] = {
    "⁰": "0",
    "¹": "1",
    "²": "2",
    "³": "3",
    "⁴": "4",
    "⁵": "5",
    "⁶": "6",
    "⁷": "7",
    "⁸": "8",
    "⁹": "9",
    "⁻": "-",
}
# 一日三次 / 1 日 2 次 is a frequency (每日), not a claim about "1 day".
_PER_DAY_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![\d.一二两三四五六七八九十])(?:一|1)\s*[日天](?=\s*[\d一二两三四五六七八九十]+\s*次)"
)
_THOUSANDS_RE: Final[re.Pattern[str]] = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")


class _MappedText:
    """Text under rewriting that remembers, for each character, its span in the original."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.chars: list[str] = list(text)
        self.spans: list[tuple[int, int]] = [(i, i + 1) for i in range(len(text))]

    @property
    def text(self) -> str:
        return "".join(self.chars)

    def sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]) -> None:
        """Replace matches of `pattern` (a None replacement keeps the match as it is)."""
        text = self.text
        chars: list[str] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        for match in pattern.finditer(text):
            new = repl(match)
            if new is None:
                continue
            chars.extend(self.chars[pos : match.start()])
            spans.extend(self.spans[pos : match.start()])
            if match.end() > match.start():
                span = (self.spans[match.start()][0], self.spans[match.end() - 1][1])
            else:
                span = self.spans[match.start()] if match.start() < len(self.spans) else (0, 0)
            chars.extend(new)
            spans.extend([span] * len(new))
            pos = match.end()
        chars.extend(self.chars[pos:])
        spans.extend(self.spans[pos:])
        self.chars, self.spans = chars, spans

    def original_span(self, start: int, end: int) -> str:
        """The original text behind `text[start:end]`."""
        if start >= end:
            return ""
        return self.original[self.spans[start][0] : self.spans[end - 1][1]]


def _normalise(text: str) -> _MappedText:
    mapped = _MappedText(text)
    # Superscripts first: NFKC would turn 10⁹ into 109 and kg⁻¹ into kg-1.
    mapped.sub(
        re.compile("[" + "".join(_SUPERSCRIPTS) + "]+"),
        lambda m: "^" + "".join(_SUPERSCRIPTS[c] for c in m.group()),
    )
    # ASCII commas only: NFKC turns the Chinese list comma ，into ',' (75，150 is two doses).
    mapped.sub(_THOUSANDS_RE, lambda m: m.group().replace(",", ""))
    # NFKC per character keeps the span map exact (full-width digits, ～, ％, ℃ → °C, µ → μ).
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    for char, span in zip(mapped.chars, mapped.spans, strict=True):
        folded = unicodedata.normalize("NFKC", char)
        chars.extend(folded)
        spans.extend([span] * len(folded))
    mapped.chars, mapped.spans = chars, spans
    mapped.sub(_PER_DAY_RE, lambda m: "每日")
    mapped.sub(_CN_NUMBER_RE, _replace_chinese_number)
    mapped.sub(_EN_NUMBER_RE, _replace_english_number)
    mapped.sub(
        _TIMES_WORDS_RE,
        lambda m: {"once": "1", "twice": "2", "thrice": "3"}[m.group("w").lower()] + " times",
    )
    return mapped


def _parse_chinese_numeral(word: str) -> int | None:
    if len(word) > 1 and all(c in _CN_DIGITS for c in word):
        # 二〇二五 (a year) is written digit by digit; 一二 as a count is not a number.
        return int("".join(str(_CN_DIGITS[c]) for c in word)) if "〇" in word else None
    total, section, digit = 0, 0, None
    for char in word:
        if char in "零〇":
            continue  # 一百零五: the zero only marks a gap
        if char in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_SCALES:
            section += (1 if digit is None else digit) * _CN_SCALES[char]
            digit = None
        elif char in _CN_BIG:
            total = (total + section + (digit or 0)) * _CN_BIG[char]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _replace_chinese_number(match: re.Match[str]) -> str | None:
    word = match.group("num")
    if word == "半":
        if match.group("unit") is None or match.group("pct"):
            return None
        return "0.5" + (match.group("tail") or "")
    suffix = ""
    following = match.string[match.end("num") : match.end("num") + 1]
    if word.endswith("千") and following in ("克", "帕", "米"):
        # 千克/千帕/千米 are units: 五千克 is 5 kg, not 5000 g.
        word, suffix = word[:-1], "千"
        if not word:
            return None
    value = _parse_chinese_numeral(word)
    if value is None:
        return None
    tail = suffix + (match.group("tail") or "")
    if match.group("pct"):
        unit = "%" if match.group("pct").startswith("百") else "‰"
        return _format_number(value) + unit + tail
    has_scale = any(c in "十百千万亿" for c in word)
    # 二十 standing alone is a number; 十二指肠 and 千万 are words (a CJK character follows).
    standalone = has_scale and len(word) >= 2 and match.group("tail") is not None
    if match.group("unit") is None and not standalone:
        return None
    return _format_number(value) + tail


def _replace_english_number(match: re.Match[str]) -> str | None:
    parts = re.split(r"[- ]", match.group("num").lower())
    return str(sum(_EN_NUMBERS[p] for p in parts))


def _parse_number(text: str) -> float:
    text = re.sub(r"\s+", "", text)
    sci = re.search(r"[×x*]10\^(-?\d+)$", text, re.IGNORECASE)
    exponent = 0
    if sci:
        exponent = int(sci.group(1))
        text = text[: sci.start()]
    multiplier = 1.0
    if text.endswith("万"):
        multiplier, text = 1e4, text[:-1]
    elif text.endswith("亿"):
        multiplier, text = 1e8, text[:-1]
    return float(text) * multiplier * 10.0**exponent


def _canonical_unit(text: str | None) -> str | None:
    if not text:
        return None
    lowered = re.sub(r"\s+", " ", text.lower()).strip()
    lowered = re.sub(r"\^?\s*-\s*1(?!\d)", "", lowered)
    lowered = re.sub(r"\s+per\s+", "/", lowered)
    pieces = [p.strip() for p in re.split(r"[/()·.*×・•∙]", lowered)]
    if lowered.startswith("/"):
        numerator, denominators = "", [p for p in pieces[1:] if p]
    else:
        numerator, denominators = pieces[0], [p for p in pieces[1:] if p]
    canonical_num = _ALIAS_TO_UNIT.get(numerator, "") if numerator else ""
    canonical_den = sorted(
        ("min" if d == "分" else _ALIAS_TO_UNIT.get(d, d) for d in denominators),
        key=lambda u: (_DENOMINATOR_RANK.get(u, 9), u),
    )
    if not canonical_den:
        return canonical_num or None
    return "/".join([canonical_num, *canonical_den])


def extract_quantities(text: str) -> list[Quantity]:
    """Every number, dose, percentage and range in `text`, normalised for comparison."""
    mapped = _normalise(text)
    normal = mapped.text
    found: list[Quantity] = []
    for match in _QUANTITY_RE.finditer(normal):
        unit_a = _canonical_unit(match.group("ua"))
        relation = "="
        if match.group("rel"):
            relation = _PREFIX_TO_REL[re.sub(r"\s+", " ", match.group("rel").lower())]
        if match.group("post"):
            relation = _POSTFIX_TO_REL[re.sub(r"\s+", " ", match.group("post").lower())]
        raw = mapped.original_span(match.start(), match.end()).strip()
        low = _parse_number(match.group("a"))
        if match.group("b") is None:
            found.append(Quantity(low, low, unit_a, raw, relation))
            continue
        high = _parse_number(match.group("b"))
        unit_b = _canonical_unit(match.group("ub"))
        if unit_a is not None and unit_b is not None and unit_a != unit_b:
            # 2 周～8 月龄: two quantities that share a dash, not a range.
            found.append(Quantity(low, low, unit_a, raw, relation))
            found.append(Quantity(high, high, unit_b, raw, relation))
            continue
        unit = unit_a or unit_b
        if low > high:  # a hyphen between unrelated numbers (`2019-2` ) is not a range
            found.append(Quantity(low, low, unit_a, raw, relation))
            found.append(Quantity(high, high, unit_b, raw, relation))
            continue
        found.append(Quantity(low, high, unit, raw, "=" if low != high else relation))
    return found


def _unit_factor(claimed: str | None, source: str | None) -> float | None:
    """Multiplier turning a source value into the claimed unit, or None when incompatible."""
    if claimed is None:
        return 1.0  # a bare number in the sentence only has to appear as a number
    if source is None:
        return None
    if claimed == source:
        return 1.0
    claimed_num, _, claimed_den = claimed.partition("/")
    source_num, _, source_den = source.partition("/")
    if claimed_den != source_den:
        return None
    for family in (_MASS, _VOLUME):
        if claimed_num in family and source_num in family:
            return family[source_num] / family[claimed_num]
    return None


def _relations_compatible(claimed: str, source: str) -> bool:
    # `≥5 天` against `≤5 天` says the opposite; a bare `5 天` against either is the same number.
    if claimed == "=" or source == "=":
        return True
    return claimed[0] == source[0]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _bound_found(
    value: float, *, unit: str | None, relation: str, sources: Sequence[Quantity]
) -> bool:
    for source in sources:
        factor = _unit_factor(unit, source.unit)
        if factor is None or not _relations_compatible(relation, source.relation):
            continue
        if _same(value, source.low * factor) or _same(value, source.high * factor):
            return True
    return False


def quantity_supported(q: Quantity, source_quantities: Sequence[Quantity]) -> bool:
    """True when the source states `q`: same value (a range bound counts, its inside does not).

    A claimed range is supported by the same range, or by both bounds stated separately with
    its unit (`15kg＜体重≤23kg` supports `15～23 kg`). Mass and volume convert (0.3 g = 300 mg);
    a bare number in the claim matches a number with any unit.
    """
    if not q.is_range:
        return _bound_found(q.low, unit=q.unit, relation=q.relation, sources=source_quantities)
    for source in source_quantities:
        factor = _unit_factor(q.unit, source.unit)
        if factor is None:
            continue
        if _same(q.low, source.low * factor) and _same(q.high, source.high * factor):
            return True
    return _bound_found(
        q.low, unit=q.unit, relation="=", sources=source_quantities
    ) and _bound_found(q.high, unit=q.unit, relation="=", sources=source_quantities)
