"""Ingestion use-cases: files → parsed chunks → embeddings → Qdrant, with versions (issue #2).

Crash safety: a new document version is written with status `pending` (never searched), and
only after every batch has landed is it flipped to `current` and the previous version to
`superseded`. A crash in between leaves only pending points, which the next run rewrites
(point ids are deterministic, so nothing is duplicated).

Who may write (issue #9): a person ingests and deletes only through `ingestion.as_principal`
(`ingest_as_principal`, `delete_document_as_principal`), which checks with Casbin that the
principal manages every library touched and audits under the person's own name.
`Ingestor.ingest` and `ingestion.documents.delete_document` are the operator path (`guidecite
ingest` without `--by`: the OS operator at the console, audited as `cli:<os-user>`). Listing,
showing and deleting documents live in `ingestion.documents`.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import shutil
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.conversations import ConversationStore
from assistant.domain import (
    POINT_NAMESPACE,
    AuditAction,
    Chunk,
    DocumentStatus,
    DocumentVersion,
    Principal,
    library_object,
)
from assistant.embedding import DenseEmbedder, SparseEncoder, SparseVec, load_dense_embedder
from assistant.errors import AccessDenied, GuideCiteError, IngestionError
from assistant.language import is_bibliography
from assistant.privacy import redact_text
from assistant.retrieval import write_profile
from assistant.review import ReviewQueue
from assistant.service.acting import record
from assistant.service.conversations import mark_conversations_guideline_updated
from assistant.service.review import mark_guideline_updated
from assistant.store import StorePoint, VectorStore
from ingestion.documents import document_json, version_from_payload
from ingestion.grades import detect_grades, grades_payload
from ingestion.metadata import screen_identifiers
from ingestion.parse import SUPPORTED_EXTENSIONS, ChunkDraft, ParsedDocument, parse_document
from ingestion.pipeline import current_pipeline, pipeline_key

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"
# Files parsed ahead of the one being embedded and written (bounded: each holds its chunks and
# sparse vectors in memory until its turn).
PARSE_AHEAD = 3
# Progress callback: (event, path, done, total) — event is "file" (files done of all files).
ProgressFn = Callable[[str, Path, int, int], None]
# Chunk progress within one file: (path, chunks done, chunks of the file).
ChunkProgressFn = Callable[[Path, int, int], None]


@dataclass(frozen=True)
class ActingPerson:
    """A signed-in person ingesting, and the check every library they touch must pass."""

    principal: Principal
    authorize: Callable[[str], None]


@dataclass
class FailedFile:
    """A file that could not be ingested, with the reason a person can act on."""

    path: str
    error: str


@dataclass
class SkippedFile:
    """A file in a folder that was not tried, with the reason (issue #13)."""

    path: str
    reason: str


@dataclass
class IngestTimings:
    """Seconds spent in each stage, for the ingestion benchmark."""

    parse: float = 0.0
    embed: float = 0.0
    upsert: float = 0.0


@dataclass
class IngestReport:
    """What one ingestion run did (the `ingest --json` shape)."""

    documents: list[DocumentVersion] = field(default_factory=list)
    failed: list[FailedFile] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    chunks_added: int = 0
    chunks_dense: int = 0
    chunks_unchanged: int = 0
    pages: int = 0
    timings: IngestTimings = field(default_factory=IngestTimings)

    def to_json(self) -> dict[str, Any]:
        """The exact JSON object `guidecite ingest --json` prints."""
        return {
            "documents": [document_json(d) for d in self.documents],
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
            "skipped": [{"path": f.path, "reason": f.reason} for f in self.skipped],
            "chunks_added": self.chunks_added,
            "chunks_unchanged": self.chunks_unchanged,
        }


def iter_input_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders (recursively) in a stable order; sidecars are not documents."""
    yield from collect_input_files(paths)[0]


def collect_input_files(paths: Iterable[Path]) -> tuple[list[Path], list[SkippedFile]]:
    """Files to ingest, and the files of folders skipped for their type (with the reason).

    A file named explicitly is always tried (and fails with its reason if unsupported).
    """
    supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
    files: list[Path] = []
    skipped: list[SkippedFile] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        for child in sorted(path.rglob("*")):
            if not child.is_file() or child.name.endswith(SIDECAR_SUFFIX):
                continue
            if child.suffix.lower() in SUPPORTED_EXTENSIONS:
                files.append(child)
            else:
                kind = child.suffix.lower() or "(no extension)"
                skipped.append(
                    SkippedFile(
                        path=str(child),
                        reason=f"unsupported file type {kind}; supported: {supported}",
                    )
                )
    return files, skipped


class Ingestor:
    """Writes parsed documents into the vector store; one per process run."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: VectorStore,
        embedder: DenseEmbedder | None = None,
        sparse: SparseEncoder | None = None,
        audit: AuditLog | None = None,
        actor: str = "cli:unknown",
        redact: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.audit = audit
        self.actor = actor
        self.redact = redact
        self.embedder = embedder or load_dense_embedder(settings.embedding)
        self.sparse = sparse or SparseEncoder()
        self.clock = clock
        self._collection_ready = False

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        library: str,
        progress: ProgressFn | None = None,
        after_batch: Callable[[int], None] | None = None,
        chunk_progress: ChunkProgressFn | None = None,
    ) -> IngestReport:
        """Ingest files and folders into `library` as the operator; failures are reported.

        A person (web page, `ingest --by`) goes through `ingest_as_principal` instead.
        """
        return self._ingest_all(
            paths,
            library=library,
            progress=progress,
            after_batch=after_batch,
            person=None,
            chunk_progress=chunk_progress,
        )

    def _ingest_all(
        self,
        paths: Sequence[Path],
        *,
        library: str,
        progress: ProgressFn | None,
        after_batch: Callable[[int], None] | None,
        person: ActingPerson | None,
        chunk_progress: ChunkProgressFn | None = None,
    ) -> IngestReport:
        library = validate_library_name(library)
        if self.audit is not None:
            # Fail closed: nothing is read or written when its audit could not be.
            self.audit.ensure_writable()
        report = IngestReport()
        files, report.skipped = collect_input_files(paths)
        # Parsing (pypdf, jieba: Python holding the GIL) runs up to PARSE_AHEAD files ahead of
        # the embedding (torch/onnxruntime release the GIL while they compute): while one file
        # embeds on both cores the parser keeps working, so files the dense model does not cover
        # (sparse only, nothing to overlap with) are mostly parsed by the time their turn comes.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="guidecite-parse") as pool:
            ahead: deque[Future[tuple[ParsedDocument, list[SparseVec], float]]] = deque(
                pool.submit(self._parse, path) for path in files[:PARSE_AHEAD]
            )
            for index, path in enumerate(files):
                if progress:
                    progress("file", path, index, len(files))
                current = ahead.popleft()
                if index + PARSE_AHEAD < len(files):
                    ahead.append(pool.submit(self._parse, files[index + PARSE_AHEAD]))
                self._ingest_guarded(
                    path,
                    parsed=current,
                    library=library,
                    report=report,
                    after_batch=after_batch,
                    person=person,
                    chunk_progress=chunk_progress,
                )
        if progress:
            progress("file", Path(), len(files), len(files))
        if report.chunks_added:
            self.store.optimize()
            self.store_profile()
        return report

    def store_profile(self) -> None:
        """Store the library profile (term rarity, glosses, languages) the query path reads
        (assistant/retrieval.py): built here, when the library changes, not per question."""
        write_profile(self.settings, self.store, sparse=self.sparse)

    def _ingest_guarded(
        self,
        path: Path,
        *,
        parsed: Future[tuple[ParsedDocument, list[SparseVec], float]],
        library: str,
        report: IngestReport,
        after_batch: Callable[[int], None] | None,
        person: ActingPerson | None,
        chunk_progress: ChunkProgressFn | None,
        rebuild: bool = False,
    ) -> None:
        """Ingest one file; every failure becomes a FailedFile with its reason."""
        try:
            self._ingest_file(
                path,
                parsed=parsed,
                library=library,
                report=report,
                after_batch=after_batch,
                person=person,
                chunk_progress=chunk_progress,
                rebuild=rebuild,
            )
        except IngestionError as exc:
            logger.warning("ingestion of %s failed: %s", path.name, exc)
            report.failed.append(FailedFile(path=str(path), error=exc.user_message))
            self._audit(
                path,
                library=library,
                outcome="failed",
                detail={"error": redact_text(str(exc)).text},
                person=person,
            )
        except AccessDenied as exc:
            # Already audited as `denied` where the check failed; nothing was written.
            logger.warning("ingestion of %s denied: %s", path.name, exc)
            report.failed.append(FailedFile(path=str(path), error=exc.user_message))
        except GuideCiteError as exc:
            # Store or audit trouble: this file is not ingested; say why and go on.
            logger.warning("ingestion of %s failed: %s", path.name, exc)
            report.failed.append(FailedFile(path=str(path), error=exc.user_message))
        except OSError as exc:
            # Disk full or unwritable DATA_DIR: whatever of this file was written stays
            # pending (never searched) and the next run completes it.
            logger.warning("ingestion of %s failed: %s", path.name, exc)
            reason = (
                "no space left on device"
                if exc.errno == errno.ENOSPC
                else f"{exc.strerror or type(exc).__name__}"
            )
            report.failed.append(
                FailedFile(
                    path=str(path),
                    error=f"{path.name}: could not be stored ({reason}). Nothing of it is "
                    "searchable; free space or fix permissions and run ingest again.",
                )
            )

    def _ensure_collection(self) -> None:
        if not self._collection_ready:
            self.store.ensure_collection(
                dense_dim=self.embedder.dim, model_id=self.embedder.model_id
            )
            self._collection_ready = True

    def _parse(self, path: Path) -> tuple[ParsedDocument, list[SparseVec], float]:
        """Parse one file and encode its sparse vectors (runs ahead, in the parse thread)."""
        started = time.perf_counter()
        if not path.exists():
            raise IngestionError(f"{path}: no such file", user_message=f"{path}: no such file.")
        parsed = parse_document(
            path,
            count_tokens=self.embedder.count_tokens,
            chunk_tokens=min(self.settings.ingest.chunk_tokens, self.embedder.max_tokens - 2),
            overlap_tokens=self.settings.ingest.chunk_overlap_tokens,
            max_file_mb=self.settings.ingest.max_file_mb,
        )
        return parsed, self._encode_sparse(parsed), time.perf_counter() - started

    def _encode_sparse(self, parsed: ParsedDocument) -> list[SparseVec]:
        # The title and section headings go into the lexical channel too: a chunk under
        # "（一）神经氨酸酶抑制剂" is about that drug class even when its text says "本品".
        return [
            self.sparse.encode_document(d.text, context=" ".join([parsed.title, *d.section_path]))
            for d in parsed.chunks
        ]

    def _ingest_file(
        self,
        path: Path,
        *,
        parsed: Future[tuple[ParsedDocument, list[SparseVec], float]],
        library: str,
        report: IngestReport,
        after_batch: Callable[[int], None] | None,
        person: ActingPerson | None,
        chunk_progress: ChunkProgressFn | None = None,
        rebuild: bool = False,
    ) -> None:
        document, sparse, parse_s = parsed.result()
        report.timings.parse += parse_s
        if not document.chunks:
            raise IngestionError(
                f"{path}: no text chunks", user_message=f"{path.name}: no text found to index."
            )
        library = validate_library_name(str(document.overrides.get("library") or library))
        if person is not None:
            # A sidecar may name another library than the one the person chose.
            self._authorize(person, path, library=library)
        screened, redactions = self._screen_identifiers(document)
        if screened is not document:
            sparse = self._encode_sparse(screened)
        document = screened
        self._ensure_collection()
        if person is not None:
            # Superseding (or clearing the leftovers of) a version in another library changes
            # that library too: the person must manage every library holding this document.
            for other in self._libraries_of(document.doc_id) - {library}:
                self._authorize(person, path, library=other)
        version = self._document_version(document, library=library)
        pipeline = current_pipeline(self.settings, self.embedder, language=document.language)
        if not rebuild and self._is_unchanged(document, pipeline=pipeline):
            report.chunks_unchanged += len(document.chunks)
            report.documents.append(self._stored_version(document.doc_id, document.content_sha256))
            if person is not None:
                # 等保2.0 8.1.4.3: every action of a person is recorded, a no-op included.
                self._audit(
                    path,
                    library=library,
                    outcome="unchanged",
                    detail={"doc_id": document.doc_id, "content_sha256": document.content_sha256},
                    person=person,
                )
            return
        # A redacted document's original still carries the identifiers: it is not kept.
        stored = None if redactions else self._store_original(path, document)
        new_ids = self._write_pending(
            document,
            sparse=sparse,
            version=version,
            pipeline=pipeline,
            stored=stored,
            report=report,
            after_batch=after_batch,
            chunk_progress=chunk_progress,
        )
        # Audited before the version becomes searchable: if the audit cannot be written, the
        # document stays pending (fail closed) and the next run completes it.
        self._audit(
            path,
            library=library,
            outcome="ok",
            detail={
                "doc_id": document.doc_id,
                "version": document.version,
                "content_sha256": document.content_sha256,
                "chunks": len(document.chunks),
                "redacted": redactions,
                **({"reindex": True} if rebuild else {}),
            },
            person=person,
        )
        # Issue 17 §2: review items whose answers cite the version this one supersedes are
        # marked before the switch, so a failed marking leaves it pending (the re-run redoes it).
        for replaced in self.store.scroll(doc_id=document.doc_id, status="current", chunk_index=0):
            if replaced[1].get("content_sha256") != document.content_sha256:
                superseded = version_from_payload(replaced[1])
                mark_guideline_updated(
                    ReviewQueue.open(self.settings),
                    superseded=superseded,
                    current=version,
                    audit=self.audit,
                    who=self.actor if person is None else person.principal,
                )
                # Stored conversations resting on it say so when reopened (issue 16 item 1).
                mark_conversations_guideline_updated(
                    ConversationStore.open(self.settings), superseded=superseded, current=version
                )
        self._promote(document, keep_ids=new_ids)
        report.chunks_added += len(document.chunks)
        report.pages += document.pages or 0
        report.documents.append(version.model_copy(update={"status": DocumentStatus.CURRENT}))

    def reindex(
        self,
        payload: dict[str, Any],
        *,
        report: IngestReport,
        chunk_progress: ChunkProgressFn | None = None,
    ) -> None:
        """Rebuild one stored document version from its kept original with today's pipeline.

        Atomic per document: the new chunks are written beside the old ones (other point ids)
        and the old ones are deleted only once the new ones are current.
        """
        doc_id = str(payload["doc_id"])
        stored_rel = payload.get("stored_path")
        original = self.settings.data_dir / str(stored_rel) if stored_rel else None
        if original is None or not original.is_file():
            report.failed.append(
                FailedFile(
                    path=doc_id,
                    error=f"{doc_id}: no stored original (ingested with --redact, or the file "
                    "was removed from DATA_DIR/originals); re-run `guidecite ingest FILE "
                    f"--library {payload.get('library', 'NAME')}` with the file.",
                )
            )
            return
        kept = version_from_payload(payload)
        future: Future[tuple[ParsedDocument, list[SparseVec], float]] = Future()
        try:
            parsed, _, parse_s = self._parse(original)
            # Document fields come from the stored version (its sidecar is not kept).
            parsed = dataclasses.replace(
                parsed,
                doc_id=kept.doc_id,
                title=kept.title,
                issuer=kept.issuer,
                version=kept.version,
                effective_date=kept.effective_date,
                language=kept.language,
                overrides={
                    "library": kept.library,
                    "source_file": kept.source_file,
                    "privacy_reviewed": payload.get("privacy_reviewed") is True,
                },
            )
            future.set_result((parsed, self._encode_sparse(parsed), parse_s))
        except BaseException as exc:
            future.set_exception(exc)
        self._ingest_guarded(
            original,
            parsed=future,
            library=kept.library,
            report=report,
            after_batch=None,
            person=None,
            chunk_progress=chunk_progress,
            rebuild=True,
        )

    def _is_unchanged(self, parsed: ParsedDocument, *, pipeline: dict[str, Any]) -> bool:
        """This file is stored as the current version, made by the current pipeline."""
        existing = self.store.count(
            doc_id=parsed.doc_id, content_sha256=parsed.content_sha256, status="current"
        )
        if existing != len(parsed.chunks):
            return False
        rows = self.store.scroll(
            doc_id=parsed.doc_id,
            content_sha256=parsed.content_sha256,
            status="current",
            chunk_index=0,
            limit=1,
        )
        return bool(rows) and rows[0][1].get("pipeline") == pipeline

    def _screen_identifiers(self, parsed: ParsedDocument) -> tuple[ParsedDocument, dict[str, int]]:
        """Refuse documents carrying patient identifiers, or redact them with `redact=True`.

        Internal protocols and case examples do carry patient data (issue #4 item 2); the
        consensus asks for minimisation, so nothing identifying enters the index. Title,
        headings, page labels and file name count like the body (issue 13 item 1).
        """
        screened = screen_identifiers(parsed)
        counts = screened.refusing
        if not counts:
            return parsed, {}
        summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items()))
        if not self.redact:
            shown = screened.redacted.path  # the file name may hold identifiers too
            raise IngestionError(
                f"{shown}: patient identifiers found ({summary})",
                user_message=(
                    f"{shown.name}: refused, it contains patient identifiers ({summary}). "
                    "Remove them, or ingest with --redact to store a redacted copy."
                ),
            )
        return screened.redacted, counts

    def _authorize(self, person: ActingPerson, path: Path, *, library: str) -> None:
        try:
            person.authorize(library)
        except AccessDenied as exc:
            self._audit(
                path,
                library=library,
                outcome="denied",
                detail={"reason": exc.reason},
                person=person,
            )
            raise

    def _libraries_of(self, doc_id: str) -> set[str]:
        """Libraries holding any version (pending included) of a document."""
        rows = self.store.scroll(doc_id=doc_id, chunk_index=0)
        return {str(payload.get("library") or "") for _, payload in rows} - {""}

    def _audit(
        self,
        path: Path,
        *,
        library: str,
        outcome: str,
        detail: dict[str, Any],
        person: ActingPerson | None = None,
    ) -> None:
        if self.audit is None:
            return
        who: Principal | str = self.actor if person is None else person.principal
        obj, entry = library_object(library), {"file": redact_text(path.name).text, **detail}
        record(self.audit, who, action=AuditAction.INGEST, obj=obj, outcome=outcome, detail=entry)

    def _document_version(self, parsed: ParsedDocument, *, library: str) -> DocumentVersion:
        return DocumentVersion(
            doc_id=parsed.doc_id,
            title=parsed.title,
            issuer=parsed.issuer,
            version=parsed.version,
            effective_date=parsed.effective_date,
            language=parsed.language,
            library=library,
            status=DocumentStatus.PENDING,
            content_sha256=parsed.content_sha256,
            source_file=str(parsed.overrides.get("source_file") or parsed.path.name),
            pages=parsed.pages,
            chunks=len(parsed.chunks),
            ingested_at=self.clock(),
        )

    def _store_original(self, path: Path, parsed: ParsedDocument) -> Path:
        """Keep the original so the app can open it at the cited page."""
        target_dir = self.settings.originals_dir / parsed.doc_id
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{parsed.content_sha256[:16]}{path.suffix.lower()}"
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".part")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        return target

    def _write_pending(
        self,
        parsed: ParsedDocument,
        *,
        sparse: list[SparseVec],
        version: DocumentVersion,
        pipeline: dict[str, Any],
        stored: Path | None,
        report: IngestReport,
        after_batch: Callable[[int], None] | None,
        chunk_progress: ChunkProgressFn | None = None,
    ) -> set[str]:
        """Write the version's points as `pending`; returns their ids."""
        # Leftovers of an interrupted run are never searchable; clear them first.
        self.store.delete_points(doc_id=parsed.doc_id, status=DocumentStatus.PENDING.value)
        # Only languages the model covers get dense vectors: retrieval never uses the dense
        # channel for the others (issue #13; zh–en MiniLM similarity ≈ 0.03).
        with_dense = bool(pipeline["dense"])
        key = pipeline_key(pipeline)
        batch = self.settings.ingest.upsert_batch
        total = len(parsed.chunks)
        ids: set[str] = set()
        for start in range(0, total, batch):
            drafts = parsed.chunks[start : start + batch]
            t0 = time.perf_counter()
            # A bibliography's chunks cite other papers: lexical only (assistant.domain).
            wanted = [
                i
                for i, d in enumerate(drafts)
                if with_dense and not is_bibliography(d.section_path)
            ]
            dense: list[list[float] | None] = [None] * len(drafts)
            if wanted:
                vectors = self.embedder.embed_documents([drafts[i].text for i in wanted])
                for i, vector in zip(wanted, vectors, strict=True):
                    dense[i] = vector
            t1 = time.perf_counter()
            chunks = [to_chunk(parsed, d, start + i) for i, d in enumerate(drafts)]
            points = [
                StorePoint(
                    id=point_id(chunk, pipeline_key=key),
                    dense=vector,
                    sparse=sparse_vector,
                    payload={
                        **chunk_payload(
                            chunk, version=version, stored=stored, settings=self.settings
                        ),
                        "pipeline": pipeline,
                        "privacy_reviewed": parsed.overrides.get("privacy_reviewed") is True,
                    },
                )
                for chunk, vector, sparse_vector in zip(
                    chunks, dense, sparse[start : start + len(drafts)], strict=True
                )
            ]
            self.store.upsert(points)
            ids.update(p.id for p in points)
            report.timings.embed += t1 - t0
            report.timings.upsert += time.perf_counter() - t1
            report.chunks_dense += len(wanted)
            if after_batch:
                after_batch(start + len(drafts))
            if chunk_progress:
                chunk_progress(parsed.path, start + len(drafts), total)
        return ids

    def _promote(self, parsed: ParsedDocument, *, keep_ids: set[str]) -> None:
        # Old version first, so there is never a moment with two current versions.
        self.store.set_status(
            doc_id=parsed.doc_id,
            status=DocumentStatus.SUPERSEDED.value,
            only_status=DocumentStatus.CURRENT.value,
            exclude_sha256=parsed.content_sha256,
        )
        self.store.set_status(
            doc_id=parsed.doc_id,
            status=DocumentStatus.CURRENT.value,
            content_sha256=parsed.content_sha256,
        )
        # Chunks of this same file made by an older pipeline stayed searchable until now.
        rows = self.store.scroll(doc_id=parsed.doc_id, content_sha256=parsed.content_sha256)
        self.store.delete_ids([pid for pid, _ in rows if pid not in keep_ids])

    def _stored_version(self, doc_id: str, sha: str) -> DocumentVersion:
        rows = self.store.scroll(doc_id=doc_id, content_sha256=sha, chunk_index=0, limit=1)
        return version_from_payload(rows[0][1])


def to_chunk(parsed: ParsedDocument, draft: ChunkDraft, index: int) -> Chunk:
    """A parsed chunk draft as a domain Chunk."""
    return Chunk(
        doc_id=parsed.doc_id,
        content_sha256=parsed.content_sha256,
        chunk_index=index,
        text=draft.text,
        section_path=list(draft.section_path),
        page_start=draft.page_start,
        page_end=draft.page_end,
        page_label=draft.page_label,
        item_head=draft.item_head,
    )


def point_id(chunk: Chunk, *, pipeline_key: str) -> str:
    """Deterministic point id: UUIDv5 of (doc_id, content_sha256, chunk_index, pipeline).

    The pipeline fingerprint is part of the id so that a rebuilt document's new chunks can be
    written beside the old ones, which stay searchable until the new ones are in (issue #13).
    """
    key = f"{chunk.doc_id}\x1f{chunk.content_sha256}\x1f{chunk.chunk_index}\x1f{pipeline_key}"
    return str(uuid.uuid5(POINT_NAMESPACE, key))


def chunk_payload(
    chunk: Chunk, *, version: DocumentVersion, stored: Path | None, settings: Settings
) -> dict[str, Any]:
    """The Qdrant payload of DESIGN.md §4 plus document-level fields for listing."""
    stored_rel: str | None = None
    if stored is not None:
        try:
            stored_rel = str(stored.relative_to(settings.data_dir))
        except ValueError:
            stored_rel = str(stored)
    return {
        "doc_id": chunk.doc_id,
        "version": version.version,
        "title": version.title,
        "issuer": version.issuer,
        "language": version.language,
        "library": version.library,
        "status": DocumentStatus.PENDING.value,
        "section_path": chunk.section_path,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "page_label": chunk.page_label,
        "item_head": chunk.item_head,
        "chunk_index": chunk.chunk_index,
        "text": chunk.text,
        # Every grade the chunk states, with its sentence span (issue #17 §1); None when none.
        "grade": grades_payload(detect_grades(chunk.text)),
        "content_sha256": chunk.content_sha256,
        "effective_date": version.effective_date.isoformat() if version.effective_date else None,
        "source_file": version.source_file,
        "stored_path": stored_rel,
        "ingested_at": version.ingested_at.isoformat() if version.ingested_at else None,
        "doc_pages": version.pages,
        "doc_chunks": version.chunks,
    }


def validate_library_name(name: str) -> str:
    """Library names are Casbin object suffixes: lower-case letters, digits, '-' and '_'."""
    cleaned = name.strip()
    if not cleaned or not all(c.isascii() and (c.isalnum() or c in "-_") for c in cleaned):
        raise IngestionError(
            f"invalid library name {name!r}",
            user_message=f"Invalid library name {name!r}: use letters, digits, '-' or '_'.",
        )
    return cleaned.lower()
