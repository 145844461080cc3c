"""What a question asks, and whether a sentence answers it (issue #10; DESIGN.md §1 step 4).

A question has a **subject** — the drug, disease, procedure or population it names — and an
**aspect** — what it wants to know about it (dose, duration, timing, contraindication…).

- Subject terms are the question's content words minus question words, aspect cues and words
  every clinical text uses; each is weighted by its rarity in the library (IDF over the indexed
  passages), so "奥司他韦" or "naloxone" outweighs "剂量"/"patient". **Anchors** are the terms
  that are specific in general language too (jieba's word frequencies for Chinese, the number of
  CC-CEDICT glosses a word appears in for English): a paraphrase ("kid", "大人") never becomes an
  anchor, a drug or disease name does.
- Each term carries its forms in the other language (the term table, assistant/glossary.py), so
  an English passage can satisfy a Chinese question and the reverse.
- A sentence is **responsive** when the question's top anchor (and most of the others) appear in
  it or its context (the sentence before it, the section heading, the document title), and — when
  the question has an aspect — the sentence itself states that aspect: a dosing question needs a
  number with a dose unit, a duration question a number with a time unit, and so on.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from assistant.domain import CJK_CHARS, Language, detect_language, has_cjk
from assistant.dose_rows import fits, patient_of
from assistant.embedding import EN_STOPWORDS, ZH_STOPWORDS, strip_question_words
from assistant.glossary import (
    EN_LETTERS,
    LayeredTerms,
    fold_diacritics,
    fold_english,
    normalise_en,
)
from assistant.quantities import extract_quantities

DOSE_UNITS: Final[frozenset[str]] = frozenset(
    {"mg", "g", "ug", "mcg", "μg", "µg", "kg", "ml", "l", "iu", "u", "mmol", "mg/kg", "mme"}
)
_DOSE_UNIT_RE: Final[re.Pattern[str]] = re.compile(
    r"\d\s*(?:mg|g|μg|µg|ug|mcg|ml|mL|iu|IU|U|万?单位|毫克|克|微克|毫升|片|粒|支|袋|mme|MME)"
    r"(?![a-zA-Z])",
)
_TIME_UNIT_RE: Final[re.Pattern[str]] = re.compile(
    r"\d\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:天|日|周|月|年|小时|h\b|分钟|min|"
    r"days?|weeks?|months?|years?|hours?|minutes?)",
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

    def stated_in(self, sentence: str) -> bool:
        """Whether a sentence states this aspect: every condition the aspect sets holds.

        An incubation period needs the words *and* a duration ("…能缩短狂犬病潜伏期" names the
        period without stating it); a dose needs a number with a dose unit.
        """
        sentence = _AGE_RE.sub(" ", sentence)  # "2 周～8 月龄" is an age, not a duration
        if self.needs_dose and not _DOSE_UNIT_RE.search(sentence):
            return False
        if self.needs_time and not _TIME_UNIT_RE.search(sentence):
            return False
        cue = bool(self.sentence_cues and self.sentence_cues.search(sentence))
        if self.needs_cue and not cue:
            return False
        return self.needs_dose or self.needs_time or cue


def _cues(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A stated value: a number with a unit, a percentage, or a comparison (≥5, <130/80).
_NUMBER_CUES: Final[re.Pattern[str]] = re.compile(
    r"[≥≤<>＜＞≧≦]\s*\d|\d\s*(?:%|％|[a-zA-Zμµ]+(?:/[a-zA-Zμµ·()（）]+)*|[个名张次项级倍岁天周月年小时分钟])|"
    r"\d\s*[~～\-–至到]\s*\d"
)


_RENAL: Final[str] = (
    r"肾功能|肾衰|肾损|肾病|肌酐清除率|透析|\bCrCl\b|creatinine clearance|\brenal\b|kidney|"
    r"\be?GFR\b|dialysis"
)

# Order matters: the first aspect whose cues a question holds is its aspect.
ASPECTS: Final[tuple[Aspect, ...]] = (
    Aspect(
        "incubation",
        _cues(r"潜伏期|incubation"),
        _cues(r"潜伏期|incubation"),
        needs_time=True,
        needs_cue=True,
    ),
    Aspect(
        "contraindication",
        _cues(
            r"禁忌|禁用|不能用|不宜|慎用|contraindicat|should not (?:be )?(?:use|give|take)|avoid"
        ),
        _cues(
            r"禁忌|禁用|慎用|不宜|不推荐|不建议|避免|不应|不得|contraindicat|avoid|should not|"
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
    ),
    Aspect(
        "dose",
        _cues(
            r"剂量|用量|用法|怎么用|怎么给|如何给|怎样给|给多少|用多少|吃多少|服多少|首剂|单次|"
            r"怎么吃|如何服用|怎么服用|多少毫克|几片|多少\s*mg|\bdos(?:e|es|age|ing)\b|how much|"
            r"\bmg\b|\bmme\b"
        ),
        _cues(r"剂量|用量|\bdos(?:e|es|age|ing)\b|mg/kg|\bmme\b"),
        needs_dose=True,
    ),
    Aspect(
        "frequency",
        _cues(
            r"多久\S{0,4}一次|多长时间\S{0,4}一次|间隔|频率|每隔|how often|interval|frequency|"
            r"how many times"
        ),
        _cues(
            r"每\S{0,3}(?:天|日|周|月|年|小时|次)|间隔|频率|every|interval|frequen|daily|weekly|"
            r"annual|yearly|monthly|at least once|q\d+h"
        ),
        needs_cue=True,
    ),
    Aspect(
        "duration",
        _cues(r"疗程|多久|多长时间|几天|几周|持续|duration|how long|how many days|for how many"),
        _cues(
            r"\d\s*(?:[~～\-–至到]\s*\d+\s*)?(?:个)?(?:天|日|周|月|年|小时|days?|weeks?|months?|"
            r"hours?)|疗程|持续|duration|(?:a )?few days|短期|short[- ]term"
        ),
    ),
    # Asked for a value (a threshold, target, range, count): the sentence states a number.
    Aspect(
        "value",
        _cues(
            r"多少|几[个名张次项级]|范围|目标|阈值|界值|标准值|控制在|降到|降至|升到|超过多少|"
            r"how many|what (?:level|value|range|threshold|target)|threshold|target|cut-?off"
        ),
        _NUMBER_CUES,
        needs_cue=True,
    ),
)

# Words every clinical question or passage uses: never a subject, whatever their rarity.
_GENERIC_ZH: Final[frozenset[str]] = frozenset(
    str.split(
        "患者 患儿 病人 病例 人群 人员 治疗 使用 应用 推荐 建议 方案 指南 规范 情况 疾病 临床 "
        "医生 医院 药物 药品 用药 处理 措施 管理 方法 标准 要求 问题 时间 时候 成人 儿童 小儿 "
        "孩子 病毒 感染 可以 一般 主要 常见 首选 选择 哪种 多少 怎么 如何 什么 需要 应该 是否 "
        "给予 进行 采用 考虑 注意 相关 有效 效果 作用 剂量 用量 用法 多久 多长 期间 最大 最小 "
        "每天 每日 次数 起始 开始 后续 继续 停止 口服 静脉 注射 肌注 肌内注射 皮下 吸入 外用 "
        # Severity grades qualify any disease; they name none.
        "轻症 重症 危重症 轻型 中型 重型 危重型 普通型 轻度 中度 重度"
    )
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
        "intravenous iv injection injected subcutaneous intramuscular inhaled topical"
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
_CJK_RUN_RE: Final[re.Pattern[str]] = re.compile(f"[{CJK_CHARS}]+")
_LONGEST_TERM: Final[int] = 12
_PLACEHOLDER_RE: Final[re.Pattern[str]] = re.compile(r"\[[^\[\]\s]{1,24}\]")
_LONGEST_NAME: Final[int] = 8
# A piece of a name is a word jieba knows from fewer than this many occurrences (帕拉: 40).
_RARE_PIECE: Final[int] = 100
# Characters that end a name being joined (function words; 那, 可 and 比 do occur in names).
_NAME_BREAKS: Final[frozenset[str]] = frozenset(
    "的和与及或在是为了用于对将把被从由以其并而但也给服吃"
)


@dataclass(frozen=True)
class SubjectTerm:
    """One subject term of a question with its forms in every language and its weight."""

    term: str
    forms: tuple[str, ...]
    weight: float
    anchor: bool
    in_library: bool


@dataclass(frozen=True)
class QuestionAnalysis:
    """The question's subject terms (heaviest first), its aspect and its other-language terms."""

    text: str
    language: Language
    terms: tuple[SubjectTerm, ...]
    aspect: Aspect | None
    translations: Mapping[str, str] = field(default_factory=dict)
    translated_by_model: bool = False

    @property
    def anchors(self) -> tuple[SubjectTerm, ...]:
        """The specific subject terms (drug, disease, procedure names), heaviest first."""
        return tuple(t for t in self.terms if t.anchor)

    @property
    def missing(self) -> list[str]:
        """Anchors that no passage of the library contains in any language."""
        return [t.term for t in self.anchors if not t.in_library]

    @property
    def subject(self) -> list[str]:
        """Subject terms for display and reports (anchors first)."""
        return [t.term for t in self.anchors] or [t.term for t in self.terms[:3]]


class TermRarity:
    """Document frequencies of index terms over the library's passages (for IDF weights)."""

    def __init__(self, document_frequency: Mapping[str, int], passages: int) -> None:
        self.df = document_frequency
        self.passages = max(passages, 1)

    def frequency(self, term: str) -> int:
        """Passages holding the term (a Chinese word unknown to the index: its rarest bigram;
        an English phrase: its rarest word, an upper bound)."""
        key = term.lower()
        if key in self.df:
            return self.df[key]
        words = normalise_en(key).split()
        if len(words) == 1 and words[0] in self.df:
            return self.df[words[0]]
        if len(words) > 1 and not has_cjk(key):
            return min(self.df.get(w, 0) for w in words)
        if has_cjk(key) and len(key) >= 2:
            grams = [f"#{key[i : i + 2]}" for i in range(len(key) - 1)]
            return min(self.df.get(g, 0) for g in grams)
        if has_cjk(key):
            return self.df.get(f"#{key}", 0)  # one character (盐 for "salt"): its n-gram
        return 0

    def idf(self, df: int) -> float:
        """BM25's IDF (as Qdrant computes it) of a term found in `df` passages."""
        n = self.passages
        return math.log((n - df + 0.5) / (df + 0.5) + 1)


def detect_aspect(question: str) -> Aspect | None:
    """The first aspect whose cue words (and required words) the question holds."""
    for aspect in ASPECTS:
        if aspect.question_cues.search(question) and (
            aspect.requires is None or aspect.requires.search(question)
        ):
            return aspect
    return None


@functools.cache
def _jieba_freq() -> Mapping[str, int]:
    """jieba's word counts. Initialised first: initialising replaces the dictionary object, so a
    reference taken before would stay empty and every word would look unknown."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def _cut(text: str) -> list[str]:
    """jieba's words; a word jieba guessed that opens with a function word loses it (给佐多 →
    给 + 佐多: the preposition before an unknown name)."""
    import jieba

    freq = _jieba_freq()
    words: list[str] = []
    for word in jieba.lcut(text):
        if not word.strip():
            continue
        if len(word) >= 3 and word[0] in _NAME_BREAKS and freq.get(word) is None:
            words.extend((word[0], word[1:]))
        else:
            words.append(word)
    return words


def _cut_known(run: str, table: LayeredTerms) -> list[str]:
    """Words of a Chinese run: the longest term the term table knows (3+ characters) first.

    jieba cuts drug names it does not know into pieces (奥司他韦 → 奥司/他/韦); the hospital
    glossary, the library's glosses and the dictionary know them whole.
    """
    words: list[str] = []
    pending = ""
    i = 0
    while i < len(run):
        known = next(
            (
                run[i:j]
                for j in range(min(len(run), i + _LONGEST_TERM), i + 2, -1)
                if table.knows_chinese(run[i:j])
            ),
            None,
        )
        if known is None:
            pending += run[i]
            i += 1
            continue
        # jieba may know the word longer (秋水仙碱 where the table knows 秋水仙).
        known = next(
            (
                run[i:j]
                for j in range(min(len(run), i + _LONGEST_TERM), i + len(known), -1)
                if _jieba_freq().get(run[i:j])
            ),
            known,
        )
        if pending:
            words.extend(_cut(pending))
            pending = ""
        words.append(known)
        i += len(known)
    if pending:
        words.extend(_cut(pending))
    return _join_name_pieces(words, table)


def _unknown_fragment(term: str, table: LayeredTerms) -> bool:
    """A Chinese word jieba guessed that is a known word with a neighbour's character glued on
    (新冠 + 人 of 人群 → 新冠人), or a piece shorter than four characters.

    A transliterated name jieba kept whole (利伐沙班, 替格瑞洛) holds no known word at either
    end: it is a name the library may lack, and a question about it is refused naming it.
    Drug- and disease-shaped words (手足口病) are names whatever their parts.
    """
    if (
        not has_cjk(term)
        or _jieba_freq().get(term) is not None
        or _ZH_DRUG_STEM.search(term)
        or (len(term) >= 3 and _ZH_DISEASE_STEM.search(term))
        or table.knows_chinese(term)
    ):
        return False
    if len(term) < 4 or set(term) & _NAME_BREAKS:
        return True  # 脑梗用: a word and a function word jieba glued together
    return any(_known_word(part, table) for part in (term[:-1], term[1:]))


def _known_word(word: str, table: LayeredTerms) -> bool:
    """A word of its own: one jieba often sees or the term table knows (普拉格, seen twice, is
    no word but a piece of 普拉格雷)."""
    return _jieba_freq().get(word, 0) >= _RARE_PIECE or table.knows_chinese(word)


@functools.cache
def _jieba_tags() -> Mapping[str, str]:
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


# jieba's part-of-speech tags of verbs (起病 "fall ill", 接种 "get vaccinated", 发热): a verb
# names no drug, disease or procedure, whatever its last character (a verbal noun, vn, may).
_VERB_TAGS: Final[frozenset[str]] = frozenset({"v", "vd", "vi", "vg", "vq"})


def _join_name_pieces(words: list[str], table: LayeredTerms | None = None) -> list[str]:
    """Join the pieces jieba cut a drug name into (托珠 + 单抗, 奥司 + 他 + 韦, 达比 + 加群).

    A drug stem (韦, 单抗, 霉素 …) takes the pieces before it that jieba does not know or that
    are single characters, up to a name's length; a function word (的, 和 …) stops it. With a
    term table, pieces that end in a drug-name ending join (达比 + 加群, 依诺 + 肝素; _name_span).
    """
    freq = _jieba_freq()
    out: list[str] = []
    for word in words:
        if table is not None and out and (taken := _name_span(out, word, table)):
            name = "".join(out[-taken:]) + word
            del out[-taken:]
            out.append(name)
            continue
        if (
            out
            and len(word) == 2
            and freq.get(word) is None
            and _ZH_DISEASE_STEM.search(word)
            and word not in _GENERIC_ZH
            and has_cjk(out[-1])
            and out[-1] not in _GENERIC_ZH
            and not populations(out[-1])
            and not (set(out[-1]) & _NAME_BREAKS)
            and len(out[-1]) + 2 <= _LONGEST_NAME
        ):
            # A disease name jieba does not know, cut before a tail it does not know either
            # (手足 + 口病): the tail is no word, the two are one name.
            out.append(out.pop() + word)
            continue
        if not (_ZH_DRUG_STEM.fullmatch(word) and out):
            out.append(word)
            continue
        name = word
        while (
            out
            and has_cjk(out[-1])
            and not (set(out[-1]) & _NAME_BREAKS)
            and (len(out[-1]) == 1 or freq.get(out[-1], 0) < _RARE_PIECE)
            and len(name) + len(out[-1]) <= _LONGEST_NAME
        ):
            name = out.pop() + name
        if out and has_cjk(out[-1]) and name == word:
            # "用多西" + "环素": the piece after a function word belongs to the name
            piece = out[-1]
            cut = max(piece.rfind(c) for c in _NAME_BREAKS)
            if 0 <= cut < len(piece) - 1 and len(piece) - cut - 1 + len(name) <= _LONGEST_NAME:
                out[-1], name = piece[: cut + 1], piece[cut + 1 :] + name
        out.append(name)
    return out


# Endings of Chinese generic drug names (INN stems as transliterated: -xaban 沙班, -gatran 加群,
# -gliptin 列汀, -gliflozin 列净, -floxacin 沙星, -tinib 替尼, -lukast 司特, -grel 格雷 …),
# beyond the single-piece stems above: jieba cuts these names anywhere, so the ending is looked
# for on the joined pieces.
_ZH_NAME_END: Final[re.Pattern[str]] = re.compile(
    r"(?:沙班|加群|列汀|列净|格列\S|沙星|替尼|替布|司特|司他|他唑|格雷|雷洛|瑞洛|鲁肽|糖肽|帕肽|"
    r"前列素|普酶|司琼|那韦|布韦|芬净|咪唑|嘧啶|生坦|西呱|溴铵|洛尔|地平|沙坦|普利|他汀|拉唑|"
    r"膦酸|膦酸钠|度胺)$"
)
# jieba tags of words that cannot open a name: verbs, prepositions, pronouns, conjunctions,
# particles (给, 吃, 用, 他 …; 他 inside a name, 奥司他韦, is no opening).
_NOT_NAME_START: Final[frozenset[str]] = frozenset(
    {"v", "vd", "vi", "vg", "vq", "p", "r", "c", "u", "uj", "ul", "uz", "ug", "uv", "ud", "y"}
)
_LONGEST_SPAN: Final[int] = 4  # pieces
# A function word this common opens no name (用, 对, 来); a rarer one may be a transliteration
# syllable that jieba happens to tag as a verb (伐 in 伐多鲁肽).
_COMMON_CHAR: Final[int] = 5000
# No transliteration opens with a character this common (后, 来, 对, 吃; 达 is 28,255).
_VERY_COMMON_CHAR: Final[int] = 30000


def _name_span(out: list[str], word: str, table: LayeredTerms) -> int:
    """How many pieces before `word` join it into one drug name (0: none).

    The joined pieces end in a drug-name ending (_ZH_DRUG_STEM, _ZH_NAME_END); each piece before
    `word` is a single character that is no function word, or a word jieba does not know or
    rarely sees and the term table does not know as a word of its own (流感 + 奥司他韦 stay two);
    the first piece cannot be a common verb, preposition or pronoun (用 + 奥希替尼).
    """
    freq = _jieba_freq()
    tags = _jieba_tags()
    # A whole name already (奥司他韦, 肝素): a character before it is no part of it (后 +
    # 奥司他韦), but a piece jieba does not know is a prefix of a longer name (依诺 + 肝素).
    whole = table.knows_chinese(word) and bool(
        _ZH_NAME_END.search(word) or _ZH_DRUG_STEM.search(word)
    )
    for taken in range(min(len(out), _LONGEST_SPAN), 0, -1):
        pieces = out[-taken:]
        if whole and any(len(p) < 2 or freq.get(p) is not None for p in pieces):
            continue
        name = "".join(pieces) + word
        if not (3 <= len(name) <= _LONGEST_NAME) or not _CJK_RUN_RE.fullmatch(name):
            continue
        if not (_ZH_NAME_END.search(name) or _ZH_DRUG_STEM.search(name)):
            continue
        opening = pieces[0]
        if (
            freq.get(opening, 0) >= _VERY_COMMON_CHAR
            or (tags.get(opening) in _NOT_NAME_START and freq.get(opening, 0) >= _COMMON_CHAR)
            or word in _GENERIC_ZH
            or set(word) & _NAME_BREAKS
        ):
            continue
        if all(_name_piece(piece, freq, table) for piece in pieces):
            return taken
    return 0


def _name_piece(piece: str, freq: Mapping[str, int], table: LayeredTerms) -> bool:
    if set(piece) & _NAME_BREAKS or piece in _GENERIC_ZH or populations(piece):
        return False
    if len(piece) == 1:
        return True
    known = freq.get(piece)
    if known is not None and known >= ZH_NAME_FREQ:
        return False
    return known is None or known < _RARE_PIECE or not table.knows_chinese(piece)


def _candidate_terms(question: str, table: LayeredTerms) -> list[str]:
    """Content terms of the question: jieba words for Chinese, dictionary phrases for English."""
    # Redaction placeholders ([PHONE_1], [姓名1]) stand for a patient's data, never a subject.
    unredacted = _PLACEHOLDER_RE.sub(" ", unicodedata.normalize("NFKC", question))
    stripped = strip_question_words(unredacted)
    terms: list[str] = []
    for run in _CJK_RUN_RE.findall(stripped):
        terms.extend(w for w in _cut_known(run, table) if len(w) >= 2 or table.knows_chinese(w))
    words = [
        part
        for m in _EN_TOKEN_RE.finditer(stripped)
        for part in _compound_parts(m.group().removesuffix("'s").removesuffix("’s"))
    ]
    i = 0
    while i < len(words):
        # Longest phrase the term table knows ("incubation period", "hand hygiene").
        for size in (3, 2, 1):
            phrase = " ".join(words[i : i + size])
            if size == 1 or (len(words) >= i + size and table.to_chinese(phrase)):
                terms.append(phrase)
                i += size
                break
    return list(dict.fromkeys(terms))


def _compound_parts(word: str) -> list[str]:
    """A hyphenated compound's parts ("opioid-naïve" -> opioid, naive); a code stays whole.

    Guidelines write a compound with a hyphen, a space or not at all ("opioid-naive patients",
    "naive to opioids"); its parts are the words that match. Diacritics are folded (naïve is
    spelled naive as often as not).
    """
    word = fold_diacritics(word).strip("-")
    if "-" not in word or _HAS_DIGIT_RE.search(word):
        return [word] if word else []
    return [part for part in word.split("-") if part]


def _is_generic(term: str, aspect: Aspect | None, table: LayeredTerms) -> bool:
    if aspect and aspect.question_cues.fullmatch(term):
        return True
    if has_cjk(term):
        return (
            term in _GENERIC_ZH
            or term in ZH_STOPWORDS
            or _jieba_freq().get(term, 0) >= ZH_GENERAL_FREQ
        )
    words = normalise_en(term).split()
    return not words or all(w in _GENERIC_EN or w in EN_STOPWORDS or len(w) < 3 for w in words)


# Name shapes: Chinese generic drug names end in these transliterated stems; English drug and
# disease names in these INN stems and medical suffixes; codes and acronyms (HBV, IgM, LDL-C,
# SARS-CoV-2) hold capitals or digits.
_ZH_DRUG_STEM: Final[re.Pattern[str]] = re.compile(
    r"(?:韦|霉素|环素|沙星|西林|头孢\S*|培南|替尼|单抗|洛尔|普利|沙坦|他汀|地平|拉唑|康唑|硝唑|"
    r"替丁|卡因|西泮|唑仑|吗啡|芬太尼|太尼|考酮|诺啡|马多|他滨|法林|匹林|夫定|酮|嗪|胺|酯|苷|"
    r"肽|素|尼龙|松|隆|韦林|洛韦|醇|啶)$"
)
_ZH_DISEASE_STEM: Final[re.Pattern[str]] = re.compile(
    r"(?:病|热|炎|症|癌|瘤|综合征|感染|中毒|损伤|骨折|梗死|出血|血栓|狭窄)$"
)
_EN_NAME_STEM: Final[re.Pattern[str]] = re.compile(
    r"(?:mab|vir|cillin|mycin|micin|floxacin|cycline|pril|sartan|olol|statin|azole|prazole|"
    r"arone|semide|thiazide|gliptin|gliflozin|glutide|lukast|triptan|setron|oxetine|"
    r"tidine|dipine|afil|parin|xaban|gatran|grel|tinib|platin|taxel|rubicin|zepam|zolam|"
    r"codone|morphone|orphine|adone|fentanil|fentanyl|caine|sone|olone|asone|itis|osis|emia|"
    r"aemia|oma|pathy|virus|bacter|coccus|bacillus|plasma)$"
)
_EN_INFLECTED: Final[re.Pattern[str]] = re.compile(r"(?:ed|ing|ly|able|ible|ness|ment)$")
_CODE_RE: Final[re.Pattern[str]] = re.compile(r"[A-Z]{2,}|[A-Za-z]+-?\d|\d+-?[A-Za-z]")
# An abbreviation in mixed case (IgM, cHCC, HbA1c): written so in passages of either language.
_MIXED_CASE: Final[re.Pattern[str]] = re.compile(r"[a-z][A-Z]")
# A general-dictionary word appearing in at most this many glosses is a name (naloxone: 1).
EN_NAME_GLOSSES: Final[int] = 3
_EN_UNKNOWN_NAME: Final[int] = 8  # letters
# Verb and adjective endings (titrate, hypertensive): words about a name, never one.
_EN_NOT_A_NAME: Final[re.Pattern[str]] = re.compile(r"(?:ate|ize|ise|ify|ive|ous|al|ic|ary)$")
ZH_NAME_FREQ: Final[int] = 300


def _is_entity(term: str, table: LayeredTerms) -> bool:
    """Whether a term names a drug, disease, organism, procedure or code (issue #10 item 2).

    Only such names make "the library has no passage about X" a fair refusal: a question's
    other words may be paraphrases ("reuse", "上经鼻") that no guideline spells that way.
    """
    if table.knows_clinical(term):
        return True
    if has_cjk(term):
        if len(term) < 2 or (
            _jieba_tags().get(term) in _VERB_TAGS and not _ZH_DRUG_STEM.search(term)
        ):
            return False
        freq = _jieba_freq().get(term)
        if (_ZH_DRUG_STEM.search(term) or _ZH_DISEASE_STEM.search(term)) and (
            freq is None or freq < ZH_NAME_FREQ
        ):
            return True
        if freq is None and len(term) >= 3:
            return True  # a word jieba found but does not know: a transliterated name
        # A dictionary word is a name when its English gloss is one (胰岛素 → insulin), not
        # when it is an ordinary verb or noun (共用 → share).
        return (
            freq is not None
            and 0 < freq < ZH_NAME_FREQ
            and any(_english_name_part(en, table) for en in table.to_english(term))
        )
    if _CODE_RE.search(term):
        return True
    words = normalise_en(term).split()
    if not words:
        return False
    last = words[-1]
    if _EN_NAME_STEM.search(last) and len(last) > 5:
        return True
    if _EN_INFLECTED.search(last):
        return False
    if (
        len(words) == 1
        and len(last) >= _EN_UNKNOWN_NAME
        and table.generality(last) == 0
        and not _EN_NOT_A_NAME.search(last)
    ):
        # A long word no dictionary gloss uses (glargine, tenecteplase): a name, not a
        # paraphrase, which would be a word of general English.
        return True
    return _english_name_like(term, table) and bool(table.to_chinese(term))


def _english_name_part(term: str, table: LayeredTerms) -> bool:
    """A gloss with a rare word in it ("scarlet fever", "outpatient service")."""
    return any(0 < table.generality(w) <= EN_NAME_GLOSSES for w in normalise_en(term).split())


def _english_name_like(term: str, table: LayeredTerms) -> bool:
    words = normalise_en(term).split()
    return bool(words) and all(0 < table.generality(w) <= EN_NAME_GLOSSES for w in words)


def analyse_question(
    question: str, *, table: LayeredTerms, rarity: TermRarity | None = None
) -> QuestionAnalysis:
    """Subject terms (weighted by library rarity), aspect and other-language terms."""
    language = detect_language(question)
    candidates = _candidate_terms(question, table)
    # A name may hold an aspect's word (多剂量瓶, "dose counter"): look for the aspect outside it.
    unnamed = question
    for term in candidates:
        is_cue = any(a.question_cues.fullmatch(term) for a in ASPECTS)
        if len(term) >= 3 and not is_cue and _is_entity(term, table):
            unnamed = unnamed.replace(term, " ")
    aspect = detect_aspect(unnamed)
    terms: list[SubjectTerm] = []
    for term in candidates:
        if _is_generic(term, aspect, table):
            continue
        forms = tuple(dict.fromkeys((term, *table.translate(term), *table.synonyms(term))))
        frequencies = [rarity.frequency(f) for f in forms] if rarity else []
        df = max(frequencies, default=1)
        entity = _is_entity(term, table)
        if df == 0 and (not entity or _unknown_fragment(term, table)):
            continue  # a paraphrase or a word cut apart: no guideline spells it that way
        weight = rarity.idf(df) if rarity else 1.0
        terms.append(
            SubjectTerm(
                term=term,
                forms=forms,
                weight=round(weight, 4),
                anchor=entity,
                in_library=df > 0,
            )
        )
    if aspect is not None and aspect.name in _DRUG_ASPECTS and rarity is not None:
        terms.extend(_unrecognised_names(unnamed, terms, rarity))
    terms.sort(key=lambda t: -t.weight)
    other: Language = "en" if language == "zh" else "zh"
    # Other-language forms the library uses: a dictionary sense no passage holds ("Chinese" →
    # 中国籍, "get" → 谋得) matches nothing and only lowers the search's lexical strength,
    # which divides by the number of query terms.
    # A Latin name or code (IgM, HBV, CNLC, Spaulding) is written as it is in passages of
    # either language: it is searched in the other language too.
    translated = [
        t.term
        for t in terms
        if not has_cjk(t.term)
        and (language == "zh" or t.anchor or _CODE_RE.search(t.term) or _MIXED_CASE.search(t.term))
        and (rarity is None or rarity.frequency(t.term) > 0)
    ]
    translated += [
        f
        for t in terms
        for f in [
            f
            for f in t.forms[1:]
            if has_cjk(f) != has_cjk(t.term) and (rarity is None or rarity.frequency(f) > 0)
        ][:2]
    ]
    if aspect is not None:
        translated.extend(aspect_words(aspect, other))
    translations: dict[str, str] = (
        {other: " ".join(dict.fromkeys(translated))} if translated else {}
    )
    return QuestionAnalysis(
        text=question,
        language=language,
        terms=tuple(terms),
        aspect=aspect,
        translations=translations,
    )


# Aspects asked of a drug: a name the analysis did not recognise must not be lost for these,
# or another drug's dose answers the question.
_DRUG_ASPECTS: Final[frozenset[str]] = frozenset(
    {
        "dose",
        "missed_dose",
        "renal_dose",
        "frequency",
        "duration",
        "contraindication",
        "adverse_effects",
    }
)


def _unrecognised_names(
    question: str, terms: Sequence[SubjectTerm], rarity: TermRarity
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
    for pattern in _POPULATIONS.values():
        text = pattern.sub(" ", text)
    freq = _jieba_freq()
    tags = _jieba_tags()
    found: list[SubjectTerm] = []
    for run in _CJK_RUN_RE.findall(text):
        group = ""
        for word in [*_cut(run), "的"]:
            material = (
                not (set(word) & _NAME_BREAKS)
                and word not in _GENERIC_ZH
                and word not in ZH_STOPWORDS
                and (len(word) == 1 or freq.get(word, 0) < ZH_NAME_FREQ)
                and tags.get(word) not in _VERB_TAGS
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


_ASPECT_WORDS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "incubation": {"zh": ("潜伏期",), "en": ("incubation period",)},
    "contraindication": {"zh": ("禁忌",), "en": ("contraindicated", "avoid")},
    "adverse_effects": {"zh": ("不良反应",), "en": ("adverse effects",)},
    "dose": {"zh": ("剂量", "用量"), "en": ("dose", "dosage", "mg")},
    "missed_dose": {"zh": ("漏服",), "en": ("missed dose",)},
    "renal_dose": {"zh": ("肾功能", "剂量"), "en": ("renal", "creatinine clearance", "dose")},
    "duration": {"zh": ("疗程",), "en": ("duration", "days")},
    "frequency": {"zh": ("间隔",), "en": ("interval", "every")},
}


def aspect_words(aspect: Aspect, language: str) -> tuple[str, ...]:
    """Words that name an aspect in a language (for searching)."""
    return _ASPECT_WORDS.get(aspect.name, {}).get(language, ())


@functools.lru_cache(maxsize=8192)
def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def form_in_text(form: str, text: str) -> bool:
    """Whether a term form occurs in a text (whole words and plural folding for English)."""
    if has_cjk(form):
        return _normal(form) in _normal(text)
    words = normalise_en(form).split()
    if not words:
        return False
    return f" {' '.join(words)} " in _folded(text)


@functools.lru_cache(maxsize=8192)
def _folded(text: str) -> str:
    """A text's English words, lower-cased and plural-folded, space-padded (for whole words);
    a compound's parts are words ("opioid-naïve" holds "opioid" and "naive")."""
    return f" {fold_english(text)} "


def term_in_text(term: SubjectTerm, text: str) -> bool:
    """Whether any form of a subject term occurs in the text."""
    return any(form_in_text(form, text) for form in term.forms)


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
) -> Responsiveness:
    """Is the sentence about the question's subject (in it or its context) and aspect?

    `context`: the text the sentence stands under — the sentence before it, the section path
    and the document title. The aspect must be stated in the sentence itself. `clauses`: the
    earlier clauses of the statement it continues, nearest first; the first naming a population
    says whom the sentence is about when it names none itself.
    """
    anchors = analysis.anchors
    here = " ".join((sentence, *context))
    found = [a for a in anchors if term_in_text(a, here)]
    if anchors and not term_in_text(anchors[0], sentence) and names_other(analysis, sentence):
        # The sentence names another drug or disease itself: its subject is that one, whatever
        # the sentences around it say ("帕拉米韦：成人剂量300mg" under "奥司他韦…").
        return Responsiveness(False, "other_subject", len(found), True)
    aspect_stated = analysis.aspect is None or analysis.aspect.stated_in(sentence)
    if anchors:
        # The main name must be there, and every other (one may be missing from three or more:
        # "aspirin plus clopidogrel for intracranial stenosis" under its section heading).
        allowed_missing = 1 if len(anchors) >= 3 else 0
        if anchors[0] not in found or len(anchors) - len(found) > allowed_missing:
            return Responsiveness(False, "other_subject", len(found), aspect_stated)
    elif analysis.terms and not any(term_in_text(t, here) for t in analysis.terms):
        return Responsiveness(False, "other_subject", 0, aspect_stated)
    if not aspect_stated:
        return Responsiveness(False, "other_aspect", len(found), aspect_stated)
    about = sentence
    if not populations(sentence):
        about = next((c for c in clauses if populations(c)), sentence)
    if other_population(analysis.text, about):
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    # A question about children or pregnancy is answered by what is said of them: a sentence
    # that names neither, under a title and section that name neither, speaks of everyone
    # else ("妊娠期高血压的降压目标" is not answered by a stroke guideline's blood-pressure target).
    if fits(patient_of(analysis.text), sentence, clauses) is False:
        # Another row of the dosing table: the patient's weight or age is outside it.
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    special = populations(analysis.text) & _SPECIAL_POPULATIONS
    if special and not special & populations(" ".join((sentence, *context, *clauses))):
        return Responsiveness(False, "other_population", len(found), aspect_stated)
    return Responsiveness(True, None, len(found), aspect_stated)


# Who a statement is about. A dose for adults does not answer a question about a child.
_POPULATIONS: Final[dict[str, re.Pattern[str]]] = {
    "child": re.compile(
        r"儿童|孩子|小孩|患儿|小儿|婴|幼儿|新生儿|早产儿|岁以下|[月周]龄|\bchild|\bkids?\b|"
        r"p(?:a)?ediatric|"
        r"\binfant|neonat|newborn",
        re.IGNORECASE,
    ),
    "adult": re.compile(r"成人|成年|\badults?\b", re.IGNORECASE),
    "pregnancy": re.compile(r"孕妇|妊娠|孕期|怀孕|pregnan", re.IGNORECASE),
}


# Populations whose statements are their own (an adult's dose is said of "patients" at large).
_SPECIAL_POPULATIONS: Final[frozenset[str]] = frozenset({"child", "pregnancy"})


def populations(text: str) -> set[str]:
    """The populations a text names (child, adult, pregnancy)."""
    return {name for name, pattern in _POPULATIONS.items() if pattern.search(text)}


def other_population(question: str, sentence: str) -> bool:
    """The question names a population and the sentence names only others."""
    asked = populations(question)
    stated = populations(sentence)
    return bool(asked and stated and not asked & stated)


def names_other(analysis: QuestionAnalysis, sentence: str) -> bool:
    """Whether a sentence names a drug or disease (by its name's shape) the question does not."""
    forms = {_normal(f) for t in analysis.terms for f in t.forms}
    return any(not any(n in f or f in n for f in forms) for n in names_in(sentence))


@functools.lru_cache(maxsize=8192)
def names_in(sentence: str) -> tuple[str, ...]:
    """Drug- and disease-shaped words of a sentence (cached: a sentence is judged often)."""
    norm = _normal(sentence)
    names = [
        word
        for run in _CJK_RUN_RE.findall(norm)
        for word in _join_name_pieces(_cut(run))
        if len(word) >= 3 and _ZH_DRUG_STEM.search(word)
    ]
    names.extend(w for w in re.findall(r"[a-z][a-z\-]{5,}", norm) if _EN_NAME_STEM.search(w))
    return tuple(names)


def weighted_coverage(analysis: QuestionAnalysis, text: str) -> float:
    """Share (0–1) of the question's subject-term weight whose forms occur in the text."""
    total = sum(t.weight for t in analysis.terms)
    if not total:
        return 0.0
    return sum(t.weight for t in analysis.terms if term_in_text(t, text)) / total


def states_dose(sentence: str) -> bool:
    """A dosing sentence: a number with a dose unit (mg, g, µg, mL, IU, 毫克, 片 …)."""
    if _DOSE_UNIT_RE.search(sentence):
        return True
    return any(q.unit in DOSE_UNITS for q in extract_quantities(sentence))
