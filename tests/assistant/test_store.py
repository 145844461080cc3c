"""Contract tests for the vector store, run against Qdrant Edge and qdrant-client local mode."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient

from assistant.config import Settings, get_settings
from assistant.embedding import SparseVec
from assistant.errors import StoreError, StoreLocked, StoreSchemaMismatch, StoreUnavailable
from assistant.store import Hit, StorePoint, VectorStore, open_store, read_lock_holder
from assistant.store_edge import EdgeStore
from assistant.store_server import ServerStore

DIM = 8
MODEL = "test-model:8"
BACKENDS = ["edge", "qdrant-memory", "qdrant-local-path"]


def unit(*weights: float) -> list[float]:
    """An 8-d unit vector from leading weights."""
    vec = [*weights, *([0.0] * (DIM - len(weights)))]
    norm = math.sqrt(sum(v * v for v in vec))
    return [v / norm for v in vec]


def point(
    n: int,
    *,
    library: str = "A",
    doc_id: str = "doc-a",
    status: str = "current",
    sha: str = "sha1",
    dense: list[float] | None = None,
    terms: tuple[int, ...] = (),
) -> StorePoint:
    pid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{doc_id}/{sha}/{n}"))
    sparse = SparseVec(tuple(sorted(terms)), tuple(1.0 for _ in terms))
    payload = {
        "doc_id": doc_id,
        "library": library,
        "status": status,
        "content_sha256": sha,
        "chunk_index": n,
        "language": "en",
        "text": f"chunk {n} of {doc_id}",
        "section_path": ["1", "1.2"],
    }
    return StorePoint(id=pid, dense=dense or unit(1.0, n * 0.1), sparse=sparse, payload=payload)


def make_store(kind: str, settings: Settings, tmp_path: Path) -> VectorStore:
    if kind == "edge":
        return EdgeStore(settings=settings)
    if kind == "qdrant-memory":
        return ServerStore(client=QdrantClient(location=":memory:"), settings=settings)
    local = settings.model_copy(update={"qdrant_url": f"local:{tmp_path / 'qdrant-local'}"})
    return open_store(local)


@pytest.fixture
def settings() -> Settings:
    return get_settings()


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[VectorStore]:
    s = make_store(request.param, settings, tmp_path)
    s.ensure_collection(dense_dim=DIM, model_id=MODEL)
    yield s
    s.close()


def ids(hits: list[Hit]) -> set[str]:
    return {h.id for h in hits}


def test_open_store_picks_backend_from_url(settings: Settings, tmp_path: Path) -> None:
    with open_store(settings) as edge:
        assert isinstance(edge, EdgeStore)
    server_settings = settings.model_copy(update={"qdrant_url": ":memory:"})
    with open_store(server_settings) as server:
        assert isinstance(server, ServerStore)


def test_upsert_count_scroll_round_trip(store: VectorStore) -> None:
    points = [point(i) for i in range(5)] + [point(0, doc_id="doc-b", library="B")]
    store.upsert(points)
    store.upsert(points[:2])  # idempotent by id
    assert store.count() == 6
    assert store.count(doc_id="doc-a") == 5
    assert store.count(library="B") == 1
    rows = dict(store.scroll(doc_id="doc-a"))
    assert set(rows) == {p.id for p in points[:5]}
    assert rows[points[3].id]["chunk_index"] == 3
    assert rows[points[3].id]["section_path"] == ["1", "1.2"]
    only = store.scroll(doc_id="doc-a", chunk_index=2)
    assert [pid for pid, _ in only] == [points[2].id]
    assert len(store.scroll(limit=3)) == 3
    assert store.scroll(libraries=[]) == []
    assert {p["library"] for _, p in store.scroll(libraries=["B"])} == {"B"}


def test_scroll_pages_past_one_page(store: VectorStore) -> None:
    store.upsert([point(i) for i in range(700)])
    assert len(store.scroll(doc_id="doc-a")) == 700
    assert len(store.scroll(doc_id="doc-a", limit=600)) == 600


def test_library_filter_is_inside_the_query(store: VectorStore) -> None:
    # Library B's points are the *closest* to the query in both channels, so a search that
    # filtered afterwards with limit=3 would return only B and then nothing.
    query_dense = unit(0.0, 1.0)
    b_points = [
        point(i, library="B", doc_id="doc-b", dense=unit(0.01 * i, 1.0), terms=(7, 8))
        for i in range(10)
    ]
    a_points = [
        point(i, library="A", dense=unit(1.0, 0.2 + i * 0.01), terms=(7,)) for i in range(4)
    ]
    store.upsert(b_points + a_points)
    a_ids = {p.id for p in a_points}
    sparse = SparseVec((7, 8), (1.0, 1.0))
    dense_hits = store.dense_query(dense=query_dense, libraries=["A"], limit=3)
    sparse_hits = store.sparse_query(sparse=sparse, libraries=["A"], limit=3)
    hybrid_hits = store.hybrid_query(
        dense=query_dense, sparse=sparse, libraries=["A"], limit=3, prefetch_limit=3
    )
    for hits in (dense_hits, sparse_hits, hybrid_hits):
        assert len(hits) == 3
        assert ids(hits) <= a_ids
        assert all(h.payload["library"] == "A" for h in hits)
    both = store.dense_query(dense=query_dense, libraries=["A", "B"], limit=3)
    assert ids(both) <= {p.id for p in b_points}


def test_empty_libraries_return_nothing(store: VectorStore) -> None:
    store.upsert([point(0, terms=(1,))])
    assert store.dense_query(dense=unit(1.0), libraries=[]) == []
    assert store.sparse_query(sparse=SparseVec((1,), (1.0,)), libraries=[]) == []
    assert store.hybrid_query(dense=unit(1.0), sparse=SparseVec((1,), (1.0,)), libraries=[]) == []


def test_status_filter_and_channel_scores(store: VectorStore) -> None:
    current = point(0, sha="new", dense=unit(1.0), terms=(3,))
    old = point(0, sha="old", status="superseded", dense=unit(1.0, 0.01), terms=(3,))
    store.upsert([current, old])
    hits = store.hybrid_query(dense=unit(1.0), sparse=SparseVec((3,), (1.0,)), libraries=["A"])
    assert [h.id for h in hits] == [current.id]
    assert hits[0].dense_score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].sparse_score is not None and hits[0].sparse_score > 0
    both = store.dense_query(dense=unit(1.0), libraries=["A"], statuses=("current", "superseded"))
    assert ids(both) == {current.id, old.id}
    assert both[0].dense_score == pytest.approx(both[0].score)


def test_sparse_scores_use_idf(store: VectorStore) -> None:
    # Term 1 is in every point, term 2 in one: IDF must rank the rare-term match first.
    common = [point(i, terms=(1,)) for i in range(5)]
    rare = point(9, terms=(1, 2))
    store.upsert([*common, rare])
    hits = store.sparse_query(sparse=SparseVec((1, 2), (1.0, 1.0)), libraries=["A"], limit=6)
    assert hits[0].id == rare.id
    assert hits[0].score > hits[1].score * 2


def test_set_status_by_filter(store: VectorStore) -> None:
    old = [point(i, sha="old") for i in range(3)]
    new = [point(i, sha="new", status="pending") for i in range(3)]
    other = [point(i, doc_id="doc-z", sha="old") for i in range(2)]
    store.upsert(old + new + other)
    # Promote the pending version, then supersede every other version of the document.
    store.set_status(doc_id="doc-a", status="current", content_sha256="new", only_status="pending")
    store.set_status(doc_id="doc-a", status="superseded", exclude_sha256="new")
    assert store.count(doc_id="doc-a", status="current") == 3
    assert store.count(doc_id="doc-a", content_sha256="new", status="current") == 3
    assert store.count(doc_id="doc-a", content_sha256="old", status="superseded") == 3
    assert store.count(doc_id="doc-z", status="current") == 2  # other documents untouched
    # only_status restricts the change to points currently in that status
    store.set_status(doc_id="doc-a", status="pending", only_status="superseded")
    assert store.count(doc_id="doc-a", status="pending") == 3
    assert store.count(doc_id="doc-a", status="current") == 3


def test_points_without_dense_vector_are_found_by_sparse_only(store: VectorStore) -> None:
    # A chunk in a language the model does not cover carries no dense vector (issue #13).
    sparse_only = dataclasses.replace(point(0, doc_id="doc-zh", terms=(4, 5)), dense=None)
    both = point(1, dense=unit(1.0), terms=(4,))
    store.upsert([sparse_only, both])
    assert store.count() == 2
    assert dict(store.scroll(doc_id="doc-zh"))[sparse_only.id]["chunk_index"] == 0
    sparse_hits = store.sparse_query(sparse=SparseVec((4, 5), (1.0, 1.0)), libraries=["A"])
    assert [h.id for h in sparse_hits] == [sparse_only.id, both.id]
    assert ids(store.dense_query(dense=unit(1.0), libraries=["A"], limit=5)) == {both.id}
    hybrid = store.hybrid_query(
        dense=unit(1.0), sparse=SparseVec((5,), (1.0,)), libraries=["A"], limit=5
    )
    by_id = {h.id: h for h in hybrid}
    assert set(by_id) == {sparse_only.id, both.id}
    assert by_id[sparse_only.id].dense_score is None
    assert by_id[sparse_only.id].sparse_score is not None
    assert by_id[both.id].dense_score == pytest.approx(1.0, abs=1e-4)


def test_delete_ids(store: VectorStore) -> None:
    points = [point(i) for i in range(3)]
    store.upsert(points)
    store.delete_ids([points[0].id, points[2].id, str(uuid.uuid4())])
    assert [pid for pid, _ in store.scroll(doc_id="doc-a")] == [points[1].id]
    store.delete_ids([])
    assert store.count() == 1


def test_delete_points_by_filter(store: VectorStore) -> None:
    store.upsert(
        [point(i, sha="old", status="superseded") for i in range(3)]
        + [point(i, sha="new") for i in range(2)]
        + [point(0, doc_id="doc-z")]
    )
    store.delete_points(doc_id="doc-a", status="superseded")
    assert store.count(doc_id="doc-a") == 2
    store.delete_points(doc_id="doc-a", content_sha256="other")
    assert store.count(doc_id="doc-a") == 2
    store.delete_points(doc_id="doc-a")
    assert store.count(doc_id="doc-a") == 0
    assert store.count(doc_id="doc-z") == 1


@pytest.mark.parametrize("kind", BACKENDS)
def test_schema_mismatch_names_models_and_reindex_command(
    kind: str, settings: Settings, tmp_path: Path
) -> None:
    with make_store(kind, settings, tmp_path) as store:
        store.ensure_collection(dense_dim=DIM, model_id=MODEL)
        store.upsert([point(0)])
        store.ensure_collection(dense_dim=DIM, model_id=MODEL)  # same model: fine
        with pytest.raises(StoreSchemaMismatch) as size_err:
            store.ensure_collection(dense_dim=384, model_id="all-MiniLM-L6-v2:384")
        with pytest.raises(StoreSchemaMismatch) as model_err:
            store.ensure_collection(dense_dim=DIM, model_id="other-model:8")
    message = size_err.value.user_message
    assert "test-model:8" in message and "all-MiniLM-L6-v2:384" in message
    assert "384" in message and "8 dimensions" in message
    assert "guidecite reindex" in message
    assert "guidecite ingest PATH --library NAME" in message
    assert "other-model:8" in model_err.value.user_message


def test_edge_persists_across_reopen(settings: Settings) -> None:
    with EdgeStore(settings=settings) as store:
        store.ensure_collection(dense_dim=DIM, model_id=MODEL)
        store.upsert([point(i, terms=(5,)) for i in range(3)])
    assert (settings.qdrant_path / "guidecite.json").is_file()
    with EdgeStore(settings=settings) as reopened:
        assert reopened.count() == 3
        hits = reopened.sparse_query(sparse=SparseVec((5,), (1.0,)), libraries=["A"])
        assert len(hits) == 3
        with pytest.raises(StoreSchemaMismatch):
            reopened.ensure_collection(dense_dim=16, model_id="bigger:16")


def test_edge_reads_before_collection_exists_are_empty(settings: Settings) -> None:
    with EdgeStore(settings=settings) as store:
        assert store.count() == 0
        assert store.scroll() == []
        # Searching a missing index is an error telling what to do, never "nothing relevant".
        with pytest.raises(StoreError) as raised:
            store.dense_query(dense=unit(1.0), libraries=["A"])
        assert "guidecite ingest" in raised.value.user_message


def test_edge_second_open_in_process_is_locked(settings: Settings) -> None:
    with EdgeStore(settings=settings):
        with pytest.raises(StoreLocked) as err:
            EdgeStore(settings=settings)
        assert str(os.getpid()) in err.value.user_message
    with EdgeStore(settings=settings) as again:  # released on close
        assert again.count() == 0


def test_edge_lock_held_by_another_process(settings: Settings) -> None:
    script = textwrap.dedent(
        """
        import sys
        from assistant.config import get_settings
        from assistant.store_edge import EdgeStore
        store = EdgeStore(settings=get_settings())
        print("ready", flush=True)
        sys.stdin.readline()
        store.close()
        """
    )
    # The holder's arguments stand in for another doctor's question (issue #11 item 5).
    secret = "患者张三 身份证号 " + uuid.uuid4().hex
    child = subprocess.Popen(
        [sys.executable, "-c", script, "--holder-marker", secret],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "GUIDECITE_DATA_DIR": str(settings.data_dir)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        holder = read_lock_holder(settings)
        assert holder is not None and holder["pid"] == child.pid
        assert set(holder) == {"pid", "program", "since"}
        assert holder["program"].startswith("python")
        lock_file = settings.data_dir / "qdrant.lock"
        on_disk = lock_file.read_text(encoding="utf-8")
        assert "--holder-marker" not in on_disk and secret not in on_disk
        assert lock_file.stat().st_mode & 0o777 == 0o600
        with pytest.raises(StoreLocked) as err:
            EdgeStore(settings=settings)
        assert f"PID {child.pid} (python" in err.value.user_message
        assert "GUIDECITE_QDRANT_URL" in err.value.user_message
        for text in (err.value.user_message, str(err.value)):
            assert "--holder-marker" not in text and secret not in text
    finally:
        assert child.stdin is not None
        child.stdin.write("\n")
        child.stdin.close()
        child.wait(timeout=60)
    assert read_lock_holder(settings) is None
    with EdgeStore(settings=settings) as store:
        assert store.count() == 0


def test_unreachable_server_is_a_clear_store_error(settings: Settings) -> None:
    url = "http://127.0.0.1:9"
    with pytest.raises(StoreUnavailable) as err:
        ServerStore(settings=settings.model_copy(update={"qdrant_url": url}))
    assert url in err.value.user_message
    assert err.value.exit_code == 4


def test_server_collection_schema_and_metadata(settings: Settings) -> None:
    client = QdrantClient(location=":memory:")
    with ServerStore(client=client, settings=settings) as store:
        store.ensure_collection(dense_dim=DIM, model_id=MODEL)
    info = client.get_collection(settings.retrieval.collection)
    # (local mode drops shard_number/replication_factor, so only the schema is checked here)
    assert info.config.metadata == {"model_id": MODEL, "dense_dim": DIM}
    vectors = info.config.params.vectors
    assert isinstance(vectors, dict) and vectors["dense"].size == DIM
    sparse = info.config.params.sparse_vectors
    assert sparse is not None and sparse["sparse"].modifier is not None
    assert sparse["sparse"].modifier.value == "idf"


PASSAGES = {
    "zh-mp": ("zh", "儿童肺炎支原体肺炎首选大环内酯类抗菌药物治疗，如阿奇霉素，疗程一般为5天。"),
    "zh-flu": ("zh", "流行性感冒的抗病毒治疗可选用奥司他韦，发病48小时内用药效果最佳。"),
    "en-hand": (
        "en",
        "Hand hygiene is the most important measure to prevent infections in clinics.",
    ),
    "en-opioid": ("en", "Opioids should not be considered first-line therapy for chronic pain."),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["edge", "qdrant-memory"])
def test_hybrid_retrieval_with_real_encoders(kind: str, settings: Settings, tmp_path: Path) -> None:
    from assistant.embedding import SparseEncoder, load_dense_embedder

    embedder = load_dense_embedder(settings.embedding)
    sparse = SparseEncoder()
    keys = list(PASSAGES)
    texts = [PASSAGES[k][1] for k in keys]
    dense = embedder.embed_documents(texts)
    points = [
        StorePoint(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
            dense=vec,
            sparse=sparse.encode_document(text),
            payload={"doc_id": key, "library": "hospital", "status": "current", "text": text},
        )
        for key, text, vec in zip(keys, texts, dense, strict=True)
    ]
    with make_store(kind, settings, tmp_path) as store:
        store.ensure_collection(dense_dim=embedder.dim, model_id=embedder.model_id)
        store.upsert(points)

        def top(question: str) -> list[Hit]:
            return store.hybrid_query(
                dense=embedder.embed_query(question),
                sparse=sparse.encode_query(question),
                libraries=["hospital"],
                limit=2,
            )

        zh_hits = top("肺炎支原体感染的儿童用什么抗菌药物？")
        assert zh_hits[0].payload["doc_id"] == "zh-mp"
        # MiniLM is English-only: the Chinese match comes through the lexical channel.
        assert zh_hits[0].sparse_score is not None and zh_hits[0].sparse_score > 0
        sparse_only = store.sparse_query(
            sparse=sparse.encode_query("奥司他韦什么时候用"), libraries=["hospital"], limit=1
        )
        assert sparse_only[0].payload["doc_id"] == "zh-flu"
        en_hits = top("What is the best way to stop infections spreading in a clinic?")
        assert en_hits[0].payload["doc_id"] == "en-hand"
        assert en_hits[0].dense_score is not None and en_hits[0].dense_score > 0.4


def test_edge_lock_error_never_echoes_an_old_lock_files_command_line(settings: Settings) -> None:
    """A lock file written by an older version holds the holder's command line: never shown."""
    secret = f"guidecite ask '患者{uuid.uuid4().hex[:6]} 手机 139{uuid.uuid4().int % 10**8:08d}'"
    lock_file = settings.data_dir / "qdrant.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    old_record = {"pid": 4242, "command": secret, "since": "2026-01-01T00:00:00+00:00"}
    lock_file.write_text(json.dumps(old_record), encoding="utf-8")
    lock_file.chmod(0o644)
    with open(lock_file, "a+", encoding="utf-8") as held:  # another process holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        holder = read_lock_holder(settings)
        assert holder == {"pid": 4242, "since": "2026-01-01T00:00:00+00:00"}
        with pytest.raises(StoreLocked) as err:
            EdgeStore(settings=settings)
    message = err.value.user_message
    assert "PID 4242 (program unknown, since 2026-01-01T00:00:00+00:00)" in message
    assert secret not in message and secret not in str(err.value)
    assert "手机" not in message
    assert lock_file.stat().st_mode & 0o777 == 0o600  # tightened on first touch
