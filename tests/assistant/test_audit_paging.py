"""Paged, filtered reads of the audit trail (issue 16 item 9), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from assistant.audit.log import AuditLog
from assistant.db import create_db_engine
from tests.assistant.test_audit import T0, Clock, make_log

DEPARTMENTS = ("cardiology", "oncology", "*")
ACTIONS = ("ask", "login", "export")
OUTCOMES = ("answered", "denied")


def _fill(engine: Engine, tmp_path: Path) -> AuditLog:
    """60 events, one a minute: actor i%4, department i%3, action i%3 (shifted), outcome i%2."""
    clock = Clock()
    log = make_log(engine, tmp_path, now=clock)
    for i in range(60):
        clock.value = T0 + timedelta(minutes=i)
        log.append_event(
            actor=f"user{i % 4}",
            role="doctor",
            department=DEPARTMENTS[i % 3],
            session_id="s",
            action=ACTIONS[(i // 3) % 3],
            object="library:hospital",
            outcome=OUTCOMES[i % 2],
            detail={"n": i},
        )
    return log


def scenario_pages_and_filters(engine: Engine, tmp_path: Path) -> None:
    log = _fill(engine, tmp_path)

    # Newest first, keyset paging with before_id, has_more false on the last page.
    first, more = log.page_events(limit=25)
    assert [e.id for e in first] == list(range(60, 35, -1)) and more
    second, more = log.page_events(limit=25, before_id=first[-1].id)
    assert [e.id for e in second] == list(range(35, 10, -1)) and more
    last, more = log.page_events(limit=25, before_id=second[-1].id)
    assert [e.id for e in last] == list(range(10, 0, -1)) and not more
    exact, more = log.page_events(limit=60)
    assert len(exact) == 60 and not more

    # Each filter narrows to exactly the rows that match it (ids are i + 1).
    def ids(**filters: object) -> list[int | None]:
        events, _ = log.page_events(limit=100, **filters)  # type: ignore[arg-type]
        return [e.id for e in events]

    assert ids(department="oncology") == [i + 1 for i in reversed(range(60)) if i % 3 == 1]
    assert ids(actor="user2") == [i + 1 for i in reversed(range(60)) if i % 4 == 2]
    assert ids(outcome="denied") == [i + 1 for i in reversed(range(60)) if i % 2 == 1]
    assert ids(actions=["login", "export"]) == [
        i + 1 for i in reversed(range(60)) if (i // 3) % 3 != 0
    ]
    window = ids(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20))
    assert window == list(range(20, 10, -1))  # since inclusive, until exclusive
    both = ids(department="cardiology", outcome="answered", actor="user0")
    assert both == [i + 1 for i in reversed(range(60)) if i % 12 == 0]
    assert ids(actor="nobody") == []

    # Filtered pages chain too: the second page continues below the first's last id.
    page, more = log.page_events(limit=5, department="oncology")
    assert [e.id for e in page] == [59, 56, 53, 50, 47] and more
    page, _ = log.page_events(limit=5, department="oncology", before_id=page[-1].id)
    assert [e.id for e in page] == [44, 41, 38, 35, 32]
    assert page[0].detail_json == {"n": 43} and page[0].department == "oncology"

    # Reading never touches the chain.
    assert log.verify().ok


SCENARIOS = (scenario_pages_and_filters,)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_sqlite(scenario: Callable[[Engine, Path], None], tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        scenario(engine, tmp_path)
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
def test_postgres(
    scenario: Callable[[Engine, Path], None], pg_engine: Engine, tmp_path: Path
) -> None:
    scenario(pg_engine, tmp_path)


def test_limit_must_be_positive(tmp_path: Path) -> None:
    log = _fill(create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}"), tmp_path)
    with pytest.raises(ValueError, match="limit"):
        log.page_events(limit=0)
