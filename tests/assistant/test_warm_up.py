"""Context.warm_up: what the first question would wait for is loaded at server start (issue 16
item 6), and a backing service that is down does not keep the app from starting."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from assistant.config import get_settings
from assistant.service.context import open_context
from tests.fakes.embeddings import EmbeddingsStandIn

STEPS = {"retriever", "segmenter", "dense_model", "term_table", "drug_names"}


@pytest.fixture
def embeddings(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddingsStandIn]:
    stand_in = EmbeddingsStandIn()
    monkeypatch.setenv("GUIDECITE_EMBEDDING__BASE_URL", stand_in.base_url)
    monkeypatch.setenv("GUIDECITE_EMBEDDING__MODEL", stand_in.model)
    monkeypatch.setenv("GUIDECITE_EMBEDDING__TIMEOUT_S", "2")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__LANGUAGES", '["multilingual"]')
    try:
        yield stand_in
    finally:
        stand_in.close()


def test_warm_up_loads_every_step_and_calls_the_dense_model_once(
    embeddings: EmbeddingsStandIn,
) -> None:
    context = open_context(get_settings())
    try:
        steps = context.warm_up()
    finally:
        context.close()
    assert set(steps) == STEPS
    assert all(seconds >= 0 for seconds in steps.values())
    # The model was reached before any question: the first question does not load it.
    assert len(embeddings.requests) == 1


def test_warm_up_with_the_embedding_server_down_starts_and_leaves_it_to_the_question(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GUIDECITE_EMBEDDING__BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__MODEL", "bge-m3")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__TIMEOUT_S", "1")
    monkeypatch.setenv("GUIDECITE_EMBEDDING__LANGUAGES", '["multilingual"]')
    context = open_context(get_settings())
    try:
        steps = context.warm_up()
    finally:
        context.close()
    assert set(steps) == STEPS - {"dense_model"}
    assert "warm-up step dense_model failed" in caplog.text
