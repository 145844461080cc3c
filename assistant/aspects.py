"""What a question asks about its subject — its **aspect** — and whether a sentence states it
(issue #10 item 2; DESIGN.md §1 step 4).

An aspect is a kind of question (dose, duration, frequency, contraindication, a value …) with
the cue words that ask it and what a sentence must show to answer it: a dosing question needs a
number with a dose unit, a duration question a length in digits or words, a count asked with its
measure word ("几名") that count. Ages ("2 周～8 月龄") and dates ("2019年", "the 2007 Guideline")
are neither durations nor values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from assistant.language import CJK_CHARS, has_cjk, written_wording
from assistant.quantities import extract_quantities

DOSE_UNITS: Final[frozenset[str]] = frozenset(
    {"mg", "g", "ug", "mcg", "μg", "µg", "kg", "ml", "l", "iu", "u", "mmol", "mg/kg", "mme"}
)
# A concentration ("AFP≥400μg/L", "10 mg/mL") is a level, not a dose: a volume below the
# unit makes it one (mg/kg stays a dose).
_DOSE_UNIT_RE: Final[re.Pattern[str]] = re.compile(
    # Units of heparin or insulin are written U or u ("负荷量75u/kg").
    # A radiation dose is one too ("SBRT 一般推荐≥30~60Gy/3~10Fx").
    r"\d\s*(?:mg|g|μg|µg|ug|mcg|ml|mL|iu|IU|U|u|万?单位|毫克|克|微克|毫升|片|粒|支|袋|mme|MME|c?Gy|戈瑞)"
    r"(?![a-zA-Z])(?!\s*/\s*(?:[dmμµu]?[lL]|升|毫升)(?![a-zA-Z]))",
)
# A count in digits or words: "15 分钟", "三天", "两周", "半年", "three days", "a few weeks".
_EN_NUMBERS: Final[str] = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|twenty|thirty"
)
_COUNT: Final[str] = (
    rf"(?:\d|(?<![每第])[一二两三四五六七八九十半]+|"
    rf"\b(?:{_EN_NUMBERS}|several|a few|a couple of)\s)"
)
# A year or a calendar month ("2022年", "2022年10月份以来"): when, never how long. (A count's
# last digit meets the unit: it may follow one or two digits, never a year's three or 年.)
_NOT_A_DATE: Final[str] = r"(?<!年)(?<!年\d)(?<!\d{3})"
_TIME_UNIT_RE: Final[re.Pattern[str]] = re.compile(
    # "7d左右": a Chinese character after the unit letter is no part of a word.
    _NOT_A_DATE
    + _COUNT
    + r"\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:天|日|周|月(?!份)|年|小时|[hd](?![A-Za-z0-9])|"
    r"分钟|min|秒|days?|weeks?|months?|years?|hours?|minutes?|seconds?|secs?\b)",
    re.IGNORECASE,
)


# An age written with time units ("2 周～8 月龄", "9～11 月龄", "aged 6-59 months",
# "3 months old"): who a statement is about, never how long something lasts.
_AGE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:\d+\s*(?:个)?(?:周|月|天|日|年)?\s*[~～\-–至到]\s*)?\d+\s*(?:个)?(?:周|月|天|日|年)龄|"
    r"\baged?\s+\d+(?:\s*(?:[-–]|to)\s*\d+)?\s*(?:days?|weeks?|months?|years?)|"
    r"\d+(?:\s*(?:[-–]|to)\s*\d+)?[\s-]*(?:days?|weeks?|months?|years?)[\s-]*(?:old|of age)",
    re.IGNORECASE,
)


# A calendar year ("2019年", "in 2022"): when something was said, not how long it lasts.
_DATE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<!\d)(?:19|20)\d{2}\s*年|\b(?:in|since) (?:19|20)\d{2}\b|"
    # A bare year ("the 2007 Guideline", "Lancet 2011;377") unless a unit follows (2000 mL).
    r"(?<![\d.,/])(?:19|20)\d{2}(?![\d.,/%％]|\s*(?:mg|g|ml|l|iu|u|units?|mmol|kg|mcg|μg|µg|mme|"
    r"mmhg|cm|mm|m|毫|微|克|升|单位|例|人|名|次|个)\b)",
    re.IGNORECASE,
)
# An interval ("every 2 weeks", "每12小时", "每隔6个月"): how often, never how long.
_INTERVAL_RE: Final[re.Pattern[str]] = re.compile(
    rf"\b(?:every|each)\s+(?:\d+|{_EN_NUMBERS}|other)?\s*(?:(?:[-–]|to)\s*(?:\d+|{_EN_NUMBERS})\s*)?"
    r"(?:days?|weeks?|months?|years?|hours?|minutes?)\b|"
    r"每(?:隔)?\s*\d*\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:天|日|周|月|年|小时|分钟)|\bq\d+h\b|"
    # The gap between two doses or courses ("间隔12h后应用维持量", "间隔3-4d后"): no length.
    r"间隔\s*\d+(?:\.\d+)?\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:[hd](?![A-Za-z0-9])|小时|天|日|周)",
    re.IGNORECASE,
)
# A web address holds numbers that state nothing ("…/hicpac/2007IP/…").
_ADDRESS_RE: Final[re.Pattern[str]] = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# A reference to the literature: numbers alone in brackets ("( 197–199)", "(68,71–73)",
# "[456-457]", "[14]"), the way guidelines cite their sources. No value of anything.
_CITATION_RE: Final[re.Pattern[str]] = re.compile(
    r"[(\[（【]\s*\d{1,4}(?:\s*[,，、–\-~～]\s*\d{1,4})*\s*[)\]）】]"
)
# A name with a number in it ("DSM-5 criteria", "COVID-19", "IL-6"): a code, no quantity.
# An image's dimensions ("CE-3D-MPRAGE", "3D-T1", "4D CT") are no days.
_CODE_NAME_RE: Final[re.Pattern[str]] = re.compile(
    r"\b[A-Za-z]{2,}-\d{1,3}\b(?![.\d])|(?<![A-Za-z0-9.])[234]D(?![A-Za-z0-9])"
)
# Numbers that are no quantity of what was asked: ages, dates, web addresses, citations and
# names with a number.
_NOT_QUANTITIES: Final[tuple[re.Pattern[str], ...]] = (
    _AGE_RE,
    _DATE_RE,
    _ADDRESS_RE,
    _CITATION_RE,
    _CODE_NAME_RE,
)


@dataclass(frozen=True)
class Aspect:
    """One kind of question: its cue words in questions and what a sentence must show."""

    name: str
    question_cues: re.Pattern[str]
    sentence_cues: re.Pattern[str] | None = None
    needs_dose: bool = False
    needs_time: bool = False
    needs_cue: bool = False
    # The question must hold these words too (a renal *dose* question, not any renal one).
    requires: re.Pattern[str] | None = None
    # What states no such thing though it looks like it (an interval is no duration).
    ignores: re.Pattern[str] | None = None
    # What states a dose without a unit: a change to the usual one ("减半服用", "halve the
    # dose") or its withdrawal ("不应使用", "avoid").
    dose_or: re.Pattern[str] | None = None
    # An age is what this aspect asks ("from what age"): it is not struck out as no quantity.
    keeps_ages: bool = False
    # Its words and what it needs stand in one Chinese clause (between ，or ；).
    one_clause: bool = False
    # Its words name a property of the disease itself (潜伏期, "incubation period"): a sentence
    # stating it is about more than its guideline's topic, whatever else the question says.
    distinctive: bool = False
    # Its cue words are a name of the question (肾功能不全, "renal impairment"), taken out of
    # the question before aspects are looked for: they are looked for in the question as asked.
    named_cue: bool = False
    # What states it is the heading a passage stands under (a grade's criteria under
    # "七、临床分型 > （三）重型"), not the passage's words: a search for it keeps passages so
    # headed.
    headed: bool = False

    def stated_in(self, sentence: str) -> bool:
        """Whether a sentence states this aspect: every condition the aspect sets holds.

        An incubation period needs the words *and* a duration ("…能缩短狂犬病潜伏期" names the
        period without stating it); a dose needs a number with a dose unit.
        """
        # "2 周～8 月龄" is an age and "2019年" a date, neither a duration.
        not_quantities = [p for p in _NOT_QUANTITIES if not (self.keeps_ages and p is _AGE_RE)]
        for pattern in (*not_quantities, *((self.ignores,) if self.ignores else ())):
            sentence = pattern.sub(" ", sentence)
        if self.one_clause and self.needs_cue:
            # Its words and its number in one clause: "从潜伏期末到急性期都有传染性，排毒时间多为
            # 3～7天" names the period in one clause and states another time in the next.
            return any(self._holds(c) for c in _ZH_CLAUSE_RE.split(sentence))
        return self._holds(sentence)

    def _holds(self, sentence: str) -> bool:
        if self.needs_dose and not (
            _DOSE_UNIT_RE.search(sentence) or (self.dose_or and self.dose_or.search(sentence))
        ):
            return False
        if self.needs_time and not _TIME_UNIT_RE.search(sentence):
            return False
        cue = bool(self.sentence_cues and self.sentence_cues.search(sentence))
        if self.needs_cue and not cue:
            return False
        return self.needs_dose or self.needs_time or cue


# Chinese clause breaks; English commas set off asides ("The incubation period, which varies,
# is 1–3 months") and are left alone.
_ZH_CLAUSE_RE: Final[re.Pattern[str]] = re.compile(r"[，；]")


def _cues(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A stated value: a number with a unit, a percentage, or a comparison (≥5, <130/80). A digit
# inside a name ("HbA1c", "H1N1", "CD4") states nothing.
_NUMBER_CUES: Final[re.Pattern[str]] = re.compile(
    r"[≥≤<>＜＞≧≦]\s*\d|(?<![A-Za-z])\d\s*(?:%|％|[a-zA-Zμµ]+(?:/[a-zA-Zμµ·()（）]+)*|[个名张次项级倍岁天周月年小时分钟])|"
    r"\d\s*[~～\-–至到]\s*\d"
)


_RENAL: Final[str] = (
    r"肾功能|肾衰|肾损|肾病|肌酐清除率|透析|血透|腹透|尿毒症|\bCrCl\b|creatinine clearance|"
    r"\brenal\b|kidney|\be?GFR\b|dialysis|\bCKD\b|\bES[RK]D\b"
)

# "多少天" after a verb asks how long, not how much.
_NOT_A_TIME: Final[str] = r"(?!天|周|个?月|年|小时|分钟|日|次)"


# A disease's severity grades ("重型", "危重症", "severe"). 危重型 holds 重型: each is read whole.
# 重症监护 is intensive care, no grade.
SEVERITY_GRADES: Final[dict[str, re.Pattern[str]]] = {
    "critical": re.compile(r"危重型|危重症(?!监护)|极重度|\bcritical(?:ly ill)?\b", re.IGNORECASE),
    "severe": re.compile(r"(?<!危)重型|(?<!危)重症(?!监护)|(?<!极)重度|\bsevere\b", re.IGNORECASE),
    "moderate": re.compile(r"中型|中度|\bmoderate\b", re.IGNORECASE),
    "mild": re.compile(r"轻型|轻症|轻度|\bmild\b", re.IGNORECASE),
    "ordinary": re.compile(r"普通型"),
}


@functools.lru_cache(maxsize=4096)
def grades_in(text: str) -> frozenset[str]:
    """The severity grades a text names."""
    return frozenset(name for name, pattern in SEVERITY_GRADES.items() if pattern.search(text))


# A section path through treatment ("胡蜂蜇伤诊疗规范 > 七、治疗 > （二）中度"): its grade
# headings say what is done for each grade, not what makes it.
_TREATMENT_PATH: Final[re.Pattern[str]] = re.compile(
    r"(?:^|>\s*)[^>]{0,12}(?:治疗|处理|救治|处置|\btreatment\b|\bmanagement\b)[^>]{0,12}\s*>",
    re.IGNORECASE,
)


def treats_a_grade(section: str) -> bool:
    """Whether a section path goes through a treatment heading to a heading naming a grade."""
    match = _TREATMENT_PATH.search(section)
    return match is not None and bool(grades_in(section[match.end() :]))


# A grade asked of ("重症", "中度", "severe", "critically ill"), where the question is not about
# who is at risk of it (高危人群, "risk factors for severe disease" ask who, not what it is) nor
# what warns of progressing to it ("red flags for progression to severe": the early-warning
# signs, not the grade's definition).
_GRADE_ASKED: Final[re.Pattern[str]] = re.compile(
    r"^(?![\s\S]*(?:高危|危险因素|发展[为成]|进展[为成]|转[为成]|\brisk\b|\bhigh[- ]risk\b|"
    r"\bprogress\w*|\bdeteriorat\w*|\bbecom\w*))[\s\S]*"
    r"(?:危?重[型症](?!监护)|极?重度|中[型度]|轻[型症度]|\b(?:severe|moderate|mild)\b|"
    r"\bcritically ill\b|\bcritical (?:illness|disease|cases?|type|form)\b)",
    re.IGNORECASE,
)

# A grade as a sentence or heading names it: any of the scale's but 普通型.
_GRADE: Final[str] = "(?:{})".format(
    "|".join(SEVERITY_GRADES[g].pattern for g in ("critical", "severe", "moderate", "mild"))
)

# Order matters: the first aspect whose cues a question holds is its aspect.
ASPECTS: Final[tuple[Aspect, ...]] = (
    # Which formula of traditional Chinese medicine ("风热犯卫用什么方", "推荐什么中成药"):
    # the sentence gives one (基本方药：银翘散加减, 推荐处方：…, 推荐中成药：…), not the
    # pattern's signs.
    Aspect(
        "formula",
        _cues(
            # Not a regimen or a way ("推荐哪些方案", "用什么方法"): 方 alone is a formula.
            r"(?:用|开|选|吃|服|推荐)(?:什么|哪个|哪些|哪种|何)"
            r"(?:方剂|方药|方子|方(?![案法式面向])|汤药|汤|中药|中成药)|"
            r"(?:方剂|方药|中成药)(?:是什么|有哪些|用什么|推荐)|"
            r"\b(?:which|what) (?:herbal |chinese )?(?:formula|formulas|decoction|patent medicine)"
        ),
        _cues(
            r"方药|方剂|处方[：:]|推荐处方|中成药|(?:汤|散|丸|饮)(?:加减|加味|合)|"
            r"\b(?:formula|decoction)\b"
        ),
        needs_cue=True,
    ),
    Aspect(
        "incubation",
        _cues(r"潜伏期|incubation"),
        _cues(r"潜伏期|incubation"),
        needs_time=True,
        needs_cue=True,
        one_clause=True,
        distinctive=True,
        # A time counted from the onset is no incubation period ("在潜伏期即有传染性，发病后3天
        # 内传染性最强" says when it is contagious, not how long the period lasts).
        ignores=_cues(
            r"(?:发病|起病|症状出现|出现症状)(?:后|前|以后|以前)\s*\d+(?:\.\d+)?\s*"
            r"(?:[~～\-–至到]\s*\d+(?:\.\d+)?\s*)?(?:个)?(?:天|日|周|月|小时)|"
            r"\d+\s*(?:days?|hours?|weeks?)\s+(?:after|before|of)\s+(?:the\s+)?(?:symptom\s+)?onset"
        ),
    ),
    # Two drugs together ("能和苯二氮䓬类一起开吗", "which drugs must not be combined with"): the
    # sentence speaks of using them together, not of either drug alone.
    Aspect(
        "interaction",
        _cues(
            # Not a combined treatment ("联合治疗", "combined treatment"): one drug with another.
            r"(?:一起|同时)(?:用|使用|开|吃|服用|应用|给)|联用|合用|相互作用|"
            r"\b(?:combined?|use|used|given|take|taken|taking|prescribed?) (?:together )?with\b"
            r"(?! caution)|\btogether with\b|"
            r"\b(?:co-?administer\w*|concurrent\w*|concomitant\w*|interact\w*)\b"
        ),
        _cues(
            r"联用|合用|同时(?:使用|服用|应用|开具|处方)|联合(?:使用|应用)|一起(?:使用|服用)|相互作用|"
            r"\b(?:combin\w*|co-?administ\w*|together|concurrent\w*|concomitant\w*|"
            r"interact\w*|co-?prescri\w*)\b"
        ),
        needs_cue=True,
    ),
    Aspect(
        "contraindication",
        _cues(
            # Not "能不能用…" (may it be used?), which asks yes or no.
            r"禁忌|禁用|忌用|(?<!能)不能用|(?<!能)不能与|不宜|慎用|不建议|不推荐|contraindicat|"
            r"\bnot (?:advised|recommended|indicated)\b|"
            r"(?:should|must|may) not (?:be )?(?:use|give|take|combine|co-?administer)|"
            # Not a purpose ("taper to avoid withdrawal", "how to help avoid falls").
            r"(?:cannot|can't|must never) be (?:used|given|taken|combined)|"
            r"(?<!\bto )(?<!\bhelp )(?<!order to )avoid"
        ),
        _cues(
            r"禁忌|禁用|忌用|慎用|不宜|不推荐|不建议|避免|不应|不得|contraindicat|avoid|should not|"
            r"do not|not recommended|caution"
        ),
        needs_cue=True,
    ),
    Aspect(
        "adverse_effects",
        _cues(r"不良反应|副作用|副反应|adverse|side[- ]effect|toxicit"),
        _cues(r"不良反应|副作用|副反应|毒性|adverse|side[- ]effect|toxicit|harm|risk"),
        needs_cue=True,
    ),
    # A missed dose: what to do is stated in its own words, never by the usual dose.
    Aspect(
        "missed_dose",
        _cues(
            r"漏服|漏用|漏打|忘(?:记)?(?:了)?(?:服|吃|用|打)|错过.{0,4}(?:剂|次)|"
            r"missed (?:a |the |one )?dos|forg[eo]t(?:ten)? (?:to take|a dose)"
        ),
        _cues(r"漏服|漏用|漏打|遗漏|忘记|错过|missed|forgot|skipped"),
        needs_cue=True,
    ),
    # A dose in kidney failure: a sentence that names the kidney and states a dose; the usual
    # dose is no answer ("肾功能不全者要根据肾功能调整剂量" states none).
    Aspect(
        "renal_dose",
        _cues(_RENAL),
        _cues(_RENAL),
        needs_dose=True,
        needs_cue=True,
        requires=_cues(r"剂量|用量|减量|调整|多少|\bdos(?:e|es|age|ing)\b|adjust|how much|\bmg\b"),
        named_cue=True,
        dose_or=_cues(
            r"减半|半量|剂量减少\s*\d|减量至|减少至|不应使用|不宜使用|禁用|不推荐使用|"
            r"\bhalve|\bhalf (?:the )?(?:usual )?dose|reduce (?:the )?dose by|\d+\s*%\s*of the "
            r"(?:usual |normal )?dose|\bavoid\b|not (?:be )?(?:used|recommended)|contraindicated"
        ),
    ),
    # The most that may be given ("maximum daily dose", "最大剂量", "每天最多吃多少"): a
    # sentence stating a usual dose, or a dose in a combination product, does not say it.
    Aspect(
        "max_dose",
        _cues(
            r"(?:最大|最高|上限|极量)(?:日|单次|每日|每天)?(?:剂量|用量|量)|每[天日]最多|"
            rf"最多(?:能|可以)?(?:吃|用|服|给|打)多少{_NOT_A_TIME}|不能超过多少{_NOT_A_TIME}|"
            r"\b(?:maximum|max|highest|upper limit of the)\s+"
            r"(?:daily\s+|single\s+|recommended\s+)?(?:dose|dosage)|"
            r"\bmost (?:that )?(?:can|may|should) be (?:given|taken)\b"
        ),
        _cues(
            r"最大|最高|上限|极量|不(?:应|宜|得|能|可)?超过|不大于|以内|≤|＜|<|maximum|\bmax\b|"
            r"not (?:to )?exceed|no more than|up to|at most|ceiling|limit"
        ),
        needs_dose=True,
        needs_cue=True,
    ),
    Aspect(
        "dose",
        _cues(
            # Not a vial's kind (多剂量药瓶, 单剂量包装) nor 用 before a name (能用法维拉韦吗).
            # Not a descriptor of the patient's treatment (高剂量阿片类, 低剂量阿司匹林).
            r"(?<![高低大小])剂量(?!药?瓶|包装|容器|安瓿)|(?:多大|多少|什么|哪种)剂量|多大(?:的)?量|用量|"
            r"(?:起始|初始|首次|维持|负荷|单次)量|"
            r"用法(?=$|[\s，,。？?：:、（(和及与是为用呢吗])|"
            r"怎么用|怎么给|如何给|怎样给|[给用吃服]多少(?!天|周|个?月|年|小时|分钟|日|次)|首剂|单次|"
            r"怎么吃|如何服用|怎么服用|多少毫克|(?:几|多少)(?:片|粒|颗|袋|包|丸)|多少\s*mg|"
            r"\bdos(?:e|es|ed|age|ing)\b|how much(?!\s+(?:space|room|distance)\b)|"
            # Not a conversion factor to MME: that is a value ("the MME factor for fentanyl").
            r"\bmg\b|\bmme\b(?!\s+(?:conversion\s+)?(?:factors?|ratios?))"
        ),
        _cues(r"剂量|用量|\bdos(?:e|es|age|ing)\b|mg/kg|\bmme\b"),
        needs_dose=True,
        # How to dose without a number: "start at the lowest effective dosage"; as another
        # group's dose ("儿童患者…使用剂量应与成人的剂量相同", "the same dose as adults").
        dose_or=_cues(
            r"最低有效剂量|最小有效剂量|(?:从)?(?:小|低)剂量(?:开始|起始)|"
            r"剂量[^。；;，,]{0,4}(?:与|同)[^。；;，,]{1,8}?(?:的)?(?:剂量|用量)?(?:相同|一致|相等)|"
            r"\bsame (?:dose|dosage)s? as\b|"
            r"\b(?:lowest|smallest|minimum) effective (?:dose|dosage)s?\b|"
            r"\bstart(?:ing|ed)? (?:at|with) (?:a |the )?low(?:est)? (?:dose|dosage)"
        ),
    ),
    # Where it is given or applied ("免疫球蛋白打在哪里", "where is it injected"): a site or a
    # route answers; a sentence that only names the product does not.
    Aspect(
        "site",
        _cues(
            r"(?:打|注射|涂|敷|用|贴|扎|放|抹)(?:在)?哪(?:里|儿|个部位)|注射部位|给药部位|"
            r"哪个部位|什么部位|"
            r"\bwhere\b[^?？]{0,50}?\b(?:inject|injected|given|administered|applied|placed|"
            r"infiltrated|put)\b|\binjection site\b|\bsite of (?:injection|administration)\b"
        ),
        _cues(
            r"部位|伤口(?:周围|内|四周|局部)|浸润|肌内|肌肉注射|皮下|皮内|静脉|三角肌|臀|大腿|上臂|"
            r"局部|外用|涂抹|into (?:the )?\w+|around the|\bsite\b|deltoid|thigh|buttock|gluteal|"
            r"intramuscular|subcutaneous|intradermal|intravenous|infiltrat|topical|applied to"
        ),
        needs_cue=True,
    ),
    # From or until what age ("几个月以上可以打", "what age can children start"): an age in
    # its unit answers, a course's length does not.
    # Which ages a disease affects most ("多见于哪个年龄段", "Which age group is most
    # affected"): a sentence saying where it occurs most, with an age. Like an incubation
    # period, a property of the disease itself: the sentence answers under the disease's own
    # guideline without the question's other words.
    Aspect(
        "age_affected",
        _cues(
            r"(?:多见|好发|高发|多发|常见|易发|易感)于?(?:哪个|哪些|什么|哪一)(?:年龄|年龄段|年龄组)|"
            r"(?:好发|发病|高发|易感)年龄|哪个年龄段|"
            r"\b(?:which|what) age(?: groups?| range)?\b[^?？]{0,30}\b(?:affected|most|at risk|"
            r"common(?:ly)?|susceptible)\b|\bmost (?:commonly |often )?affect\w*\b[^?？]{0,30}\bage"
        ),
        _cues(
            r"(?:多发|好发|高发|多见|常见|最常发生|易发|易感|发病)(?:于|在)?[^。；;]{0,12}?\d+\s*"
            r"(?:周岁|岁|个?月)|\d+\s*(?:周岁|岁|个?月)[^。；;]{0,12}?(?:多见|常见|多发|好发|高发)|"
            r"\b(?:most (?:common(?:ly)?|often|frequent(?:ly)?)|predominantly|mainly|peaks?)\b"
            r"[^.;]{0,40}?\b(?:aged?|years|months)\b"
        ),
        needs_cue=True,
        keeps_ages=True,
        distinctive=True,
    ),
    Aspect(
        "age",
        _cues(
            # An age in months is marked as one ("几个月以上", "几个月大") or said of a child;
            # "术后多少个月能怀孕" asks a time since surgery.
            r"(?:几|多少)个?月(?:龄|大|以上|以下|以内)|"
            r"(?:宝宝|孩子|婴儿|婴幼儿|儿童|小孩|新生儿)\S{0,2}?(?:几|多少)个?月|"
            r"几岁|多少岁|多大(?:年龄|岁数)?(?:以上|以下)?(?:的\S{1,3})?(?:才|就)?(?:可以|能)|"
            r"年龄(?:限制|要求|范围|下限|上限)|\b(?:what|which) age\b|\bhow old\b|"
            r"\bminimum age\b|\bage (?:limit|range|threshold|cut-?off)\b"
        ),
        _cues(
            r"\d+\s*(?:[~～\-–至到]\s*\d+\s*)?(?:周岁|岁|个?月龄|周龄|个月(?:以上|以下|以内|及以上|龄|大))|"
            r"\baged?\s*(?:≥|>|<|≤|over|under)?\s*\d+|"
            r"\d+\s*(?:years?|months?|weeks?)\s*(?:of age|old|and older|or older|and above)"
        ),
        needs_cue=True,
        keeps_ages=True,
    ),
    Aspect(
        "frequency",
        _cues(
            # "多久要复诊评估一次": a few words may stand between (not a clause break).
            r"多久[^\s，,。；;？?]{0,8}一次|多长时间[^\s，,。；;？?]{0,8}一次|"
            r"(?:多少|几)个?(?:天|周|月|年|小时)[^\s，,。；;？?]{0,8}一次|"
            # Not a rate measured on the patient ("呼吸频率多少算气促", "respiratory frequency"):
            # a value.
            # Which days a course's doses fall on ("狂犬疫苗…具体哪几天打"): a schedule. How many
            # doses ("打几针") is a count, a value.
            r"哪几天|哪几日|哪些天|"
            # Not the 间隔 of "单间隔离" (a single room, isolated).
            r"间隔(?!离)|(?<!呼吸)(?<!心跳)频率|每隔|接种程序|免疫程序|how often|how frequently|"
            r"interval|(?<!respiratory )frequency|how many times|schedule"
        ),
        _cues(
            # Not a bare "frequency": "HAI frequency up to 3 times higher" is a rate of
            # occurrence, not how often to act.
            r"每\S{0,3}(?:天|日|周|月|年|小时|次)|"
            r"每隔?\s*\d+(?:\.\d+)?\s*(?:[~～\-–至到]\s*\d+\s*)?个?(?:天|日|周|月|年|小时|次)|"
            r"间隔(?!离)|频率|第\s*\d|(?:接种|免疫)程序|every|interval|"
            r"daily|weekly|annual|yearly|monthly|at least once|q\d+h|schedule|\bdays? \d|"
            r"\beach (?:day|week|month|year|shift|use)\b|"
            r"\b(?:once|twice|\d+ times) (?:a|per|each) (?:day|week|month|year)"
        ),
        needs_cue=True,
    ),
    # How soon something must start ("发病后多久内用药", "how soon after exposure"): a window
    # from an event, or a word for at once. A treatment's length ("疗程5天") does not say it.
    Aspect(
        "timing",
        _cues(
            # "How soon … should it be given / started": a window. "How soon after TACE should
            # patients have follow-up imaging" asks a time after the event (a duration).
            r"\bhow (?:soon|early|late)\b[^?？]{0,60}?\b(?:give|given|start|started|begin|"
            r"initiate|initiated|administer|administered|treat|treated|use|used|take|taken|see|"
            r"seen|reassess\w*|re-?evaluat\w*|evaluat\w*|review\w*|follow(?:ed)? up)\b|"
            r"最晚|最迟|多久内|多长时间内|几(?:个)?(?:小时|天|日)内|时机|\btiming\b|"
            r"(?:发病|暴露|起病|症状出现|出现症状|接触|咬伤|受伤)后(?:多久|多长时间|几)|"
            r"时间窗|(?:treatment|therapeutic|time) window|\bwithin how\b|"
            # When to vaccinate ("流感疫苗什么时候接种"): its time of year, or how soon.
            r"(?:什么时候|何时|哪个季节|什么季节|几月份?)(?:去|应该|应|要|需要|可以|最好)?(?:接种|打疫苗|打针?(?=\s*[？?吗呢。]|$))|"
            r"\bwhen (?:should|to|do|does|can|is)\b[^?？]{0,40}\b(?:vaccinat\w*|immuni[sz]\w*)\b|"
            # When a stopped treatment starts again ("When can I restart warfarin after…",
            # "何时可以重新开始抗凝"): the time after the event.
            r"\bwhen (?:should|to|do|does|can|could|may|is|are)\b[^?？]{0,40}\b"
            r"(?:re-?start\w*|resum\w*|re-?initiat\w*|reintroduc\w*)|"
            r"(?:什么时候|何时|多久后?)(?:可以|能|应|应该|再)?(?:重新|恢复)(?:开始|使用|服用|启动|用药)|"
            # When the first follow-up falls ("when should the first f/u be", "首次随访什么时候"):
            # a time after starting.
            r"\bwhen (?:should|to|do|does|is|are|will)\b[^?？]{0,40}(?:\bfollow[- ]?ups?\b|\bf/u\b|"
            r"\bfirst (?:visit|review|evaluation|assessment|reassessment)\b)|"
            r"(?:首次|第一次)(?:随访|复诊|评估)(?:在|是|应在|安排在)?(?:什么时候|何时|多久)"
        ),
        _cues(
            r"\d+\s*(?:个)?(?:小时|h|天|日|周|分钟|min)\s*(?:内|以内|之内)|\bwithin\s+(?:\d|"
            rf"{_EN_NUMBERS}|the first)|尽早|尽快|立即|及早|越早越好|as soon as possible|"
            r"immediately|as early as|时间窗|\bwindow\b|(?:发病|暴露|起病|症状出现|接触)后\s*\d+|"
            r"\b\d+\s*(?:hours?|days?)\s+(?:of|after|from)\b|"
            # A time after the event ("4周后", "after 7 days", "2 weeks later").
            r"\d+\s*(?:个)?(?:小时|天|日|周|月)\s*(?:后|以后|之后)|"
            r"后\s*\d+(?:\s*[~～\-–至到]\s*\d+)?\s*(?:个)?(?:小时|天|日|周|月)|"
            r"\bafter\s+(?:at least\s+)?\d+\s*(?:hours?|days?|weeks?|months?)\b|"
            r"\b\d+\s*(?:hours?|days?|weeks?|months?)\s+later\b"
        ),
        needs_cue=True,
    ),
    Aspect(
        "duration",
        _cues(
            r"疗程|多久|多长时间|几个?(?:天|周|月|年|小时|分钟|秒)|多少(?:天|周|个月|年|小时|分钟|秒)|持续|"
            r"到什么时候|什么时候(?:可以|能|才能)?(?:解除|停|结束|出院)|"
            r"duration|how long|how soon|how quickly|for how many|"
            r"how many (?:days|weeks|months|years|hours|minutes|seconds|hrs|mins|wks|yrs)\b"
        ),
        _cues(
            _NOT_A_DATE
            + _COUNT
            + r"\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:天|日|周|月(?!份)|年|小时|[hd]\b|days?|"
            r"weeks?|months?|hours?|minutes?|seconds?|分钟|秒)|疗程|持续|duration|短期|"
            r"short[- ]term"
        ),
        needs_time=True,
        ignores=_INTERVAL_RE,
    ),
    # Who or what a treatment is for ("适用于哪些患者", "who should get the vaccine"): the
    # sentence says so in words (适用于, 可用于, 建议…接种, indicated, recommended for); a trial's
    # result or an adverse effect of the drug does not.
    Aspect(
        "indication",
        _cues(
            r"适用于(?:哪|什么|何)|适应证|适应症|适合(?:哪|什么|做|用|使用|接受|采用)|"
            r"(?:哪些|哪类|什么样?的?)(?:患者|病人|人群|人|情况|病例)\S{0,4}(?:适合|适用|可以用|需要用|应该?用|要用)|"
            # "什么时候要用激素": when in the illness, i.e. for whom — a condition, not a clock.
            r"(?:什么时候|何时)(?:要|需要|应该|应|可以|才)?(?:用|使用|上|给|加用|开始用)|"
            # "什么情况下需要住院": in which condition a step is taken, i.e. its criteria.
            r"(?:什么|哪些|哪种|何种)(?:样的)?(?:情况|条件)(?:下)?(?:才)?(?:需要|要|应该|应当|应|必须|可以)|"
            r"(?:符合|满足|达到|具备|有)(?:什么|哪些|何种)(?:样的)?(?:条件|标准|情况)(?:的)?(?:才|时|者)?"
            r"(?:需要|要|应该|应当|应|必须|可以|可|能)|"
            r"\bin (?:what|which) (?:situations?|circumstances|cases)\b|"
            # The criteria for a step ("流感住院标准", "转诊指征"); the step itself stays a word of
            # the question, what the criteria are of.
            r"(?:(?<=住院)|(?<=入院)|(?<=出院)|(?<=转院)|(?<=转诊)|(?<=隔离)|(?<=手术)|(?<=转ICU))"
            r"(?:的)?(?:标准|指征|条件)|"
            r"\bindicat(?:ed|ion|ions)\b|\beligib|\bcandidates? for\b|\bsuitable for\b|"
            r"\bwho (?:should|needs? to|can|must) (?:get|receive|be given|be offered|have|take|"
            r"be treated|be vaccinated)\b|\bwhich patients (?:should|can|are|need)\b"
        ),
        _cues(
            # Not a grade of recommendation ("推荐A", "推荐等级").
            # Not what is advised against ("不建议带病工作", "不推荐").
            r"(?<![不非])适用|适应证|适应症|用于|(?<!不)推荐(?![A-DＡ-Ｄ]|等级|强度|级别|意见)|"
            r"(?<!不)建议|首选|标准|指征|"
            # A condition and what it calls for: "并有以下表现时，需及早气管插管".
            r"(?:以下|下列)(?:表现|情况|条件|任何|任一|之一)|时[，,]?\s*(?:需|应|必须)(?!慎|禁|避免)|"
            r"(?:需|应)(?:及早|尽早|尽快|立即)|"
            r"应(?:当)?(?:接种|使用|给予|接受|进行|采用|选择)|可(?:以)?(?:使用|接种|选择|考虑|采用)|"
            r"indicated|recommend|should (?:be )?(?:receive|received|offered|given|get|treated|"
            r"considered|vaccinated)|eligible|candidates?|suitable|consider"
        ),
        needs_cue=True,
    ),
    # Asked what share or rate ("脑出血多少是高血压导致的", "占多少", "病死率是多少", "what
    # percentage"): the sentence states one (85%, 1/3, 半数), not any number (a target <130/80).
    Aspect(
        "proportion",
        _cues(
            r"占(?:多少|几成|百分之几)|占[^，。？?]{0,8}(?:比例|比重|百分比)|(?:比例|比率)(?:是|为|有)?多少|"
            r"(?:多大|什么|多少)(?:的)?(?:比例|比率|百分比)|百分之几|"
            r"多少(?:是|为|由|系)[^，。？?]{0,12}(?:导致|引起|所致|造成)|"
            r"(?:发生|发病|患病|病死|死亡|检出|阳性|感染|治愈|有效|复发)率(?:是|为|有)?(?:多少|多高)|"
            r"\bwhat (?:percentage|proportion|fraction|share|percent)\b|\bhow many percent\b|"
            r"\b(?:incidence|prevalence|mortality|fatality|case[- ]fatality) (?:rate )?(?:is|of)\b"
        ),
        _cues(
            r"\d\s*(?:%|％)|(?<![\d.])\d{1,2}\s*/\s*\d{1,2}(?![\d.])|百分之|半数|一半|[二三四五六七八九十]分之|"
            r"\b(?:one|two|three) in (?:every )?(?:two|three|four|five|ten|\d+)\b|\bhalf of\b|"
            r"\bpercent\b"
        ),
        needs_cue=True,
    ),
    # How one drug's amount converts to another's ("MME conversion factor", "换算系数"): the
    # sentence states a conversion, not any number said of the drug ("for up to 3 days").
    Aspect(
        "conversion",
        _cues(
            r"conversion (?:factor|ratio)|\bmme (?:factor|ratio)|换算系数|折算系数|换算比|"
            r"\bequianalgesic\b"
        ),
        _cues(r"conversion|\bconvert\w*|换算|折算|\bequianalgesic\b"),
        needs_cue=True,
    ),
    # Asked for a value (a threshold, target, range, count): the sentence states a number.
    Aspect(
        "value",
        _cues(
            # "哪几条", "哪几个": which ones, a list; "几条", "几个": how many.
            r"多少|(?<!哪)几[个名张次项级针剂条]|几分(?!钟)|范围|区间|目标|阈值|界值|标准值|控制在|降到|降至|升到|超过多少|"
            r"(?:什么|哪[一个种]?)(?:处理)?(?:水平|级别|等级)|哪[一个]?级|"
            r"how many|what (?:level|value|range|threshold|target|grade|class)|"
            # The measure named between ("what serum AFP level", "what systolic BP range"): only
            # "what" is the cue, the measure's name stays the question's.
            r"\bwhat(?=\s+(?:[\w\-]+\s+){0,3}(?:level|value|range|threshold|target|cut-?off|"
            r"distance|spacing|ratio)s?\b)|"
            # A target left open at the end ("…should acute ICH be lowered to?", "to what").
            r"\b(?:lower(?:ed)?|reduc(?:e|ed)|brought(?: down)?|kept|maintain(?:ed)?|"
            r"titrat(?:e|ed)|controlled)\s+(?:to|below|under)\s*[?？]|\b(?:to|below|under) what\b|"
            r"which (?:level|grade)|threshold|target|\bgoals?\b|cut-?off|how (?:far|close|near)\b|"
            r"how (?:high|low)\b|多远|多近|多宽|"
            # How many of a thing there must be ("洗手池数量有啥要求"): a number.
            r"数量|数目|配比|配置比例|\bratio\b|"
            r"多高|多低|多粗|多大(?!年龄|岁|的?(?:孩子|儿童|婴儿|宝宝|小孩|患儿))|"
            r"\bhow (?:big|large)\b|\bsize\b|"
            r"\bwhat (?:temperature|concentration|dilution|percentage|pressure)\b|什么温度|多少度|"
            r"\bhow much (?:space|room|distance)\b|"
            r"\bat what (?:\w+ )?(?:pressure|level|value|count|concentration|score|saturation|"
            r"temperature|rate|percentage)\b"
        ),
        _NUMBER_CUES,
        needs_cue=True,
    ),
    # How to stop or reduce a treatment ("停药要注意什么", "how should it be stopped"), when
    # nothing more specific is asked: the sentence speaks of stopping or tapering it.
    Aspect(
        "discontinuation",
        _cues(
            r"停药|停用|撤药|减药|减量|减停|怎么停|如何停|逐渐减|\btaper(?:ed|ing)?\b|"
            r"\b(?:stop|stopped|stopping|discontinu\w*|withdraw(?:n|ing)?|wean(?:ed|ing)?)\b|"
            # "how should I step down", "come off it": the dose brought down.
            r"\bstep(?:ping|ped)?[- ](?:down|off)\b|\b(?:come|coming|get|getting) off\b"
        ),
        _cues(
            r"停药|停用|撤药|减药|减量|减停|逐渐减|缓慢减|\btaper\w*|\bdiscontinu\w*|\bstop\w*|"
            r"\bwithdraw\w*|\bwean\w*|\breduc\w*"
        ),
        needs_cue=True,
    ),
    # How it is treated or managed ("怎么治疗", "伤口怎么处理", "What is the treatment for …"),
    # when nothing more specific is asked: the sentence says what to do — treat, give, use,
    # operate, irrigate — or stands under a heading that does ("七、治疗"). A sentence on the
    # disease's history or its funding answers no treatment question.
    Aspect(
        "treatment",
        _cues(
            r"(?:怎么|怎样|如何)(?:治|处理|处置|救治|抢救|办)|治疗(?:方法|方案|原则|措施)|"
            r"(?:治疗|处理|处置)(?:是什么|有哪些)|"
            r"\bwhat\s+(?:is|are)\s+the\s+(?:\w+\s+){0,2}?(?:treatments?|management|therapy|therapies)\b|"
            r"\bhow\s+(?:to|do|does|should|is|are|can|would)\s+(?:\w+\s+){0,5}?"
            r"(?:treat|treated|manage|managed|handle|handled)\b"
        ),
        _cues(
            # Not 处理 or 处置 alone: "因处理石头鱼时不慎被刺伤" handles a fish, and "未及时规范处置
            # 伤口，可能…" says what follows neglect.
            r"治疗|疗法|救治|抢救|给予|予以|可予|应用|使用|选用|首选|推荐|建议|可用|"
            r"口服|静脉|注射|输注|滴注|吸入|雾化|手术|切除|移植|消融|冲洗|清创|消毒|引流|包扎|"
            r"缝合|镇静|镇痛|吸氧|通气|插管|隔离|剂量|用法|服用|外用|涂抹|浸泡|"
            r"\btreat\w*|\btherap\w*|\bmanag\w*|\badminist\w*|\bgiv(?:e|en|ing)\b|"
            r"\bus(?:e|ed|ing)\b|\brecommend\w*|\bprescrib\w*|\bsurg\w*|\bresect\w*|"
            r"\birrigat\w*|\bdebrid\w*|\bdrain\w*|\bdos(?:e|es|ing)\b|\d\s*mg\b"
        ),
        needs_cue=True,
    ),
    # What makes a case severe or critical ("哪些情况提示重症", "重型的诊断标准", "signs that
    # a child with flu has severe disease"), when nothing more specific is asked: the sentence
    # names the grade, or stands under the heading that does ("（三）重型" over "（1）超高热或持续
    # 高热超过3天；"). The cue is the asking word alone; the grade is required beside it.
    Aspect(
        "severity",
        _cues(
            r"提示|意味着?|预示|算(?:是)?|属于|归为|判定为|判断为|诊断为|"
            r"(?:诊断|判断|判定|识别)?(?:标准|定义|界定)|"
            r"(?:怎么|如何|怎样)(?:判断|界定|识别|定义|区分)|(?:什么|哪些)(?:表现|症状|体征|征象)|"
            r"\bsigns?\b|\bcriteria\b|\bcriterion\b|\bdefin(?:e|es|ed|ition)\b|"
            r"\bcounts? as\b|\bclass(?:ed|ified) as\b|\bconsidered\b|\bred[- ]flags?\b|"
            r"\bindicat(?:e|es|ing)\b|\bsuggest(?:s|ing)?\b|\bmeans?\b|\bwhat makes\b"
        ),
        _cues(
            rf"(?:即为|即可诊断为|诊断为|判定为|定义为|属于|提示|预示|考虑为|符合)[^。；，,;]{{0,10}}?{_GRADE}|"
            rf"{_GRADE}(?:病例|患者|患儿|者|肺炎)?(?:[:：]|一般|常|多|可有|可出现|表现|的表现|"
            r"的?(?:诊断)?标准|的?定义|是指|指)|"
            # A heading naming the grade: "（三）重型", "（一）重症病例的早期识别",
            # "八、重型/危重型早期预警指标".
            rf"^[\W\d一二三四五六七八九十]*{_GRADE}(?:[/、和及与]{_GRADE})*(?:病例|患者|患儿)?(?:的)?"
            r"(?:早期)?(?:识别|预警指标|预警)?\W*$|"
            r"\b(?:defined as|classified as|considered|criteria for|signs of|indicat\w+|"
            rf"suggest\w*)\b[^.;]{{0,30}}?{_GRADE}|"
            rf"{_GRADE}[^.;]{{0,30}}?\b(?:is defined|defined as|includes?|criteria|is diagnosed)\b"
        ),
        needs_cue=True,
        requires=_GRADE_ASKED,
        distinctive=True,
        headed=True,
    ),
)


# A count asked with its measure word ("几名", "多少张床", "几针"): the answer counts the same
# things. A Chinese sentence must state a number with that word; an English one any number.
_COUNT_ASKED: Final[re.Pattern[str]] = re.compile(r"(?:几|多少)([名个张次项级人针剂])")
_ANY_NUMBER: Final[str] = rf"\d|\b(?:{_EN_NUMBERS}|single|once|twice)\b"


# A level asked by its name ("what level of disinfection", "什么处理水平", "哪一级防护"): the
# answer may name the level instead of giving a number ("low- or intermediate-level
# disinfection", "高水平消毒", "二级防护").
_LEVEL_ASKED: Final[re.Pattern[str]] = re.compile(
    r"what (?:level|grade|class) of|which (?:level|grade|class)|"
    r"(?:什么|哪[一个种]?)(?:处理)?(?:水平|级别|等级)|哪[一个]?级",
    re.IGNORECASE,
)
_LEVEL_NAMED: Final[str] = (
    r"\b(?:low|intermediate|high|moderate|basic|standard|enhanced|maximal|full)[- ]level\b|"
    r"\blevel [1-4IV]+\b|[高中低]水平|[一二三四1-4Ⅰ-Ⅳ]级(?!预防|医院|医疗|推荐|证据)"
)


_STATED_DOSE_RE: Final[re.Pattern[str]] = re.compile(
    r"\d+(?:\.\d+)?\s*(?:mg|mme)\b(?:\s*(?:/\s*d(?:ay)?|a day|per day|daily|/日|每[天日]))?|"
    # The dose the patient is on, said without a number ("a patient on long-term high dose",
    # "长期用大剂量的病人能突然停吗"): the premise, not what is asked.
    r"\bon (?:a |the )?(?:long[\s-]term |chronic )?(?:high|higher|low|lower|stable|current)"
    r"[\s-](?:dose|doses|dosage)s?\b|(?:用|服|在用|使用)着?(?:大|高|小|低)剂量(?!多少|是多少)",
    re.IGNORECASE,
)
_A_DOSE: Final[str] = r"\d+(?:\.\d+)?\s*(?:mg|g|μg|µg|mcg|ml|毫克|克)(?![a-z/])"
_DOSES_TO_CHOOSE_RE: Final[re.Pattern[str]] = re.compile(
    rf"{_A_DOSE}\s*(?:or|还是|或者?|vs\.?|versus)\s*(?:the\s+|a\s+|an\s+)?{_A_DOSE}",
    re.IGNORECASE,
)
_DOSE_EVENT_RE: Final[re.Pattern[str]] = re.compile(
    # A change of dose in a clause of time ("after starting opioids or escalating the dose, how
    # soon…"): the event the question is timed from, not what it asks.
    r"\b(?:after|when|before|while|since|once)\b[^,?;，？；]{0,40}?\b(?:starting|escalating|"
    r"increasing|raising|reducing|lowering|changing|adjusting|tapering) (?:the |a |their |"
    r"his |her )?(?:\w+ )?dos(?:e|es|age|ages)\b",
    re.IGNORECASE,
)


_TIME_ASKED_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:多少|几)(?:个)?(?:小时|天|日|周|月)|多久|多长时间|"
    r"\bhow (?:long|soon)\b|\bhow many (?:hours|days|weeks|minutes)\b",
    re.IGNORECASE,
)
_DOSE_AS_EVENT_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:首|末)(?:剂|次)(?:剂量|给药|服药|用药)?|"
    r"\b(?:the |a |their |his |her )?(?:first|last|next|initial|final|previous) (?:\w+ )?"
    r"dos(?:e|es|age)\b",
    re.IGNORECASE,
)
_YES_NO_RE: Final[re.Pattern[str]] = re.compile(
    r"\s*(?:can|could|should|shall|may|must|is|are|do|does|will|would)\b", re.IGNORECASE
)
_A_DOSE_DONE_RE: Final[re.Pattern[str]] = re.compile(
    r"\b(?:a|an|another|second|third|next|each|every|single|one)\s+dos(?:e|es)\b", re.IGNORECASE
)


_DOSE: Final[Aspect] = next(a for a in ASPECTS if a.name == "dose")


def detect_aspect(question: str, *, whole: str | None = None) -> Aspect | None:
    """The first aspect whose cue words (and required words) the question holds.

    `whole`: the question as asked, when `question` is it with its names taken out (a measured
    quantity such as blood pressure is a name of the question and still says the unit).
    """
    question = written_wording(question)  # 啥时候 → 什么时候
    if _DOSES_TO_CHOOSE_RE.search(question):
        # "Should I prescribe the 4 mg or the 8 mg spray?", "用75mg还是150mg": a choice
        # between two doses asks which dose.
        return _DOSE
    # A dose the question states ("at 50 MME a day", "已用到 75mg") is its premise, not what
    # it asks: it cues no dose question.
    asked = _STATED_DOSE_RE.sub(" ", question)
    cued = _DOSE_EVENT_RE.sub(" ", asked)
    if _TIME_ASKED_RE.search(cued):
        # "末次服药后至少等多少小时再给首剂", "how long after the last dose should the first
        # dose be given": a dose named as an event the time is counted from or to.
        cued = _DOSE_AS_EVENT_RE.sub(" ", cued)
    if _YES_NO_RE.match(cued):
        # "Can I use the same syringe to draw a second dose from a vial?": a dose counted as a
        # thing done, in a question answered yes or no, asks no amount.
        cued = _A_DOSE_DONE_RE.sub(" ", cued)
    for aspect in ASPECTS:
        cues_in = whole if aspect.named_cue and whole else cued
        if aspect.question_cues.search(cues_in) and (
            aspect.requires is None or aspect.requires.search(asked)
        ):
            paced = _a_season(_at_a_rate(_a_course(aspect, question), question), question)
            counted = _counting(paced, question)
            measured = _a_level(_measured(counted, whole or question), question)
            return _in_the_unit_asked(_naming_level(measured, question), question)
    return None


def amount_of_a_drug(aspect: Aspect | None, question: str, drugs: Sequence[str]) -> Aspect | None:
    """How much of a drug the question asks ("…方案奥沙利铂多少", "肝素用多少") is its dose, not
    any value: a number after the drug's name (an infusion's hours) does not answer it. A time
    or a count after 多少 (多少天, 多少次) is no amount."""
    if aspect is None or aspect.name != "value" or not drugs:
        return aspect
    names = "|".join(re.escape(d) for d in sorted(drugs, key=len, reverse=True))
    amount = re.compile(
        rf"(?:{names})\s*(?:的)?\s*(?:一次|每次|每日|每天|首次)?\s*(?:用|给|是|为|要)?\s*"
        rf"多少(?!{_NOT_AN_AMOUNT})",
        re.IGNORECASE,
    )
    return _DOSE if amount.search(question) else aspect


_NOT_AN_AMOUNT: Final[str] = r"\s*(?:天|日|周|个?月|年|小时|分钟|次|岁|人|例|%|％)"


def _naming_level(aspect: Aspect, question: str) -> Aspect:
    """A value question asking which level applies is answered by a level's name too."""
    if aspect.name != "value" or aspect.sentence_cues is None or not _LEVEL_ASKED.search(question):
        return aspect
    cue = re.compile(f"{aspect.sentence_cues.pattern}|{_LEVEL_NAMED}", re.IGNORECASE)
    return replace(aspect, sentence_cues=cue)


def _a_season(aspect: Aspect, question: str) -> Aspect:
    """Asked when to vaccinate, a time of year answers as a window does ("每年流行季前接种",
    "before the influenza season"), never who should be vaccinated."""
    if aspect.name != "timing" or aspect.sentence_cues is None or not _VACCINATION.search(question):
        return aspect
    cue = re.compile(f"{aspect.sentence_cues.pattern}|{_SEASON.pattern}", re.IGNORECASE)
    return replace(aspect, sentence_cues=cue)


_VACCINATION: Final[re.Pattern[str]] = _cues(r"接种|疫苗|\bvaccin\w*|\bimmuni[sz]\w*")
_SEASON: Final[re.Pattern[str]] = _cues(
    r"季节|流行季|秋冬|秋季|冬季|春季|(?:\d{1,2}|[一二三四五六七八九十]{1,2})月(?:份|底|初|前)?|"
    r"\b(?:season|autumn|fall|winter|spring|annually|each year|every year|january|february|"
    r"march|april|may|june|july|august|september|october|november|december)\b"
)


def _at_a_rate(aspect: Aspect, question: str) -> Aspect:
    """Asked how fast to taper or stop ("How fast should … be tapered?", "减量速度"), the
    sentence gives a pace: a share or an amount per interval ("10% per month", "每周减少10%"),
    not that tapering matters."""
    if aspect.name != "discontinuation" or not _RATE_ASKED.search(question):
        return aspect
    return replace(aspect, sentence_cues=_RATE_STATED, needs_cue=True)


_RATE_ASKED: Final[re.Pattern[str]] = _cues(
    r"速度|多快|快慢|每(?:次|周|月|天|日)减|"
    r"\bhow (?:fast|quickly|rapidly|slowly)\b|\brate\b|\bpace\b"
)
# A pace: a share taken off per interval, or a reduction by a share ("tapers of 10% per
# month", "reducing the daily dosage to 50% for 2 days", "每周减少10%"). Not any percentage
# ("long-term use … ranged from <1% to 13%" says how many, not how fast).
_RATE_STATED: Final[re.Pattern[str]] = _cues(
    r"\d+(?:\.\d+)?\s*(?:%|％)[^.;。；]{0,30}?(?:\b(?:per|every|each|a)\s+(?:\d+\s+)?"
    r"(?:days?|weeks?|months?)\b|每)|"
    r"(?:\breduc\w*|\bdecreas\w*|\blower\w*|\btaper\w*|减少|减量|减低|降低|下调|递减)"
    r"[^.;。；]{0,40}?\d+(?:\.\d+)?\s*(?:%|％)|"
    r"\d+(?:\.\d+)?\s*(?:%|％)\s*(?:reduction|decrease|decrement)|"
    r"\bper (?:day|week|month)\b|每\s*\d*\s*(?:个)?(?:天|日|周|月)|"
    r"\bevery \d+ (?:days?|weeks?|months?)\b"
)


def _counting(aspect: Aspect, question: str) -> Aspect:
    """A value question that counts things ("几名…人员") needs that count, not any number
    ("床间距>1米" does not say how many staff). Asked how many in English, a count in words
    with its bound answers too ("at least one individual trained in infection prevention")."""
    asked = _COUNT_ASKED.search(question)
    if aspect.name != "value":
        return aspect
    if asked is None:
        if aspect.sentence_cues is None or not _HOW_MANY.search(question):
            return aspect
        cue = re.compile(f"{aspect.sentence_cues.pattern}|{_BOUNDED_COUNT}", re.IGNORECASE)
        return replace(aspect, sentence_cues=cue)
    word = re.escape(asked.group(1))
    count = rf"{_COUNT}\s*(?:[~～\-–至到]\s*\d+\s*)?{word}|^[^{CJK_CHARS}]*(?:{_ANY_NUMBER})"
    rest = f"{question[: asked.start()]} {question[asked.end() :]}"
    if aspect.sentence_cues is not None and aspect.question_cues.search(rest):
        # A further value asked beside the count ("几个人住一间？床距多少？"): either answers.
        count = f"{count}|{aspect.sentence_cues.pattern}"
    return replace(aspect, sentence_cues=_cues(count))


_HOW_MANY: Final[re.Pattern[str]] = re.compile(r"\bhow many\b", re.IGNORECASE)
_BOUNDED_COUNT: Final[str] = (
    rf"\b(?:at least|at most|a minimum of|a maximum of|no (?:more|fewer|less) than|up to)\s+"
    rf"(?:{_EN_NUMBERS})\b"
)


# Measured quantities and the units their values are stated in: a value question about one is
# answered by a number in its unit ("血压要降到什么范围" by "<140/90 mmHg", never by "约85%为高血压
# 导致"). A sentence in another unit states another quantity.
_MEASURED: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (
        _cues(r"血压|收缩压|舒张压|blood pressure|\bbp\b|\bsbp\b|\bdbp\b|systolic|diastolic"),
        r"mm\s*hg|毫米汞柱|\d{2,3}\s*/\s*\d{2,3}",
    ),
    (
        _cues(r"血糖|糖化血红蛋白|hba1c|glucose|glycated"),
        r"mmol\s*/\s*l|mg\s*/\s*dl|\d\s*%|％",
    ),
    (
        _cues(r"胆固醇|ldl|hdl|甘油三酯|cholesterol|triglyceride"),
        r"mmol\s*/\s*l|mg\s*/\s*dl|\d\s*%|％",  # a target may be a reduction by 50%
    ),
    (_cues(r"体温|发热|高热|temperature|fever"), r"℃|°\s*c|摄氏度|\d\s*度"),
    (
        _cues(
            r"how (?:far|close|near)\b|distance|spacing|\b(?:space|room) between\b|多远|多近|多宽|"
            r"距离|间距|相距"
        ),
        r"(?:centi|milli)?met(?:re|er)s?\b|\b(?:c|m)?m\b|feet|foot|\bft\b|厘米|毫米|米|公分",
    ),
    (_cues(r"心率|脉搏|heart rate|pulse rate"), r"次\s*/\s*(?:分|min)|bpm|/\s*min|beats"),
    (
        _cues(r"呼吸频率|呼吸次数|respiratory (?:rate|frequency)|breathing rate|\brr\b"),
        r"次\s*/\s*(?:分|min)|/\s*min|breaths",
    ),
    # A concentration or dilution ("乙醇浓度是多少", "what dilution of bleach"): a share or a
    # mass per volume, never a count of basins per bed.
    (
        _cues(r"浓度|稀释|concentration|dilution|percentage"),
        r"%|％|mg\s*/\s*(?:l|ml)|g\s*/\s*l|ppm|\d\s*:\s*\d",
    ),
    # A saturation as a share or a fraction ("指脉氧饱和度≤0.93").
    (_cues(r"血氧饱和度|\bspo2\b|\bsao2\b|oxygen saturation"), r"\d\s*%|％|\b0\.\d{1,2}(?!\d)"),
    # Energy (a nutrition target): calories, never a size or a count.
    (
        _cues(r"热量|能量|热卡|\bcalori|\bkcal\b|\benergy (?:intake|target|requirement)"),
        r"千卡|大卡|kcal|kj\b|千焦|calories",
    ),
    (
        _cues(r"蛋白质|蛋白(?:摄入|目标|需要量)|\bprotein (?:intake|target|requirement)"),
        r"g\s*/\s*kg",
    ),
    # A rate per hour ("air changes per hour", "每小时换气几次"): a count in another unit
    # (beds, metres) states another quantity.
    (
        _cues(r"per hour|an hour|each hour|every hour|hourly|每小时|/\s*(?:h|hr|小时)\b"),
        r"per hour|an hour|each hour|every hour|/\s*(?:h|hr|hour|小时)\b|每小时|\bach\b",
    ),
)


def _measured(aspect: Aspect, question: str) -> Aspect:
    """A value question about a measured quantity needs a number in that quantity's unit."""
    if aspect.name != "value" or aspect.sentence_cues is None:
        return aspect
    units = "|".join(unit for asked, unit in _MEASURED if asked.search(question))
    if not units:
        return aspect
    # The unit after the number ("<140/90 mmHg", "12 air changes per hour") or just before it
    # ("每小时换气12次"); asked several quantities at once ("热量和蛋白质目标"), any of theirs.
    cue = re.compile(
        rf"(?:\d|[<>≤≥＜＞])[^。；;]{{0,16}}?(?:{units})|(?:{units})[^。；;\d]{{0,6}}\d",
        re.IGNORECASE,
    )
    return replace(aspect, sentence_cues=cue)


# A unit the question names after how many ("How many IU/kg of…", "多少mg/kg", "几毫升"): the
# answer states a number in it, per what the question says it is per. A number in another
# unit, or none ("99%以上的患者可以存活"), states another quantity.
_UNITS: Final[tuple[str, ...]] = (
    r"iu|u|units?|万?单位|国际单位",
    r"mg|毫克",
    r"g|克",
    r"μg|µg|ug|mcg|微克",
    r"ml|毫升",
    r"mm\s*hg|毫米汞柱",
    r"cm\s*h2o|厘米水柱",
    r"mmol",
    r"[μµu]mol",
    r"l|litres?|liters?|升",
)
_PER: Final[tuple[str, ...]] = (r"kg|千克|公斤", r"m2|m²|平方米", r"d\b|day|日|天", r"l\b|升")
_UNIT_ASKED: Final[re.Pattern[str]] = re.compile(
    r"(?:\bhow many|多少|几)\s*(iu|u|units?|mg|g|μg|µg|ug|mcg|ml|mm\s*hg|cm\s*h2o|mmol|[μµu]mol|"
    r"litres?|liters?|毫克|克|毫升|单位|国际单位|微克|毫米汞柱|厘米水柱|升(?![高级温压至到值]))(?![a-z])"
    r"(?:\s*(?:/|per|每)\s*(kg|m2|m²|d|day|l|千克|公斤|日|天|升)(?![a-z]))?",
    re.IGNORECASE,
)


def _spelled(written: str, units: tuple[str, ...]) -> str:
    """The unit (all its spellings) a question's spelling of it is one of."""
    return next(u for u in units if re.fullmatch(u, written, re.IGNORECASE))


def _in_the_unit_asked(aspect: Aspect, question: str) -> Aspect:
    """A value or dose question naming its unit needs a number in that unit."""
    if aspect.name not in ("value", "dose", "max_dose"):
        return aspect
    asked = _UNIT_ASKED.search(question)
    if asked is None:
        return aspect
    unit = _spelled(asked.group(1), _UNITS)
    per = asked.group(2)
    after = rf"\s*(?:/|per|每)\s*[(（]?\s*(?:{_spelled(per, _PER)})" if per else ""
    cue = re.compile(rf"\d(?:[\d.,\s]|[~～\-–至到])*\s*(?:{unit})(?![a-z]){after}", re.IGNORECASE)
    return replace(aspect, sentence_cues=cue, needs_cue=True)


# How long a treatment is given ("DAAs 要用多少周", "吃多久", "how long is the course"): a
# time counted from its end ("治疗结束后12周", "12 weeks after completing therapy") is when
# something is checked, not how long the drug is used. Not "停药后多久可以怀孕": that asks
# the time after stopping.
_COURSE_ASKED: Final[re.Pattern[str]] = _cues(
    r"(?:用|服|吃|打|治疗|服用|使用|用药|输注|给药)(?:药)?(?:多久|多长时间|多少(?:天|周|个月)|几(?:天|周|个月))|"
    r"疗程|how long (?:should|must|do|does|is|are)\b.{0,40}\b(?:taken|given|used|continued|"
    r"treated|treatment|therapy|course|take|use|continue|treat)|"
    r"(?:duration|length) of (?:the )?(?:treatment|therapy|course)"
)
_AFTER_THE_END: Final[str] = (
    r"(?:结束|停药|停用|完成|停止)(?:后|以后)\s*(?:第)?\s*\d+(?:\.\d+)?\s*(?:个)?(?:天|日|周|月|年)|"
    r"\d+\s*(?:days?|weeks?|months?)\s+after\s+(?:the\s+)?(?:end|completion|completing|stopping|"
    r"discontinu\w*|cessation)"
)

# A period of the disease, not of its treatment: how long it incubates, lasts or is shed
# ("潜伏期3～21天" answers no "鼠咬热疗程多长").
_DISEASE_PERIOD: Final[str] = (
    r"(?:潜伏期|排毒(?:时间|期)?|传染期)[^。；;，,]*(?:[，,]\s*(?:一般|多为|通常|平均|多在|常为)[^。；;，,]*)*|"
    r"(?:incubation|infectious|latent) period[^.;,]*|(?:viral )?shedding[^.;,]*"
)


def _a_course(aspect: Aspect, question: str) -> Aspect:
    """A question about how long a treatment is given: times after its end, and the disease's
    own periods (incubation, shedding), state no length of it."""
    if aspect.name != "duration" or not _COURSE_ASKED.search(question):
        return aspect
    course = f"{_AFTER_THE_END}|{_DISEASE_PERIOD}"
    ignores = course if aspect.ignores is None else f"{aspect.ignores.pattern}|{course}"
    return replace(aspect, ignores=re.compile(ignores, re.IGNORECASE))


# A level asked ("升到多少", "控制在多少", "how high"): a number in a unit of time or age
# is when, not how high ("D-二聚体升到多少" is not answered by "多发生于病程1周左右").
_LEVEL_CUE: Final[re.Pattern[str]] = _cues(
    r"(?:升|升高|增高|降|下降|降低|控制|维持|达|达到|高于|低于|超过|不超过)(?:到|至|在)?多少|"
    r"多高|多低|how (?:high|low)\b|(?:rise|rises|raised|elevated|fall|falls|drop|drops|lowered|"
    r"kept|maintained) (?:to|above|below|under) what"
)
_TIME_UNITS: Final[str] = (
    r"[天周月年日岁]|小时|分钟|个月|(?:d|h|hrs?|hours?|days?|weeks?|wks?|months?|years?|yrs?|"
    r"mins?|minutes?|s|secs?|seconds?)\b"
)
_LEVEL_CUES: Final[re.Pattern[str]] = re.compile(
    r"[≥≤<>＜＞≧≦]\s*\d|"
    rf"(?<![A-Za-z])\d\s*(?:%|％|(?!{_TIME_UNITS})[a-zA-Zμµ]+(?:/[a-zA-Zμµ·()（）]+)*|[个倍级])|"
    rf"\d\s*[~～\-–至到]\s*\d+(?:\.\d+)?(?!\d|\.\d|\s*(?:{_TIME_UNITS}))",
    re.IGNORECASE,
)


def _a_level(aspect: Aspect, question: str) -> Aspect:
    """A value question asking how high or low something goes needs a level, not a time."""
    if aspect.sentence_cues is not _NUMBER_CUES or not _LEVEL_CUE.search(question):
        return aspect
    return replace(aspect, sentence_cues=_LEVEL_CUES)


# Aspects asked of a drug: a name the analysis did not recognise must not be lost for these,
# or another drug's dose answers the question.
DRUG_ASPECTS: Final[frozenset[str]] = frozenset(
    {
        "dose",
        "max_dose",
        "missed_dose",
        "renal_dose",
        "frequency",
        "duration",
        "timing",
        "contraindication",
        "adverse_effects",
    }
)


_ASPECT_WORDS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "incubation": {"zh": ("潜伏期",), "en": ("incubation period",)},
    "formula": {"zh": ("方药", "中成药"), "en": ("formula",)},
    "contraindication": {
        "zh": ("禁忌", "禁忌证", "禁忌症"),
        "en": ("contraindicated", "avoid", "contraindication", "contraindications"),
    },
    "adverse_effects": {
        "zh": ("不良反应", "副作用"),
        "en": ("adverse effects", "side effects", "adverse reactions"),
    },
    "dose": {"zh": ("剂量", "用量"), "en": ("dose", "dosage", "mg")},
    "conversion": {"zh": ("换算系数",), "en": ("conversion factor",)},
    "interaction": {"zh": ("联用", "合用"), "en": ("concurrently", "combined")},
    "missed_dose": {"zh": ("漏服",), "en": ("missed dose",)},
    "renal_dose": {"zh": ("肾功能", "剂量"), "en": ("renal", "creatinine clearance", "dose")},
    "duration": {"zh": ("疗程",), "en": ("duration", "days")},
    "timing": {"zh": ("小时内",), "en": ("within", "hours")},
    "frequency": {"zh": ("间隔", "每隔"), "en": ("interval", "every")},
    "indication": {
        "zh": ("适用", "适应证", "适应症"),
        "en": ("indicated", "recommended", "indication", "indications"),
    },
    "max_dose": {"zh": ("最大剂量", "不超过"), "en": ("maximum dose", "not exceed")},
    "age": {"zh": ("岁", "月龄"), "en": ("age", "years")},
    "age_affected": {"zh": ("多见于", "好发"), "en": ("most common", "aged")},
    "site": {"zh": ("部位", "注射"), "en": ("site", "injected")},
    "discontinuation": {"zh": ("减量", "停药"), "en": ("taper", "discontinue")},
    "treatment": {"zh": ("治疗",), "en": ("treatment", "management", "managed", "treated")},
    "severity": {"zh": ("临床分型", "重型", "重症"), "en": ("severe", "severity", "criteria")},
    "proportion": {
        "zh": ("比例", "病死率", "死亡率", "发生率", "发病率", "患病率"),
        "en": ("percentage", "proportion", "fatality", "case fatality", "mortality", "incidence"),
    },
}


def aspect_words(aspect: Aspect, language: str) -> tuple[str, ...]:
    """Words that name an aspect in a language (for searching)."""
    return _ASPECT_WORDS.get(aspect.name, {}).get(language, ())


def names_an_aspect(term: str) -> bool:
    """Whether a term is an aspect's own name ("incubation period", "潜伏期"), not a subject;
    a Chinese term made only of aspects' question words is one too (用法用量: 用法 + 用量)."""
    folded = term.strip().lower()
    if any(
        folded == word.lower()
        for words in _ASPECT_WORDS.values()
        for ws in words.values()
        for word in ws
    ):
        return True
    if not has_cjk(folded):
        return False
    rest = folded
    for aspect in ASPECTS:
        rest = aspect.question_cues.sub("", rest)
    return not rest.strip()


def dose_starts(sentence: str) -> list[int]:
    """Where each number with a dose unit stands in the sentence."""
    return [m.start() for m in _DOSE_UNIT_RE.finditer(sentence)]


def states_dose(sentence: str) -> bool:
    """A dosing sentence: a number with a dose unit (mg, g, µg, mL, IU, 毫克, 片 …)."""
    if _DOSE_UNIT_RE.search(sentence):
        return True
    return any(q.unit in DOSE_UNITS for q in extract_quantities(sentence))
