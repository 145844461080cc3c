"""Shared fixtures: every test gets its own DATA_DIR; heavy resources are built once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine

from assistant.db import create_db_engine

# The SGLang stand-in's fixtures (`sglang_server`, `sglang_env`) for every test module.
pytest_plugins = ["tests.fakes.sglang"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "eval" / "corpus" / "guidelines"


# Property tests draw the same examples on every run: a test that passes here passes in CI, and
# a generator that finds a new counter-example is found by a person, not by a random CI run.
settings.register_profile("guidecite", derandomize=True, deadline=None)
settings.load_profile("guidecite")

# Tests script the model's replies in order; the question-translation call (issue #10) would
# take the first script. It is off for every test — module fixtures build Settings before the
# autouse fixture runs, hence the process environment — and its own tests turn it on.
_TRANSLATE_QUESTIONS = "GUIDECITE_LLM__TRANSLATE_QUESTIONS"
os.environ[_TRANSLATE_QUESTIONS] = "false"


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point GUIDECITE_DATA_DIR at a fresh temporary folder; clear other GUIDECITE_ vars."""
    for key in list(os.environ):
        if key.startswith("GUIDECITE_") and key not in (
            "GUIDECITE_TEST_DATABASE_URL",
            _TRANSLATE_QUESTIONS,
        ):
            monkeypatch.delenv(key, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(data_dir))
    monkeypatch.setenv(_TRANSLATE_QUESTIONS, "false")
    yield data_dir


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shipped demo guideline corpus."""
    return CORPUS_DIR


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database (skipped without GUIDECITE_TEST_DATABASE_URL)."""
    # Imported here: tests.factories loads the ingestion stack, which most tests never need.
    from tests.factories import postgres_database

    with postgres_database() as url:
        yield url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An Engine on `pg_url`."""
    engine = create_db_engine(pg_url)
    yield engine
    engine.dispose()
