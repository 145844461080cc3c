"""Qdrant Edge backend: the in-process Qdrant engine, one shard at DATA_DIR/qdrant.

qdrant-edge-py is beta (pinned in pyproject.toml); every use of it stays in this module.
The shard may be open in one process only (DESIGN.md §6): an exclusive, non-blocking
`flock` on DATA_DIR/qdrant.lock (mode 0600) records the holder's PID and program name, so a
second process is told exactly who holds the store instead of getting a bare WAL error. Never
the holder's arguments: a `guidecite ask` command line holds another doctor's question (issue
#11 item 5).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import qdrant_edge as qe

from assistant.config import Settings
from assistant.embedding import SparseVec
from assistant.errors import GuideCiteError, StoreError, StoreLocked
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
    dump_meta,
    merge_channel_scores,
)

logger = logging.getLogger(__name__)

META_FILE = "guidecite.json"  # inside the shard dir, so deleting DATA_DIR/qdrant resets it
SCROLL_PAGE = 512


_PROGRAM_CHARS = re.compile(r"[^A-Za-z0-9._+-]")


def program_name() -> str:
    """This process's program name, never its arguments: the kernel's name for it (as `ps -o
    comm` shows: `guidecite`, `streamlit`), else the file name of argv[0] or the interpreter."""
    name = ""
    with contextlib.suppress(OSError):
        name = Path("/proc/self/comm").read_text(encoding="utf-8", errors="replace").strip()
    if not name:
        first = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
        name = os.path.basename(first or sys.executable)
    return _PROGRAM_CHARS.sub("?", name)[:64] or "unknown"


def lock_holder_record() -> dict[str, Any]:
    """What a store lock file says about its holder: PID, program name and since when."""
    return {
        "pid": os.getpid(),
        "program": program_name(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def describe_lock_holder(holder: dict[str, Any] | None) -> str:
    """`PID 123 (guidecite, since …)` from a lock file's record.

    Only the PID, the program name and the time are shown: a lock file written by an older
    version also holds the holder's command line, which is another user's question (issue #11
    item 5), so no other field is ever echoed.
    """
    holder = holder or {}
    pid = holder.get("pid")
    pid_text = str(pid) if isinstance(pid, int) else "unknown"
    program = holder.get("program")
    program_text = (
        _PROGRAM_CHARS.sub("?", program)[:64] if isinstance(program, str) and program else None
    )
    since = holder.get("since")
    since_text = (
        since if isinstance(since, str) and re.fullmatch(r"[0-9T:+.Z-]{1,40}", since) else None
    )
    details = ", ".join(
        part
        for part in (program_text or "program unknown", since_text and f"since {since_text}")
        if part
    )
    return f"PID {pid_text} ({details})"


def open_lock_file(path: Path) -> Any:
    """The lock file, created owner-only; an older, looser one is tightened (issue #11 item 4)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    return os.fdopen(fd, "a+", encoding="utf-8")


def _parse_holder(text: str) -> dict[str, Any]:
    try:
        holder = json.loads(text or "{}")
    except ValueError:
        return {}
    return holder if isinstance(holder, dict) else {}


def read_lock_file(path: Path) -> dict[str, Any] | None:
    """The holder recorded in a store lock file (`pid`, `program`, `since`), or None if no
    process holds the lock. Any other field an older version wrote is dropped."""
    if not path.exists():
        return None
    with open_lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _parse_holder(handle.read())
            return {key: holder[key] for key in ("pid", "program", "since") if key in holder}
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def write_lock_holder(handle: Any) -> None:
    """Replace a held lock file's content with this process's record."""
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(lock_holder_record()))
    handle.flush()


class _ProcessLock:
    """Exclusive, non-blocking flock naming its holder; released on close or process exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open_lock_file(path)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read()
            handle.close()
            raise self._locked_error(text) from None
        write_lock_holder(handle)
        self._handle: Any = handle

    def _locked_error(self, text: str) -> StoreLocked:
        holder = describe_lock_holder(_parse_holder(text))
        return StoreLocked(
            f"{self.path} is locked by {holder}",
            user_message=(
                f"The embedded vector store ({self.path.parent / 'qdrant'}) is in use by "
                f"another process: {holder}. Stop it, or set "
                "GUIDECITE_QDRANT_URL to use a Qdrant server, which allows many processes."
            ),
        )

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(OSError):
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()
        self._handle = None


@contextlib.contextmanager
def _translate(action: str) -> Iterator[None]:
    """Turn Qdrant Edge's bare exceptions into StoreError with a message."""
    try:
        yield
    except GuideCiteError:
        raise
    except Exception as exc:
        raise StoreError(
            f"Qdrant Edge {action} failed: {exc}",
            user_message=f"The embedded vector store failed ({action}): {exc}",
        ) from exc


def _filter(conditions: Sequence[Condition]) -> qe.Filter | None:
    must: list[Any] = []
    must_not: list[Any] = []
    for cond in conditions:
        values: Any = list(cond.values)
        match: Any = qe.MatchValue(values[0]) if len(values) == 1 else qe.MatchAny(values)
        (must_not if cond.negate else must).append(qe.FieldCondition(key=cond.key, match=match))
    if not must and not must_not:
        return None
    return qe.Filter(must=must or None, must_not=must_not or None)


def _hits(points: Sequence[Any]) -> list[Hit]:
    return [Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in points]


class EdgeStore(VectorStore):
    """Qdrant Edge shard at settings.qdrant_path, held exclusively by this process."""

    def __init__(self, *, settings: Settings) -> None:
        self.path = settings.qdrant_path
        self._lock = _ProcessLock(settings.data_dir / "qdrant.lock")
        self._shard: Any = None
        self._dirty = False
        try:
            if (self.path / "edge_config.json").is_file():
                with _translate("open"):
                    self._shard = qe.EdgeShard.load(str(self.path))
        except BaseException:
            self._lock.release()
            raise

    # -- schema --------------------------------------------------------------------------------

    def ensure_collection(self, *, dense_dim: int, model_id: str) -> None:
        """Create the shard with dense + sparse(IDF) vectors and payload indexes, or check it."""
        meta_path = self.path / META_FILE
        if self._shard is not None:
            stored = _read_json(meta_path)
            stored_dim = _read_json(self.path / "edge_config.json").get("vectors", {})
            dim = stored_dim.get(DENSE, {}).get("size") if isinstance(stored_dim, dict) else None
            check_schema(
                stored_dim=int(dim) if dim is not None else stored.get("dense_dim"),
                stored_model=stored.get("model_id"),
                dense_dim=dense_dim,
                model_id=model_id,
                where=str(self.path),
            )
            if not stored:
                meta_path.write_text(dump_meta(dense_dim=dense_dim, model_id=model_id))
            return
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dense_dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        with _translate("create"):
            self._shard = qe.EdgeShard.create(str(self.path), config)
            for field in KEYWORD_INDEXES:
                self._shard.update(
                    qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword)
                )
            for field in INTEGER_INDEXES:
                self._shard.update(
                    qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Integer)
                )
            self._shard.flush()
        meta_path.write_text(dump_meta(dense_dim=dense_dim, model_id=model_id))

    def _require(self) -> Any:
        if self._shard is None:
            raise StoreError(
                "Qdrant Edge shard not created: call ensure_collection first",
                user_message="The vector store has not been initialised; run "
                "`guidecite ingest PATH --library NAME` first.",
                retryable=False,
            )
        return self._shard

    # -- writes --------------------------------------------------------------------------------

    def upsert(self, points: Sequence[StorePoint]) -> None:
        """Insert or replace points (by id); flushed before returning."""
        if not points:
            return
        shard = self._require()
        edge_points = []
        for p in points:
            vector: dict[str, Any] = {DENSE: list(p.dense)} if p.dense is not None else {}
            if p.sparse.indices:
                vector[SPARSE] = qe.SparseVector(list(p.sparse.indices), list(p.sparse.values))
            edge_points.append(qe.Point(id=p.id, vector=vector, payload=p.payload))
        with _translate("upsert"):
            shard.update(qe.UpdateOperation.upsert_points(edge_points))
            shard.flush()
        self._dirty = True

    def set_status(
        self,
        *,
        doc_id: str,
        status: str,
        content_sha256: str | None = None,
        only_status: str | None = None,
        exclude_sha256: str | None = None,
    ) -> None:
        """Set payload `status` by filter (no id round-trip)."""
        if self._shard is None:
            return
        conditions = build_conditions(
            doc_id=doc_id,
            content_sha256=content_sha256,
            status=only_status,
            exclude_sha256=exclude_sha256,
        )
        with _translate("set_status"):
            self._shard.update(
                qe.UpdateOperation.set_payload_by_filter(
                    _filter(conditions) or qe.Filter(), {"status": status}
                )
            )
            self._shard.flush()

    def delete_points(
        self, *, doc_id: str, content_sha256: str | None = None, status: str | None = None
    ) -> None:
        """Delete by filter."""
        if self._shard is None:
            return
        conditions = build_conditions(doc_id=doc_id, content_sha256=content_sha256, status=status)
        with _translate("delete"):
            self._shard.update(
                qe.UpdateOperation.delete_points_by_filter(_filter(conditions) or qe.Filter())
            )
            self._shard.flush()
        self._dirty = True

    def delete_ids(self, ids: Sequence[str]) -> None:
        """Delete by id."""
        if self._shard is None or not ids:
            return
        with _translate("delete"):
            self._shard.update(qe.UpdateOperation.delete_points(list(ids)))
            self._shard.flush()
        self._dirty = True

    def optimize(self) -> None:
        """Run Qdrant Edge's segment optimisers (ingestion calls this after a batch)."""
        if self._shard is None:
            return
        started = time.perf_counter()
        with _translate("optimize"):
            changed = self._shard.optimize()
        self._dirty = False
        logger.info(
            "qdrant edge optimize: changed=%s in %.2fs", changed, time.perf_counter() - started
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
        if self._shard is None:
            return 0
        conditions = build_conditions(
            doc_id=doc_id, content_sha256=content_sha256, status=status, library=library
        )
        with _translate("count"):
            return int(self._shard.count(qe.CountRequest(exact=True, filter=_filter(conditions))))

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
        if self._shard is None or (libraries is not None and not libraries):
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
            with _translate("scroll"):
                records, offset = self._shard.scroll(
                    qe.ScrollRequest(offset=offset, limit=page, filter=flt, with_payload=True)
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
        self._require()  # no index yet is an error, not "nothing relevant"
        flt = _filter(build_conditions(libraries=libraries, statuses=statuses))
        dense_q = qe.Query.Nearest(list(dense), using=DENSE)
        prefetches = [qe.Prefetch(limit=prefetch_limit, query=dense_q, filter=flt)]
        requests = [qe.QueryRequest(limit=prefetch_limit, query=dense_q, filter=flt)]
        if sparse.indices:
            sparse_q = qe.Query.Nearest(
                qe.SparseVector(list(sparse.indices), list(sparse.values)), using=SPARSE
            )
            prefetches.append(qe.Prefetch(limit=prefetch_limit, query=sparse_q, filter=flt))
            requests.append(qe.QueryRequest(limit=prefetch_limit, query=sparse_q, filter=flt))
        fused = qe.QueryRequest(
            limit=limit,
            prefetches=prefetches,
            query=cast(Any, qe.Fusion.Rrf(k=RRF_K)),
            with_payload=True,
        )
        # One planned batch: the fused query (filter inside each prefetch) and the two raw
        # channels, whose scores retrieval needs for its relevance floor.
        with _translate("query"):
            results = self._shard.query_batch(qe.QueryBatchRequest([fused, *requests]))
        dense_hits = _hits(results[1])
        sparse_hits = _hits(results[2]) if len(results) > 2 else []
        return merge_channel_scores(
            _hits(results[0]), dense_hits=dense_hits, sparse_hits=sparse_hits
        )

    def dense_query(
        self,
        *,
        dense: Sequence[float],
        libraries: Sequence[str],
        statuses: Sequence[str] = ("current",),
        limit: int = 5,
    ) -> list[Hit]:
        """Cosine search, filtered in-query."""
        if not libraries:
            return []
        self._require()  # no index yet is an error, not "nothing relevant"
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(list(dense), using=DENSE),
            filter=_filter(build_conditions(libraries=libraries, statuses=statuses)),
            with_payload=True,
        )
        with _translate("query"):
            hits = _hits(self._shard.query(request))
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
        if not libraries or not sparse.indices:
            return []
        self._require()
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(
                qe.SparseVector(list(sparse.indices), list(sparse.values)), using=SPARSE
            ),
            filter=_filter(build_conditions(libraries=libraries, statuses=statuses)),
            with_payload=True,
        )
        with _translate("query"):
            hits = _hits(self._shard.query(request))
        return [Hit(id=h.id, score=h.score, payload=h.payload, sparse_score=h.score) for h in hits]

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Optimise if written to, close the shard, release the process lock."""
        try:
            if self._shard is not None:
                if self._dirty:
                    self.optimize()
                with _translate("close"):
                    self._shard.close()
                self._shard = None
        finally:
            self._lock.release()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
