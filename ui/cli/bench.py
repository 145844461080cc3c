"""`guidecite bench` (every section), `bench query` and `bench ingest`: performance benchmarks,
reported, not asserted (operator commands, DESIGN.md §6)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.config import get_settings
from ui.cli.common import emit_json, fail, handle_errors
from ui.cli.setup import DEMO_CORPUS

bench_app = typer.Typer(
    help="Performance benchmarks (reported, not asserted).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `bench` group."""
    app.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True, no_args_is_help=False)
@handle_errors
def bench_all(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print bench.json instead of markdown."),
    out: Path = typer.Option(Path("out/bench"), help="Write bench.json and bench.md here."),
    quick: bool = typer.Option(False, help="Shrink every section (CI smoke run)."),
    synthetic: list[int] | None = typer.Option(
        None, help="Synthetic collection sizes (default 10000; 100000 on request)."
    ),
    database_url: str | None = typer.Option(
        None, help="PostgreSQL URL for the audit section (else GUIDECITE_TEST_DATABASE_URL)."
    ),
    only: list[str] | None = typer.Option(
        None, help="Run only these sections: ingest, query, wrapper, audit, load, app."
    ),
    cache_dir: Path | None = typer.Option(None, help="Where benchmark indexes are cached."),
) -> None:
    """Run every benchmark in one process; `bench query` and `bench ingest` run one each."""
    if ctx.invoked_subcommand is not None:
        return
    import os
    from dataclasses import replace

    from eval.bench_all import SECTIONS, format_markdown, plan_for, run_benchmarks, write_bench
    from eval.corpora import DEFAULT_CACHE_DIR

    bad = [s for s in only or [] if s not in SECTIONS]
    if bad:
        raise fail(
            f"unknown section(s) {', '.join(bad)}; choose from {', '.join(SECTIONS)}", code=2
        )
    if any(size < 1 for size in synthetic or []):
        raise fail("--synthetic sizes must be positive numbers of chunks", code=2)
    plan = plan_for(quick=quick, synthetic=synthetic)
    if only:
        plan = replace(plan, sections=tuple(s for s in SECTIONS if s in only))
    url = database_url or os.environ.get("GUIDECITE_TEST_DATABASE_URL", "")

    def progress(section: str) -> None:
        sys.stderr.write(f"bench: {section}…\n")

    run = run_benchmarks(
        settings=get_settings(),
        plan=plan,
        database_url=url,
        cache_dir=cache_dir or DEFAULT_CACHE_DIR,
        progress=progress,
    )
    result = write_bench(run, out)
    if as_json:
        emit_json(result)
    else:
        typer.echo(format_markdown(result))
    if run.errors:
        raise fail(f"bench: sections failed: {', '.join(run.errors)} (see {out}/bench.md)", code=1)


@bench_app.command("query")
@handle_errors
def bench_query(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    synthetic: list[int] = typer.Option([10_000], help="Synthetic collection sizes (chunks)."),
    queries: int = typer.Option(50, min=5, help="Queries per measurement."),
) -> None:
    """Query-path latency without the LLM: ours vs a plain chain vs LangChain QdrantVectorStore."""
    from eval.bench_query import format_markdown, run_query_benchmark

    result = run_query_benchmark(settings=get_settings(), sizes=synthetic, n_queries=queries)
    if as_json:
        emit_json(result)
    else:
        typer.echo(format_markdown(result))


@bench_app.command("ingest")
@handle_errors
def bench_ingest(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    baseline: bool = typer.Option(True, help="Also run the LangChain default side by side."),
    backend: list[str] | None = typer.Option(
        None,
        help="Embedding backend for our side (torch, onnx, onnx-int8; default: configured). "
        "Repeat to measure several in one run, in order (e.g. torch onnx onnx-int8 torch).",
    ),
    recall: bool = typer.Option(
        False, help="Also measure golden recall@5 on each index built (after the clock stops)."
    ),
) -> None:
    """Ingestion throughput on the shipped corpus, ours vs the LangChain default (`speedup`)."""
    from typing import get_args

    from assistant.config import EmbeddingSettings
    from eval.bench_ingest import format_markdown, run_ingest_benchmark

    backends = get_args(EmbeddingSettings.model_fields["backend"].annotation)
    bad = [b for b in backend or [] if b not in backends]
    if bad:
        choices = ", ".join(backends)
        raise fail(f"unknown backend(s) {', '.join(bad)}; choose from {choices}", code=2)
    result = run_ingest_benchmark(
        DEMO_CORPUS, with_baseline=baseline, backends=backend or None, recall=recall
    )
    if as_json:
        emit_json(result)
    else:
        typer.echo(format_markdown(result))
