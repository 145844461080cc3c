"""`guidecite eval run` argument handling, driven with Typer's CliRunner (issue 7)."""

from __future__ import annotations

from typer.testing import CliRunner

from ui.cli import app


def test_unknown_dataset_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["eval", "run", "--dataset", "nope"])
    assert result.exit_code == 2
    assert "unknown dataset 'nope'" in result.output
    assert "golden, pubmedqa, medquad, phi, authz, regression, all" in result.output


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
