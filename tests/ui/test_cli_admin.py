"""The administrative CLI (issue 4), driven with CliRunner; assertions on what it stored."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from assistant.access import AccessControl
from assistant.accounts import TOTP_REQUIRED_ROLES, Accounts
from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.db import shared_engine
from assistant.domain import AuditEvent
from assistant.service.admin import demo_users
from tests.factories import open_accounts, open_fast_context
from ui.cli import app, common
from ui.cli.common import operator_name

runner = CliRunner()
PASSWORD = "violet staple orbit 42"


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for the CLI (test_users_add_reads_the_password_from_stdin keeps
    the production ones)."""
    monkeypatch.setattr(common, "open_context", open_fast_context)


def invoke(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def stored_events() -> list[AuditEvent]:
    return list(open_audit_log(get_settings()).iter_events())


def fresh_access() -> AccessControl:
    return AccessControl.open(get_settings())


def policy_snapshot() -> tuple[object, ...]:
    access = fresh_access()
    return (tuple(access.list_role_assignments()), tuple(access.list_library_grants()))


def every_audit_cell() -> str:
    with shared_engine(get_settings().sqlalchemy_url).connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events")).all()
    return "\n".join(str(cell) for row in rows for cell in row)


@pytest.fixture
def demo(fast_hashing: None) -> dict[str, str]:
    """`init --demo --json`; returns the one-time password of each demo user."""
    result = invoke("init", "--demo", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    return {user["name"]: user["one_time_password"] for user in data["users"]}


def test_init_seeds_the_policy_and_is_idempotent(fast_hashing: None) -> None:
    first = invoke("init", "--json")
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["policy_rules_added"] > 0 and data["users"] == [] and data["demo"] is False
    access = fresh_access()
    assert access.policy_count() == data["policy_rules"]
    assert access.list_library_grants() == [("hospital", "*")]
    again = invoke("init", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["policy_rules_added"] == 0
    assert fresh_access().policy_count() == data["policy_rules"]
    inits = stored_events()
    assert [(e.action, e.actor, e.role, e.department, e.outcome) for e in inits] == [
        ("init", operator_name(), "operator", "*", "ok")
    ] * 2
    assert [e.detail_json["policy_rules_added"] for e in inits] == [data["policy_rules_added"], 0]


def test_init_demo_prints_one_time_passwords_and_a_second_run_skips(fast_hashing: None) -> None:
    result = invoke("init", "--demo")
    assert result.exit_code == 0, result.output
    printed = dict(re.findall(r"created (\S+) .*one-time password: (\S+)", result.stdout))
    uris = re.findall(r"created (\S+) .*\n.*second factor.*: (otpauth://\S+)", result.stdout)
    names = [name for name, _role, _dept in demo_users()]
    assert sorted(printed) == sorted(names)
    privileged = {name for name, role, _dept in demo_users() if role in TOTP_REQUIRED_ROLES}
    assert {name for name, _uri in uris} == privileged
    # What was printed is what was stored: each one-time password (with the printed second
    # factor where the role needs one) logs in, with a password change pending.
    access = fresh_access()
    accounts = open_accounts(get_settings(), access=access)
    codes = {name: pyotp.parse_uri(uri).now() for name, uri in uris}
    for name, one_time in printed.items():
        login = accounts.login(name, one_time, totp_code=codes.get(name))
        assert login.must_change_password and login.token is None
    assert access.roles_of("cardiology.doctor") == [("doctor", "cardiology")]
    assert access.roles_of("oncology.admin") == [("dept_admin", "oncology")]
    assert access.roles_of("hospital.compliance") == [("compliance_officer", "*")]
    assert ("cardiology", "cardiology") in access.list_library_grants()

    again = invoke("init", "--demo")
    assert again.exit_code == 0, again.output
    assert "one-time password" not in again.stdout
    assert again.stdout.count("exists") == len(names)
    last = stored_events()[-1]
    assert last.detail_json["users_created"] == []
    assert sorted(last.detail_json["users_existing"]) == sorted(names)
    cells = every_audit_cell()
    assert all(one_time not in cells for one_time in printed.values())
    assert all(uri not in cells and "secret=" not in cells for _name, uri in uris)


def test_users_add_reads_the_password_from_stdin() -> None:
    # Production argon2 parameters here: the real path end to end.
    result = invoke(
        "users", "add", "alice", "--role", "doctor", "--dept", "cardiology", input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    access = fresh_access()
    accounts = Accounts.open(get_settings(), access=access)
    login = accounts.login("alice", PASSWORD)
    assert login.principal is not None and login.principal.department == "cardiology"
    assert access.roles_of("alice") == [("doctor", "cardiology")]
    [event] = stored_events()
    assert (event.actor, event.role, event.action, event.object, event.outcome) == (
        operator_name(),
        "operator",
        "user_add",
        "user:alice",
        "ok",
    )
    assert event.detail_json["generated"] is False
    assert PASSWORD not in every_audit_cell()


def test_users_add_generate_temporary_short_and_empty(fast_hashing: None) -> None:
    generated = invoke(
        "users", "add", "bob", "--role", "doctor", "--dept", "oncology", "--generate"
    )
    assert generated.exit_code == 0, generated.output
    one_time = re.search(r"One-time password.*: (\S+)", generated.stdout)
    assert one_time is not None
    accounts = open_accounts(get_settings(), access=fresh_access())
    assert accounts.login("bob", one_time.group(1)).must_change_password
    assert stored_events()[-1].detail_json["generated"] is True
    assert one_time.group(1) not in every_audit_cell()

    temp = invoke(
        "users", "add", "carol", "--role", "doctor", "--dept", "oncology", "--temporary",
        "--display-name", "Dr Carol", input=PASSWORD + "\n",
    )  # fmt: skip
    assert temp.exit_code == 0, temp.output
    info = accounts.get_user("carol")
    assert info is not None and info.must_change_password and info.display_name == "Dr Carol"

    short = invoke(
        "users", "add", "dan", "--role", "doctor", "--dept", "oncology", input="tiny-pw\n"
    )
    assert short.exit_code == 2 and "12 characters" in short.stderr
    assert accounts.get_user("dan") is None
    refused = stored_events()[-1]
    assert (refused.object, refused.outcome) == ("user:dan", "refused")
    assert "tiny-pw" not in every_audit_cell() and "tiny-pw" not in short.output

    empty = invoke("users", "add", "erin", "--role", "doctor", "--dept", "oncology", input="\n")
    assert empty.exit_code == 2 and "No password given" in empty.stderr
    assert accounts.get_user("erin") is None


def test_users_list_and_disable(demo: dict[str, str]) -> None:
    listed = invoke("users", "list", "--json")
    assert listed.exit_code == 0
    users = {u["name"]: u for u in json.loads(listed.stdout)}
    assert set(users) == set(demo)
    assert users["cardiology.admin"]["roles"] == [["dept_admin", "cardiology"]]
    assert not any("hash" in key or "secret" in key for key in users["cardiology.admin"])

    assert invoke("users", "disable", "cardiology.doctor").exit_code == 0
    listed_again = {u["name"]: u for u in json.loads(invoke("users", "list", "--json").stdout)}
    assert listed_again["cardiology.doctor"]["disabled"] is True
    assert stored_events()[-1].action == "user_disable"
    # A disabled account cannot act through --by.
    denied = invoke("audit", "export", "--by", "cardiology.doctor", "--format", "jsonl")
    assert denied.exit_code == 3 and "disabled" in denied.stderr
    assert stored_events()[-1].detail_json["reason"] == "disabled"
    missing = invoke("users", "disable", "nobody")
    assert missing.exit_code == 2 and "nobody" in missing.stderr


def test_dept_admin_grants_a_role_in_own_department(demo: dict[str, str]) -> None:
    invoke("users", "add", "newdoc", "--role", "doctor", "--dept", "cardiology", "--generate")
    result = invoke(
        "roles", "grant", "newdoc", "dept_admin", "--dept", "cardiology", "--by", "cardiology.admin"
    )
    assert result.exit_code == 0, result.output
    assert ("dept_admin", "cardiology") in fresh_access().roles_of("newdoc")
    event = stored_events()[-1]
    assert (event.actor, event.role, event.department, event.action, event.outcome) == (
        "cardiology.admin",
        "dept_admin",
        "cardiology",
        "role_grant",
        "ok",
    )
    assert event.detail_json == {
        "user": "newdoc",
        "role": "dept_admin",
        "department": "cardiology",
        "changed": True,
        "via": operator_name(),
    }
    revoked = invoke(
        "roles",
        "revoke",
        "newdoc",
        "dept_admin",
        "--dept",
        "cardiology",
        "--by",
        "cardiology.admin",
    )
    assert revoked.exit_code == 0
    assert fresh_access().roles_of("newdoc") == [("doctor", "cardiology")]
    assert stored_events()[-1].action == "role_revoke"


ESCALATIONS = [
    pytest.param(
        ["cardiology.doctor", "sysadmin", "cardiology"], "role_not_grantable", id="grants-sysadmin"
    ),
    pytest.param(
        ["cardiology.doctor", "doctor", "oncology"], "other_department", id="other-department"
    ),
    pytest.param(["cardiology.admin", "dept_admin", "cardiology"], "self_grant", id="themselves"),
    pytest.param(
        ["cardiology.doctor", "doctor", "*"], "other_department", id="hospital-wide-scope"
    ),
]


@pytest.mark.parametrize(("target", "reason"), ESCALATIONS)
def test_escalation_by_a_dept_admin_exits_3_is_audited_and_changes_nothing(
    demo: dict[str, str], target: list[str], reason: str
) -> None:
    user, role, dept = target
    before = policy_snapshot()
    count = len(stored_events())
    result = invoke("roles", "grant", user, role, "--dept", dept, "--by", "cardiology.admin")
    assert result.exit_code == 3, result.output
    assert result.stdout == "" and result.stderr.startswith("error: ")
    assert policy_snapshot() == before
    events = stored_events()
    assert len(events) == count + 1
    denied = events[-1]
    assert (denied.actor, denied.action, denied.object, denied.outcome) == (
        "cardiology.admin",
        "role_grant",
        f"roles:{dept}",
        "denied",
    )
    assert denied.detail_json["reason"] == reason
    assert denied.detail_json["via"] == operator_name()


def test_unknown_by_user_exits_3_and_is_audited(demo: dict[str, str]) -> None:
    before = policy_snapshot()
    result = invoke(
        "roles", "grant", "cardiology.doctor", "sysadmin", "--dept", "*", "--by", "mallory"
    )
    assert result.exit_code == 3 and "mallory" in result.stderr
    assert policy_snapshot() == before
    denied = stored_events()[-1]
    # DESIGN §6: the claimed name goes in the detail; the actor is the OS operator.
    assert (denied.actor, denied.action, denied.outcome, denied.detail_json["reason"]) == (
        operator_name(),
        "role_grant",
        "denied",
        "unknown_user",
    )
    assert denied.detail_json["claimed_user"] == "mallory"


def test_libraries_grant_revoke_and_list(demo: dict[str, str]) -> None:
    granted = invoke(
        "libraries", "grant", "oncology-internal", "--dept", "oncology", "--by", "oncology.admin"
    )
    assert granted.exit_code == 0, granted.output
    assert ("oncology-internal", "oncology") in fresh_access().list_library_grants()
    wide = invoke("libraries", "grant", "oncology", "--dept", "*", "--by", "hospital.sysadmin")
    assert wide.exit_code == 0
    listed = invoke("libraries", "list", "--json")
    assert listed.exit_code == 0
    assert json.loads(listed.stdout) == [
        {"library": "cardiology", "departments": ["cardiology"]},
        {"library": "hospital", "departments": ["*"]},
        {"library": "oncology", "departments": ["*", "oncology"]},
        {"library": "oncology-internal", "departments": ["oncology"]},
    ]
    # A dept_admin cannot open another department's library to their own department.
    before = policy_snapshot()
    denied = invoke(
        "libraries", "grant", "oncology", "--dept", "cardiology", "--by", "cardiology.admin"
    )
    assert denied.exit_code == 3
    assert policy_snapshot() == before
    assert stored_events()[-1].detail_json["reason"] == "library_not_of_department"
    revoked = invoke("libraries", "revoke", "oncology", "--dept", "*", "--by", "hospital.sysadmin")
    assert revoked.exit_code == 0
    assert ("oncology", "*") not in fresh_access().list_library_grants()
    last = stored_events()[-1]
    assert (last.action, last.object, last.outcome) == ("library_revoke", "library:oncology", "ok")


def drop_guards() -> None:
    """What a database administrator can do: remove the append-only triggers."""
    with shared_engine(get_settings().sqlalchemy_url).begin() as conn:
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_audit_verify_json_shape_and_exit_code(demo: dict[str, str]) -> None:
    ok = invoke("audit", "verify", "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {
        "ok": True,
        "events": 1,
        "first_bad_id": None,
        "reason": None,
        "signed_head_id": 1,
        "beyond_signed_head": 0,
    }
    assert stored_events()[-1].action == "audit_verify"

    drop_guards()
    with shared_engine(get_settings().sqlalchemy_url).begin() as conn:
        conn.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE id = 1"))
    bad = invoke("audit", "verify", "--json")
    assert bad.exit_code == 1
    data = json.loads(bad.stdout)
    assert set(data) == {
        "ok",
        "events",
        "first_bad_id",
        "reason",
        "signed_head_id",
        "beyond_signed_head",
    }
    assert data["ok"] is False and data["first_bad_id"] == 1 and data["reason"]
    check = stored_events()[-1]
    assert (check.action, check.outcome, check.detail_json["first_bad_id"]) == (
        "audit_verify",
        "failed",
        1,
    )


def test_audit_export_by_compliance_officer_jsonl_and_csv(
    demo: dict[str, str], tmp_path: Path
) -> None:
    invoke("roles", "grant", "oncology.doctor", "doctor", "--dept", "cardiology", "--by", "x")
    out = tmp_path / "audit.jsonl"
    result = invoke(
        "audit", "export", "--by", "hospital.compliance", "--format", "jsonl", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["action"] for r in rows] == ["init", "role_grant", "export"]
    assert rows[-1]["actor"] == "hospital.compliance"
    export = stored_events()[-1]
    assert (export.action, export.object, export.outcome) == ("export", "audit:*", "ok")
    assert export.detail_json == {
        "format": "jsonl",
        "since": None,
        "department": None,
        "actor": None,
        "via": operator_name(),
    }
    assert f"Exported {len(rows)} event(s)" in result.stdout

    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    as_csv = invoke(
        "audit", "export", "--by", "hospital.compliance", "--format", "csv",
        "--since", since, "--actor", operator_name(),
    )  # fmt: skip
    assert as_csv.exit_code == 0, as_csv.output
    table = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    # The refused `--by x` is the operator's row (DESIGN §6), with the claimed name in detail.
    assert [(r["actor"], r["action"], r["outcome"]) for r in table] == [
        (operator_name(), "init", "ok"),
        (operator_name(), "role_grant", "denied"),
    ]
    assert json.loads(table[-1]["detail_json"])["claimed_user"] == "x"
    filters = stored_events()[-1].detail_json
    assert filters["format"] == "csv" and filters["actor"] == operator_name()
    assert filters["since"].startswith(since)


def test_audit_export_by_a_doctor_is_denied_and_audited(demo: dict[str, str]) -> None:
    result = invoke("audit", "export", "--by", "cardiology.doctor", "--format", "jsonl")
    assert result.exit_code == 3
    assert result.stdout == ""
    denied = stored_events()[-1]
    assert (denied.actor, denied.action, denied.outcome, denied.detail_json["reason"]) == (
        "cardiology.doctor",
        "export",
        "denied",
        "not_permitted",
    )
    bad_format = invoke("audit", "export", "--by", "hospital.compliance", "--format", "xml")
    assert bad_format.exit_code == 2


def test_audit_purge_refuses_young_events(demo: dict[str, str]) -> None:
    count = len(stored_events())
    today = datetime.now(UTC).date().isoformat()
    young = invoke("audit", "purge", "--before", today, "--by", "hospital.compliance")
    assert young.exit_code == 2 and "180" in young.stderr
    events = stored_events()
    assert len(events) == count + 1 and events[0].action == "init"  # nothing removed
    assert (events[-1].action, events[-1].outcome) == ("audit_purge", "refused")

    by_sysadmin = invoke("audit", "purge", "--before", "2020-01-01", "--by", "hospital.sysadmin")
    assert by_sysadmin.exit_code == 3
    assert stored_events()[-1].outcome == "denied"

    old = invoke("audit", "purge", "--before", "2020-01-01", "--by", "hospital.compliance")
    assert old.exit_code == 0 and "Purged 0 event(s)" in old.stdout
    assert stored_events()[-1].detail_json["purged"] == 0
    bad_date = invoke("audit", "purge", "--before", "last week", "--by", "hospital.compliance")
    assert bad_date.exit_code == 2 and "--before" in bad_date.stderr
