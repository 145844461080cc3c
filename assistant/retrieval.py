"""Hybrid retrieval: dense + sparse in one Qdrant query, language-aware (issue #3 item 1).

The packaged MiniLM is English-only (zh–en similarity ≈ 0.03), so for a query in a language the
dense model does not cover, the dense channel only adds noise to RRF (measured on held-out
questions: recall@5 fell from 0.81 sparse-only to 0.67 naive RRF). Such queries use the lexical
channel alone; queries in a covered language use RRF of both. Libraries and status are always
filtered inside the Qdrant query (DESIGN.md §1).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.config import Settings
from assistant.domain import Source
from assistant.embedding import DenseEmbedder, SparseEncoder
from assistant.prompts import detect_language
from assistant.store import Hit, VectorStore

Channel = Literal["hybrid", "dense", "sparse"]


@dataclass
class RetrievalResult:
    """Sources for the model plus the evidence used to decide whether they are relevant."""

    query: str
    language: Literal["zh", "en"]
    channel: Channel
    sources: list[Source]
    relevant: bool
    best_dense: float | None
    best_sparse: float | None
    term_coverage: float
    elapsed_ms: float
    reasons: list[str] = field(default_factory=list)


class HybridRetriever:
    """Search the collection for the passages that answer a question."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: VectorStore,
        embedder: DenseEmbedder,
        sparse: SparseEncoder | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()

    def choose_channel(self, language: str) -> Channel:
        """Hybrid when the dense model covers the query language, else lexical only."""
        return "hybrid" if language in self.settings.embedding.languages else "sparse"

    def retrieve(
        self,
        query: str,
        *,
        libraries: Sequence[str],
        k: int | None = None,
        channel: Channel | None = None,
    ) -> RetrievalResult:
        """Top-k sources from the readable libraries' current documents, with a relevance test."""
        started = time.perf_counter()
        cfg = self.settings.retrieval
        k = k or cfg.top_k
        language = detect_language(query)
        channel = channel or self.choose_channel(language)
        hits = self._query(query, libraries=libraries, k=k, channel=channel)
        hits = collapse_near_duplicates(hits)[:k]
        sources = [to_source(n, hit) for n, hit in enumerate(hits, start=1)]
        best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
        best_sparse = max(
            (h.sparse_score for h in hits if h.sparse_score is not None), default=None
        )
        coverage = self.term_coverage(query, [s.text for s in sources[:3]])
        relevant, reasons = self.judge_relevance(
            language=language,
            best_dense=best_dense,
            best_sparse=best_sparse,
            coverage=coverage,
            has_hits=bool(hits),
        )
        return RetrievalResult(
            query=query,
            language=language,
            channel=channel,
            sources=sources,
            relevant=relevant,
            best_dense=best_dense,
            best_sparse=best_sparse,
            term_coverage=coverage,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            reasons=reasons,
        )

    def _query(
        self, query: str, *, libraries: Sequence[str], k: int, channel: Channel
    ) -> list[Hit]:
        if not libraries:
            return []
        cfg = self.settings.retrieval
        # Ask for more than k so near-duplicate collapsing still leaves k sources.
        limit = k * 2
        if channel == "sparse":
            hits = self.store.sparse_query(
                sparse=self.sparse.encode_query(query), libraries=libraries, limit=limit
            )
            return [
                Hit(id=h.id, score=h.score, payload=h.payload, sparse_score=h.score) for h in hits
            ]
        dense = self.embedder.embed_query(query)
        if channel == "dense":
            hits = self.store.dense_query(dense=dense, libraries=libraries, limit=limit)
            return [
                Hit(id=h.id, score=h.score, payload=h.payload, dense_score=h.score) for h in hits
            ]
        return self.store.hybrid_query(
            dense=dense,
            sparse=self.sparse.encode_query(query),
            libraries=libraries,
            limit=limit,
            prefetch_limit=cfg.prefetch_k,
        )

    def term_coverage(self, query: str, texts: Sequence[str]) -> float:
        """Share of the query's content terms found in the given source texts (length-weighted).

        Longer terms weigh more: they are rarer and carry the question's specific meaning
        (a cheap stand-in for IDF that needs no corpus statistics).
        """
        terms = set(self.sparse.tokenize(query))
        if not terms:
            return 0.0
        found: set[str] = set()
        for text in texts:
            found |= terms & set(self.sparse.tokenize(text))
        total = sum(len(t) for t in terms)
        return sum(len(t) for t in found) / total if total else 0.0

    def judge_relevance(
        self,
        *,
        language: str,
        best_dense: float | None,
        best_sparse: float | None,
        coverage: float,
        has_hits: bool,
    ) -> tuple[bool, list[str]]:
        """Decide from raw channel scores (RRF scores are only ranks) whether anything answers."""
        cfg = self.settings.retrieval
        if not has_hits:
            return False, ["no_hits"]
        reasons: list[str] = []
        dense_ok = (
            language in self.settings.embedding.languages
            and best_dense is not None
            and best_dense >= cfg.min_dense_score
        )
        lexical_ok = (
            best_sparse is not None
            and best_sparse >= cfg.min_sparse_score
            and coverage >= cfg.min_term_coverage
        )
        if not dense_ok:
            reasons.append("dense_below_floor")
        if not lexical_ok:
            reasons.append("lexical_below_floor")
        if language in self.settings.embedding.languages:
            # Both channels can judge: require the dense floor and some lexical support, or a
            # strong lexical match alone.
            relevant = (dense_ok and coverage >= cfg.min_term_coverage / 2) or lexical_ok
        else:
            relevant = lexical_ok
        return relevant, reasons


def collapse_near_duplicates(hits: Sequence[Hit], *, threshold: float = 0.85) -> list[Hit]:
    """Drop hits whose text nearly repeats a better hit (overlapping chunks, re-issued text)."""
    kept: list[Hit] = []
    kept_grams: list[set[str]] = []
    for hit in hits:
        grams = _char_trigrams(str(hit.payload.get("text", "")))
        if any(_jaccard(grams, other) >= threshold for other in kept_grams):
            continue
        kept.append(hit)
        kept_grams.append(grams)
    return kept


def _char_trigrams(text: str) -> set[str]:
    compact = "".join(text.split())
    return {compact[i : i + 3] for i in range(max(len(compact) - 2, 1))}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def to_source(n: int, hit: Hit) -> Source:
    """A store hit as the numbered source shown to the model and the user."""
    payload = hit.payload
    return Source(
        n=n,
        doc_id=str(payload.get("doc_id", "")),
        title=str(payload.get("title", "")),
        version=str(payload.get("version") or ""),
        section=" > ".join(payload.get("section_path") or []),
        page=payload.get("page_start"),
        page_label=payload.get("page_label"),
        library=str(payload.get("library", "")),
        text=str(payload.get("text", "")),
        score=round(float(hit.score), 6),
        chunk_id=hit.id,
        language=payload.get("language"),
        dense_score=hit.dense_score,
        sparse_score=hit.sparse_score,
    )


class GuideCiteRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain `BaseRetriever`, bound to a set of libraries."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    libraries: list[str]
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.hybrid.retrieve(query, libraries=self.libraries, k=self.k)
        return [
            Document(
                page_content=s.text,
                metadata={**s.model_dump(), "chunk_id": s.chunk_id, "relevant": result.relevant},
            )
            for s in result.sources
        ]
