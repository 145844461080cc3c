"""Who a statement is about: the populations it names, and which row of a dosing table holds
the patient a question describes (issue #10 item 2).

A dose for adults does not answer a question about a child. Guidelines state paediatric doses
as rows ("体重≤15kg，每次30mg；15kg＜体重≤23kg，每次45mg", "2 周～8 月龄，每次3.0mg/kg",
"children aged 6-59 months"). A question that gives the patient's weight or age ("20公斤的孩子",
"a 3-year-old") is answered by the row that holds the patient, never by a neighbouring row: the
wrong row is a wrong dose. A sentence that states one weight or one age range is a row; a
sentence that states several (a whole table in one line) is not judged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

# Who a statement is about. A dose for adults does not answer a question about a child.
POPULATIONS: Final[dict[str, re.Pattern[str]]] = {
    "child": re.compile(
        r"儿童|孩子|小孩|小朋友|娃娃|宝宝|孩童|少儿|患儿|小儿|婴幼儿|婴儿|婴|幼儿|新生儿|早产儿|岁以下|[月周]龄|"
        r"\bchild(?!bearing|-bearing|birth)|\bkids?\b|\bkiddos?\b|\bp(?:a)?eds\b|\btoddlers?\b|"
        r"\bbab(?:y|ies)\b|"
        # An age under 18 ("a 6-year-old", "8 months old").
        r"\b(?:[1-9]|1[0-7])[\s-]*(?:years?|yrs?)[\s-]*old\b|\b\d+[\s-]*(?:months?|weeks?)[\s-]*old\b|"
        r"\b(?:[1-9]|1[0-7])\s*y/?o\b|"
        r"p(?:a)?ediatric|"
        r"\binfant|neonat|newborn",
        re.IGNORECASE,
    ),
    "adult": re.compile(r"成人|成年|\badults?\b", re.IGNORECASE),
    # Women who may become pregnant (育龄女性, "of childbearing potential") are asked of as
    # pregnancy is: what a guideline says of pregnancy is what applies to them.
    "pregnancy": re.compile(
        r"孕妇|妊娠|孕期|怀孕|育龄|pregnan|child-?bearing (?:age|potential)", re.IGNORECASE
    ),
    "lactation": re.compile(r"哺乳|母乳喂养|breast-?feed|lactat", re.IGNORECASE),
    # Older people: targets and doses are often their own ("≥80岁…<150/90 mmHg").
    "older": re.compile(
        r"老年|高龄|老人|老太太|老大爷|老爷子|(?:≥|>|＞|大于|超过)\s*(?:6[5-9]|[7-9]\d)\s*岁|"
        r"(?:6[5-9]|[7-9]\d)\s*岁(?:及)?以上|"
        r"\belderly\b|\bolder (?:adults?|patients?|people|persons?)\b|\bgeriatric|"
        r"\baged (?:6[5-9]|[7-9]\d)\b|\b(?:6[5-9]|[7-9]\d) (?:years )?(?:or|and) (?:older|over)\b",
        re.IGNORECASE,
    ),
    # An animal as the one a statement is about ("家里的狗需要打流感疫苗吗", "致伤动物已接种"), not
    # as what bit or scratched someone (狗咬伤, 被犬咬, 猫抓病, 狂犬病, "a dog bite", "bitten by
    # a cat"): what human guidelines say of people does not answer for it.
    "animal": re.compile(
        r"(?<!被)(?<!狂)(?:狗|犬|猫|宠物|动物)(?!咬|抓|致伤|伤|舔|唾液|源性)|"
        r"(?<!by )(?<!by a )(?<!by an )(?<!by the )\b(?:dogs?|cats?|pets?|pupp(?:y|ies)|"
        r"kittens?|animals?)\b(?![\s-]*(?:bites?|bitten|scratch(?:es|ed)?|licks?|saliva|"
        r"exposures?|injur(?:y|ies)))",
        re.IGNORECASE,
    ),
}


# Populations whose statements are their own (an adult's dose is said of "patients" at large).
SPECIAL_POPULATIONS: Final[frozenset[str]] = frozenset(
    {"child", "pregnancy", "lactation", "older", "animal"}
)


def _named(kinds: dict[str, re.Pattern[str]], text: str) -> set[str]:
    return {name for name, pattern in kinds.items() if pattern.search(text)}


def _only_others(kinds: dict[str, re.Pattern[str]], question: str, sentence: str) -> bool:
    asked = _named(kinds, question)
    stated = _named(kinds, sentence)
    return bool(asked and stated and not asked & stated)


def populations(text: str) -> set[str]:
    """The populations a text names (child, adult, pregnancy, older, animal)."""
    return _named(POPULATIONS, text)


def said_of(text: str) -> set[str]:
    """Whom a statement holds for: the populations it names, and older patients wherever it
    names adults (an older patient is an adult: "成人剂量每次75mg" is said of them too)."""
    stated = populations(text)
    return stated | {"older"} if "adult" in stated else stated


def other_population(question: str, sentence: str) -> bool:
    """The question names a population and the sentence holds only for others."""
    asked = populations(question)
    stated = said_of(sentence)
    return bool(asked and stated and not asked & stated)


# When in the course of a disease a statement holds. The acute-phase blood-pressure target of
# an intracerebral haemorrhage is not its long-term one ("长期血压控制目标值<130/80 mmHg" does
# not answer "脑出血急性期血压要降到什么范围"). Only phases named as phases count: "急性" alone
# is part of disease names (急性缺血性卒中).
PHASES: Final[dict[str, re.Pattern[str]]] = {
    "acute": re.compile(
        # Not what follows it ("急性期后改为口服抗凝药物": after the acute phase).
        r"(?:超)?急性期(?!后|过后|以后|之后)|急性阶段|发病后(?:\d+|数)\s*(?:小时|h)内|"
        r"(?<!after the )\b(?:hyper)?acute (?:phase|stage)|"
        # A stroke or bleed called acute ("acute spontaneous ICH", 急性脑出血) is in its acute
        # phase: a long-term target is no answer for it.
        r"\bacute(?=\s+(?:[\w-]+\s+){0,2}(?:ich|stroke|h(?:a)?emorrhage|infarct(?:ion)?|"
        r"ischa?emic)\b)|急性(?=(?:自发性)?(?:脑|卒中|缺血|出血))|"
        # …or named after it ("spontaneous ICH — acute BP target?").
        r"\b(?:ich|stroke|h(?:a)?emorrhage|infarct(?:ion)?)[\s—–\-:,]{1,4}acute\b",
        re.IGNORECASE,
    ),
    "long_term": re.compile(
        r"长期[^，。；,;]{0,4}?(?:控制|管理|目标|治疗)|慢性期|维持期|二级预防|\blong[\s-]term\b|"
        r"急性期(?:后|过后|以后|之后)|\bafter the acute (?:phase|stage)|\bpost-?acute\b|"
        r"\bchronic (?:phase|stage)|\bmaintenance (?:phase|therapy)|\bsecondary prevention",
        re.IGNORECASE,
    ),
    "recovery": re.compile(
        r"恢复期|康复期|\bconvalescen|\brecovery (?:phase|stage)", re.IGNORECASE
    ),
}


def phases(text: str) -> set[str]:
    """The phases of a disease's course a text names (acute, long-term, recovery)."""
    return _named(PHASES, text)


def other_phase(question: str, sentence: str) -> bool:
    """The question names a phase of the disease and the sentence names only others."""
    return _only_others(PHASES, question, sentence)


_NUMBER: Final[str] = r"(\d+(?:\.\d+)?)"
_KG: Final[str] = r"\s*(?:kg|公斤|千克)(?![a-zA-Z/])"
_LESS: Final[str] = "<≤＜≦"
_MORE: Final[str] = ">≥＞≧"

# The patient in a question.
_WEIGHT_ASKED: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}\s*(?:-\s*)?(?:kg|公斤|千克|kilograms?)(?![a-zA-Z/])", re.IGNORECASE
)
_YEARS_ASKED: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}\s*(?:周岁|岁)|{_NUMBER}[\s-]*years?[\s-]*old|aged\s+{_NUMBER}\s*(?:years?)?(?!\s*"
    r"(?:months?|weeks?))",
    re.IGNORECASE,
)
_MONTHS_ASKED: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}\s*(?:个)?月(?:龄|大|(?=的?(?:婴儿|婴幼儿|宝宝|宝贝|孩子|小孩|患儿|幼儿|儿童)))|"
    rf"{_NUMBER}[\s-]*months?[\s-]*old",
    re.IGNORECASE,
)

# A bound on the patient in a question: "15kg以下", "不到15公斤", "under 15 kg", "≥40kg",
# "5岁以下", "younger than 2 years". Strict words and signs leave the number out.
_BELOW_WORDS: Final[str] = (
    r"不到|不足|未满|低于|小于|少于|轻于|under|below|less than|lighter than|younger than"
)
_ABOVE_WORDS: Final[str] = r"超过|大于|高于|多于|重于|over|above|more than|heavier than|older than"
_AT_MOST_WORDS: Final[str] = r"不超过|不高于|不多于|至多|最多|at most|up to|no more than"
_AT_LEAST_WORDS: Final[str] = r"不少于|不低于|不小于|至少|at least|no less than"
_AFTER_WORDS: Final[str] = r"以下|以内|及以下|或以下|以上|及以上|或以上|or (?:less|under|more|over)"
_KG_ASKED: Final[str] = r"\s*(kg|公斤|千克|kilograms?)(?![a-zA-Z/])"
_AGE_UNIT_ASKED: Final[str] = r"\s*(?:个)?(周岁|岁|月龄|月|周龄|years?|months?|weeks?)"
_BOUND_BEFORE: Final[str] = (
    rf"({_AT_MOST_WORDS}|{_AT_LEAST_WORDS}|{_BELOW_WORDS}|{_ABOVE_WORDS}|[{_LESS}{_MORE}]=?)\s*"
)


def _bound_asked(unit: str) -> re.Pattern[str]:
    return re.compile(
        rf"{_BOUND_BEFORE}{_NUMBER}{unit}|{_NUMBER}{unit}\s*({_AFTER_WORDS})", re.IGNORECASE
    )


_WEIGHT_BOUND_ASKED: Final[re.Pattern[str]] = _bound_asked(_KG_ASKED)
_AGE_BOUND_ASKED: Final[re.Pattern[str]] = _bound_asked(_AGE_UNIT_ASKED)

# Rows in a sentence: "15kg＜体重≤23kg", "体重≤15kg", "＞40kg 者", "20kg≤体重<80kg".
_WEIGHT_BETWEEN: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}{_KG}\s*([{_LESS}]=?)\s*体重\s*([{_LESS}]=?)\s*{_NUMBER}{_KG}"
)
_WEIGHT_BOUND: Final[re.Pattern[str]] = re.compile(
    rf"(?:体重|weigh(?:t|ing))?\s*([{_LESS}{_MORE}]=?)\s*{_NUMBER}{_KG}", re.IGNORECASE
)
# Ages: "2 周～8 月龄", "9～11 月龄", "1 岁以下", "1 岁及以上", "5～12 岁", "aged 6-59 months".
_AGE_RANGE: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}\s*(?:个)?(周|月|岁)?\s*[~～\-–至到]\s*{_NUMBER}\s*(?:个)?(周龄|月龄|岁|weeks?|months?|years?)",
    re.IGNORECASE,
)
_AGE_BOUND: Final[re.Pattern[str]] = re.compile(
    rf"{_NUMBER}\s*(?:个)?(周龄|月龄|岁)\s*(以下|以内|以上|及以上|或以上)|"
    rf"([{_LESS}{_MORE}])\s*{_NUMBER}\s*(岁|月龄|周龄)|"
    rf"(under|over|older than|younger than)\s+{_NUMBER}\s*(weeks?|months?|years?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Interval:
    """A range of weights or ages; an open end leaves its number out ("15kg＜体重")."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def overlaps(self, other: Interval) -> bool:
        """Whether some value lies in both ranges."""
        if self.low > other.high or other.low > self.high:
            return False
        if self.low == other.high and (self.low_open or other.high_open):
            return False
        return not (other.low == self.high and (other.low_open or self.high_open))


@dataclass(frozen=True)
class Patient:
    """What a question says of its patient (None: not said): an exact weight or age, or a
    bound on it ("15kg以下的孩子", "children under 5 years")."""

    weight_kg: float | None = None
    age_months: float | None = None
    weight_range: Interval | None = None
    age_range: Interval | None = None

    @property
    def weight(self) -> Interval | None:
        if self.weight_kg is not None:
            return Interval(self.weight_kg, self.weight_kg)
        return self.weight_range

    @property
    def age(self) -> Interval | None:
        if self.age_months is not None:
            return Interval(self.age_months, self.age_months)
        return self.age_range

    @property
    def described(self) -> bool:
        return self.weight is not None or self.age is not None


def patient_of(question: str) -> Patient:
    """The weight and age a question gives for its patient, exactly or as a bound."""
    weight_bound = _asked_bound(_WEIGHT_BOUND_ASKED.search(question), months=False)
    age_bound = _asked_bound(_AGE_BOUND_ASKED.search(question), months=True)
    weight = None if weight_bound else _WEIGHT_ASKED.search(question)
    months = None if age_bound else _MONTHS_ASKED.search(question)
    years = None if age_bound else _YEARS_ASKED.search(question)
    age: float | None = None
    if months:
        age = float(next(g for g in months.groups() if g))
    elif years:
        age = 12 * float(next(g for g in years.groups() if g))
    return Patient(float(weight.group(1)) if weight else None, age, weight_bound, age_bound)


def _asked_bound(match: re.Match[str] | None, *, months: bool) -> Interval | None:
    """The range a bound in a question leaves the patient in ("不到15公斤": below 15 kg)."""
    if match is None:
        return None
    before, number, unit, number_first, unit_first, after = match.groups()
    word = (before or after).lower()
    value = float(number or number_first)
    if months:
        value *= _unit_months(unit or unit_first)
    if word in ("以下", "以内", "及以下", "或以下", "or less", "or under") or re.fullmatch(
        _AT_MOST_WORDS, word
    ):
        return Interval(high=value)
    if word in ("以上", "及以上", "或以上", "or more", "or over") or re.fullmatch(
        _AT_LEAST_WORDS, word
    ):
        return Interval(low=value)
    if word[0] in _LESS:
        return Interval(high=value, high_open=_strict(word))
    if word[0] in _MORE:
        return Interval(low=value, low_open=_strict(word))
    if re.fullmatch(_BELOW_WORDS, word):
        return Interval(high=value, high_open=True)
    return Interval(low=value, low_open=True)


def _unit_months(unit: str | None) -> float:
    unit = (unit or "").lower()
    if unit == "周岁":
        return 12.0  # full years of age, not weeks
    if unit.startswith(("周", "week")):
        return 12 / 52
    if unit.startswith(("月", "month")):
        return 1.0
    return 12.0


def weight_rows(sentence: str) -> list[Interval]:
    """The body-weight ranges a sentence states."""
    rows: list[Interval] = []
    taken: list[tuple[int, int]] = []
    for match in _WEIGHT_BETWEEN.finditer(sentence):
        low, low_sign, high_sign, high = match.groups()
        rows.append(Interval(float(low), float(high), _strict(low_sign), _strict(high_sign)))
        taken.append(match.span())
    for match in _WEIGHT_BOUND.finditer(sentence):
        if any(start <= match.start() < end for start, end in taken):
            continue
        sign, value = match.group(1), float(match.group(2))
        rows.append(
            Interval(high=value, high_open=_strict(sign))
            if sign[0] in _LESS
            else Interval(low=value, low_open=_strict(sign))
        )
    return rows


def _strict(sign: str) -> bool:
    """Whether a comparison leaves its number out: "<", "＞" do; "≤", "≥", "<=" do not."""
    return sign in ("<", "＜", ">", "＞")


def age_rows(sentence: str) -> list[Interval]:
    """The age ranges (in months) a sentence states."""
    rows: list[Interval] = []
    taken: list[tuple[int, int]] = []
    for match in _AGE_RANGE.finditer(sentence):
        low_unit = match.group(2) or match.group(4)
        rows.append(
            Interval(
                float(match.group(1)) * _unit_months(low_unit),
                float(match.group(3)) * _unit_months(match.group(4)),
            )
        )
        taken.append(match.span())
    for match in _AGE_BOUND.finditer(sentence):
        if any(start <= match.start() < end for start, end in taken):
            continue
        if match.group(1):
            value = float(match.group(1)) * _unit_months(match.group(2))
            below = match.group(3) in ("以下", "以内")
        elif match.group(4):
            value = float(match.group(5)) * _unit_months(match.group(6))
            below = match.group(4) in _LESS
        else:
            value = float(match.group(8)) * _unit_months(match.group(9))
            below = match.group(7).lower() in ("under", "younger than")
        rows.append(Interval(high=value) if below else Interval(low=value))
    return rows


def fits(patient: Patient, sentence: str, clauses: Sequence[str] = ()) -> bool | None:
    """Whether a one-row sentence holds the patient (None: no row to judge by).

    `clauses`: the earlier clauses of the statement it continues, nearest first; the first that
    states a range of a kind the sentence does not state gives it ("15kg＜体重≤23kg，每次45mg；"
    continues "1 岁及以上年龄儿童推荐剂量：…": a row for children of one year and older).
    """
    verdicts: list[bool] = []
    for asked, rows_of in (
        (patient.weight, weight_rows),
        (patient.age, age_rows),
    ):
        if asked is None:
            continue
        rows = rows_of(sentence)
        if not rows:
            rows = next((r for r in map(rows_of, clauses) if r), [])
        if len(rows) == 1:
            verdicts.append(rows[0].overlaps(asked))
        elif rows and (inner := _innermost(rows)) is not None:
            # A row under its band ("1岁以下儿童…：2周～8月龄，每次3.0mg/kg"): the row decides.
            verdicts.append(inner.overlaps(asked))
    if not verdicts:
        return None
    return all(verdicts)


def _innermost(rows: Sequence[Interval]) -> Interval | None:
    """The row every other row of the sentence contains, when they nest."""
    inner = min(rows, key=lambda r: r.high - r.low)
    if all(r.low <= inner.low and inner.high <= r.high for r in rows):
        return inner
    return None


def is_row(sentence: str) -> bool:
    """Whether a sentence states any weight or age range (a row of some dosing table)."""
    return bool(weight_rows(sentence) or age_rows(sentence))
