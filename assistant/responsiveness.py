"""Whether a sentence answers the question (issue #10; DESIGN.md §1 step 4).

A sentence is **responsive** when the question's top anchor (and most of the others; read in
assistant/questions.py) appear in it or its context (the sentence before it, the section
heading, the document title), and — when the question has an aspect — the sentence itself states
that aspect: a dosing question needs a number with a dose unit, a duration question a number
with a time unit, and so on. A sentence naming another drug, disease, stage or biting animal
than the question's, or only the opposite kind ("心源性" asked "非心源性"), is about that one; a
reference-list entry answers nothing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from assistant.aspects import Aspect, grades_in, states_dose, treats_a_grade
from assistant.drug_subjects import (
    a_combination_products_count,
    asked_names,
    asks_which_drug,
    dose_of_an_unasked_drug,
    is_among,
    names_other,
    names_some_drug,
    names_the_member_asked,
    only_other_drugs_doses,
    recommends_a_class,
)
from assistant.glossary import EN_NAME_STEM
from assistant.language import CJK_CHARS, has_cjk
from assistant.mentions import drug_shaped, form_in_text
from assistant.passage_layout import LABEL_MAX_CHARS, introduces_a_list
from assistant.populations import (
    SPECIAL_POPULATIONS,
    fits,
    other_phase,
    other_population,
    patient_of,
    populations,
    said_of,
)
from assistant.questions import (
    QuestionAnalysis,
    SubjectTerm,
    normalised,
    stage_codes,
    term_in_text,
)
from assistant.zh_names import (
    CJK_RUN_RE,
    VERB_TAGS,
    ZH_DISEASE_STEM,
    abbreviates,
    cut,
    word_tags,
    zh_words,
)

# A pointer to another document ("…(available at: http://…)") or an entry of a reference list
# wherever it stands: a Chinese citation's type mark ("…指南(2023年版)[J]."), a journal's
# year;volume:pages ("2015;43:100-107"), a DOI. Reading, never an answer.
_REFERENCE_RE: Final[re.Pattern[str]] = re.compile(
    r"https?://|www\.|available at:|详见|参见《|\[(?:J|M|S|D|C|N|R|Z|EB/OL)\]|"
    r"\b(?:19|20)\d{2}\s*;\s*\d+\s*(?:\(\s*\d+\s*\))?\s*:\s*\d+|\bdoi:\s*10\.",
    re.IGNORECASE,
)


# Why the document was written ("为进一步规范…诊疗，…制定本规范", "This guideline is intended
# to…"): its purpose, never an answer about what it covers.
_PURPOSE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:制定|修订|编写|编制|更新)(?:了)?本(?:规范|指南|方案|共识|标准|规定)|"
    r"本(?:规范|指南|方案|共识)(?:旨在|的目的)|"
    r"\bth(?:is|ese) (?:guidelines?|guide|document|recommendations?) (?:is|are|was|were) "
    r"(?:intended|designed|developed|written|meant) (?:to|for)\b|"
    r"\bthe (?:purpose|aim|objective)s? of th(?:is|ese) (?:guidelines?|guide|document)\b",
    re.IGNORECASE,
)


_STAGE_RANGE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z])(?:I{1,3}V?|IV|V)[a-c]?\s*(?:期\s*)?[~～\-–至到]\s*(?:I{1,3}V?|IV|V)[a-c]?"
    r"\s*期",
    re.IGNORECASE,
)


def _names_another_stage(question: str, sentence: str) -> bool:
    """A row of a staging table for another stage ("CNLC Ib 期：…" asked about Ia): no
    answer. A range of stages ("Ia~IIa 期") may hold the one asked, and is left alone."""
    asked = {code.lower() for code in stage_codes(question)}
    if not asked:
        return False
    text = unicodedata.normalize("NFKC", sentence)
    if _STAGE_RANGE_RE.search(text):
        return False
    named = {code.lower() for code in stage_codes(text)}
    return bool(named) and not named & asked


# Asking what a grade is: its criteria, its definition, what it comprises.
_DEFINES: Final[re.Pattern[str]] = re.compile(
    r"标准|定义|包括哪些|怎么(?:判断|界定|诊断|定义)|如何(?:判断|界定|诊断|定义)|算(?:是)?(?:重|轻|危)|"
    r"\bdefin|\bcriteri|\bclassif|\bcounts? as\b",
    re.IGNORECASE,
)


def _not_the_grade_defined(
    analysis: QuestionAnalysis,
    sentence: str,
    labels: Sequence[str],
    *,
    clauses: Sequence[str] = (),
    context: Sequence[str] = (),
) -> bool:
    """Asked what one severity grade is ("新冠重型的诊断标准是什么", "What respiratory rate
    defines severe COVID-19?"), a sentence neither it nor its heading says of that grade alone
    is no answer: the confirmed-case criteria under "（二）诊断标准", the support treatment under
    "（七）重型、危重型支持治疗" when critical illness is asked. The grade may head the list
    the sentence is an item of ("2.中度：（1）胡蜂蜇刺数量≥15针；"), in the sentences taken along
    or the statement's earlier clauses. What is done for a grade
    ("七、治疗 > （二）中度") says nothing of what makes it."""
    asked = grades_in(analysis.text)
    asks_criteria = analysis.aspect is not None and analysis.aspect.name == "severity"
    if len(asked) != 1 or not (asks_criteria or _DEFINES.search(analysis.text)):
        return False
    if asks_criteria and any(treats_a_grade(c) for c in context):
        return True
    head = next((c for c in clauses if grades_in(c)), "")
    return not any(grades_in(text) == asked for text in (sentence, *labels, head) if text)


# The animal that bit, scratched or stung: what an injury guideline's advice is about ("猪咬伤
# 伤口感染风险较大…应避免I期缝合" is not said of a dog bite). Everyday words, so no subject
# term of the question names them (狗 is too common a word to be one).
_BITERS: Final[dict[str, str]] = {
    "dog": r"(?<!狂)犬|狗|dogs?",
    "cat": r"猫|cats?",
    "pig": r"猪|pigs?|swine",
    "rodent": r"鼠|啮齿(?:类)?(?:动物)?|rats?|mice|mouse|rodents?",
    "monkey": r"猴|monkeys?|macaques?",
    "snake": r"蛇|snakes?",
    "bee": r"蜂|bees?|wasps?|hornets?",
    "ant": r"蚁|ants?",
    "scorpion": r"蝎|scorpions?",
    "spider": r"蜘蛛|spiders?",
    "centipede": r"蜈蚣|centipedes?",
    "jellyfish": r"海蜇|水母|jellyfish",
    "horse": r"马|horses?",
    "stonefish": r"石头鱼|stonefish",
    "poultry": r"禽|鸡|鸭|鹅|poultry|chickens?|geese|goose|ducks?",
}
_BITER_RE: Final[dict[str, re.Pattern[str]]] = {
    name: re.compile(
        # 蛰 is often written for 蜇 ("被海蜇蛰伤"); a fish's spine stabs (刺), a bird pecks (啄).
        rf"(?:{forms})(?=[^。；，,;]{{0,12}}?(?:[咬抓蜇蛰叮踢啄]|刺伤|致伤|所伤))|"
        rf"\b(?:{forms})[\s-]*(?:bites?|bitten|scratch|sting|stings|pecks?)|"
        # "bitten by a dog", "scratched by the family's cat", "stung by bees"
        rf"\b(?:bit|bitten|scratched|stung|kicked|attacked)\s+by\s+(?:\S+\s+){{0,2}}?(?:{forms})\b",
        re.IGNORECASE,
    )
    for name, forms in _BITERS.items()
}


def _biters(text: str) -> set[str]:
    return {name for name, pattern in _BITER_RE.items() if pattern.search(text)}


def _names_another_biter(question: str, sentence: str, context: Sequence[str] = ()) -> bool:
    """The question is about one animal's bite and the sentence only about others', by its
    own words or, naming none, by what it stands under ("马咬伤诊疗规范 > 一、马咬伤处置要求":
    "…四肢伤口应采用止血带止血" is said of horse bites, not of a snakebite)."""
    asked = _biters(question)
    if not asked:
        return False
    named = _biters(sentence) or _biters(" ".join(context))
    return bool(named) and not named & asked


# A kind named by a quality and its negation ("心源性" / "非心源性" stroke, "cardioembolic" /
# "non-cardioembolic", "opioid" / "nonopioid" therapy): each is another subject than the other.
_NEGATED_RE: Final[re.Pattern[str]] = re.compile(
    rf"非([{CJK_CHARS}]{{1,4}}?性)|\bnon-?([a-z]{{4,}})", re.IGNORECASE
)


def _negated(text: str) -> set[str]:
    """The qualities a text names negated ("非心源性" → 心源性, "nonopioid" → opioid)."""
    return {(m.group(1) or m.group(2)).lower() for m in _NEGATED_RE.finditer(text)}


def _plainly(kind: str, text: str) -> bool:
    """Whether the text names the quality without its negation."""
    if has_cjk(kind):
        return re.search(rf"(?<!非){re.escape(kind)}", text) is not None
    pattern = rf"(?<![\w-]){re.escape(kind)}"  # not inside "nonopioid" or "non-opioid"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _names_the_other_kind(question: str, sentence: str) -> bool:
    """The question asks about one kind ("非心源性缺血性卒中") and the sentence names only its
    opposite ("心源性缺血性卒中…抗凝"), or the other way round."""
    asked, named = _negated(question), _negated(sentence)
    return any(_plainly(kind, sentence) and kind not in named for kind in asked) or any(
        _plainly(kind, question) and kind not in asked and not _plainly(kind, sentence)
        for kind in named
    )


# Checking on a patient again: what a time question may ask the time of ("开始治疗后多久复查",
# "how soon should patients be re-evaluated").
_FOLLOW_UP: Final[re.Pattern[str]] = re.compile(
    r"复查|随访|复诊|复评|再评估|重新评估|评估|监测|\bre-?assess\w*|\bre-?evaluat\w*|"
    r"\bfollow[- ]?up\b|\bfollowed up\b|\bmonitor\w*|\bevaluat\w*|\breview\w*",
    re.IGNORECASE,
)
_TIME_ASPECTS: Final[frozenset[str]] = frozenset({"duration", "timing", "frequency"})


def _times_something_else(analysis: QuestionAnalysis, sentence: str, labels: Sequence[str]) -> bool:
    """Asked when or how often to check a patient again, a sentence giving another time (how
    long opioids are given: "A few days or less are often sufficient…") says nothing of it."""
    if analysis.aspect is None or analysis.aspect.name not in _TIME_ASPECTS:
        return False
    if not _FOLLOW_UP.search(analysis.text):
        return False
    return not _FOLLOW_UP.search(" ".join((sentence, *labels)))


# A differential diagnosis ("病毒性脑膜炎与狂犬病前驱期不易鉴别，但病毒性脑膜炎…通常为2～3周"):
# the sentence tells another disease from the asked one, and what it states is the other's.
_DIFFERENTIAL: Final[re.Pattern[str]] = re.compile(
    r"鉴别|区分|区别|\bdifferential\b|\bdistinguish\w*|\bdifferentiat\w*|\bmimic\w*",
    re.IGNORECASE,
)


# A section of differential diagnoses ("六、鉴别诊断", "（二）鉴别诊断", "Differential
# diagnosis"), not one of diagnosis and differential diagnosis together ("五、诊断与鉴别诊断").
_DIFFERENTIAL_SECTION: Final[re.Pattern[str]] = re.compile(
    r"^[\s\dIVXivx一二三四五六七八九十（）()、.．]*(?:鉴别诊断|鉴别|differential diagnos[ie]s)\s*$",
    re.IGNORECASE,
)


def _under_a_differential(analysis: QuestionAnalysis, context: Sequence[str]) -> bool:
    """A sentence of a differential-diagnosis section is about the disease it tells apart from
    the asked one ("六、鉴别诊断 > （一）类狂犬病性癔症": "…精神类药物及安慰治疗后病情缓解" is
    no treatment of rabies), unless the question asks how to tell them apart."""
    if _DIFFERENTIAL.search(analysis.text):
        return False
    return any(
        _DIFFERENTIAL_SECTION.match(part.strip()) for text in context for part in text.split(">")
    )


def _tells_another_apart(analysis: QuestionAnalysis, sentence: str) -> bool:
    """A sentence telling another disease or drug from the asked one, to a question that asks
    no such thing."""
    if _DIFFERENTIAL.search(analysis.text) or not _DIFFERENTIAL.search(sentence):
        return False
    return bool(_diseases_not_asked(analysis, sentence)) or names_other(analysis, sentence)


def _diseases_not_asked(analysis: QuestionAnalysis, text: str) -> list[str]:
    """The disease-shaped Chinese words of a text (three characters or more) that the
    question does not name."""
    forms = asked_names(analysis)
    return [
        w
        for w in zh_words(text)
        if len(w) >= 3 and ZH_DISEASE_STEM.search(w) and not is_among(forms, w)
    ]


@functools.lru_cache(maxsize=4096)
def _phases_named(text: str) -> frozenset[str]:
    """The stages of a disease's course a Chinese text names by a word ending in 期 (前驱期,
    兴奋期, 麻痹期, 进展期), not whom it is about (妊娠期, 哺乳期)."""
    named: set[str] = set()
    for run in CJK_RUN_RE.findall(normalised(text)):
        words = cut(run)
        for i, word in enumerate(words):
            if word == "期" and i and len(words[i - 1]) == 2:
                word = words[i - 1] + word
            if len(word) >= 3 and word.endswith("期") and not populations(word):
                named.add(word)
    return frozenset(named)


def _under_another_disease(
    analysis: QuestionAnalysis, sentence: str, labels: Sequence[str]
) -> bool:
    """The question names a disease and the sentence, naming none itself, stands under a
    section headed by another ("（十二）闭塞性细支气管炎/支气管炎的早期识别和治疗" over "病情重者
    可用冲击疗法，甲泼尼龙10-30mg/(kg.d)" is no dose for the pneumonia asked about): the section
    is about that disease, a complication or a neighbour of the asked one."""
    asked = [a for a in analysis.anchors if any(ZH_DISEASE_STEM.search(f) for f in a.forms)]
    if not asked or any(term_in_text(a, sentence) for a in asked):
        return False
    heading = " ".join(labels)
    if any(term_in_text(a, heading) for a in analysis.anchors):
        return False
    return any(
        w not in _DISEASE_CLASSES
        and not w.startswith("抗")  # what a treatment is against (抗肿瘤), no disease named
        for w in _diseases_not_asked(analysis, heading)
    )


# Words for a kind of disease, no disease of their own: a section on complications or on
# anticancer treatment ("（四）并发症及治疗", "系统抗肿瘤治疗") is still about the asked one.
_DISEASE_CLASSES: Final[frozenset[str]] = frozenset(
    str.split("并发症 合并症 后遗症 肿瘤 恶性肿瘤 炎症 疾病 病症 重症 轻症 危重症 急症 传染病 感染")
)


def _under_another_stage(question: str, sentence: str, labels: Sequence[str]) -> bool:
    """The question asks about one stage of a disease ("狂犬病兴奋期持续多久") and the sentence,
    by its own words or, naming none, by the heading it stands under ("（四）麻痹期" over
    "一般持续6～18小时"), speaks only of another."""
    asked = _phases_named(question)
    if not asked:
        return False
    named = _phases_named(sentence) or _phases_named(" ".join(labels))
    return bool(named) and not named & asked


# What may stand between a drug's name and the condition written after it ("阿片类使用障碍",
# "opioid use disorder"), and the conditions of a drug a question may ask about instead of the
# drug: its allergy, poisoning, overdose, dependence, resistance, withdrawal, use disorder.
_CONDITION_GAP: Final[re.Pattern[str]] = re.compile(
    r"\s*(?:(?:类)?(?:药物|药)?(?:使用|用药|服用)?|\s+(?:use|abuse)\s+|\s+)\s*", re.IGNORECASE
)
_DRUG_CONDITION: Final[re.Pattern[str]] = re.compile(
    r"(?:过敏|中毒|过量|依赖|成瘾|耐药|抵抗|戒断|障碍|滥用|不耐受)$|"
    r"\b(?:allerg(?:y|ies|ic)|overdoses?|poisoning|toxicity|dependence|addiction|resistan(?:ce|t)|"
    r"withdrawal|disorders?|misuse|abuse|intolerance)$",
    re.IGNORECASE,
)


def _condition_of_drug(analysis: QuestionAnalysis) -> SubjectTerm | None:
    """The condition a question asks about, written right after the one drug it names and
    asking nothing else of it: "青霉素过敏者用什么替代" (allergy), "阿片类使用障碍的病人"
    (use disorder), "opioid use disorder". The subject is that condition, not the drug."""
    if analysis.aspect is not None or len(analysis.anchors) != 1:
        return None
    drug = analysis.anchors[0]
    # A drug, or a class of drugs (阿片类 / opioid, 苯二氮䓬类).
    if drug not in analysis.drug_anchors and not any(f.endswith("类") for f in drug.forms):
        return None
    text = unicodedata.normalize("NFKC", analysis.text)
    for term in (*analysis.terms, *analysis.common):
        if term.anchor or not _DRUG_CONDITION.search(term.term):
            continue
        for form in drug.forms:
            at = text.lower().find(form.lower())
            if at < 0:
                continue
            after = text[at + len(form) :]
            gap = _CONDITION_GAP.match(after)
            if gap and after[gap.end() :].lower().startswith(term.term.lower()):
                return term
    return None


@dataclass(frozen=True)
class Responsiveness:
    """Whether a sentence answers the question, with the reason when it does not."""

    responsive: bool
    reason: str | None = None
    anchors_found: int = 0
    aspect_stated: bool = True


def judge_responsive(
    analysis: QuestionAnalysis,
    sentence: str,
    *,
    context: Sequence[str] = (),
    clauses: Sequence[str] = (),
    titles: Sequence[str] = (),
    along: Sequence[str] = (),
    passage: str = "",
    labels: Sequence[str] = (),
) -> Responsiveness:
    """Is the sentence about the question's subject (in it or its context) and aspect?

    `context`: the text the sentence stands under — the sentence before it, the section path
    and the document title. The aspect must be stated in the sentence itself. `clauses`: the
    earlier clauses of the statement it continues, nearest first; the first naming a population
    says whom the sentence is about when it names none itself. `along`: earlier sentences
    taken along because they name the subject; they say what the sentence is about, never
    whom ("孕妇禁用。用法：每次1600mg" — the dose is not one for pregnancy). `passage`: the
    whole passage the sentence is from. When the sentence states the asked aspect, a further
    name of the question that is no drug may be named anywhere in it (the paragraph names its
    topic once: "annually repeated prevalence surveys" in a paragraph on nosocomial
    infections); the main name and any drug may not. `labels`: the headings the sentence stands
    under (its section's own, its list item's head); a short one naming the aspect says what
    the sentences under it state ("（一）潜伏期" over "多数为1～3个月…").
    """
    anchors = analysis.anchors
    if not analysis.terms and not analysis.common:
        # Nothing the question names is in the library or the term table ("糖尿病足怎么处理"):
        # an aspect alone ("怎么处理") is about nothing a sentence could answer.
        return Responsiveness(False, "other_subject", 0, False)
    here = " ".join((sentence, *along, *context))
    # Whom it is about (哺乳期, pregnancy) is never taken from the sentences taken along: "用法：
    # 口服，第1天，每次1600mg" after "…哺乳期妇女使用时应暂停哺乳" is no dose for breastfeeding.
    own = " ".join((sentence, *context))
    found = [a for a in anchors if term_in_text(a, own if populations(a.term) else here)]
    if _IMAGING_HEADING.search(" ".join(labels)):
        # Under a heading on imaging ("（三）胸部影像学"), a sentence says what CT, MRI or an
        # X-ray shows without naming the method.
        found += [a for a in anchors if a not in found and _an_imaging_method(a)]
    # The sentence names another drug or disease itself: its subject is that one, whatever the
    # sentences around it say ("帕拉米韦：成人剂量300mg" under "奥司他韦…"). It must name the
    # question's main name and, when the question names a drug, that drug however heavy its
    # other names ("MME conversion factor for oxycodone": not a hydrocodone example with MME).
    # A sentence naming the asked drug beside another ("地塞米松…或口服泼尼松龙") is about the
    # asked one, its disease named in what it stands under ("急性喉炎或喉气管炎：").
    drugs = analysis.drug_anchors
    names_the_drug = bool(drugs) and any(term_in_text(a, sentence) for a in drugs)
    # One of two choices the question offers ("ABHR or soap and water?") need not be named by
    # a sentence that names the other: "Soap and water … is preferred after caring for a
    # patient with … Clostridium difficile" answers.
    chosen = _other_choice_named(analysis, sentence) if anchors else []
    # The main name: the drug the question asks whether to give, when it names several ("on
    # 90 MME of oxycodone — co-prescribe naloxone?"), else its heaviest name.
    offered = analysis.drug_to_give
    main = offered or (anchors[0] if anchors else None)
    if (
        main is not None
        and (
            (not term_in_text(main, sentence) and main not in chosen and not names_the_drug)
            or (drugs and not names_the_drug)
        )
        and names_other(analysis, sentence)
        and not names_the_member_asked(analysis, sentence, context)
    ):
        return Responsiveness(False, "other_subject", len(found), True)
    if (
        dose_of_an_unasked_drug(analysis, sentence)
        or only_other_drugs_doses(analysis, sentence)
        or a_combination_products_count(analysis, sentence)
    ):
        return Responsiveness(False, "other_subject", len(found), True)
    if (
        _names_another_stage(analysis.text, sentence)
        or _names_another_biter(analysis.text, sentence, context)
        or _names_the_other_kind(analysis.text, sentence)
        or _tells_another_apart(analysis, sentence)
        or _under_a_differential(analysis, context)
        or _under_another_disease(analysis, sentence, labels)
        or _under_another_stage(
            " ".join((analysis.text, *analysis.translations.values())), sentence, labels
        )
        or _not_the_grade_defined(
            analysis, sentence, [*labels, *along], clauses=clauses, context=context
        )
    ):
        return Responsiveness(False, "other_subject", len(found), True)
    if _REFERENCE_RE.search(sentence):
        return Responsiveness(False, "reference", len(found), False)
    if _PURPOSE_RE.search(sentence):
        return Responsiveness(False, "other_aspect", len(found), False)
    if _only_listed(analysis, sentence):
        # "啮齿动物间接传播的疾病有：…、莱姆病、鼠伤寒、…" says nothing of treating Lyme disease.
        return Responsiveness(False, "other_subject", len(found), False)
    if _misses_the_class_asked(analysis, here, sentence):
        # "新冠病人什么时候要用激素": a sentence on vaccination names the disease, not 激素.
        return Responsiveness(False, "other_subject", len(found), False)
    if offered is not None and not term_in_text(offered, here):
        # "Patient on 90 MME of oxycodone — should I co-prescribe naloxone?": whether to give
        # naloxone; an oxycodone sentence without it answers nothing.
        return Responsiveness(False, "other_subject", len(found), False)
    condition = _condition_of_drug(analysis)
    if condition is not None and not term_in_text(condition, here):
        # Asked about a condition of the drug (its allergy, poisoning, use disorder), not the
        # drug: a sentence on prescribing it says nothing of that.
        return Responsiveness(False, "other_subject", len(found), False)
    # A grade's head taken along ("2.中度：" over "（1）胡蜂蜇刺数量≥15针；") says what its
    # items are.
    heads = [*labels, *along] if analysis.aspect is not None and analysis.aspect.headed else labels
    aspect_stated = analysis.aspect is None or stated_under(analysis.aspect, sentence, heads)
    if anchors:
        # The main name must be there, and every other (one may be missing from three or more:
        # "aspirin plus clopidogrel for intracranial stenosis" under its section heading).
        # Names written side by side ("HCV RNA") are one name: "HCV RNA after a needlestick" names
        # two things, and both must be there.
        allowed_missing = 1 if analysis.names_apart >= 3 else 0
        # A sentence stating what was asked (how often, how much) may leave a further name to
        # its paragraph; one that states no asked aspect must name all ("苯二氮䓬类" sedation
        # in a paragraph that mentions opioids does not say whether to prescribe both).
        # A name found only through its class ("opioids" for methadone) says the sentence is
        # about the class, not the drug: then every other name must be there ("…every 2 weeks
        # … opioids for acute pain" does not answer "methadone for chronic pain").
        by_class = any(a.kinds and not a.named_itself(here) for a in found)
        nearby = [
            a
            for a in anchors[1:]
            if analysis.aspect is not None
            and aspect_stated
            and not by_class
            and a not in found
            and a not in drugs
            and passage
            and term_in_text(a, passage)
        ]
        found = [*found, *(a for a in chosen if a not in found)]
        missing = [a for a in anchors if a not in found and a not in nearby]
        # A question in two parts ("what level for endoscopes? and BP cuffs?") is answered
        # part by part: a sentence naming every name of one part answers that part.
        part = _part_answered(analysis, found)
        if part is not None:
            missing = [a for a in missing if a in part]
        if (
            (main not in found and (part is None or main in part))
            or len(missing) > allowed_missing
            # The one left out may be a word about a name ("intracranial"), never a disease's
            # or organism's own name: "甲泼尼龙10-30mg/(kg.d)" of the mycoplasma guideline is
            # no dose for *adenovirus* pneumonia however many other names it holds. (A drug
            # may be left out: "≥50 MME/day" answers "what daily morphine equivalent".)
            or any(
                _names_a_kind_of_its_own(a)
                or _names_prevention(a)
                or _the_measure_asked(analysis, a)
                for a in missing
            )
        ):
            return Responsiveness(False, "other_subject", len(found), aspect_stated)
        if titles and not _discriminates(
            analysis, sentence, [*along, *context], titles, labels=labels
        ):
            return Responsiveness(False, "other_subject", len(found), aspect_stated)
        # Asking no aspect, what the sentence takes along speaks with it ("下列人群…较易发展为
        # 重型" over its item "年龄<5岁的儿童"); asked criteria, the sentence names the step itself.
        said = " ".join((sentence, *along)) if analysis.aspect is None else sentence
        if (
            _says_none_of_its_words(analysis, said, context, labels)
            or _misses_the_rarer_words(analysis, said, context, labels)
            or _outweighed_by_unread_words(analysis, said)
        ):
            return Responsiveness(False, "other_subject", len(found), aspect_stated)
    elif analysis.terms and (
        not any(term_in_text(t, here) for t in analysis.terms)
        or _misses_the_rarest_word(analysis, here)
    ):
        return Responsiveness(False, "other_subject", 0, aspect_stated)
    elif (
        analysis.aspect is None
        and analysis.language == "zh"
        and context
        and not any(
            term_in_text(t, sentence) and not term_in_text(t, " ".join(context))
            for t in analysis.terms
        )
    ):
        # Naming no drug, disease or procedure and asking no aspect, the sentence must say one
        # of the question's words that what it stands under does not: under "蛇咬伤诊疗规范",
        # how common snakebites are answers nothing about tourniquets ("蛇咬伤要用止血带吗").
        return Responsiveness(False, "other_subject", 0, aspect_stated)
    if not aspect_stated or _times_something_else(analysis, sentence, labels):
        return Responsiveness(False, "other_aspect", len(found), aspect_stated)
    if defines(sentence) and no_definition_answers(analysis):
        # "医院感染：指患者在住院期间…" says what a name means, not what to do about it.
        return Responsiveness(False, "other_aspect", len(found), False)
    if (
        analysis.aspect is None
        and not analysis.drug_anchors
        and asks_which_drug(analysis)
        and not names_some_drug(" ".join((sentence, *along)))
        and not recommends_a_class(sentence)
    ):
        # "用什么药预防B病毒": the answer names a drug, or the class of drug to choose
        # ("…应首选抗血小板药物预防…").
        return Responsiveness(False, "other_aspect", len(found), False)
    about = sentence
    if not populations(sentence):
        about = next((c for c in clauses if populations(c)), sentence)
    if other_population(analysis.text, about):
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    if other_phase(analysis.text, sentence):
        return Responsiveness(False, "other_phase", len(found), aspect_stated)
    # A question about children or pregnancy is answered by what is said of them: a sentence
    # that names neither, under a title and section that name neither, speaks of everyone
    # else ("妊娠期高血压的降压目标" is not answered by a stroke guideline's blood-pressure target).
    if fits(patient_of(analysis.text), sentence, clauses) is False and not _says_who_may(
        analysis, sentence
    ):
        # Another row of the dosing table: the patient's weight or age is outside it.
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    asked = populations(analysis.text)
    special = asked & SPECIAL_POPULATIONS
    if (
        special
        and not special & said_of(" ".join((sentence, *context, *clauses)))
        and not _restricts_the_patients_condition(analysis, sentence)
        and not _withheld_from_everyone(sentence, [*context, *clauses])
    ):
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    if "adult" in asked and _for_children_only(sentence, clauses, [*titles, *labels]):
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    return Responsiveness(True, None, len(found), aspect_stated)


# A treatment withheld, in words (禁用, 不推荐, "not recommended", "contraindicated").
_WITHHELD: Final[str] = (
    r"禁用|不推荐|不宜|不建议|不能用|慎用|不(?:应|得|可|能)(?:使用|应用|服用)|"
    r"\bcontraindicated\b|\bnot (?:be )?(?:recommended|used|given)\b"
)
# Who may be given a treatment, in words ("适用于成人及7岁以上儿童", "not recommended for
# children under 5"): asked whether a patient may have it, a bound the patient is outside of
# is the answer (no), not another row.
_WHO_MAY: Final[re.Pattern[str]] = re.compile(
    rf"适用|适合|仅限|仅用于|\bindicated\b|\bapproved\b|\brecommended for\b|"
    rf"\bonly (?:for|in)\b|{_WITHHELD}",
    re.IGNORECASE,
)
_WHO_MAY_ASPECTS: Final[frozenset[str | None]] = frozenset(
    {None, "indication", "contraindication", "age"}
)


# Who must not be given it ("不推荐哮喘…患者使用", "contraindicated in patients with asthma").
_WHO_MAY_NOT: Final[re.Pattern[str]] = re.compile(
    rf"{_WITHHELD}|禁忌|避免(?:使用|应用)|\bavoid(?:ed)?\b", re.IGNORECASE
)


def _other_choice_named(analysis: QuestionAnalysis, sentence: str) -> list[SubjectTerm]:
    """The question's names offered as one of two choices whose other choice the sentence names
    (written out, or by a term of the question inside it: "肥皂洗手" → 洗手 → handwashing)."""
    named = [
        anchor
        for anchor, phrase in analysis.choices
        if form_in_text(phrase, sentence)
        or any(
            t is not anchor and t.term in phrase and term_in_text(t, sentence)
            for t in (*analysis.terms, *analysis.common)
        )
    ]
    return list(dict.fromkeys(named))


def _restricts_the_patients_condition(analysis: QuestionAnalysis, sentence: str) -> bool:
    """The sentence withholds the treatment from patients with a condition the question names.

    Asked for a child with asthma ("10岁哮喘患儿…吸入扎那米韦合适吗"), "不推荐哮喘或其他慢性呼吸道
    疾病患者使用吸入性扎那米韦" holds for the child though it names no age: a restriction on
    everyone with the condition is one on each of them. A dose or a target stated for everyone
    is still no answer for a child.
    """
    if not _WHO_MAY_NOT.search(sentence):
        return False
    return any(
        _patients_with(form, sentence)
        for t in analysis.terms
        if t not in analysis.drug_anchors and not populations(t.term)
        for form in t.forms
    )


def _withheld_from_everyone(sentence: str, under: Sequence[str]) -> bool:
    """A treatment the sentence says no one needs, naming no patients at all (nor what it stands
    under): "禽类不感染和传播狂犬病病毒，无需注射狂犬疫苗" holds for a child pecked by a hen as for
    anyone. A dose or target for everyone still answers for no child, nor does a treatment
    withheld for another use ("不建议使用狂犬病疫苗…来治疗狂犬病" says nothing of a bitten
    child's post-exposure vaccination)."""
    if states_dose(sentence) or said_of(" ".join((sentence, *under))):
        return False
    return _NOT_NEEDED.search(sentence) is not None


# No need for a treatment, in words.
_NOT_NEEDED: Final[re.Pattern[str]] = re.compile(
    r"无需|无须|不需要|不需|不必|没有必要|\bno need\b|\bnot (?:needed|required|necessary)\b|"
    r"\bunnecessary\b",
    re.IGNORECASE,
)


def _patients_with(condition: str, sentence: str) -> bool:
    """Whether the sentence speaks of patients having the condition ("哮喘或其他慢性呼吸道疾病
    患者", "patients with asthma"), not merely uses the word ("降压治疗")."""
    name = re.escape(condition)
    if has_cjk(condition):
        return (
            re.search(rf"{name}[^，,。；;]{{0,12}}?(?:患者|病人|患儿|人群|(?<![或再])者)", sentence)
            is not None
        )
    whom = r"\b(?:patients|persons|people|those|children|adults|individuals)\s+(?:with|who have)"
    return re.search(rf"{whom}\s+(?:\S+\s+){{0,4}}?{name}\b", sentence, re.IGNORECASE) is not None


def _says_who_may(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Asked whether the patient may have it, the sentence says who may."""
    asked = analysis.aspect.name if analysis.aspect else None
    return asked in _WHO_MAY_ASPECTS and _WHO_MAY.search(sentence) is not None


def _says_none_of_its_words(
    analysis: QuestionAnalysis, said: str, context: Sequence[str], labels: Sequence[str]
) -> bool:
    """Asking no aspect, a question with words beside its names ("蛇咬伤要用止血带吗") is not
    answered by a sentence that says the names its heading says too and none of those words,
    itself or in the headings it stands under: under "蛇咬伤诊疗规范 > 一、概述", how common
    snakebites are says nothing of tourniquets; under "十、出院标准", "体温正常3天以上" says
    when to discharge. Asked the criteria of a step ("流感住院标准"), a sentence must name the
    step however it names the disease ("疑似或确诊流感的医务人员，不建议带病工作" does not)."""
    asked = analysis.aspect.name if analysis.aspect else None
    if asked not in (None, "indication") or analysis.language != "zh" or not context:
        return False
    # What is said of the names, not what is done ("怎么鉴别": how to tell them apart is asked
    # of the names themselves).
    # Whom it is about (女性, "women") is checked as a population, never as what is said.
    words = [
        t
        for t in _not_verbs((*(t for t in analysis.terms if not t.anchor), *analysis.common))
        if not populations(t.term) and not _SEX_RE.fullmatch(t.term)
    ]
    under = " ".join(context)
    if not words or (asked is None and not all(term_in_text(a, under) for a in analysis.anchors)):
        return False
    return _none_said(words, said, context, labels)


# A person's sex: who the patient is, like a population.
_SEX_RE: Final[re.Pattern[str]] = re.compile(
    r"女性|男性|妇女|女人|男人|女士|男士|wom[ae]n|m[ae]n|females?|males?", re.IGNORECASE
)


def _not_verbs(terms: Iterable[SubjectTerm]) -> list[SubjectTerm]:
    tags = word_tags()
    return [t for t in terms if tags.get(t.term) not in VERB_TAGS]


def _none_said(
    words: Sequence[SubjectTerm], said: str, context: Sequence[str], labels: Sequence[str]
) -> bool:
    """Whether none of the words is in what is said or the headings it stands under."""
    with_headings = " ".join((said, *context, *labels))
    return not any(term_in_text(t, with_headings) for t in words)


# How much rarer than every name a question's other word must be to be what it asks about.
_RARER: Final[float] = 2.0
# An English adverb ("primarily", "routinely").
_ADVERB_RE: Final[re.Pattern[str]] = re.compile(r"[a-z]{3,}ly", re.IGNORECASE)


def _misses_the_rarer_words(
    analysis: QuestionAnalysis, said: str, context: Sequence[str], labels: Sequence[str]
) -> bool:
    """Asking no aspect, a Chinese question whose other words (nouns) are far rarer in the
    library than its names asks about them: "预防阿片类药物引起的便秘，推荐用什么泻药" (便秘,
    泻药 against the guideline-wide 阿片类) is not answered by a sentence on opioids for a
    snakebite's pain that says neither, itself or under its headings."""
    if analysis.aspect is not None or not analysis.anchors or analysis.language != "zh":
        return False
    heaviest = max(a.weight for a in analysis.anchors)
    chinese = has_cjk(said)
    rarer = _not_verbs(
        t
        for t in analysis.terms
        if not t.anchor
        and t.in_library
        and t.weight >= _RARER * heaviest
        and not populations(t.term)
        # A word the dictionaries translate (not a piece jieba cut off a name: 甲胎 of
        # 甲胎蛋白), judged where it can be said: in the sentence's language.
        and any(not has_cjk(f) for f in t.forms)
        and any(has_cjk(f) == chinese for f in t.forms)
    )
    return bool(rarer) and _none_said(rarer, said, context, labels)


def _outweighed_by_unread_words(analysis: QuestionAnalysis, said: str) -> bool:
    """Asking no aspect in English of a Chinese sentence, words no table writes in Chinese
    cannot be found said there. When they outweigh the question's names together, most of what
    it asks is unread: "Does chlorhexidine reliably inactivate SARS-CoV-2?" is not answered by
    a sentence describing the virus. How a thing is done ("close it primarily") is left out:
    the tables seldom translate an adverb, and it seldom says what is asked."""
    if analysis.aspect is not None or analysis.language != "en" or not has_cjk(said):
        return False
    unread = sum(
        t.weight
        for t in analysis.terms
        if not t.anchor
        and t.in_library
        and not populations(t.term)
        and not any(has_cjk(f) for f in t.forms)
        and not _ADVERB_RE.fullmatch(t.term)
    )
    return unread > sum(a.weight for a in analysis.anchors)


def _misses_the_rarest_word(analysis: QuestionAnalysis, here: str) -> bool:
    """Naming no drug, disease or procedure, a question is about its rarest word in the
    library: "隔离病房里的患儿玩具有什么要求" asks about toys, and a sentence on isolation wards
    that names none answers nothing. Words as rare as it count as much ("住院病区厕所数量":
    a sentence on admission criteria names no toilet). Who the patient is is a population.
    Asked in English, the rarest word is often the asker's own paraphrase ("nurse staffing" of
    "health care worker staffing levels"): English questions are left to the other rules."""
    if analysis.language != "zh" or not analysis.weighed:
        return False
    words = [t for t in _not_verbs(analysis.terms) if t.in_library and not populations(t.term)]
    if len(words) < 2:
        return False
    rarest = max(t.weight for t in words)
    return any(t.weight >= rarest and not term_in_text(t, here) for t in words)


# Where a question's parts end: each asks its own thing ("剂量多少？孕妇能用吗？").
_QUESTION_PARTS_RE: Final[re.Pattern[str]] = re.compile(r"[?？;；。]")


def _part_answered(
    analysis: QuestionAnalysis, found: Sequence[SubjectTerm]
) -> tuple[SubjectTerm, ...] | None:
    """The names of the first part of a question in two or more parts whose names the
    sentence all names. A part must name two things to be answered alone: one name is often
    said of what the other parts name ("…age cutoffs? does plain HTN count?" asks whether
    hypertension puts a flu patient at risk, not about hypertension)."""
    parts = [p for p in _QUESTION_PARTS_RE.split(analysis.text) if p.strip()]
    if len(parts) < 2:
        return None
    for part in parts:
        own = tuple(a for a in analysis.anchors if form_in_text(a.term, part))
        if len(own) >= _NAMES_OF_A_PART and all(a in found for a in own):
            return own
    return None


_NAMES_OF_A_PART: Final[int] = 2


def _the_measure_asked(analysis: QuestionAnalysis, term: SubjectTerm) -> bool:
    """Whether the question asks this name's level ("what D-dimer level", "D-二聚体多少"): a
    value without it is another measure's, however many of the other names it holds."""
    if analysis.aspect is None or analysis.aspect.name != "value":
        return False
    name = re.escape(term.term).replace(r"\ ", r"[\s\-]?")
    return re.search(rf"{name}\s*(?:{_MEASURE_ASKED})", analysis.text, re.IGNORECASE) is not None


_MEASURE_ASKED: Final[str] = (
    r"(?:levels?|values?|thresholds?|cut-?offs?|concentrations?|counts?|targets?|goals?)\b|"
    r"水平|值|多少|浓度|目标|阈值|界值|超过|大于|高于|低于|小于"
)


def _names_prevention(term: SubjectTerm) -> bool:
    """A use of the drug that is not treating the disease (暴露后预防, prophylaxis): asked it,
    a treatment course ("上述均为每日2次，疗程5天") is no answer, whatever else it names."""
    return any(_PREVENTION.search(f) for f in term.forms)


_PREVENTION: Final[re.Pattern[str]] = re.compile(
    r"预防|\bprophyla\w*|\bprevent\w*|\bchemoprophyla\w*", re.IGNORECASE
)


def _names_a_kind_of_its_own(term: SubjectTerm) -> bool:
    """A disease's, an organism's or a procedure's own name (腺病毒, adenovirus, 狭窄), not a
    word about one (颅内, intracranial)."""
    # An English name, and its first Chinese form: "influenza" has no English disease ending,
    # its 流行性感冒 names a disease (a Chinese name is judged by its own ending).
    translated = None if has_cjk(term.term) else next((f for f in term.forms if has_cjk(f)), None)
    # A Chinese abbreviation by the names it shortens: 新冠 is 新型冠状病毒感染's.
    spelled_out = [f for f in term.forms[1:] if abbreviates(term.term, f)]
    return any(
        (ZH_DISEASE_STEM.search(f) or f.endswith(("病毒", *_UNSUFFIXED_DISEASES)))
        and not _A_FEVER.fullmatch(f)
        if has_cjk(f)
        else EN_NAME_STEM.search(normalised(f))
        for f in (term.forms[0], *([translated] if translated else []), *spelled_out)
    ) and not drug_shaped(term.term)


_IMAGING_HEADING: Final[re.Pattern[str]] = re.compile(r"影像|\bimaging\b|\bradiolog", re.IGNORECASE)
_IMAGING_METHOD: Final[re.Pattern[str]] = re.compile(
    r"^(?:CT|HRCT|MRI|MR|PET(?:[-/]?CT)?|X线|X光|胸片|超声|彩超|B超|磁共振|计算机断层|"
    r"computed tomography|magnetic resonance|x-?rays?|chest x-?rays?|radiographs?|ultrasound)$",
    re.IGNORECASE,
)


def _an_imaging_method(term: SubjectTerm) -> bool:
    return _IMAGING_METHOD.match(term.term) is not None


# Diseases whose names have no disease ending (流行性感冒, 破伤风, 脑卒中).
_UNSUFFIXED_DISEASES: Final[tuple[str, ...]] = ("感冒", "流感", "破伤风", "卒中", "中风")
# A fever is a sign, not a disease, though it ends as 登革热 does ("流感患儿高热，可以用阿司匹林
# 退热吗": the sentence on antipyretics need not say 高热).
_A_FEVER: Final[re.Pattern[str]] = re.compile(r"(?:发|高|低|中高|超高|中等度?)热")


def _for_children_only(sentence: str, clauses: Sequence[str], headings: Sequence[str]) -> bool:
    """A sentence naming nobody, under a paediatric guideline's title or a section for
    children ("儿童肺炎支原体肺炎诊疗指南", "儿童特殊情况的处理"), is said of children: no answer
    for an adult ("阿奇霉素10mg/(kg.d)" is a child's dose)."""
    if populations(" ".join((sentence, *clauses))):
        return False  # it says whom it is about; the population rules above judged that
    named = populations(" ".join(headings))
    return "child" in named and "adult" not in named


def heading_of(section: str) -> str:
    """A section path's own heading ("狂犬病 > 四、临床表现 > （一）潜伏期" → "（一）潜伏期")."""
    return section.rsplit(" > ", 1)[-1].strip()


# Aspects a section's heading may state for every item under it: a list of contraindications,
# indications or adverse effects names them once, above the items.
_HEADING_LISTS: Final[frozenset[str]] = frozenset(
    {"contraindication", "indication", "adverse_effects", "severity"}
)
# A heading is no sentence: "抗蛇毒血清使用指征：患者需使用抗蛇毒血清。" says something itself.
_SENTENCE_END: Final[re.Pattern[str]] = re.compile(r"[。；;.!?！？]")


def stated_under(aspect: Aspect, sentence: str, labels: Sequence[str] = ()) -> bool:
    """Whether the sentence states the aspect, its words given by itself or by a label it
    stands under; what the aspect needs beyond its words (a number with a time unit for a
    period, a dose unit for a dose) the sentence must hold itself."""
    if aspect.stated_in(sentence):
        return True
    if not (aspect.needs_dose or aspect.needs_time or aspect.name == "timing") and any(
        introduces_a_list(label) and aspect.stated_in(label) for label in labels
    ):
        # An item of a list whose lead-in states the aspect ("并有以下表现时，需及早气管插管：" over
        # "（4）频繁呼吸暂停。"): the list is what the lead-in says. A dose, a time or when to act
        # each item states itself ("下列人群…尽早给予抗病毒药物治疗。" over "年龄≥65岁的老年人；"
        # says who, not how soon).
        return True
    if aspect.name in _HEADING_LISTS and any(
        0 < len(label) <= LABEL_MAX_CHARS
        and not _SENTENCE_END.search(label)
        and aspect.stated_in(label)
        for label in labels
    ):
        # A section headed by what it lists ("（3）TACE 的禁忌证", "不良反应"): each of its
        # items is one ("⑥肾功能障碍：血肌酐>176.8 μmol/L…").
        return True
    return any(
        0 < len(label) <= LABEL_MAX_CHARS
        and not aspect.stated_in(label)
        and aspect.stated_in(f"{label}。{sentence}")
        for label in labels
    )


# A sentence that defines its subject: "肺炎支原体肺炎（MPP）：指…", "…是指…", "Health
# care-associated infection (also referred to as …): An infection occurring …", "X is
# defined as …".
_DEFINITION: Final[re.Pattern[str]] = re.compile(
    r"^\W*[^。；;]{1,40}?(?:[:：]\s*(?:指|是指|系指|又称|也称|亦称)|是指|系指|指的是|定义为)|"
    r"^\W*[A-Za-z][\w\s\-–/,()“”\"']{1,120}?[:：]\s+(?:An?|The)\s|"
    r"\b(?:is|are) defined as\b|\brefers? to (?:an?|the) ",
    re.IGNORECASE,
)
# A question asking what something is, how it is defined, or when it counts as it.
_WHAT_IT_IS: Final[re.Pattern[str]] = re.compile(
    r"什么是|是什么|是指|指什么|定义|含义|什么叫|何为|何谓|算|属于|诊断|标准|分型|分类|"
    r"\bwhat (?:is|are)\b|\bdefin|\bmean(?:s|ing|t)?\b|\bstand for\b|\bcriteri|\bdiagnos|"
    r"\bclassif|\bconsidered\b|\bcount(?:s|ed)? as\b|\bqualif",
    re.IGNORECASE,
)


def defines(sentence: str) -> bool:
    """Whether a sentence defines its subject ("X：指…", "X: An infection occurring …")."""
    return _DEFINITION.search(unicodedata.normalize("NFKC", sentence)) is not None


def no_definition_answers(analysis: QuestionAnalysis) -> bool:
    """Whether a definition is no answer: the question asks neither what a name means or when
    something counts as it, nor an aspect the definition may state ("TIA…：指…临床症状一般多在
    1~2小时内恢复" says how long)."""
    return analysis.aspect is None and _WHAT_IT_IS.search(analysis.text) is None


def says_none_of_it(analysis: QuestionAnalysis, said: str, *, under: Sequence[str] = ()) -> bool:
    """Asked no aspect and no drug, a sentence that says none of the question's words itself
    (its names only in the heading it stands under) while the question asks something more of
    them: it answers another question under that heading ("按照要求处理医疗废物…" under "医院感染
    控制措施" says nothing of 监测 or 报告), unless a sentence after it depends on it. A heading
    that says all the question asks (`under`: "（1）风热犯卫" for "流感风热犯卫用什么方") is what
    the sentences under it are about."""
    if analysis.aspect is not None or asks_which_drug(analysis):
        return False
    words = (*analysis.terms, *analysis.common)
    heading = " ".join(under)
    more = [
        t
        for t in words
        if not t.anchor
        and t.in_library
        and not populations(t.term)
        and not term_in_text(t, heading)
    ]
    return bool(more) and not any(term_in_text(t, said) for t in words)


def _discriminates(
    analysis: QuestionAnalysis,
    sentence: str,
    context: Sequence[str],
    titles: Sequence[str],
    *,
    labels: Sequence[str] = (),
) -> bool:
    """Whether the sentence is about more than its document's topic.

    A name that only the document's title gives ("新冠" of 新型冠状病毒感染诊疗方案) holds for
    every sentence of that guideline: it tells none apart. Then another of the question's
    words the library uses (激素 in "新冠重型病人用激素…") must be in the sentence or what it
    stands under, or the sentence answers some other question about the topic.
    """
    beyond = " ".join((sentence, *(c for c in context if c not in titles)))
    title = " ".join(titles)
    # A name the title holds tells no sentence of that guideline apart, even written in the
    # sentence ("…腺病毒肺炎是儿童社区获得性肺炎中较为严重的类型之一" answers no question about
    # the flow of a nasal cannula); nor does whom the question is about.
    if any(term_in_text(a, beyond) and not term_in_text(a, title) for a in analysis.anchors):
        return True
    aspect = analysis.aspect
    if aspect is not None and aspect.distinctive and stated_under(aspect, sentence, labels):
        # "What is the incubation period of seasonal influenza?": the influenza guideline's
        # "潜伏期一般为1～7天" is the answer though it does not say "seasonal"; "signs of severe
        # adenovirus pneumonia": the items under "（一）重症病例的早期识别" are.
        return True
    special = populations(analysis.text) & SPECIAL_POPULATIONS
    if special & said_of(beyond) and not special & said_of(title):
        # A special population the question asks of, named here and not by the title, tells
        # the sentence apart: "access appropriate expertise if considering tapering opioids
        # during pregnancy" of an opioid guideline answers "孕妇…阿片类药物…减量".
        return True
    others = [
        t
        for t in (*analysis.terms, *analysis.common)
        if not t.anchor and t.in_library and not populations(t.term)
    ]
    return not others or any(term_in_text(t, beyond) for t in others)


def _misses_the_class_asked(analysis: QuestionAnalysis, here: str, sentence: str) -> bool:
    """A question about using a class of drug it names only by an everyday word (激素,
    "steroids"), naming no drug: the sentence must speak of that class or name a drug."""
    if analysis.aspect is None or analysis.drug_anchors:
        return False
    classes = [t for t in analysis.common if drug_shaped(t.term)]
    if not classes:
        return False
    if any(term_in_text(t, here) for t in classes):
        return False
    return not names_some_drug(sentence)


def _only_listed(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether the sentence names the question's main name only as one item of a list of three
    or more ("…的疾病有：幼虫病、科罗拉多蜱热、莱姆病、鼠伤寒…"), and none of the question's other
    words: the list is about its head, not about each item. Asked which ones or what something
    includes, the list is the answer."""
    if not analysis.anchors or analysis.aspect is not None or _LISTING_ASKED.search(analysis.text):
        return False
    main = analysis.anchors[0]
    text = unicodedata.normalize("NFKC", sentence)
    spans = [
        m.span()
        for form in main.forms
        for m in re.finditer(re.escape(unicodedata.normalize("NFKC", form)), text, re.IGNORECASE)
    ]
    if not spans or not all(_a_list_item(text, start, end) for start, end in spans):
        return False
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    others = [t for t in (*analysis.terms, *analysis.common) if t is not main]
    return not any(term_in_text(t, rest) for t in others)


def _a_list_item(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is an item of a list of three or more in its clause: "、" beside
    it with two or more in the clause, or ", " beside it with two or more commas after the
    clause opens."""
    opens = max(text.rfind(c, 0, start) for c in "，。；;：:") + 1
    closes = [i for c in "，。；;：:" if (i := text.find(c, end)) >= 0]
    clause = text[opens : min(closes) if closes else len(text)]
    if clause.count("、") >= 2:
        return text[start - 1 : start] == "、" or text[end : end + 1] in ("、", "等")
    return text[opens:].count(", ") >= 2 and (
        text[max(0, start - 2) : start] == ", " or text[end : end + 1] == ","
    )


_LISTING_ASKED: Final[re.Pattern[str]] = re.compile(
    r"哪些|哪几|包括|有什么|是否属于|属于|"
    r"\bwhich\b|\binclude|\bamong\b|\bis\b.{0,30}\b(?:a|an|one of)\b",
    re.IGNORECASE,
)
