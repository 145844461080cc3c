"""Our answers vs the plain LangChain answer chain on the same items (issue 7 item 3).

The plain chain (eval/baselines/langchain_chain.py) has no verifier, so its answers are checked
after the fact with our `assistant.citations.verify_answer` against the sources it was given:
a sentence "cites unsupported content" when it has a citation and the verifier does not find
support in the cited source (wrong source, changed number, no overlap). The same counts are
taken from our shown answers (after our verification and, under `strict`, the extractive
fallback). Without an LLM endpoint the chain cannot answer and nothing is reported for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.citations import parse_citation_markers, split_sentences, verify_answer
from assistant.config import LLMSettings
from assistant.embedding import DenseEmbedder
from assistant.store import VectorStore
from eval.items import EvalItem

NOT_RUN = "not run (no LLM endpoint)"
Similarity = Callable[[str, str], float]


@dataclass
class ChainRow:
    """One answer's sentence and citation counts (ours or the plain chain's)."""

    id: str
    language: str
    out_of_scope: bool
    answered: bool
    sentences: int = 0
    cited_sentences: int = 0
    supported_sentences: int = 0
    citations: int = 0
    supported_citations: int = 0
    latency_ms: float = 0.0

    @property
    def unsupported_cited(self) -> int:
        """Sentences that cite a source which does not support them."""
        return self.cited_sentences - self.supported_sentences


def parse_plain_answer(text: str) -> list[tuple[str, list[int]]]:
    """Sentences of a free-text answer with the `[n]` markers each one carries."""
    pairs = []
    for sentence in split_sentences(text, lead_ins_apart=False):
        body, numbers = parse_citation_markers(sentence)
        if body.strip():
            pairs.append((body.strip(), numbers))
    return pairs


def score_sentences(
    row: ChainRow,
    pairs: Sequence[tuple[str, Sequence[int]]],
    sources: dict[int, str],
    *,
    similarity: Similarity | None,
) -> ChainRow:
    """Fill `row` with the verifier's verdicts on (sentence, citations) pairs."""
    verdicts = verify_answer(pairs, sources, similarity=similarity)
    for (_, cites), verdict in zip(pairs, verdicts, strict=True):
        row.sentences += 1
        if cites:
            row.cited_sentences += 1
            row.supported_sentences += int(verdict.supported)
            row.citations += len(cites)
            row.supported_citations += len(cites) if verdict.supported else 0
    return row


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 2)


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarise(rows: list[ChainRow]) -> dict[str, Any]:
    """Latency p50/p95, citation precision/recall and unsupported-sentence counts."""
    answered = [r for r in rows if r.answered]
    latencies = [r.latency_ms for r in rows]
    return {
        "n_items": len(rows),
        "answered": len(answered),
        "answered_out_of_scope": sum(1 for r in answered if r.out_of_scope),
        "sentences": sum(r.sentences for r in rows),
        "unsupported_cited_sentences": sum(r.unsupported_cited for r in rows),
        "uncited_sentences": sum(r.sentences - r.cited_sentences for r in rows),
        "citations": {
            "precision": _ratio(
                sum(r.supported_citations for r in rows), sum(r.citations for r in rows)
            ),
            "recall": _ratio(
                sum(r.supported_sentences for r in rows), sum(r.sentences for r in rows)
            ),
        },
        "latency_ms": {"p50": _percentile(latencies, 0.5), "p95": _percentile(latencies, 0.95)},
    }


def index_points(store: VectorStore, *, embedder: DenseEmbedder) -> list[tuple[list[float], str]]:
    """The index's current chunks with their dense vectors (the same model re-embeds them)."""
    texts = [str(payload.get("text", "")) for _, payload in store.scroll(status="current")]
    return list(zip(embedder.embed_documents(texts), texts, strict=True))


def run_plain_chain(
    items: Sequence[EvalItem],
    *,
    store: VectorStore,
    embedder: DenseEmbedder,
    llm: LLMSettings,
    similarity: Similarity | None,
    k: int = 5,
) -> list[ChainRow]:
    """Ask every item through the plain chain over the same chunks; verify after the fact."""
    from eval.baselines.langchain_chain import PlainAnswerChain, qdrant_retriever

    points = index_points(store, embedder=embedder)
    if not points:
        return []
    chain = PlainAnswerChain(qdrant_retriever(points, embedder=embedder, k=k), llm=llm)
    rows = []
    for item in items:
        reply = chain.answer(item.question)
        pairs = parse_plain_answer(reply.text)
        row = ChainRow(
            id=item.id,
            language=item.language,
            out_of_scope=item.out_of_scope,
            answered=any(cites for _, cites in pairs),
            latency_ms=reply.latency_ms,
        )
        rows.append(score_sentences(row, pairs, reply.sources, similarity=similarity))
    return rows


def compare(ours: list[ChainRow], plain: list[ChainRow] | None, *, generation: str) -> dict:
    """The comparison block of details.json and report.md."""
    return {
        "generation": generation,
        "ours": summarise(ours),
        "plain_chain": summarise(plain) if plain is not None else NOT_RUN,
    }
