"""Drug and disease names in Chinese text: jieba's words, the pieces of a name it cut apart,
and the shapes that tell a name from a paraphrase (issue #10 item 2).

jieba knows few modern drug names: it cuts 奥司他韦 into 奥司/他/韦 and guesses words out of a
name and its neighbours (新冠人, 给佐多). Names are put back together from pieces that end in a
drug stem or a transliterated INN ending (沙班, 加群, 列净, 替尼 …); a word jieba guessed that is a
known word with a neighbour's character glued on is a fragment, never a name the library lacks.
`names_in` gives the drug- and disease-shaped words of a sentence in either script.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping
from typing import Final

from assistant.glossary import EN_NAME_STEM, LayeredTerms
from assistant.language import CJK_CHARS, NAME_BREAKS, has_cjk, normalised
from assistant.populations import populations

# Words every clinical question or passage uses: never a subject, whatever their rarity.
GENERIC_ZH: Final[frozenset[str]] = frozenset(
    str.split(
        "患者 患儿 病人 病例 人群 人员 治疗 使用 应用 推荐 建议 方案 指南 规范 情况 疾病 临床 "
        "医生 医院 药物 药品 用药 处理 措施 管理 方法 标准 要求 问题 时间 时候 成人 儿童 小儿 "
        "孩子 病毒 感染 可以 一般 主要 常见 首选 选择 哪种 多少 怎么 如何 什么 需要 应该 是否 "
        "给予 进行 采用 考虑 注意 相关 有效 效果 作用 剂量 用量 用法 多久 多长 期间 最大 最小 "
        "每天 每日 次数 起始 开始 后续 继续 停止 口服 静脉 注射 肌注 肌内注射 皮下 吸入 外用 "
        # Severity grades qualify any disease; they name none.
        "轻症 重症 危重症 轻型 中型 重型 危重型 普通型 轻度 中度 重度 "
        # Seeing the patient again is what a timing question asks about, never its subject.
        "复查 随访 复诊 随诊 "
        # What is asked of a treatment's use, never a name: its principles and key points.
        "原则 基本原则 总原则 要点 注意事项 "
        # What a value should be ("比例应为多少"): the verb of the question, never a name.
        "应为 应是 应当为"
    )
)

CJK_RUN_RE: Final[re.Pattern[str]] = re.compile(f"[{CJK_CHARS}]+")
_LONGEST_TERM: Final[int] = 12
_LONGEST_NAME: Final[int] = 8
# A piece of a name is a word jieba knows from fewer than this many occurrences (帕拉: 40).
_RARE_PIECE: Final[int] = 100

ZH_DRUG_STEM: Final[re.Pattern[str]] = re.compile(
    # Kinase and PARP/CDK inhibitors (替尼, 非尼, 帕利, 西利), platins, anthracyclines, taxanes,
    # camptothecins (铂, 比星, 他赛, 替康), thrombolytics (普酶, 激酶) as well as the classes
    # above and below.
    r"(?:韦|霉素|环素|沙星|西林|头孢\S*|培南|替尼|非尼|帕利|西利|单抗|铂|比星|他赛|替康|普酶|激酶|"
    r"洛尔|普利|沙坦|他汀|地平|拉唑|康唑|硝唑|"
    r"替丁|卡因|西泮|唑仑|啡|芬太尼|太尼|考酮|马多|他滨|法林|匹林|夫定|酮|嗪|胺|酯|苷|"
    r"肽|素|尼龙|松|隆|韦林|洛韦|醇|啶)$"
)
ZH_DISEASE_STEM: Final[re.Pattern[str]] = re.compile(
    r"(?:病|热|炎|症|癌|瘤|综合征|感染|中毒|损伤|骨折|梗死|出血|血栓|狭窄|结石|衰竭|硬化|溃疡|"
    # Organisms (艰难梭菌, 肺炎链球菌, 鲍曼不动杆菌, 沙眼衣原体), not what kills them (灭菌,
    # 无菌, 抑菌, 杀菌, 除菌, 消菌).
    r"(?<![灭无抑杀除消])菌|(?<![抗杀])病毒|支原体|衣原体|螺旋体)$"
)
ZH_NAME_FREQ: Final[int] = 300


@functools.cache
def word_counts() -> Mapping[str, int]:
    """jieba's word counts. Initialised first: initialising replaces the dictionary object, so a
    reference taken before would stay empty and every word would look unknown."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt.FREQ


def cut(text: str) -> list[str]:
    """jieba's words; a word jieba guessed that opens or ends with a function word loses it
    (给佐多 → 给 + 佐多: the preposition before an unknown name; 抗凝用 → 抗凝 + 用)."""
    import jieba

    freq = word_counts()
    words: list[str] = []
    for word in jieba.lcut(text):
        if not word.strip():
            continue
        if len(word) >= 2 and word[0] in NAME_BREAKS and freq.get(word) is None:
            words.extend((word[0], word[1:]))
        elif len(word) >= 2 and word[-1] in NAME_BREAKS and freq.get(word) is None:
            words.extend((word[:-1], word[-1]))  # 抗凝用 (of "新冠抗凝用什么药") → 抗凝 + 用
        else:
            words.append(word)
    return words


# A dosage form written onto a drug's name ("阿兹夫定片", "奈玛特韦片", "玛巴洛沙韦片剂"): jieba
# glues it to the name's last syllable (阿兹夫 + 定片) and the name is lost.
_DOSAGE_FORM_RE: Final[re.Pattern[str]] = re.compile(
    r"(?:片剂|缓释片|控释片|肠溶片|分散片|片|胶囊|注射液|注射剂|颗粒剂|颗粒|口服液|口服溶液|"
    r"干混悬剂|混悬液|吸入剂|喷雾剂|粉雾剂)"
)


def _dosage_forms_apart(run: str) -> list[str]:
    """The run cut before each dosage form that follows a drug-shaped name."""
    parts: list[str] = []
    start = 0
    for match in _DOSAGE_FORM_RE.finditer(run):
        name = run[start : match.start()]
        if len(name) >= 2 and ZH_DRUG_STEM.search(name):
            parts += [name, match.group()]
            start = match.end()
    return [*parts, run[start:]] if start < len(run) else parts


def _dictionary_words_split(run: str) -> frozenset[int]:
    """Where an end would cut a word jieba's dictionary knows (静脉血 | 栓 of 静脉/血栓): a
    general dictionary's term ending there is not the run's word."""
    inside: set[int] = set()
    start = 0
    counts = word_counts()
    for word in cut(run):
        end = start + len(word)
        if len(word) >= 2 and counts.get(word):
            inside.update(range(start + 1, end))
        start = end
    return frozenset(inside)


def _named(term: str, table: LayeredTerms) -> bool:
    """A clinical table's term, or one shaped like a drug's or disease's name (替多本多单抗 of
    "替多本多单抗过敏", which jieba cuts …单/抗过敏)."""
    return bool(
        table.knows_clinical(term) or ZH_DRUG_STEM.search(term) or ZH_DISEASE_STEM.search(term)
    )


def cut_known(run: str, table: LayeredTerms) -> list[str]:
    """Words of a Chinese run: the longest term the term table knows (3+ characters) first.

    jieba cuts drug names it does not know into pieces (奥司他韦 → 奥司/他/韦); the hospital
    glossary, the library's glosses and the dictionary know them whole. A dosage form after a
    drug's name is a word of its own (阿兹夫定片 → 阿兹夫定 + 片).
    """
    parts = _dosage_forms_apart(run)
    if len(parts) > 1:
        return [word for part in parts for word in cut_known(part, table)]
    words: list[str] = []
    pending = ""
    i = 0
    splits = _dictionary_words_split(run)
    while i < len(run):
        known = next(
            (
                run[i:j]
                for j in range(min(len(run), i + _LONGEST_TERM), i + 2, -1)
                if table.knows_chinese(run[i:j]) and (j not in splits or _named(run[i:j], table))
            ),
            None,
        )
        pair = run[i : i + 2]
        if known is None and (
            table.knows_clinical(pair)
            or (len(pair) == 2 and word_counts().get(pair) is None and expansions(pair, table))
        ):
            # A two-character clinical name jieba does not know (卒中 in "卒中后", "卒中用",
            # which it cuts 卒 / 中后), or an abbreviation of one (新冠, which it glues to the
            # drug after it: 新冠奈玛特 / 韦利 …).
            known = pair
        spelled = len(known) if known else 0
        if known is None and (variant := _clinical_variant(run, i, table)):
            known, spelled = variant
        if known is None:
            pending += run[i]
            i += 1
            continue
        # jieba may know the word longer (秋水仙碱 where the table knows 秋水仙).
        longer = next(
            (
                run[i:j]
                for j in range(min(len(run), i + _LONGEST_TERM), i + spelled, -1)
                if word_counts().get(run[i:j]) and j not in splits
            ),
            None,
        )
        if longer:
            known, spelled = longer, len(longer)
        if pending:
            words.extend(cut(pending))
            pending = ""
        words.append(known)
        i += spelled
    if pending:
        words.extend(cut(pending))
    return join_name_pieces(_join_known_pairs(words, table), table)


def _join_known_pairs(words: list[str], table: LayeredTerms) -> list[str]:
    """Two single characters jieba left apart that the term table knows as one word: jieba
    cuts 卒中 into 卒 + 中 before 患者 ("缺血性卒中患者"), and the question loses its subject."""
    out: list[str] = []
    for word in words:
        pair = out[-1] + word if out else ""
        if len(pair) == 2 and has_cjk(pair[0]) and has_cjk(pair[1]) and table.knows_chinese(pair):
            out[-1] = pair
        else:
            out.append(word)
    return out


def _clinical_variant(run: str, i: int, table: LayeredTerms) -> tuple[str, int] | None:
    """A clinical term written with one more character inside it (多剂量药瓶 for the glossary's
    多剂量瓶, 单剂量药瓶 for 单剂量瓶): the term as the glossary spells it, and how many
    characters of the run it takes. Only the clinical layers, only terms of 3+ characters."""
    for j in range(min(len(run), i + _LONGEST_TERM + 1), i + 3, -1):
        span = run[i:j]
        if word_counts().get(span):
            continue  # a word of its own (口服药物), not a variant
        for k in range(1, len(span) - 1):
            term = span[:k] + span[k + 1 :]
            if table.knows_clinical(term):
                return term, len(span)
    return None


def unknown_fragment(term: str, table: LayeredTerms) -> bool:
    """A Chinese word jieba guessed that is a known word with a neighbour's character glued on
    (新冠 + 人 of 人群 → 新冠人), or a piece shorter than four characters.

    A transliterated name jieba kept whole (利伐沙班, 替格瑞洛) holds no known word at either
    end: it is a name the library may lack, and a question about it is refused naming it.
    Drug- and disease-shaped words (手足口病) are names whatever their parts.
    """
    if (
        not has_cjk(term)
        or word_counts().get(term) is not None
        or ZH_DRUG_STEM.search(term)
        or (len(term) >= 3 and ZH_DISEASE_STEM.search(term))
        or table.knows_chinese(term)
    ):
        return False
    if len(term) < 4 or set(term) & NAME_BREAKS:
        return True  # 脑梗用: a word and a function word jieba glued together
    return any(_known_word(part, table) for part in (term[:-1], term[1:]))


def _known_word(word: str, table: LayeredTerms) -> bool:
    """A word of its own: one jieba often sees or the term table knows (普拉格, seen twice, is
    no word but a piece of 普拉格雷)."""
    return word_counts().get(word, 0) >= _RARE_PIECE or table.knows_chinese(word)


@functools.cache
def word_tags() -> Mapping[str, str]:
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


# jieba's part-of-speech tags of verbs (起病 "fall ill", 接种 "get vaccinated", 发热): a verb
# names no drug, disease or procedure, whatever its last character (a verbal noun, vn, may).
VERB_TAGS: Final[frozenset[str]] = frozenset({"v", "vd", "vi", "vg", "vq"})


def join_name_pieces(words: list[str], table: LayeredTerms | None = None) -> list[str]:
    """Join the pieces jieba cut a drug name into (托珠 + 单抗, 奥司 + 他 + 韦, 达比 + 加群).

    A drug stem (韦, 单抗, 霉素 …) takes the pieces before it that jieba does not know or that
    are single characters, up to a name's length; a function word (的, 和 …) stops it. With a
    term table, pieces that end in a drug-name ending join (达比 + 加群, 依诺 + 肝素; _name_span).
    """
    freq = word_counts()
    out: list[str] = []
    for word in _stems_apart(words):
        if table is not None and out and (taken := _name_span(out, word, table)):
            name = "".join(out[-taken:]) + word
            del out[-taken:]
            out.extend(_two_names(name))
            continue
        if (
            out
            and len(word) == 2
            and freq.get(word) is None
            and ZH_DISEASE_STEM.search(word)
            and word not in GENERIC_ZH
            and has_cjk(out[-1])
            and _plain_piece(out[-1])
            and len(out[-1]) + 2 <= _LONGEST_NAME
            and not (table is not None and table.knows_clinical(out[-1]))
        ):
            # A disease name jieba does not know, cut before a tail it does not know either
            # (手足 + 口病): the tail is no word, the two are one name. Not after a disease
            # named whole (流感 + 风热: the syndrome of a TCM pattern follows the disease).
            out.append(out.pop() + word)
            continue
        if word in _CLASS_STEMS and out and _may_open_name(out[-1], word):
            # A class ending alone is no drug (霉素, 沙星): the word before it is the rest of
            # the name, however often jieba sees it on its own (克拉 + 霉素 is clarithromycin,
            # never any -mycin the library doses).
            out.append(out.pop() + word)
            continue
        if not (ZH_DRUG_STEM.fullmatch(word) and out):
            out.append(word)
            continue
        name = word
        while (
            out
            and has_cjk(out[-1])
            and not (set(out[-1]) & NAME_BREAKS)
            and (len(out[-1]) == 1 or freq.get(out[-1], 0) < _RARE_PIECE)
            and len(name) + len(out[-1]) <= _LONGEST_NAME
        ):
            name = out.pop() + name
        if out and has_cjk(out[-1]) and name == word:
            # "用多西" + "环素": the piece after a function word belongs to the name
            piece = out[-1]
            cut = max(piece.rfind(c) for c in NAME_BREAKS)
            if 0 <= cut < len(piece) - 1 and len(piece) - cut - 1 + len(name) <= _LONGEST_NAME:
                out[-1], name = piece[: cut + 1], piece[cut + 1 :] + name
        out.extend(_two_names(name))
    return out


def join_disease_pieces(words: list[str], written: Callable[[str], bool]) -> list[str]:
    """Join the characters jieba left apart before a bare disease ending into the name the
    library writes (鼠 + 咬 + 热 → 鼠咬热; 抗 + 磷脂 + 综合征 → 抗磷脂综合征).

    Single characters are no terms: apart, the question loses the disease it asks about (鼠咬热
    read as 热, 抗磷脂综合征 as 磷脂 + 综合征). A bare ending (热, 病, 综合征) names nothing on
    its own: the longest span of up to three pieces before it is joined to it when one of its
    pieces is a single character and `written` says the library writes the whole. A disease
    named whole stays apart from what qualifies it (性 + 支原体肺炎 of "无反应性支原体肺炎",
    成 + 重症 of "发展成重症"); no function word, generic word or population joins.
    """
    out: list[str] = []
    for word in words:
        if out and has_cjk(word) and ZH_DISEASE_STEM.fullmatch(word):
            for taken in range(min(_DISEASE_PIECES, len(out)), 0, -1):
                pieces = out[-taken:]
                name = "".join(pieces) + word
                if (
                    any(len(p) == 1 for p in (*pieces, word))
                    and len(name) <= _LONGEST_NAME
                    and all(CJK_RUN_RE.fullmatch(p) and _plain_piece(p) for p in pieces)
                    and written(name)
                ):
                    del out[-taken:]
                    word = name
                    break
        out.append(word)
    return out


def take_back_name_starts(
    words: list[str], written_alone: Callable[[str], bool], known: Callable[[str], bool]
) -> list[str]:
    """Give a drug name back the first character jieba glued onto the word before it
    ("能用法维拉韦吗": 用法 + 维拉韦 → 用 + 法维拉韦) when the library writes the longer name
    on its own ("②法维拉韦：", `written_alone`) and never the shorter, and neither jieba nor
    `known` (the index's words, the term table's) knows the shorter one: 口服 + 阿奇霉素 stay
    apart. The word before keeps the rest ("用")."""
    freq = word_counts()
    out: list[str] = []
    for word in words:
        if (
            out
            and len(out[-1]) >= 2
            and has_cjk(out[-1])
            and ZH_DRUG_STEM.search(word)
            and freq.get(word) is None
            and not known(word)
            and not written_alone(word)
            and written_alone(out[-1][-1] + word)
        ):
            start = out[-1][-1]
            out[-1] = out[-1][:-1]
            word = start + word
        out.append(word)
    return out


# Pieces before a disease ending that may belong to its name.
_DISEASE_PIECES: Final[int] = 3


def _plain_piece(piece: str) -> bool:
    """A piece that may be part of a name: no function word in it (的, 和, 用 …), no word every
    question uses (患者, 治疗), no population (儿童, 孕妇)."""
    return not (set(piece) & NAME_BREAKS) and piece not in GENERIC_ZH and not populations(piece)


def _stems_apart(words: list[str]) -> list[str]:
    """A drug ending jieba glued to the function word after it ("伐 昔洛 韦是 …"): apart, so
    the ending closes its name (韦 + 是); one cut across two pieces, together (西沙 + 星)."""
    out: list[str] = []
    for word in words:
        if len(word) >= 2 and word[-1] in NAME_BREAKS and ZH_DRUG_STEM.fullmatch(word[:-1]):
            out.extend((word[:-1], word[-1]))
        elif (
            len(word) == 1
            and not ZH_DRUG_STEM.fullmatch(word)
            and out
            and len(out[-1]) >= 2
            and out[-1][-1] + word in _CLASS_STEMS
        ):
            # A class ending cut across two pieces (莫 / 西沙 / 星 of 莫西沙星): whole again.
            last = out.pop()
            out.extend((last[:-1], last[-1] + word))
        else:
            out.append(word)
    return out


def _two_names(name: str) -> list[str]:
    """Pieces joined up to a drug ending that hold a whole name before another: two drugs
    written together ("奈玛特韦利托那韦": jieba cuts 奈玛特/韦利/托/那/韦)."""
    for k in range(_SHORTEST_OF_TWO, len(name) - _SHORTEST_OF_TWO + 1):
        if ZH_DRUG_STEM.search(name[:k]):
            return [name[:k], name[k:]]
    return [name]


# Each of two names written together has at least this many characters.
_SHORTEST_OF_TWO: Final[int] = 3


# Endings of a drug class that are no drug on their own (the Chinese INN stems): a word
# before one in the same run is the rest of its name.
_CLASS_STEMS: Final[frozenset[str]] = frozenset(
    {
        *("霉素", "环素", "沙星", "西林", "培南", "替尼", "单抗", "洛尔", "普利", "沙坦"),
        *("他汀", "地平", "拉唑", "康唑", "硝唑", "替丁", "卡因", "西泮", "唑仑", "他滨"),
        *("夫定", "洛韦", "沙班", "加群", "列汀", "列净"),
    }
)


def _may_open_name(piece: str, stem: str) -> bool:
    """Whether a piece before a class ending can be the start of the drug's name: Chinese, no
    function word or verb that takes a drug (用, 服), no generic word or population, short."""
    return (
        CJK_RUN_RE.fullmatch(piece) is not None
        and not (set(piece) & NAME_BREAKS)
        and word_tags().get(piece) not in _NOT_NAME_START
        and piece not in GENERIC_ZH
        and not populations(piece)
        and len(piece) + len(stem) <= _LONGEST_NAME
    )


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

    The joined pieces end in a drug-name ending (ZH_DRUG_STEM, _ZH_NAME_END); each piece before
    `word` is a single character that is no function word, or a word jieba does not know or
    rarely sees and the term table does not know as a word of its own (流感 + 奥司他韦 stay two);
    the first piece cannot be a common verb, preposition or pronoun (用 + 奥希替尼).
    """
    freq = word_counts()
    tags = word_tags()
    # A whole name already (奥司他韦, 肝素): a character before it is no part of it (后 +
    # 奥司他韦), but a piece jieba does not know is a prefix of a longer name (依诺 + 肝素).
    whole = table.knows_chinese(word) and bool(
        _ZH_NAME_END.search(word) or ZH_DRUG_STEM.search(word)
    )
    for taken in range(min(len(out), _LONGEST_SPAN), 0, -1):
        pieces = out[-taken:]
        if whole and any(len(p) < 2 or freq.get(p) is not None for p in pieces):
            continue
        name = "".join(pieces) + word
        if not (3 <= len(name) <= _LONGEST_NAME) or not CJK_RUN_RE.fullmatch(name):
            continue
        if not (_ZH_NAME_END.search(name) or ZH_DRUG_STEM.search(name)):
            continue
        opening = pieces[0]
        if (
            freq.get(opening, 0) >= _VERY_COMMON_CHAR
            or _function_word(opening, freq, tags)
            # 想换 + 多西环素, 想换 + 多西 + 环素: "wants to switch to", unlike 依诺 + 肝素
            # (enoxaparin). A lone piece before a stem may open with one (达比 + 加群).
            or ((whole or taken > 1) and _function_word(opening[0], freq, tags))
            or word in GENERIC_ZH
            or set(word) & NAME_BREAKS
        ):
            continue
        if all(_name_piece(piece, freq, table) for piece in pieces):
            return taken
    return 0


def _function_word(word: str, freq: Mapping[str, int], tags: Mapping[str, str]) -> bool:
    """A common verb, preposition or pronoun (用, 对, 想): it opens no name, nor does a piece
    jieba does not know that begins with one (想换, 改用)."""
    return tags.get(word) in _NOT_NAME_START and freq.get(word, 0) >= _COMMON_CHAR


def _known_name(word: str, table: LayeredTerms) -> bool:
    """A name of its own: the clinical layers know it, or a dictionary knows it and it has a
    disease's shape (支原体肺炎)."""
    return table.knows_clinical(word) or (
        table.knows_chinese(word) and ZH_DISEASE_STEM.search(word) is not None
    )


# Which dose or time it is (首剂, 末次, 单次, 每次): the question's words before a drug's name,
# never a piece of it ("再给首剂丁丙诺啡" names 丁丙诺啡).
_DOSE_COUNT_PIECE: Final[re.Pattern[str]] = re.compile(r"[首末单每初][剂次量]")


def _name_piece(piece: str, freq: Mapping[str, int], table: LayeredTerms) -> bool:
    if not _plain_piece(piece) or _DOSE_COUNT_PIECE.fullmatch(piece):
        return False
    if len(piece) >= 2 and any(
        not (ZH_DRUG_STEM.search(name) or _ZH_NAME_END.search(name))
        for name in (
            *((piece,) if _known_name(piece, table) else ()),
            *expansions(piece, table),
        )
    ):
        # A disease the term table knows, or abbreviates, before the drug: 支原体肺炎 + 激素,
        # 新冠 (新型冠状病毒感染) + 阿兹夫定 are two names, never pieces of one.
        return False
    if len(piece) == 1:
        return True
    if len(piece) >= 3 and table.knows_chinese(piece) and not ZH_DRUG_STEM.search(piece):
        # A word the term table knows whole is no piece of the drug after it: 猪咬伤 +
        # 青霉素 are an injury and a drug ("猪咬伤青霉素过敏用什么抗生素").
        return False
    known = freq.get(piece)
    if known is not None and known >= ZH_NAME_FREQ:
        return False
    return known is None or known < _RARE_PIECE or not table.knows_chinese(piece)


# A Chinese abbreviation takes characters of its full name in order, mostly the first of each
# word: 新冠 ← 新型冠状, 丙球 ← 丙种球蛋白, 密接 ← 密切接触, 感控 ← 感染防控. At most this many
# characters of the full name stand between two it keeps.
_ABBREVIATION_GAP: Final[int] = 2
_ABBREVIATION_CHARS: Final[range] = range(2, 4)


@functools.lru_cache(maxsize=4096)
def _abbreviation_re(short: str) -> re.Pattern[str] | None:
    if len(short) not in _ABBREVIATION_CHARS or not all(has_cjk(c) for c in short):
        return None
    gap = f"[{CJK_CHARS}]{{0,{_ABBREVIATION_GAP}}}"
    return re.compile(gap.join(re.escape(c) for c in short))


def abbreviates(short: str, full: str) -> bool:
    """Whether `short` abbreviates the longer name `full`: its first character starts the name
    and its others follow in order, at most two characters apart."""
    pattern = _abbreviation_re(short)
    return (
        pattern is not None
        and len(full) > len(short)
        and full.startswith(short[0])
        and short not in full
        and pattern.match(full) is not None
    )


def abbreviation_in(short: str, text: str) -> bool:
    """Whether `text` spells out the abbreviation `short` (密接 in "…的密切接触者…")."""
    pattern = _abbreviation_re(short)
    return pattern is not None and pattern.search(text) is not None


def expansions(short: str, table: LayeredTerms) -> list[str]:
    """The clinical names (hospital glossary, the library's own glosses) `short` abbreviates."""
    if _abbreviation_re(short) is None or table.knows_clinical(short):
        return []
    return [full for full in table.clinical_chinese() if abbreviates(short, full)]


# A verb this common before a glossed term is the clause's, not the term's (预防, 使用, 检测),
# as is a one-character adverb, preposition or conjunction (还, 对, 和; not 异常 of
# 异常凝血酶原).
_CLAUSE_VERB_FREQ: Final[int] = 1000
_CLAUSE_WORD_TAGS: Final[frozenset[str]] = frozenset({"d", "p", "c", "u", "uj", "r"})
# A definition's verbs, which jieba may tag as nouns (指 "finger"): "MPP：指肺炎支原体（MP）…"
# glosses 肺炎支原体, not 指肺炎支原体.
_DEFINING: Final[frozenset[str]] = frozenset("指即系是为")


def gloss_term_start(run: str) -> str:
    """A glossed Chinese term without the clause's words before it: common verbs and
    prepositions that jieba cuts off its front ("预防乙型肝炎病毒" → 乙型肝炎病毒, "使用托珠单抗"
    → 托珠单抗). A term jieba keeps whole (抗病毒药物, 预防接种) is left as it is."""
    words = cut(run)
    tags, freq = word_tags(), word_counts()
    while len(words) > 1 and len("".join(words[1:])) >= 2:
        first, tag = words[0], tags.get(words[0])
        clause_word = (len(first) == 1 and (tag in _CLAUSE_WORD_TAGS or first in _DEFINING)) or (
            len(first) >= 2 and tag in {*_NOT_NAME_START, "vn"}
        )
        if not (clause_word and freq.get(first, 0) >= _CLAUSE_VERB_FREQ):
            break
        words = words[1:]
    return "".join(words)


@functools.lru_cache(maxsize=8192)
def names_in(sentence: str) -> tuple[str, ...]:
    """Drug- and disease-shaped words of a sentence (cached: a sentence is judged often).

    A two-character word is a name when it is rare in general language (肝素, 吗啡; not 激素,
    因素, 毒素)."""
    counts = word_counts()
    measured = set(_RAISED_OR_LOWERED_RE.findall(normalised(sentence)))
    names = [
        w
        for w in zh_words(sentence)
        if ZH_DRUG_STEM.search(w)
        and (len(w) >= 3 or (len(w) == 2 and counts.get(w, 0) < ZH_NAME_FREQ))
        and w not in measured
    ]
    norm = normalised(sentence)
    names.extend(w for w in re.findall(r"[a-z][a-z\-]{5,}", norm) if EN_NAME_STEM.search(w))
    return tuple(names)


# A substance named by its level in the blood (高甘油三酯血症, 低纤维蛋白原血症, "高甘油三酯（TG）
# 血症"): a finding measured in the patient, not a drug the sentence is about.
_RAISED_OR_LOWERED_RE: Final[re.Pattern[str]] = re.compile(
    rf"[高低]([{CJK_CHARS}]{{2,8}}?)(?:[（(][^（()）]{{1,12}}[)）])?血症"
)


@functools.lru_cache(maxsize=8192)
def zh_words(sentence: str) -> tuple[str, ...]:
    """The Chinese words of a sentence, a drug's pieces joined into its name."""
    return tuple(
        word
        for run in CJK_RUN_RE.findall(normalised(sentence))
        for word in join_name_pieces(cut(run))
    )
