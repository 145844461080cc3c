"""Whether a name is mentioned in a text (issue #10).

The one reading of "this passage names X" that question analysis (assistant/questions.py),
responsiveness (assistant/responsiveness.py), the composer (assistant/generation.py) and the
drug-subject checks (assistant/drug_subjects.py) share:

- a Chinese form is a substring of the normalised text;
- an English form is whole words, plural- and diacritic-folded, and is also found written as one
  word by a PDF's text layer ("longterm"), hyphen-joined ("multi-dose"), glued to neighbouring
  acronyms in Chinese text ("HBVDNA"), or spread over a few words in one sentence
  ("single-dose or single-use vials");
- another drug's name is blanked out before looking, so 红霉素 is not found inside 罗红霉素.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Final

from assistant.glossary import EN_DRUG_STEMS, fold_english, normalise_en
from assistant.language import has_cjk, normalised
from assistant.zh_names import ZH_DRUG_STEM

_EN_DRUG_STEM: Final[re.Pattern[str]] = re.compile(rf"(?:{EN_DRUG_STEMS})$")


@functools.lru_cache(maxsize=8192)
def form_in_text(form: str, text: str) -> bool:
    """Whether a term form occurs in a text (whole words and plural folding for English)."""
    if has_cjk(form):
        return _cjk_form_in(normalised(form), normalised(text))
    words = normalise_en(form).split()
    if not words:
        return False
    folded = _folded(text)
    if f" {' '.join(words)} " in folded:
        return True
    if 2 <= len(words) <= 3 and f" {''.join(words)} " in folded:
        return True  # a compound a PDF's text layer wrote as one word ("longterm", "followup")
    if "-" in text and f" {' '.join(words)} " in _hyphens_joined(text):
        return True  # a compound the question writes as one word ("multidose" of "multi-dose")
    if _ACRONYM_RE.fullmatch(form) and _glued_acronym(form).search(text):
        return True
    # A phrase with words set between its own ("single-dose or single-use vials",
    # "single dose (single-use) medication vials"): the words in order, a few apart, in one
    # sentence.
    if len(words) < 2 or any(w not in folded for w in words):
        return False
    pattern = _spread_phrase(tuple(words))
    return any(pattern.search(_folded(part)) for part in _SENTENCE_BREAK.split(text))


def _cjk_form_in(form: str, text: str) -> bool:
    """A Chinese form occurs in the text, not as what something else is like ("流感样症状",
    influenza-like symptoms of a B virus infection, names no influenza) nor inside another
    compound's name (去甲肾上腺素, norepinephrine, is no 肾上腺素; 左氧氟沙星 no 氧氟沙星)."""
    start = text.find(form)
    while start >= 0:
        end = start + len(form)
        if (
            not text.startswith(_LIKE, end)
            and not text.endswith(_COMPOUND_PREFIXES, 0, start)
            and not (form.endswith("松") and text.startswith("龙", end))
        ):
            return True
        start = text.find(form, start + 1)
    return False


_LIKE: Final[str] = "样"
# Chemical prefixes that make another drug of the name after them, which a word segmenter cuts
# off as words of their own: nor-, deoxy-, isopropyl- (去甲肾上腺素, 去氧肾上腺素, 异丙肾上腺素).
CHEMICAL_PREFIXES: Final[tuple[str, ...]] = ("去甲", "去氧", "异丙")
# What makes another drug of a drug's name written after it: those, levo-, dextro-, and
# low-molecular-weight (左氧氟沙星, 右美托咪定, 低分子肝素: not heparin's dose). After it, 龙
# makes a -olone of a -one (泼尼松龙, prednisolone, is no 泼尼松).
_COMPOUND_PREFIXES: Final[tuple[str, ...]] = (
    *CHEMICAL_PREFIXES,
    "左旋",
    "右旋",
    "左",
    "右",
    "低分子",
    "低分子量",
)


# An acronym of three letters or more (DNA, HBV, RNA): Chinese text glues acronyms together
# ("检测出 HBVDNA", "HCVRNA 阳性"); the acronym is there when its neighbours are acronyms too.
_ACRONYM_RE: Final[re.Pattern[str]] = re.compile(r"[A-Z]{3,6}")


@functools.lru_cache(maxsize=1024)
def _glued_acronym(form: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z])(?:[A-Z]{{2,6}})?{form}(?:[A-Z]{{2,6}})?(?![A-Za-z])")


@functools.lru_cache(maxsize=4096)
def _spread_phrase(words: tuple[str, ...]) -> re.Pattern[str]:
    gap = rf"(?: \S+){{0,{_PHRASE_GAP}}}"
    return re.compile(" " + f"{gap} ".join(re.escape(w) for w in words) + " ")


_PHRASE_GAP: Final[int] = 3  # words between two of a phrase's own
_SENTENCE_BREAK: Final[re.Pattern[str]] = re.compile(r"[.;。；!?！？\n]\s")


@functools.lru_cache(maxsize=2048)
def _hyphens_joined(text: str) -> str:
    """`_folded` of a text whose hyphenated compounds are written as one word."""
    return _folded(_HYPHEN_RE.sub("", text))


_HYPHEN_RE: Final[re.Pattern[str]] = re.compile(r"(?<=[A-Za-z])[-‐‑](?=[A-Za-z])")


@functools.lru_cache(maxsize=8192)
def _folded(text: str) -> str:
    """A text's English words, lower-cased and plural-folded, space-padded (for whole words);
    a compound's parts are words ("opioid-naïve" holds "opioid" and "naive")."""
    return f" {fold_english(text)} "


def without_names(names: Iterable[str], text: str) -> str:
    """The text normalised, with the names blanked out character for character (positions
    stay where they were)."""
    pattern = _names_pattern(tuple(sorted({normalised(n) for n in names}, key=lambda n: -len(n))))
    text = normalised(text)
    return pattern.sub(lambda m: " " * len(m.group()), text) if pattern else text


@functools.lru_cache(maxsize=256)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    return re.compile("|".join(re.escape(n) for n in names)) if names else None


def drug_shaped(name: str) -> bool:
    """Whether a word has a drug name's shape (an INN stem; a Chinese drug ending)."""
    return bool(ZH_DRUG_STEM.search(name) if has_cjk(name) else _EN_DRUG_STEM.search(name))
