"""The vector store: one small interface, two Qdrant backends (DESIGN.md §2, §4, §8).

- `EdgeStore` (assistant/store_edge.py): Qdrant Edge, the in-process engine, at DATA_DIR/qdrant.
  Single-process, guarded by an exclusive lock on DATA_DIR/qdrant.lock.
- `ServerStore` (assistant/store_server.py): qdrant-client against a Qdrant server or cluster
  (GUIDECITE_QDRANT_URL). As a test/dev convenience the URL may also be `:memory:` or
  `local:/some/dir`, meaning qdrant-client's local mode (a Python emulation: fine for tests,
  far too slow for the product — DESIGN.md §8).

Only plain Python and domain types cross this boundary; every qdrant type stays in the backend
modules. Unauthorised libraries and non-current versions are excluded *inside* the query
(DESIGN.md §1), never filtered afterwards.
"""

from __future__ import annotations

import json
import types
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from assistant.embedding import SparseVec
from assistant.errors import StoreSchemaMismatch

DENSE = "dense"
SPARSE = "sparse"
# Reciprocal-rank-fusion constant (Cormack et al. 2009); set explicitly on both backends so the
# fused order is the same on Edge and on a server.
RRF_K = 60
KEYWORD_INDEXES = ("library", "doc_id", "status", "language", "content_sha256")
INTEGER_INDEXES = ("chunk_index",)
REINDEX_HINT = (
    "run `guidecite reindex`, which rebuilds every document from its stored original with the "
    "configured model (documents ingested with --redact keep no original: re-run "
    "`guidecite ingest PATH --library NAME` for those)"
)


@dataclass(frozen=True)
class StorePoint:
    """One chunk as written to the store.

    `dense` is None for a chunk in a language the embedding model does not cover (issue #13):
    it is found through the sparse channel only, and `guidecite reindex --dense` adds its dense
    vector once a model covers the language.
    """

    id: str
    dense: list[float] | None
    sparse: SparseVec
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    """One search result. `score` is the fused (RRF) or raw channel score of the query made."""

    id: str
    score: float
    payload: dict[str, Any]
    dense_score: float | None = None
    sparse_score: float | None = None


@dataclass(frozen=True)
class Condition:
    """A backend-neutral payload condition: `key` matches any of `values` (or none, if negated)."""

    key: str
    values: tuple[str | int, ...]
    negate: bool = False


def build_conditions(
    *,
    doc_id: str | None = None,
    content_sha256: str | None = None,
    status: str | None = None,
    chunk_index: int | None = None,
    library: str | None = None,
    libraries: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    exclude_sha256: str | None = None,
) -> list[Condition]:
    """Translate filter arguments into conditions; None means "no condition on that field"."""
    conditions: list[Condition] = []
    for key, value in (
        ("doc_id", doc_id),
        ("content_sha256", content_sha256),
        ("status", status),
        ("chunk_index", chunk_index),
        ("library", library),
    ):
        if value is not None:
            conditions.append(Condition(key, (value,)))
    if libraries is not None:
        conditions.append(Condition("library", tuple(libraries)))
    if statuses is not None:
        conditions.append(Condition("status", tuple(statuses)))
    if exclude_sha256 is not None:
        conditions.append(Condition("content_sha256", (exclude_sha256,), negate=True))
    return conditions


def check_schema(
    *, stored_dim: int | None, stored_model: str | None, dense_dim: int, model_id: str, where: str
) -> None:
    """Raise StoreSchemaMismatch if the stored collection was built for another model."""
    dim_differs = stored_dim is not None and stored_dim != dense_dim
    model_differs = stored_model is not None and stored_model != model_id
    if dim_differs or model_differs:
        raise StoreSchemaMismatch(
            f"{where}: stored dense size {stored_dim} / model {stored_model!r}, "
            f"configured {dense_dim} / {model_id!r}",
            user_message=(
                f"The vector index at {where} was built with embedding model "
                f"{stored_model or 'unknown'} ({stored_dim} dimensions), but the configured "
                f"model is {model_id} ({dense_dim} dimensions). Re-index: {REINDEX_HINT}."
            ),
        )


class VectorStore(ABC):
    """Hybrid (dense + sparse) vector store over one collection."""

    @abstractmethod
    def ensure_collection(self, *, dense_dim: int, model_id: str) -> None:
        """Create the collection and payload indexes if absent; fail on a model mismatch."""

    @abstractmethod
    def upsert(self, points: Sequence[StorePoint]) -> None:
        """Insert or replace points (by id)."""

    @abstractmethod
    def set_status(
        self,
        *,
        doc_id: str,
        status: str,
        content_sha256: str | None = None,
        only_status: str | None = None,
        exclude_sha256: str | None = None,
    ) -> None:
        """Set payload `status` on every point of `doc_id` matching the other conditions."""

    @abstractmethod
    def delete_points(
        self, *, doc_id: str, content_sha256: str | None = None, status: str | None = None
    ) -> None:
        """Delete the points of `doc_id` matching the other conditions."""

    @abstractmethod
    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete points by id (ids that do not exist are ignored)."""

    @abstractmethod
    def count(
        self,
        *,
        doc_id: str | None = None,
        content_sha256: str | None = None,
        status: str | None = None,
        library: str | None = None,
    ) -> int:
        """Exact number of points matching all given conditions."""

    @abstractmethod
    def scroll(
        self,
        *,
        doc_id: str | None = None,
        content_sha256: str | None = None,
        status: str | None = None,
        chunk_index: int | None = None,
        libraries: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """All matching (id, payload) pairs, up to `limit`; pages internally."""

    @abstractmethod
    def hybrid_query(
        self,
        *,
        dense: Sequence[float],
        sparse: SparseVec,
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
        prefetch_limit: int = 40,
    ) -> list[Hit]:
        """Dense + sparse prefetches, each filtered in-query, fused by RRF.

        Hits also carry the raw channel scores (`dense_score`, `sparse_score`) where the point
        was in that channel's top `prefetch_limit`.
        """

    @abstractmethod
    def dense_query(
        self,
        *,
        dense: Sequence[float],
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
    ) -> list[Hit]:
        """Nearest points by cosine, filtered in-query; `score` is the cosine."""

    @abstractmethod
    def sparse_query(
        self,
        *,
        sparse: SparseVec,
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
    ) -> list[Hit]:
        """Best points by BM25 (IDF-weighted sparse dot product), filtered in-query."""

    def optimize(self) -> None:
        """Merge segments and build indexes now (a no-op where the backend does it itself)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the store (and, for Edge, its process lock)."""

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()


def merge_channel_scores(
    fused: list[Hit], *, dense_hits: Sequence[Hit], sparse_hits: Sequence[Hit]
) -> list[Hit]:
    """Attach each channel's raw score to the fused hits, and re-fuse them with tied ranks.

    Qdrant ranks equal raw scores (the same passage filed twice, a tie in BM25) in its internal
    write order, so its RRF scores, and the order shown, could change with the order points were
    written. Here equal raw scores share a rank (competition ranking) and the RRF sum
    1/(RRF_K + rank) — Qdrant's formula, rank from 0 — is recomputed; ties left are broken by id.
    Qdrant still chooses the candidates, filtered inside the query.
    """
    dense_by_id = {h.id: h.score for h in dense_hits}
    sparse_by_id = {h.id: h.score for h in sparse_hits}
    dense_rank = _shared_ranks(dense_hits)
    sparse_rank = _shared_ranks(sparse_hits)
    merged = [
        Hit(
            id=h.id,
            score=_rrf(dense_rank.get(h.id), sparse_rank.get(h.id))
            if dense_rank or sparse_rank
            else h.score,
            payload=h.payload,
            dense_score=dense_by_id.get(h.id),
            sparse_score=sparse_by_id.get(h.id),
        )
        for h in fused
    ]
    return sorted(merged, key=lambda h: (-h.score, h.id))


def _shared_ranks(hits: Sequence[Hit]) -> dict[str, int]:
    """0-based rank per id, equal scores sharing the better rank."""
    scores = sorted((h.score for h in hits), reverse=True)
    first: dict[float, int] = {}
    for index, score in enumerate(scores):
        first.setdefault(score, index)
    return {h.id: first[h.score] for h in hits}


def _rrf(*ranks: int | None) -> float:
    return sum(1.0 / (RRF_K + rank) for rank in ranks if rank is not None)


def read_lock_holder(settings: Settings) -> dict[str, Any] | None:
    """Who holds the embedded store (`{"pid", "program", "since"}`), or None if nobody does."""
    from assistant.store_edge import read_lock_file

    return read_lock_file(settings.data_dir / "qdrant.lock")


def open_store(settings: Settings) -> VectorStore:
    """Qdrant Edge when GUIDECITE_QDRANT_URL is empty, else the Qdrant server it names."""
    if not settings.qdrant_url:
        from assistant.store_edge import EdgeStore

        return EdgeStore(settings=settings)
    from assistant.store_server import ServerStore

    return ServerStore(settings=settings)


def dump_meta(*, dense_dim: int, model_id: str) -> str:
    """The collection metadata both backends store (JSON)."""
    return json.dumps({"dense_dim": dense_dim, "model_id": model_id}, sort_keys=True)
