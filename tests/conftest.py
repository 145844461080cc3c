"""Shared fixtures: every test gets its own DATA_DIR; heavy resources are built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The SGLang stand-in's fixtures (`sglang_server`, `sglang_env`) for every test module.
pytest_plugins = ["tests.fakes.sglang"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "eval" / "corpus" / "guidelines"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point GUIDECITE_DATA_DIR at a fresh temporary folder; clear other GUIDECITE_ vars."""
    for key in list(os.environ):
        if key.startswith("GUIDECITE_") and key != "GUIDECITE_TEST_DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(data_dir))
    yield data_dir


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shipped demo guideline corpus."""
    return CORPUS_DIR
