"""Append-only, hash-chained audit trail with signed checkpoints (DESIGN.md §4, issue 4).

Serialisation: every append reads the chain head and inserts inside one write transaction that
holds the database's writer lock — ``BEGIN IMMEDIATE`` on SQLite (plus an in-process lock so
threads queue instead of spinning in SQLite's busy handler), ``pg_advisory_xact_lock`` on
PostgreSQL (so app replicas queue too). Ids are assigned as head + 1 inside that transaction, so
even a writer that bypassed the lock could not fork the chain: it would hit the primary key.

Signed head (issue 13 item 3): every append also upserts the one-row table ``audit_head`` with
the new head's id, hash and HMAC, in the append's own transaction — so the head is signed on
every committed append, on SQLite and PostgreSQL alike, and replicas sharing a PostgreSQL chain
share one signed head (a per-node file could not prove a shared chain was shortened). The
checkpoint file stays as a second copy outside the database (the first event of a chain, every
``checkpoint_every`` events, purges), and the optional witness receives the same lines off-host.

Durability (SQLite): appends commit with ``synchronous=NORMAL`` in WAL mode, i.e. an append is
*not* fsynced: a commit survives a crash of the process, and on power loss the events since the
last checkpoint line can be lost (the signed head row is in the same transaction, so it is lost
with them and still matches). Before each checkpoint line is written the database and its WAL are
fsynced, so a line never names a row the database could still lose (which would read as
tampering). ``synchronous=FULL`` (an fsync per append) would cut appends to the disk's fsync
rate — a few hundred per second measured here (docs/security.md §8). PostgreSQL keeps its own
``synchronous_commit`` setting (default on: every commit waits for the WAL flush).

The hot paths (append, verify, export) talk to the pooled DBAPI connection directly: SQLAlchemy's
per-statement machinery cost more than the SQLite work itself.
"""

from __future__ import annotations

import atexit
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from assistant.audit.chain import (
    GENESIS_HASH,
    check_text,
    encode_detail,
    format_ts,
    parse_ts,
    row_hash,
)
from assistant.audit.checkpoints import (
    Checkpoint,
    CheckpointProblem,
    append_checkpoint,
    deployment_key,
    read_checkpoints,
    sign_checkpoint,
)
from assistant.audit.export import csv_lines, jsonl_lines
from assistant.audit.schema import MIGRATIONS
from assistant.audit.verify import ROW_COLUMNS, verify_chain
from assistant.audit.witness import Witness
from assistant.config import Settings
from assistant.db import SchemaOutdated, apply_migrations, shared_engine
from assistant.domain import AuditEvent, VerifyResult
from assistant.errors import (
    AuditIntegrityError,
    AuditUnavailable,
    ConfigError,
    InvalidInput,
    ServiceUnavailable,
)

logger = logging.getLogger(__name__)

AUDIT_NOT_CHANGED_MESSAGE = (
    "The audit trail could not be written, so nothing was changed; try again or contact IT. "
    "审计日志无法写入，未做任何更改，请重试或联系信息科。"
)
AUDIT_UNAVAILABLE_MESSAGE = (
    "The audit trail could not be written, so the answer is withheld. "
    "Please try again or contact IT."
)
# Cybersecurity Law art. 21: network logs are kept for no less than six months.
MIN_RETENTION_DAYS = 180
# One round trip: BEGIN, the advisory lock every replica takes (key = b"guidecit" as a bigint),
# then the chain head.
_PG_BEGIN_LOCK_HEAD = (
    "BEGIN; SELECT pg_advisory_xact_lock(7454980638100384116);"
    " SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1"
)
_EVENT_FIELDS = ("actor", "role", "department", "session_id", "action", "object", "outcome")
_COLUMNS_SQL = ", ".join(ROW_COLUMNS)
_SQLITE_NORMAL = 1  # PRAGMA synchronous value of NORMAL
_HEAD_UPSERT = (
    "INSERT INTO audit_head (slot, id, hash, ts_utc, hmac) VALUES (1, ?, ?, ?, ?)"
    " ON CONFLICT (slot) DO UPDATE SET id = excluded.id, hash = excluded.hash,"
    " ts_utc = excluded.ts_utc, hmac = excluded.hmac"
)

_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock_for(engine: Engine) -> threading.Lock:
    key = engine.url.render_as_string(hide_password=True)
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


class AuditLog:
    """The audit trail of one database, with its checkpoint file and key."""

    def __init__(
        self,
        engine: Engine,
        *,
        checkpoint_path: Path,
        checkpoint_key: bytes,
        checkpoint_every: int = 100,
        now: Callable[[], datetime] | None = None,
        witness: Witness | None = None,
    ) -> None:
        if not checkpoint_key:
            raise ValueError("the audit checkpoint key must not be empty")
        if checkpoint_every <= 0:
            raise ValueError("checkpoint_every must be positive")
        self._engine = engine
        self._checkpoint_path = Path(checkpoint_path)
        self._key = bytes(checkpoint_key)
        self._every = checkpoint_every
        self._now = now or (lambda: datetime.now(UTC))
        self._sqlite = engine.dialect.name == "sqlite"
        self._lock = _write_lock_for(engine)
        self._checkpoint_pending = False
        self._witness = witness
        # What an append sets PRAGMA synchronous to (NORMAL: no fsync per append; see above).
        self.append_synchronous = "NORMAL"
        dbapi = engine.dialect.loaded_dbapi
        self._db_errors: tuple[type[BaseException], ...] = (SQLAlchemyError, dbapi.Error)
        self._write_errors: tuple[type[BaseException], ...] = (*self._db_errors, OSError)
        self._integrity_error: type[BaseException] = dbapi.IntegrityError
        try:
            applied = apply_migrations(engine, component="audit", migrations=MIGRATIONS)
        except ServiceUnavailable as exc:
            if isinstance(exc, SchemaOutdated):
                raise
            raise AuditUnavailable(str(exc), user_message=AUDIT_UNAVAILABLE_MESSAGE) from exc
        if 3 in applied:
            self._sign_existing_head()

    @property
    def witness(self) -> Witness | None:
        """The off-host witness this log sends its checkpoints to, if one is configured."""
        return self._witness

    def _sql(self, query: str) -> str:
        """`query` written with qmark placeholders, in the driver's paramstyle."""
        return query if self._sqlite else query.replace("?", "%s")

    # ----------------------------------------------------------------- writing

    def append_event(
        self,
        *,
        actor: str,
        role: str,
        department: str,
        session_id: str,
        action: str,
        object: str,
        outcome: str,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event to the chain; raises AuditUnavailable when it cannot be written."""
        event = {
            "actor": actor,
            "role": role,
            "department": department,
            "session_id": session_id,
            "action": action,
            "object": object,
            "outcome": outcome,
            "detail": detail,
        }
        return self.append_events([event])[0]

    def ensure_writable(self) -> None:
        """Raise AuditUnavailable unless an append could be written now.

        Administrative changes call this before acting, so a change whose audit event cannot
        be written is not made (fail closed); it takes and releases the writer lock in an
        empty transaction and writes nothing.
        """
        with self._lock:
            try:
                with self._write_transaction() as (cursor, _head):
                    cursor.execute("SELECT 1 FROM audit_events WHERE 1 = 0")
            except self._write_errors as exc:
                logger.error("audit not writable: %s", exc)
                raise AuditUnavailable(
                    f"audit not writable: {exc}", user_message=AUDIT_NOT_CHANGED_MESSAGE
                ) from exc

    def append_events(self, events: Sequence[Mapping[str, Any]]) -> list[AuditEvent]:
        """Append several events (mappings of `append_event`'s keywords) in one transaction."""
        drafts = [_prepare(event) for event in events]
        if not drafts:
            return []
        with self._lock:
            try:
                rows, crossed = self._insert_drafts(drafts)
            except self._write_errors as exc:
                logger.error("audit append failed: %s", exc)
                raise AuditUnavailable(
                    f"audit append failed: {exc}", user_message=AUDIT_UNAVAILABLE_MESSAGE
                ) from exc
            if crossed or self._checkpoint_pending:
                self._write_head_checkpoint(int(rows[-1][0]), str(rows[-1][11]))
        return [_to_event(row) for row in rows]

    def _insert_drafts(self, drafts: list[tuple[str, ...]]) -> tuple[list[tuple[Any, ...]], bool]:
        insert_sql = self._sql(
            "INSERT INTO audit_events (id, ts_utc, actor, role, department, session_id, action,"
            " object, outcome, detail_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)"
        )
        # A writer that raced past the lock (another program) loses on the primary key; retry.
        for attempt in range(3):
            try:
                with self._write_transaction() as (cursor, (head_id, prev)):
                    ts = format_ts(self._now())
                    rows: list[tuple[Any, ...]] = []
                    for offset, draft in enumerate(drafts, start=1):
                        hashed = (head_id + offset, ts, *draft)
                        current = row_hash(prev, hashed)
                        rows.append((*hashed, prev, current))
                        prev = current
                    head = self._signed_head(int(rows[-1][0]), str(rows[-1][11]), ts)
                    if len(rows) == 1 and not self._sqlite:
                        # One statement, one round trip: the row and the signed head together.
                        cursor.execute(self._pg_insert_with_head, (*rows[0], *head))
                    else:
                        if len(rows) == 1:  # psycopg's executemany pipelines: more round trips
                            cursor.execute(insert_sql, rows[0])
                        else:
                            cursor.executemany(insert_sql, rows)
                        cursor.execute(self._sql(_HEAD_UPSERT), head)
                # The file line: the chain's first event, then every `checkpoint_every` events.
                crossed = head_id == 0 or (
                    (head_id + len(rows)) // self._every > head_id // self._every
                )
                return rows, crossed
            except self._integrity_error:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _signed_head(self, head_id: int, head_hash: str, ts: str) -> tuple[Any, ...]:
        """Values of the `audit_head` upsert: the head and its HMAC."""
        checkpoint = Checkpoint(kind="head", id=head_id, hash=head_hash, count=head_id, ts=ts)
        return (head_id, head_hash, ts, sign_checkpoint(self._key, checkpoint))

    @property
    def _pg_insert_with_head(self) -> str:
        insert = (
            "INSERT INTO audit_events (id, ts_utc, actor, role, department, session_id, action,"
            " object, outcome, detail_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?)"
        )
        return self._sql(f"WITH appended AS ({insert}) {_HEAD_UPSERT}")

    def _sign_existing_head(self) -> None:
        """Sign the head of a chain written before per-append signing (migration 3 just ran)."""
        with self._lock:
            try:
                with self._write_transaction() as (cursor, (head_id, head_hash)):
                    if head_id == 0:
                        return
                    ts = format_ts(self._now())
                    cursor.execute(
                        self._sql(_HEAD_UPSERT), self._signed_head(head_id, head_hash, ts)
                    )
            except self._write_errors as exc:
                raise AuditUnavailable(
                    f"audit head could not be signed: {exc}",
                    user_message=AUDIT_UNAVAILABLE_MESSAGE,
                ) from exc
        logger.info("signed the existing audit chain head at row %d", head_id)
        self._write_head_checkpoint(head_id, head_hash)

    def write_checkpoint(self) -> int | None:
        """Sign the current chain head now; returns its id (None when the chain is empty)."""
        with self._lock:
            try:
                with self._read_cursor() as cursor:
                    head_id, head_hash = self._read_head(cursor)
            except self._db_errors as exc:
                raise AuditUnavailable(
                    f"audit head unreadable: {exc}", user_message=AUDIT_UNAVAILABLE_MESSAGE
                ) from exc
            if head_id == 0:
                return None
            self._write_head_checkpoint(head_id, head_hash)
            return head_id

    def _write_head_checkpoint(self, head_id: int, head_hash: str) -> None:
        checkpoint = Checkpoint(
            kind="head", id=head_id, hash=head_hash, count=head_id, ts=format_ts(self._now())
        )
        try:
            self._make_durable()
            record = append_checkpoint(self._checkpoint_path, key=self._key, checkpoint=checkpoint)
        except OSError as exc:
            # The event is committed; the next append retries the checkpoint.
            self._checkpoint_pending = True
            logger.error("audit checkpoint write failed: %s", exc)
            raise AuditUnavailable(
                f"audit checkpoint write to {self._checkpoint_path} failed: {exc}",
                user_message=AUDIT_UNAVAILABLE_MESSAGE,
            ) from exc
        self._checkpoint_pending = False
        if self._witness is not None:
            self._witness.send(record)

    def _make_durable(self) -> None:
        """fsync the SQLite file and WAL so a checkpoint never outlives the rows it names."""
        database = self._engine.url.database if self._sqlite else None
        if not database or database == ":memory:":
            return
        for path in (database, database + "-wal"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _read_head(self, cursor: Any) -> tuple[int, str]:
        cursor.execute("SELECT id, hash FROM audit_events ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
        if row is None:  # empty table: the chain continues from the latest purge anchor, if any
            cursor.execute("SELECT id, hash FROM audit_anchors ORDER BY id DESC LIMIT 1")
            row = cursor.fetchone()
        return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS_HASH)

    @contextmanager
    def _write_transaction(self) -> Iterator[tuple[Any, tuple[int, str]]]:
        """A DBAPI cursor in a transaction holding the writer lock, and the chain head under it."""
        raw = self._engine.raw_connection()
        try:
            if self._sqlite:
                yield from self._sqlite_immediate(raw.driver_connection, info=raw.info)
            else:
                yield from self._postgres_locked(raw.driver_connection)
        finally:
            raw.close()

    def _postgres_locked(self, dbapi: Any) -> Iterator[tuple[Any, tuple[int, str]]]:
        # One round trip for BEGIN, the lock and the head (each statement of a simple query
        # takes its own READ COMMITTED snapshot, so the head is read after the lock is held);
        # psycopg's own BEGIN would cost another. Round trips dominate PostgreSQL appends.
        dbapi.autocommit = True
        cursor = dbapi.cursor()
        try:
            cursor.execute(_PG_BEGIN_LOCK_HEAD)
            while cursor.nextset():
                pass  # the last result set is the head query
            row = cursor.fetchone()
            head = (int(row[0]), str(row[1])) if row is not None else self._read_head(cursor)
            try:
                yield cursor, head
            except BaseException:
                with suppress(*self._db_errors):
                    cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        finally:
            with suppress(*self._db_errors):
                cursor.close()
                dbapi.autocommit = False

    def _sqlite_immediate(
        self, dbapi: Any, *, info: dict[Any, Any]
    ) -> Iterator[tuple[Any, tuple[int, str]]]:
        # pysqlite's implicit BEGIN is DEFERRED; with isolation_level=None the driver stays out of
        # the way and BEGIN IMMEDIATE takes the write lock up front (no read-then-upgrade race).
        isolation = dbapi.isolation_level
        dbapi.isolation_level = None
        cursor = dbapi.cursor()
        if "guidecite_synchronous" not in info:  # once per pooled connection
            info["guidecite_synchronous"] = int(cursor.execute("PRAGMA synchronous").fetchone()[0])
        # Other components share this connection: lower durability only for our transaction.
        previous = info["guidecite_synchronous"]
        try:
            if previous != _SQLITE_NORMAL or self.append_synchronous != "NORMAL":
                cursor.execute(f"PRAGMA synchronous={self.append_synchronous}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    yield cursor, self._read_head(cursor)
                except BaseException:
                    # SQLite may already have rolled back (disk full); keep the first error.
                    with suppress(*self._db_errors):
                        if dbapi.in_transaction:
                            cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            finally:
                if previous != _SQLITE_NORMAL or self.append_synchronous != "NORMAL":
                    with suppress(*self._db_errors):
                        cursor.execute(f"PRAGMA synchronous={previous}")
        finally:
            cursor.close()
            dbapi.isolation_level = isolation

    @contextmanager
    def _read_cursor(self) -> Iterator[Any]:
        raw = self._engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
                # End the read transaction so the pooled connection holds no snapshot.
                with suppress(*self._db_errors):
                    raw.rollback()
        finally:
            raw.close()

    # ----------------------------------------------------------------- checking

    def verify(self, *, batch_size: int = 5000) -> VerifyResult:
        """Recompute the whole chain and check it against the signed checkpoints."""
        checkpoints, problems = read_checkpoints(self._checkpoint_path, key=self._key)
        anchor = self._latest_anchor()
        head, head_problem = self._read_signed_head()
        if head_problem is not None:
            problems = [*problems, head_problem]
        start_id = anchor[0] if anchor is not None else 0
        return verify_chain(
            self._scan(after_id=start_id, batch_size=batch_size),
            anchor=anchor,
            checkpoints=checkpoints,
            problems=problems,
            checkpoint_every=self._every,
            head=head,
            # One node's file holds every line of a SQLite chain; PostgreSQL replicas each hold
            # only the lines they wrote, so there the database head and the witness count.
            file_required=self._sqlite,
            file_present=self._checkpoint_path.exists()
            and self._checkpoint_path.stat().st_size > 0,
        )

    def _read_signed_head(self) -> tuple[Checkpoint | None, CheckpointProblem | None]:
        """The signed head row, or the problem with it (None, None when there is none)."""
        try:
            with self._read_cursor() as cursor:
                cursor.execute("SELECT id, hash, ts_utc, hmac FROM audit_head WHERE slot = 1")
                row = cursor.fetchone()
        except self._db_errors as exc:
            raise _read_error(exc) from exc
        if row is None:
            return None, None
        head = Checkpoint(
            kind="head", id=int(row[0]), hash=str(row[1]), count=int(row[0]), ts=str(row[2])
        )
        if not hmac.compare_digest(str(row[3]), sign_checkpoint(self._key, head)):
            return None, CheckpointProblem(
                0,
                head.id,
                f"the signed head in the database (row {head.id}) has an invalid HMAC: forged or "
                "signed with another key",
            )
        return head, None

    def _latest_anchor(self) -> tuple[int, str] | None:
        try:
            with self._read_cursor() as cursor:
                cursor.execute("SELECT id, hash FROM audit_anchors ORDER BY id DESC LIMIT 1")
                row = cursor.fetchone()
        except self._db_errors as exc:
            raise _read_error(exc) from exc
        return (int(row[0]), str(row[1])) if row is not None else None

    def _scan(
        self,
        *,
        after_id: int = 0,
        where: Sequence[tuple[str, Any]] = (),
        batch_size: int = 5000,
    ) -> Iterator[Sequence[Any]]:
        """Rows in id order, fetched in keyset-paginated batches (no long-held transaction).

        `where` holds (constant SQL fragment with one `?` placeholder, bound value) pairs.
        """
        filters = "".join(f" AND {fragment}" for fragment, _ in where)
        # Only constant fragments and an int are interpolated; every value is bound.
        sql = self._sql(
            f"SELECT {_COLUMNS_SQL} FROM audit_events WHERE id > ?{filters}"  # noqa: S608
            f" ORDER BY id LIMIT {int(batch_size)}"
        )
        values = [value for _, value in where]
        last = after_id
        while True:
            try:
                with self._read_cursor() as cursor:
                    cursor.execute(sql, (last, *values))
                    batch = cursor.fetchall()
            except self._db_errors as exc:
                raise _read_error(exc) from exc
            yield from batch
            if len(batch) < batch_size:
                return
            last = int(batch[-1][0])

    # ----------------------------------------------------------------- reading

    def iter_events(
        self, *, since: datetime | None = None, actions: Collection[str] | None = None
    ) -> Iterator[AuditEvent]:
        """Events in id order, optionally from `since` and limited to some actions."""
        where: list[tuple[str, Any]] = []
        if since is not None:
            where.append(("ts_utc >= ?", format_ts(since)))
        wanted = set(actions) if actions is not None else None
        for row in self._scan(where=where):
            if wanted is None or row[6] in wanted:
                yield _to_event(row)

    def page_events(
        self,
        *,
        limit: int,
        before_id: int | None = None,
        actor: str | None = None,
        department: str | None = None,
        actions: Collection[str] | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[AuditEvent], bool]:
        """One page of events, newest first, and whether older ones match too.

        Keyset paging: the next page passes the last id shown as `before_id`, so a page costs
        the same at row 100,000 as at row 1 (no OFFSET). Order is (ts_utc, id) descending — the
        order the existing (department|actor|action, ts_utc) indexes already hold, so a filtered
        page reads about `limit` index entries instead of sorting every match (issue 16 item 9:
        under 1 ms at 100,000 events on SQLite). `until` is exclusive, `since` inclusive.
        """
        if limit <= 0:
            raise ValueError("limit must be positive")
        where: list[tuple[str, Any]] = []
        if before_id is not None:
            # Row values: the (department|actor|action, ts_utc) indexes hold (ts_utc, id) order.
            after = "(ts_utc, id) < (SELECT ts_utc, id FROM audit_events WHERE id = ?)"
            where.append((after, int(before_id)))
        if actor:
            where.append(("actor = ?", actor))
        if department:
            where.append(("department = ?", department))
        if outcome:
            where.append(("outcome = ?", outcome))
        if since is not None:
            where.append(("ts_utc >= ?", format_ts(since)))
        if until is not None:
            where.append(("ts_utc < ?", format_ts(until)))
        wanted = sorted(set(actions)) if actions else []
        values: list[Any] = [value for _, value in where]
        fragments = [fragment for fragment, _ in where]
        if wanted:
            fragments.append(f"action IN ({', '.join('?' for _ in wanted)})")
            values.extend(wanted)
        clause = f" WHERE {' AND '.join(fragments)}" if fragments else ""
        # Only constant fragments, placeholders and an int are interpolated; values are bound.
        sql = self._sql(
            f"SELECT {_COLUMNS_SQL} FROM audit_events{clause}"  # noqa: S608
            f" ORDER BY ts_utc DESC, id DESC LIMIT {int(limit) + 1}"
        )
        try:
            with self._read_cursor() as cursor:
                cursor.execute(sql, values)
                rows = cursor.fetchall()
        except self._db_errors as exc:
            raise _read_error(exc) from exc
        return [_to_event(row) for row in rows[:limit]], len(rows) > limit

    def count_events(self) -> int:
        """Number of events currently in the table (purged ones excluded)."""
        try:
            with self._read_cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM audit_events")
                return int(cursor.fetchone()[0])
        except self._db_errors as exc:
            raise _read_error(exc) from exc

    def export_events(
        self,
        *,
        fmt: Literal["jsonl", "csv"],
        since: datetime | None = None,
        department: str | None = None,
        actor: str | None = None,
    ) -> Iterator[str]:
        """Export lines (each ending in a newline); CSV starts with a header line."""
        if fmt not in ("jsonl", "csv"):
            raise InvalidInput(f"unknown export format {fmt!r}", user_message="Use jsonl or csv.")
        where: list[tuple[str, Any]] = []
        if since is not None:
            where.append(("ts_utc >= ?", format_ts(since)))
        if department is not None:
            where.append(("department = ?", department))
        if actor is not None:
            where.append(("actor = ?", actor))
        rows = self._scan(where=where)
        return jsonl_lines(rows) if fmt == "jsonl" else csv_lines(rows)

    # ----------------------------------------------------------------- retention

    def purge_before(
        self, *, before: datetime, retention_days: int, now: datetime | None = None
    ) -> int:
        """Delete the oldest events older than `before`, leaving a signed anchor; returns count."""
        if retention_days < MIN_RETENTION_DAYS:
            raise InvalidInput(
                f"retention_days={retention_days} is below the legal minimum",
                user_message=f"Audit records must be kept at least {MIN_RETENTION_DAYS} days "
                "(Cybersecurity Law: six months).",
            )
        current = now or self._now()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        if before.tzinfo is None:
            before = before.replace(tzinfo=UTC)
        limit = current - timedelta(days=retention_days)
        if before > limit:
            raise InvalidInput(
                f"purge before {format_ts(before)} would remove events younger than "
                f"{retention_days} days",
                user_message=f"Refused: audit events younger than {retention_days} days "
                "(GUIDECITE_AUDIT__RETENTION_DAYS) cannot be purged; choose a date on or before "
                f"{limit:%Y-%m-%d %H:%M} UTC.",
            )
        result = self.verify()
        if not result.ok:
            # Purging a tampered chain would destroy the evidence.
            raise AuditIntegrityError(
                f"audit chain does not verify ({result.reason}); purge refused",
                user_message="The audit chain does not verify, so nothing was purged. "
                f"First bad row: {result.first_bad_id}. Reason: {result.reason}",
            )
        with self._lock:
            try:
                return self._purge_locked(before=format_ts(before), purged_at=format_ts(current))
            except self._write_errors as exc:
                raise AuditUnavailable(
                    f"audit purge failed: {exc}",
                    user_message="The audit purge could not be completed; nothing was removed.",
                ) from exc

    def _purge_locked(self, *, before: str, purged_at: str) -> int:
        sql = self._sql
        with self._write_transaction() as (cursor, _head):
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_anchors")
            anchor_id = int(cursor.fetchone()[0])
            # Purge only a prefix of the chain: stop at the first row not older than `before`,
            # even if a later row carries an older timestamp (clock skew between replicas).
            cursor.execute(sql("SELECT MIN(id) FROM audit_events WHERE ts_utc >= ?"), (before,))
            keep_from = cursor.fetchone()[0]
            if keep_from is None:
                cursor.execute("SELECT COALESCE(MAX(id), 0) FROM audit_events")
                keep_from = int(cursor.fetchone()[0]) + 1
            last_id = int(keep_from) - 1
            if last_id <= anchor_id:
                return 0
            cursor.execute(
                sql(
                    "SELECT hash, (SELECT COUNT(*) FROM audit_events WHERE id <= ?)"
                    " FROM audit_events WHERE id = ?"
                ),
                (last_id, last_id),
            )
            last_hash, count = cursor.fetchone()
            # Signed line first: if the commit then fails, an unused signed anchor is harmless;
            # the other order could leave an unsigned anchor that reads as tampering.
            record = append_checkpoint(
                self._checkpoint_path,
                key=self._key,
                checkpoint=Checkpoint(
                    kind="purge", id=last_id, hash=str(last_hash), count=int(count), ts=purged_at
                ),
            )
            cursor.execute(
                sql(
                    "INSERT INTO audit_anchors (id, hash, purged_before, purged_at, purged_count)"
                    " VALUES (?, ?, ?, ?, ?)"
                ),
                (last_id, last_hash, before, purged_at, int(count)),
            )
            cursor.execute(sql("DELETE FROM audit_events WHERE id <= ?"), (last_id,))
        if self._witness is not None:
            self._witness.send(record)
        logger.info("purged %d audit events up to row %d", count, last_id)
        return int(count)


def open_audit_log(settings: Settings) -> AuditLog:
    """The AuditLog configured by `settings` (database, checkpoint file and key)."""
    try:
        key = deployment_key(settings)
    except OSError as exc:
        raise AuditUnavailable(
            f"audit checkpoint key unavailable: {exc}", user_message=AUDIT_UNAVAILABLE_MESSAGE
        ) from exc
    return AuditLog(
        shared_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size),
        checkpoint_path=settings.data_dir / "audit-checkpoints.jsonl",
        checkpoint_key=key,
        checkpoint_every=settings.audit.checkpoint_every,
        witness=_witness_for(settings),
    )


_witnesses: dict[tuple[str, str, float], Witness] = {}
_witnesses_guard = threading.Lock()


def _witness_for(settings: Settings) -> Witness | None:
    """One background witness per configuration per process (None when none is configured)."""
    audit = settings.audit
    if not audit.witness_url and not audit.witness_syslog:
        return None
    config = (audit.witness_url, audit.witness_syslog, audit.witness_timeout_s)
    with _witnesses_guard:
        witness = _witnesses.get(config)
        if witness is None:
            try:
                witness = Witness(
                    url=audit.witness_url,
                    syslog=audit.witness_syslog,
                    timeout_s=audit.witness_timeout_s,
                )
            except ValueError as exc:
                raise ConfigError(
                    f"bad audit witness setting: {exc}",
                    user_message=f"Configuration error in GUIDECITE_AUDIT__WITNESS_URL / "
                    f"GUIDECITE_AUDIT__WITNESS_SYSLOG: {exc}",
                ) from exc
            # Checkpoints queued just before exit (a CLI command) still go out.
            atexit.register(witness.close)
            _witnesses[config] = witness
        return witness


def _prepare(event: Mapping[str, Any]) -> tuple[str, ...]:
    """Validated fields of one event in column order (ValueError on bad fields or secrets)."""
    unknown = set(event) - {*_EVENT_FIELDS, "detail"}
    if unknown:
        raise ValueError(f"unknown audit event fields: {sorted(unknown)}")
    fields = tuple(check_text(event.get(name), field=name) for name in _EVENT_FIELDS)
    return (*fields, encode_detail(event.get("detail")))


def _to_event(row: Sequence[Any]) -> AuditEvent:
    return AuditEvent.model_construct(
        id=int(row[0]),
        ts_utc=parse_ts(row[1]),
        **dict(zip(_EVENT_FIELDS, row[2:9], strict=True)),
        detail_json=json.loads(row[9]),
        prev_hash=row[10],
        hash=row[11],
    )


def _read_error(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"audit database read failed: {exc}",
        user_message="The audit database is unavailable; check GUIDECITE_DATABASE_URL.",
    )
