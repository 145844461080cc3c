"""`guidecite eval run`, `guidecite bench` (all sections) and `guidecite bench query` (issue 7)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.config import get_settings
from ui.cli import app, bench_app, emit_json, fail, handle_errors

eval_app = typer.Typer(help="Evaluate answer quality, safety and speed.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

DATASET_CHOICES = ("golden", "pubmedqa", "medquad", "phi", "authz", "regression", "all")


@eval_app.command("run")
@handle_errors
def eval_run(
    dataset: str = typer.Option("golden", help=f"One of: {', '.join(DATASET_CHOICES)}."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N items (and passages)."),
    report: Path | None = typer.Option(None, help="Write report.md, metrics.json, plots here."),
    regression: Path | None = typer.Option(None, help="Regression JSONL (review export)."),
    cache_dir: Path | None = typer.Option(None, help="Where eval indexes are cached."),
    generation: str = typer.Option(
        "configured",
        help="configured (GUIDECITE_LLM__BASE_URL, else extractive), standin-faithful or "
        "standin-unfaithful (the SGLang stand-in with scripted answers).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print metrics.json on stdout."),
) -> None:
    """Build (or reuse) the dataset's index, ask every question, print the metrics."""
    from eval.corpora import DATASET_NAMES, DEFAULT_CACHE_DIR
    from eval.harness import compute_metrics, run_dataset
    from eval.report import format_comparison, format_summary, write_report
    from eval.scripted import GENERATION_CHOICES

    if dataset not in DATASET_CHOICES:
        raise fail(f"unknown dataset {dataset!r}; choose from {', '.join(DATASET_CHOICES)}", code=2)
    if generation not in GENERATION_CHOICES:
        raise fail(
            f"unknown generation {generation!r}; choose from {', '.join(GENERATION_CHOICES)}",
            code=2,
        )
    names = list(DATASET_NAMES) if dataset == "all" else [dataset]
    settings = get_settings()

    def progress(name: str, index: int, total: int) -> None:
        if sys.stderr.isatty() and index % 10 == 0:
            sys.stderr.write(f"\r{name}: {index}/{total}")

    runs = [
        run_dataset(
            name,
            settings=settings,
            limit=limit,
            cache_dir=cache_dir or DEFAULT_CACHE_DIR,
            regression_path=regression,
            progress=progress,
            generation=generation,
        )
        for name in names
    ]
    if report is not None:
        write_report(runs, report)
    metrics = {run.dataset: compute_metrics(run) for run in runs}
    if as_json:
        emit_json(metrics[names[0]] if len(names) == 1 else metrics)
        return
    for run in runs:
        typer.echo(format_summary(metrics[run.dataset]))
        typer.echo(format_comparison(run.extra["answer_comparison"]))


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
        None, help="Run only these sections: ingest, query, wrapper, audit, load."
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
