"""The chain head signed on every append (issue 13 item 3), the checkpoint file as a required
second copy on SQLite, and the off-host witness (HTTP and syslog).

The tail scenarios reproduce the outside probe: 104 rows with a checkpoint line every 100, then
the last rows deleted, edited and re-hashed, or truncated with the checkpoint file removed. Each
left `audit verify` at ok before the head was signed on every append. They run on SQLite and,
when GUIDECITE_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from assistant.audit.chain import canonical_row, chain_hash
from assistant.audit.checkpoints import Checkpoint, sign_checkpoint
from assistant.audit.log import open_audit_log
from assistant.audit.witness import Witness
from assistant.config import Settings
from assistant.db import create_db_engine
from tests.assistant.test_audit import (
    KEY,
    add,
    drop_guards,
    make_log,
    rewrite_chain_from,
    rows_by_id,
    run_sql,
)


def drop_head_guards(engine: Engine) -> None:
    """A DBA removing the triggers that keep the signed head moving forward only."""
    if engine.dialect.name == "sqlite":
        run_sql(engine, "DROP TRIGGER audit_head_forward", "DROP TRIGGER audit_head_no_delete")
    else:
        run_sql(engine, "DROP TRIGGER audit_head_guard ON audit_head")


def head_row(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT id, hash, ts_utc, hmac FROM audit_head")).one()
        return dict(row._mapping)


# --------------------------------------------------------------------------- the probe's attacks


def scenario_last_rows_deleted(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=100)
    add(log, 104)
    assert log.verify().model_dump() == {
        "ok": True,
        "events": 104,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 104,
        "beyond_signed_head": 0,
    }
    drop_guards(engine)
    run_sql(engine, "DELETE FROM audit_events WHERE id > 101")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 102)
    assert "names row 104" in (result.reason or "")


def scenario_last_row_edited_and_rehashed(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=100)
    add(log, 104)
    drop_guards(engine)
    run_sql(engine, "UPDATE audit_events SET outcome = 'refused' WHERE id = 103")
    rewrite_chain_from(engine, 103)
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 104)
    assert "signed checkpoint" in (result.reason or "")


def scenario_checkpoint_file_removed_and_truncated(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=100)
    add(log, 104)
    (tmp_path / "checkpoints.jsonl").unlink()
    drop_guards(engine)
    run_sql(engine, "DELETE FROM audit_events WHERE id > 99")
    result = log.verify()
    assert not result.ok
    assert "names row 104" in (result.reason or "")


def scenario_head_guards(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 3)
    for statement in ("UPDATE audit_head SET id = 2", "DELETE FROM audit_head"):
        with pytest.raises(DBAPIError):
            run_sql(engine, statement)
    assert head_row(engine)["id"] == 3


def scenario_forged_head_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 5)
    drop_guards(engine)
    run_sql(engine, "DELETE FROM audit_events WHERE id > 3")
    rows = rows_by_id(engine)
    drop_head_guards(engine)  # the head only moves forward unless a DBA drops the guard
    # Claim row 3 is the head, without the key.
    run_sql(engine, "UPDATE audit_head SET id = 3, hash = :h", params={"h": rows[3]["hash"]})
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 3)
    assert "invalid HMAC" in (result.reason or "")


def scenario_rows_appended_outside_guidecite_are_counted(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 4)
    last = rows_by_id(engine)[4]
    fields = {k: last[k] for k in last if k not in ("prev_hash", "hash")} | {"id": 5}
    new_hash = chain_hash(last["hash"], canonical_row(**fields))
    columns = ", ".join(fields)
    values = ", ".join(f":{k}" for k in fields)
    run_sql(
        engine,
        f"INSERT INTO audit_events ({columns}, prev_hash, hash) VALUES ({values}, :p, :h)",
        params={**fields, "p": last["hash"], "h": new_hash},
    )
    result = log.verify()
    assert (result.ok, result.events, result.signed_head_id, result.beyond_signed_head) == (
        True,
        5,
        4,
        1,
    )
    add(log, 1)  # the next append signs a head that covers it
    assert log.verify().beyond_signed_head == 0


def scenario_empty_chain_needs_no_file(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    result = log.verify()
    assert (result.ok, result.events, result.signed_head_id) == (True, 0, None)
    assert not (tmp_path / "checkpoints.jsonl").exists()


def scenario_existing_chain_signed_by_the_upgrade(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=100)
    add(log, 150)
    # Back to the schema of the previous release: no signed head table (audit migration 2).
    drop_head_guards(engine)
    run_sql(
        engine,
        "DROP TABLE audit_head",
        "DELETE FROM schema_migrations WHERE component = 'audit' AND version = 3",
    )
    if engine.dialect.name == "postgresql":
        run_sql(engine, "DROP FUNCTION audit_head_guard()")
    upgraded = make_log(engine, tmp_path, checkpoint_every=100)  # applies migration 3
    assert head_row(engine)["id"] == 150
    assert upgraded.verify().model_dump(include={"ok", "signed_head_id"}) == {
        "ok": True,
        "signed_head_id": 150,
    }


HEAD_SCENARIOS: list[Callable[[Engine, Path], None]] = [
    scenario_last_rows_deleted,
    scenario_last_row_edited_and_rehashed,
    scenario_checkpoint_file_removed_and_truncated,
    scenario_head_guards,
    scenario_forged_head_detected,
    scenario_rows_appended_outside_guidecite_are_counted,
    scenario_empty_chain_needs_no_file,
    scenario_existing_chain_signed_by_the_upgrade,
]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    yield engine
    engine.dispose()


@pytest.mark.parametrize("scenario", HEAD_SCENARIOS, ids=lambda s: s.__name__[9:])
def test_sqlite(
    scenario: Callable[[Engine, Path], None], sqlite_engine: Engine, tmp_path: Path
) -> None:
    scenario(sqlite_engine, tmp_path)


@pytest.mark.postgres
@pytest.mark.parametrize("scenario", HEAD_SCENARIOS, ids=lambda s: s.__name__[9:])
def test_postgres(
    scenario: Callable[[Engine, Path], None], pg_engine: Engine, tmp_path: Path
) -> None:
    scenario(pg_engine, tmp_path)


# --------------------------------------------------------------------------- the file (SQLite)


def test_missing_checkpoint_file_fails_on_sqlite(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = make_log(sqlite_engine, tmp_path)
    add(log, 5)  # fewer than checkpoint_every: the first event still got a line
    (tmp_path / "checkpoints.jsonl").unlink()
    result = log.verify()
    assert not result.ok and "checkpoint file is missing" in (result.reason or "")
    (tmp_path / "checkpoints.jsonl").write_bytes(b"")
    assert "missing or empty" in (log.verify().reason or "")


def test_shortened_checkpoint_file_fails_on_sqlite(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = make_log(sqlite_engine, tmp_path, checkpoint_every=10)
    add(log, 25)
    path = tmp_path / "checkpoints.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    assert [json.loads(x)["id"] for x in lines] == [1, 10, 20]
    path.write_text("".join(lines[:-1]))
    result = log.verify()
    assert not result.ok and "ends at row 10" in (result.reason or "")


def test_replayed_old_head_with_file_removed_fails_on_sqlite(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    # A DBA who saved the signed head at row 99 truncates to it and restores that head: the
    # database alone cannot tell (docs/security.md); the required file can.
    log = make_log(sqlite_engine, tmp_path, checkpoint_every=100)
    add(log, 99)
    saved = head_row(sqlite_engine)
    add(log, 5)
    drop_guards(sqlite_engine)
    drop_head_guards(sqlite_engine)
    run_sql(sqlite_engine, "DELETE FROM audit_events WHERE id > 99")
    run_sql(
        sqlite_engine,
        "UPDATE audit_head SET id = :id, hash = :hash, ts_utc = :ts_utc, hmac = :hmac",
        params=saved,
    )
    assert not log.verify().ok  # the line for row 100 still names the removed row
    (tmp_path / "checkpoints.jsonl").unlink()
    result = log.verify()
    assert not result.ok and "checkpoint file is missing" in (result.reason or "")


def test_append_signs_head_in_database(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = make_log(sqlite_engine, tmp_path, checkpoint_every=1000)
    events = add(log, 3)
    row = head_row(sqlite_engine)
    assert (row["id"], row["hash"]) == (3, events[-1].hash)
    expected = sign_checkpoint(KEY, Checkpoint("head", 3, events[-1].hash, 3, row["ts_utc"]))
    assert row["hmac"] == expected
    log.append_events([dict(actor="a", role="r", department="d", session_id="s",
                            action="ask", object="o", outcome="ok")] * 4)  # fmt: skip
    assert head_row(sqlite_engine)["id"] == 7


# --------------------------------------------------------------------------- witness


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_witness() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/checkpoints", received
    finally:
        server.shutdown()
        server.server_close()


def test_http_and_syslog_witness_receive_signed_checkpoints(
    http_witness: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = http_witness
    syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    syslog.bind(("127.0.0.1", 0))
    syslog.settimeout(5)
    monkeypatch.setenv("GUIDECITE_AUDIT__WITNESS_URL", url)
    monkeypatch.setenv("GUIDECITE_AUDIT__WITNESS_SYSLOG", f"127.0.0.1:{syslog.getsockname()[1]}")
    monkeypatch.setenv("GUIDECITE_AUDIT__CHECKPOINT_EVERY", "10")
    settings = Settings()
    log = open_audit_log(settings)
    events = add(log, 25)
    witness = log.witness  # the test waits for the background sender
    assert witness is not None and witness.flush(10)
    key = bytes.fromhex((settings.data_dir / "audit-checkpoint.key").read_text().strip())
    assert [r["id"] for r in received] == [1, 10, 20]
    for record in received:
        checkpoint = Checkpoint(
            record["kind"], record["id"], record["hash"], record["count"], record["ts"]
        )
        assert record["hmac"] == sign_checkpoint(key, checkpoint)
        assert record["hash"] == events[record["id"] - 1].hash
    # The witness holds the same lines as the file on the database host.
    file_lines = [json.loads(x) for x in (settings.data_dir / "audit-checkpoints.jsonl").open()]
    assert received == file_lines
    datagrams = [syslog.recv(4096).decode() for _ in range(3)]
    syslog.close()
    assert all(d.startswith("<110>1 ") and "guidecite-audit" in d for d in datagrams)
    assert [json.loads(d[d.index("{") :])["id"] for d in datagrams] == [1, 10, 20]


def test_dead_witness_never_blocks_an_append(tmp_path: Path) -> None:
    # Nothing listens on this port: the sender fails in the background, appends go on.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    witness = Witness(url=f"http://127.0.0.1:{port}/", timeout_s=0.5)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    log = make_log(engine, tmp_path, checkpoint_every=1, witness=witness)
    started = time.perf_counter()
    add(log, 5)
    assert time.perf_counter() - started < 2.0
    assert witness.flush(10)
    assert (witness.sent, witness.failures) == (0, 5)
    assert log.verify().ok
    witness.close()
    engine.dispose()
