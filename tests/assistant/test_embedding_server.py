"""GUIDECITE_EMBEDDING__BASE_URL: embeddings from an OpenAI-compatible server (issue #13)."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.config import get_settings
from assistant.embedding import load_dense_embedder
from assistant.errors import ModelCallError
from assistant.store import open_store
from tests.fakes.embeddings import EmbeddingsStandIn
from ui.cli import app

runner = CliRunner()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddingsStandIn]:
    stand_in = EmbeddingsStandIn()
    monkeypatch.setenv("GUIDECITE_EMBEDDING__BASE_URL", stand_in.base_url)
    monkeypatch.setenv("GUIDECITE_EMBEDDING__MODEL", stand_in.model)
    monkeypatch.setenv("GUIDECITE_EMBEDDING__BATCH_SIZE", "3")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__TIMEOUT_S", "2")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__LANGUAGES", '["multilingual"]')
    try:
        yield stand_in
    finally:
        stand_in.close()


def test_server_embedder_batches_and_normalises(server: EmbeddingsStandIn) -> None:
    embedder = load_dense_embedder(get_settings().embedding)
    assert embedder.model_id == "bge-m3-standin:16"
    texts = [f"text number {i} 流感" for i in range(7)]
    vectors = embedder.embed_documents(texts)
    posted = [r for r in server.requests if r["input"] != ["dimension probe"]]
    assert [len(r["input"]) for r in posted] == [3, 3, 1]
    assert all(r["model"] == "bge-m3-standin" for r in posted)
    expected = server.vector(texts[4])
    norm = math.sqrt(sum(x * x for x in expected))
    assert vectors[4] == pytest.approx([x / norm for x in expected])
    assert embedder.count_tokens("hand hygiene") > 0  # chunks still sized locally


def test_ingest_through_the_server_embeds_both_languages(
    server: EmbeddingsStandIn, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "zh.txt").write_text("流感诊疗方案\n\n一、治疗\n奥司他韦成人每次75毫克。\n", "utf-8")
    (folder / "en.txt").write_text("Hand Hygiene\n\n1. Technique\nRub hands 20 seconds.\n", "utf-8")
    result = runner.invoke(app, ["ingest", str(folder), "--library", "hospital", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["documents"]) == 2
    settings = get_settings()
    with open_store(settings) as store:
        payloads = [p for _, p in store.scroll()]
        assert {p["pipeline"]["embedding_backend"] for p in payloads} == {"server"}
        assert all(p["pipeline"]["dense"] for p in payloads)  # multilingual: zh too
        zh_text = next(p["text"] for p in payloads if p["language"] == "zh")
        hits = store.dense_query(
            dense=load_dense_embedder(settings.embedding).embed_query(zh_text),
            libraries=["hospital"],
        )
        assert hits[0].payload["language"] == "zh"
    assert (settings.qdrant_path / "guidecite.json").read_text().count("bge-m3-standin:16")


def test_server_down_or_failing_is_a_clear_error(
    server: EmbeddingsStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server.fail_with = 503
    embedder = load_dense_embedder(get_settings().embedding)
    with pytest.raises(ModelCallError) as failing:
        embedder.embed_documents(["a"])
    assert "HTTP 503" in failing.value.user_message
    assert server.base_url in failing.value.user_message

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GUIDECITE_EMBEDDING__BASE_URL", f"http://127.0.0.1:{port}/v1")
    down = load_dense_embedder(get_settings().embedding)
    with pytest.raises(ModelCallError) as unreachable:
        down.embed_query("a")
    message = unreachable.value.user_message
    assert "unreachable" in message and "GUIDECITE_EMBEDDING__BASE_URL" in message
    doc = tmp_path / "en.txt"
    doc.write_text("Hand Hygiene\n\n1. Technique\nRub hands 20 seconds.\n", "utf-8")
    result = runner.invoke(app, ["ingest", str(doc), "--library", "x"])
    assert result.exit_code == 1  # the file failed, with the reason
    assert f"The embedding server at http://127.0.0.1:{port}/v1 failed" in result.stderr


def test_switching_to_a_model_of_another_size_fails_then_reindex_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "en.txt").write_text("Hand Hygiene\n\n1. Technique\nRub hands 20 seconds.\n", "utf-8")
    assert runner.invoke(app, ["ingest", str(folder), "--library", "hospital"]).exit_code == 0
    settings = get_settings()
    with open_store(settings) as store:
        before = {p["text"] for _, p in store.scroll()}
    stand_in = EmbeddingsStandIn()
    try:
        monkeypatch.setenv("GUIDECITE_EMBEDDING__BASE_URL", stand_in.base_url)
        monkeypatch.setenv("GUIDECITE_EMBEDDING__MODEL", stand_in.model)
        other = tmp_path / "other.txt"
        other.write_text("Glove Use\n\n1. When\nWear gloves for blood contact.\n", "utf-8")
        refused = runner.invoke(app, ["ingest", str(other), "--library", "hospital"])
        assert refused.exit_code == 1
        assert "guidecite reindex" in refused.stderr and "bge-m3-standin:16" in refused.stderr

        rebuilt = runner.invoke(app, ["reindex", "--json"])
        assert rebuilt.exit_code == 0, rebuilt.output
        assert len(json.loads(rebuilt.stdout)["documents"]) == 1
        meta = json.loads((settings.qdrant_path / "guidecite.json").read_text())
        assert meta == {"dense_dim": 16, "model_id": "bge-m3-standin:16"}
        with open_store(settings) as store:
            payloads = [p for _, p in store.scroll()]
        assert {p["text"] for p in payloads} == before
        assert {p["pipeline"]["embedding_model"] for p in payloads} == {"bge-m3-standin:16"}
        assert runner.invoke(app, ["ingest", str(other), "--library", "hospital"]).exit_code == 0
        assert not list(settings.data_dir.glob("qdrant.replaced-*"))
    finally:
        stand_in.close()
