"""`guidecite eval run`: answer quality and safety on a dataset (an operator command, DESIGN.md
§6)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from assistant.config import get_settings
from ui.cli.common import emit_json, fail, handle_errors

eval_app = typer.Typer(help="Evaluate answer quality, safety and speed.", no_args_is_help=True)

DATASET_CHOICES = (
    "golden",
    "pubmedqa",
    "medquad",
    "phi",
    "authz",
    "regression",
    "grades",
    "conflicts",
    "all",
)
# Measured without an index or questions to answer (issue #17): each its own report section.
MEASURED = ("grades", "conflicts")


def register(app: typer.Typer) -> None:
    """Add the `eval` group."""
    app.add_typer(eval_app, name="eval")


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
    if dataset in MEASURED:
        # Grade extraction and conflict detection need no index and no questions (issue #17).
        _report_measured(dataset, report=report, as_json=as_json, alone=True)
        return
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
    if dataset == "all":
        for name in MEASURED:
            metrics[name] = _report_measured(name, report=report, as_json=as_json, alone=False)
    if as_json:
        emit_json(metrics[names[0]] if len(names) == 1 else metrics)
        return
    for run in runs:
        typer.echo(format_summary(metrics[run.dataset]))
        typer.echo(format_comparison(run.extra["answer_comparison"]))


def _report_measured(
    name: str, *, report: Path | None, as_json: bool, alone: bool
) -> dict[str, Any]:
    """Measure grade extraction or conflict detection; write its report section and print it
    unless part of `all`'s JSON."""
    from eval.conflicts import format_conflicts, measure_conflicts
    from eval.grades import format_grades, measure_grades

    if name == "conflicts":
        metrics, format_section = measure_conflicts(), format_conflicts
    else:
        metrics, format_section = measure_grades(), format_grades
    if report is not None:
        target = report if alone else report / name
        target.mkdir(parents=True, exist_ok=True)
        (target / "metrics.json").write_text(
            json.dumps(metrics, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (target / "report.md").write_text(format_section(metrics), encoding="utf-8")
    if as_json:
        if alone:
            emit_json(metrics)
    else:
        typer.echo(format_section(metrics))
    return metrics
