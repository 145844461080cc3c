"""Stale documents and `guidecite reindex` (issue #13).

A document is stale when the pipeline recorded with its current version (ingestion/pipeline.py)
differs from what this installation would produce: a parser, cleaner or chunker fix, another
embedding model or backend, or a model that now covers (or no longer covers) its language.
Reindexing rebuilds it from the original kept in DATA_DIR/originals, one document at a time,
each atomically (Ingestor.reindex).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from assistant.domain import DocumentStatus, DocumentVersion
from assistant.store import VectorStore
from ingestion.documents import version_from_payload
from ingestion.pipeline import EmbedderInfo, current_pipeline, stale_reasons
from ingestion.service import ChunkProgressFn, Ingestor, IngestReport


@dataclass(frozen=True)
class DocumentState:
    """A current document version and why it is stale (empty `reasons`: up to date)."""

    version: DocumentVersion
    reasons: list[str]
    payload: dict[str, Any]

    @property
    def stale(self) -> bool:
        """Whether the document was made by another pipeline than today's."""
        return bool(self.reasons)

    @property
    def needs_dense(self) -> bool:
        """Stored without dense vectors although the model now covers its language."""
        recorded = self.payload.get("pipeline") or {}
        return not recorded.get("dense") and any(
            r.startswith("dense vectors") for r in self.reasons
        )


def document_states(
    store: VectorStore,
    settings: Settings,
    embedder: EmbedderInfo | None = None,
    *,
    library: str | None = None,
) -> list[DocumentState]:
    """Every current document version with its staleness, by library and doc id."""
    if embedder is None:
        from assistant.embedding import load_dense_embedder

        embedder = load_dense_embedder(settings.embedding)  # metadata only, no weights
    rows = store.scroll(
        chunk_index=0,
        status=DocumentStatus.CURRENT.value,
        libraries=[library] if library else None,
    )
    states = []
    for _, payload in rows:
        version = version_from_payload(payload)
        current = current_pipeline(settings, embedder, language=version.language)
        states.append(
            DocumentState(
                version=version,
                reasons=stale_reasons(payload.get("pipeline"), current),
                payload=payload,
            )
        )
    return sorted(states, key=lambda s: (s.version.library, s.version.doc_id))


def reindex_documents(
    ingestor: Ingestor,
    *,
    library: str | None = None,
    stale_only: bool = False,
    dense_only: bool = False,
    chunk_progress: ChunkProgressFn | None = None,
) -> IngestReport:
    """Rebuild current documents from their stored originals (all, stale ones, or those
    missing dense vectors the model can now give them)."""
    states = document_states(ingestor.store, ingestor.settings, ingestor.embedder, library=library)
    if stale_only:
        states = [s for s in states if s.stale]
    if dense_only:
        states = [s for s in states if s.needs_dense]
    report = IngestReport()
    for state in states:
        ingestor.reindex(state.payload, report=report, chunk_progress=chunk_progress)
    if report.chunks_added:
        ingestor.store.optimize()
        ingestor.store_profile()
    return report


def model_changed(store: VectorStore, settings: Settings) -> bool:
    """Whether the store was built for another embedding model (size or name) than configured."""
    from assistant.embedding import load_dense_embedder
    from assistant.errors import StoreSchemaMismatch

    embedder = load_dense_embedder(settings.embedding)
    try:
        store.ensure_collection(dense_dim=embedder.dim, model_id=embedder.model_id)
    except StoreSchemaMismatch:
        return True
    return False


def rebuild_embedded_store(
    settings: Settings,
    *,
    audit: Any = None,
    actor: str = "cli:unknown",
    chunk_progress: ChunkProgressFn | None = None,
) -> IngestReport:
    """Rebuild every current document into a new Qdrant Edge shard for a new model, then swap.

    The old shard stays untouched (and is the store) until every document is in the new one;
    a failure leaves it in place. Superseded versions are not carried over.
    """
    import shutil
    import time

    from assistant.errors import ConfigError
    from assistant.store_edge import EdgeStore

    if settings.qdrant_url:
        raise ConfigError(
            "model change on a Qdrant server",
            user_message="The collection was built for another embedding model. On a Qdrant "
            "server, set GUIDECITE_RETRIEVAL__COLLECTION to a new name and re-run `guidecite "
            "ingest` for each library; the old collection serves until you switch.",
        )
    scratch = settings.data_dir / "reindex-new"
    shutil.rmtree(scratch, ignore_errors=True)
    new_settings = settings.model_copy(update={"data_dir": scratch})
    with EdgeStore(settings=settings) as old:
        payloads = [p for _, p in old.scroll(chunk_index=0, status=DocumentStatus.CURRENT.value)]
        with EdgeStore(settings=new_settings) as new:
            ingestor = Ingestor(settings, store=new, audit=audit, actor=actor)
            report = IngestReport()
            for payload in payloads:
                ingestor.reindex(payload, report=report, chunk_progress=chunk_progress)
            if report.failed:
                return report
    retired = settings.data_dir / f"qdrant.replaced-{int(time.time())}"
    settings.qdrant_path.rename(retired)
    (scratch / "qdrant").rename(settings.qdrant_path)
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return report
