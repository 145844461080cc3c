"""Parse one guideline file into metadata and section-aware chunks (no store, no embedding)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from assistant.errors import IngestionError
from ingestion.chunking import ChunkDraft, chunk_sections
from ingestion.loaders import FORMAT_BY_EXTENSION, load_document
from ingestion.metadata import (
    detect_document_language,
    detect_effective_date,
    detect_issuer,
    infer_title,
    make_doc_id,
    parse_version,
    read_sidecar,
    strip_version,
)
from ingestion.normalize import clean_lines
from ingestion.sections import build_sections

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(FORMAT_BY_EXTENSION)

__all__ = ["SUPPORTED_EXTENSIONS", "ChunkDraft", "ParsedDocument", "parse_document"]


@dataclass(frozen=True)
class ParsedDocument:
    """A parsed file: metadata plus chunk drafts, ready for embedding and storing."""

    path: Path
    format: str  # "pdf" | "docx" | "html" | "markdown" | "text"
    doc_id: str  # stable slug
    title: str
    issuer: str
    version: str
    effective_date: date | None
    language: Literal["zh", "en"]
    content_sha256: str  # of the file bytes
    pages: int | None  # physical page count for PDFs
    chunks: list[ChunkDraft]
    overrides: dict[str, Any]  # fields taken from the sidecar (e.g. "library")


def _read_checked(path: Path, *, max_file_mb: float) -> bytes:
    fmt_hint = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    if path.suffix.lower() not in FORMAT_BY_EXTENSION:
        raise IngestionError(
            f"{path}: unsupported extension {path.suffix!r}",
            user_message=f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
            f"supported: {fmt_hint}.",
        )
    try:
        size = path.stat().st_size
        if size > max_file_mb * 1024 * 1024:
            raise IngestionError(
                f"{path}: {size} bytes over the {max_file_mb} MB limit",
                user_message=f"{path.name}: file is {size / 1024 / 1024:.1f} MB, over the "
                f"{max_file_mb:g} MB limit (raise GUIDECITE_INGEST__MAX_FILE_MB to allow it).",
            )
        if size == 0:
            raise IngestionError(
                f"{path}: empty file", user_message=f"{path.name}: empty file (0 bytes)."
            )
        return path.read_bytes()
    except OSError as exc:
        raise IngestionError(
            f"{path}: cannot read: {exc}",
            user_message=f"{path.name}: cannot read the file ({exc.strerror or exc}).",
        ) from exc


def parse_document(
    path: Path,
    *,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = 200,
    overlap_tokens: int = 32,
    max_file_mb: float = 100,
) -> ParsedDocument:
    """Load, clean, section and chunk one file; any bad input raises IngestionError."""
    path = Path(path)
    data = _read_checked(path, max_file_mb=max_file_mb)
    overrides = read_sidecar(path)
    fmt = FORMAT_BY_EXTENSION[path.suffix.lower()]
    loaded = load_document(path, data, fmt=fmt)
    try:
        return _assemble(
            path,
            data=data,
            loaded_format=fmt,
            loaded=loaded,
            overrides=overrides,
            count_tokens=count_tokens,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
        )
    except IngestionError:
        raise
    except Exception as exc:  # nothing but IngestionError may leave parse_document
        logger.exception("%s: unexpected failure while parsing", path.name)
        raise IngestionError(
            f"{path}: cannot parse: {type(exc).__name__}: {exc}",
            user_message=f"{path.name}: could not be parsed ({type(exc).__name__}); "
            "re-export the file and try again.",
        ) from exc


def _assemble(
    path: Path,
    *,
    data: bytes,
    loaded_format: str,
    loaded: Any,
    overrides: dict[str, Any],
    count_tokens: Callable[[str], int],
    chunk_tokens: int,
    overlap_tokens: int,
) -> ParsedDocument:
    paged = loaded_format == "pdf"
    lines = clean_lines(
        loaded.lines,
        pages=loaded.pages if paged else None,
        drop_numbers=loaded_format in {"pdf", "text"},
    )
    full_text = "\n".join(line.text for line in lines)
    if not full_text.strip():
        raise IngestionError(
            f"{path}: no text", user_message=f"{path.name}: no text found in the file."
        )
    language = overrides.get("language") or detect_document_language(full_text)
    sections = build_sections(
        lines,
        language=language,
        trust_levels=not paged,
        wrapped=loaded_format in {"pdf", "text"},
    )
    chunks = chunk_sections(
        sections,
        count_tokens=count_tokens,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
        page_labels=loaded.page_labels,
    )
    if not chunks:
        raise IngestionError(
            f"{path}: no chunks", user_message=f"{path.name}: no text found in the file."
        )
    # A PDF's first lines are its cover title; elsewhere the first heading is.
    first_heading = "" if paged else next((ln.text for ln in lines if ln.level is not None), "")
    title = overrides.get("title") or infer_title(
        path=path,
        info_title=loaded.info.get("title", ""),
        first_heading=first_heading,
        first_lines=[line.text for line in lines[:6] if line.page == lines[0].page],
    )
    head = full_text[:4000]
    version = overrides.get("version")
    if version is None:
        version = parse_version(title, path.stem, head)
    clean_title = strip_version(title) or title
    effective = overrides.get("effective_date") or detect_effective_date(full_text[:20000])
    return ParsedDocument(
        path=path,
        format=loaded_format,
        doc_id=overrides.get("doc_id") or make_doc_id(clean_title),
        title=clean_title if "title" not in overrides else title,
        issuer=overrides["issuer"]
        if "issuer" in overrides
        else detect_issuer(full_text, language=language, author=loaded.info.get("author", "")),
        version=str(version),
        effective_date=effective,
        language=language,
        content_sha256=hashlib.sha256(data).hexdigest(),
        pages=loaded.pages,
        chunks=chunks,
        overrides=overrides,
    )
