"""Read PDF, DOCX, HTML, Markdown and plain-text files into raw lines with pages and headings."""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.errors import IngestionError
from assistant.language import has_cjk

logger = logging.getLogger(__name__)

FORMAT_BY_EXTENSION: dict[str, str] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}

# Outline entries longer than this are body sentences that WPS exported as bookmarks.
_MAX_OUTLINE_TITLE = {"zh": 40, "en": 150}
_HTML_BLOCKS = (
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "td",
    "th",
    "br",
    "pre",
    "blockquote",
    "section",
    "article",
    "main",
    "dt",
    "dd",
    "caption",
    "figcaption",
    "hr",
)
_HTML_BOILERPLATE = (
    "script",
    "style",
    "nav",
    "header",
    "footer",
    "aside",
    "noscript",
    "template",
    "form",
    "iframe",
    "svg",
)
_HEADING_MARK = "\x00H"


@dataclass(frozen=True)
class RawLine:
    """One line of extracted text; `level` is a structural heading level (1 = outermost)."""

    text: str
    page: int | None = None
    level: int | None = None
    # True where the source itself ends a paragraph here (DOCX/HTML blocks, Markdown blank lines).
    block_end: bool = False


@dataclass
class LoadedDocument:
    """What a loader extracted from one file, before cleaning."""

    format: str
    lines: list[RawLine]
    pages: int | None = None
    page_labels: list[str] | None = None
    info: dict[str, str] = field(default_factory=dict)  # PDF/DOCX metadata: title, author, …


def load_document(path: Path, data: bytes, *, fmt: str) -> LoadedDocument:
    """Extract raw lines from file bytes; every failure becomes an IngestionError."""
    loaders = {
        "pdf": _load_pdf,
        "docx": _load_docx,
        "html": _load_html,
        "markdown": _load_markdown,
        "text": _load_text,
    }
    try:
        return loaders[fmt](path, data)
    except IngestionError:
        raise
    except Exception as exc:  # any library failure on hostile bytes is the file's fault
        kind = {"pdf": "PDF", "docx": "DOCX", "html": "HTML"}.get(fmt, fmt)
        raise IngestionError(
            f"{path}: {fmt} loader failed: {type(exc).__name__}: {exc}",
            user_message=f"{path.name}: corrupt or unreadable {kind} file ({type(exc).__name__}); "
            "re-export it from the original and try again.",
        ) from exc


def decode_text(data: bytes, *, path: Path) -> str:
    """Decode UTF-8, UTF-8 with BOM or GB18030 (strictly, in that order)."""
    text: str | None = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None or _mostly_garbage(text):
        raise IngestionError(
            f"{path}: cannot decode text",
            user_message=f"{path.name}: cannot decode the text (not UTF-8 or GB18030); "
            "save it as UTF-8 and try again.",
        )
    return text


def _mostly_garbage(text: str) -> bool:
    """Control and replacement characters dominate: binary data that happened to decode."""
    if not text.strip():
        return False
    bad = sum(1 for ch in text if ch in "\ufffd\x7f" or (ord(ch) < 32 and ch not in "\n\r\t\f"))
    return bad / len(text) > 0.1


# --- PDF -------------------------------------------------------------------------------------


class _PypdfToDebug(logging.Filter):
    """Re-log pypdf's warnings about sloppy PDFs at DEBUG: they are noise for operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        logger.debug("pypdf: %s", record.getMessage())
        return False


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    pypdf_logger = logging.getLogger("pypdf")
    quiet = _PypdfToDebug()
    pypdf_logger.addFilter(quiet)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for item in caught:
            logger.debug("pypdf warning: %s", item.message)
    finally:
        pypdf_logger.removeFilter(quiet)


def _load_pdf(path: Path, data: bytes) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(data))
        except PdfReadError as exc:
            raise IngestionError(
                f"{path}: corrupt PDF: {exc}",
                user_message=f"{path.name}: corrupt PDF ({exc}); re-export or re-download it.",
            ) from exc
        if reader.is_encrypted:
            _decrypt_or_fail(reader, path)
        page_texts: list[str] = []
        for index, page in enumerate(reader.pages):
            try:
                page_texts.append(page.extract_text() or "")
            except Exception as exc:  # one broken content stream must not lose the document
                logger.warning("%s: page %d text extraction failed: %s", path.name, index + 1, exc)
                page_texts.append("")
        if not any(t.strip() for t in page_texts):
            raise IngestionError(
                f"{path}: no text layer",
                user_message=f"{path.name}: no text layer; OCR it first (the PDF holds only "
                "scanned images — e.g. run ocrmypdf and ingest the result).",
            )
        labels = _page_labels(reader, len(page_texts))
        outline = _outline_entries(reader)
        info = _pdf_info(reader)
    lines = [
        RawLine(text=line, page=index + 1)
        for index, text in enumerate(page_texts)
        for line in text.splitlines()
    ]
    return LoadedDocument(
        format="pdf",
        lines=apply_outline(lines, outline),
        pages=len(page_texts),
        page_labels=labels,
        info=info,
    )


def _decrypt_or_fail(reader: Any, path: Path) -> None:
    message = IngestionError(
        f"{path}: encrypted PDF",
        user_message=f"{path.name}: encrypted; remove the password first "
        "(e.g. qpdf --decrypt) and ingest the decrypted copy.",
    )
    try:
        # Owner-password-only PDFs open with an empty user password and are readable.
        if reader.decrypt(""):
            return
    except Exception as exc:
        raise message from exc
    raise message


def _page_labels(reader: Any, count: int) -> list[str] | None:
    try:
        labels = [str(label) for label in reader.page_labels]
    except Exception as exc:
        logger.debug("page labels unreadable: %s", exc)
        return None
    return labels if len(labels) == count else None


def _pdf_info(reader: Any) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        meta = reader.metadata or {}
        for key in ("/Title", "/Author", "/Subject", "/CreationDate"):
            value = meta.get(key)
            if value:
                info[key.strip("/").lower()] = str(value).strip()
    except Exception as exc:
        logger.debug("PDF metadata unreadable: %s", exc)
    return info


def _outline_entries(reader: Any) -> list[tuple[str, int, int]]:
    """(title, 1-based page, depth) for each usable bookmark."""
    entries: list[tuple[str, int, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = str(getattr(item, "title", "") or "")
            if not title.strip() or title.startswith("_"):  # "_GoBack" etc. are Word artefacts
                continue
            try:
                page = reader.get_destination_page_number(item)
            except Exception as exc:  # a dangling destination: skip that bookmark only
                logger.debug("outline entry %r unresolvable: %s", title, exc)
                continue
            if page is not None and page >= 0:
                entries.append((title, page + 1, depth))

    try:
        walk(reader.outline, 1)
    except Exception as exc:  # malformed outline: sections then come from text patterns
        logger.debug("PDF outline unreadable: %s", exc)
        return []
    return entries


def _compact(text: str) -> str:
    return re.sub(r"[\s\ufffc]+", "", text).casefold()


def apply_outline(lines: list[RawLine], outline: list[tuple[str, int, int]]) -> list[RawLine]:
    """Mark the lines that carry each outline title (on its page or the next) as headings."""
    result = list(lines)
    by_page: dict[int, list[int]] = {}
    for index, line in enumerate(result):
        if line.page is not None:
            by_page.setdefault(line.page, []).append(index)
    removed: set[int] = set()
    for title, page, depth in outline:
        parts = [p for p in re.split(r"[\ufffc\n]\s*(?=\S)", title) if p.strip()]
        # A WHO-style "Core component 1: …￼1a. Facility level" bookmark names two headings.
        candidates = [(title, depth)]
        if len(parts) > 1:
            candidates += [(part, depth + offset) for offset, part in enumerate(parts)]
        for text, level in candidates:
            target = _compact(text)
            script = "zh" if has_cjk(target) else "en"
            if not target or len(target) > _MAX_OUTLINE_TITLE[script] or target[-1] in "。.;；":
                continue
            indexes = by_page.get(page, []) + by_page.get(page + 1, [])
            found = _mark_heading(result, indexes, target=target, level=level, removed=removed)
            if found and text == title:
                break
    return [line for index, line in enumerate(result) if index not in removed]


def _mark_heading(
    lines: list[RawLine], indexes: list[int], *, target: str, level: int, removed: set[int]
) -> bool:
    for pos, index in enumerate(indexes):
        if index in removed or lines[index].level is not None:
            continue
        got = _compact(lines[index].text)
        if not got or not target.startswith(got):
            continue
        joined = [index]
        for follower in indexes[pos + 1 : pos + 5]:
            if got == target:
                break
            nxt = _compact(lines[follower].text)
            if not nxt or not target.startswith(got + nxt):
                break
            got += nxt
            joined.append(follower)
        if got != target:
            continue
        texts = [lines[i].text.strip() for i in joined]
        glue = "" if has_cjk(target) else " "
        lines[index] = replace(lines[index], text=glue.join(texts), level=level)
        removed.update(joined[1:])
        return True
    return False


# --- DOCX ------------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)


def _load_docx(path: Path, data: bytes) -> LoadedDocument:
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines: list[RawLine] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [cell.text.strip() for cell in row.cells]
                row_text = " | ".join(dict.fromkeys(c for c in cells if c))
                if row_text:
                    lines.append(RawLine(text=row_text, block_end=True))
            continue
        text = block.text.strip()
        if not text:
            continue
        style = (block.style.name if block.style is not None else "") or ""
        level: int | None = None
        if style.strip().lower() in {"title", "标题"}:
            level = 1
        elif match := _DOCX_HEADING.match(style.strip()):
            level = int(match.group(1)) + 1
        for part in text.splitlines():
            if part.strip():
                lines.append(RawLine(text=part, level=level, block_end=True))
    props = document.core_properties
    info = {k: v for k, v in {"title": props.title, "author": props.author}.items() if v}
    return LoadedDocument(format="docx", lines=lines, info=info)


# --- HTML ------------------------------------------------------------------------------------


def _load_html(path: Path, data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup, Tag

    soup = BeautifulSoup(data, "lxml")
    title_tag = soup.find("title")
    info = {"title": title_tag.get_text(" ", strip=True)} if title_tag else {}
    for tag in soup.find_all(_HTML_BOILERPLATE):
        tag.decompose()
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        if isinstance(tag, Tag):
            level = int(tag.name[1])
            text = " ".join(tag.get_text(" ").split())
            tag.replace_with(f"\n{_HEADING_MARK}{level}{text}\n")
    for tag in soup.find_all(_HTML_BLOCKS):
        if isinstance(tag, Tag):
            tag.insert_before("\n")
            tag.insert_after("\n")
    root = soup.body or soup
    lines: list[RawLine] = []
    for raw in root.get_text("").splitlines():
        text = " ".join(raw.split())
        if not text:
            continue
        if text.startswith(_HEADING_MARK):
            level = int(text[len(_HEADING_MARK)])
            heading = text[len(_HEADING_MARK) + 1 :].strip()
            if heading:
                lines.append(RawLine(text=heading, level=level, block_end=True))
            continue
        lines.append(RawLine(text=text.replace("\x00", ""), block_end=True))
    return LoadedDocument(format="html", lines=lines, info=info)


# --- Markdown and plain text -----------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _load_markdown(path: Path, data: bytes) -> LoadedDocument:
    source = decode_text(data, path=path).splitlines()
    lines: list[RawLine] = []
    in_fence = False

    def end_block() -> None:
        if lines and not lines[-1].block_end:
            lines[-1] = replace(lines[-1], block_end=True)

    for index, raw in enumerate(source):
        if _FENCE.match(raw):
            in_fence = not in_fence
            end_block()
            continue
        if in_fence:
            if raw.strip():
                lines.append(RawLine(text=raw.rstrip(), block_end=True))
            continue
        if not raw.strip():
            end_block()
            continue
        if match := _ATX.match(raw):
            end_block()
            if match.group(2):
                level = len(match.group(1))
                lines.append(RawLine(text=match.group(2), level=level, block_end=True))
            continue
        nxt = source[index + 1] if index + 1 < len(source) else ""
        underline = _SETEXT.match(nxt)
        starts_para = not lines or lines[-1].block_end
        if underline and starts_para and not _LIST_ITEM.match(raw):
            lines.append(
                RawLine(text=raw.strip(), level=1 if "=" in nxt else 2, block_end=True),
            )
            continue
        if _SETEXT.match(raw) and lines and lines[-1].level is not None:
            continue  # the underline of the setext heading just emitted
        if _LIST_ITEM.match(raw):
            end_block()
        lines.append(RawLine(text=raw.strip()))
    end_block()
    return LoadedDocument(format="markdown", lines=lines)


def _load_text(path: Path, data: bytes) -> LoadedDocument:
    text = decode_text(data, path=path)
    return LoadedDocument(format="text", lines=[RawLine(text=line) for line in text.splitlines()])
