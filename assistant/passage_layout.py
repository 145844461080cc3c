"""How a passage's sentences stand under one another: list items, their heads and lead-ins.

Guidelines state much of what a doctor asks inside numbered lists. A dose or a course length is
often several sentences below the item head that names its drug ("①奥司他韦：…" … "上述均为每日
2 次，疗程 5 天。"), and criteria follow a lead-in that says nothing by itself ("住院治疗标准（满足
下列标准任意 1 条）：" then "（1）…", "（2）…"). A sentence's *heads* are the earlier sentences it
stands under — the item it continues and the lead-in of the list that item belongs to — so the
question's subject can be found there; a lead-in's *items* are the sentences it introduces, so an
answer never shows the lead-in without its list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from assistant.citations import split_sentences

# The kind of a list marker at the start of a sentence: items of one list share it.
_MARKER_KINDS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = (
    ("paren", re.compile(r"^\s*[（(]\s*[0-9]{1,3}\s*[）)]")),
    ("paren_zh", re.compile(r"^\s*[（(]\s*[一二三四五六七八九十]{1,3}\s*[）)]")),
    ("circled", re.compile(r"^\s*[①-⑳]")),
    ("number", re.compile(r"^\s*[0-9]{1,2}\s*[.、．)](?![0-9])")),
    ("zh_number", re.compile(r"^\s*[一二三四五六七八九十]{1,3}\s*[、．.]")),
    ("bullet", re.compile(r"^\s*[•·▪●○■□◆◇\-–—*]\s")),
    ("letter", re.compile(r"^\s*[a-z][.)]\s", re.IGNORECASE)),
)
# A sentence that introduces what follows ("…标准任意 1 条）：", "…include the following:").
_LEAD_IN_RE: Final[re.Pattern[str]] = re.compile(r"[：:]\s*$")
# A clause that the next sentence continues: it ends in a semicolon ("…体重≤15kg，每次 30mg；").
_CLAUSE_END_RE: Final[re.Pattern[str]] = re.compile(r"[；;]\s*$")
# How far back a head may stand, and how many sentences a lead-in's list may take along.
_HEAD_REACH: Final[int] = 10
_MAX_ITEMS: Final[int] = 8


def marker_kind(sentence: str) -> str | None:
    """The kind of list marker a sentence starts with ("（1）" paren, "①" circled …), if any."""
    for kind, pattern in _MARKER_KINDS:
        if pattern.match(sentence):
            return kind
    return None


# The marker of a list's first item: 1. （1） ① （一） 一、 a.
_FIRST_ITEM_RE: Final[re.Pattern[str]] = re.compile(
    r"^\s*(?:[（(]\s*(?:1|一)\s*[）)]|①|1\s*[.、．)](?![0-9])|一\s*[、．.]|a[.)]\s)", re.IGNORECASE
)


def is_first_item(sentence: str) -> bool:
    """Whether a sentence opens the first item of a list ("1.", "（一）", "①", "a.")."""
    return _FIRST_ITEM_RE.match(sentence) is not None


def is_lead_in(sentence: str) -> bool:
    """A sentence ending in a colon: it introduces the sentences after it."""
    return bool(_LEAD_IN_RE.search(sentence))


def introduces_a_list(sentence: str) -> bool:
    """A lead-in, or a sentence that speaks of the list after it ("…伴有以下至少一项中毒表现的
    患者需使用抗蛇毒血清。" before "中毒表现：①…")."""
    return is_lead_in(sentence) or bool(_POINTS_AHEAD_RE.search(sentence))


@dataclass(frozen=True)
class PassageLayout:
    """A passage's sentences (as split) with each one's heads and each lead-in's items."""

    sentences: tuple[str, ...]
    heads: tuple[tuple[int, ...], ...]
    items: tuple[tuple[int, ...], ...]
    kinds: tuple[str | None, ...] = ()  # each sentence's list marker kind (see marker_kind)

    @property
    def first_item(self) -> int:
        """The first sentence that opens a list item (the sentence count when none does)."""
        return next((i for i, k in enumerate(self.kinds) if k is not None), len(self.sentences))


def layout(text: str) -> PassageLayout:
    """Split a passage into sentences and find what each stands under and introduces."""
    sentences = split_sentences(text)
    return layout_of(sentences)


def layout_of(sentences: Sequence[str]) -> PassageLayout:
    kinds = [marker_kind(s) for s in sentences]
    heads: list[tuple[int, ...]] = []
    for i in range(len(sentences)):
        found: list[int] = []
        item = _item_head(kinds, i)
        if item is not None and item != i:
            found.append(item)
        start = item if item is not None else None
        if start is not None:
            lead = _lead_in_of(sentences, kinds, start)
            if lead is not None and lead not in found:
                found.append(lead)
        heads.append(tuple(sorted(found)))
    items = [
        _items_after(sentences, kinds, i) if is_lead_in(s) else () for i, s in enumerate(sentences)
    ]
    for i, sentence in enumerate(sentences[:-1]):
        if items[i] or not _POINTS_AHEAD_RE.search(sentence):
            continue
        if items[i + 1]:
            # "…伴有以下至少一项中毒表现的患者需使用抗蛇毒血清。" then "中毒表现：①…；②…": the
            # list it speaks of is the next lead-in's.
            items[i] = (i + 1, *items[i + 1])
        elif is_first_item(sentences[i + 1]):
            # "…并符合以下之一，应尽早考虑评估实施ECMO。" then "①…；②…": its own list.
            items[i] = _items_after(sentences, kinds, i)
        for j in items[i]:
            heads[j] = tuple(sorted({*heads[j], i}))
    return PassageLayout(tuple(sentences), tuple(heads), tuple(items), tuple(kinds))


# A sentence that speaks of a list after it ("伴有以下至少一项…", "any of the following").
_POINTS_AHEAD_RE: Final[re.Pattern[str]] = re.compile(
    r"以下|下列|如下|\bthe following\b|\bas follows\b", re.IGNORECASE
)


def _item_head(kinds: Sequence[str | None], i: int) -> int | None:
    """The list item sentence `i` is (itself) or continues (the nearest marked sentence before)."""
    for j in range(i, max(-1, i - _HEAD_REACH - 1), -1):
        if kinds[j] is not None:
            return j
    return None


def _lead_in_of(sentences: Sequence[str], kinds: Sequence[str | None], item: int) -> int | None:
    """The lead-in of the list whose item starts at `item`: the nearest sentence before it that
    ends in a colon, with only items of the same kind (and their continuations) between."""
    kind = kinds[item]
    nested: str | None = None  # the kind of a sub-list being stepped over
    for j in range(item - 1, max(-1, item - _HEAD_REACH - 1), -1):
        if kinds[j] == kind and nested is not None:
            if not is_lead_in(sentences[j]):
                return None  # the other-kind items were no sub-list of this list's item
            nested = None  # an earlier item of this list introduced them: keep going
            continue
        if is_lead_in(sentences[j]) and kinds[j] != kind:
            # Over another list that no item of this one introduced: no lead-in here.
            return j if nested is None else None
        if kinds[j] is not None and kinds[j] != kind:
            if nested not in (None, kinds[j]):
                return None
            nested = kinds[j]  # another list's item, perhaps a sub-list of an earlier item
    return None


def _items_after(
    sentences: Sequence[str], kinds: Sequence[str | None], lead: int
) -> tuple[int, ...]:
    """The list a lead-in introduces: the marked items after it (one kind) and their
    continuations, up to a sentence marked otherwise; nothing when no item follows. An item
    that is a lead-in itself takes its own list along ("1. Key situations … include:" then
    "a. Before contact with a patient.", "b. …")."""
    if lead + 1 >= len(sentences) or kinds[lead + 1] is None or kinds[lead + 1] == kinds[lead]:
        return ()
    kind = kinds[lead + 1]
    taken: list[int] = []
    nested = False  # the last item of this list introduces a list of its own
    reach = _MAX_ITEMS
    for j in range(lead + 1, len(sentences)):
        if len(taken) >= reach:
            break
        if kinds[j] == kind:
            nested = is_lead_in(sentences[j])
            if nested:
                reach = 2 * _MAX_ITEMS
        elif kinds[j] is not None and not nested:
            break
        elif kinds[j] is None and is_lead_in(sentences[j]):
            break  # an unmarked lead-in opens the next list
        taken.append(j)
    return tuple(taken)


def clauses_before(sentences: Sequence[str], position: int) -> list[str]:
    """The earlier clauses of the statement a sentence ends or continues, nearest first.

    "15kg＜体重≤23kg，每次 45mg；" continues "1 岁及以上年龄儿童推荐剂量：体重≤15kg，每次 30mg；":
    whom it is about is said there.
    """
    found: list[str] = []
    j = position - 1
    while j >= 0 and len(found) < _MAX_ITEMS and _CLAUSE_END_RE.search(sentences[j]):
        found.append(sentences[j])
        j -= 1
    return found


# What follows a number that counts or measures (1岁, 3个月, 2周, 5天, 10mg, 2型, 3级).
_UNIT_AFTER_NUMBER: Final[str] = "岁月周天日时小个次型级期度%～~\\-–.a-zA-Z"
# A heading short enough to be a label of what follows ("（一）潜伏期", "禁忌证", "Dosage"), not
# a sentence that happens to head a list.
LABEL_MAX_CHARS: Final[int] = 24
# A numbered list entry's label: "①低剂量：", "（2）儿童：", "3.成人：" (NFKC: ① → 1). A bare
# number followed by a unit is an age or an amount, not a mark: "1岁以下儿童推荐剂量：".
_NUMBERED_ENTRY: Final[re.Pattern[str]] = re.compile(
    rf"(?:^|(?<=[\s。；;，,]))(?:\(\d{{1,2}}\)|（\d{{1,2}}）|\d{{1,2}}[.、)）]|"
    rf"\d{{1,2}}(?![\d{_UNIT_AFTER_NUMBER}]))\s*"
    rf"([^：:，,。；;\s\d][^：:，,。；;]{{1,{LABEL_MAX_CHARS - 1}}})[：:]"
)


def entry_label(sentence: str, *, longest: int) -> str | None:
    """The label a sentence opens with, after any list mark ("②法维拉韦：" → 法维拉韦,
    "Methadone:"), at most `longest` characters; None when it opens with none."""
    opening = re.match(
        rf"^[\W\d_]*([^：:，,。；;]{{2,{longest}}})[：:]", unicodedata.normalize("NFKC", sentence)
    )
    return opening.group(1) if opening else None


def item_labels(structure: PassageLayout) -> frozenset[int]:
    """The sentences that only name what their item is about, with sentences under them:
    "2.高流量鼻导管通气（high-flow nasal cannula, HFNC）。" over "需用专门的高流量鼻导管…婴幼儿为
    2L/（kg·min）". The name says nothing of it: the sentences under it do, and take it along."""
    headed = {h for heads in structure.heads for h in heads}
    return frozenset(
        i
        for i in headed
        if structure.kinds[i] is not None
        and not is_lead_in(structure.sentences[i])
        and _names_only(structure.sentences[i])
    )


def _names_only(sentence: str) -> bool:
    """A short name with its list mark and glosses and no number or clause of its own."""
    name = _GLOSS_RE.sub("", _LIST_MARK_RE.sub("", unicodedata.normalize("NFKC", sentence)))
    name = name.strip().rstrip("。.;；")
    return 0 < len(name) <= _NAME_MAX_CHARS and not re.search(r"[\d，,：:；;]", name)


_LIST_MARK_RE: Final[re.Pattern[str]] = re.compile(
    r"^\s*(?:\(\d{1,2}\)|（\d{1,2}）|\d{1,2}[.、)）]?)"
)
_GLOSS_RE: Final[re.Pattern[str]] = re.compile(r"[(（][^()（）]*[)）]")
_NAME_MAX_CHARS: Final[int] = 16


def numbered_entries(passage: str) -> frozenset[str]:
    """The labels of a passage's numbered list entries ("①低剂量：", "（2）儿童：")."""
    normal = unicodedata.normalize("NFKC", passage)
    return frozenset(m.group(1).strip() for m in _NUMBERED_ENTRY.finditer(normal))
