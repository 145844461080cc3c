"""Migrations applied by several threads at once (issue 9 load: the first questions of several
sessions open the review queue lazily, together), and check-only databases (issue 13 item 8)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection

from assistant.config import Settings
from assistant.db import (
    Migration,
    SchemaOutdated,
    apply_migrations,
    check_schema_of,
    create_db_engine,
    read_versions,
    upgrading,
)
from assistant.review import ReviewQueue
from tests.factories import postgres_database


def test_threads_opening_a_fresh_database_together_all_succeed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_queue() -> None:
        barrier.wait()
        try:
            ReviewQueue.open(settings)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_queue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# --------------------------------------------------------------------------- check vs upgrade
# Issue 13 item 8: only `guidecite db upgrade` (and init/serve/demo on the embedded default)
# migrates; a database registered with check_schema_of is only checked.


def _sql(statement: str) -> Callable[[Connection], None]:
    return lambda conn: conn.exec_driver_sql(statement)


def _make_table(name: str) -> Migration:
    return Migration(1, f"{name} table", _sql(f"CREATE TABLE {name} (x INTEGER)"))


def test_a_new_migration_is_refused_in_check_mode_and_applied_by_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = create_db_engine(url)
    first = (_make_table("widgets"),)
    assert apply_migrations(engine, component="widgets", migrations=first) == [1]
    # A later release adds migration 2 to the component's tuple.
    second = (
        *first,
        Migration(2, "widgets.y", _sql("ALTER TABLE widgets ADD y INTEGER")),
    )
    undo = check_schema_of(url)
    try:
        with pytest.raises(SchemaOutdated) as behind:
            apply_migrations(engine, component="widgets", migrations=second)
        assert behind.value.exit_code == 4
        assert "Run `guidecite db upgrade`" in behind.value.user_message
        assert "widgets at version 1, needs version 2" in behind.value.user_message
        assert read_versions(engine, component="widgets") == {1}
        # A component with no tables yet in the embedded SQLite file is created even here.
        gadgets = (_make_table("gadgets"),)
        assert apply_migrations(engine, component="gadgets", migrations=gadgets) == [1]
        with upgrading(url):
            assert apply_migrations(engine, component="widgets", migrations=second) == [2]
        assert apply_migrations(engine, component="widgets", migrations=second) == []
    finally:
        undo()
    engine.dispose()


@pytest.mark.postgres
def test_check_mode_on_postgresql_creates_nothing(tmp_path: Path) -> None:
    with postgres_database() as url:
        engine = create_db_engine(url)
        undo = check_schema_of(url)
        try:
            with pytest.raises(SchemaOutdated) as missing:
                apply_migrations(engine, component="widgets", migrations=(_make_table("widgets"),))
            assert "not created yet" in missing.value.user_message
            with engine.connect() as conn:
                found = conn.exec_driver_sql("SELECT to_regclass('schema_migrations')").scalar()
                assert found is None
        finally:
            undo()
            engine.dispose()
