"""SQL engine creation and numbered migrations shared by audit, access, accounts and review.

Schema upgrades are an explicit step (issue 13 item 8): `guidecite db upgrade` (also run by
`init`, and by `serve`/`demo` on the embedded default) applies pending migrations; every other
command only *checks* the configured database (`check_schema_of`), so an account without CREATE
rights can still work, and a database that is behind is never changed as a side effect of a
question. Checking costs a catalogue lookup and one SELECT per component opened, and needs no
DDL rights.

Adding a migration to a component: append ``Migration(n + 1, "…", apply)`` to its tuple; the
next `guidecite db upgrade` applies it, and until then normal commands refuse with
`SchemaOutdated` naming that command.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from assistant.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

UPGRADE_COMMAND = "guidecite db upgrade"


@dataclass(frozen=True)
class Migration:
    """One numbered schema step of a component; `apply` runs inside a transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


class SchemaOutdated(ServiceUnavailable):
    """The database schema is behind this version of GuideCite (exit 4, DESIGN.md §6)."""


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An Engine for SQLite (file, WAL, busy timeout) or PostgreSQL (pooled)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def shared_engine(url: str, *, pool_size: int = 5) -> Engine:
    """One Engine per URL per process (pools are per process)."""
    return _cached_engine(url, pool_size)


@lru_cache(maxsize=8)
def _cached_engine(url: str, pool_size: int) -> Engine:
    return create_db_engine(url, pool_size=pool_size)


# Threads of one process opening the same component at once (the first questions of several
# sessions open the review queue lazily) would both find a migration missing and both apply it;
# SQLite's deferred transactions do not stop that. PostgreSQL also takes an advisory lock below.
_MIGRATION_LOCK = threading.Lock()
# Databases this process may only check, never migrate (the CLI registers the configured one).
_check_only: dict[str, int] = {}


def _url_key(url: str | object) -> str:
    return make_url(str(url) if not isinstance(url, str) else url).render_as_string(
        hide_password=False
    )


def check_schema_of(url: str) -> Callable[[], None]:
    """From now on only check, never migrate, the database at `url`; returns the undo."""
    key = _url_key(url)
    with _MIGRATION_LOCK:
        _check_only[key] = _check_only.get(key, 0) + 1

    def undo() -> None:
        with _MIGRATION_LOCK:
            left = _check_only.get(key, 0) - 1
            if left > 0:
                _check_only[key] = left
            else:
                _check_only.pop(key, None)

    return undo


@contextmanager
def upgrading(url: str) -> Iterator[None]:
    """Within the block, pending migrations of the database at `url` are applied."""
    key = _url_key(url)
    with _MIGRATION_LOCK:
        held = _check_only.pop(key, 0)
    try:
        yield
    finally:
        if held:
            with _MIGRATION_LOCK:
                _check_only[key] = _check_only.get(key, 0) + held


def apply_migrations(
    engine: Engine, *, component: str, migrations: Sequence[Migration]
) -> list[int]:
    """Bring the component's schema up to date; returns the versions applied by this call.

    On a database registered with `check_schema_of` nothing is changed: a component that is
    behind raises `SchemaOutdated` naming the command to run — except a component that has no
    tables yet in the embedded SQLite file, which is created (nothing to migrate, and the file
    belongs to the operator running the command; a new install works without `init`).
    """
    wanted = max((m.version for m in migrations), default=0)
    key = _url_key(engine.url)
    with _MIGRATION_LOCK:
        applied = read_versions(engine, component=component)
        missing = [
            m for m in sorted(migrations, key=lambda m: m.version) if m.version not in applied
        ]
        if not missing:
            return []
        if key in _check_only and not (engine.dialect.name == "sqlite" and not applied):
            raise _outdated(engine, component=component, have=applied, want=wanted)
        return _apply_missing(engine, component=component, missing=missing)


def read_versions(engine: Engine, *, component: str) -> set[int]:
    """Migration versions recorded for `component` (empty when there is no schema yet)."""
    try:
        with engine.connect() as conn:
            if not _has_table(conn, "schema_migrations"):
                return set()
            rows = conn.execute(
                text("SELECT version FROM schema_migrations WHERE component = :c"),
                {"c": component},
            )
            return {int(row[0]) for row in rows}
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"database schema check for {component} failed: {exc}",
            user_message="The database is unavailable; check GUIDECITE_DATABASE_URL.",
        ) from exc


def _has_table(conn: Connection, name: str) -> bool:
    # A plain catalogue read: needs no rights beyond connecting (no DDL, no CREATE).
    if conn.dialect.name == "sqlite":
        found = conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": name}
        ).first()
    else:
        found = conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar()
    return bool(found)


def _outdated(engine: Engine, *, component: str, have: set[int], want: int) -> SchemaOutdated:
    where = engine.url.render_as_string(hide_password=True)
    state = f"at version {max(have)}" if have else "not created yet"
    return SchemaOutdated(
        f"schema of {component} in {where} is {state}; this version needs {want}",
        user_message=f"The database schema is behind this version of GuideCite ({component} "
        f"{state}, needs version {want}). Run `{UPGRADE_COMMAND}` (as the database owner, with "
        "the same GUIDECITE_DATABASE_URL), then retry. `guidecite db status` lists what is "
        "pending.",
    )


def _apply_missing(engine: Engine, *, component: str, missing: Sequence[Migration]) -> list[int]:
    done: list[int] = []
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # CREATE TABLE IF NOT EXISTS races on PostgreSQL (two replicas starting at once
                # both try to create the table's row type): serialise it like the migrations.
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('guidecite-migrations'))"))
            conn.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " component VARCHAR(64) NOT NULL,"
                    " version INTEGER NOT NULL,"
                    " description VARCHAR(200) NOT NULL,"
                    " PRIMARY KEY (component, version))"
                )
            )
        for migration in missing:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Serialise concurrent start-ups of several replicas.
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext('guidecite-migrations'))")
                    )
                already = conn.execute(
                    text("SELECT 1 FROM schema_migrations WHERE component = :c AND version = :v"),
                    {"c": component, "v": migration.version},
                ).first()
                if already is None:
                    logger.info("applying %s migration %d", component, migration.version)
                    migration.apply(conn)
                    conn.execute(
                        text(
                            "INSERT INTO schema_migrations (component, version, description)"
                            " VALUES (:c, :v, :d)"
                        ),
                        {"c": component, "v": migration.version, "d": migration.description},
                    )
                    done.append(migration.version)
        return done
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"database migration for {component} failed: {exc}",
            user_message=f"The database schema of {component} could not be upgraded: "
            f"{type(getattr(exc, 'orig', None) or exc).__name__}. "
            f"`{UPGRADE_COMMAND}` must run as an account allowed to create tables; check "
            "GUIDECITE_DATABASE_URL.",
        ) from exc
