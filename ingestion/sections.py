"""Find headings (structural and numbered) and split a document into sections with pages."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace

from assistant.language import CJK_CHAR_RE, CJK_CHARS
from ingestion.loaders import RawLine
from ingestion.normalize import join_lines

_CN_NUM = "一二三四五六七八九十百零〇"
_CN_HEADING_MAX = 30  # NHC PDFs wrap body text at ~27-30 characters; headings are shorter
_EN_HEADING_MAX = 90

# (kind, pattern, rank): a smaller rank is an outer heading. Structural levels use 1-9.
_ZH_RULES: list[tuple[str, re.Pattern[str], int]] = [
    ("zh_chapter", re.compile(rf"^第[{_CN_NUM}\d]+章\s*(.*)$"), 11),
    ("zh_section", re.compile(rf"^第[{_CN_NUM}\d]+节\s*(.*)$"), 12),
    ("zh_num", re.compile(rf"^[{_CN_NUM}]+、\s*(.+)$"), 13),
    ("zh_paren", re.compile(rf"^[（(][{_CN_NUM}]+[）)]\s*(.+)$"), 14),
    ("arabic", re.compile(r"^\d{1,2}[.．、](?![\d.．])\s*(.+)$"), 15),
    ("arabic_paren", re.compile(r"^[（(]\d{1,2}[）)]\s*(.+)$"), 16),
    ("circled", re.compile(r"^[①-⑳]\s*(.+)$"), 17),
]
_EN_RULES: list[tuple[str, re.Pattern[str], int]] = [
    ("en_roman", re.compile(r"^[IVX]{1,5}\.\s+([A-Z].*)$"), 12),
    ("en_num", re.compile(r"^\d{1,2}\.\s+([A-Z].*)$"), 13),
    ("en_num2", re.compile(r"^\d{1,2}\.\d{1,2}\.?\s+([A-Z].*)$"), 14),
    ("en_num3", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}\.?\s+([A-Z].*)$"), 15),
]
_RECOMMENDATION = re.compile(r"^Recommendation\s+\d{1,2}\s*[:.]?$", re.IGNORECASE)
_RECOMMENDATION_RANK = 12
# A sub-guideline title inside a compilation (常见动物致伤诊疗规范 → 狂犬病诊疗规范).
_ZH_PART = re.compile(f"^[{CJK_CHARS}]{{2,24}}(?:诊疗规范|诊疗指南|诊疗方案|防治指南)$")
_ZH_PART_RANK = 10
# A line that introduces a list: it ends in a colon.
_LEAD_IN = re.compile(r"[：:]\s*$")
_EN_UPPER_RANK = 11
# NHC run-in headings: "（一）评估病情。治疗过程中，应当……" — a short title, then the body.
_ZH_RUN_IN = re.compile(
    rf"^((?:[（(][{_CN_NUM}]+[）)]|[{_CN_NUM}]+、)[^。，；：:,;]{{1,15}})。\s*(\S.*)$"
)


@dataclass(frozen=True)
class Section:
    """A heading path with its body text and where each stretch of text lies on the pages."""

    path: list[str]
    text: str
    page_marks: list[tuple[int, int | None]] = field(default_factory=list)

    def page_at(self, offset: int) -> int | None:
        """Physical page of the character at `offset` (None for unpaged formats)."""
        if not self.page_marks:
            return None
        starts = [start for start, _ in self.page_marks]
        index = max(bisect.bisect_right(starts, offset) - 1, 0)
        return self.page_marks[index][1]


def _zh_heading_rank(text: str) -> int | None:
    for _kind, pattern, rank in _ZH_RULES:
        match = pattern.match(text)
        if not match:
            continue
        body = match.group(1).strip()
        if rank <= 12:
            return rank if len(text) <= _CN_HEADING_MAX + 10 else None
        if not body or len(text) > _CN_HEADING_MAX:
            return None
        core = body.rstrip("。.")
        # Numbered list items are sentences: they carry inner punctuation or run on.
        if re.search(r"[。；;]", core) or core[-1] in "，,、：:（(":
            return None
        if re.search(r"[:：].", core) or ("，" in core and len(core) > 15):
            return None
        return rank
    return None


def _en_heading_rank(text: str) -> int | None:
    if len(text) > _EN_HEADING_MAX:
        return None
    for _kind, pattern, rank in _EN_RULES:
        match = pattern.match(text)
        if match:
            body = match.group(1)
            if body.endswith((".", ",", ";")) or len(body.split()) > 12:
                return None
            return rank
    return None


def _numbering_rank(text: str, *, language: str) -> int | None:
    """The rank of the numbering a line starts with ("（1）" 16), whatever the line's shape."""
    for _kind, pattern, rank in _ZH_RULES if language == "zh" else _EN_RULES:
        if pattern.match(text):
            return rank
    return None


def _is_upper_heading(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return (
        len(letters) >= 4
        and len(text) <= 80
        and all(ch.isupper() for ch in letters)
        and not text.endswith((".", ","))
        and len(text.split()) >= 1
        and not re.search(r"\d{3,}", text)
    )


def heading_rank(text: str, *, language: str, numbered_en: bool) -> int | None:
    """Rank of a numbered heading line (smaller = outer), or None for body text."""
    if _RECOMMENDATION.match(text):
        return _RECOMMENDATION_RANK
    if language == "zh":
        return _zh_heading_rank(text)
    if numbered_en:
        return _en_heading_rank(text)
    return None


def wrap_width(lines: list[RawLine]) -> int | None:
    """Typical length of a wrapped Chinese body line (None when there are too few to tell)."""
    lengths = sorted(
        len(line.text)
        for line in lines
        if len(line.text) > 10
        and len(CJK_CHAR_RE.findall(line.text)) >= 0.8 * len(line.text.replace(" ", ""))
    )
    if len(lengths) < 20:
        return None
    return lengths[len(lengths) // 2]


def build_sections(
    lines: list[RawLine], *, language: str, trust_levels: bool = True, wrapped: bool = False
) -> list[Section]:
    """Split cleaned lines into sections; headings nest by rank (一、 > （一） > 1. > （1））.

    `trust_levels` is False for PDF outlines, whose nesting is often wrong (WPS exports); a
    numbered title then takes its pattern's rank instead of its bookmark depth. `wrapped` says
    the lines come from a PDF-like extraction: a numbered line as long as the wrap width is the
    start of a paragraph (a list item), not a heading.
    """
    width = wrap_width(lines) if wrapped and language == "zh" else None
    structural = any(line.level is not None for line in lines)
    numbered_en = not structural
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    body: list[RawLine] = []
    seen_numbered = False
    last_upper = False
    # A list a lead-in opened ("住院治疗标准（满足下列标准任意 1 条）：" then "（1）…", "（2）…"):
    # its numbered lines are items, however short — never headings that would cut the list
    # from its lead-in. None: no list open; 0: opened, its items' rank not seen yet.
    list_rank: int | None = None

    def flush() -> None:
        if body:
            sections.append(_make_section([t for _, t in stack], body))
            body.clear()

    split = _split_run_in(lines, language=language)
    for index, line in enumerate(split):
        text = line.text
        rank: int | None
        pattern_rank = heading_rank(text, language=language, numbered_en=numbered_en)
        if pattern_rank is not None and language == "en" and line.level is None:
            following = split[index + 1].text if index + 1 < len(split) else ""
            if _continues_sentence(following):
                # "7. Dedicate multidose vials to a single patient" / "whenever possible. …":
                # a numbered recommendation wrapped by the PDF, not a heading — its words must
                # stay in the passage a doctor reads and the verifier compares against.
                pattern_rank = None
        if pattern_rank is not None and width and pattern_rank > 12 and len(text) >= width - 1:
            pattern_rank = None
        numbering = _numbering_rank(text, language=language)
        if list_rank is not None and line.level is None and numbering is not None:
            if list_rank == 0 and numbering > 12:
                list_rank = numbering
            if list_rank and numbering >= list_rank:
                pattern_rank = None  # an item of the open list (or of a list inside it)
            else:
                list_rank = None  # an outer heading: the list is over
        elif list_rank == 0 and line.level is None:
            list_rank = None  # the lead-in's next line is no item: no list
        if line.level is not None:
            rank = line.level if (trust_levels or pattern_rank is None) else pattern_rank
        else:
            rank = pattern_rank
            if rank is None and language == "zh" and seen_numbered and _ZH_PART.match(text):
                rank = _ZH_PART_RANK
            if rank is None and language == "en" and not structural and _is_upper_heading(text):
                if last_upper and not body and stack:
                    stack[-1] = (stack[-1][0], f"{stack[-1][1]} {text}")
                    continue
                rank = _EN_UPPER_RANK
        last_upper = rank == _EN_UPPER_RANK
        if rank is None:
            body.append(line)
            if _LEAD_IN.search(text):
                list_rank = 0
            continue
        list_rank = None
        if pattern_rank is not None:
            seen_numbered = True
        flush()
        while stack and stack[-1][0] >= rank:
            stack.pop()
        stack.append((rank, text.rstrip("。")))
    flush()
    return [section for section in sections if section.text.strip()]


def _continues_sentence(text: str) -> bool:
    """Whether a line carries on the previous one's sentence (starts in lower case)."""
    stripped = text.lstrip()
    return bool(stripped) and stripped[0].islower()


def _split_run_in(lines: list[RawLine], *, language: str) -> list[RawLine]:
    if language != "zh":
        return lines
    result: list[RawLine] = []
    for line in lines:
        match = _ZH_RUN_IN.match(line.text) if line.level is None else None
        if match:
            result.append(replace(line, text=match.group(1), block_end=True))
            result.append(replace(line, text=match.group(2)))
        else:
            result.append(line)
    return result


def _make_section(path: list[str], body: list[RawLine]) -> Section:
    text = ""
    marks: list[tuple[int, int | None]] = []
    for paragraph, paragraph_marks in join_lines(body):
        if text:
            text += "\n"
        for offset, page in paragraph_marks:
            if not marks or marks[-1][1] != page:
                marks.append((len(text) + offset, page))
        text += paragraph
    has_pages = any(page is not None for _, page in marks)
    return Section(path=list(path), text=text, page_marks=marks if has_pages else [])
