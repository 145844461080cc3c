"""What kind of text a string is: its script and language, and whether a passage is a list of
references or of web links rather than guidance (shared by every module that reads text)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Final

from assistant.domain import Language

# The one CJK character class of the tree (issue #12): Han ideographs only, every block Unicode
# assigns them — Extension A (U+3400–4DBF), the Unified Ideographs (U+4E00–9FFF), the
# Compatibility Ideographs (U+F900–FAFF) and the Supplementary and Tertiary Ideographic Planes
# (U+20000–3FFFF: Extensions B–H and the Compatibility Supplement). Punctuation (U+3000–303F,
# full-width forms) is not in it: a module that also needs punctuation adds that range itself.
# A fragment for use inside `[...]`; `re` reads the escapes.
CJK_CHARS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
CJK_CHAR_RE = re.compile(f"[{CJK_CHARS}]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
# Units and single letters say nothing about the language around them: "LDL-C 目标值：
# 极高危<1.8mmol/L（70mg/dl）" is Chinese though it holds more Latin tokens than characters.
_NOT_WORDS = frozenset(
    [
        "mmol",
        "umol",
        "nmol",
        "mol",
        "mg",
        "ug",
        "mcg",
        "ng",
        "kg",
        "g",
        "ml",
        "dl",
        "l",
        "iu",
        "mmhg",
        "hg",
        "cm",
        "mm",
        "km",
        "min",
        "h",
        "hr",
        "hrs",
        "bpm",
    ]
)


def has_cjk(text: str) -> bool:
    """Whether a text holds at least one CJK ideograph."""
    return CJK_CHAR_RE.search(text) is not None


def normalised(text: str) -> str:
    """Text as it is matched: NFKC (full-width forms folded) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def detect_language(text: str) -> Language:
    """Say whether a text is Chinese or English by the share of CJK characters among letters."""
    cjk = len(CJK_CHAR_RE.findall(text))
    # One Chinese character carries about as much as one English word; drug names and units
    # in Latin script inside a Chinese question must not flip it to English.
    if cjk == 0:
        return "en"
    words = [w for w in _LATIN_WORD_RE.findall(text) if len(w) > 1 and w.lower() not in _NOT_WORDS]
    return "zh" if cjk >= len(words) else "en"


# The heading of a document's list of cited works: "References", "9 References", "参考文献".
_BIBLIOGRAPHY = re.compile(
    r"^(?:[\dIVX]{1,4}[.．、]?\s*|[一二三四五六七八九十]+、\s*)?"
    r"(?:references?(?: list| cited)?|bibliography|literature cited|works cited|"
    r"(?:主要)?参考文献|引用文献)\s*[:：]?$",
    re.IGNORECASE,
)


# A document's thanks and its lists of contributors: names and affiliations, never guidance.
_CREDITS = re.compile(
    r"^(?:[\dIVX]{1,4}[.．、]?\s*|[一二三四五六七八九十]+、\s*)?"
    r"(?:acknowledg(?:e)?ments?|contributors?|list of contributors|authors?(?: list)?|"
    r"declarations? of interests?|conflicts? of interests?|致谢|鸣谢|利益冲突(?:声明)?|"
    r"(?:编写|编审|审定|审稿|起草|执笔)(?:专家)?(?:组|委员会)?(?:成员)?(?:名单)?|专家组(?:成员)?(?:名单)?)"
    r"\s*[:：]?$",
    re.IGNORECASE,
)


def is_credits(section_path: Sequence[str]) -> bool:
    """Whether a passage lies under a document's acknowledgements or list of contributors: it
    names people and their departments ("Water, Sanitation and Health; Family, Women's and
    Children's Health"), never what to do, so no answer draws on it."""
    return any(_CREDITS.match(heading.strip()) for heading in section_path)


_URL_RE = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


def is_link_list(text: str) -> bool:
    """Whether a passage is mostly web addresses: a list of resources ("❑ FDA regulations on
    reprocessing…: http://www.fda.gov/…"), whose lines name documents rather than say what to
    do — the same as a reference list, without its heading."""
    urls = _URL_RE.findall(text)
    return len(urls) >= 2 and sum(len(u) for u in urls) >= 0.25 * len(text.strip())


# Characters that end a drug's name being read in Chinese text (function words, the verbs
# that take a drug: 的, 和, 用, 服, 给, 要, 开 (prescribe) …, and the question's closing 吗, 呢;
# 那, 可 and 比 do occur in names).
NAME_BREAKS: Final[frozenset[str]] = frozenset(
    "的和与及或在是为了用于对将把被从由以其并而但也给服吃要开吗呢"
)


# Marks of a reference list's entries: a DOI, "et al.", a Chinese citation's type mark
# ("[J]."), a journal's year;volume(issue):pages.
_REFERENCE_ENTRY_RE: Final[re.Pattern[str]] = re.compile(
    r"\b10\.\d{4,}/\S+|\bet\s?al\.|\[(?:J|M|D|C|S|N|EB/OL)\]|"
    r"\b(?:19|20)\d{2}\s*[;,]\s*\d+\s*(?:\(\s*[\d\-]+\s*\))?\s*:\s*[A-Za-z]?\d+",
    re.IGNORECASE,
)
# At least this many entries, one per this many characters: a passage of the list itself, not a
# table or a paragraph that cites its sources ("Adapted from Von Korff M, … et al. Clin J Pain
# 2008;24:521–7").
_REFERENCE_ENTRIES: Final[int] = 3
_REFERENCE_SPACING: Final[int] = 140


def is_reference_list(text: str) -> bool:
    """Whether a passage is a run of a reference list that no heading marks as one (a PDF
    whose "参考文献" heading was lost): its entries name papers and authors ("Tran BV"),
    never what to do."""
    entries = len(_REFERENCE_ENTRY_RE.findall(text))
    return entries >= _REFERENCE_ENTRIES and entries * _REFERENCE_SPACING >= len(text.strip())


def is_bibliography(section_path: Sequence[str]) -> bool:
    """Whether a passage lies under a document's list of cited works (at any heading level).

    Such a passage names other papers and never states what the guideline recommends: it stays
    in the lexical index (a reader may look a reference up) but gets no dense vector (issue 15),
    and an answer never draws on it (issue 12).
    """
    return any(_BIBLIOGRAPHY.match(heading.strip()) for heading in section_path)


# Spoken question words and their written forms ("新冠病人啥时候要上激素", "伤口咋洗"): what
# is asked is read from the written form; "要不要紧" asks whether it is serious, it names
# nothing.
_COLLOQUIAL: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    (re.compile("要不要紧|要紧不要紧|严不严重"), "是否严重"),
    (re.compile("啥"), "什么"),
    (re.compile("咋"), "怎么"),
    (re.compile("多会儿"), "什么时候"),
    # A dog is 犬 in clinical writing ("犬咬伤"), 狗 in speech; not 狂犬 (rabies).
    (re.compile("狗(?=[^，。？?！!；;]{0,3}?(?:咬|抓|舔|致伤))"), "犬"),
)


def written_wording(question: str) -> str:
    """A spoken Chinese question in written wording (啥 → 什么, 咋 → 怎么)."""
    for pattern, written in _COLLOQUIAL:
        question = pattern.sub(written, question)
    return question
