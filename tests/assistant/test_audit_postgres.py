"""The audit trail on PostgreSQL: the SQLite scenarios plus two concurrent processes.

Skipped unless GUIDECITE_TEST_DATABASE_URL points at a server (`.ci/run` sets it). Each test
creates its own database and drops it afterwards, so parallel runs never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.assistant.test_audit import SCENARIOS, make_log, run_two_processes

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("scenario_"))
def test_postgres(
    scenario: Callable[[Engine, Path], None], pg_engine: Engine, tmp_path: Path
) -> None:
    scenario(pg_engine, tmp_path)


def test_two_processes_postgres(pg_url: str, pg_engine: Engine, tmp_path: Path) -> None:
    make_log(pg_engine, tmp_path)  # migrate first, as `guidecite init` does
    run_two_processes(pg_url, tmp_path, per_process=500)
    log = make_log(pg_engine, tmp_path)
    assert log.count_events() == 1000
    assert log.verify().model_dump() == {
        "ok": True,
        "events": 1000,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 1000,
        "beyond_signed_head": 0,
    }
    actors = [e.actor for e in log.iter_events()]
    assert actors.count("proc0") == actors.count("proc1") == 500
    assert [e.id for e in log.iter_events()] == list(range(1, 1001))
