"""SQL engine creation and numbered migrations shared by audit, access, accounts and review."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from assistant.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    """One numbered schema step of a component; `apply` runs inside a transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


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


def apply_migrations(engine: Engine, *, component: str, migrations: Sequence[Migration]) -> int:
    """Apply the component's pending migrations in order; returns the resulting version."""
    with _MIGRATION_LOCK:
        return _apply_migrations(engine, component=component, migrations=migrations)


def _apply_migrations(engine: Engine, *, component: str, migrations: Sequence[Migration]) -> int:
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
        current = 0
        for migration in sorted(migrations, key=lambda m: m.version):
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Serialise concurrent start-ups of several replicas.
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext('guidecite-migrations'))")
                    )
                done = conn.execute(
                    text("SELECT 1 FROM schema_migrations WHERE component = :c AND version = :v"),
                    {"c": component, "v": migration.version},
                ).first()
                if done is None:
                    logger.info("applying %s migration %d", component, migration.version)
                    migration.apply(conn)
                    conn.execute(
                        text(
                            "INSERT INTO schema_migrations (component, version, description)"
                            " VALUES (:c, :v, :d)"
                        ),
                        {"c": component, "v": migration.version, "d": migration.description},
                    )
            current = migration.version
        return current
    except SQLAlchemyError as exc:
        raise ServiceUnavailable(
            f"database migration for {component} failed: {exc}",
            user_message="The database is unavailable; check GUIDECITE_DATABASE_URL.",
        ) from exc
