"""Which drug a sentence speaks of, against the names a question asks about (issue #10).

A sentence giving another drug's dose, a combination product's tablet count, or opening with
another drug's name is about that drug, whatever the question's other names; a question asking
which drug to use (naming a class, or none) is answered by a sentence naming one. Used by
assistant/responsiveness.py to judge a sentence, and by assistant/generation.py to compose an
extractive answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final, NamedTuple

from assistant.aspects import dose_starts, states_dose
from assistant.language import CJK_CHARS, has_cjk
from assistant.mentions import drug_shaped, form_in_text, without_names
from assistant.passage_layout import LABEL_MAX_CHARS, entry_label
from assistant.populations import populations
from assistant.questions import (
    QuestionAnalysis,
    normalised,
    term_in_text,
)
from assistant.zh_names import names_in

# "Which drug / 哪种药": the answer names a drug the question does not.
_WHICH_DRUG_RE: Final[re.Pattern[str]] = re.compile(
    # A kind may stand between ("用什么溶栓药", "which thrombolytic drugs"); "什么时候用药"
    # asks when and "什么人不能用药" whom, not which.
    rf"哪种|哪一种|哪类|(?:哪些|什么|何种)(?!时|人|情况|患者|病人|样的)[{CJK_CHARS}]{{0,4}}?药|"
    # A class whose name ends in no 药 ("用什么抗生素", "什么镇静剂").
    rf"(?:哪些|什么|何种|哪种)(?:抗生素|抗菌素|激素|[{CJK_CHARS}]{{1,3}}(?<!试)(?<!消毒)剂)|"
    r"(?:一线|二线|首选)(?:的)?(?:治疗|用药|药物|方案)(?:是什么|有哪些|选什么)|"
    r"首选(?:什么|哪种|哪些|何种)(?:治疗|药物?|方案)|"
    r"\b(?:which|what)\s+(?:[a-z-]+\s+){0,2}?(?:drugs?|medications?|medicines?|agents?)\b|"
    # A class named by its own word ("what sedative", "which antibiotics").
    r"\b(?:which|what)\s+(?:[a-z-]+\s+)?(?:sedatives?|analgesics?|painkillers?|antibiotics?|"
    r"antivirals?|antifungals?|anticoagulants?|antiplatelets?|antiemetics?|antidotes?|"
    r"antihypertensives?|steroids?|corticosteroids?|vasopressors?|diuretics?|opioids?)\b|"
    r"\b(?:first|second)[- ]line\s+(?:[a-z]+\s+)?(?:therapy|therapies|treatments?|drugs?|"
    r"agents?|regimens?)\b",
    re.IGNORECASE,
)


# Which member of a class is chosen ("the first-choice anticoagulant", "首选哪种抗病毒药").
_MEMBER_ASKED: Final[re.Pattern[str]] = re.compile(
    r"首选|一线|哪种|哪一种|哪类|哪个|什么药|"
    r"\bfirst[- ](?:choice|line)\b|\bpreferred\b|\bof choice\b|\bwhich\b",
    re.IGNORECASE,
)
_MEMBER_REACH: Final[int] = 16  # characters from the choosing word to the class it asks of
# A class of drug by its name's shape: 抗凝药, 抗病毒药物, 镇静剂, 他汀类; anticoagulant(s),
# antibiotics, antivirals, inhibitors, agents.
_CLASS_NAME: Final[re.Pattern[str]] = re.compile(
    r"(?:药|药物|剂|类)$|(?:\banti\w+|agents?|drugs?|inhibitors?|blockers?|(?:ant)?agonists?|"
    r"statins?|steroids?|opioids?)$",
    re.IGNORECASE,
)


def names_the_member_asked(
    analysis: QuestionAnalysis, sentence: str, context: Sequence[str]
) -> bool:
    """Asked which member of a class to choose, naming no drug ("What is the first-choice
    anticoagulant for acute cerebral venous thrombosis?"), the sentence naming a drug under
    the class ("低分子肝素是急性期抗凝治疗的首选药物" under "（二）抗凝治疗") names the answer, not
    another subject."""
    if analysis.drug_anchors or not analysis.anchors:
        return False
    kinds = [
        f for a in analysis.anchors for f in a.forms if _CLASS_NAME.search(f) and not populations(f)
    ]
    # The class is what the choosing word asks of ("首选什么抗凝药", "which anticoagulant"), not
    # a word elsewhere ("which patients … anticoagulant").
    asked = any(
        form_in_text(kind, analysis.text[m.end() : m.end() + _MEMBER_REACH])
        for m in _MEMBER_ASKED.finditer(analysis.text)
        for kind in kinds
    )
    here = " ".join((sentence, *context))
    return asked and all(term_in_text(a, here) for a in analysis.anchors)


def asks_which_drug(analysis: QuestionAnalysis) -> bool:
    """A question asking which drug to use, naming none: "which one" or a drug class only."""
    if analysis.drug_anchors:
        return False
    if _WHICH_DRUG_RE.search(analysis.text):
        return True
    return any(drug_shaped(t.term) for t in (*analysis.terms, *analysis.common) if not t.anchor)


def recommends_a_class(sentence: str) -> bool:
    """Whether a sentence says to choose a class of drug ("应首选抗血小板药物", "可行抗凝治疗",
    "recommend anticoagulant therapy"): the answer to "首选什么药" when the guideline names no
    single drug. Naming a class to avoid ("避免使用抗菌药物") recommends none."""
    return _CLASS_CHOSEN.search(unicodedata.normalize("NFKC", sentence)) is not None


_DRUG_CLASS: Final[str] = (
    rf"(?:抗|降)[{CJK_CHARS}]{{1,5}}?(?:药物|药|制剂|治疗)|[{CJK_CHARS}]{{2,6}}类(?:药物|药)|"
    r"(?:anti(?:coagulant|platelet|viral|biotic|microbial|hypertensive)|thrombolytic|statin)s?"
    r"(?: (?:agents?|drugs?|medications?|therapy|treatment))?"
)
_CLASS_CHOSEN: Final[re.Pattern[str]] = re.compile(
    rf"(?<!避免)(?<!不)(?<!禁)(?:首选|选用|选择|可用|可行|可予|予以|给予|应用|采用|推荐)"
    rf"(?:使用)?\s*(?:{_DRUG_CLASS})|"
    rf"\b(?:recommend(?:s|ed)?|prefer(?:red)?|first[- ]line|use|start|initiate)\b[^.;]{{0,30}}?"
    rf"\b(?:{_DRUG_CLASS})",
    re.IGNORECASE,
)


# A drug chosen first ("首选…", "preferred", "first-line"): the answer to which drug, dose and all.
_CHOSEN: Final[re.Pattern[str]] = re.compile(
    r"首选|一线|\bpreferred\b|\bfirst[- ]line\b|\bdrug of choice\b", re.IGNORECASE
)


def dose_of_an_unasked_drug(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Asked which drug to use but no dose ("可以换成什么药"), a sentence giving the dose of a
    drug the question does not name ("hydrocodone 5 mg … one or two tablets every 4–6 hours")
    is a product's dosing, not the drug the guideline recommends."""
    if analysis.aspect is not None or not asks_which_drug(analysis):
        return False  # "推荐哪种、每天多少量" asks the dose too
    if not states_dose(sentence) or _CHOSEN.search(sentence):
        return False  # "首选IVIG 2g/kg和甲泼尼龙1～2mg/kg/日": the drug chosen, with its dose
    forms = asked_names(analysis)
    return any(drug_shaped(n) and not is_among(forms, n) for n in names_in(sentence))


def a_combination_products_count(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Asked a drug's dose, a sentence counting tablets of a product that combines it with a
    drug the question does not name ("a label for hydrocodone bitartrate (5 mg) and
    acetaminophen (300 mg) states … the total daily dosage should not exceed eight tablets")
    gives the product's dosing, not the asked drug's."""
    if analysis.aspect is None or not analysis.aspect.needs_dose or not analysis.anchors:
        return False
    if not _PRODUCT_COUNT.search(sentence):
        return False
    forms = asked_names(analysis)
    others = [n for n in names_in(sentence) if drug_shaped(n) and not is_among(forms, n)]
    # Any name asked: not every drug has a drug's shape ("acetaminophen").
    asked = {f for a in analysis.anchors for f in a.forms if f and not has_cjk(f)}
    for one, other in ((a, o) for a in asked for o in others):
        a, o = re.escape(one), re.escape(other)
        if re.search(rf"\b{a}\b{_JOINED}{o}\b|\b{o}\b{_JOINED}{a}\b", sentence, re.IGNORECASE):
            return True
    return False


# Two drugs of one product: "hydrocodone bitartrate (5 mg) and acetaminophen", "hydrocodone
# 5 mg/acetaminophen 325 mg", "X + Y".
_JOINED: Final[str] = r"[^.;]{0,30}?(?:\band\b|/|\+|\bplus\b)\s*"
# A count of the product's units, not an amount of either drug ("one or two tablets").
_PRODUCT_COUNT: Final[re.Pattern[str]] = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+"
    r"(?:(?:or|to)\s+\w+\s+)?(?:tablets?|capsules?|pills?)\b|\d+\s*(?:片|粒)",
    re.IGNORECASE,
)


def only_other_drugs_doses(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Asked a drug's dose, a Chinese sentence naming it whose every dose follows another
    drug's name: "可予甲泼尼龙10～30mg/kg/日，或英夫利西单抗5～10mg/kg或托珠单抗" gives no
    dose of 托珠单抗. A dose with no drug named before it is left alone (its drug is the
    sentence's subject, "用法：首次剂量4～8mg/kg")."""
    if analysis.aspect is None or not analysis.aspect.needs_dose:
        return False
    if not analysis.drug_anchors or not has_cjk(sentence):
        return False
    norm = normalised(sentence)
    doses = dose_starts(norm)
    if not doses:
        return False
    forms = asked_names(analysis)
    named: list[tuple[int, bool]] = []  # where a drug's name ends, whether it is asked
    for name in {n for n in names_in(sentence) if drug_shaped(n)}:
        asked = is_among(forms, name)
        named.extend((m.end(), asked) for m in re.finditer(re.escape(name), norm))
    # The asked drug by its own forms too: the segmenter may miss it ("或英夫利西单抗5～10mg/kg"),
    # never inside another drug's name (红霉素 in 罗红霉素).
    own = without_names(analysis.other_names, norm)
    for form in {normalised(f) for a in analysis.drug_anchors for f in a.forms if f}:
        named.extend((m.end(), True) for m in re.finditer(re.escape(form), own))
    for dose in doses:
        before = [(end, asked) for end, asked in named if end <= dose]
        if not before or max(before)[1]:
            return False
    return True


def opens_with_another_drug(analysis: QuestionAnalysis, sentence: str) -> bool:
    """A sentence that opens with a drug the question does not name ("法维拉韦：适用于…",
    "Methadone has …"): the sentences after it that name no drug of their own are about it."""
    forms = asked_names(analysis)
    if any(term_in_text(a, sentence) for a in analysis.drug_anchors) or any(
        drug_shaped(n) and is_among(forms, n) for n in names_in(sentence)
    ):
        return False  # it names the asked drug too ("…包括左氧氟沙星和莫西沙星")
    return any(not is_among(forms, n) for n in _opening_drugs(sentence))


def _opening_drugs(sentence: str) -> list[str]:
    """The drug names a sentence opens with (after its list marks)."""
    norm = normalised(sentence)
    start = len(norm) - len(_LEADING_MARKS.sub("", norm))
    return [
        n for n in names_in(sentence) if drug_shaped(n) and 0 <= norm.find(n) - start <= _OPENING
    ]


def another_entry(question: str, label: str | None, entries: frozenset[str]) -> bool:
    """An entry of a numbered list whose sibling entry the question names.

    "②高剂量：…" beside "①低剂量：…" when the question asks the low-dose regimen
    ("低剂量方案奥沙利铂多少"); "（2）儿童：" beside "（1）成人：" when it asks the adult one.
    `label` is the sentence's own (`entry_label`), `entries` its passage's (`numbered_entries`):
    both are entries the passage numbers; the sentence's is not in the question, the sibling's
    is. A label inside an entry ("注意：…") is no sibling.
    """
    asked = normalised(question)
    if label is None or normalised(label) in asked:
        return False
    return label.strip() in entries and any(
        other != label.strip() and normalised(other) in asked for other in entries
    )


# A label naming a class, not a drug: "单克隆抗体：", "神经氨酸酶抑制剂：", "抗病毒药物：".
_CLASS_LABEL: Final[re.Pattern[str]] = re.compile(
    r"(?:抗体|抑制剂|激动剂|拮抗剂|制剂|药物|药|疫苗|inhibitors?|antibod(?:y|ies)|agents?|drugs?)"
    r"\W*$",
    re.IGNORECASE,
)


def labelled_by_another_drug(
    analysis: QuestionAnalysis, sentence: str, *, head: bool = False
) -> bool:
    """An entry labelled by a drug the question does not name ("（1）瑞戈非尼：在多国被批准用于既往
    接受过索拉非尼治疗的…"): all it says is about that drug, whatever else it names. A label
    that names a class ("喹诺酮类：包括…莫西沙星", "单克隆抗体：安巴韦单抗/罗米司韦单抗注射液") or
    one of the question's names is no other drug's. `head`: the sentence is a list item's head
    cut at its first stop (a passage's `item_head`, "（2）纳武利尤单抗联合伊匹木单抗"); when
    short, all of it is the label."""
    label = entry_label(sentence, longest=LABEL_MAX_CHARS)
    if label is None and head:
        body = _LEADING_MARKS.sub("", normalised(sentence))
        label = body if len(body) <= LABEL_MAX_CHARS else None
    if label is None:
        return False
    if (
        "类" in label
        or _CLASS_LABEL.search(label)
        or any(term_in_text(a, label) for a in analysis.anchors)
    ):
        return False
    forms = asked_names(analysis)
    names = names_in(label)
    return any(drug_shaped(n) for n in names) and not any(is_among(forms, n) for n in names)


def opens_with_an_asked_drug(analysis: QuestionAnalysis, sentence: str) -> bool:
    """A sentence that opens with a drug the question names ("索拉非尼可用于…")."""
    forms = asked_names(analysis)
    return any(is_among(forms, n) for n in _opening_drugs(sentence))


def names_a_drug(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a sentence names a drug (asked or not) or one of the question's names."""
    return names_some_drug(sentence) or any(term_in_text(a, sentence) for a in analysis.anchors)


def names_another_single_drug(analysis: QuestionAnalysis, text: str) -> bool:
    """Whether a text names a drug the question does not, one drug and not a class of them
    ("在应用糖皮质激素时" names the class its section is about, not another drug)."""
    forms = asked_names(analysis)
    return any(
        drug_shaped(n) and not is_among(forms, n) and not _names_a_class(n) for n in names_in(text)
    )


def _names_a_class(name: str) -> bool:
    return "类" in name or name.endswith("激素") or _CLASS_NAME.search(name) is not None


def names_some_drug(text: str) -> bool:
    """Whether a text names a drug by its name's shape, asked or not."""
    return any(drug_shaped(n) for n in names_in(text))


_LEADING_MARKS: Final[re.Pattern[str]] = re.compile(r"^[\W\d_]+")  # list marks: ②, （1）, 1.
_OPENING: Final[int] = 2  # characters a drug's name may stand after a sentence's start


class AskedNames(NamedTuple):
    forms: frozenset[str]  # the question's term forms
    others: frozenset[str]  # other drugs' names holding one of them (罗红霉素 for 红霉素)


def is_among(asked: AskedNames, name: str) -> bool:
    return is_asked_name(name, asked.forms, asked.others)


def is_asked_name(name: str, forms: Iterable[str], others: Iterable[str]) -> bool:
    """Whether a name found in a sentence is one of the question's forms (or part of one), not
    another drug's name that holds one ("罗红霉素" when 红霉素 is asked)."""
    if any(other in name for other in others):
        return False
    return any(name in f or f in name for f in forms)


def asked_names(analysis: QuestionAnalysis) -> AskedNames:
    return AskedNames(
        frozenset(normalised(f) for t in analysis.terms for f in t.forms), analysis.other_names
    )


def names_other(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a sentence names a drug or disease (by its name's shape) the question does not.

    Asked which drug a disease is treated with, naming none ("新冠重型病人用激素，推荐哪种、每天
    多少量"), the answer names drugs the question could not ("地塞米松5mg/日"): they are no
    other subject. Otherwise another drug's sentence is about that drug.
    """
    forms = asked_names(analysis)
    others = [n for n in names_in(sentence) if not is_among(forms, n)]
    if asks_which_drug(analysis):
        others = [n for n in others if not drug_shaped(n)]
    return bool(others)
