"""`guidecite models prepare` (issue 15): the ONNX export is built once, before first use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app


def test_prepare_exports_the_onnx_model_into_the_cache_and_reuses_it() -> None:
    pytest.importorskip("onnxscript")  # the exporter's dependency
    runner = CliRunner()
    first = runner.invoke(app, ["models", "prepare", "--backend", "onnx", "--json"])
    assert first.exit_code == 0, first.output
    prepared = json.loads(first.stdout)
    exported = Path(prepared["export_path"])
    assert prepared["backend"] == "onnx" and exported.is_file()
    assert exported.name == "model.onnx"
    stamp = exported.stat().st_mtime_ns
    again = runner.invoke(app, ["models", "prepare", "--backend", "onnx", "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["export_path"] == str(exported)
    assert exported.stat().st_mtime_ns == stamp  # reused, not exported again


def test_prepare_has_nothing_to_do_for_torch_and_rejects_unknown_backends() -> None:
    runner = CliRunner()
    torch = runner.invoke(app, ["models", "prepare", "--backend", "torch"])
    assert torch.exit_code == 0, torch.output
    assert "torch: the torch backend reads the installed weights directly" in torch.output
    bad = runner.invoke(app, ["models", "prepare", "--backend", "tensorflow"])
    assert bad.exit_code == 2
    assert "unknown backend tensorflow; choose from torch, onnx, onnx-int8" in bad.output
