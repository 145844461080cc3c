"""A stand-in for SGLang: a real HTTP server speaking the OpenAI chat-completions protocol.

It answers `POST /v1/chat/completions` (JSON and SSE streaming), `GET /v1/models` and
`GET /health` the way SGLang does (`reasoning_content` when the request carries
`separate_reasoning: true`, `response_format` json_schema, SGLang's error body), records every
request body, and is scripted per caller:

    server.enqueue(Completion("Aspirin 75 mg daily [1]."), HttpError(500))
    server.responder = lambda request: json_completion({...})

Scripts are consumed in order; when the queue is empty the `responder` answers (by default
`cite_first_source`, which copies the first sentence of source [1] and cites it). Faults:
`HttpError(500)`, `rate_limited()`, `reject_json_schema = True` (HTTP 400 to json_schema
requests), `Slow(seconds)`, `NonJson()`, `StreamCut(...)`, `citations_out_of_range(...)`,
`schema_violating()`.

It lives in `eval/` because the benchmarks and `guidecite eval run --generation standin-*`
start it without an LLM (issue 7 item 4); the tests' fixtures are in tests/fakes/sglang.py.
Scripted faithful and unfaithful answers for evaluation are in eval/scripted.py.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"


@dataclass(frozen=True)
class Completion:
    """A successful answer.

    `reasoning` goes into `reasoning_content` when the request asks for `separate_reasoning`
    (SGLang's deepseek-r1 parser), otherwise it is sent inline as a `<think>…</think>` prefix of
    the content; `inline_think=True` forces the inline form (a server started without the parser).
    """

    content: str = ""
    reasoning: str | None = None
    inline_think: bool = False
    finish_reason: str = "stop"
    chunk_chars: int = 5  # characters per SSE content delta when streaming


@dataclass(frozen=True)
class HttpError:
    """An HTTP error with SGLang's error body; `retry_after` sets the Retry-After header."""

    status: int
    message: str = "Internal server error"
    retry_after: str | None = None


@dataclass(frozen=True)
class Slow:
    """Wait `seconds` before answering (longer than the client timeout → a timeout)."""

    seconds: float
    then: Completion | None = None


@dataclass(frozen=True)
class NonJson:
    """A 200 response whose body is not JSON (a proxy's HTML error page)."""

    body: str = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    content_type: str = "text/html"


@dataclass(frozen=True)
class StreamCut:
    """Start an SSE stream, send `after_chunks` content deltas, then drop the connection.

    On a non-streaming request the connection is dropped after part of the JSON body.
    """

    content: str = "The recommended dose is 75 mg once daily [1]."
    after_chunks: int = 2
    chunk_chars: int = 5


Script = Completion | HttpError | Slow | NonJson | StreamCut
Responder = Callable[[dict[str, Any]], Script]


def rate_limited(retry_after: str = "1") -> HttpError:
    """HTTP 429 with a Retry-After header (seconds)."""
    return HttpError(429, "Too many requests", retry_after=retry_after)


def json_completion(payload: Any, *, reasoning: str | None = None) -> Completion:
    """A completion whose content is `payload` serialised as JSON."""
    return Completion(json.dumps(payload, ensure_ascii=False), reasoning=reasoning)


def citations_out_of_range(numbers: Sequence[int] = (99,)) -> Completion:
    """Schema-shaped JSON citing source numbers that were never given."""
    return json_completion(
        {
            "sentences": [{"text": "Give 300 mg immediately.", "citations": list(numbers)}],
            "insufficient_evidence": False,
        }
    )


def schema_violating() -> Completion:
    """Valid JSON that does not match the citation schema."""
    return json_completion({"answer": "Give 300 mg immediately.", "sources": "1"})


_SOURCE_BLOCK = re.compile(r'<source n="(\d+)">\s*\n[^\n]*\n(.*?)\n\s*</source>', re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s")


def read_sources(request: dict[str, Any]) -> dict[int, str]:
    """The numbered source texts in a request built by `assistant.prompts`."""
    text = "\n".join(
        m.get("content") or "" for m in request.get("messages", []) if m.get("role") == "user"
    )
    return {int(n): body.strip() for n, body in _SOURCE_BLOCK.findall(text)}


def schema_enum(request: dict[str, Any]) -> list[int] | None:
    """The citation numbers allowed by the request's json_schema, if it sent one."""
    fmt = request.get("response_format") or {}
    if fmt.get("type") != "json_schema":
        return None
    schema = fmt["json_schema"]["schema"]
    items = schema["properties"]["sentences"]["items"]["properties"]["citations"]["items"]
    return list(items.get("enum", []))


_ASKS_NUMBER = re.compile(r"多少|几|剂量|用量|dose|dosage|how (?:much|many|long|often)", re.I)
_AMOUNT = re.compile(r"\d\s*(?:mg|ml|mL|μg|%|天|小时|days?|hours?)(?![a-z])")
_QUESTION_BLOCK = re.compile(r"<question>\s*\n(.*?)\n\s*</question>", re.DOTALL)


def _question(request: dict[str, Any]) -> str:
    text = "\n".join(m.get("content") or "" for m in request.get("messages", []))
    found = _QUESTION_BLOCK.search(text)
    return found.group(1).strip() if found else ""


def _closest_sentences(body: str, question: str) -> list[str]:
    """The sentence sharing most character pairs with the question (the first on a tie), as a
    faithful model would quote the part of its source that answers; with the sentence before
    it when that one names what the question asks about and the answer does not ("奥司他韦：…"
    before "成人剂量每次75mg…"), as a model names the subject of what it quotes."""
    sentences = [s.strip() for s in _SENTENCE_END.split(body) if s.strip()] or [body.strip()]
    wanted = {question[i : i + 2] for i in range(len(question) - 1)}

    numbers = bool(_ASKS_NUMBER.search(question))

    def pairs(sentence: str) -> set[str]:
        return wanted & {sentence[i : i + 2] for i in range(len(sentence) - 1)}

    def shared(sentence: str) -> int:
        return len(pairs(sentence)) + (5 if numbers and _AMOUNT.search(sentence) else 0)

    best = max(range(len(sentences)), key=lambda i: (shared(sentences[i]), -i))
    if best > 0 and len(pairs(sentences[best - 1]) - pairs(sentences[best])) >= _NAMING_PAIRS:
        return [sentences[best - 1], sentences[best]]
    return [sentences[best]]


# Character pairs of the question the sentence before must add to be taken along (a name).
_NAMING_PAIRS = 3


def cite_first_source(request: dict[str, Any]) -> Script:
    """Default responder: copy the first source's sentence closest to the question, cite it."""
    sources = read_sources(request)
    wants_json = schema_enum(request) is not None
    if not sources:
        if wants_json:
            return json_completion({"sentences": [], "insufficient_evidence": True})
        return Completion("The sources provided do not answer this question.")
    n = min(sources)
    quoted = _closest_sentences(sources[n], _question(request))
    if wants_json:
        return json_completion(
            {
                "sentences": [{"text": text, "citations": [n]} for text in quoted],
                "insufficient_evidence": False,
            },
            reasoning="The first source answers the question.",
        )
    return Completion(
        " ".join(f"{text} [{n}]" for text in quoted),
        reasoning="The first source answers the question.",
    )


class SGLangStandIn:
    """The scripted server; `base_url` is `http://127.0.0.1:PORT/v1`."""

    def __init__(self, *, model: str = DEFAULT_MODEL) -> None:
        self.model = model
        self.requests: list[dict[str, Any]] = []  # parsed bodies of chat-completion requests
        self.request_times: list[float] = []
        self.paths: list[str] = []  # "METHOD /path" of every request, in order
        self.responder: Responder = cite_first_source
        self.reject_json_schema = False
        self.healthy = True
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.stand_in = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="sglang-stand-in",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:PORT` (where `/health` lives)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, as `GUIDECITE_LLM__BASE_URL` expects it."""
        return f"{self.root_url}/v1"

    def enqueue(self, *scripts: Script) -> None:
        """Queue responses for the next chat-completion requests, in order."""
        with self._lock:
            self._queue.extend(scripts)

    def close(self) -> None:
        """Stop serving, wake any sleeping handler and release the port."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SGLangStandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- used by the handler --------------------------------------------------------------
    def _record(self, path: str, body: dict[str, Any] | None) -> None:
        with self._lock:
            self.paths.append(path)
            if body is not None:
                self.requests.append(body)
                self.request_times.append(time.monotonic())

    def _next_script(self, request: dict[str, Any]) -> Script:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(request)

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is closing; True when it slept the whole time."""
        return not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    """The HTTP server, holding its stand-in for the handlers."""

    daemon_threads = True
    request_queue_size = 128  # the load test opens many connections at once (issue 9 item 5)
    stand_in: SGLangStandIn

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up (timeouts, keep-alive resets); report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked SSE, so a dropped stream is detectable
    server_version = "SGLangStandIn/0.1"

    @property
    def stand_in(self) -> SGLangStandIn:
        assert isinstance(self.server, _Server)
        return self.server.stand_in

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: pytest output should not fill with access logs."""

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.stand_in._record(f"GET {self.path}", None)
        if self.path == "/health":
            if self.stand_in.healthy:
                self._send_json(200, {})
            else:
                self._send_error(503, "Server is not ready")
        elif self.path == "/v1/models":
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": [
                        {
                            "id": self.stand_in.model,
                            "object": "model",
                            "created": int(time.time()),
                            "owned_by": "sglang",
                            "root": self.stand_in.model,
                        }
                    ],
                },
            )
        else:
            self._send_error(404, f"Not found: {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            self.stand_in._record(f"POST {self.path}", None)
            self._send_error(404, f"Not found: {self.path}")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self.stand_in._record(f"POST {self.path}", {"_unparsable": raw.decode("latin-1")})
            self._send_error(400, "Request body is not JSON")
            return
        self.stand_in._record(f"POST {self.path}", body)
        if not isinstance(body, dict) or not body.get("messages"):
            self._send_error(400, "messages is required")
            return
        fmt = body.get("response_format") or {}
        if self.stand_in.reject_json_schema and fmt.get("type") == "json_schema":
            # What an OpenAI-compatible server without a grammar backend answers.
            self._send_error(400, "response_format json_schema is not supported")
            return
        self._play(self.stand_in._next_script(body), body)

    # -- scripts --------------------------------------------------------------------------
    def _play(self, script: Script, body: dict[str, Any]) -> None:
        if isinstance(script, Slow):
            if not self.stand_in._sleep(script.seconds):
                self.close_connection = True
                return
            script_after: Script = script.then or Completion("Late answer [1].")
            self._play_safely(script_after, body)
            return
        self._play_safely(script, body)

    def _play_safely(self, script: Script, body: dict[str, Any]) -> None:
        try:
            if isinstance(script, HttpError):
                headers = {"Retry-After": script.retry_after} if script.retry_after else {}
                self._send_error(script.status, script.message, headers=headers)
            elif isinstance(script, NonJson):
                self._send_raw(200, script.body.encode(), content_type=script.content_type)
            elif isinstance(script, StreamCut):
                self._play_cut(script, body)
            elif isinstance(script, Completion):
                if body.get("stream"):
                    self._stream(script, body)
                else:
                    self._send_json(200, self._completion_body(script, body))
            else:  # a Slow inside a Slow
                self._play(script, body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout); nothing left to answer.
            self.close_connection = True

    def _split_reasoning(self, script: Completion, body: dict[str, Any]) -> tuple[str, str | None]:
        if script.reasoning is None:
            return script.content, None
        if body.get("separate_reasoning") and not script.inline_think:
            return script.content, script.reasoning
        return f"<think>{script.reasoning}</think>\n\n{script.content}", None

    def _completion_body(self, script: Completion, body: dict[str, Any]) -> dict[str, Any]:
        content, reasoning = self._split_reasoning(script, body)
        prompt_tokens = sum(len(str(m.get("content", ""))) // 4 for m in body["messages"])
        completion_tokens = max(1, len(content) // 4)
        return {
            "id": uuid.uuid4().hex,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.stand_in.model),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "reasoning_content": reasoning,
                        "tool_calls": None,
                    },
                    "logprobs": None,
                    "finish_reason": script.finish_reason,
                    "matched_stop": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": None,
            },
        }

    def _chunk(self, body: dict[str, Any], *, delta: dict[str, Any], finish: str | None) -> bytes:
        payload = {
            "id": "stand-in",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", self.stand_in.model),
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            "usage": None,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()

    def _stream_events(self, script: Completion, body: dict[str, Any]) -> Iterator[bytes]:
        content, reasoning = self._split_reasoning(script, body)
        size = max(1, script.chunk_chars)
        yield self._chunk(body, delta={"role": "assistant", "content": ""}, finish=None)
        for i in range(0, len(reasoning or ""), size):
            yield self._chunk(
                body, delta={"reasoning_content": (reasoning or "")[i : i + size]}, finish=None
            )
        for i in range(0, len(content), size):
            yield self._chunk(body, delta={"content": content[i : i + size]}, finish=None)
        yield self._chunk(body, delta={}, finish=script.finish_reason)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._completion_body(script, body)["usage"]
            tail = {
                "id": "stand-in",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": body.get("model", self.stand_in.model),
                "choices": [],
                "usage": usage,
            }
            yield f"data: {json.dumps(tail)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, script: Completion, body: dict[str, Any]) -> None:
        self._start_sse()
        for event in self._stream_events(script, body):
            self._write_chunk(event)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _play_cut(self, script: StreamCut, body: dict[str, Any]) -> None:
        self.close_connection = True
        if not body.get("stream"):
            full = json.dumps(self._completion_body(Completion(script.content), body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(full)))
            self.end_headers()
            self.wfile.write(full[: len(full) // 2])
            self.wfile.flush()
            return
        self._start_sse()
        events = self._stream_events(
            Completion(script.content, chunk_chars=script.chunk_chars), body
        )
        for _ in range(script.after_chunks + 1):  # +1: the role chunk comes first
            self._write_chunk(next(events))
        # No terminating zero-length chunk: the client sees the body end mid-stream.

    # -- plain responses ------------------------------------------------------------------
    def _send_raw(
        self,
        status: int,
        data: bytes,
        *,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_json(
        self, status: int, payload: Any, *, headers: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self._send_raw(status, data, content_type="application/json", headers=headers)

    def _send_error(
        self, status: int, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        # SGLang's ErrorResponse shape.
        kind = "BadRequestError" if status < 500 else "InternalServerError"
        payload = {
            "object": "error",
            "message": message,
            "type": kind,
            "param": None,
            "code": status,
        }
        self._send_json(status, payload, headers=headers)
