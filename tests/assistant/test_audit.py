"""The hash-chained audit trail on SQLite; `SCENARIOS` also run on PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import itertools
import json
import os
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from assistant.audit.chain import GENESIS_HASH, canonical_row, chain_hash, row_hash
from assistant.audit.log import AUDIT_UNAVAILABLE_MESSAGE, AuditLog, open_audit_log
from assistant.config import Settings
from assistant.db import create_db_engine
from assistant.errors import AuditIntegrityError, AuditUnavailable, InvalidInput

KEY = b"unit-test-checkpoint-key-32bytes"
REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the log's `now` keyword."""

    def __init__(self, start: datetime = T0) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value


def make_log(engine: Engine, tmp_path: Path, **kwargs: Any) -> AuditLog:
    kwargs.setdefault("checkpoint_path", tmp_path / "checkpoints.jsonl")
    kwargs.setdefault("checkpoint_key", KEY)
    return AuditLog(engine, **kwargs)


def add(log: AuditLog, n: int, **fields: Any) -> list[Any]:
    base = {
        "actor": "dr.wang",
        "role": "doctor",
        "department": "cardiology",
        "session_id": "s-1",
        "action": "ask",
        "object": "library:hospital",
        "outcome": "answered",
    }
    base.update(fields)
    return [
        log.append_event(**base, detail={"n": i, "question": "阿司匹林剂量 [姓名1]"})
        for i in range(n)
    ]


def run_sql(engine: Engine, *statements: str, params: dict[str, Any] | None = None) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params or {})


def drop_guards(engine: Engine) -> None:
    """What a database administrator can do: remove the append-only triggers."""
    if engine.dialect.name == "sqlite":
        run_sql(
            engine,
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        )
    else:
        run_sql(engine, "DROP TRIGGER audit_events_guard ON audit_events")


def rows_by_id(engine: Engine) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM audit_events ORDER BY id"))
        return {row.id: dict(row._mapping) for row in result}


def rewrite_chain_from(engine: Engine, first_id: int) -> None:
    """Recompute prev_hash/hash of every row from `first_id` on, as a careful attacker would."""
    rows = rows_by_id(engine)
    prev = rows[first_id - 1]["hash"] if first_id > 1 else GENESIS_HASH
    with engine.begin() as conn:
        for row_id in sorted(i for i in rows if i >= first_id):
            row = rows[row_id]
            fields = {k: row[k] for k in row if k not in ("prev_hash", "hash")}
            new_hash = chain_hash(prev, canonical_row(**fields))
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE id = :i"),
                {"p": prev, "h": new_hash, "i": row_id},
            )
            prev = new_hash


# --------------------------------------------------------------------------- scenarios
# Each takes (engine, tmp_path); test_audit_postgres.py runs the same ones on PostgreSQL.


def scenario_append_links_and_reads(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    log = make_log(engine, tmp_path, now=clock)
    first = log.append_event(
        actor="dr.wang",
        role="doctor",
        department="cardiology",
        session_id="s-1",
        action="ask",
        object="library:hospital",
        outcome="answered",
        detail={"question": "成人社区获得性肺炎 [姓名1]", "scores": [0.91, 0.5]},
    )
    clock.value = T0 + timedelta(minutes=5)
    second = log.append_event(
        actor="admin.li",
        role="dept_admin",
        department="cardiology",
        session_id="s-2",
        action="role_change",
        object="user:dr.wang",
        outcome="denied",
        detail={},
    )
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.ts_utc == T0 and second.ts_utc == T0 + timedelta(minutes=5)
    assert first.detail_json == {"question": "成人社区获得性肺炎 [姓名1]", "scores": [0.91, 0.5]}
    assert log.count_events() == 2
    stored = list(log.iter_events())
    assert [e.model_dump() for e in stored] == [first.model_dump(), second.model_dump()]
    assert [e.id for e in log.iter_events(actions={"role_change"})] == [2]
    assert [e.id for e in log.iter_events(since=T0 + timedelta(minutes=1))] == [2]
    assert log.verify().model_dump() == {
        "ok": True,
        "events": 2,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 2,
        "beyond_signed_head": 0,
    }


def scenario_batch_append(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=10)
    event = {
        "actor": "ingest",
        "role": "sysadmin",
        "department": "*",
        "session_id": "cli",
        "action": "ingest",
        "object": "doc:x",
        "outcome": "ok",
        "detail": {"chunks": 3},
    }
    written = log.append_events([event] * 25)
    assert [e.id for e in written] == list(range(1, 26))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(written))
    lines = (tmp_path / "checkpoints.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [25]  # one batch crossed 10 and 20
    assert log.verify().ok


def scenario_threads(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    errors: list[BaseException] = []
    # Issue 4 asks 8 × 500 on SQLite; on PostgreSQL every commit waits for fsync, so fewer
    # keep CI short (two processes × 500 cover it there).
    per_thread = 500 if engine.dialect.name == "sqlite" else 150
    total = 8 * per_thread

    def worker(k: int) -> None:
        try:
            for i in range(per_thread):
                log.append_event(
                    actor=f"user{k}",
                    role="doctor",
                    department="cardiology",
                    session_id=f"s{k}",
                    action="ask",
                    object="library:hospital",
                    outcome="answered",
                    detail={"i": i},
                )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert log.count_events() == total
    result = log.verify()
    assert (result.ok, result.events) == (True, total)
    per_actor: dict[str, int] = {}
    for event in log.iter_events():
        per_actor[event.actor] = per_actor.get(event.actor, 0) + 1
    assert per_actor == {f"user{k}": per_thread for k in range(8)}
    checkpoints = [json.loads(x) for x in (tmp_path / "checkpoints.jsonl").read_text().split()]
    # The chain's first event, then every 100th.
    assert sorted(c["id"] for c in checkpoints) == [1, *range(100, total + 1, 100)]


def scenario_guards_block_app_edits(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 3)
    with pytest.raises(Exception, match="append-only"):
        run_sql(engine, "UPDATE audit_events SET outcome = 'x' WHERE id = 2")
    with pytest.raises(Exception, match="only by a purge"):
        run_sql(engine, "DELETE FROM audit_events WHERE id = 2")
    assert log.verify().ok


def scenario_edit_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 20)
    drop_guards(engine)
    run_sql(engine, "UPDATE audit_events SET outcome = 'denied' WHERE id = 7")
    result = log.verify()
    assert (result.ok, result.first_bad_id, result.events) == (False, 7, 6)
    assert "row 7 does not match its hash" in (result.reason or "")


def scenario_detail_edit_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 5)
    drop_guards(engine)
    # Same JSON meaning, different bytes: still an edit of the stored record.
    run_sql(
        engine,
        "UPDATE audit_events SET detail_json = :d WHERE id = 3",
        params={"d": '{"n": 2, "question": "阿司匹林剂量 [姓名1]"}'},
    )
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 3)


def scenario_delete_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 20)
    drop_guards(engine)
    run_sql(engine, "DELETE FROM audit_events WHERE id = 7")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 7)
    assert "row 7 is missing" in (result.reason or "")


def scenario_tail_delete_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=5)
    add(log, 12)
    drop_guards(engine)
    run_sql(engine, "DELETE FROM audit_events WHERE id >= 10")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 10)
    assert "removed from the end" in (result.reason or "")


def scenario_reorder_ids_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 20)
    drop_guards(engine)
    run_sql(
        engine,
        "UPDATE audit_events SET id = -1 WHERE id = 7",
        "UPDATE audit_events SET id = 7 WHERE id = 8",
        "UPDATE audit_events SET id = 8 WHERE id = -1",
    )
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 7)
    assert "does not link to row 6" in (result.reason or "")


def scenario_swap_contents_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    for i in range(10):
        add(log, 1, actor=f"actor{i}")
    drop_guards(engine)
    rows = rows_by_id(engine)
    columns = [c for c in rows[4] if c != "id"]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    with engine.begin() as conn:
        for target, source in ((4, 5), (5, 4)):
            conn.execute(
                text(f"UPDATE audit_events SET {assignments} WHERE id = :id"),
                {**{c: rows[source][c] for c in columns}, "id": target},
            )
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 4)


def scenario_consistent_rewrite_caught_by_checkpoint(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=10)
    add(log, 25)
    drop_guards(engine)
    run_sql(engine, "UPDATE audit_events SET outcome = 'refused' WHERE id = 13")
    rewrite_chain_from(engine, 13)
    # The rewritten chain is internally consistent, but the signed line at row 20 no longer
    # matches (and neither would the signed head at row 25).
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 20)
    assert "signed checkpoint" in (result.reason or "")
    assert "11..20" in (result.reason or "")


def scenario_forged_checkpoint_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=10)
    add(log, 25)
    path = tmp_path / "checkpoints.jsonl"
    good = path.read_text()
    line = json.loads(good.splitlines()[0])
    # An attacker who rewrote the chain writes a matching checkpoint without the key.
    line.update(id=30, hash="ab" * 32, count=30)
    line["hmac"] = hmac.new(b"guessed-key", b"30|" + b"ab" * 32 + b"|30|head", hashlib.sha256)
    line["hmac"] = line["hmac"].hexdigest()
    path.write_text(good + json.dumps(line) + "\n")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 30)
    assert "invalid HMAC" in (result.reason or "")


def scenario_purge(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    log = make_log(engine, tmp_path, now=clock, checkpoint_every=10)
    for day in range(30):  # one event a day for 30 days, 3 per day
        clock.value = T0 + timedelta(days=day)
        add(log, 3)
    clock.value = T0 + timedelta(days=200)
    with pytest.raises(InvalidInput) as refused:
        log.purge_before(before=T0 + timedelta(days=25), retention_days=180)
    assert "younger than 180 days" in refused.value.user_message
    with pytest.raises(InvalidInput):
        log.purge_before(before=T0, retention_days=30)  # below the legal minimum
    assert log.count_events() == 90
    purged = log.purge_before(before=T0 + timedelta(days=10), retention_days=180)
    assert purged == 30
    assert log.count_events() == 60
    assert min(e.id or 0 for e in log.iter_events()) == 31
    assert log.verify().model_dump() == {
        "ok": True,
        "events": 60,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 90,
        "beyond_signed_head": 0,
    }
    assert log.purge_before(before=T0 + timedelta(days=10), retention_days=180) == 0
    add(log, 5)
    assert log.verify().events == 65
    lines = [json.loads(x) for x in (tmp_path / "checkpoints.jsonl").read_text().split()]
    assert [(x["id"], x["count"]) for x in lines if x["kind"] == "purge"] == [(30, 30)]


def scenario_unsigned_anchor_detected(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path, checkpoint_every=1000)
    events = add(log, 10)
    # A DBA hides rows 1-4 by faking a purge anchor: it has no signed purge line.
    run_sql(
        engine,
        "INSERT INTO audit_anchors VALUES (4, :h, 'x', 'x', 4)",
        params={"h": events[3].hash},
    )
    run_sql(engine, "DELETE FROM audit_events WHERE id <= 4")
    result = log.verify()
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert "no matching signed purge checkpoint" in (result.reason or "")


def scenario_purge_refuses_tampered_chain(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    log = make_log(engine, tmp_path, now=clock)
    add(log, 5)
    drop_guards(engine)
    run_sql(engine, "UPDATE audit_events SET actor = 'someone' WHERE id = 2")
    clock.value = T0 + timedelta(days=365)
    with pytest.raises(AuditIntegrityError):
        log.purge_before(before=T0 + timedelta(days=1), retention_days=180)
    assert log.count_events() == 5


def scenario_export(engine: Engine, tmp_path: Path) -> None:
    clock = Clock()
    log = make_log(engine, tmp_path, now=clock)
    add(log, 2, actor="dr.wang", department="cardiology")
    clock.value = T0 + timedelta(days=1)
    add(log, 2, actor="dr.zhao", department="oncology", object="=HYPERLINK(1)")
    add(log, 1, actor="dr.wang", department="oncology")

    jsonl = [json.loads(x) for x in log.export_events(fmt="jsonl")]
    assert [x["id"] for x in jsonl] == [1, 2, 3, 4, 5]
    # An exported line carries what is needed to re-check its hash outside GuideCite.
    for record in jsonl:
        detail = json.dumps(
            record["detail_json"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        fields = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
        fields["detail_json"] = detail
        assert chain_hash(record["prev_hash"], canonical_row(**fields)) == record["hash"]

    onc = [json.loads(x) for x in log.export_events(fmt="jsonl", department="oncology")]
    assert [(x["id"], x["actor"]) for x in onc] == [(3, "dr.zhao"), (4, "dr.zhao"), (5, "dr.wang")]
    wang_since = list(
        log.export_events(fmt="jsonl", actor="dr.wang", since=T0 + timedelta(hours=1))
    )
    assert [json.loads(x)["id"] for x in wang_since] == [5]

    lines = list(log.export_events(fmt="csv", department="oncology"))
    assert all(line.endswith("\n") for line in lines)
    table = list(csv.DictReader(io.StringIO("".join(lines))))
    assert list(table[0]) == [
        "id",
        "ts_utc",
        "actor",
        "role",
        "department",
        "session_id",
        "action",
        "object",
        "outcome",
        "detail_json",
        "prev_hash",
        "hash",
    ]
    assert [r["id"] for r in table] == ["3", "4", "5"]
    assert table[0]["object"] == "'=HYPERLINK(1)"  # no formula when opened in a spreadsheet
    assert json.loads(table[2]["detail_json"]) == {"n": 0, "question": "阿司匹林剂量 [姓名1]"}
    assert table[2]["ts_utc"] == "2025-01-02T08:00:00.000000Z"
    with pytest.raises(InvalidInput):
        list(log.export_events(fmt="xml"))  # type: ignore[arg-type]


def scenario_dropped_table_fails_closed(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    add(log, 2)
    run_sql(engine, "DROP TABLE audit_events")
    with pytest.raises(AuditUnavailable) as failed:
        add(log, 1)
    assert failed.value.user_message == AUDIT_UNAVAILABLE_MESSAGE
    assert failed.value.exit_code == 4


def scenario_ensure_writable_writes_nothing_and_fails_closed(
    engine: Engine, tmp_path: Path
) -> None:
    log = make_log(engine, tmp_path)
    add(log, 2)
    log.ensure_writable()  # takes and releases the writer lock, writes nothing
    assert log.count_events() == 2 and log.verify().ok
    add(log, 1)  # the lock was released
    run_sql(engine, "DROP TABLE audit_events")
    with pytest.raises(AuditUnavailable) as failed:
        log.ensure_writable()
    assert "nothing was changed" in failed.value.user_message


SCENARIOS: list[Callable[[Engine, Path], None]] = [
    scenario_ensure_writable_writes_nothing_and_fails_closed,
    scenario_append_links_and_reads,
    scenario_batch_append,
    scenario_threads,
    scenario_guards_block_app_edits,
    scenario_edit_detected,
    scenario_detail_edit_detected,
    scenario_delete_detected,
    scenario_tail_delete_detected,
    scenario_reorder_ids_detected,
    scenario_swap_contents_detected,
    scenario_consistent_rewrite_caught_by_checkpoint,
    scenario_forged_checkpoint_detected,
    scenario_purge,
    scenario_unsigned_anchor_detected,
    scenario_purge_refuses_tampered_chain,
    scenario_export,
    scenario_dropped_table_fails_closed,
]


# --------------------------------------------------------------------------- SQLite


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    yield eng
    eng.dispose()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("scenario_"))
def test_sqlite(scenario: Callable[[Engine, Path], None], engine: Engine, tmp_path: Path) -> None:
    scenario(engine, tmp_path)


@pytest.mark.parametrize(
    "detail",
    [
        {"password": "hunter2hunter2"},
        {"Password": "x"},
        {"api_key": "sk-1"},
        {"apiKey": "sk-1"},
        {"API-KEY": "sk-1"},
        {"access_token": "t"},
        {"client_secret": "s"},
        {"sources": [{"n": 1, "meta": {"db_password": "x"}}]},
    ],
)
def test_credential_keys_rejected(detail: dict[str, Any], engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    with pytest.raises(ValueError, match="credentials"):
        log.append_event(
            actor="a",
            role="sysadmin",
            department="*",
            session_id="s",
            action="login",
            object="user:a",
            outcome="ok",
            detail=detail,
        )
    assert log.count_events() == 0


def test_usage_counts_are_not_credentials(engine: Engine, tmp_path: Path) -> None:
    log = make_log(engine, tmp_path)
    event = log.append_event(
        actor="a",
        role="doctor",
        department="d",
        session_id="s",
        action="ask",
        object="library:hospital",
        outcome="answered",
        detail={"prompt_tokens": 812, "completion_tokens": 95, "keywords": ["x"]},
    )
    assert event.detail_json["prompt_tokens"] == 812


def test_unusable_database_path_fails_closed(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-directory.db"
    folder.mkdir()
    with pytest.raises(AuditUnavailable) as failed:
        make_log(create_db_engine(f"sqlite:///{folder}"), tmp_path)
    assert failed.value.user_message == AUDIT_UNAVAILABLE_MESSAGE


def test_unwritable_checkpoint_file_fails_closed(engine: Engine, tmp_path: Path) -> None:
    blocked = tmp_path / "checkpoints-dir"
    blocked.mkdir()
    log = make_log(engine, tmp_path, checkpoint_path=blocked, checkpoint_every=2)
    with pytest.raises(AuditUnavailable):
        add(log, 1)  # the chain's first event gets a line
    blocked.rmdir()  # the file becomes writable: the pending checkpoint is written next time
    add(log, 1)
    assert [json.loads(x)["id"] for x in blocked.read_text().split()] == [2]
    assert log.count_events() == 2 and log.verify().ok


def test_open_audit_log_key_file(tmp_path: Path) -> None:
    settings = Settings()
    log = open_audit_log(settings)
    add(log, 3)
    assert log.write_checkpoint() == 3
    key_file = settings.data_dir / "audit-checkpoint.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_hex = key_file.read_text().strip()
    assert len(bytes.fromhex(key_hex)) == 32
    database = (settings.data_dir / "guidecite.db").read_bytes()
    assert key_hex.encode() not in database and bytes.fromhex(key_hex) not in database
    assert (settings.data_dir / "audit-checkpoints.jsonl").exists()
    again = open_audit_log(settings)  # same key file reused: the checkpoints still verify
    assert again.verify().ok


def test_open_audit_log_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDECITE_AUDIT__CHECKPOINT_KEY", "a-key-from-the-secret-store")
    settings = Settings()
    log = open_audit_log(settings)
    add(log, 2)
    log.write_checkpoint()
    assert not (settings.data_dir / "audit-checkpoint.key").exists()
    monkeypatch.setenv("GUIDECITE_AUDIT__CHECKPOINT_KEY", "another-key")
    result = open_audit_log(Settings()).verify()
    assert not result.ok and "invalid HMAC" in (result.reason or "")


WORKER = """
import sys
from pathlib import Path
from assistant.audit.log import AuditLog
from assistant.db import create_db_engine
url, checkpoints, key, n, tag = sys.argv[1:]
log = AuditLog(create_db_engine(url), checkpoint_path=Path(checkpoints),
               checkpoint_key=bytes.fromhex(key))
for i in range(int(n)):
    log.append_event(actor=tag, role="doctor", department="cardiology", session_id=tag,
                     action="ask", object="library:hospital", outcome="answered",
                     detail={"i": i})
"""


def run_two_processes(url: str, tmp_path: Path, *, per_process: int) -> None:
    """Two OS processes append concurrently to the same database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDECITE_")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                str(tmp_path / "checkpoints.jsonl"),
                KEY.hex(),
                str(per_process),
                f"proc{k}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def test_two_processes_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    engine = create_db_engine(url)
    make_log(engine, tmp_path)  # migrate first, as `guidecite init` does
    run_two_processes(url, tmp_path, per_process=300)
    log = make_log(engine, tmp_path)
    assert log.count_events() == 600
    assert log.verify().model_dump() == {
        "ok": True,
        "events": 600,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 600,
        "beyond_signed_head": 0,
    }
    actors = [e.actor for e in log.iter_events()]
    assert actors.count("proc0") == actors.count("proc1") == 300


# --------------------------------------------------------------------------- properties

_field_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _field_text
_json = st.recursive(
    _json_leaf | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "分数", "n"]), children, max_size=3)
    ),
    max_leaves=8,
)
_event = st.fixed_dictionaries(
    {
        "actor": _field_text,
        "role": st.sampled_from(["doctor", "dept_admin", "sysadmin"]),
        "department": _field_text,
        "session_id": st.text("0123456789abcdef", max_size=8),
        "action": st.sampled_from(["ask", "login", "export", "feedback"]),
        "object": _field_text,
        "outcome": st.sampled_from(["answered", "denied", "error"]),
        "detail": st.dictionaries(st.sampled_from(["q", "answer", "flags"]), _json, max_size=3),
    }
)
_MUTABLE = (
    "id",
    "ts_utc",
    "actor",
    "role",
    "department",
    "session_id",
    "action",
    "object",
    "outcome",
    "detail_json",
    "prev_hash",
    "hash",
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(_event, min_size=1, max_size=6),
    target=st.integers(min_value=0),
    field=st.sampled_from(_MUTABLE),
    suffix=_field_text.filter(bool),
)
def test_any_chain_verifies_and_any_field_edit_is_caught(
    events: list[dict[str, Any]], target: int, field: str, suffix: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'audit.db'}")
        try:
            log = make_log(engine, Path(folder), checkpoint_every=1000)
            written = log.append_events(events)
            assert log.verify().model_dump() == {
                "ok": True,
                "events": len(events),
                "first_bad_id": None,
                "reason": None,
                "signed_head_id": len(events),
                "beyond_signed_head": 0,
            }
            victim = written[target % len(written)]
            drop_guards(engine)
            if field == "id":
                new_value: Any = 10_000
            elif field == "ts_utc":
                new_value = "2031-02-03T04:05:06.000007Z"
            elif field in ("prev_hash", "hash"):
                new_value = hashlib.sha256(suffix.encode()).hexdigest()
            else:
                new_value = rows_by_id(engine)[victim.id][field] + suffix
            run_sql(
                engine,
                f"UPDATE audit_events SET {field} = :v WHERE id = :i",
                params={"v": new_value, "i": victim.id},
            )
            result = log.verify()
            assert not result.ok
            assert result.first_bad_id == victim.id
        finally:
            engine.dispose()


@settings(max_examples=200, deadline=None)
@given(event=_event, row_id=st.integers(1, 2**62), prev=st.text("0123456789abcdef", max_size=64))
def test_fast_row_hash_equals_canonical_definition(
    event: dict[str, Any], row_id: int, prev: str
) -> None:
    fields = {k: v for k, v in event.items() if k != "detail"}
    fields["detail_json"] = json.dumps(event["detail"], ensure_ascii=False, sort_keys=True)
    fields["ts_utc"] = "2025-01-01T00:00:00.000000Z"
    reference = chain_hash(prev, canonical_row(id=row_id, **fields))
    as_stored = (row_id, fields["ts_utc"], *(fields[k] for k in _MUTABLE[2:10]))
    assert row_hash(prev, as_stored) == reference
