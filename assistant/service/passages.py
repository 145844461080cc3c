"""A cited passage in its context, and the stored original it came from (issue 16 item 5).

Most shipped Chinese guidelines are plain text: no page to open. What every format has is its
chunks in the store, in document order (`chunk_index`) within one document version
(`content_sha256`), so the context of a cited passage is the chunks around it, read from the
version the source was cited from (an answer kept in a session outlives a new edition). The
cited chunk carries the highlight: its own sentences that the citing sentences rest on.

Every lookup is filtered to the source's library inside the store query, and the principal's
right to read that library is checked again now: an answer kept in the session outlives a
revoked grant. A refusal is audited (`passage_view`/`denied`); reading a passage the answer
already showed writes no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant import citations
from assistant.domain import (
    AuditAction,
    OriginalFile,
    PassageBlock,
    PassageContext,
    Principal,
    Source,
    library_object,
)
from assistant.errors import AccessDenied
from assistant.service.acting import record
from assistant.service.context import Context

# Chunks shown before and after the cited one: about a section's worth at ~250 tokens each.
CONTEXT_CHUNKS = 2
# Chunk overlap is a few dozen tokens (IngestSettings); longer shared ends are not looked for,
# and shorter ones are chance ("…mg" / "g…"), not overlap.
_MAX_OVERLAP_CHARS = 1200
_MIN_OVERLAP_CHARS = 8


def passage_context(
    ctx: Context,
    principal: Principal,
    source: Source,
    *,
    sentences: Iterable[str] = (),
    before: int = CONTEXT_CHUNKS,
    after: int = CONTEXT_CHUNKS,
) -> PassageContext | None:
    """The cited chunk with `before`/`after` chunks of its document version around it.

    `sentences` are the answer sentences citing the source; the cited chunk's own sentences
    they rest on are its highlight (`cited_spans`). None when the passage is no longer stored
    (document deleted). Raises AccessDenied (audited) when the principal may not read the
    source's library now.
    """
    _require_readable(ctx, principal, source)
    cited = _cited_payload(ctx, source)
    if cited is None:
        return None
    index = int(cited["chunk_index"])
    wanted = range(max(index - max(before, 0), 0), index + max(after, 0) + 1)
    payloads = [cited if i == index else _chunk_at(ctx, cited, i) for i in wanted]
    ordered = [p for p in payloads if p is not None]
    return PassageContext(
        doc_id=str(cited.get("doc_id", source.doc_id)),
        title=str(cited.get("title") or source.title),
        version=str(cited.get("version") or ""),
        library=str(cited.get("library", source.library)),
        section=_section(cited),
        blocks=_blocks(ordered, cited_index=index, sentences=list(sentences)),
    )


def original_document(ctx: Context, source: Source) -> OriginalFile | None:
    """The stored original of the source's document version and the name it was ingested under.

    None when no original is kept (ingested with --redact) or the file is gone. The caller
    offers it only from a library the principal may read (`readable_libraries`).
    """
    payload = _cited_payload(ctx, source) or _first_current(ctx, source)
    if payload is None:
        return None
    path = _inside_data_dir(ctx, payload.get("stored_path"))
    if path is None:
        return None
    return OriginalFile(path=path, name=download_name(payload.get("source_file"), path=path))


def download_name(source_file: Any, *, path: Path) -> str:
    """The file name to save the original under: the ingested name, else the stored one.

    `source_file` is payload data (DESIGN.md §4): only its last path part is used, and it keeps
    the stored file's extension so the browser opens it with the right program.
    """
    name = Path(str(source_file or "").replace("\\", "/")).name.strip()
    if not name or name in (".", ".."):
        return path.name
    if Path(name).suffix.lower() != path.suffix.lower():
        name += path.suffix.lower()
    return name


def _require_readable(ctx: Context, principal: Principal, source: Source) -> None:
    obj = library_object(source.library)
    if source.library in ctx.access.readable_libraries(principal):
        return
    exc = AccessDenied(
        f"{principal.user} may not read {obj}",
        reason="not_permitted",
        user_message="You no longer have access to this guideline library.",
    )
    detail = {"doc_id": source.doc_id, "chunk_index": source.chunk_index, "reason": exc.reason}
    record(
        ctx.audit,
        principal,
        action=AuditAction.PASSAGE_VIEW,
        obj=obj,
        outcome="denied",
        detail=detail,
    )
    raise exc


def _cited_payload(ctx: Context, source: Source) -> dict[str, Any] | None:
    """The stored payload of the cited chunk, in the source's library.

    By the point id the answer was built from; an answer restored without it (ids are not part
    of the answer's JSON) is matched by its text in the same version, then in any version.
    """
    rows = ctx.store.scroll(
        doc_id=source.doc_id, chunk_index=source.chunk_index, libraries=[source.library]
    )
    by_id = [p for point_id, p in rows if source.chunk_id and point_id == source.chunk_id]
    same_text = [payload for _, payload in rows if payload.get("text") == source.text]
    same_version = [p for p in same_text if str(p.get("version") or "") == source.version]
    for found in (by_id, same_version, same_text):
        if found:
            return _prefer_current(found)
    return None


def _prefer_current(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    current = [p for p in payloads if p.get("status") == "current"]
    return (current or list(payloads))[0]


def _first_current(ctx: Context, source: Source) -> dict[str, Any] | None:
    rows = ctx.store.scroll(
        doc_id=source.doc_id, status="current", chunk_index=0, libraries=[source.library], limit=1
    )
    return rows[0][1] if rows else None


def _chunk_at(ctx: Context, cited: dict[str, Any], index: int) -> dict[str, Any] | None:
    """Chunk `index` of the cited chunk's own document version (same file, same pipeline)."""
    rows = ctx.store.scroll(
        doc_id=str(cited["doc_id"]),
        content_sha256=str(cited["content_sha256"]),
        chunk_index=index,
        libraries=[str(cited["library"])],
    )
    # A rebuild (reindex) writes the new chunks beside the old ones until they are current.
    same_status = [p for _, p in rows if p.get("status") == cited.get("status")]
    found = same_status or [p for _, p in rows]
    return found[0] if found else None


def _section(payload: dict[str, Any]) -> str:
    return " > ".join(str(part) for part in payload.get("section_path") or [])


def _blocks(
    payloads: Sequence[dict[str, Any]], *, cited_index: int, sentences: list[str]
) -> list[PassageBlock]:
    """The chunks as blocks, each without the words it repeats from its neighbour."""
    texts = [str(p.get("text", "")) for p in payloads]
    indexes = [int(p["chunk_index"]) for p in payloads]
    shown = list(texts)
    for i in range(1, len(texts)):
        contiguous = indexes[i] == indexes[i - 1] + 1
        if not contiguous or _section(payloads[i]) != _section(payloads[i - 1]):
            continue
        if indexes[i] <= cited_index:
            # Before (or at) the cited chunk: the earlier block gives up its shared tail, so
            # the cited chunk stays whole.
            shared = _overlap(shown[i - 1], texts[i])
            shown[i - 1] = shown[i - 1][: len(shown[i - 1]) - shared].rstrip()
        else:
            shared = _overlap(texts[i - 1], texts[i])
            shown[i] = texts[i][shared:].lstrip()
    blocks = []
    for payload, text, index in zip(payloads, shown, indexes, strict=True):
        cited = index == cited_index
        spans = cited_spans(text, sentences) if cited and sentences else []
        blocks.append(
            PassageBlock(
                chunk_index=index,
                text=text,
                section=_section(payload),
                page=payload.get("page_start"),
                page_label=payload.get("page_label"),
                cited=cited,
                spans=spans,
            )
        )
    return [b for b in blocks if b.text or b.cited]


def cited_spans(passage: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    """The spans of the passage's own sentences that the answer sentences rest on.

    For each answer sentence, the passage sentence(s) sharing the most of its content terms
    (copied word for word in an extractive answer, paraphrased by a model): whole sentences,
    so the preview reads "this is what was cited", not a scatter of shared words.
    """
    pieces = _sentence_spans(passage)
    chosen: set[tuple[int, int]] = set()
    for sentence in sentences:
        terms = citations.content_terms(sentence)
        if not terms:
            continue
        scored = [(len(terms & citations.content_terms(passage[a:b])), (a, b)) for a, b in pieces]
        best = max((score for score, _ in scored), default=0)
        if best:
            chosen.update(span for score, span in scored if score == best)
    return sorted(chosen)


def _sentence_spans(passage: str) -> list[tuple[int, int]]:
    spans = []
    cursor = 0
    for sentence in citations.split_sentences(passage):
        start = passage.find(sentence, cursor)
        if start < 0:
            continue
        spans.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    return spans


def _overlap(first: str, second: str) -> int:
    """Length of the longest end of `first` that `second` starts with (the chunks' overlap)."""
    longest = min(len(first), len(second), _MAX_OVERLAP_CHARS)
    for size in range(longest, _MIN_OVERLAP_CHARS - 1, -1):
        if first.endswith(second[:size]):
            return size
    return 0


def _inside_data_dir(ctx: Context, stored: Any) -> Path | None:
    if not stored:
        return None
    root = ctx.settings.data_dir.resolve()
    path = (root / str(stored)).resolve()
    # A payload is data: never follow it outside the data directory.
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
