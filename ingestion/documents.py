"""The document catalogue: list, show and delete ingested document versions (issue #2).

Every stored point carries its document's fields (DESIGN.md §4), so a catalogue entry is rebuilt
from the payload of a version's first chunk (`version_from_payload`). `delete_document` is the
operator path (`guidecite docs delete` without `--by`); a person deletes through
`ingestion.as_principal.delete_document_as_principal`, which checks the libraries first.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from typing import Any

from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.domain import AuditAction, DocumentStatus, DocumentVersion, libraries_object
from assistant.domain import version_from_payload as version_from_payload  # moved (issue #17)
from assistant.embedding import SparseEncoder
from assistant.errors import IngestionError
from assistant.retrieval import write_profile
from assistant.service.acting import record
from assistant.store import VectorStore


def document_json(doc: DocumentVersion) -> dict[str, Any]:
    """A document as listed by `ingest --json` and `docs list --json`."""
    return {
        "doc_id": doc.doc_id,
        "title": doc.title,
        "version": doc.version,
        "language": doc.language,
        "library": doc.library,
        "status": str(doc.status),
        "pages": doc.pages,
        "chunks": doc.chunks,
    }


def list_documents(
    store: VectorStore, *, library: str | None = None, include_pending: bool = False
) -> list[DocumentVersion]:
    """Every ingested document version (current and superseded), newest first per doc."""
    rows = store.scroll(chunk_index=0, libraries=[library] if library else None)
    versions = [version_from_payload(payload) for _, payload in rows]
    if not include_pending:
        versions = [v for v in versions if v.status != DocumentStatus.PENDING]
    order = {DocumentStatus.CURRENT: 0, DocumentStatus.SUPERSEDED: 1, DocumentStatus.PENDING: 2}
    epoch = datetime.min.replace(tzinfo=UTC)
    versions.sort(key=lambda v: v.ingested_at or epoch, reverse=True)
    versions.sort(key=lambda v: (v.library, v.doc_id, order[v.status]))
    return versions


def show_document(store: VectorStore, doc_id: str) -> tuple[DocumentVersion, list[dict[str, Any]]]:
    """The current (else newest) version of a document and its chunks in order."""
    versions = [v for v in list_documents(store) if v.doc_id == doc_id]
    if not versions:
        raise IngestionError(
            f"unknown document {doc_id}",
            user_message=f"No document with id {doc_id!r}; see `guidecite docs list`.",
        )
    version = versions[0]
    rows = store.scroll(doc_id=doc_id, content_sha256=version.content_sha256)
    chunks = sorted((payload for _, payload in rows), key=lambda p: int(p["chunk_index"]))
    return version, [
        {
            "chunk_index": p["chunk_index"],
            "section_path": p.get("section_path") or [],
            "page_start": p.get("page_start"),
            "page_end": p.get("page_end"),
            "text": p.get("text", ""),
        }
        for p in chunks
    ]


def delete_document(
    store: VectorStore,
    settings: Settings,
    doc_id: str,
    *,
    audit: AuditLog | None = None,
    actor: str = "cli:unknown",
) -> int:
    """Remove every version of a document and its stored originals (operator path).

    With `audit`, the deletion is recorded first as the operator `actor` (fail closed).
    """
    count = store.count(doc_id=doc_id)
    if count == 0:
        raise IngestionError(
            f"unknown document {doc_id}",
            user_message=f"No document with id {doc_id!r}; see `guidecite docs list`.",
        )
    if audit is not None:
        rows = store.scroll(doc_id=doc_id, chunk_index=0)
        libraries = sorted({str(payload.get("library") or "") for _, payload in rows} - {""})
        record(
            audit,
            actor,
            action=AuditAction.DOCUMENT_DELETE,
            obj=libraries_object(libraries),
            outcome="ok",
            detail={"doc_id": doc_id, "libraries": libraries, "chunks": count},
        )
    store.delete_points(doc_id=doc_id)
    write_profile(settings, store, sparse=SparseEncoder())
    originals = settings.originals_dir / doc_id
    if originals.is_dir():
        shutil.rmtree(originals)
    return count
