"""Hybrid retrieval: dense + sparse in one Qdrant query, language-aware (issue #3 items 1, 6).

The packaged MiniLM is English-only (zh–en similarity ≈ 0.03), so for a query in a language the
dense model does not cover, the dense channel only adds noise to RRF (measured on the golden
questions: Chinese recall@5 0.55 with RRF against 0.66 sparse-only). Such queries use the
lexical channel alone; queries in a covered language use RRF of both (plain RRF beat weighted
RRF and score-normalised fusion on the English golden questions, so Qdrant's fusion is kept).
Libraries and status are always filtered inside the Qdrant query (DESIGN.md §1).

Relevance (refusal) uses raw channel evidence, never RRF scores, which are only ranks: the best
dense cosine where the model covers the language, and the lexical strength — the best BM25
score divided by what the query's terms could score at most (number of terms × the score of a
term found in one passage). Raw BM25 grows with question length and with the collection's
size (IDF); the strength does neither, so one threshold serves a two-document test index and
the whole hospital library. Thresholds are calibrated on the golden in-scope vs out-of-scope
questions (`python -m eval.retrieval_eval`).
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
from assistant.embedding import (
    NGRAM_PREFIX,
    DenseEmbedder,
    SparseEncoder,
    bm25_max_term_score,
)
from assistant.prompts import detect_language
from assistant.store import Hit, VectorStore

Channel = Literal["hybrid", "dense", "sparse"]
# How long a counted collection size is reused for the lexical-strength bound.
_SIZE_TTL_S = 60.0


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
    lexical_strength: float | None = None


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
        self._size: tuple[int, float] | None = None

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
        # Equal scores (RRF ranks, repeated passages) come back in the store's internal order,
        # which depends on how points were written; the id breaks ties so that the same
        # question over the same index always shows the same sources in the same order.
        hits.sort(key=lambda h: (-h.score, str(h.id)))
        hits = collapse_near_duplicates(hits)[:k]
        sources = [to_source(n, hit) for n, hit in enumerate(hits, start=1)]
        best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=None)
        best_sparse = max(
            (h.sparse_score for h in hits if h.sparse_score is not None), default=None
        )
        strength = self.lexical_strength(query, best_sparse)
        coverage = self.term_coverage(query, [s.text for s in sources[:3]])
        relevant, reasons = self.judge_relevance(
            language=language,
            best_dense=best_dense,
            best_sparse=best_sparse,
            lexical_strength=strength,
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
            lexical_strength=strength,
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

    def lexical_strength(self, query: str, best_sparse: float | None) -> float | None:
        """Best BM25 score as a share (0–1) of the most the query's terms could score."""
        n_terms = len(self.sparse.query_terms(query))
        if best_sparse is None or not n_terms:
            return None
        return best_sparse / (n_terms * bm25_max_term_score(self._collection_size()))

    def _collection_size(self) -> int:
        # IDF is computed over the whole collection, so the bound needs its size; counting is
        # cheap (~0.5 ms on Edge) but a network round trip on a server, hence a short cache.
        now = time.monotonic()
        if self._size is None or now - self._size[1] > _SIZE_TTL_S:
            self._size = (self.store.count(), now)
        return self._size[0]

    def term_coverage(self, query: str, texts: Sequence[str]) -> float:
        """Share of the question's content terms (words and bigrams) found in the given texts.

        Single characters are left out: nearly every passage contains them, so they would make
        any passage look like it covers the question.
        """
        terms = {t for t in self.sparse.query_terms(query) if not _is_single_char_gram(t)}
        if not terms:
            return 0.0
        found: set[str] = set()
        for text in texts:
            found |= terms & set(self.sparse.tokenize(text))
            if found == terms:
                break
        return len(found) / len(terms)

    def judge_relevance(
        self,
        *,
        language: str,
        best_dense: float | None,
        best_sparse: float | None,
        lexical_strength: float | None,
        coverage: float,
        has_hits: bool,
    ) -> tuple[bool, list[str]]:
        """Decide from raw channel scores (RRF scores are only ranks) whether anything answers."""
        cfg = self.settings.retrieval
        if not has_hits:
            return False, ["no_hits"]
        reasons: list[str] = []
        lexical_ok = (
            best_sparse is not None
            and best_sparse >= cfg.min_sparse_score
            and lexical_strength is not None
            and lexical_strength >= cfg.min_lexical_strength
            and coverage >= cfg.min_term_coverage
        )
        if not lexical_ok:
            reasons.append("lexical_below_floor")
        if language not in self.settings.embedding.languages:
            return lexical_ok, reasons
        # The dense model covers this language: it must also find the question close to a
        # passage — on the golden set it separates in- from out-of-scope English questions
        # better than any lexical signal, which alone lets through questions that share words
        # ("vaccine", "dose") with the corpus but not a topic.
        dense_ok = best_dense is not None and best_dense >= cfg.min_dense_score
        if not dense_ok:
            reasons.append("dense_below_floor")
        return dense_ok and lexical_ok, reasons


def _is_single_char_gram(term: str) -> bool:
    return term.startswith(NGRAM_PREFIX) and len(term) == len(NGRAM_PREFIX) + 1


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
