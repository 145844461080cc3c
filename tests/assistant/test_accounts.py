"""Accounts: password policy, argon2 storage, lockout, TOTP, sessions, disabling."""

from __future__ import annotations

import importlib.util
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import make_url, select

from assistant.access import AccessControl
from assistant.account_tables import account_migrations, sessions, users
from assistant.accounts import Accounts
from assistant.authenticators import LdapAuthenticator
from assistant.config import Settings
from assistant.db import apply_migrations, shared_engine
from assistant.domain import Role
from assistant.errors import AuthenticationError, ConfigError, InvalidInput
from assistant.totp_seeds import SeedCipher
from tests.factories import (
    DATABASE_BACKENDS,
    FAST_HASHING,
    database_url,
    open_access,
    open_accounts,
)

PASSWORD = "correct horse battery"
DEPT = "cardiology"


class Clock:
    """An injectable clock that starts at the real time (so pyotp's .now() codes match)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(params=DATABASE_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, sqlite_file=tmp_path / "accounts.db") as url:
        yield url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def access(db_url: str) -> AccessControl:
    return open_access(Settings(database_url=db_url))


@pytest.fixture
def accounts(db_url: str, access: AccessControl, clock: Clock) -> Accounts:
    # Cheap argon2 parameters (tests.factories); one test below keeps the default parameters.
    return open_accounts(Settings(database_url=db_url), access=access, now=clock)


def _reason(exc: pytest.ExceptionInfo[AuthenticationError]) -> str:
    return exc.value.reason


def _login_reason(accounts: Accounts, name: str, password: str, **kw: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        accounts.login(name, password, **kw)
    return _reason(info)


def _totp_secret(uri: str) -> str:
    return str(pyotp.parse_uri(uri).secret)


def test_password_minimum_length(accounts: Accounts) -> None:
    with pytest.raises(InvalidInput) as info:
        accounts.add_user("alice", role=Role.DOCTOR, department=DEPT, password="x" * 11)
    assert "12" in info.value.user_message
    assert accounts.get_user("alice") is None
    assert accounts.add_user("alice", role=Role.DOCTOR, department=DEPT, password="y" * 12) is None
    with pytest.raises(InvalidInput):
        accounts.add_user("alice", role=Role.DOCTOR, department=DEPT, password=PASSWORD)


@pytest.mark.parametrize("name", ["sysadmin", "doctor", "reader", "compliance_officer"])
def test_reserved_user_name_is_refused_as_reserved(accounts: Accounts, name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        accounts.add_user(name, role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    message = info.value.user_message
    assert "reserved name" in message and name in message
    assert "letters, digits" not in message  # not the invalid-characters message
    assert accounts.get_user(name) is None
    with pytest.raises(InvalidInput) as info:
        accounts.add_user(f"{name}!", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    assert "letters, digits" in info.value.user_message


def test_argon2_hash_stored_never_the_password(
    db_url: str, access: AccessControl, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Default (production) argon2 parameters here.
    accounts = Accounts.open(Settings(database_url=db_url), access=access, now=clock)
    accounts.add_user("alice", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    result = accounts.login("alice", PASSWORD)
    engine = shared_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        every_cell = [
            str(cell)
            for table in (users, sessions)
            for row in conn.execute(select(table))
            for cell in row
        ]
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert all(PASSWORD not in cell for cell in every_cell)
    assert result.token is not None
    assert all(result.token not in cell for cell in every_cell)  # only its sha256 is stored
    assert PASSWORD not in caplog.text
    assert result.token not in caplog.text
    assert result.token not in repr(result)
    info = accounts.get_user("alice")
    assert info is not None
    assert "argon2" not in info.model_dump_json()
    assert info.roles == [("doctor", DEPT)]


def test_lockout_after_five_failures_and_release_after_fifteen_minutes(
    accounts: Accounts, clock: Clock
) -> None:
    accounts.add_user("bob", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    for _ in range(5):
        assert _login_reason(accounts, "bob", "wrong password!") == "bad_credentials"
    # Even the right password is refused while locked.
    assert _login_reason(accounts, "bob", PASSWORD) == "locked"
    info = accounts.get_user("bob")
    assert info is not None and info.locked_until == clock.now + timedelta(minutes=15)
    clock.advance(minutes=14, seconds=59)
    assert _login_reason(accounts, "bob", PASSWORD) == "locked"
    clock.advance(seconds=2)
    result = accounts.login("bob", PASSWORD)
    assert result.principal is not None and result.principal.user == "bob"
    # A success resets the count: four more failures do not lock.
    for _ in range(4):
        _login_reason(accounts, "bob", "wrong password!")
    accounts.login("bob", PASSWORD)
    for _ in range(4):
        _login_reason(accounts, "bob", "wrong password!")
    assert accounts.login("bob", PASSWORD).token


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(accounts: Accounts) -> None:
    assert _login_reason(accounts, "nobody", PASSWORD) == "bad_credentials"


def test_disabled_user_cannot_log_in_and_live_session_is_refused(accounts: Accounts) -> None:
    accounts.add_user("carol", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    token = accounts.login("carol", PASSWORD).token
    assert token is not None
    assert accounts.resolve_session(token).user == "carol"
    accounts.disable_user("carol")
    with pytest.raises(AuthenticationError) as info:
        accounts.resolve_session(token)
    assert _reason(info) == "session_revoked"
    assert _login_reason(accounts, "carol", PASSWORD) == "disabled"
    with pytest.raises(AuthenticationError) as info:
        accounts.principal_for("carol")
    assert _reason(info) == "disabled"
    # Never hard-deleted: still listed, with roles intact.
    listed = {u.name: u for u in accounts.list_users()}
    assert listed["carol"].disabled and listed["carol"].roles == [("doctor", DEPT)]
    with pytest.raises(InvalidInput):
        accounts.disable_user("nobody")


def test_generated_and_temporary_passwords_must_be_changed(accounts: Accounts) -> None:
    one_time = accounts.add_user("dave", role=Role.DOCTOR, department=DEPT)
    assert one_time is not None and len(one_time) >= 12
    first = accounts.login("dave", one_time)
    assert first.must_change_password and first.token is None and first.principal is None
    with pytest.raises(InvalidInput):
        accounts.change_password("dave", old=one_time, new="short")
    with pytest.raises(AuthenticationError):
        accounts.change_password("dave", old="not the one time", new=PASSWORD)
    accounts.change_password("dave", old=one_time, new=PASSWORD)
    assert _login_reason(accounts, "dave", one_time) == "bad_credentials"
    second = accounts.login("dave", PASSWORD)
    assert not second.must_change_password and second.token

    assert (
        accounts.add_user(
            "erin", role=Role.DOCTOR, department=DEPT, password=PASSWORD, temporary=True
        )
        is None
    )
    assert accounts.login("erin", PASSWORD).must_change_password


def test_totp_required_for_admin_roles_and_verified(accounts: Accounts, clock: Clock) -> None:
    accounts.add_user("frank", role=Role.DEPT_ADMIN, department=DEPT, password=PASSWORD)
    assert _login_reason(accounts, "frank", PASSWORD) == "totp_not_enrolled"
    uri = accounts.enrol_totp("frank")
    assert uri.startswith("otpauth://totp/") and "GuideCite" in uri
    secret = _totp_secret(uri)
    assert _login_reason(accounts, "frank", PASSWORD) == "totp_required"
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    assert _login_reason(accounts, "frank", PASSWORD, totp_code=wrong) == "totp_invalid"
    code = pyotp.TOTP(secret).now()
    result = accounts.login("frank", PASSWORD, totp_code=code)
    assert result.principal is not None and result.principal.role is Role.DEPT_ADMIN
    info = accounts.get_user("frank")
    assert info is not None and info.totp_enrolled
    # The same code cannot be replayed; a later step's code works.
    assert _login_reason(accounts, "frank", PASSWORD, totp_code=code) == "totp_invalid"
    clock.advance(seconds=60)
    assert accounts.login("frank", PASSWORD, totp_code=pyotp.TOTP(secret).at(clock.now)).token
    # A wrong password is refused before the second factor is considered.
    assert _login_reason(accounts, "frank", "wrong password!", totp_code=code) == (
        "bad_credentials"
    )


def _stored_seed(db_url: str, name: str) -> str:
    with shared_engine(db_url).connect() as conn:
        return str(conn.execute(select(users.c.totp_secret).where(users.c.name == name)).scalar())


def test_totp_seed_is_sealed_at_rest(db_url: str, accounts: Accounts) -> None:
    # Issue #11 item 4: after `init --demo` every TOTP seed appeared verbatim in guidecite.db.
    names = [f"admin{i}" for i in range(3)]
    seeds = {}
    for name in names:
        accounts.add_user(name, role=Role.DEPT_ADMIN, department=DEPT, password=PASSWORD)
        seeds[name] = _totp_secret(accounts.enrol_totp(name))
    for name in names:
        stored = _stored_seed(db_url, name)
        assert stored.startswith("v1:") and seeds[name] not in stored
        assert seeds[name].lower() not in stored.lower()
        code = pyotp.TOTP(seeds[name]).now()
        assert accounts.login(name, PASSWORD, totp_code=code).token
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        raw = Path(str(url.database)).read_bytes()
        wal = Path(f"{url.database}-wal")
        raw += wal.read_bytes() if wal.exists() else b""
        assert not any(seed.encode() in raw for seed in seeds.values())


def test_a_seed_copied_onto_another_users_row_does_not_open(
    db_url: str, accounts: Accounts
) -> None:
    for name in ("ivan", "judy"):
        accounts.add_user(name, role=Role.DEPT_ADMIN, department=DEPT, password=PASSWORD)
    ivan_seed = _totp_secret(accounts.enrol_totp("ivan"))
    accounts.enrol_totp("judy")
    with shared_engine(db_url).begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.name == "judy")
            .values(totp_secret=_stored_seed(db_url, "ivan"))
        )
    code = pyotp.TOTP(ivan_seed).now()
    assert _login_reason(accounts, "judy", PASSWORD, totp_code=code) == "totp_key_mismatch"


def test_plain_text_seeds_of_an_older_version_are_sealed_by_migration(
    db_url: str, access: AccessControl, clock: Clock
) -> None:
    settings = Settings(database_url=db_url)
    engine = shared_engine(db_url)
    # The database as the previous version left it: accounts at migration 1, plain seeds.
    apply_migrations(
        engine,
        component="accounts",
        migrations=account_migrations(SeedCipher.from_settings(settings))[:1],
    )
    plain = {f"legacy{i}": pyotp.random_base32() for i in range(3)}
    with engine.begin() as conn:
        for name, seed in plain.items():
            conn.execute(
                users.insert().values(
                    name=name,
                    display_name="",
                    department=DEPT,
                    password_hash=FAST_HASHING.hash_password(PASSWORD),
                    created_at=clock.now,
                    disabled=False,
                    must_change_password=False,
                    failed_attempts=0,
                    totp_secret=seed,
                    totp_confirmed=True,
                )
            )
    for name in plain:
        access.assign_role(user=name, role=Role.DEPT_ADMIN, department=DEPT)
    accounts = Accounts.open(settings, access=access, now=clock, authenticator=FAST_HASHING)
    for name, seed in plain.items():
        stored = _stored_seed(db_url, name)
        assert stored.startswith("v1:") and seed not in stored
        assert accounts.login(name, PASSWORD, totp_code=pyotp.TOTP(seed).now()).token


def test_lost_totp_key_gives_a_clear_error_and_re_enrolment_recovers(
    db_url: str, access: AccessControl, clock: Clock, _data_dir: Path
) -> None:
    settings = Settings(database_url=db_url)
    accounts = Accounts.open(settings, access=access, now=clock, authenticator=FAST_HASHING)
    accounts.add_user("kate", role=Role.COMPLIANCE_OFFICER, department=DEPT, password=PASSWORD)
    old_seed = _totp_secret(accounts.enrol_totp("kate"))
    assert accounts.login("kate", PASSWORD, totp_code=pyotp.TOTP(old_seed).now()).token
    # The key file is lost: the next process creates a new key.
    (_data_dir / "audit-checkpoint.key").unlink()
    clock.advance(seconds=60)
    reopened = Accounts.open(settings, access=access, now=clock, authenticator=FAST_HASHING)
    info = reopened.get_user("kate")
    assert info is not None and info.totp_unreadable
    with pytest.raises(AuthenticationError) as refused:
        reopened.login("kate", PASSWORD, totp_code=pyotp.TOTP(old_seed).at(clock.now))
    assert refused.value.reason == "totp_key_mismatch"
    assert "guidecite users enrol-totp kate" in refused.value.user_message
    # Not a wrong code: nothing counts towards a lockout, however often it is tried.
    for _ in range(6):
        with pytest.raises(AuthenticationError):
            reopened.login("kate", PASSWORD, totp_code="000000")
    info = reopened.get_user("kate")
    assert info is not None and info.failed_attempts == 0 and info.locked_until is None
    new_seed = _totp_secret(reopened.enrol_totp("kate"))
    assert reopened.login("kate", PASSWORD, totp_code=pyotp.TOTP(new_seed).at(clock.now)).token
    info = reopened.get_user("kate")
    assert info is not None and not info.totp_unreadable


def test_totp_optional_for_doctors_until_enrolled(accounts: Accounts) -> None:
    accounts.add_user("gina", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    assert accounts.login("gina", PASSWORD).token
    secret = _totp_secret(accounts.enrol_totp("gina"))
    assert accounts.login("gina", PASSWORD).token  # not yet confirmed: still optional
    assert accounts.login("gina", PASSWORD, totp_code=pyotp.TOTP(secret).now()).token
    assert _login_reason(accounts, "gina", PASSWORD) == "totp_required"


def test_wrong_totp_codes_count_towards_lockout(accounts: Accounts) -> None:
    accounts.add_user("hank", role=Role.SYSADMIN, department="*", password=PASSWORD)
    secret = _totp_secret(accounts.enrol_totp("hank"))
    for _ in range(5):
        _login_reason(accounts, "hank", PASSWORD, totp_code="000000")
    good = pyotp.TOTP(secret).now()
    assert _login_reason(accounts, "hank", PASSWORD, totp_code=good) == "locked"


def test_idle_timeout_and_absolute_expiry(accounts: Accounts, clock: Clock) -> None:
    accounts.add_user("ivy", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    token = accounts.login("ivy", PASSWORD).token
    assert token is not None
    clock.advance(minutes=29)
    assert accounts.resolve_session(token).user == "ivy"  # activity extends the idle window
    clock.advance(minutes=29)
    assert accounts.resolve_session(token).user == "ivy"
    clock.advance(minutes=30)
    with pytest.raises(AuthenticationError) as info:
        accounts.resolve_session(token)
    assert _reason(info) == "session_idle"

    token = accounts.login("ivy", PASSWORD).token
    assert token is not None
    for _ in range(12 * 3 - 1):  # active every 20 minutes for just under 12 hours
        clock.advance(minutes=20)
        accounts.resolve_session(token)
    clock.advance(minutes=20)
    with pytest.raises(AuthenticationError) as info:
        accounts.resolve_session(token)
    assert _reason(info) == "session_expired"


def test_forged_tampered_and_logged_out_tokens_are_refused(accounts: Accounts) -> None:
    accounts.add_user("jack", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    result = accounts.login("jack", PASSWORD)
    token = result.token
    assert token is not None and result.principal is not None
    principal = accounts.resolve_session(token)
    assert principal.session_id == result.principal.session_id
    assert principal.session_id not in token
    for forged in (secrets.token_urlsafe(32), token[:-1] + ("A" if token[-1] != "A" else "B"), ""):
        with pytest.raises(AuthenticationError) as info:
            accounts.resolve_session(forged)
        assert _reason(info) == "invalid_session"
    accounts.logout(token)
    with pytest.raises(AuthenticationError) as info:
        accounts.resolve_session(token)
    assert _reason(info) == "session_revoked"


def test_password_change_ends_existing_sessions(accounts: Accounts) -> None:
    accounts.add_user("kate", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    token = accounts.login("kate", PASSWORD).token
    assert token is not None
    accounts.change_password("kate", old=PASSWORD, new="a brand new passphrase")
    with pytest.raises(AuthenticationError):
        accounts.resolve_session(token)


def test_principal_for_uses_highest_role_in_home_department(
    accounts: Accounts, access: AccessControl
) -> None:
    accounts.add_user("leo", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    assert accounts.principal_for("leo").role is Role.DOCTOR
    access.assign_role(user="leo", role=Role.DEPT_ADMIN, department=DEPT)
    access.assign_role(user="leo", role=Role.QUALITY_REVIEWER, department="oncology")
    principal = accounts.principal_for("leo", session_id="s1")
    assert (principal.role, principal.department, principal.session_id) == (
        Role.DEPT_ADMIN,
        DEPT,
        "s1",
    )
    with pytest.raises(AuthenticationError) as info:
        accounts.principal_for("nobody")
    assert _reason(info) == "unknown_user"


def test_reset_password_unlocks_and_forces_change(accounts: Accounts) -> None:
    accounts.add_user("mia", role=Role.DOCTOR, department=DEPT, password=PASSWORD)
    for _ in range(5):
        _login_reason(accounts, "mia", "wrong password!")
    one_time = accounts.reset_password("mia")
    assert accounts.login("mia", one_time).must_change_password


@pytest.mark.skipif(
    importlib.util.find_spec("ldap3") is not None, reason="ldap3 installed: nothing to refuse"
)
def test_ldap_authenticator_without_ldap3_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        LdapAuthenticator("ldap://dir.example", user_dn_template="uid={user},dc=example")
    assert "ldap3" in info.value.user_message
