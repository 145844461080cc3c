"""What a question asks (issue #10; DESIGN.md §1 step 4).

A question has a **subject** — the drug, disease, procedure or population it names — and an
**aspect** — what it wants to know about it (dose, duration, timing, contraindication…; read and
checked in assistant/aspects.py).

- Subject terms are the question's content words minus question words, aspect cues and words
  every clinical text uses; each is weighted by its rarity in the library (IDF over the indexed
  passages), so "奥司他韦" or "naloxone" outweighs "剂量"/"patient". **Anchors** are the terms
  that are specific in general language too (jieba's word frequencies for Chinese, the number of
  CC-CEDICT glosses a word appears in for English): a paraphrase ("kid", "大人") never becomes an
  anchor, a drug or disease name does.
- Each term carries its forms in the other language (the term table, assistant/glossary.py), so
  an English passage can satisfy a Chinese question and the reverse.
- Whether a sentence answers the question is judged in assistant/responsiveness.py; whether a
  text names a term is `term_in_text` here, over assistant/mentions.py's `form_in_text`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from assistant.aspects import (
    ASPECTS,
    DRUG_ASPECTS,
    Aspect,
    amount_of_a_drug,
    aspect_words,
    detect_aspect,
    names_an_aspect,
)
from assistant.domain import Language
from assistant.drug_classes import classes_of
from assistant.embedding import EN_STOPWORDS, ZH_STOPWORDS, strip_question_words
from assistant.glossary import (
    EN_LETTERS,
    EN_NAME_STEM,
    LayeredTerms,
    base_forms,
    fold_diacritics,
    normalise_en,
)
from assistant.language import (
    CJK_CHARS,
    NAME_BREAKS,
    detect_language,
    has_cjk,
    normalised,
    written_wording,
)
from assistant.mentions import CHEMICAL_PREFIXES, drug_shaped, form_in_text, without_names
from assistant.populations import (
    POPULATIONS,
    populations,
)
from assistant.term_rarity import TermRarity
from assistant.zh_names import (
    CJK_RUN_RE,
    GENERIC_ZH,
    VERB_TAGS,
    ZH_DISEASE_STEM,
    ZH_DRUG_STEM,
    ZH_NAME_FREQ,
    abbreviation_in,
    cut,
    cut_known,
    expansions,
    join_disease_pieces,
    take_back_name_starts,
    unknown_fragment,
    word_counts,
    word_tags,
)

_GENERIC_EN: Final[frozenset[str]] = frozenset(
    str.split(
        "patient patients people person adult adults child children kid kids infant infants baby "
        "woman women man men someone anyone treatment treat treating therapy use used using take "
        "taking give giving given recommend recommended recommendation guideline guidelines "
        "clinical clinician doctor hospital drug drugs medicine medication medications dose doses "
        "dosage dosing amount much long often many first line start starting stop stopping usual "
        "typical standard best right safe ok okay need needed needs per day daily time times "
        "when what which how should would could can may might must does do is are be effect "
        "effects case cases management manage approach option options level levels oral "
        "intravenous iv injection injected subcutaneous intramuscular inhaled topical "
        "follow followup recheck revisit once if whether while "
        # Which of several is asked for: the English of 首选 and 选择, never a subject.
        "prefer preferred preferable preference choice choose chosen "
        # Whose guideline it is ("the Chinese stroke guideline"), and what it lets one do.
        "chinese american european british japanese national allow allowed allows permit "
        # What is asked of a name, not a name ("How is X defined", "rather than").
        "define defined defines definition meaning rather instead "
        # How fast or soon something is asked ("how fast should I taper"): the pace asked.
        "fast quickly quick soon rapidly slowly "
        # Whether it may be done ("Is it acceptable…"), and words of counting and time that
        # name nothing ("two patients", "during a surge").
        "acceptable appropriate advisable reasonable possible during two three both between "
        # Being given something ("should infants get"): its gloss 获得 is inside 社区获得性肺炎.
        "get gets getting got receive receives receiving received "
        # How often a prescription says a dose is taken (QID, q12h, PRN): a frequency, no name.
        "qd bid tid qid qhs qod prn q4h q6h q8h q12h q24h tab tabs"
    )
)
# A word at least this frequent in general language is no subject anchor (a paraphrase or a
# population word): jieba's dictionary count for Chinese, CC-CEDICT gloss count for English.
ZH_GENERAL_FREQ: Final[int] = 1000
EN_GENERAL_GLOSSES: Final[int] = 40
# An English word of a question, diacritics and all ("opioid-naïve", "Ménière's", "β-blocker").
_EN_TOKEN_RE: Final[re.Pattern[str]] = re.compile(rf"[{EN_LETTERS}][{EN_LETTERS}0-9\-]*(?:['’]s)?")
# A compound with a digit is a code and stays whole (SARS-CoV-2, COVID-19, HbA1c).
_HAS_DIGIT_RE: Final[re.Pattern[str]] = re.compile(r"\d")
_CONTRACTION_RE: Final[re.Pattern[str]] = re.compile(
    r"\b[A-Za-z]+(?:n['’]t|['’](?:re|ve|ll|d|m))\b", re.IGNORECASE
)
_PLACEHOLDER_RE: Final[re.Pattern[str]] = re.compile(r"\[[^\[\]\s]{1,24}\]")
# The patient's age ("a 6 month old", "3yo", "a 70-year-old"): whom the question is about,
# never its words ("old", "month").
_AGE_OF_PATIENT_RE: Final[re.Pattern[str]] = re.compile(
    r"\b\d+(?:\.\d+)?[\s-]*(?:years?|yrs?|months?|mos?|weeks?|wks?|days?)[\s-]*old\b|"
    r"\b\d+\s*y/?o\b",
    re.IGNORECASE,
)

# A measured value ("below 50 mmHg", "PEEP 5 cmH2O", "10 mg/kg"): its unit is what the number
# counts, never a name of the question ("mmHg" read as the heaviest name left ECMO out).
_MEASURED_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9_.])\d+(?:\.\d+)?\s*"
    r"(?:mmHg|cmH2O|kPa|mmol|μmol|umol|mg|mcg|μg|ug|ng|kg|mL|dL|IU|cm|mm)"
    r"(?:/(?:kg|d|day|h|hr|L|dL|min|m2|m²))*(?![A-Za-z0-9])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SubjectTerm:
    """One subject term of a question with its forms in every language and its weight."""

    term: str
    forms: tuple[str, ...]
    weight: float
    anchor: bool
    in_library: bool
    # Other drugs whose Chinese name ends in this one's (罗红霉素, roxithromycin, for 红霉素,
    # erythromycin): where a text holds only them, it does not hold this term.
    others: tuple[str, ...] = ()
    # The names of the drug's class (opioids, 阿片类 for oxycodone), among its forms only once
    # no passage found names the drug itself (`by_class`).
    kinds: tuple[str, ...] = ()

    @property
    def by_class(self) -> bool:
        """Whether the term is named by its class as well (no passage found names it)."""
        return bool(self.kinds) and set(self.kinds) <= set(self.forms)

    def named_itself(self, text: str) -> bool:
        """Whether the text names the term by a form of its own, not only by its class."""
        if not self.kinds:
            return term_in_text(self, text)
        own = tuple(f for f in self.forms if f not in self.kinds)
        return term_in_text(replace(self, forms=own, kinds=()), text)


@dataclass(frozen=True)
class QuestionAnalysis:
    """The question's subject terms (heaviest first), its aspect and its other-language terms."""

    text: str
    language: Language
    terms: tuple[SubjectTerm, ...]
    aspect: Aspect | None
    translations: Mapping[str, str] = field(default_factory=dict)
    translated_by_model: bool = False
    # How many of the question's terms each term-table translation stands for (its groups of
    # alternatives): what its search's lexical strength is measured against.
    bag_groups: Mapping[str, int] = field(default_factory=dict)
    # Content words too common in general language to be a subject (激素, 血压): they still
    # tell apart the sentences of a guideline whose title is the subject.
    common: tuple[SubjectTerm, ...] = ()
    # The library's own spelling, in the question's language, of the names it never writes as
    # the question does ("glucometer": "blood glucose meter"; a brand: its generic): searched
    # with the question.
    respelled: str = ""
    # Whether the terms are weighed by their rarity in the library: without it every term weighs
    # the same, and no word is rarer than another.
    weighed: bool = True

    @property
    def anchors(self) -> tuple[SubjectTerm, ...]:
        """The specific subject terms (drug, disease, procedure names), heaviest first."""
        return tuple(t for t in self.terms if t.anchor)

    @functools.cached_property
    def drug_anchors(self) -> tuple[SubjectTerm, ...]:
        """The anchors shaped like a drug's name in some form (奥司他韦, oxycodone, 激素类 …)."""
        return tuple(a for a in self.anchors if any(drug_shaped(f) for f in a.forms))

    @functools.cached_property
    def drug_to_give(self) -> SubjectTerm | None:
        """The drug a question naming several asks whether to give: the object of prescribe,
        offer, give, add or start ("on 90 MME of oxycodone — should I co-prescribe naloxone?",
        "要不要加用纳洛酮"). A sentence answering must name it, whichever others it holds."""
        if len(self.drug_anchors) < 2:
            return None
        text = unicodedata.normalize("NFKC", self.text)
        for drug in self.drug_anchors:
            name = re.escape(drug.term)
            given = rf"{_GIVE_EN}(?:\s+[\w-]+){{0,2}}?\s+{name}\b|{_GIVE_ZH}{name}"
            if re.search(given, text, re.IGNORECASE):
                # Started together ("starting atezolizumab + bevacizumab", "开始阿替利珠单抗联合
                # 贝伐珠单抗"), a combination is given: no one drug of it is the main name.
                others = "|".join(re.escape(d.term) for d in self.drug_anchors if d is not drug)
                combined = rf"{name}\s*(?:\+|/|&|\band\b|\bplus\b|联合|加|和|与|及)\s*(?:{others})"
                if re.search(combined, text, re.IGNORECASE):
                    return None
                return drug
        return None

    @functools.cached_property
    def names_apart(self) -> int:
        """How many names the question writes apart: Latin names it also writes side by side
        (only a space or a hyphen between: "HCV RNA", "HBV-DNA") count once. Chinese writes
        every name side by side ("流感发烧": two things), so Chinese names count apart."""
        anchors = self.anchors
        group = list(range(len(anchors)))
        for i, first in enumerate(anchors):
            for j, second in enumerate(anchors):
                if i == j or has_cjk(first.term) or has_cjk(second.term):
                    continue
                joined = rf"\b{re.escape(first.term)}[\s-]?{re.escape(second.term)}\b"
                if re.search(joined, self.text, re.IGNORECASE):
                    old, new = group[j], group[i]
                    group = [new if g == old else g for g in group]
        return len(set(group))

    @functools.cached_property
    def choices(self) -> tuple[tuple[SubjectTerm, str], ...]:
        """The question's names offered as one of two choices, each with the other choice as
        the question words it ("ABHR or soap and water": ABHR, "soap and water"; "用A还是B")."""
        found = []
        for anchor in self.anchors:
            for pattern in _choice_patterns(re.escape(anchor.term)):
                other = re.search(pattern, self.text, re.IGNORECASE)
                if other and other.group(1).strip():
                    found.append((anchor, other.group(1).strip()))
        return tuple(found)

    @functools.cached_property
    def other_names(self) -> frozenset[str]:
        """Other drugs' names that hold one of the question's drug names (罗红霉素 for 红霉素)."""
        return frozenset(normalised(o) for t in self.terms for o in t.others)

    @property
    def missing(self) -> list[str]:
        """Anchors that no passage of the library contains in any language."""
        return [t.term for t in self.anchors if not t.in_library]

    @property
    def subject(self) -> list[str]:
        """Subject terms for display and reports (anchors first)."""
        return [t.term for t in self.anchors] or [t.term for t in self.terms[:3]]


# Asking whether to give a drug: prescribe, offer, give, add, start (开, 加用, 给予 …).
_GIVE_EN: Final[str] = (
    r"\b(?:co-?prescrib\w*|prescrib\w*|offer\w*|giv(?:e|en|ing)|add(?:ed|ing)?|start(?:ed|ing)?|"
    r"initiat\w*|dispens\w*)"
)
_GIVE_ZH: Final[str] = r"(?:开|加用|加|给|给予|处方|配备|开具|备)(?:上|点|一支|一个)?"


def _choice_patterns(name: str) -> tuple[str, ...]:
    """Where a name stands as one of two choices, the other captured: "A or B", "B or A",
    "A还是B", "B还是A"."""
    return (
        rf"{name}\s*,?\s*(?:or|vs\.?|versus)\s+((?:[A-Za-z][\w\-]*\s*){{1,4}}?)(?=[?？,，.;]|$)",
        rf"(?:^|[\s,，:：–—-])((?:[A-Za-z][\w\-]*\s+){{1,4}}?)(?:or|vs\.?|versus)\s+{name}\b",
        rf"{name}(?:还是|或者|或是)([{CJK_CHARS}A-Za-z]{{2,10}}?)(?=[？?，,。；]|好|更|$)",
        rf"([{CJK_CHARS}A-Za-z]{{2,10}}?)(?:还是|或者|或是){name}",
    )


def _candidate_terms(
    question: str, table: LayeredTerms, rarity: TermRarity | None = None
) -> list[str]:
    """Content terms of the question: jieba words for Chinese, dictionary phrases for English.

    With the library's `rarity`, characters jieba left apart before a disease ending are read
    as the name the library writes (zh_names.join_disease_pieces)."""
    # Redaction placeholders ([PHONE_1], [姓名1]) stand for a patient's data, never a subject.
    unredacted = _PLACEHOLDER_RE.sub(" ", unicodedata.normalize("NFKC", question))
    # A contraction ("hasn't", "we've", "I'm") is grammar, never a name ("hasn").
    stripped = strip_question_words(
        _MEASURED_RE.sub(" ", _AGE_OF_PATIENT_RE.sub(" ", _CONTRACTION_RE.sub(" ", unredacted)))
    )
    terms: list[str] = []
    stripped = _coded_names(stripped, table, terms)
    for run in CJK_RUN_RE.findall(stripped):
        words = cut_known(run, table)
        if rarity is not None:
            words = join_disease_pieces(words, lambda name: rarity.frequency(name) > 0)
        if table.names is not None:
            words = take_back_name_starts(
                words,
                table.names.writes_alone,
                lambda word: (
                    table.knows_chinese(word) or (rarity is not None and word in rarity.df)
                ),
            )
        words = [_without_time_word(w, table) for w in _prefixes_joined(words)]
        terms.extend(w for w in words if len(w) >= 2 or table.knows_chinese(w))
    words = [
        part
        for m in _EN_TOKEN_RE.finditer(stripped)
        for part in _compound_parts(m.group().removesuffix("'s").removesuffix("’s"))
    ]
    i = 0
    while i < len(words):
        # Longest phrase the term table knows ("incubation period", "hand hygiene"); never one
        # opening on a function word other than an article ("for NOWS" read as the
        # dictionary's "for now"; "the WHO" is the organisation).
        for size in (3, 2, 1):
            phrase = " ".join(words[i : i + size])
            if size == 1 or (
                len(words) >= i + size
                and (words[i].lower() not in EN_STOPWORDS or words[i].lower() in _ARTICLES)
                and table.to_chinese(phrase)
            ):
                terms.append(phrase)
                i += size
                break
    return list(dict.fromkeys(terms))


_ARTICLES: Final[frozenset[str]] = frozenset({"the", "a", "an"})


def _prefixes_joined(words: list[str]) -> list[str]:
    """The words, a chemical prefix jieba cut off joined to the drug it makes another of (去甲 +
    肾上腺素: norepinephrine, not epinephrine; 去甲 + 万古霉素: norvancomycin)."""
    out: list[str] = []
    for word in words:
        if out and out[-1] in CHEMICAL_PREFIXES and has_cjk(word):
            out[-1] += word
        else:
            out.append(word)
    return out


def _without_time_word(word: str, table: LayeredTerms) -> str:
    """A word jieba glued to the time word after it ("取栓后", "溶栓前", "手术时", "注药时"): the
    word the table knows, or a word jieba guessed, without it (the time is the question's
    frame, not a name)."""
    if (
        len(word) >= 3
        and word[-1] in _TIME_WORDS
        and not table.knows_chinese(word)
        and (table.knows_chinese(word[:-1]) or word_counts().get(word) is None)
    ):
        return word[:-1]
    return word


# A Latin code written before Chinese ("预防B病毒", "EB病毒"): one name when the term table
# knows it so (the library glosses "B 病毒（B virus）"); split apart, 病毒 is every virus.
_CODE_THEN_CJK_RE: Final[re.Pattern[str]] = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9]{{0,3}})\s?([{CJK_CHARS}]{{2,6}})"
)


def _coded_names(text: str, table: LayeredTerms, terms: list[str]) -> str:
    """Take the coded names the table knows out of the text into `terms` (longest first)."""

    def known(match: re.Match[str]) -> str:
        code, run = match.groups()
        for end in range(len(run), 1, -1):
            for name in (f"{code} {run[:end]}", f"{code}{run[:end]}"):
                if table.knows_chinese(name):
                    terms.append(name)
                    return " " + run[end:]
        return match.group()

    return _CODE_THEN_CJK_RE.sub(known, text)


_EPONYM_RE: Final[re.Pattern[str]] = re.compile(r"[A-Z][a-z]{2,}(?:-[A-Z][a-z]{2,})+")


def _compound_parts(word: str) -> list[str]:
    """A hyphenated compound's parts ("opioid-naïve" -> opioid, naive); a code or an eponym
    stays whole.

    Guidelines write a compound with a hyphen, a space or not at all ("opioid-naive patients",
    "naive to opioids"); its parts are the words that match. Diacritics are folded (naïve is
    spelled naive as often as not).
    """
    word = fold_diacritics(word).strip("-")
    if "-" not in word or _HAS_DIGIT_RE.search(word):
        return [word] if word else []
    if _EPONYM_RE.fullmatch(word):
        return [word]  # an eponym (Bowie-Dick, Child-Pugh): one name, no name in each part
    return [part for part in word.split("-") if part]


def _is_generic(term: str, aspect: Aspect | None, table: LayeredTerms) -> bool:
    if aspect and aspect.question_cues.fullmatch(term):
        return True
    if has_cjk(term):
        return (
            term in GENERIC_ZH
            or term in ZH_STOPWORDS
            or word_counts().get(term, 0) >= ZH_GENERAL_FREQ
            or _ZH_ASKING_WORD.match(term) is not None
        )
    if _CODE_RE.fullmatch(term) and table.knows_clinical(term):
        return False  # a two-letter code the library glosses (MP: 肺炎支原体), no short word
    words = normalise_en(term).split()
    return not words or all(w in _GENERIC_EN or w in EN_STOPWORDS or len(w) < 3 for w in words)


# A word that asks how much or how far ("几毫克", "几片", "多少毫升", "最多", "至少"): what the
# question asks of its subject, never a subject, however rarely jieba saw it (几毫克: 2).
_ZH_ASKING_WORD: Final[re.Pattern[str]] = re.compile(
    r"(?:几|多少)|(?:最(?:多|少|长|短|高|低|早|晚|迟|快|慢)|至(?:少|多))$"
)
_EN_INFLECTED: Final[re.Pattern[str]] = re.compile(r"(?:ed|ing|ly|able|ible|ness|ment)$")
# Examples of the class a question asks about ("乙肝肝硬化这类高风险人群", "扭伤、拉伤等损伤",
# "high-risk groups such as people with cirrhosis"): the class is the subject, and a passage
# about the class answers without naming each example. A lone 等 inside a word (中等, 等级,
# 等待) marks no examples.
_ZH_EXAMPLES_MARK: Final[re.Pattern[str]] = re.compile(
    r"这类|这一类|这些|这种|此类|之类的?|一类的?|(?<![中相平同对均高初])等(?!级|待|于|同|量|效|渗|候|到|等)"
)
_ZH_LIST_JOINS: Final[frozenset[str]] = frozenset("、和及或与")
# Words that end the run of examples when read back from the mark (用, 对于, 他们, 的 …).
_NOT_EXAMPLE_TAGS: Final[frozenset[str]] = frozenset({*VERB_TAGS, "p", "r", "u", "d", "c", "m"})
_EN_EXAMPLES_RE: Final[re.Pattern[str]] = re.compile(
    r"((?:[A-Za-z][A-Za-z\-]*\s+){1,4}?)(?:such as|e\.g\.,?|for example)\s+"
    r"((?:(?!(?:be|is|are|was|were|should|can|could|would|will|get|gets|receive|need|needs|"
    r"for|to|in|on|at|after|before|during|when|if)\b)[A-Za-z0-9\-]+\s*){1,4})",
    re.IGNORECASE,
)
_CLAUSE_BREAK_RE: Final[re.Pattern[str]] = re.compile(r"[，,。？?；;：:！!\s]+")


# A point in a course ("day-1 dose", "week 2", "visit 3"): when, never a name.
_TIME_POINT_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:day|week|month|hour|visit|dose)[\s-]?\d{1,3}", re.IGNORECASE
)
_CODE_RE: Final[re.Pattern[str]] = re.compile(r"[A-Z]{2,}|[A-Za-z]+-?\d|\d+-?[A-Za-z]")
# An abbreviation in mixed case (IgM, cHCC, HbA1c): written so in passages of either language.
_MIXED_CASE: Final[re.Pattern[str]] = re.compile(r"[a-z][A-Z]")
# A general-dictionary word appearing in at most this many glosses is a name (naloxone: 1).
EN_NAME_GLOSSES: Final[int] = 3
_EN_UNKNOWN_NAME: Final[int] = 8  # letters
# Verb and adjective endings (titrate, hypertensive): words about a name, never one.
_EN_NOT_A_NAME: Final[re.Pattern[str]] = re.compile(r"(?:ate|ize|ise|ify|ive|ous|al|ic|ary)$")


# An injury named by what caused it (犬咬伤, 海蜇蜇伤, 猫抓伤, 烫伤): the subject of its chapter,
# as a disease is. Two characters (咬伤, 刺伤) name no cause: a word about an injury.
_ZH_INJURY: Final[re.Pattern[str]] = re.compile(r"(?:咬|蜇|蛰|抓|啄|刺|烧|烫|冻|灼)伤$")
_INJURY_NAME: Final[int] = 3
_INJURY_SENSES: Final[int] = 2  # an English term's first Chinese senses looked at
# Below this jieba count a Chinese word with a disease's ending is a disease's own name.
_ZH_DISEASE_NAME_FREQ: Final[int] = 100


def _injury_name(zh: str) -> bool:
    return len(zh) >= _INJURY_NAME and _ZH_INJURY.search(zh) is not None


# A disease named with the body part it afflicts after it (糖尿病足, diabetic foot) is a
# condition of its own, which a guideline naming only the disease does not cover.
_AFFLICTED_PART: Final[re.Pattern[str]] = re.compile(r"[足手眼耳鼻口心肝肺肾脑骨]$")


_AFFLICTED_NAME: Final[int] = 4  # the shortest: a three-character disease and the part


def _disease_of_a_part(zh: str) -> bool:
    return (
        len(zh) >= _AFFLICTED_NAME
        and _AFFLICTED_PART.search(zh) is not None
        and ZH_DISEASE_STEM.search(zh[:-1]) is not None
    )


# Letters an English word needs before, unknown to the dictionary and the library, it is read
# as a name ("Tdap", "auris"); shorter ones are clippings ("pt", "tox", "bup").
_EN_UNKNOWN_WORD: Final[int] = 4


def _unknown_english_word(term: str, table: LayeredTerms) -> bool:
    """An English word no dictionary gloss uses, in no inflected form, with no translation:
    an organism's Latin name, a vaccine's or a test's code, a brand ("Candida auris", "Tdap").
    A paraphrase would be a word of general English. (Asked only of words no passage holds.)"""
    words = normalise_en(term).split()
    if len(words) != 1 or has_cjk(term):
        return False
    word = words[0]
    return (
        len(word) >= _EN_UNKNOWN_WORD
        and word.isalpha()
        and not _EN_INFLECTED.search(word)
        and _unglossed(word, table)
        and not table.translate(term)
    )


def _unglossed(word: str, table: LayeredTerms) -> bool:
    """An English word no dictionary gloss uses, in no base form either (a British spelling is
    a word of general English too: "analogue", analog), and no verb or adjective ("titrate",
    "hypertensive"), which is about a name, never one."""
    return (
        table.generality(word) == 0
        and not any(table.generality(base) for base in base_forms(word))
        and not _EN_NOT_A_NAME.search(word)
    )


def _is_entity(term: str, table: LayeredTerms) -> bool:
    """Whether a term names a drug, disease, organism, procedure or code (issue #10 item 2).

    Only such names make "the library has no passage about X" a fair refusal: a question's
    other words may be paraphrases ("reuse", "上经鼻") that no guideline spells that way.
    """
    if table.knows_clinical(term):
        return True
    if has_cjk(term):
        if len(term) < 2 or (word_tags().get(term) in VERB_TAGS and not ZH_DRUG_STEM.search(term)):
            return False
        freq = word_counts().get(term)
        if (
            ZH_DRUG_STEM.search(term)
            or ZH_DISEASE_STEM.search(term)
            or _injury_name(term)
            or _disease_of_a_part(term)
        ) and (freq is None or freq < ZH_NAME_FREQ):
            return True
        if freq is None and len(term) >= 3:
            # A word jieba found but does not know: a transliterated name, unless the
            # dictionary knows it as an everyday word (下一个 → "next one").
            english = table.to_english(term)
            return not english or not all(_everyday_english(en, table) for en in english)
        # A dictionary word is a name when its English gloss is one (胰岛素 → insulin), not
        # when it is an ordinary verb or noun (共用 → share).
        # A verbal noun ("管用": efficacious, useful) names what a thing does, never the thing.
        return (
            freq is not None
            and 0 < freq < ZH_NAME_FREQ
            and word_tags().get(term) != _VERBAL_NOUN
            and any(_english_name_part(en, table) for en in table.to_english(term))
        )
    if _CODE_RE.search(term) or _MIXED_CASE.search(term) or _EPONYM_RE.fullmatch(term):
        return True  # a code, an abbreviation in mixed case (IgM, HbA1c), an eponym (Bowie-Dick)
    senses = table.to_chinese(term)[:_INJURY_SENSES]
    if any(_injury_name(zh) for zh in senses):
        return True  # "dog bite" is 犬咬伤, "jellyfish sting" 海蜇蜇伤
    first = senses[0] if senses else ""
    if any(_rare_zh_name(zh, ZH_DRUG_STEM, ZH_NAME_FREQ) for zh in senses) or _rare_zh_name(
        first, ZH_DISEASE_STEM, _ZH_DISEASE_NAME_FREQ
    ):
        # A drug or disease the dictionary names by its Chinese name ("ketamine" 氯胺酮,
        # "scrub typhus" 恙虫病), however many slang glosses use the English word (K粉, K仔):
        # a name, never a paraphrase. A disease by its first sense: "complication" is 并发症
        # first, and only then 合并症.
        return True
    words = normalise_en(term).split()
    if not words:
        return False
    last = words[-1]
    if EN_NAME_STEM.search(last) and len(last) > 5:
        return True
    if _EN_INFLECTED.search(last):
        return False
    if len(words) == 1 and len(last) >= _EN_UNKNOWN_NAME and _unglossed(last, table):
        # A long word no dictionary gloss uses (glargine, tenecteplase): a name, not a
        # paraphrase, which would be a word of general English.
        return True
    if (
        len(words) >= 2
        and bool(table.to_chinese(term))
        and _english_name_part(term, table)
        and not any(a.question_cues.search(term) for a in ASPECTS)
    ):
        # A phrase the dictionary has whole, with a rare word in it ("mitral valve" 二尖瓣): a
        # name, however everyday its other words ("valve"); never what is asked of a name
        # ("incubation period").
        return True
    if len(words) == 1 and _EN_NOT_A_NAME.search(last) and not last.startswith("anti"):
        return False  # an adjective ("systemic", "advanced"), never a drug class ("antiviral")
    return _english_name_like(term, table) and bool(table.to_chinese(term))


# What is asked of the drug itself: its own amount, which no statement about its class gives.
_OWN_AMOUNT: Final[frozenset[str]] = frozenset(
    {"dose", "max_dose", "missed_dose", "renal_dose", "conversion"}
)


def _with_classes(
    terms: list[SubjectTerm], aspect: Aspect | None, rarity: TermRarity | None
) -> list[SubjectTerm]:
    """The class a drug the question names belongs to, kept aside (`SubjectTerm.kinds`) for
    when no passage found names the drug itself (`by_class`): "Pt on alprazolam plus
    oxycodone, can I just stop the benzo?" is answered by "…taper benzodiazepines gradually".
    Never when what is asked is its own amount: a dose of "opioids" is no dose of oxycodone.
    Only class names the library uses are kept."""
    if rarity is None or (aspect is not None and aspect.name in _OWN_AMOUNT):
        return terms
    named = {f.lower() for t in terms for f in t.forms}
    out = []
    for t in terms:
        kinds = classes_of(t.forms) if t.anchor else ()
        kinds = tuple(k for k in kinds if k.lower() not in named and rarity.frequency(k) > 0)
        out.append(replace(t, kinds=kinds) if kinds else t)
    return out


def by_class(analysis: QuestionAnalysis, unheld: Sequence[SubjectTerm]) -> QuestionAnalysis:
    """The analysis with the given drugs (which no passage found names) named by their class
    as well: a passage on tapering benzodiazepines speaks of alprazolam."""
    if not any(t.kinds for t in unheld):
        return analysis
    terms = tuple(
        replace(t, forms=(*t.forms, *t.kinds), in_library=True) if t in unheld and t.kinds else t
        for t in analysis.terms
    )
    return replace(analysis, terms=terms)


def _rare_zh_name(word: str, stem: re.Pattern[str], below: int) -> bool:
    """A Chinese word of three characters or more ending in a drug's or disease's `stem` and
    rarer than `below` in general language: 氯胺酮, not 维生素; 恙虫病, not 并发症 or 慢性病
    (which "complications" and "chronic disease" are about, not name)."""
    return len(word) >= 3 and stem.search(word) is not None and word_counts().get(word, 0) < below


def _english_name_part(term: str, table: LayeredTerms) -> bool:
    """A gloss with a rare word in it ("scarlet fever", "outpatient service")."""
    return any(0 < table.generality(w) <= EN_NAME_GLOSSES for w in normalise_en(term).split())


_COORDINATED: Final[re.Pattern[str]] = re.compile(
    r"^([a-z]+) ([a-z]+) and ([a-z]+)$", re.IGNORECASE
)


def coordinated_parts(form: str) -> tuple[str, ...]:
    """The two names an English coordinated phrase joins: "infection prevention and control"
    is "infection prevention" and "infection control", and a passage may say either."""
    match = _COORDINATED.match(form)
    if match is None:
        return ()
    head, first, second = match.groups()
    return (f"{head} {first}", f"{head} {second}")


def _everyday_english(term: str, table: LayeredTerms) -> bool:
    """Every word of it is in many dictionary glosses ("next one"; not "multimodal strategy",
    whose "multimodal" is in none)."""
    words = normalise_en(term).split()
    return bool(words) and all(table.generality(w) > EN_NAME_GLOSSES for w in words)


def _english_name_like(term: str, table: LayeredTerms) -> bool:
    words = normalise_en(term).split()
    return bool(words) and all(0 < table.generality(w) <= EN_NAME_GLOSSES for w in words)


_AGE_WORDS: Final[frozenset[str]] = frozenset({"older", "old", "young", "aged", "elderly"})


def _only_population(term: str) -> bool:
    """A word that only says who the patient is ("pregnant women", 孕妇, 妊娠期; not
    妊娠期高血压, a disease)."""
    if not populations(term):
        return False
    if has_cjk(term):
        rest = term
        for pattern in POPULATIONS.values():
            rest = pattern.sub(" ", rest)
        return len(re.sub(r"[\s期的]", "", rest)) == 0
    return all(
        populations(w) or w in _GENERIC_EN or w in _AGE_WORDS for w in normalise_en(term).split()
    )


def _usual_names(term: str, table: LayeredTerms, rarity: TermRarity) -> list[str]:
    """The library's usual name for a Chinese term it seldom uses: a word the dictionary gives
    for the same English sense, both ways, that many more passages hold (中风 → stroke → 卒中).
    A sense the library does not use (stroke → 抚摩, "to caress") is held by none."""
    own = rarity.frequency(term)
    usual: list[str] = []
    for english in table.listed_english(term)[:_USUAL_NAME_SENSES]:
        for other in table.listed_chinese(english):
            if (
                other != term
                and other not in usual
                and has_cjk(other)
                and rarity.frequency(other) >= _USUAL_NAME_RATIO * max(own, 1)
                and english in table.listed_english(other)
            ):
                usual.append(other)
    return usual[:_USUAL_NAMES]


# Senses looked through, how many more passages the usual name must be in, names kept.
_USUAL_NAME_SENSES: Final[int] = 2
_USUAL_NAME_RATIO: Final[int] = 5
_USUAL_NAMES: Final[int] = 2


def _written_forms(term: str, rarity: TermRarity) -> list[str]:
    """How the library writes a spoken Chinese term no passage holds: a disease without its
    病 (哮喘病 → 哮喘), a raised or lowered measure the other way round (血压高 → 高血压)."""
    if len(term) < 3 or rarity.frequency(term):
        return []
    forms = []
    if term.endswith("病"):
        forms.append(term[:-1])
    if term[-1] in "高低":
        forms.append(term[-1] + term[:-1])
    return [f for f in forms if rarity.frequency(f)]


def _other_drugs_ending_in(forms: Sequence[str], table: LayeredTerms) -> tuple[str, ...]:
    """Other drugs whose Chinese name ends in a drug's: 罗红霉素 (roxithromycin) for 红霉素
    (erythromycin), 左氧氟沙星 (levofloxacin) for 氧氟沙星. A longer name whose English holds
    the drug's own ("erythromycin ethylsuccinate", "low molecular weight heparin") is a form
    or kind of it, and a drug with no English name cannot be told from its salts: none."""
    english = [f" {normalise_en(f)} " for f in forms if not has_cjk(f)]
    if not english:
        return ()
    out: list[str] = []
    for form in forms:
        if not has_cjk(form) or not ZH_DRUG_STEM.search(form):
            continue
        for longer in table.chinese_ending_in(form, longest=len(form) + _OTHER_NAME_PREFIX):
            theirs = [f" {normalise_en(e)} " for e in table.listed_english(longer)]
            if longer not in forms and theirs and not any(e in t for e in english for t in theirs):
                out.append(longer)
    return tuple(dict.fromkeys(out))


# Characters another drug's name adds before a drug's (罗 of 罗红霉素, 苄星 of 苄星青霉素).
_OTHER_NAME_PREFIX: Final[int] = 3


def _family_forms(term: str, rarity: TermRarity, table: LayeredTerms) -> list[str]:
    """The library's words of an English word's family when no passage holds the word itself:
    an instrument or record by the procedure it is used in, and the other way round
    ("colonoscope" is written "colonoscopy", "radiograph" "radiography"); a verb by its noun
    ("how long to anticoagulate": "anticoagulation", "anticoagulant"; "immunize":
    "immunization"). A sibling counts when the library holds it or a translation of it (the
    stroke guideline writes 抗凝治疗, never "anticoagulant")."""
    if has_cjk(term) or " " in term.strip() or rarity.frequency(term):
        return []
    word = normalise_en(term)
    found = []
    for own, other in (*_FAMILY_ENDINGS, *((b, a) for a, b in _FAMILY_ENDINGS)):
        if not word.endswith(own):
            continue
        sibling = word[: -len(own)] + other
        if rarity.frequency(sibling) or any(rarity.frequency(f) for f in table.translate(sibling)):
            found.append(sibling)
    return found


# Endings of one word family: an instrument (or its record) and the procedure done with it; a
# verb and the act or the agent it names.
_FAMILY_ENDINGS: Final[tuple[tuple[str, str], ...]] = (
    ("scope", "scopy"),
    ("graph", "graphy"),
    ("ate", "ation"),
    ("ate", "ant"),
    ("ize", "ization"),
    ("ise", "isation"),
)


# Bodies that issue clinical guidelines, as a question names them to say whose guideline it
# means (WHO, CDC, NICE, 卫健委, 中华医学会 …).
_ISSUERS: Final[frozenset[str]] = frozenset(
    str.split(
        "who cdc nhc nhfpc nice aha asa acc esc idsa ats ers uspstf acog aap nccn asco esmo "
        "kdigo gina gold csco easl aasld apasl nih fda nmpa ema acp aafp sign "
        "卫健委 国家卫健委 国家卫生健康委 国家卫生健康委员会 卫生部 国家卫生计生委 中华医学会 "
        "中国医师协会 国家药监局 世卫组织 世界卫生组织 美国疾控中心 疾控中心"
    )
)


def analyse_question(
    question: str, *, table: LayeredTerms, rarity: TermRarity | None = None
) -> QuestionAnalysis:
    """Subject terms (weighted by library rarity), aspect and other-language terms."""
    question = written_wording(question)
    language = detect_language(question)
    candidates = _candidate_terms(question, table, rarity)
    # A name may hold an aspect's word (多剂量瓶, "dose counter"): look for the aspect outside it.
    # A word jieba made of the cue and what follows it ("多高才" of "血压多高才需要降压") is the
    # cue's, not a name.
    unnamed = question
    for term in candidates:
        glued = unknown_fragment(term, table)
        is_cue = names_an_aspect(term) or any(
            a.question_cues.fullmatch(term) or (glued and a.question_cues.match(term) is not None)
            for a in ASPECTS
        )
        if len(term) >= 3 and not is_cue and _is_entity(term, table):
            unnamed = _spelled(term).sub(" ", unnamed)
    aspect = detect_aspect(unnamed, whole=question)
    # Words inside the aspect's own phrase ("多久复查一次", "多长时间随访一次") say what is asked
    # about the subject, never the subject.
    asked = aspect.question_cues.search(unnamed) if aspect else None
    outside = unnamed.replace(asked.group(), " ") if asked else unnamed
    terms: list[SubjectTerm] = []
    common: list[SubjectTerm] = []
    staged = set(stage_codes(question))
    for term in candidates:
        if asked and term in asked.group() and term not in outside:
            continue
        if aspect is not None and names_an_aspect(term) and _names_this_aspect(aspect, term):
            continue  # the aspect's own name ("TACE的禁忌证") is what is asked, not of what
        if _TIME_POINT_RE.fullmatch(term):
            continue  # "day-1 dose", "week 2": when in the course, not what
        if term in staged:
            # A stage (CNLC Ia期, stage IIb): which row of a staging table is asked.
            df = rarity.frequency(term) if rarity else 1
            if df:
                weight = round(rarity.idf(df), 4) if rarity else 1.0
                terms.append(SubjectTerm(term, (term,), weight, True, True))
            continue
        if _is_generic(term, aspect, table):
            if _common_content_word(term) and (rarity is None or rarity.frequency(term)):
                common.append(SubjectTerm(term, (term, *table.synonyms(term)), 0.0, False, True))
            continue
        # An abbreviation (新冠, 丙球) takes the clinical names it shortens and their forms.
        full = expansions(term, table)
        # A clipped word no passage holds is read as the library's word it begins; an
        # instrument's name as its procedure's (colonoscope → colonoscopy).
        clipped = [*rarity.completions(term), *_family_forms(term, rarity, table)] if rarity else []
        # "azithro": a name the table's clinical layers hold whole, so a name itself.
        whole = (
            table.clinical_completions(term)
            if rarity and not clipped and not rarity.frequency(term)
            else []
        )
        clipped = clipped or whole
        if rarity and has_cjk(term):
            clipped = [*clipped, *_written_forms(term, rarity)]
            if _is_entity(term, table):
                clipped += _usual_names(term, table, rarity)
        named = (
            term,
            *clipped,
            *table.translate(term),
            *table.synonyms(term),
            *(f for name in (*full, *clipped) for f in (name, *table.translate(name))),
        )
        forms = tuple(dict.fromkeys((*named, *(p for f in named for p in coordinated_parts(f)))))
        frequencies = [rarity.frequency(f) for f in forms] if rarity else []
        df = max(frequencies, default=1)
        # Who the patient is (pregnant, 孕妇, elderly) is checked as a population, never as
        # the name a sentence must hold: it is not what the question is about.
        # A Chinese word asking an aspect (疗程 in "剂量、疗程") is a second thing asked, never a
        # name; a word an aspect's answer holds (患病率 of "患病率调查") may be one, and so may
        # a unit written as a name ("90 MME of oxycodone").
        entity = (
            (bool(full or whole) or _is_entity(term, table))
            and not _only_population(term)
            and not (has_cjk(term) and any(a.question_cues.fullmatch(term) for a in ASPECTS))
        )
        if df == 0 and not entity and _unknown_english_word(term, table):
            entity = True  # "Candida auris", "Tdap": a name neither library nor dictionary has
        if df == 0 and (not entity or unknown_fragment(term, table)):
            continue  # a paraphrase or a word cut apart: no guideline spells it that way
        if df == 0 and (term in _ISSUERS or normalise_en(term) in _ISSUERS):
            # Whose guideline it is ("per the NHC stroke guideline"): a library whose passages
            # never name the issuer cannot be searched by it, and the rest of the question can.
            continue
        if set(term) & NAME_BREAKS and unknown_fragment(term, table):
            continue  # a function word glued to a neighbour (时要 of "注射时要戴"), however common
        weight = rarity.idf(df) if rarity else 1.0
        terms.append(
            SubjectTerm(
                term=term,
                forms=forms,
                weight=round(weight, 4),
                anchor=entity,
                in_library=df > 0,
                others=_other_drugs_ending_in(forms, table) if entity else (),
            )
        )
    if aspect is not None and aspect.name in DRUG_ASPECTS and rarity is not None:
        terms.extend(_unrecognised_names(unnamed, terms, rarity, table))
    terms = _context_not_subjects(question, _examples_not_subjects(question, terms), rarity)
    terms.sort(key=lambda t: -t.weight)
    terms = _each_name_once(terms)
    aspect = amount_of_a_drug(
        aspect, question, [t.term for t in terms if t.anchor and drug_shaped(t.term)]
    )
    terms = _with_classes(terms, aspect, rarity)
    other: Language = "en" if language == "zh" else "zh"
    # Other-language forms the library uses: a dictionary sense no passage holds ("Chinese" →
    # 中国籍, "get" → 谋得) matches nothing and only lowers the search's lexical strength.
    # A Latin name or code (IgM, HBV, CNLC, Spaulding) is written as it is in passages of
    # either language: it is searched in the other language too, first. Then each term's
    # translations, each everyday word's first one and the aspect's words. Each question term
    # gives the bag one group of alternatives: the search's lexical strength is measured
    # against the groups, not the alternatives, which no passage holds all of.
    written = [
        t.term
        if not has_cjk(t.term)
        and (language == "zh" or t.anchor or _CODE_RE.search(t.term) or _MIXED_CASE.search(t.term))
        and (rarity is None or rarity.frequency(t.term) > 0)
        else None
        for t in terms
    ]
    alternatives = [
        [
            f
            for f in t.forms[1:]
            if has_cjk(f) != has_cjk(t.term) and (rarity is None or rarity.frequency(f) > 0)
        ][:2]
        for t in terms
    ]
    everyday = [
        [f for f in table.translate(t.term) if rarity is None or rarity.frequency(f) > 0][:1]
        for t in common
    ]
    asked_words = list(aspect_words(aspect, other)) if aspect is not None else []
    groups = [
        *([w, *f] if w else f for w, f in zip(written, alternatives, strict=True)),
        *everyday,
        asked_words,
    ]
    translated = [w for w in written if w] + [
        f for group in (*alternatives, *everyday, asked_words) for f in group
    ]
    bag = list(dict.fromkeys(translated))
    translations: dict[str, str] = {other: " ".join(bag)} if bag else {}
    bag_groups: dict[str, int] = {other: sum(1 for g in groups if g)} if bag else {}
    return QuestionAnalysis(
        text=question,
        language=language,
        terms=tuple(terms),
        aspect=aspect,
        translations=translations,
        bag_groups=bag_groups,
        common=tuple(common),
        respelled=" ".join(_library_spellings(terms, rarity)),
        weighed=rarity is not None,
    )


def _library_spellings(terms: Sequence[SubjectTerm], rarity: TermRarity | None) -> list[str]:
    """Same-script forms the library holds of the names it never writes as the question does
    (at most two a name)."""
    if rarity is None:
        return []
    found = [
        [f for f in t.forms[1:] if has_cjk(f) == has_cjk(t.term) and rarity.frequency(f)][:2]
        for t in terms
        if t.anchor and not rarity.frequency(t.term)
    ]
    return list(dict.fromkeys(f for forms in found for f in forms))


# A stage named by a Roman numeral and a letter: "Ia期", "IIb 期", "stage IIIa" (NFKC folds
# Ⅰa to Ia). Not a type or grade: "II型糖尿病" is as often written 2型, and a name that the
# answering sentence spells otherwise would refuse it.
_STAGE_RE: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z])(I{1,3}V?[a-c]?|IV[a-c]?|V[a-c]?)\s*期|"
    r"\bstage\s+(I{1,3}V?[a-c]?|IV[a-c]?|V[a-c]?)\b",
    re.IGNORECASE,
)


def stage_codes(question: str) -> list[str]:
    """The stages a question names ("CNLC Ia期怎么定义" → Ia)."""
    text = unicodedata.normalize("NFKC", question)
    return [m.group(1) or m.group(2) for m in _STAGE_RE.finditer(text)]


def _example_spans(question: str) -> list[tuple[str, str]]:
    """(examples, class) pairs of a question: "扭伤、拉伤" and "急性肌肉骨骼损伤" of
    "扭伤、拉伤这类急性肌肉骨骼损伤"; "people with cirrhosis" and "high-risk groups" of "high-risk
    groups such as people with cirrhosis". Chinese examples are read back from the mark: the
    word before it, and the words joined to it by a list (、和及或), up to a verb, a preposition
    or a pronoun ("用甲泼尼龙这类激素": only 甲泼尼龙)."""
    text = unicodedata.normalize("NFKC", question)
    pairs = []
    tags = word_tags()
    for clause in _CLAUSE_BREAK_RE.split(text):
        for mark in _ZH_EXAMPLES_MARK.finditer(clause):
            kind = clause[mark.end() :]
            if not kind:
                continue
            examples: list[str] = []
            for word in reversed(cut(clause[: mark.start()])):
                tag = tags.get(word)
                # The word before the mark, or one listed with it, is a noun whatever jieba
                # tags it (拉伤 is tagged a verb); further back a verb ends the examples.
                listed = not examples or examples[0] in _ZH_LIST_JOINS
                joined = word in _ZH_LIST_JOINS and bool(examples)
                noun = tag not in _NOT_EXAMPLE_TAGS - VERB_TAGS and (
                    listed or (len(word) >= 2 and tag not in VERB_TAGS)
                )
                if not (joined or noun):
                    break
                examples.insert(0, word)
            if examples:
                pairs.append(("".join(examples).lstrip("".join(_ZH_LIST_JOINS)), kind))
    pairs += [(m.group(2), m.group(1)) for m in _EN_EXAMPLES_RE.finditer(text)]
    return pairs


def _examples_not_subjects(question: str, terms: list[SubjectTerm]) -> list[SubjectTerm]:
    """The question's examples of a class are no anchors when the class names a term of its own.

    A drug given as the example ("阿莫西林这类抗生素的剂量") stays an anchor: another drug's
    dose must never answer for it.
    """
    demoted: set[str] = set()
    for examples, kind in _example_spans(question):
        named_class = [t for t in terms if form_in_text(t.term, kind)]
        if not named_class:
            continue  # "肝硬化这类病": the examples are all the question names
        demoted |= {
            t.term
            for t in terms
            if t.anchor
            and form_in_text(t.term, examples)
            and not form_in_text(t.term, kind)
            and not any(drug_shaped(f) for f in t.forms)
        }
    return _no_anchors(terms, demoted)


# What the patient is already on ("pt on 60 MME/day of oxycodone", "正在服用氯吡格雷的患者"): the
# words before the drug, with up to four words between (an amount, "long-term", "high-dose").
_EN_ON_DRUG: Final[str] = r"\b(?:on|taking|receiving|using)\s+(?:[\w/.+-]+\s+){0,4}?"
_ZH_ON_DRUG: Final[str] = (
    r"(?:正在|一直|长期|目前|已经|已在)(?:服用|使用|口服|用|吃|接受)[^，,。？?；;]{0,6}?"
)
# What a container holds ("multidose vial of lidocaine", "利多卡因多剂量瓶"): the container asked.
_EN_HELD: Final[str] = r"\b(?:vials?|bottles?|bags?|ampou?les?|syringes?|pens?|containers?)\s+of\s+"
_ZH_HELD: Final[str] = r"(?:注射液|溶液)?的?(?:多剂量|单剂量)?(?:药瓶|瓶|安瓿|注射器|输液袋)"
# Two drugs asked about together ("also on clonazepam", "同时服用", "合用"): neither is context.
_TAKEN_TOGETHER: Final[re.Pattern[str]] = re.compile(
    r"\balso\b|\btogether\b|\bcombin|\bco-?prescri|\bconcurrent|\bco-?administ|\binteract|"
    r"同时|合用|联用|并用|一起|一同|相互作用",
    re.IGNORECASE,
)
# The hospital stay as a time frame ("出院后", "after discharge"): when, not about what.
_CARE_FRAME_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:出院|入院|住院|转院)$|^(?:discharge|admission|hospitalization)$", re.IGNORECASE
)
_AS_FRAME: Final[str] = r"(?:后|以后|之后|前|以前|之前|时|期间)"
# An organ's inflammation named after the disease causing it ("rabies encephalitis", "influenza
# pneumonia", "流感肺炎"): how that disease shows, not a second disease.
_MANIFESTATION_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:pneumonia|encephalitis|meningitis|encephalopathy|myocarditis|"
    r"肺炎|脑炎|脑病|脑膜炎|心肌炎)$",
    re.IGNORECASE,
)
# Where the patient is cared for ("in ICU", "入住ICU"): where, not about what.
_CARE_SETTING_RE: Final[re.Pattern[str]] = re.compile(
    r"^(?:ICU|PICU|NICU|重症监护室|重症监护病房|监护室)$", re.IGNORECASE
)
_IN_SETTING: Final[str] = r"(?:在|入住|转入|收入|住进|住在)\s*"
# Who works there ("the NICU nurses", "ICU医生"): the setting names the staff, not the subject.
_STAFF_OF: Final[str] = (
    r"\s*(?:护士|医生|医护|医师|人员)|\s+(?:nurses?|nursing|staff|teams?|doctors?|physicians?|"
    r"clinicians?|residents?)\b"
)
_EN_IN_SETTING: Final[str] = r"\b(?:in|into|to|admitted to)\s+(?:the\s+|an?\s+)?"
_EN_AS_FRAME: Final[str] = r"\b(?:after|before|at|on|since|following|until)\s+(?:hospital\s+)?"


def _context_not_subjects(
    question: str, terms: list[SubjectTerm], rarity: TermRarity | None = None
) -> list[SubjectTerm]:
    """What the question gives as the patient's circumstances is no anchor beside what it asks.

    - a drug the patient is on, when another name is asked: "Pt on 60 MME/day of oxycodone —
      do I still need to offer Narcan?" asks about naloxone; the naloxone sentence need not
      name oxycodone. Alone ("been on hydrocodone for years — how fast to taper?"), or taken
      together with the other ("also on clonazepam — hold off on buprenorphine?"), the drug
      stays the subject.
    - a drug named as what a container holds, beside the container: "multidose vial of
      lidocaine — how long can we keep using it?" asks about the vial.
    - a point of the hospital stay used as a time ("脑出血患者出院后长期血压控制目标"): the
      sentence on the long-term target need not say 出院.
    - where the patient is cared for ("Severe influenza in ICU — corticosteroids routinely?"):
      the sentence on corticosteroids in severe influenza need not say ICU.
    - an organ's inflammation named after its disease ("Confirmed rabies encephalitis — any
      role for corticosteroids?"): the sentence on corticosteroids in rabies answers. Not when
      the library writes the two as one disease's name (腺病毒肺炎).
    """
    text = unicodedata.normalize("NFKC", question)
    together = _TAKEN_TOGETHER.search(text) is not None
    demoted: set[str] = set()
    for t in terms:
        if not t.anchor:
            continue
        name = re.escape(t.term)
        if any(drug_shaped(f) for f in t.forms):
            if together:
                continue  # "also on clonazepam — hold off on buprenorphine?" asks about both
            pattern = (
                f"{_ZH_ON_DRUG}{name}|{name}{_ZH_HELD}"
                if has_cjk(t.term)
                else rf"(?:{_EN_ON_DRUG}|{_EN_HELD}){name}\b"
            )
        elif _CARE_FRAME_RE.match(t.term):
            pattern = name + _AS_FRAME if has_cjk(t.term) else _EN_AS_FRAME + name + r"\b"
        elif _MANIFESTATION_RE.match(t.term):
            # "rabies encephalitis", "流感肺炎": what the named disease does, not another one.
            # A compound the library writes as one name ("腺病毒肺炎", its guideline's title) is
            # that disease, not the cause's manifestation.
            causes = [
                o.term
                for o in terms
                if o.anchor
                and not _MANIFESTATION_RE.match(o.term)
                and not (has_cjk(o.term) and rarity and rarity.frequency(o.term + t.term))
            ]
            if not causes:
                continue
            pattern = "|".join(rf"{re.escape(c)}\s*{name}" for c in causes)
        elif _CARE_SETTING_RE.match(t.term):
            # "ICU" is written so in Chinese questions too ("入住ICU后").
            pattern = (
                rf"{_IN_SETTING}{name}|{name}(?:内|中|里)|{_EN_IN_SETTING}{name}\b|"
                rf"{name}{_STAFF_OF}"
            )
        else:
            continue
        if re.search(pattern, text, re.IGNORECASE):
            demoted.add(t.term)
    if not any(t.anchor and t.term not in demoted for t in terms):
        return terms  # the circumstances are all the question names
    return _no_anchors(terms, demoted)


def _each_name_once(terms: list[SubjectTerm]) -> list[SubjectTerm]:
    """The terms, a name the question writes twice ("Influenza ARDS … per the flu protocol",
    "新冠…COVID") kept once, as its heavier term: one thing named twice is not two things a
    sentence must name."""
    kept: list[SubjectTerm] = []
    for term in terms:
        if term.anchor and any(other.anchor and _same_name(term, other) for other in kept):
            continue
        kept.append(term)
    return kept


def _same_name(one: SubjectTerm, other: SubjectTerm) -> bool:
    forms = {f.lower() for f in other.forms}
    return one.term.lower() in forms or other.term.lower() in {f.lower() for f in one.forms}


def _no_anchors(terms: list[SubjectTerm], demoted: set[str]) -> list[SubjectTerm]:
    """The terms, those named in `demoted` no longer anchors."""
    return [replace(t, anchor=False) if t.term in demoted else t for t in terms]


def _names_this_aspect(aspect: Aspect, term: str) -> bool:
    """Whether a word naming an aspect names this one (禁忌证 the contraindications asked)."""
    return bool(
        aspect.question_cues.search(term)
        or (aspect.sentence_cues is not None and aspect.sentence_cues.search(term))
    )


@functools.lru_cache(maxsize=4096)
def _spelled(term: str) -> re.Pattern[str]:
    """A name as a question spells it: "single dose vial" in "single-dose vials"."""
    if has_cjk(term):
        return re.compile(re.escape(term))
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"[\s\-]+".join(words) + r"s?\b", re.IGNORECASE)


def _common_content_word(term: str) -> bool:
    """A Chinese word general language uses often (激素, 血压) that is still what the question
    is about, unlike the words every clinical text uses (患者, 治疗) and question words."""
    return (
        has_cjk(term)
        and term not in GENERIC_ZH
        and term not in ZH_STOPWORDS
        and not any(a.question_cues.fullmatch(term) for a in ASPECTS)
        and not populations(term)
    )


_VERBAL_NOUN: Final[str] = "vn"
# After, before, while ("最后一剂后", "注药时"): when the question is asked about, never a name.
_TIME_WORDS: Final[frozenset[str]] = frozenset("后前时")


def _time_words_apart(words: list[str], table: LayeredTerms) -> list[str]:
    """A time word glued to the word before it ("注药时") stands apart (`_without_time_word`)."""
    apart: list[str] = []
    for word in words:
        stem = _without_time_word(word, table)
        apart.extend((stem, word[-1]) if stem != word else (word,))
    return apart


def _unrecognised_names(
    question: str, terms: Sequence[SubjectTerm], rarity: TermRarity, table: LayeredTerms
) -> list[SubjectTerm]:
    """Chinese names the term analysis lost (cut into pieces it dropped) that no passage holds.

    What is left of the question after its question words, aspect cues, populations, generic
    words and function words is grouped into runs; a run of three or more characters made only
    of name material (single characters, words jieba does not know or rarely sees, no verbs)
    that overlaps no subject term and that the library never spells is a missing name
    ("贝前列素的疗程" asks about a drug, not about 疗程).
    """
    text = strip_question_words(_PLACEHOLDER_RE.sub(" ", unicodedata.normalize("NFKC", question)))
    for aspect in ASPECTS:
        text = aspect.question_cues.sub(" ", text)
    for pattern in POPULATIONS.values():
        text = pattern.sub(" ", text)
    freq = word_counts()
    tags = word_tags()
    found: list[SubjectTerm] = []
    for run in CJK_RUN_RE.findall(text):
        group = ""
        for word in [*_time_words_apart(cut(run), table), "的"]:
            material = (
                word not in _TIME_WORDS
                and not (set(word) & NAME_BREAKS)
                and _ZH_ASKING_WORD.match(word) is None
                and word not in GENERIC_ZH
                and word not in ZH_STOPWORDS
                and (len(word) == 1 or freq.get(word, 0) < ZH_NAME_FREQ)
                and tags.get(word) not in VERB_TAGS
            )
            if material:
                group += word
                continue
            if (
                len(group) >= 3
                and not any(group in f or f in group for t in terms for f in t.forms)
                and rarity.frequency(group) == 0
            ):
                found.append(SubjectTerm(group, (group,), round(rarity.idf(0), 4), True, False))
            group = ""
    return found


def term_in_text(term: SubjectTerm, text: str) -> bool:
    """Whether any form of a subject term occurs in the text, or the text spells out the
    question's own Chinese abbreviation (密接 → 密切接触者). Inside another drug's name a
    drug's is not there: "罗红霉素用法" names roxithromycin, not 红霉素."""
    if term.others:
        text = without_names(term.others, text)
    return any(form_in_text(form, text) for form in term.forms) or abbreviation_in(
        term.term, normalised(text)
    )


def weighted_coverage(analysis: QuestionAnalysis, text: str) -> float:
    """Share (0–1) of the question's subject-term weight whose forms occur in the text."""
    total = sum(t.weight for t in analysis.terms)
    if not total:
        return 0.0
    return sum(t.weight for t in analysis.terms if term_in_text(t, text)) / total
