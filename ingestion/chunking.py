"""Split sections into chunks that fit the embedding model's window, never across a section."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.grades import detect_grades
from assistant.passage_layout import marker_kind
from ingestion.sections import Section

# Paragraphs first, then Chinese and English sentence ends, then clauses, words, characters.
_SENTENCE_END = re.compile(r"[。！？；]|[.!?;](?=\s)")
_SEPARATORS = ["\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", "、", " ", ""]


@dataclass(frozen=True)
class ChunkDraft:
    """One passage ready to embed, with where it came from."""

    text: str
    section_path: list[str]  # headings, outermost first ([] when none)
    page_start: int | None  # 1-based physical page for paged formats, else None
    page_end: int | None
    page_label: str | None  # printed page label where it differs from the physical number
    # The head of the list item the chunk begins inside of ("1.奈玛特韦片/利托那韦片组合包装"),
    # when the split left it in the chunk before: what the chunk's first sentences are about.
    item_head: str | None = None


def make_splitter(
    count_tokens: Callable[[str], int], *, chunk_tokens: int, overlap_tokens: int
) -> tuple[RecursiveCharacterTextSplitter, Callable[[str], int]]:
    """A zh/en-aware LangChain splitter measuring length in the model's word pieces."""
    # The splitter measures every piece at every recursion level; caching keeps the 220k-char
    # liver-cancer guideline to one tokenizer call per distinct piece.
    cached = functools.lru_cache(maxsize=65536)(count_tokens)
    splitter = RecursiveCharacterTextSplitter(
        separators=_SEPARATORS,
        keep_separator="end",
        # LangChain recurses into a piece whose length is not strictly below chunk_size, which
        # would cut a sentence of exactly chunk_tokens; _fit trims any merge that overshoots.
        chunk_size=chunk_tokens + 1,
        chunk_overlap=min(overlap_tokens, chunk_tokens // 2),
        length_function=cached,
        strip_whitespace=True,
    )
    return splitter, cached


def _fit(text: str, count: Callable[[str], int], limit: int) -> list[str]:
    """Halve a piece until each part fits: merged word pieces can tokenise longer than the sum."""
    if count(text) <= limit or len(text) <= 1:
        return [text]
    middle = len(text) // 2
    # Prefer a sentence end nearest the middle, so a sentence that fits stays whole.
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if 0 < m.end() < len(text)]
    space = text.rfind(" ", 0, middle)
    if ends:
        cut = min(ends, key=lambda end: abs(end - middle))
    else:
        cut = space if space > len(text) // 4 else middle
    left, right = text[:cut].strip(), text[cut:].strip()
    return [part for half in (left, right) if half for part in _fit(half, count, limit)]


def chunk_sections(
    sections: list[Section],
    *,
    count_tokens: Callable[[str], int],
    chunk_tokens: int,
    overlap_tokens: int,
    page_labels: list[str] | None = None,
) -> list[ChunkDraft]:
    """Chunk each section separately; each chunk fits `chunk_tokens` as counted by the model."""
    splitter, cached = make_splitter(
        count_tokens, chunk_tokens=chunk_tokens, overlap_tokens=overlap_tokens
    )
    drafts: list[ChunkDraft] = []
    for section in sections:
        cursor = 0
        placed: list[tuple[int, str]] = []
        for piece in splitter.split_text(section.text):
            for text in _fit(piece, cached, chunk_tokens):
                start = section.text.find(text, cursor)
                if start < 0:
                    start = max(section.text.find(text), 0)
                cursor = start + 1
                placed.append((start, text))
        for start, text in _grades_with_their_recommendations(
            placed, section.text, cached, chunk_tokens
        ):
            first = section.page_at(start)
            last = section.page_at(start + len(text) - 1)
            drafts.append(
                ChunkDraft(
                    text=text,
                    section_path=list(section.path),
                    page_start=first,
                    page_end=last,
                    page_label=_label(first, page_labels),
                    item_head=item_head_before(section.text, start),
                )
            )
    return drafts


# How far before a chunk its item's head may stand, and how long a head is kept.
_ITEM_REACH_CHARS = 400
_ITEM_HEAD_CHARS = 40
_HEAD_END = re.compile(r"[。；;：:！？!?]")


def item_head_before(text: str, start: int) -> str | None:
    """The head of the list item a chunk starting at `start` begins inside of: the nearest line
    before it that opens with a list marker ("1.", "（2）", "②"), up to its first stop, when the
    chunk itself does not open with a marker. None at a section's start or outside a list."""
    if start <= 0 or marker_kind(text[start:].lstrip()) is not None:
        return None
    window_start = max(0, start - _ITEM_REACH_CHARS)
    lines = text[window_start:start].split("\n")
    # The window's first line may be a line's tail: a marker there is no line start.
    candidates = lines if window_start == 0 else lines[1:]
    for line in reversed(candidates):
        stripped = line.strip()
        if stripped and marker_kind(stripped) is not None:
            head = _HEAD_END.split(stripped, maxsplit=1)[0].strip()
            return head[:_ITEM_HEAD_CHARS] or None
    return None


def _lone_grade(text: str) -> int:
    """Length of the grade a chunk opens with when it stands alone, as WHO writes it after the
    recommendation's full stop ("(Strong recommendation, very low quality of evidence) Rationale
    …"); 0 when the chunk does not open with one."""
    stripped = text.lstrip()
    if not stripped.startswith(("(", "（")):
        return 0
    grades = detect_grades(text)
    if not grades or grades[0].start is None or grades[0].end is None:
        return 0
    head = text[: grades[0].end].rstrip()
    # The grade's sentence is the bracket itself: nothing but the grade before its end.
    inside = " ".join(head.strip().lstrip("(（").rstrip(")）").split())
    if grades[0].start > len(text) - len(stripped) or inside != grades[0].original:
        return 0
    return len(head)


def _grades_with_their_recommendations(
    placed: list[tuple[int, str]], section: str, count: Callable[[str], int], limit: int
) -> list[tuple[int, str]]:
    """Move a grade that opens a chunk back onto the end of the chunk before it (issue #17 §1):
    the splitter cut between a recommendation and its grade, so the grade was stored with the
    rationale that follows and the recommendation without it. Only within one section, only
    where the previous chunk ends right before the grade (no overlap), and only when the
    joined chunk still fits `limit`; otherwise the chunks stay as they were."""
    out: list[tuple[int, str]] = []
    for start, text in placed:
        size = _lone_grade(text) if out else 0
        if size:
            prev_start, prev_text = out[-1]
            prev_end = prev_start + len(prev_text)
            grade_at = start + (len(text) - len(text.lstrip()))
            gap = section[prev_end:grade_at] if grade_at >= prev_end else None
            joined = section[prev_start : grade_at + size] if gap is not None else ""
            if gap is not None and not gap.strip() and count(joined) <= limit:
                out[-1] = (prev_start, joined)
                rest = text.lstrip()[size:]
                if rest.strip():
                    out.append((grade_at + size + len(rest) - len(rest.lstrip()), rest.strip()))
                continue
        out.append((start, text))
    return out


def _label(page: int | None, labels: list[str] | None) -> str | None:
    if page is None or not labels or page > len(labels):
        return None
    label = labels[page - 1]
    return label if label and label != str(page) else None
