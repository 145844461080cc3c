"""Several app replicas on one PostgreSQL database (issue 8 item 3, DESIGN.md §8).

Each replica is a separate OS process configured only through GUIDECITE_* variables, exactly as
compose.yaml configures the app containers. Skipped unless GUIDECITE_TEST_DATABASE_URL points at
a server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); each test creates its own
database and drops it afterwards.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.db import create_db_engine
from assistant.domain import Principal, Role

pytestmark = pytest.mark.postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
PER_PROCESS = 300
# A policy change must reach the other replica within this many seconds (access.RECHECK_S = 1).
PROPAGATION_DEADLINE_S = 5.0

AUDIT_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from assistant.audit.log import open_audit_log
    from assistant.config import get_settings

    go, count, actor = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    log = open_audit_log(get_settings())
    Path(sys.argv[4]).touch()  # ready
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        log.append_event(actor=actor, role="doctor", department="cardiology",
                         session_id=f"{actor}-{i}", action="ask", object="library:hospital",
                         outcome="answered", detail={"i": i})
    """
)

POLICY_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from assistant.access import AccessControl
    from assistant.config import get_settings
    from assistant.domain import Principal, Role

    control = Path(sys.argv[1])
    access = AccessControl.open(get_settings())
    root = Principal(user="root", role=Role.SYSADMIN, department="*")

    def step(name):
        (control / f"{name}.ready").touch()
        while not (control / f"{name}.go").exists():
            time.sleep(0.005)

    step("grant")
    access.assign_role(user="dr.li", role=Role.DOCTOR, department="cardiology")
    access.assign_library(library="cardiology", department="cardiology")
    (control / "granted").write_text(repr(time.monotonic()))
    step("revoke")
    access.revoke_library(root, library="cardiology", department="cardiology")
    (control / "revoked").write_text(repr(time.monotonic()))
    """
)


def replica_env(*, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of one app replica: only GUIDECITE_* settings differ from ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDECITE_")}
    env |= {
        "GUIDECITE_DATABASE_URL": database_url,
        # Shared storage for the checkpoint file and key, as docs/deploy.md requires.
        "GUIDECITE_DATA_DIR": str(data_dir),
        **extra,
    }
    return env


def start(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, procs: list[subprocess.Popen[str]], *, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        for proc in procs:
            if proc.poll() is not None and proc.returncode != 0:
                raise AssertionError(proc.stderr.read() if proc.stderr else proc.returncode)
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.01)


def finish(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err


def test_two_replicas_appending_concurrently_keep_one_valid_chain(
    pg_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared-data"
    env = replica_env(database_url=pg_url, data_dir=shared, GUIDECITE_AUDIT__CHECKPOINT_EVERY="50")
    go = tmp_path / "go"
    procs = [
        start(
            AUDIT_WORKER, str(go), str(PER_PROCESS), f"replica{k}", str(tmp_path / f"r{k}"), env=env
        )
        for k in range(2)
    ]
    for k in range(2):
        wait_for(tmp_path / f"r{k}", procs)
    go.touch()  # both replicas start appending at the same moment
    finish(procs)

    settings = Settings(database_url=pg_url, data_dir=shared)
    settings.audit.checkpoint_every = 50
    log = open_audit_log(settings)
    total = 2 * PER_PROCESS
    assert log.verify().model_dump() == {
        "ok": True,
        "events": total,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": total,
        "beyond_signed_head": 0,
    }
    events = list(log.iter_events())
    assert [e.id for e in events] == list(range(1, total + 1))
    actors = [e.actor for e in events]
    assert actors.count("replica0") == actors.count("replica1") == PER_PROCESS
    # The appends really interleaved (a serial run would switch actor once).
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches > 1
    # Each replica's own events are in its own order: nothing reordered or lost.
    for actor in ("replica0", "replica1"):
        mine = [e.detail_json["i"] for e in events if e.actor == actor]
        assert mine == list(range(PER_PROCESS))
    # Both replicas signed heads into the one shared checkpoint file, all with the one key.
    lines = (shared / "audit-checkpoints.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= total // 50
    key_files = list(shared.glob("audit-checkpoint.key"))
    assert len(key_files) == 1


def test_policy_change_in_one_replica_reaches_the_other(pg_url: str, tmp_path: Path) -> None:
    shared = tmp_path / "shared-data"
    settings = Settings(database_url=pg_url, data_dir=shared)
    engine = create_db_engine(pg_url)
    try:
        replica_b = AccessControl(engine)
        replica_b.seed_defaults()
        replica_b.assign_role(user="root", role=Role.SYSADMIN, department="*")
        doctor = Principal(user="dr.li", role=Role.DOCTOR, department="cardiology")
        assert not replica_b.can(doctor, "read", "library:cardiology")
        assert not replica_b.can(doctor, "ask", "page:chat")

        control = tmp_path / "control"
        control.mkdir()
        replica_a = start(
            POLICY_WORKER,
            str(control),
            env=replica_env(database_url=pg_url, data_dir=settings.data_dir),
        )

        wait_for(control / "grant.ready", [replica_a])
        (control / "grant.go").touch()
        wait_for(control / "granted", [replica_a])
        granted_at = float((control / "granted").read_text())
        seen_at = poll_until(lambda: replica_b.can(doctor, "read", "library:cardiology"))
        assert replica_b.can(doctor, "ask", "page:chat")
        assert "cardiology" in replica_b.readable_libraries(doctor)
        assert seen_at - granted_at < PROPAGATION_DEADLINE_S

        wait_for(control / "revoke.ready", [replica_a])
        (control / "revoke.go").touch()
        wait_for(control / "revoked", [replica_a])
        revoked_at = float((control / "revoked").read_text())
        gone_at = poll_until(lambda: not replica_b.can(doctor, "read", "library:cardiology"))
        assert "cardiology" not in replica_b.readable_libraries(doctor)
        assert replica_b.can(doctor, "read", "library:hospital")  # only the revoked grant went
        assert gone_at - revoked_at < PROPAGATION_DEADLINE_S
        finish([replica_a])
    finally:
        engine.dispose()


def poll_until(check: Callable[[], bool], *, timeout: float = PROPAGATION_DEADLINE_S) -> float:
    """Call `check` until it returns True; the monotonic time it did (fails at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return time.monotonic()
        assert time.monotonic() < deadline, "the other replica did not see the change in time"
        time.sleep(0.05)
