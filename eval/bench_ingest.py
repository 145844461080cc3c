"""Ingestion benchmark: ours vs the LangChain default, each in its own process (issue #2)."""

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


def _ours(corpus: str, queue: Any) -> None:
    from assistant.config import Settings
    from assistant.embedding import load_dense_embedder
    from assistant.store import open_store
    from ingestion.service import Ingestor

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        t0 = time.perf_counter()
        embedder = load_dense_embedder(settings.embedding)
        embedder.count_tokens("warm up")
        embedder.embed_documents(["warm up"])
        load_s = time.perf_counter() - t0
        store = open_store(settings)
        started = time.perf_counter()
        report = Ingestor(settings, store=store, embedder=embedder).ingest(
            corpus_files(Path(corpus)), library="bench"
        )
        total = time.perf_counter() - started
        store.close()
    queue.put(
        {
            "documents": len(report.documents),
            "failed": len(report.failed),
            "pages": report.pages,
            "chunks": report.chunks_added,
            "model_load_s": round(load_s, 2),
            "total_s": round(total, 2),
            "parse_s": round(report.timings.parse, 2),
            "embed_s": round(report.timings.embed, 2),
            "upsert_s": round(report.timings.upsert, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    )


def _baseline(corpus: str, queue: Any) -> None:
    from assistant.embedding import packaged_model_path
    from eval.baselines.langchain_default import build_default_index

    started = time.perf_counter()
    run = build_default_index(corpus_files(Path(corpus)), model_path=packaged_model_path())
    total = time.perf_counter() - started
    queue.put(
        {
            "pages": run.pages,
            "chunks": run.chunks,
            "total_s": round(total, 2),
            "parse_s": round(run.parse_s, 2),
            "embed_upsert_s": round(run.embed_upsert_s, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    )


def _in_process(target: Any, corpus: Path) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(str(corpus), queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def run_ingest_benchmark(corpus: Path, *, with_baseline: bool = True) -> dict[str, Any]:
    """Run ours (and the baseline) on the corpus; returns figures incl. the chunks/s ratio."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ours = _in_process(_ours, corpus)
    ours["chunks_per_s"] = round(ours["chunks"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    ours["pages_per_s"] = round(ours["pages"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "corpus_files": len(corpus_files(corpus)),
        "guidecite": ours,
    }
    if with_baseline:
        base = _in_process(_baseline, corpus)
        base["chunks_per_s"] = round(base["chunks"] / base["total_s"], 1)
        result["langchain_default"] = base
        result["chunks_per_s_ratio"] = round(ours["chunks_per_s"] / base["chunks_per_s"], 2)
    return result


def format_markdown(result: dict[str, Any]) -> str:
    """A small markdown table of the benchmark result."""
    ours = result["guidecite"]
    lines = [
        f"Ingestion benchmark ({result['machine']}, {result['corpus_files']} files)",
        "",
        "| pipeline | chunks | pages | total s | chunks/s | parse s | embed s | upsert s "
        "| peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| GuideCite | {ours['chunks']} | {ours['pages']} | {ours['total_s']} | "
        f"{ours['chunks_per_s']} | {ours['parse_s']} | {ours['embed_s']} | {ours['upsert_s']} | "
        f"{ours['peak_rss_mb']} |",
    ]
    if "langchain_default" in result:
        base = result["langchain_default"]
        lines.append(
            f"| LangChain default | {base['chunks']} | {base['pages']} | {base['total_s']} | "
            f"{base['chunks_per_s']} | {base['parse_s']} | {base['embed_upsert_s']} (embed+upsert)"
            f" | — | {base['peak_rss_mb']} |"
        )
        lines += [
            "",
            f"chunks/s ratio GuideCite / LangChain default: {result['chunks_per_s_ratio']}",
        ]
    return "\n".join(lines)
