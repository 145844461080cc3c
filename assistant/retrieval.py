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

import functools
import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.config import Settings
from assistant.domain import Grade, Source
from assistant.embedding import (
    NGRAM_PREFIX,
    DenseEmbedder,
    SparseEncoder,
    bm25_max_term_score,
)
from assistant.glossary import TermTable, is_everyday_word, library_glosses
from assistant.language import detect_language, has_cjk
from assistant.store import RRF_K, Hit, VectorStore
from assistant.term_rarity import TermRarity
from assistant.transliteration import NameMatcher, name_runs, split_english
from assistant.zh_names import gloss_term_start

logger = logging.getLogger(__name__)

Channel = Literal["hybrid", "dense", "sparse"]
# The library profile as ingestion last wrote it (DATA_DIR/library-profile.json); bump the
# format when what it holds changes, so an older file is rebuilt rather than misread.
PROFILE_FILE = "library-profile.json"
# 2: the Chinese runs before INN endings; 3: no everyday-word abbreviations; 4: a gloss keeps
# the code written before its Chinese term (B 病毒) and none of the clause's verbs before it
# (预防乙型肝炎病毒 → 乙型肝炎病毒); 5: the Chinese runs before the INN endings added then
# (-fenib 非尼, -parib 帕利, -ciclib 西利, -tecan 替康, -citabine 他滨, -vudine 夫定). A stored
# profile of another format is rebuilt on first use, so an upgrade needs no re-ingest.
_PROFILE_FORMAT = 5
# How long a counted collection size is reused for the lexical-strength bound.
_SIZE_TTL_S = 60.0
# Sources of a relevant own-language search that stay first when other languages join.
_LEADING = 5
# Passages whose index terms are kept for the relevance test (~2 KB each).
_TERMS_CACHE_SIZE = 2048


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
    # Languages searched (the question's first) and those whose hits made the fused list.
    languages: list[str] = field(default_factory=list)
    cross_lingual: bool = False


@dataclass(frozen=True)
class LibraryProfile:
    """What the indexed library holds: term rarity, its own glosses, languages per library."""

    rarity: TermRarity
    glosses: TermTable
    languages: Mapping[str, frozenset[str]]
    passages: int
    # What the library's Chinese text holds before each INN ending ("莫诺拉韦"), by ending.
    name_runs: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @functools.cached_property
    def names(self) -> NameMatcher:
        """Drug names across scripts, matched against this library's own names."""
        english = [w for w in self.rarity.df if not w.startswith("#") and split_english(w)]
        chinese = frozenset(w for w in self.rarity.df if not w.startswith("#") and has_cjk(w))
        return NameMatcher(
            chinese_runs=self.name_runs, english_words=english, chinese_words=chinese
        )

    def holds(self, term: str) -> bool:
        """Whether some passage of the library holds the term (see `TermRarity.frequency`)."""
        return self.rarity.frequency(term) > 0

    def languages_of(self, libraries: Sequence[str]) -> set[str]:
        """Languages the given libraries hold."""
        return set().union(*(self.languages.get(name, frozenset()) for name in libraries))

    def to_json(self, *, key: Mapping[str, int]) -> dict[str, Any]:
        """The profile as JSON, with the store counts (`key`) it was built at."""
        return {
            "format": _PROFILE_FORMAT,
            "key": dict(key),
            "passages": self.passages,
            "df": dict(self.rarity.df),
            "glosses": {"zh_to_en": self.glosses.zh_to_en, "en_to_zh": self.glosses.en_to_zh},
            "languages": {name: sorted(langs) for name, langs in self.languages.items()},
            "name_runs": {ending: list(runs) for ending, runs in self.name_runs.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LibraryProfile:
        """A profile read back from `to_json`."""
        return cls(
            rarity=TermRarity(data["df"], int(data["passages"])),
            glosses=TermTable(
                zh_to_en=data["glosses"]["zh_to_en"], en_to_zh=data["glosses"]["en_to_zh"]
            ),
            languages={name: frozenset(langs) for name, langs in data["languages"].items()},
            passages=int(data["passages"]),
            name_runs=data["name_runs"],
        )


def profile_key(store: VectorStore) -> dict[str, int]:
    """What a stored profile must match to be the library's: its point counts (all, current)."""
    return {"points": store.count(), "current": store.count(status="current")}


def profile_path(settings: Settings) -> Path:
    """Where ingestion keeps the library profile."""
    return settings.data_dir / PROFILE_FILE


def write_profile(
    settings: Settings, store: VectorStore, *, sparse: SparseEncoder
) -> LibraryProfile:
    """Build the library profile from the current passages and store it (ingestion calls this
    after every change, so the query path only reads it). A failure to write is logged: the
    retriever then builds the profile itself."""
    key = profile_key(store)
    profile = build_profile(store.scroll(status="current"), sparse=sparse)
    path = profile_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(
            json.dumps(profile.to_json(key=key), ensure_ascii=False, separators=(",", ":")),
            encoding="utf-8",
        )
        partial.replace(path)
    except OSError as exc:
        logger.warning("library profile not stored (%s); built at query time", type(exc).__name__)
    return profile


def read_profile(path: Path, *, key: Mapping[str, int]) -> LibraryProfile | None:
    """The stored profile when it was built at these store counts; else None."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _PROFILE_FORMAT or data.get("key") != dict(key):
            return None
        return LibraryProfile.from_json(data)
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
        # (profile, the stored file's mtime, when last checked) and the store counts it matched.
        self._profile: tuple[LibraryProfile, float | None, float] | None = None
        self._key: dict[str, int] = {}
        self._profile_lock = threading.Lock()
        self._terms: dict[str, frozenset[str]] = {}

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
        translations: Mapping[str, str] | None = None,
        translated_by_model: bool = False,
        bag_groups: Mapping[str, int] | None = None,
        names_subject: Callable[[Source], bool] | None = None,
        anchors_held: Callable[[Source], int] | None = None,
    ) -> RetrievalResult:
        """Top-k sources from the readable libraries' current documents, with a relevance test.

        `translations` holds the question in other languages (the term table's or the model's,
        issue #10 item 4). Each language is searched on its own — one mixed query loses the
        minority language's hits — and the lists are fused by rank. A language whose own
        search is judged irrelevant does not take part; when the question's own language finds
        nothing relevant, the other language's hits rank first. `bag_groups`: for a term-table
        translation, how many of the question's terms its words stand for (alternatives of one
        term are one group): its lexical strength is measured against those.
        `names_subject`: whether a passage names the question's main subject. When the
        question's own search found nothing relevant and none of its hits names the subject
        (an English question about a drug only the Chinese guideline names), they take no part.
        `anchors_held`: how many of the question's names a passage names; when languages are
        fused, passages naming more lead whatever their language (a Chinese passage naming one
        of two drugs does not say whether both may be given; an English one naming both may).
        """
        started = time.perf_counter()
        k = k or self.settings.retrieval.top_k
        primary = self._search(query, libraries=libraries, k=k, channel=channel)
        runs = [primary]
        held = self.profile().languages_of(libraries) if translations else set()
        for language, text in (translations or {}).items():
            if language == primary.language or language not in held or not text.strip():
                continue
            # A model's translation is a question: both channels, as for the question itself.
            # The term table's is a bag of terms: when the question's own language already
            # found relevant passages, the lexical channel alone looks for the other language's
            # (a dense query costs an embedding, ~13 ms on 2 cores); when it found nothing, the
            # dense channel joins in (cross-lingual recall@5 on the golden tune half 0.27 with
            # it, lower without).
            dense_too = translated_by_model or not primary.relevant
            other = self._search(
                text,
                libraries=libraries,
                k=k,
                channel=None if dense_too else "sparse",
                language=_language(language),
                groups=None if translated_by_model else (bag_groups or {}).get(language),
            )
            if other.relevant:
                runs.append(other)
        if len(runs) == 1:
            primary.elapsed_ms = (time.perf_counter() - started) * 1000
            primary.languages = [primary.language]
            return primary
        # The question's own language leads unless its search found nothing relevant; then
        # the languages interleave with the others first (a weight below 1 put the whole
        # own-language list after theirs, even its best passage).
        ordered = runs if primary.relevant else [*runs[1:], primary]
        if not primary.relevant and names_subject and not any(map(names_subject, primary.sources)):
            # Nothing relevant in the question's language, and none of it names the subject:
            # those hits can only push the answering passages down.
            ordered = runs[1:]
        fused = fuse_by_rank([r.sources for r in ordered], weights=[1.0] * len(ordered))
        if primary.relevant:
            # The question's own search found relevant passages: its best ones lead, and the
            # other languages' hits join after them (interleaving pushed them down).
            head = primary.sources[:_LEADING]
            held = {s.chunk_id for s in head}
            fused = [*head, *(s for s in fused if s.chunk_id not in held)]
        if anchors_held is not None:
            # Stable: among passages naming as many, the order above holds. Golden set:
            # cross-lingual recall@5 0.705 → 0.796, same-language 0.928 → 0.952.
            fused.sort(key=lambda s: -anchors_held(s))
        fused = fused[:k]
        sources = [s.model_copy(update={"n": n}) for n, s in enumerate(fused, start=1)]
        return RetrievalResult(
            query=query,
            language=primary.language,
            channel=primary.channel,
            sources=sources,
            relevant=True,
            best_dense=primary.best_dense,
            best_sparse=primary.best_sparse,
            term_coverage=primary.term_coverage,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            reasons=primary.reasons,
            lexical_strength=primary.lexical_strength,
            languages=[r.language for r in runs],
            cross_lingual=any(s.language not in (None, primary.language) for s in sources),
        )

    def _search(
        self,
        query: str,
        *,
        libraries: Sequence[str],
        k: int,
        channel: Channel | None,
        language: Literal["zh", "en"] | None = None,
        groups: int | None = None,
    ) -> RetrievalResult:
        """One language's search and relevance judgement (`groups`: see `retrieve`)."""
        started = time.perf_counter()
        language = language or detect_language(query)
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
        strength = self.lexical_strength(query, best_sparse, groups=groups)
        coverage = self.term_coverage(query, [s.text for s in sources[:3]])
        relevant, reasons = self.judge_relevance(
            language=language,
            best_dense=best_dense,
            best_sparse=best_sparse,
            lexical_strength=strength,
            coverage=coverage,
            has_hits=bool(hits),
            dense_searched=channel != "sparse",
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

    def profile(self) -> LibraryProfile:
        """The library's term rarity, glosses and languages, as ingestion stored them.

        Read once from DATA_DIR/library-profile.json and again when ingestion rewrites it (a
        stat per call) or the store's counts no longer match it (checked once a minute). Built
        here only when no stored profile matches — an index written before profiles were
        stored, or by another node (~1.7 s for 3,400 passages on 2 cores), and then stored.
        """
        path = profile_path(self.settings)
        with self._profile_lock:
            now = time.monotonic()
            stamp = _mtime(path)
            if (
                self._profile is not None
                and self._profile[1] == stamp
                and now - self._profile[2] < _SIZE_TTL_S
            ):
                return self._profile[0]
            key = profile_key(self.store)
            if self._profile is not None and self._profile[1] == stamp and self._key == key:
                self._profile = (self._profile[0], stamp, now)
                return self._profile[0]
            profile = read_profile(path, key=key)
            if profile is None:
                profile = write_profile(self.settings, self.store, sparse=self.sparse)
                stamp = _mtime(path)
            self._profile = (profile, stamp, now)
            self._key = key
            return profile

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

    def lexical_strength(
        self, query: str, best_sparse: float | None, *, groups: int | None = None
    ) -> float | None:
        """Best BM25 score as a share (0–1) of the most the query's terms could score; for a
        bag of alternatives, of the most its `groups` (one per question term) could."""
        n_terms = len(self.sparse.query_terms(query))
        if groups:
            n_terms = min(n_terms, groups)
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
            found |= terms & self._passage_terms(text)
            if found == terms:
                break
        return len(found) / len(terms)

    def _passage_terms(self, text: str) -> frozenset[str]:
        # A passage is tokenised once (jieba is most of the query path's CPU): the same top
        # passages come back for both languages of a question and for the next questions.
        terms = self._terms.get(text)
        if terms is None:
            if len(self._terms) >= _TERMS_CACHE_SIZE:
                self._terms.clear()
            terms = self._terms[text] = frozenset(self.sparse.tokenize(text))
        return terms

    def judge_relevance(
        self,
        *,
        language: str,
        best_dense: float | None,
        best_sparse: float | None,
        lexical_strength: float | None,
        coverage: float,
        has_hits: bool,
        dense_searched: bool = True,
    ) -> tuple[bool, list[str]]:
        """Decide from raw channel scores (RRF scores are only ranks) whether anything answers.

        A lexical-only search (`dense_searched` False: the term table's other-language terms
        beside a question whose own search was relevant) is judged on its lexical evidence:
        it has no dense score to fail, and requiring one dropped every such run.
        """
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
        if language not in self.settings.embedding.languages or not dense_searched:
            return lexical_ok, reasons
        # The dense model covers this language: it must also find the question close to a
        # passage — on the golden set it separates in- from out-of-scope English questions
        # better than any lexical signal, which alone lets through questions that share words
        # ("vaccine", "dose") with the corpus but not a topic.
        dense_ok = best_dense is not None and best_dense >= cfg.min_dense_score
        if not dense_ok:
            reasons.append("dense_below_floor")
        return dense_ok and lexical_ok, reasons


def build_profile(
    points: Sequence[tuple[str, dict[str, Any]]], *, sparse: SparseEncoder
) -> LibraryProfile:
    """Document frequencies (over title + section + text), glosses and languages per library."""
    df: Counter[str] = Counter()
    languages: dict[str, set[str]] = {}
    texts: list[str] = []
    for _, payload in points:
        text = str(payload.get("text", ""))
        context = " ".join([str(payload.get("title", "")), *(payload.get("section_path") or [])])
        df.update(set(sparse.tokenize(f"{context}\n{text}")))
        languages.setdefault(str(payload.get("library", "")), set()).add(
            str(payload.get("language") or detect_language(text))
        )
        texts.append(text)
    return LibraryProfile(
        rarity=TermRarity(df, len(points)),
        glosses=library_glosses(texts, is_word=is_everyday_word, term_start=gloss_term_start),
        languages={name: frozenset(langs) for name, langs in languages.items()},
        passages=len(points),
        name_runs=name_runs(texts),
    )


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _language(code: str) -> Literal["zh", "en"]:
    return "zh" if code == "zh" else "en"


def fuse_by_rank(lists: Sequence[Sequence[Source]], *, weights: Sequence[float]) -> list[Source]:
    """Reciprocal-rank fusion of per-language source lists (ties: first list, then chunk id)."""
    scores: dict[str, float] = {}
    first: dict[str, tuple[int, Source]] = {}
    for index, (sources, weight) in enumerate(zip(lists, weights, strict=True)):
        for rank, source in enumerate(sources, start=1):
            key = source.chunk_id or f"{index}:{rank}"
            scores[key] = scores.get(key, 0.0) + weight / (RRF_K + rank)
            first.setdefault(key, (index, source))
    order = sorted(scores, key=lambda key: (-scores[key], first[key][0], key))
    return [first[key][1].model_copy(update={"score": round(scores[key], 6)}) for key in order]


def _is_single_char_gram(term: str) -> bool:
    return term.startswith(NGRAM_PREFIX) and len(term) == len(NGRAM_PREFIX) + 1


def collapse_near_duplicates(hits: Sequence[Hit], *, threshold: float = 0.85) -> list[Hit]:
    """Drop hits whose text nearly repeats a better hit (overlapping chunks, re-issued text)."""
    kept: list[Hit] = []
    kept_grams: list[frozenset[str]] = []
    for hit in hits:
        grams = _char_trigrams(str(hit.payload.get("text", "")))
        if any(_jaccard(grams, other) >= threshold for other in kept_grams):
            continue
        kept.append(hit)
        kept_grams.append(grams)
    return kept


@functools.lru_cache(maxsize=4096)
def _char_trigrams(text: str) -> frozenset[str]:
    compact = "".join(text.split())
    return frozenset(compact[i : i + 3] for i in range(max(len(compact) - 2, 1)))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
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
        grade=grade_of(payload),
        chunk_id=hit.id,
        language=payload.get("language"),
        dense_score=hit.dense_score,
        sparse_score=hit.sparse_score,
        chunk_index=payload.get("chunk_index"),
        item_head=payload.get("item_head") or None,
        effective_date=_stored_date(payload.get("effective_date")),
        ingested_at=_stored_time(payload.get("ingested_at")),
    )


def _stored_date(value: Any) -> date | None:
    """A payload's ISO date (None when absent or unreadable)."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _stored_time(value: Any) -> datetime | None:
    """A payload's ISO timestamp (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def grade_of(payload: Mapping[str, Any]) -> Grade | None:
    """The first grade a chunk's payload states (issue #17 §1); None when none or not recorded."""
    stated = payload.get("grade")
    if not isinstance(stated, list) or not stated or not isinstance(stated[0], dict):
        return None  # chunks ingested before #17 carry no `grade` until `reindex --stale`
    return Grade.model_validate(stated[0])


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
