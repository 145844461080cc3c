"""Build the prompt, call the model with structured output, parse; extractive fallback (issue #3).

The model may only cite the numbers of the sources it was given: the JSON schema's enum makes
any other number impossible at decode time on SGLang (xgrammar). A server that rejects
json_schema gets one plain-text retry whose `[n]` markers are parsed instead. Whatever the model
returns is verified afterwards (assistant/citations.py); when it fails, errors or is not
configured, the answer is the best-matching guideline sentences copied verbatim, each citing its
source — verified by construction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.citations import content_terms, parse_citation_markers, split_sentences
from assistant.domain import AnswerMode, Source
from assistant.errors import ModelCallError
from assistant.llm import ChatModel, citation_schema
from assistant.prompts import build_messages
from assistant.quantities import extract_quantities

logger = logging.getLogger(__name__)

# A question asking "how much / how long / which dose" is answered by a sentence with numbers.
_QUANTITY_QUESTION = re.compile(
    r"剂量|用量|多少|多久|几天|几次|疗程|多长|多大|\bdose|\bdosage|how (?:much|many|long|often)|"
    r"\bmg\b|duration|frequency",
    re.IGNORECASE,
)
_DOSE_QUESTION = re.compile(r"剂量|用量|怎么用|用法|\bdos(?:e|age|ing)\b", re.IGNORECASE)
_DOSE_UNITS = {"mg", "g", "ug", "kg", "ml", "l", "iu", "mg/kg", "mg/kg/d", "mg/(kg·d)"}

DraftSentence = tuple[str, list[int]]


@dataclass
class Draft:
    """A candidate answer before verification."""

    mode: AnswerMode
    sentences: list[DraftSentence]
    insufficient_evidence: bool = False
    model: str | None = None
    reasoning: str | None = None
    used_schema: bool = False
    error_code: str | None = None
    error_message: str | None = None
    usage: dict[str, int] = field(default_factory=dict)


def _quantity_bonus(text: str, *, dose: bool) -> float:
    """Prefer sentences stating numbers (and, for dose questions, amounts of a drug)."""
    quantities = extract_quantities(text)
    if not quantities:
        return 0.0
    if dose and any(q.unit in _DOSE_UNITS for q in quantities):
        return 0.5
    return 0.25


def extractive_sentences(
    question: str, sources: Sequence[Source], *, max_sentences: int = 3
) -> list[DraftSentence]:
    """The source sentences sharing most content terms with the question, verbatim, cited."""
    wanted = content_terms(question)
    wants_numbers = bool(_QUANTITY_QUESTION.search(question))
    wants_dose = bool(_DOSE_QUESTION.search(question))
    scored: list[tuple[float, int, int, str, int]] = []
    for rank, source in enumerate(sources):
        for position, sentence in enumerate(split_sentences(source.text)):
            text = sentence.strip()
            if len(text) < 8:
                continue
            terms = content_terms(text)
            overlap = len(wanted & terms) / len(wanted) if wanted else 0.0
            if wants_numbers and overlap > 0:
                overlap += _quantity_bonus(text, dose=wants_dose)
            # Earlier (better-ranked) sources win ties.
            scored.append((overlap - rank * 0.01, rank, position, text, source.n))
    scored.sort(key=lambda item: item[0], reverse=True)
    chosen = [item for item in scored if item[0] > 0][:max_sentences] or scored[:1]
    # Present them in document order: source rank, then position in the passage.
    chosen.sort(key=lambda item: (item[1], item[2]))
    return [(text, [n]) for _, _, _, text, n in chosen]


def extractive_draft(
    question: str,
    sources: Sequence[Source],
    *,
    error: ModelCallError | None = None,
    error_code: str | None = None,
) -> Draft:
    """An extractive answer, noting the generation failure it replaces, if any."""
    return Draft(
        mode=AnswerMode.EXTRACTIVE,
        sentences=extractive_sentences(question, sources),
        error_code=error.code if error else error_code,
        error_message=error.user_message if error else None,
    )


def generate_draft(
    question: str,
    sources: Sequence[Source],
    *,
    chat: ChatModel | None,
    language: Literal["zh", "en"],
) -> Draft:
    """Ask the model for a cited answer; fall back to extraction on any failure."""
    if chat is None or not sources:
        return extractive_draft(question, sources)
    numbers = [s.n for s in sources]
    messages = build_messages(question, sources, language=language)
    try:
        reply = chat.complete(messages, json_schema=citation_schema(numbers))
    except ModelCallError as exc:
        logger.warning("generation failed (%s); answering extractively", exc.code)
        return extractive_draft(question, sources, error=exc)
    if reply.structured is not None:
        sentences, insufficient = parse_structured(reply.structured)
    else:
        sentences, insufficient = parse_plain_text(reply.content)
    given = set(numbers)
    if any(n not in given for _, cites in sentences for n in cites):
        return extractive_draft(question, sources, error_code="llm_citation_out_of_range")
    if not sentences and not insufficient:
        return extractive_draft(question, sources, error_code="llm_empty_answer")
    return Draft(
        mode=AnswerMode.GENERATIVE,
        sentences=sentences,
        insufficient_evidence=insufficient and not sentences,
        model=reply.model,
        reasoning=reply.reasoning,
        used_schema=reply.used_schema,
        usage=dict(reply.usage),
    )


def parse_structured(data: dict[str, Any]) -> tuple[list[DraftSentence], bool]:
    """Sentences and the insufficient-evidence flag from schema-shaped JSON."""
    sentences: list[DraftSentence] = []
    for item in data.get("sentences") or []:
        text, marked = parse_citation_markers(str(item.get("text", "")))
        cites = [int(n) for n in item.get("citations") or [] if isinstance(n, int)]
        text = text.strip()
        if text:
            sentences.append((text, list(dict.fromkeys([*cites, *marked]))))
    return sentences, bool(data.get("insufficient_evidence"))


def parse_plain_text(content: str) -> tuple[list[DraftSentence], bool]:
    """Sentences with `[n]` markers from a plain-text answer (json_schema fallback)."""
    sentences: list[DraftSentence] = []
    for raw in split_sentences(content):
        text, cites = parse_citation_markers(raw)
        if text.strip():
            sentences.append((text.strip(), cites))
    lowered = content.lower()
    insufficient = not sentences or (
        "insufficient evidence" in lowered or "证据不足" in content or "未涵盖" in content
    )
    return sentences, insufficient and not any(c for _, c in sentences)
