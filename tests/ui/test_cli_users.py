"""`guidecite users`: reserved names, and re-enrolling an authenticator after its key was lost."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner, Result

from assistant.access import AccessControl
from assistant.accounts import Accounts
from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.errors import AuthenticationError
from tests.factories import open_accounts, open_fast_context
from ui.cli import app, common
from ui.cli.common import operator_name

runner = CliRunner()
PASSWORD = "amber lantern quota 77"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "open_context", open_fast_context)


def invoke(*args: str, input: str | None = None) -> Result:
    return runner.invoke(app, list(args), input=input)


def accounts() -> Accounts:
    return open_accounts(get_settings(), access=AccessControl.open(get_settings()))


@pytest.mark.parametrize("name", ["sysadmin", "dept_admin", "reader"])
def test_users_add_with_a_reserved_name_says_reserved(name: str) -> None:
    result = invoke("users", "add", name, "--role", "doctor", "--dept", "cardiology",
                    input=PASSWORD + "\n")  # fmt: skip
    assert result.exit_code == 2
    assert "reserved name" in result.stderr
    assert "invalid characters" not in result.stderr and "letters, digits" not in result.stderr
    assert accounts().get_user(name) is None


def test_enrol_totp_prints_a_working_seed_and_recovers_from_a_lost_key(_data_dir: Path) -> None:
    name = "cardiology.lead"
    added = invoke("users", "add", name, "--role", "dept_admin", "--dept", "cardiology",
                   input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    enrolled = invoke("users", "enrol-totp", name)
    assert enrolled.exit_code == 0, enrolled.output
    [uri] = re.findall(r"otpauth://\S+", enrolled.stdout)
    seed = str(pyotp.parse_uri(uri).secret)
    assert accounts().login(name, PASSWORD, totp_code=pyotp.TOTP(seed).now()).token

    # The key is lost (a DATA_DIR restored without it, a new host): sign-in says so and how to
    # recover, instead of "wrong code" until the account locks.
    (_data_dir / "audit-checkpoint.key").unlink()
    with pytest.raises(AuthenticationError) as refused:
        accounts().login(name, PASSWORD, totp_code=pyotp.TOTP(seed).now())
    assert refused.value.reason == "totp_key_mismatch"
    assert f"guidecite users enrol-totp {name}" in refused.value.user_message
    listed = invoke("users", "list", "--json")
    assert '"totp_unreadable": true' in listed.stdout

    again = invoke("users", "enrol-totp", name)
    assert again.exit_code == 0, again.output
    [new_uri] = re.findall(r"otpauth://\S+", again.stdout)
    new_seed = str(pyotp.parse_uri(new_uri).secret)
    assert new_seed != seed
    assert accounts().login(name, PASSWORD, totp_code=pyotp.TOTP(new_seed).now()).token

    events = [e for e in open_audit_log(get_settings()).iter_events() if e.action == "totp_enrol"]
    assert [(e.actor, e.object, e.outcome) for e in events] == [
        (operator_name(), f"user:{name}", "ok")
    ] * 2
    cells = " ".join(str(e.model_dump()) for e in events)
    assert seed not in cells and new_seed not in cells and "otpauth" not in cells


def test_enrol_totp_for_an_unknown_user_is_refused_and_audited() -> None:
    result = invoke("users", "enrol-totp", "nobody.here")
    assert result.exit_code == 2
    assert "No user named nobody.here" in result.stderr
    [event] = list(open_audit_log(get_settings()).iter_events())
    assert (event.action, event.outcome) == ("totp_enrol", "refused")
