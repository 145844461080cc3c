"""The SGLang stand-in for tests: the server (eval/standin.py) and its pytest fixtures.

The server is a real HTTP server speaking the OpenAI chat-completions protocol the way SGLang
does; it lives in `eval/standin.py` so that the benchmarks and `guidecite eval run --generation
standin-*` can start it without importing test code. Everything is re-exported here, so tests
keep importing from `tests.fakes.sglang`:

    sglang_server.enqueue(Completion("Aspirin 75 mg daily [1]."), HttpError(500))
    sglang_server.responder = lambda request: json_completion({...})

Scripted faithful/unfaithful responders for evaluation: `eval.scripted.scripted_responder`.

Register the fixtures with `pytest_plugins = ["tests.fakes.sglang"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eval.scripted import scripted_responder
from eval.standin import (
    DEFAULT_MODEL,
    Completion,
    HttpError,
    NonJson,
    Responder,
    Script,
    SGLangStandIn,
    Slow,
    StreamCut,
    citations_out_of_range,
    cite_first_source,
    json_completion,
    rate_limited,
    read_sources,
    schema_enum,
    schema_violating,
)

__all__ = [
    "DEFAULT_MODEL",
    "Completion",
    "HttpError",
    "NonJson",
    "Responder",
    "SGLangStandIn",
    "Script",
    "Slow",
    "StreamCut",
    "citations_out_of_range",
    "cite_first_source",
    "json_completion",
    "rate_limited",
    "read_sources",
    "schema_enum",
    "schema_violating",
    "scripted_responder",
    "sglang_env",
    "sglang_server",
]


@pytest.fixture
def sglang_server() -> Iterator[SGLangStandIn]:
    """A fresh stand-in SGLang server for one test, shut down afterwards."""
    server = SGLangStandIn()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def sglang_env(sglang_server: SGLangStandIn, monkeypatch: pytest.MonkeyPatch) -> SGLangStandIn:
    """The stand-in, with GUIDECITE_LLM__BASE_URL pointing at it and short timeouts."""
    monkeypatch.setenv("GUIDECITE_LLM__BASE_URL", sglang_server.base_url)
    monkeypatch.setenv("GUIDECITE_LLM__MODEL", sglang_server.model)
    monkeypatch.setenv("GUIDECITE_LLM__TIMEOUT_S", "2")
    monkeypatch.setenv("GUIDECITE_LLM__MAX_RETRIES", "0")
    return sglang_server
