"""The SGLang stand-in itself speaks the protocol: checked with a plain HTTP client."""

from __future__ import annotations

import http.client
import json
import socket
import time
from typing import Any

import jsonschema
import pytest

from assistant.llm import citation_schema
from assistant.prompts import PromptSource, build_messages
from tests.fakes.sglang import (
    Completion,
    HttpError,
    NonJson,
    SGLangStandIn,
    Slow,
    StreamCut,
    citations_out_of_range,
    json_completion,
    rate_limited,
    read_sources,
    schema_violating,
)


def _post(
    server: SGLangStandIn, body: dict[str, Any], *, timeout: float = 5
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    conn.request(
        "POST",
        "/v1/chat/completions",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    return conn.getresponse()


def _get(server: SGLangStandIn, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def _request(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}


def _sse_payloads(raw: bytes) -> list[str]:
    return [
        line.removeprefix("data: ")
        for line in raw.decode().split("\n\n")
        if line.startswith("data: ")
    ]


def test_health_models_and_unknown_path(sglang_server: SGLangStandIn) -> None:
    assert sglang_server.base_url == f"http://127.0.0.1:{sglang_server.port}/v1"
    assert _get(sglang_server, "/health") == (200, {})
    status, models = _get(sglang_server, "/v1/models")
    assert status == 200
    assert [m["id"] for m in models["data"]] == [sglang_server.model]
    sglang_server.healthy = False
    status, body = _get(sglang_server, "/health")
    assert status == 503 and body["object"] == "error"
    assert _get(sglang_server, "/nope")[0] == 404
    assert sglang_server.paths == ["GET /health", "GET /v1/models", "GET /health", "GET /nope"]


def test_json_response_separates_reasoning_only_when_asked(sglang_server: SGLangStandIn) -> None:
    script = Completion("Aspirin 75 mg [1].", reasoning="Source 1 gives the dose.")
    sglang_server.enqueue(script, script)
    separate = json.loads(_post(sglang_server, _request(separate_reasoning=True)).read())
    inline = json.loads(_post(sglang_server, _request()).read())
    message = separate["choices"][0]["message"]
    assert message["content"] == "Aspirin 75 mg [1]."
    assert message["reasoning_content"] == "Source 1 gives the dose."
    assert separate["choices"][0]["finish_reason"] == "stop"
    assert separate["usage"]["total_tokens"] > 0
    inline_message = inline["choices"][0]["message"]
    assert inline_message["reasoning_content"] is None
    assert inline_message["content"].startswith("<think>Source 1 gives the dose.</think>")
    assert [r.get("separate_reasoning") for r in sglang_server.requests] == [True, None]


def test_sse_stream_sends_deltas_then_done(sglang_server: SGLangStandIn) -> None:
    sglang_server.enqueue(
        Completion("氯吡格雷 75 mg 每日一次 [2]。", reasoning="想一想", chunk_chars=3)
    )
    response = _post(
        sglang_server,
        _request(stream=True, separate_reasoning=True, stream_options={"include_usage": True}),
    )
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    payloads = _sse_payloads(response.read())
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == "氯吡格雷 75 mg 每日一次 [2]。"
    assert "".join(d.get("reasoning_content") or "" for d in deltas) == "想一想"
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_stream_cut_drops_the_connection_mid_body(sglang_server: SGLangStandIn) -> None:
    sglang_server.enqueue(StreamCut("abcdefghijklmnop", after_chunks=2, chunk_chars=4))
    response = _post(sglang_server, _request(stream=True))
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    received = _sse_payloads(caught.value.partial)
    assert "[DONE]" not in received
    deltas = [json.loads(p)["choices"][0]["delta"].get("content") for p in received]
    assert deltas == ["", "abcd", "efgh"]


def test_http_faults_carry_sglang_error_bodies(sglang_server: SGLangStandIn) -> None:
    sglang_server.enqueue(HttpError(500), rate_limited("7"), NonJson())
    first = _post(sglang_server, _request())
    assert first.status == 500
    assert json.loads(first.read())["type"] == "InternalServerError"
    second = _post(sglang_server, _request())
    assert second.status == 429 and second.getheader("Retry-After") == "7"
    second.read()
    third = _post(sglang_server, _request())
    assert third.status == 200 and third.getheader("Content-Type") == "text/html"
    with pytest.raises(ValueError):
        json.loads(third.read())


def test_reject_json_schema_only_rejects_structured_requests(sglang_server: SGLangStandIn) -> None:
    sglang_server.reject_json_schema = True
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": citation_schema([1])}}
    rejected = _post(sglang_server, _request(response_format=fmt))
    assert rejected.status == 400
    assert "json_schema" in json.loads(rejected.read())["message"]
    assert _post(sglang_server, _request()).status == 200
    assert len(sglang_server.requests) == 2


def test_queue_order_then_responder_sees_request(sglang_server: SGLangStandIn) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> Completion:
        seen.append(request)
        return Completion(f"echo {request['messages'][-1]['content']}")

    sglang_server.responder = responder
    sglang_server.enqueue(Completion("first"), Completion("second"))
    contents = []
    for text in ("a", "b", "c"):
        body = _request(messages=[{"role": "user", "content": text}])
        reply = json.loads(_post(sglang_server, body).read())
        contents.append(reply["choices"][0]["message"]["content"])
    assert contents == ["first", "second", "echo c"]
    assert [r["messages"][0]["content"] for r in seen] == ["c"]


def test_slow_answer_times_out_the_client_and_close_is_prompt() -> None:
    server = SGLangStandIn()
    server.enqueue(Slow(30))
    with pytest.raises((TimeoutError, socket.timeout)):
        _post(server, _request(), timeout=0.2)
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 3


def test_default_responder_cites_the_first_source(sglang_server: SGLangStandIn) -> None:
    sources = [
        PromptSource(n=3, title="Stroke", text="Give alteplase 0.9 mg/kg. Then monitor."),
        PromptSource(n=5, title="Other", text="Unrelated."),
    ]
    messages = build_messages("dose?", sources, language="en")
    body = _request(
        messages=[{"role": r, "content": c} for r, c in messages],
        separate_reasoning=True,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": citation_schema([3, 5])},
        },
    )
    assert read_sources(body) == {3: "Give alteplase 0.9 mg/kg. Then monitor.", 5: "Unrelated."}
    reply = json.loads(_post(sglang_server, body).read())
    answer = json.loads(reply["choices"][0]["message"]["content"])
    assert answer == {
        "sentences": [{"text": "Give alteplase 0.9 mg/kg.", "citations": [3]}],
        "insufficient_evidence": False,
    }
    jsonschema.validate(answer, citation_schema([3, 5]))


def test_bad_json_scripts_violate_the_citation_schema() -> None:
    schema = citation_schema([1, 2])
    for script in (citations_out_of_range([7]), schema_violating()):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(script.content), schema)
    good = json_completion({"sentences": [], "insufficient_evidence": True})
    jsonschema.validate(json.loads(good.content), schema)
