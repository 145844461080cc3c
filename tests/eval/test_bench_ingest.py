"""`guidecite bench ingest` with several backends, and the synthetic write figures (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from assistant.config import Settings
from assistant.store import open_store
from eval.bench_ingest import format_markdown
from eval.bench_query import fill_synthetic
from ui.cli import app


def _run(backend: str, total_s: float, load: float) -> dict[str, Any]:
    return {
        "backend": backend,
        "chunks": 100,
        "chunks_dense": 40,
        "pages": 10,
        "total_s": total_s,
        "cpu_s": total_s * 1.5,
        "chunks_per_s": round(100 / total_s, 1),
        "model_load_s": 1.0,
        "parse_s": 2.0,
        "embed_s": 3.0,
        "upsert_s": 0.5,
        "peak_rss_mb": 300.0,
        "load_average_1m": load,
        "ours_recall@5": 0.9,
        "dense_recall@5": 0.5,
    }


def test_markdown_shows_one_row_per_backend_run_with_its_load_and_recall() -> None:
    runs = [_run("torch", 10.0, 3.5), _run("onnx", 5.0, 4.25), _run("torch", 11.0, 2.0)]
    result = {
        "machine": "x86_64 2 cpu",
        "corpus_files": 3,
        "load_average_1m": 3.5,
        "guidecite": runs[0],
        "runs": runs,
        "backend_ratios": [
            {"backend": "torch", "wall_s_vs_first": 1.0},
            {"backend": "onnx", "wall_s_vs_first": 0.5},
            {"backend": "torch", "wall_s_vs_first": 1.1},
        ],
    }
    markdown = format_markdown(result)
    assert markdown.count("| GuideCite (torch; 40 chunks dense) |") == 2
    assert "| GuideCite (onnx; 40 chunks dense) | 4.25 | 100 | 10 | 5.0 | 7.5 |" in markdown
    assert "| 0.9 | 0.5 |" in markdown
    assert "wall s / first run's: torch 1.0, onnx 0.5, torch 1.1" in markdown
    assert "LangChain default" not in markdown


def test_cli_bench_ingest_rejects_an_unknown_backend() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--backend", "tensorflow"])
    assert result.exit_code == 2
    assert "unknown backend(s) tensorflow; choose from torch, onnx, onnx-int8" in result.output


def test_fill_synthetic_reports_upsert_throughput_and_memory(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    stats: dict[str, Any] = {}
    try:
        made = fill_synthetic(
            store,
            size=1200,  # more than one batch of 1000
            dim=8,
            model_id="synthetic:8",
            vocabulary=["fever", "dose", "adult"],
            stats=stats,
        )
        assert len(made) == 1200
        assert store.count(status="current") == 1200
    finally:
        store.close()
    assert stats["points"] == 1200
    assert stats["upsert_s"] > 0 and stats["upsert_points_per_s"] > 0
    assert stats["total_s"] >= stats["upsert_s"] + stats["optimize_s"]
    assert 0 < stats["rss_before_mb"] <= stats["peak_rss_mb"]
    assert stats["rss_after_mb"] <= stats["peak_rss_mb"]
