"""The pharmacological class a named drug belongs to (issue #10 item 2).

Guidelines often speak of a class where a prescriber names the drug the patient is on: the
CDC opioid guideline says "opioids" and "benzodiazepines", a doctor asks about oxycodone,
Percocet or alprazolam. A drug's class is read from its name — an INN stem shared by the
class (-azepam, -codone) or the member's own name in English or Chinese — never from a
question. The classes are general pharmacology; a drug of no class listed here has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DrugClass:
    """A class of drugs: the names guidelines call it by, and how its members are named."""

    names: tuple[str, ...]
    members: re.Pattern[str]


def _members(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A salt or a dosage form around a Chinese drug name (盐酸羟考酮缓释片).
_ZH_SALT: Final[str] = r"(?:盐酸|硫酸|枸橼酸|酒石酸|磷酸)?"
_ZH_FORM: Final[str] = r"(?:缓释片|控释片|片|胶囊|注射液|透皮贴剂|贴剂)?"

CLASSES: Final[tuple[DrugClass, ...]] = (
    DrugClass(
        names=("opioid", "opioids", "阿片类药物", "阿片类"),
        members=_members(
            r"[a-z\-]*(?:codone|morphone|orphine|fentanyl|fentanil)|methadone|morphine|codeine|"
            r"tramadol|tapentadol|meperidine|pethidine|levorphanol|"
            # Brands of opioid products (oxycodone/acetaminophen, buprenorphine/naloxone …).
            r"percocet|vicodin|norco|oxycontin|roxicodone|dilaudid|suboxone|subutex|duragesic|"
            rf"{_ZH_SALT}(?:吗啡|羟考酮|氢可酮|[舒瑞阿]?芬太尼|美沙酮|可待因|曲马多|他喷他多|哌替啶|"
            rf"丁丙诺啡|布托啡诺|纳布啡|羟吗啡酮|氢吗啡酮){_ZH_FORM}"
        ),
    ),
    DrugClass(
        names=("benzodiazepine", "benzodiazepines", "苯二氮䓬类", "苯二氮䓬类药物"),
        members=_members(
            r"[a-z]*(?:zepam|zolam)|chlordiazepoxide|clobazam|xanax|valium|ativan|klonopin|"
            rf"{_ZH_SALT}(?:[\w]{{1,3}}(?:西泮|唑仑)|氯氮䓬){_ZH_FORM}"
        ),
    ),
)
# A drug's name, or two joined ("oxycodone/acetaminophen", "羟考酮/对乙酰氨基酚"): a longer
# phrase ("morphine milligram equivalent", 吗啡毫克当量) names something else.
_PARTS_RE: Final[re.Pattern[str]] = re.compile(r"[/+\s]+")
_MOST_PARTS: Final[int] = 2


def classes_of(forms: tuple[str, ...]) -> tuple[str, ...]:
    """The names of the classes any of a drug's forms (its names in either language) belongs
    to, in the order listed; none for a form that names the class itself."""
    names: list[str] = []
    for drug_class in CLASSES:
        if any(f.lower() in drug_class.names for f in forms):
            continue
        if any(_names_a_member(drug_class, f) for f in forms):
            names += drug_class.names
    return tuple(names)


def _names_a_member(drug_class: DrugClass, form: str) -> bool:
    parts = [p for p in _PARTS_RE.split(form.strip()) if p]
    return len(parts) <= _MOST_PARTS and any(drug_class.members.fullmatch(p) for p in parts)
