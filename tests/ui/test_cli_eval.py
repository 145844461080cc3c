"""`guidecite eval run` argument handling, driven with Typer's CliRunner (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ui.cli import app


def test_unknown_dataset_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["eval", "run", "--dataset", "nope"])
    assert result.exit_code == 2
    assert "unknown dataset 'nope'" in result.output
    assert "golden, pubmedqa, medquad, phi, authz, regression, grades, conflicts, all" in (
        result.output
    )


def test_eval_and_bench_query_are_registered() -> None:
    assert CliRunner().invoke(app, ["eval", "run", "--help"]).exit_code == 0
    bench = CliRunner().invoke(app, ["bench", "--help"])
    assert bench.exit_code == 0
    assert "query" in bench.output and "ingest" in bench.output


def test_unknown_generation_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["eval", "run", "--generation", "gpt"])
    assert result.exit_code == 2
    assert "unknown generation 'gpt'" in result.output
    assert "configured, standin-faithful, standin-unfaithful" in result.output


def test_eval_run_reports_the_grades_section(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "run", "--dataset", "grades", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["graded_items"] >= 60
    assert set(metrics["by_language"]) == {"zh", "en"}
    # The shipped extractor (issue #17 §1) is expected to stay this good on the shipped set.
    assert metrics["precision"] >= 0.9 and metrics["recall"] >= 0.9
    args = ["eval", "run", "--dataset", "grades", "--report", str(tmp_path)]
    written = CliRunner().invoke(app, args)
    assert written.exit_code == 0, written.output
    assert "Recommendation grades" in written.stdout
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| zh | 47 |" in report
    assert json.loads((tmp_path / "metrics.json").read_text())["items"] == metrics["items"]


def test_eval_run_reports_the_conflicts_section(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "run", "--dataset", "conflicts", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["conflicting"] >= 20 and metrics["agreeing"] >= 20
    assert set(metrics["by_language"]) == {"zh", "en"}
    assert metrics["precision"] >= 0.9 and metrics["recall"] >= 0.9
    args = ["eval", "run", "--dataset", "conflicts", "--report", str(tmp_path)]
    written = CliRunner().invoke(app, args)
    assert written.exit_code == 0, written.output
    assert "Where guidelines differ" in written.stdout
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| all | 47 | 23 |" in report
    assert json.loads((tmp_path / "metrics.json").read_text())["items"] == metrics["items"]
