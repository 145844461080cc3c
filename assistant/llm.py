"""The chat model: DeepSeek served by SGLang through its OpenAI-compatible API.

Every LangChain and OpenAI type stays inside this module; callers get `ModelReply` and
`StreamEvent`, and every failure becomes `ModelCallError` with a `code` (issue 3 items 2, 3, 11;
issue 9 item 1). Logs carry codes, statuses and sizes, never prompt or answer text.
"""

from __future__ import annotations

import importlib
import json
import logging
import random
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import jsonschema
import openai
from langchain_core.messages import AIMessage, BaseMessage, BaseMessageChunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI

from assistant.config import LLMSettings
from assistant.errors import ConfigError, ModelCallError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_ROLES = {"system", "user", "assistant"}
# Retry-After longer than this is not waited for: a doctor is waiting; fall back instead.
_MAX_RETRY_WAIT_S = 10.0
_BACKOFF_S = 0.5
# A retry that would have less than this left of the call's budget is not started.
_MIN_ATTEMPT_S = 0.2


def _httpx_errors(name: str) -> tuple[type[BaseException], ...]:
    """One exception class from httpx2 and httpx, whichever are installed."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx2", "httpx"):  # openai >=3 uses httpx2, older releases httpx
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found.append(getattr(module, name))
    return tuple(found)


# Transport errors escape the OpenAI client while a stream is being read.
_TRANSPORT_ERRORS = _httpx_errors("TransportError")
_TIMEOUT_ERRORS = (TimeoutError, openai.APITimeoutError, *_httpx_errors("TimeoutException"))
# The server accepted the request and then dropped the connection before the answer ended.
_CUT_ERRORS = _httpx_errors("RemoteProtocolError") + _httpx_errors("ReadError")

# What a doctor or admin reads when generation fails (shown instead of a traceback).
_REASONS: dict[str, tuple[str, str]] = {
    "llm_connection": ("the model server cannot be reached", "无法连接模型服务"),
    "llm_timeout": ("the model server did not answer in time", "模型服务响应超时"),
    "llm_rate_limited": ("the model server is busy", "模型服务繁忙"),
    "llm_stream_cut": ("the model server stopped mid-answer", "模型服务在回答中途中断"),
    "llm_bad_response": (
        "the model server sent an unreadable reply",
        "模型服务返回了无法解析的内容",
    ),
    "llm_schema_violation": (
        "the model's answer was not in the required cited format",
        "模型的回答不符合要求的引用格式",
    ),
    "llm_citation_out_of_range": (
        "the model cited sources it was not given",
        "模型引用了未提供的来源",
    ),
    "llm_truncated": (
        "the model's answer was cut off at the length limit",
        "模型回答超出长度上限被截断",
    ),
    "llm_bad_request": ("the model server rejected the request", "模型服务拒绝了请求"),
    "llm_auth": ("the model server refused our credentials", "模型服务拒绝了访问凭据"),
    "llm_not_found": ("the configured model is not served there", "模型服务上没有所配置的模型"),
}


def _user_message(code: str) -> str:
    en, zh = _REASONS.get(code, ("the model server failed", "模型服务出错"))
    return f"Answer generation is unavailable right now ({en}). 暂时无法生成回答（{zh}）。"


def _error(code: str, detail: str, *, retryable: bool, status: int | None = None) -> ModelCallError:
    """Build the one error type callers see; `detail` must not contain prompt or answer text."""
    logger.warning("model call failed: code=%s status=%s detail=%s", code, status, detail)
    return ModelCallError(
        f"{code}: {detail}", code=code, user_message=_user_message(code), retryable=retryable
    )


@dataclass(frozen=True)
class ModelReply:
    """One finished model answer."""

    content: str  # answer text with any <think>…</think> removed
    reasoning: str | None  # reasoning_content or the stripped <think> text: audit only, never shown
    model: str
    structured: dict[str, Any] | None  # parsed JSON when json_schema mode succeeded
    used_schema: bool  # False when the server rejected json_schema and we fell back to plain text
    usage: dict[str, int] = field(default_factory=dict)  # prompt/completion/total tokens
    finish_reason: str | None = None  # "stop", or "length" when max_tokens cut plain text off


@dataclass(frozen=True)
class StreamEvent:
    """One piece of a streamed answer: reasoning text, answer text, or the end."""

    kind: Literal["reasoning", "content", "done"]
    text: str = ""
    finish_reason: str | None = None  # set on "done"


# -- reasoning split ----------------------------------------------------------------------
_THINK_BLOCK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_OPEN, _CLOSE = "<think>", "</think>"


def split_think(text: str) -> tuple[str, str | None]:
    """Split inline `<think>…</think>` reasoning off an answer: (content, reasoning or None)."""
    parts = [m.strip() for m in _THINK_BLOCK.findall(text)]
    content = _THINK_BLOCK.sub("", text)
    if _CLOSE in content and _OPEN not in content:
        # DeepSeek-R1's chat template opens <think> in the prompt, so only the close appears.
        head, _, content = content.partition(_CLOSE)
        parts.insert(0, head.strip())
    reasoning = "\n\n".join(p for p in parts if p)
    return content.strip(), (reasoning or None)


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class _ThinkSplitter:
    """Route streamed content that starts with `<think>` to reasoning until `</think>`."""

    def __init__(self) -> None:
        self._state: Literal["start", "think", "content"] = "start"
        self._buffer = ""
        self._skip_space = False

    def feed(self, text: str) -> list[tuple[Literal["reasoning", "content"], str]]:
        self._buffer += text
        out: list[tuple[Literal["reasoning", "content"], str]] = []
        while self._buffer:
            if self._state == "start":
                head = self._buffer.lstrip()
                if head.startswith(_OPEN):
                    self._buffer = head[len(_OPEN) :]
                    self._state = "think"
                elif _OPEN.startswith(head):
                    return out  # maybe the beginning of "<think>": wait for more
                else:
                    self._state = "content"
            elif self._state == "think":
                idx = self._buffer.find(_CLOSE)
                if idx >= 0:
                    if idx:
                        out.append(("reasoning", self._buffer[:idx]))
                    self._buffer = self._buffer[idx + len(_CLOSE) :]
                    self._state, self._skip_space = "content", True
                    continue
                keep = _partial_suffix(self._buffer, _CLOSE)
                ready = self._buffer[: len(self._buffer) - keep]
                if ready:
                    out.append(("reasoning", ready))
                self._buffer = self._buffer[len(ready) :]
                return out
            else:
                if self._skip_space:
                    self._buffer = self._buffer.lstrip()
                    if not self._buffer:
                        return out
                    self._skip_space = False
                out.append(("content", self._buffer))
                self._buffer = ""
        return out

    def flush(self) -> list[tuple[Literal["reasoning", "content"], str]]:
        rest, self._buffer = self._buffer, ""
        if not rest:
            return []
        return [("reasoning" if self._state == "think" else "content", rest)]


# -- the LangChain adapter ----------------------------------------------------------------
class _SGLangChatOpenAI(ChatOpenAI):
    """ChatOpenAI that keeps SGLang's `reasoning_content`, which stock ChatOpenAI drops."""

    def _create_chat_result(
        self,
        response: dict[str, Any] | openai.BaseModel,
        generation_info: dict[str, Any] | None = None,
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        if isinstance(response, dict):
            choices = response.get("choices") or []
            message: Any = choices[0].get("message", {}) if choices else {}
            reasoning = message.get("reasoning_content")
        else:
            choices = getattr(response, "choices", None) or []
            reasoning = getattr(choices[0].message, "reasoning_content", None) if choices else None
        if reasoning and result.generations:
            result.generations[0].message.additional_kwargs["reasoning_content"] = reasoning
        return result

    def _convert_chunk_to_generation_chunk(
        self,
        chunk: dict[str, Any],
        default_chunk_class: type,
        base_generation_info: dict[str, Any] | None,
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        choices = chunk.get("choices") or []
        delta = (choices[0].get("delta") or {}) if choices else {}
        if generation is not None and delta.get("reasoning_content"):
            generation.message.additional_kwargs["reasoning_content"] = delta["reasoning_content"]
        return generation


def citation_schema(source_numbers: Sequence[int]) -> dict[str, Any]:
    """Strict JSON Schema whose citations can only be the given source numbers (issue 3 item 3)."""
    numbers = sorted({int(n) for n in source_numbers})
    citation: dict[str, Any] = {"type": "integer", "enum": numbers}
    return {
        "type": "object",
        "properties": {
            "sentences": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "citations": {"type": "array", "items": citation, "minItems": 1},
                    },
                    "required": ["text", "citations"],
                    "additionalProperties": False,
                },
            },
            "insufficient_evidence": {"type": "boolean"},
        },
        "required": ["sentences", "insufficient_evidence"],
        "additionalProperties": False,
    }


def _to_langchain(messages: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    for role, _ in messages:
        if role not in _ROLES:
            raise ValueError(f"unknown message role {role!r}; use system, user or assistant")
    return list(messages)


def _usage(message: BaseMessage) -> dict[str, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    return {
        "prompt_tokens": int(meta.get("input_tokens", 0)),
        "completion_tokens": int(meta.get("output_tokens", 0)),
        "total_tokens": int(meta.get("total_tokens", 0)),
    }


def _text(message: BaseMessage | BaseMessageChunk) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)


def _status(exc: openai.APIStatusError) -> int:
    return int(getattr(exc, "status_code", 0) or 0)


def _retry_after(exc: openai.APIStatusError) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; SGLang and proxies send those)."""
    try:
        value = exc.response.headers.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True when `exc` or anything in its cause/context chain is one of `kinds`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kinds):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _translate(exc: BaseException, *, streaming: bool = False) -> ModelCallError:
    """Map any client-side failure to ModelCallError; never let a raw library error escape."""
    name = type(exc).__name__
    if isinstance(exc, ModelCallError):
        return exc
    if isinstance(exc, _TIMEOUT_ERRORS):
        return _error("llm_timeout", name, retryable=True)
    if isinstance(exc, (openai.APIConnectionError, ConnectionError, *_TRANSPORT_ERRORS)):
        cut = streaming or _caused_by(exc, _CUT_ERRORS)
        return _error("llm_stream_cut" if cut else "llm_connection", name, retryable=True)
    if isinstance(exc, openai.RateLimitError):
        return _error("llm_rate_limited", name, retryable=True, status=429)
    if isinstance(exc, openai.APIStatusError):
        status = _status(exc)
        if status >= 500:
            return _error(f"llm_http_{status}", name, retryable=True, status=status)
        if status in (401, 403):
            return _error("llm_auth", name, retryable=False, status=status)
        if status == 404:
            return _error("llm_not_found", name, retryable=False, status=status)
        if status == 400:
            return _error("llm_bad_request", name, retryable=False, status=status)
        return _error(f"llm_http_{status}", name, retryable=status in (408, 409), status=status)
    if isinstance(exc, openai.LengthFinishReasonError):
        return _error("llm_truncated", name, retryable=False)
    # APIResponseValidationError, and the ValueError/TypeError/KeyError LangChain raises for a
    # body that is not a chat completion (HTML error page, garbage).
    return _error("llm_bad_response", name, retryable=False)


class ChatModel:
    """The configured chat model; one instance may serve many requests."""

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.base_url.strip():
            raise ConfigError(
                "GUIDECITE_LLM__BASE_URL is empty: no chat model is configured",
                user_message="No language model is configured (GUIDECITE_LLM__BASE_URL); "
                "answers are extractive.",
            )
        self._settings = settings
        self._base_url = settings.base_url.strip().rstrip("/")
        self._client = _SGLangChatOpenAI(
            model=settings.model,
            base_url=self._base_url,
            api_key=settings.api_key,
            # Each request gets what is left of the call's budget (see _with_retries).
            timeout=settings.timeout_s,
            # Retries are ours (see _with_retries): bounded, within the budget, Retry-After capped.
            max_retries=0,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,  # sent as max_completion_tokens
            # Some OpenAI-compatible servers ignore max_completion_tokens (issue 3 item 11);
            # separate_reasoning asks SGLang's deepseek-r1 parser for reasoning_content.
            extra_body={"max_tokens": settings.max_tokens, "separate_reasoning": True},
            stream_usage=True,
            use_responses_api=False,
        )

    @property
    def model(self) -> str:
        """The model name sent with each request."""
        return self._settings.model

    # -- calls ----------------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[tuple[str, str]],
        *,
        json_schema: dict[str, Any] | None = None,
        schema_name: str = "answer",
    ) -> ModelReply:
        """Ask once; with `json_schema`, request strict structured output and validate it.

        The whole call — retries and the plain-text fallback included — ends within
        `timeout_s` (issue #11 item 8: one retry made a 3 s timeout cost 6.4 s).
        """
        lc_messages = _to_langchain(messages)
        deadline = time.monotonic() + self._settings.timeout_s
        if json_schema is None:
            return self._reply(self._invoke(lc_messages, None, deadline=deadline), schema=None)
        response_format = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": json_schema, "strict": True},
        }
        try:
            message = self._invoke(lc_messages, response_format, deadline=deadline)
        except ModelCallError as exc:
            if exc.code != "llm_bad_request":
                raise
            # The server cannot do json_schema (HTTP 400): fall back once to plain text with
            # [n] markers, which the caller parses and verifies (issue 3 item 3).
            logger.warning("model rejected json_schema; retrying once as plain text")
            return self._reply(self._invoke(lc_messages, None, deadline=deadline), schema=None)
        return self._reply(message, schema=json_schema)

    def stream(self, messages: Sequence[tuple[str, str]]) -> Iterator[StreamEvent]:
        """Stream the answer as reasoning and content events, ending with one "done" event.

        The stream must end within `timeout_s` of the call: a server that keeps sending slowly
        is cut off at the budget (checked at each chunk), one that stalls by the read timeout.
        """
        lc_messages = _to_langchain(messages)
        splitter = _ThinkSplitter()
        finish_reason: str | None = None
        chunks = 0
        started = time.monotonic()
        deadline = started + self._settings.timeout_s
        try:
            for chunk in self._client.stream(lc_messages, timeout=self._settings.timeout_s):
                if time.monotonic() > deadline:
                    raise _error(
                        "llm_timeout",
                        f"stream exceeded {self._settings.timeout_s:g}s after {chunks} chunks",
                        retryable=True,
                    )
                chunks += 1
                reasoning = chunk.additional_kwargs.get("reasoning_content")
                if reasoning:
                    yield StreamEvent("reasoning", str(reasoning))
                text = _text(chunk)
                for kind, piece in splitter.feed(text) if text else []:
                    yield StreamEvent(kind, piece)
                finish_reason = chunk.response_metadata.get("finish_reason") or finish_reason
        except Exception as exc:  # the adapter edge: nothing raw escapes
            raise _translate(exc, streaming=chunks > 0) from exc
        for kind, piece in splitter.flush():
            yield StreamEvent(kind, piece)
        if finish_reason is None:
            # A stream that ends without a finish_reason was cut (proxy or server restart).
            raise _error(
                "llm_stream_cut",
                f"stream ended after {chunks} chunks without finish_reason",
                retryable=True,
            )
        logger.info(
            "model stream done: chunks=%d finish=%s ms=%.0f",
            chunks,
            finish_reason,
            (time.monotonic() - started) * 1000,
        )
        yield StreamEvent("done", finish_reason=finish_reason)

    def health(self) -> bool:
        """True when the server's /health answers 200 (SGLang: the model is loaded)."""
        root = re.sub(r"/v1$", "", self._base_url)
        if not root.startswith(("http://", "https://")):
            return False
        request = urllib.request.Request(f"{root}/health", method="GET")  # noqa: S310 - scheme checked
        try:
            timeout = min(5.0, self._settings.timeout_s)
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    # -- internals ------------------------------------------------------------------------
    def _invoke(
        self,
        messages: list[tuple[str, str]],
        response_format: dict[str, Any] | None,
        *,
        deadline: float,
    ) -> AIMessage:
        kwargs: dict[str, Any] = {}
        if response_format is not None:
            kwargs["response_format"] = response_format

        def call(timeout_s: float) -> AIMessage:
            # `timeout` reaches the OpenAI client as this request's timeout.
            result = self._client.invoke(messages, timeout=timeout_s, **kwargs)
            if not isinstance(result, AIMessage):
                raise TypeError(f"unexpected message type {type(result).__name__}")
            return result

        return self._with_retries(call, deadline=deadline)

    def _with_retries(self, call: Callable[[float], _T], *, deadline: float) -> _T:
        """Run `call(timeout_s)`, retrying 429/5xx/timeouts/connection errors up to max_retries
        times, each try and each wait within what is left until `deadline`."""
        attempt = 0
        while True:
            started = time.monotonic()
            remaining = deadline - started
            if remaining <= 0:
                raise _error(
                    "llm_timeout", f"budget of {self._settings.timeout_s:g}s spent", retryable=True
                )
            try:
                result = call(remaining)
            except Exception as exc:  # the adapter edge: nothing raw escapes
                error = _translate(exc)
                wait = self._retry_wait(exc, error=error, attempt=attempt)
                left = deadline - time.monotonic()
                if wait is None or left - wait < _MIN_ATTEMPT_S:
                    if wait is not None:
                        logger.info(
                            "not retrying model call: code=%s left_s=%.2f", error.code, left
                        )
                    raise error from exc
                attempt += 1
                logger.info(
                    "retrying model call: code=%s attempt=%d wait_s=%.2f", error.code, attempt, wait
                )
                time.sleep(wait)
                continue
            logger.info(
                "model call done: attempt=%d ms=%.0f",
                attempt + 1,
                (time.monotonic() - started) * 1000,
            )
            return result

    def _retry_wait(
        self, exc: BaseException, *, error: ModelCallError, attempt: int
    ) -> float | None:
        """Seconds to wait before the next try, or None when we should not retry."""
        if not error.retryable or attempt >= self._settings.max_retries:
            return None
        if isinstance(exc, openai.APIStatusError):
            after = _retry_after(exc)
            if after is not None:
                # Honour Retry-After, but a wait longer than the cap is a failure now (and one
                # that leaves no budget is refused by the caller).
                return after if after <= _MAX_RETRY_WAIT_S else None
        backoff = _BACKOFF_S * (2**attempt)
        return min(backoff * (1 - 0.25 * random.random()), _MAX_RETRY_WAIT_S)  # noqa: S311

    def _reply(self, message: AIMessage, *, schema: dict[str, Any] | None) -> ModelReply:
        content, inline_reasoning = split_think(_text(message))
        separate = message.additional_kwargs.get("reasoning_content")
        reasoning = "\n\n".join(str(part) for part in (separate, inline_reasoning) if part) or None
        meta = message.response_metadata
        finish_reason = meta.get("finish_reason")
        structured = None
        if schema is not None:
            structured = _parse_structured(content, schema)
        return ModelReply(
            content=content,
            reasoning=reasoning,
            model=str(meta.get("model_name") or self._settings.model),
            structured=structured,
            used_schema=schema is not None,
            usage=_usage(message),
            finish_reason=str(finish_reason) if finish_reason else None,
        )


def _parse_structured(content: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Parse and validate a json_schema answer; errors name paths, never the answer text."""
    text = content.strip()
    if text.startswith("```"):
        # Some servers wrap JSON in a Markdown fence even in json_schema mode.
        text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text)
    try:
        data = json.loads(text)
    except ValueError:
        raise _error(
            "llm_schema_violation", f"answer is not JSON ({len(text)} chars)", retryable=False
        ) from None
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        if not isinstance(data, dict):  # only reachable with a caller's non-object schema
            raise _error("llm_schema_violation", "answer is not a JSON object", retryable=False)
        return data
    paths = ["/".join(str(p) for p in e.absolute_path) or "<root>" for e in errors[:5]]
    if all(e.validator == "enum" and "citations" in e.absolute_path for e in errors):
        raise _error(
            "llm_citation_out_of_range",
            f"citations not among the given sources at {paths}",
            retryable=False,
        ) from None
    kinds = sorted({str(e.validator) for e in errors})
    raise _error(
        "llm_schema_violation",
        f"{len(errors)} schema errors ({kinds}) at {paths}",
        retryable=False,
    ) from None
