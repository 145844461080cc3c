"""Scripted faithful and unfaithful answers from the SGLang stand-in (issue 7 item 4).

Without a real model, evaluation can still exercise the generative path and the verifier:
- `faithful`: the answer copies the first sentences of the top given source (the lowest source
  number) and cites that source;
- `unfaithful`: the same sentences, but on a share of them every number is changed and the
  citation points to a different source (the last one given).

Which sentences are falsified depends only on the sentence text (a hash), so our pipeline and
the plain LangChain chain receive the same falsifications for the same sources. The responder
answers both request shapes: JSON-schema requests (ours, `assistant.generation`) with the
citation JSON, and plain ones (the baseline chain) with `[n]` markers after each sentence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from assistant.citations import split_sentences
from assistant.language import has_cjk
from eval.standin import Completion, Script, SGLangStandIn, json_completion, read_sources

ScriptedMode = Literal["faithful", "unfaithful"]
SCRIPTED_MODES: tuple[ScriptedMode, ...] = ("faithful", "unfaithful")
GENERATION_CHOICES = ("configured", "standin-faithful", "standin-unfaithful")

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NO_ANSWER = {
    "zh": "现有指南未涵盖该问题。",
    "en": "The sources provided do not answer this question.",
}


def _falsified(text: str, share: float) -> bool:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def change_numbers(text: str) -> str:
    """Every number in the text changed (integers + 1, decimals + 0.5): a wrong dose."""

    def bump(match: re.Match[str]) -> str:
        value = match.group(0)
        if "." in value:
            return f"{float(value) + 0.5:g}"
        return str(int(value) + 1)

    return _NUMBER.sub(bump, text)


def scripted_sentences(
    sources: dict[int, str], *, mode: ScriptedMode, share: float = 0.5, max_sentences: int = 2
) -> list[tuple[str, list[int]]]:
    """The (sentence, citations) pairs the stand-in answers with for these numbered sources."""
    if not sources:
        return []
    top, last = min(sources), max(sources)
    copied = [s.strip() for s in split_sentences(sources[top]) if len(s.strip()) >= 8]
    copied = copied[:max_sentences] or [sources[top].strip()]
    answer = []
    for sentence in copied:
        if mode == "unfaithful" and _falsified(sentence, share):
            answer.append((change_numbers(sentence), [last if last != top else top]))
        else:
            answer.append((sentence, [top]))
    return answer


def scripted_responder(
    mode: ScriptedMode, *, share: float = 0.5, max_sentences: int = 2
) -> Callable[[dict[str, Any]], Script]:
    """A stand-in responder answering every request in `mode` (see the module docstring)."""
    if mode not in SCRIPTED_MODES:
        raise ValueError(f"unknown scripted mode {mode!r}; choose from {', '.join(SCRIPTED_MODES)}")

    def respond(request: dict[str, Any]) -> Script:
        sources = read_sources(request)
        wants_json = (request.get("response_format") or {}).get("type") == "json_schema"
        pairs = scripted_sentences(sources, mode=mode, share=share, max_sentences=max_sentences)
        if wants_json:
            return json_completion(
                {
                    "sentences": [{"text": t, "citations": c} for t, c in pairs],
                    "insufficient_evidence": not pairs,
                }
            )
        if not pairs:
            question = str(request.get("messages", [{}])[-1].get("content", ""))
            return Completion(_NO_ANSWER["zh" if has_cjk(question) else "en"])
        return Completion(" ".join(f"{t} [{c[0]}]" for t, c in pairs))

    return respond


@contextmanager
def scripted_standin(mode: ScriptedMode, *, share: float = 0.5) -> Iterator[SGLangStandIn]:
    """A running stand-in answering in `mode`; closed on exit."""
    server = SGLangStandIn()
    server.responder = scripted_responder(mode, share=share)
    try:
        yield server
    finally:
        server.close()
