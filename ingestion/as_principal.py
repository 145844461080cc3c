"""Ingestion and deletion on behalf of a signed-in person, checked and audited (issue #9).

A person ingests and deletes only through `ingest_as_principal` and
`delete_document_as_principal`, which check with Casbin that the principal manages every library
touched (the target, a sidecar's override, and the library of any version being superseded),
audit a denial and audit the change under the person's own name. The operator path
(`Ingestor.ingest`, `ingestion.documents.delete_document`) skips these checks. The Library
page compares editions through `diff_document_as_principal` (manage or read, issue #17 §2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.access import AccessControl, require_library_management
from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.domain import (
    AuditAction,
    DocumentDiff,
    Principal,
    libraries_object,
    library_object,
)
from assistant.errors import AccessDenied, ConfigError, IngestionError
from assistant.service.acting import record
from assistant.store import VectorStore
from ingestion.diff import diff_document
from ingestion.documents import delete_document
from ingestion.service import (
    ActingPerson,
    ChunkProgressFn,
    Ingestor,
    IngestReport,
    ProgressFn,
    validate_library_name,
)


def _checked(
    audit: AuditLog,
    principal: Principal,
    *,
    action: AuditAction,
    obj: str,
    detail: dict[str, Any],
    check: Callable[[], None],
) -> None:
    """Run a permission check; a denial is recorded with what was attempted, then re-raised."""
    try:
        check()
    except AccessDenied as exc:
        denied = {**detail, "reason": exc.reason}
        record(audit, principal, action=action, obj=obj, outcome="denied", detail=denied)
        raise


def ingest_as_principal(
    principal: Principal,
    paths: Sequence[Path],
    *,
    library: str,
    ingestor: Ingestor,
    access: AccessControl,
    progress: ProgressFn | None = None,
    after_batch: Callable[[int], None] | None = None,
    chunk_progress: ChunkProgressFn | None = None,
) -> IngestReport:
    """Ingest for a signed-in person: Casbin decides whether they manage `library`.

    sysadmin: any library; dept_admin: the libraries granted to their department; anyone else:
    `AccessDenied` (exit 3), audited as `ingest`/`denied` before anything is read or written.
    Every file is then audited under the person's name; a file whose sidecar names, or whose
    document already lives in, a library they do not manage fails alone, audited `denied`.
    """
    audit = ingestor.audit
    if audit is None:
        raise ConfigError("ingestion by a person needs an audit log")
    audit.ensure_writable()  # fail closed before any check or record
    files = [path.name for path in paths]
    try:
        library = validate_library_name(library)
    except IngestionError as exc:
        record(
            audit,
            principal,
            action=AuditAction.INGEST,
            obj=library_object(library[:64]),
            outcome="refused",
            detail={"reason": "invalid_library_name", "files": files, "error": exc.user_message},
        )
        raise
    _checked(
        audit,
        principal,
        action=AuditAction.INGEST,
        obj=library_object(library),
        detail={"files": files},
        check=lambda: require_library_management(access, principal, library),
    )
    person = ActingPerson(
        principal=principal,
        authorize=lambda name: require_library_management(access, principal, name),
    )
    return ingestor._ingest_all(
        paths,
        library=library,
        progress=progress,
        after_batch=after_batch,
        person=person,
        chunk_progress=chunk_progress,
    )


def delete_document_as_principal(
    principal: Principal,
    doc_id: str,
    *,
    store: VectorStore,
    settings: Settings,
    access: AccessControl,
    audit: AuditLog,
) -> int:
    """Delete every version of a document for a person who manages every library holding it.

    Audited before the points go (fail closed: no record, no deletion); a denial or an unknown
    id is audited too. Returns the number of chunks removed.
    """
    audit.ensure_writable()  # fail closed: no record, no deletion
    rows = store.scroll(doc_id=doc_id, chunk_index=0)
    libraries = sorted({str(payload.get("library") or "") for _, payload in rows} - {""})
    obj = libraries_object(libraries)
    base: dict[str, Any] = {"doc_id": doc_id, "libraries": libraries}
    if not libraries:
        record(
            audit,
            principal,
            action=AuditAction.DOCUMENT_DELETE,
            obj=obj,
            outcome="refused",
            detail={**base, "reason": "unknown_document"},
        )
        raise IngestionError(
            f"unknown document {doc_id}",
            user_message=f"No document with id {doc_id!r}; see `guidecite docs list`.",
        )

    def check() -> None:
        for name in libraries:
            require_library_management(access, principal, name)

    _checked(
        audit, principal, action=AuditAction.DOCUMENT_DELETE, obj=obj, detail=base, check=check
    )
    chunks = store.count(doc_id=doc_id)
    record(
        audit,
        principal,
        action=AuditAction.DOCUMENT_DELETE,
        obj=obj,
        outcome="ok",
        detail={**base, "chunks": chunks},
    )
    return delete_document(store, settings, doc_id)


def diff_document_as_principal(
    principal: Principal,
    doc_id: str,
    *,
    store: VectorStore,
    access: AccessControl,
    audit: AuditLog,
    from_version: str | None = None,
    to_version: str | None = None,
) -> DocumentDiff:
    """What changed between two editions of a document (issue 17 §2), for a person who may
    manage or read every library holding it (the Library page's "what changed").

    A denial is audited (`document_diff`/`denied`) and raised; an allowed comparison is a read
    and writes no row (opening the page is the audited `page_open`). Unknown documents and
    versions raise `IngestionError` with the same words as `guidecite docs diff`.
    """
    rows = store.scroll(doc_id=doc_id, chunk_index=0)
    libraries = sorted({str(payload.get("library") or "") for _, payload in rows} - {""})

    def check() -> None:
        for name in libraries:
            if not access.can(principal, "read", library_object(name)):
                require_library_management(access, principal, name)

    _checked(
        audit,
        principal,
        action=AuditAction.DOCUMENT_DIFF,
        obj=libraries_object(libraries),
        detail={"doc_id": doc_id, "libraries": libraries},
        check=check,
    )
    return diff_document(store, doc_id, from_version=from_version, to_version=to_version)
