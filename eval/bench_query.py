"""Query-path benchmark without the LLM (issue 7 item 7).

Measured side by side in one process, over the same chunks:
- `guidecite_retrieve`: our retriever (query embedding, dense + sparse with in-query library and
  status filters, RRF, near-duplicate collapse, relevance test);
- `guidecite_answer`: the whole compliance wrapper without a model — access check, redaction,
  retrieval, extractive answer, citation verification, flags and the hash-chained audit append;
- `plain_chain`: what a hand-written chain does over the same store — embed the query, one dense
  search, no filter, no checks;
- `langchain_qdrant`: LangChain `QdrantVectorStore.similarity_search` on qdrant-client's local
  mode with the same vectors (the DESIGN.md §8 stand-in for a server).
Synthetic sizes fill a collection with random unit vectors and sampled corpus terms: search cost
depends on the collection size, not on what the vectors mean, and embedding 10k–100k texts on
a CPU would take longer than the benchmark. 100k is opt-in (`--synthetic 100000`), not in CI.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.embedding import DenseEmbedder, SparseEncoder, load_dense_embedder
from assistant.store import StorePoint, VectorStore, open_store
from eval.baselines.langchain_query import langchain_store
from eval.corpora import DEFAULT_CACHE_DIR, Corpus, build_index, guideline_corpus
from eval.golden import load_golden

Timed = Callable[[str], object]


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"p50": pick(0.5), "p95": pick(0.95), "n": len(ordered)}


def time_queries(run: Timed, questions: Sequence[str], *, warmup: int = 3) -> dict[str, float]:
    """p50/p95 milliseconds of `run` over the questions (after a few warm-up calls)."""
    for question in questions[:warmup]:
        run(question)
    elapsed = []
    for question in questions:
        started = time.perf_counter()
        run(question)
        elapsed.append((time.perf_counter() - started) * 1000)
    return _percentiles(elapsed)


def _random_unit(dim: int, rng: random.Random) -> list[float]:
    v = [rng.gauss(0, 1) for _ in range(dim)]
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def _rss_mb() -> float:
    """Resident set size of this process now (Linux /proc; else the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def fill_synthetic(
    store: VectorStore,
    *,
    size: int,
    dim: int,
    model_id: str,
    vocabulary: list[str],
    seed: int = 7,
    stats: dict[str, Any] | None = None,
) -> list[tuple[list[float], str]]:
    """Write `size` synthetic chunks (random vectors, sampled terms); returns vectors + texts.

    `stats`, when given, receives the write figures (issue 15, scale path): seconds in
    `store.upsert` (batches of 1000) and in the final optimise, points per second through
    upsert, and this process's RSS before, after and at its peak.
    """
    rss_before = _rss_mb()
    upsert_s = 0.0
    started = time.perf_counter()
    rng = random.Random(seed)
    sparse = SparseEncoder()
    store.ensure_collection(dense_dim=dim, model_id=model_id)
    made: list[tuple[list[float], str]] = []
    batch: list[StorePoint] = []
    for i in range(size):
        text = " ".join(rng.choices(vocabulary, k=40))
        vector = _random_unit(dim, rng)
        payload = {
            "doc_id": f"synthetic-{i // 50}",
            "version": "1",
            "title": f"synthetic {i // 50}",
            "library": "hospital",
            "status": "current",
            "language": "en",
            "chunk_index": i % 50,
            "text": text,
            "section_path": [],
        }
        batch.append(
            StorePoint(
                id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"synthetic/{i}")),
                dense=vector,
                sparse=sparse.encode_document(text),
                payload=payload,
            )
        )
        made.append((vector, text))
        if len(batch) == 1000:
            t0 = time.perf_counter()
            store.upsert(batch)
            upsert_s += time.perf_counter() - t0
            batch = []
    if batch:
        t0 = time.perf_counter()
        store.upsert(batch)
        upsert_s += time.perf_counter() - t0
    t0 = time.perf_counter()
    store.optimize()
    optimize_s = time.perf_counter() - t0
    if stats is not None:
        rss_after = _rss_mb()
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rss_after)
        stats.update(
            {
                "points": size,
                "total_s": round(time.perf_counter() - started, 2),
                "upsert_s": round(upsert_s, 2),
                "optimize_s": round(optimize_s, 2),
                "upsert_points_per_s": round(size / upsert_s, 1) if upsert_s else None,
                "points_per_s_with_optimize": round(size / (upsert_s + optimize_s), 1)
                if upsert_s + optimize_s
                else None,
                "rss_before_mb": round(rss_before, 1),
                "rss_after_mb": round(rss_after, 1),
                "peak_rss_mb": round(peak, 1),
                "load_average_1m": round(os.getloadavg()[0], 2),
            }
        )
    return made


def _measure(
    store: VectorStore,
    *,
    settings: Settings,
    embedder: DenseEmbedder,
    questions: list[str],
    lc_points: list[tuple[list[float], str]],
    with_answer: bool,
) -> dict[str, Any]:
    from assistant.access import AccessControl
    from assistant.audit.log import open_audit_log
    from assistant.service.ask import answer_question
    from assistant.service.context import Context
    from eval.harness import PRINCIPALS, grant_eval_users

    ctx = Context(
        settings=settings,
        store=store,
        embedder=embedder,
        access=AccessControl.open(settings),
        audit=open_audit_log(settings),
    )
    grant_eval_users(ctx.access)
    retriever = ctx.retriever
    out: dict[str, Any] = {
        "guidecite_retrieve": time_queries(
            lambda q: retriever.retrieve(q, libraries=["hospital"]), questions
        ),
        "plain_chain": time_queries(
            lambda q: store.dense_query(
                dense=embedder.embed_query(q), libraries=["hospital"], limit=10
            ),
            questions,
        ),
    }
    if with_answer:
        out["guidecite_answer"] = time_queries(
            lambda q: answer_question(PRINCIPALS["doctor"], q, ctx=ctx), questions
        )
    lc = langchain_store(lc_points, embedder=embedder)
    out["langchain_qdrant"] = time_queries(lambda q: lc.similarity_search(q, k=10), questions)
    base = out["plain_chain"]["p50"]
    out["ratio_p50_retrieve_vs_plain"] = round(out["guidecite_retrieve"]["p50"] / base, 2)
    out["ratio_p50_langchain_vs_plain"] = round(out["langchain_qdrant"]["p50"] / base, 2)
    if with_answer:
        out["wrapper_overhead_p50_ms"] = round(out["guidecite_answer"]["p50"] - base, 2)
        out["ratio_p50_answer_vs_plain"] = round(out["guidecite_answer"]["p50"] / base, 2)
    return out


def run_query_benchmark(
    *,
    settings: Settings,
    sizes: Sequence[int] = (10_000,),
    n_queries: int = 50,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    corpus: Corpus | None = None,
    embedder: DenseEmbedder | None = None,
) -> dict[str, Any]:
    """Latencies at corpus size and at each synthetic size, with ratios to the plain chain.

    `corpus` defaults to the shipped guidelines; `guidecite bench --quick` passes a small one.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = embedder or load_dense_embedder(settings.embedding)
    questions = [g.question for g in load_golden()][:n_queries]
    index_dir = build_index(
        corpus or guideline_corpus(), settings=settings, embedder=embedder, cache_dir=cache_dir
    )
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "queries": len(questions),
    }
    with tempfile.TemporaryDirectory(prefix="guidecite-bench-") as tmp:
        run_settings = settings.model_copy(
            update={"data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        )
        store = open_store(settings.model_copy(update={"data_dir": index_dir}))
        try:
            # The store hands back payloads only; the baseline gets the same texts re-embedded.
            texts = [str(payload.get("text", "")) for _, payload in store.scroll(status="current")]
            chunks = list(zip(embedder.embed_documents(texts), texts, strict=True))
            measured = _measure(
                store,
                settings=run_settings,
                embedder=embedder,
                questions=questions,
                lc_points=chunks,
                with_answer=True,
            )
        finally:
            store.close()
        result["corpus"] = {"chunks": len(chunks), **measured}
        vocabulary = sorted({w for _, t in chunks for w in t.split() if w.isalpha()})[:20_000]
        for size in sizes:
            data = Path(tmp) / f"synthetic-{size}"
            store = open_store(settings.model_copy(update={"data_dir": data}))
            try:
                write: dict[str, Any] = {}
                made = fill_synthetic(
                    store,
                    size=size,
                    dim=embedder.dim,
                    model_id=embedder.model_id,
                    vocabulary=vocabulary or ["word"],
                    stats=write,
                )
                result[f"synthetic_{size}"] = {
                    "chunks": size,
                    "write": write,
                    **_measure(
                        store,
                        settings=run_settings,
                        embedder=embedder,
                        questions=questions,
                        lc_points=made,
                        with_answer=False,
                    ),
                }
            finally:
                store.close()
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def format_markdown(result: dict[str, Any]) -> str:
    """The benchmark as a markdown table (p50/p95 ms) with the ratios."""
    lines = [
        f"Query path without the LLM ({result['machine']}, {result['queries']} golden questions)",
        "",
        "| collection | chunks | pipeline | p50 ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    for key, block in result.items():
        if not isinstance(block, dict) or "chunks" not in block:
            continue
        for name in ("plain_chain", "guidecite_retrieve", "guidecite_answer", "langchain_qdrant"):
            if name in block:
                m = block[name]
                lines.append(f"| {key} | {block['chunks']} | {name} | {m['p50']} | {m['p95']} |")
        ratios = {k: v for k, v in block.items() if k.startswith(("ratio", "wrapper"))}
        lines.append(f"| {key} | | ratios | {ratios} | |")
    for key, block in result.items():
        write = block.get("write") if isinstance(block, dict) else None
        if write:
            lines.append(
                f"\n{key} write: {write['points']} points, upsert {write['upsert_s']} s "
                f"({write['upsert_points_per_s']} points/s), optimise {write['optimize_s']} s, "
                f"RSS {write['rss_before_mb']} → {write['rss_after_mb']} MB "
                f"(peak {write['peak_rss_mb']} MB), load average {write['load_average_1m']}"
            )
    lines += ["", f"peak RSS {result['peak_rss_mb']} MB"]
    return "\n".join(lines)
