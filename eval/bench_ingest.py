"""Ingestion benchmark: ours vs the LangChain default, each in its own process (issues #2, #13).

Fair by construction: both sides read the same files of the same corpus, each in a fresh
process, and both wall times include loading the embedding model (the baseline's
HuggingFaceEmbeddings loads it inside the timed call, so ours does too). Chunk settings are
as shipped (ours 200 word pieces, the baseline 500 characters): chunks/s is reported beside
the wall time, but `speedup` is judged by wall time (the LangChain default's / ours).
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


def _ours(corpus: str, queue: Any, backend: str = "") -> None:
    from assistant.config import Settings
    from assistant.embedding import load_dense_embedder
    from assistant.store import open_store
    from ingestion.service import Ingestor

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp))
        if backend:
            embedding = settings.embedding.model_copy(update={"backend": backend})
            settings = settings.model_copy(update={"embedding": embedding})
        started = time.perf_counter()
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
    queue.put(
        {
            "documents": len(report.documents),
            "failed": len(report.failed),
            "pages": report.pages,
            "chunks": report.chunks_added,
            "chunks_dense": report.chunks_dense,
            "backend": settings.embedding.backend,
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


def run_ingest_benchmark(
    corpus: Path, *, with_baseline: bool = True, backend: str = ""
) -> dict[str, Any]:
    """Run ours (and the baseline) on the corpus; returns figures incl. `speedup`.

    `speedup` = the LangChain default's wall seconds / ours, model loading included on both.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ours = _in_process(_ours, corpus, backend)
    ours["chunks_per_s"] = round(ours["chunks"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    ours["pages_per_s"] = round(ours["pages"] / ours["total_s"], 1) if ours["total_s"] else 0.0
    result: dict[str, Any] = {
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "corpus_files": len(corpus_files(corpus)),
        "guidecite": ours,
    }
    if with_baseline:
        base = _in_process(_baseline, corpus)
        base["chunks_per_s"] = round(base["chunks"] / base["total_s"], 1)
        result["langchain_default"] = base
        result["chunks_per_s_ratio"] = round(ours["chunks_per_s"] / base["chunks_per_s"], 2)
        result["speedup"] = round(base["total_s"] / ours["total_s"], 2) if ours["total_s"] else 0.0
        result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    return result


def format_markdown(result: dict[str, Any]) -> str:
    """A small markdown table of the benchmark result."""
    ours = result["guidecite"]
    lines = [
        f"Ingestion benchmark ({result['machine']}, {result['corpus_files']} files, "
        f"load average {result.get('load_average_1m', '?')}; wall times include model loading)",
        "",
        "| pipeline | chunks | pages | total s | chunks/s | model load s | parse s | embed s "
        "| upsert s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| GuideCite ({ours.get('backend', 'torch')}; {ours.get('chunks_dense', '?')} chunks "
        f"dense) | {ours['chunks']} | {ours['pages']} | {ours['total_s']} | "
        f"{ours['chunks_per_s']} | {ours['model_load_s']} | {ours['parse_s']} | "
        f"{ours['embed_s']} | {ours['upsert_s']} | {ours['peak_rss_mb']} |",
    ]
    if "langchain_default" in result:
        base = result["langchain_default"]
        lines.append(
            f"| LangChain default | {base['chunks']} | {base['pages']} | {base['total_s']} | "
            f"{base['chunks_per_s']} | {base.get('model_load_s', '—')} | {base['parse_s']} | "
            f"{base['embed_upsert_s']} (embed+upsert) | — | {base['peak_rss_mb']} |"
        )
        lines += [
            "",
            f"speedup (LangChain default wall s / GuideCite wall s): {result['speedup']}",
            f"chunks/s ratio GuideCite / LangChain default: {result['chunks_per_s_ratio']}",
        ]
    return "\n".join(lines)
