"""qdrant-client backend: a Qdrant server or cluster (GUIDECITE_QDRANT_URL).

Test/dev convenience: GUIDECITE_QDRANT_URL=`:memory:` or `local:/some/dir` selects
qdrant-client's local mode (same API as the server, a brute-force Python emulation — never the
product's store, DESIGN.md §8). The embedding model id is kept in the collection's metadata.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client import models as qm

from assistant.config import Settings
from assistant.embedding import SparseVec
from assistant.errors import GuideCiteError, StoreError, StoreUnavailable
from assistant.store import (
    DENSE,
    INTEGER_INDEXES,
    KEYWORD_INDEXES,
    RRF_K,
    SPARSE,
    Condition,
    Hit,
    StorePoint,
    VectorStore,
    build_conditions,
    check_schema,
    merge_channel_scores,
)

logger = logging.getLogger(__name__)

SCROLL_PAGE = 512
TIMEOUT_S = 10


def _client_for(settings: Settings) -> tuple[QdrantClient, str]:
    """Build the client named by GUIDECITE_QDRANT_URL; returns it and a printable location."""
    url = settings.qdrant_url
    if url == ":memory:":
        return QdrantClient(location=":memory:"), url
    if url.startswith("local:"):
        return QdrantClient(path=url.removeprefix("local:")), url
    api_key = settings.qdrant_api_key.get_secret_value() or None
    return (
        QdrantClient(url=url, api_key=api_key, timeout=TIMEOUT_S, check_compatibility=False),
        url,
    )


class ServerStore(VectorStore):
    """One collection on a Qdrant server (or in qdrant-client's local mode for tests)."""

    def __init__(self, *, settings: Settings, client: QdrantClient | None = None) -> None:
        self.settings = settings
        self.collection = settings.retrieval.collection
        # An injected client belongs to the caller, who closes it.
        self._owns_client = client is None
        if client is None:
            try:
                client, self.location = _client_for(settings)
            except Exception as exc:  # local mode refuses a folder another client holds
                raise StoreUnavailable(
                    f"cannot open Qdrant at {settings.qdrant_url}: {exc}",
                    user_message=f"Cannot open the Qdrant store at {settings.qdrant_url}: {exc}",
                ) from exc
        else:
            self.location = settings.qdrant_url or "injected client"
        self.client = client
        # Local mode has no payload indexes (it warns on each); a server needs them.
        self._local = type(getattr(client, "_client", None)).__name__ == "QdrantLocal"
        with self._translate("connect"):
            self.client.get_collections()

    @contextlib.contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        try:
            yield
        except GuideCiteError:
            raise
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            if _is_connection_error(exc):
                raise StoreUnavailable(
                    f"Qdrant at {self.location} unreachable during {action}: {text}",
                    user_message=(
                        f"The Qdrant server at {self.location} does not answer ({text}). "
                        "Start it, or check GUIDECITE_QDRANT_URL (empty = embedded store)."
                    ),
                ) from exc
            raise StoreError(
                f"Qdrant {action} failed at {self.location}: {text}",
                user_message=f"The Qdrant server at {self.location} failed ({action}): {text}",
            ) from exc

    # -- schema --------------------------------------------------------------------------------

    def ensure_collection(self, *, dense_dim: int, model_id: str) -> None:
        """Create the collection (sharding/replication from settings) or check its schema."""
        with self._translate("ensure_collection"):
            exists = self.client.collection_exists(self.collection)
            if exists:
                info = self.client.get_collection(self.collection)
        if exists:
            vectors = info.config.params.vectors
            params = vectors.get(DENSE) if isinstance(vectors, dict) else None
            metadata = getattr(info.config, "metadata", None) or {}
            check_schema(
                stored_dim=params.size if params is not None else None,
                stored_model=metadata.get("model_id"),
                dense_dim=dense_dim,
                model_id=model_id,
                where=f"{self.location} collection {self.collection!r}",
            )
            if "model_id" not in metadata:
                with self._translate("update_collection"):
                    self.client.update_collection(
                        self.collection, metadata={"model_id": model_id, "dense_dim": dense_dim}
                    )
            return
        retrieval = self.settings.retrieval
        with self._translate("create_collection"):
            self.client.create_collection(
                self.collection,
                vectors_config={
                    DENSE: qm.VectorParams(
                        size=dense_dim,
                        distance=qm.Distance.COSINE,
                        on_disk=retrieval.on_disk_vectors,
                    )
                },
                sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                shard_number=retrieval.shard_number,
                replication_factor=retrieval.replication_factor,
                write_consistency_factor=retrieval.write_consistency_factor,
                metadata={"model_id": model_id, "dense_dim": dense_dim},
            )
            if not self._local:
                for field in KEYWORD_INDEXES:
                    self.client.create_payload_index(
                        self.collection, field, qm.PayloadSchemaType.KEYWORD, wait=True
                    )
                for field in INTEGER_INDEXES:
                    self.client.create_payload_index(
                        self.collection, field, qm.PayloadSchemaType.INTEGER, wait=True
                    )

    def _require_collection(self) -> None:
        """Searching an index that does not exist is an error, not "nothing relevant"."""
        if not self._exists():
            raise StoreError(
                f"collection {self.collection} does not exist",
                user_message=f"The guideline index {self.collection!r} does not exist on the "
                "Qdrant server yet; run `guidecite ingest PATH --library NAME` first.",
                retryable=False,
            )

    def _exists(self) -> bool:
        with self._translate("collection_exists"):
            return bool(self.client.collection_exists(self.collection))

    # -- writes --------------------------------------------------------------------------------

    def upsert(self, points: Sequence[StorePoint]) -> None:
        """Insert or replace points (by id), waiting for the write."""
        if not points:
            return
        structs = []
        for p in points:
            vector: dict[str, Any] = {DENSE: list(p.dense)} if p.dense is not None else {}
            if p.sparse.indices:
                vector[SPARSE] = qm.SparseVector(
                    indices=list(p.sparse.indices), values=list(p.sparse.values)
                )
            structs.append(qm.PointStruct(id=p.id, vector=vector, payload=p.payload))
        with self._translate("upsert"):
            self.client.upsert(self.collection, points=structs, wait=True)

    def set_status(
        self,
        *,
        doc_id: str,
        status: str,
        content_sha256: str | None = None,
        only_status: str | None = None,
        exclude_sha256: str | None = None,
    ) -> None:
        """Set payload `status` by filter."""
        if not self._exists():
            return
        flt = _filter(
            build_conditions(
                doc_id=doc_id,
                content_sha256=content_sha256,
                status=only_status,
                exclude_sha256=exclude_sha256,
            )
        )
        with self._translate("set_status"):
            self.client.set_payload(
                self.collection,
                payload={"status": status},
                points=qm.FilterSelector(filter=flt or qm.Filter()),
                wait=True,
            )

    def delete_points(
        self, *, doc_id: str, content_sha256: str | None = None, status: str | None = None
    ) -> None:
        """Delete by filter."""
        if not self._exists():
            return
        flt = _filter(build_conditions(doc_id=doc_id, content_sha256=content_sha256, status=status))
        with self._translate("delete"):
            self.client.delete(
                self.collection,
                points_selector=qm.FilterSelector(filter=flt or qm.Filter()),
                wait=True,
            )

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete by id."""
        if not ids or not self._exists():
            return
        with self._translate("delete"):
            self.client.delete(
                self.collection, points_selector=qm.PointIdsList(points=list(ids)), wait=True
            )

    # -- reads ---------------------------------------------------------------------------------

    def count(
        self,
        *,
        doc_id: str | None = None,
        content_sha256: str | None = None,
        status: str | None = None,
        library: str | None = None,
    ) -> int:
        """Exact count."""
        if not self._exists():
            return 0
        flt = _filter(
            build_conditions(
                doc_id=doc_id, content_sha256=content_sha256, status=status, library=library
            )
        )
        with self._translate("count"):
            return int(self.client.count(self.collection, count_filter=flt, exact=True).count)

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
        """All matching (id, payload) pairs, paging internally."""
        if (libraries is not None and not libraries) or not self._exists():
            return []
        flt = _filter(
            build_conditions(
                doc_id=doc_id,
                content_sha256=content_sha256,
                status=status,
                chunk_index=chunk_index,
                libraries=libraries,
            )
        )
        out: list[tuple[str, dict[str, Any]]] = []
        offset: Any = None
        while limit is None or len(out) < limit:
            page = SCROLL_PAGE if limit is None else min(SCROLL_PAGE, limit - len(out))
            with self._translate("scroll"):
                records, offset = self.client.scroll(
                    self.collection,
                    scroll_filter=flt,
                    limit=page,
                    offset=offset,
                    with_payload=True,
                    with_vectors=False,
                )
            out.extend((str(r.id), dict(r.payload or {})) for r in records)
            if offset is None or not records:
                break
        return out

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
        """RRF over filtered dense and sparse prefetches, plus raw channel scores (one batch)."""
        if not libraries:
            return []
        flt = _filter(build_conditions(libraries=libraries, statuses=statuses))
        channels: list[tuple[Any, str]] = [(list(dense), DENSE)]
        if sparse.indices:
            channels.append(
                (qm.SparseVector(indices=list(sparse.indices), values=list(sparse.values)), SPARSE)
            )
        prefetches = [
            qm.Prefetch(query=query, using=using, filter=flt, limit=prefetch_limit)
            for query, using in channels
        ]
        requests = [
            qm.QueryRequest(
                prefetch=prefetches,
                query=qm.RrfQuery(rrf=qm.Rrf(k=RRF_K)),
                limit=limit,
                with_payload=True,
            ),
            *(
                qm.QueryRequest(
                    query=query, using=using, filter=flt, limit=prefetch_limit, with_payload=False
                )
                for query, using in channels
            ),
        ]
        self._require_collection()
        with self._translate("query"):
            responses = self.client.query_batch_points(self.collection, requests=requests)
        fused = _hits(responses[0].points)
        dense_hits = _hits(responses[1].points)
        sparse_hits = _hits(responses[2].points) if len(responses) > 2 else []
        return merge_channel_scores(fused, dense_hits=dense_hits, sparse_hits=sparse_hits)

    def dense_query(
        self,
        *,
        dense: Sequence[float],
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
    ) -> list[Hit]:
        """Cosine search, filtered in-query."""
        hits = self._query(list(dense), DENSE, libraries=libraries, statuses=statuses, limit=limit)
        return [Hit(id=h.id, score=h.score, payload=h.payload, dense_score=h.score) for h in hits]

    def sparse_query(
        self,
        *,
        sparse: SparseVec,
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
    ) -> list[Hit]:
        """BM25 search, filtered in-query."""
        if not sparse.indices:
            return []
        vector = qm.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
        hits = self._query(vector, SPARSE, libraries=libraries, statuses=statuses, limit=limit)
        return [Hit(id=h.id, score=h.score, payload=h.payload, sparse_score=h.score) for h in hits]

    def _query(
        self,
        query: Any,
        using: str,
        *,
        libraries: Sequence[str],
        statuses: Sequence[str],
        limit: int,
    ) -> list[Hit]:
        if not libraries:
            return []
        self._require_collection()
        flt = _filter(build_conditions(libraries=libraries, statuses=statuses))
        with self._translate("query"):
            response = self.client.query_points(
                self.collection,
                query=query,
                using=using,
                query_filter=flt,
                limit=limit,
                with_payload=True,
            )
        return _hits(response.points)

    def close(self) -> None:
        """Close the client (unless it was injected)."""
        if not self._owns_client:
            return
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.client.close()


def _filter(conditions: Sequence[Condition]) -> qm.Filter | None:
    must: list[Any] = []
    must_not: list[Any] = []
    for cond in conditions:
        values = list(cond.values)
        match: Any = qm.MatchValue(value=values[0]) if len(values) == 1 else qm.MatchAny(any=values)
        (must_not if cond.negate else must).append(qm.FieldCondition(key=cond.key, match=match))
    if not must and not must_not:
        return None
    return qm.Filter(must=must or None, must_not=must_not or None)


def _hits(points: Sequence[Any]) -> list[Hit]:
    return [Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points]


def _is_connection_error(exc: BaseException) -> bool:
    from qdrant_client.http.exceptions import ResponseHandlingException

    if isinstance(exc, ResponseHandlingException | ConnectionError | TimeoutError):
        return True
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a qdrant-client dependency
        return False
    return isinstance(exc, httpx.TransportError)
