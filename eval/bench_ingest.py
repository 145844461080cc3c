"""Ingestion benchmark: ours vs the LangChain default, each in its own process (issues #2, #13).

Fair by construction: both sides read the same files of the same corpus, each in a fresh
process, and both wall times include loading the embedding model (the baseline's
HuggingFaceEmbeddings loads it inside the timed call, so ours does too). Chunk settings are
as shipped (ours 200 word pieces, the baseline 500 characters): chunks/s is reported beside
the wall time, but `speedup` is judged by wall time (the LangChain default's / ours).

Several embedding backends can be measured in one run (`--backend torch --backend onnx ...`),
each in its own fresh process, in the order given, with the load average before and after each:
on a shared machine interleaving (torch, onnx, onnx-int8, torch again) shows how much of a
difference is noise. `--recall` adds the golden recall@5 of the index each side built (the
shipped corpus only; measured after the clock stops), so a faster backend is judged with its
quality beside it.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

CORPUS_SUFFIXES = {".pdf", ".txt"}


def corpus_files(corpus: Path) -> list[Path]:
    """The benchmark's input: every guideline PDF and text file of the corpus."""
    return [p for p in sorted(corpus.rglob("*")) if p.suffix.lower() in CORPUS_SUFFIXES]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds (user + system, all threads) of this process so far: on a shared machine
    this moves far less with other people's load than the wall time does."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _golden_recall(settings: Any, embedder: Any, library: str) -> dict[str, float]:
    """recall@5 of the golden questions over the index just built: ours and the dense channel."""
    from assistant.retrieval import HybridRetriever
    from assistant.store import open_store
    from eval.golden import load_golden
    from eval.retrieval_eval import ItemResult, first_hit_rank, retrieval_metrics

    store = open_store(settings)
    try:
        retriever = HybridRetriever(settings, store=store, embedder=embedder)
        figures: dict[str, float] = {}
        for channel in (None, "dense"):
            rows = []
            for item in load_golden():
                result = retriever.retrieve(
                    item.question, libraries=[library], k=10, channel=channel
                )
                rank = first_hit_rank(item, result)
                rows.append(ItemResult.of(item, result, channel=channel or "ours", rank=rank))
            metrics = retrieval_metrics(rows)
            figures[f"{channel or 'ours'}_recall@5"] = metrics["recall@5"]
            same = retrieval_metrics([r for r in rows if not r.cross_lingual])
            figures[f"{channel or 'ours'}_same_language_recall@5"] = same["recall@5"]
    finally:
        store.close()
    return figures


def _ours(corpus: str, queue: Any, backend: str = "", recall: bool = False) -> None:
    from assistant.config import Settings
    from assistant.embedding import load_dense_embedder
    from assistant.store import open_store
    from ingestion.service import Ingestor

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        if backend:
            embedding = settings.embedding.model_copy(update={"backend": backend})
            settings = settings.model_copy(update={"embedding": embedding})
        started, cpu_started = time.perf_counter(), _cpu_s()
        embedder = load_dense_embedder(settings.embedding)
        embedder.count_tokens("warm up")
        embedder.embed_documents(["warm up"])
        load_s = time.perf_counter() - started
        store = open_store(settings)
        report = Ingestor(settings, store=store, embedder=embedder).ingest(
            corpus_files(Path(corpus)), library="bench"
        )
        store.close()  # includes the final optimise and flush: part of ingesting
        total = time.perf_counter() - started
        cpu = _cpu_s() - cpu_started
        peak = _peak_rss_mb()
        golden = _golden_recall(settings, embedder, "bench") if recall else {}
    queue.put(
        {
            **golden,
            "documents": len(report.documents),
            "failed": len(report.failed),
            "pages": report.pages,
            "chunks": report.chunks_added,
            "chunks_dense": report.chunks_dense,
            "backend": settings.embedding.backend,
            "model_load_s": round(load_s, 2),
            "total_s": round(total, 2),
            "cpu_s": round(cpu, 2),
            "parse_s": round(report.timings.parse, 2),
            "embed_s": round(report.timings.embed, 2),
            "upsert_s": round(report.timings.upsert, 2),
            "peak_rss_mb": round(peak, 1),
        }
    )


def _baseline(corpus: str, queue: Any) -> None:
    from assistant.embedding import packaged_model_path
    from eval.baselines.langchain_default import build_default_index

    started, cpu_started = time.perf_counter(), _cpu_s()
    run = build_default_index(corpus_files(Path(corpus)), model_path=packaged_model_path())
    total = time.perf_counter() - started
    queue.put(
        {
            "pages": run.pages,
            "chunks": run.chunks,
            "total_s": round(total, 2),
            "cpu_s": round(_cpu_s() - cpu_started, 2),
            "model_load_s": round(run.model_load_s, 2),
            "parse_s": round(run.parse_s, 2),
            "embed_upsert_s": round(run.embed_upsert_s, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    )


def _in_process(target: Any, corpus: Path, *extra: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(str(corpus), queue, *extra))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def _load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _run_ours(corpus: Path, backend: str, recall: bool) -> dict[str, Any]:
    before = _load_average()
    ours = _in_process(_ours, corpus, backend, recall)
    ours["chunks_per_s"] = round(ours["chunks"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    ours["pages_per_s"] = round(ours["pages"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    ours["load_average_1m"] = before
    ours["load_average_1m_after"] = _load_average()
    return ours


def run_ingest_benchmark(
    corpus: Path,
    *,
    with_baseline: bool = True,
    backend: str = "",
    backends: list[str] | None = None,
    recall: bool = False,
) -> dict[str, Any]:
    """Run ours (and the baseline) on the corpus; returns figures incl. `speedup`.

    `speedup` = the LangChain default's wall seconds / ours, model loading included on both.
    With several `backends`, ours runs once per entry, in order (repeat one to interleave);
    `guidecite` is the first run, `runs` all of them, and `backend_ratios` each run's wall
    seconds against the first run's (< 1 = faster).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    order = list(backends or [backend])
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "load_average_1m": _load_average(),
        "corpus_files": len(corpus_files(corpus)),
    }
    runs = [_run_ours(corpus, name, recall) for name in order]
    ours = runs[0]
    result["guidecite"] = ours
    if len(runs) > 1:
        result["runs"] = runs
        result["backend_ratios"] = [
            {
                "backend": run["backend"],
                "wall_s_vs_first": round(run["total_s"] / ours["total_s"], 2),
                "cpu_s_vs_first": round(run["cpu_s"] / ours["cpu_s"], 2)
                if run.get("cpu_s") and ours.get("cpu_s")
                else None,
                "embed_s_vs_first": round(run["embed_s"] / ours["embed_s"], 2)
                if ours["embed_s"]
                else None,
            }
            for run in runs
        ]
    if with_baseline:
        before = _load_average()
        base = _in_process(_baseline, corpus)
        base["chunks_per_s"] = round(base["chunks"] / base["total_s"], 1)
        base["load_average_1m"] = before
        result["langchain_default"] = base
        result["chunks_per_s_ratio"] = round(ours["chunks_per_s"] / base["chunks_per_s"], 2)
        result["speedup"] = round(base["total_s"] / ours["total_s"], 2) if ours["total_s"] else 0.0
        if ours.get("cpu_s") and base.get("cpu_s"):
            result["cpu_speedup"] = round(base["cpu_s"] / ours["cpu_s"], 2)
        result["speedups"] = [
            {
                "backend": run["backend"],
                "speedup": round(base["total_s"] / run["total_s"], 2) if run["total_s"] else 0.0,
                "cpu_speedup": round(base["cpu_s"] / run["cpu_s"], 2)
                if run.get("cpu_s") and base.get("cpu_s")
                else None,
            }
            for run in runs
        ]
        result["load_average_1m_after"] = _load_average()
    return result


def _our_row(ours: dict[str, Any]) -> str:
    recall = ours.get("ours_recall@5")
    return (
        f"| GuideCite ({ours.get('backend', 'torch')}; {ours.get('chunks_dense', '?')} chunks "
        f"dense) | {ours.get('load_average_1m', '—')} | {ours['chunks']} | {ours['pages']} | "
        f"{ours['total_s']} | {ours.get('cpu_s', '—')} | {ours['chunks_per_s']} | "
        f"{ours['model_load_s']} | "
        f"{ours['parse_s']} | {ours['embed_s']} | {ours['upsert_s']} | {ours['peak_rss_mb']} | "
        f"{'—' if recall is None else recall} | {ours.get('dense_recall@5', '—')} |"
    )


def format_markdown(result: dict[str, Any]) -> str:
    """A small markdown table of the benchmark result (one row per run of ours)."""
    runs = result.get("runs") or [result["guidecite"]]
    lines = [
        f"Ingestion benchmark ({result['machine']}, {result['corpus_files']} files, "
        f"load average {result.get('load_average_1m', '?')}; wall times include model loading)",
        "",
        "| pipeline | load avg | chunks | pages | total s | CPU s | chunks/s | model load s "
        "| parse s | embed s | upsert s | peak MB | golden R@5 | dense R@5 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(_our_row(run) for run in runs),
    ]
    if "langchain_default" in result:
        base = result["langchain_default"]
        lines.append(
            f"| LangChain default | {base.get('load_average_1m', '—')} | {base['chunks']} | "
            f"{base['pages']} | {base['total_s']} | {base.get('cpu_s', '—')} | "
            f"{base['chunks_per_s']} | "
            f"{base.get('model_load_s', '—')} | {base['parse_s']} | "
            f"{base['embed_upsert_s']} (embed+upsert) | — | {base['peak_rss_mb']} | — | — |"
        )
        lines += [
            "",
            f"speedup (LangChain default wall s / GuideCite wall s): {result['speedup']}",
            f"chunks/s ratio GuideCite / LangChain default: {result['chunks_per_s_ratio']}",
            f"CPU-time speedup (LangChain default CPU s / GuideCite CPU s): "
            f"{result.get('cpu_speedup', '—')}",
        ]
        if len(runs) > 1:
            lines.append(
                "speedup per run: "
                + ", ".join(f"{s['backend']} {s['speedup']}" for s in result["speedups"])
            )
    if "backend_ratios" in result:
        lines.append(
            "wall s / first run's: "
            + ", ".join(f"{r['backend']} {r['wall_s_vs_first']}" for r in result["backend_ratios"])
        )
    return "\n".join(lines)
