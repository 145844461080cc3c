"""`guidecite bench --only app`: the web app timed in headless Chromium (issue 16 item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.bench_all import APP_FIGURES
from eval.bench_app import browser_available
from ui.cli import app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not browser_available(), reason="needs Debian chromium and playwright"),
]


def test_quick_app_section_times_what_a_person_meets(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        ["bench", "--quick", "--only", "app", "--out", str(out), "--cache-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    stored = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    figures = stored["app"]
    assert set(figures) == {key for key, _ in APP_FIGURES}
    assert all(isinstance(v, float) and v > 0 for v in figures.values()), figures
    # The page is readable no later than the sign-in form is ready.
    assert figures["first_paint_s"] <= figures["sign_in_ready_s"]
    markdown = (out / "bench.md").read_text(encoding="utf-8")
    assert "## The web app in a browser" in markdown
    assert "first question → finished answer" in markdown
