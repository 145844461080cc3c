"""Staying signed in (issue 16): one-time tickets, the signed session cookie, its revocation,
and the sign-in that continues across a forced password change without a second TOTP code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from assistant.account_tables import login_tickets
from assistant.accounts import Accounts
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.db import shared_engine
from assistant.domain import Role
from assistant.errors import AuthenticationError
from assistant.service.context import Context
from assistant.service.sign_in import (
    COOKIE_NAME,
    change_password_and_sign_in,
    cookie_ticket_pending,
    issue_cookie_ticket,
    resume_from_cookie,
    resume_session,
    set_session_cookie,
    sign_in,
    sign_out,
)
from assistant.session_cookie import CookieSigner
from tests.factories import DATABASE_BACKENDS, database_url, open_access, open_accounts

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"


class Clock:
    """The accounts' clock: starts at the real time (pyotp's codes and the cookie's expiry)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=DATABASE_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, sqlite_file=tmp_path / "accounts.db") as url:
        yield url


@pytest.fixture
def ctx(tmp_path: Path, db_url: str, clock: Clock) -> Context:
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    access = open_access(settings)
    accounts = open_accounts(settings, access=access, now=clock)
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    return Context(settings, access=access, accounts=accounts)


def _signed_in(ctx: Context) -> str:
    result = sign_in(ctx, "dr.wang", PASSWORD)
    assert result.token is not None
    return result.token


def _cookie_credential(ctx: Context, token: str) -> tuple[str, str]:
    """(the cookie value, its credential) through a ticket, as the web app's route does."""
    cookie = set_session_cookie(ctx, issue_cookie_ticket(ctx, token))
    return cookie.value, CookieSigner.from_settings(ctx.settings).verify(cookie.value)


def test_cookie_resumes_the_same_session_and_expires_with_it(ctx: Context) -> None:
    token = _signed_in(ctx)
    cookie = set_session_cookie(ctx, issue_cookie_ticket(ctx, token))
    assert cookie.name == COOKIE_NAME == "guidecite_session"
    # The cookie lives as long as the session may (session_max_hours), not longer.
    lifetime = ctx.settings.accounts.session_max_hours * 3600
    assert lifetime - 60 < cookie.max_age <= lifetime
    # Neither the session token nor the credential is the cookie: only the signed credential.
    assert token not in cookie.value
    credential, principal = resume_from_cookie(ctx, cookie.value)
    assert credential != token
    assert principal == resume_session(ctx, token)  # the same session (same session id)
    assert principal.user == "dr.wang"


def test_ticket_is_single_use_and_expires(ctx: Context, clock: Clock) -> None:
    token = _signed_in(ctx)
    ticket = issue_cookie_ticket(ctx, token)
    assert cookie_ticket_pending(ctx, ticket)
    set_session_cookie(ctx, ticket)
    assert not cookie_ticket_pending(ctx, ticket)
    with pytest.raises(AuthenticationError) as used:
        set_session_cookie(ctx, ticket)
    assert used.value.reason == "invalid_ticket"

    late = issue_cookie_ticket(ctx, token)
    clock.advance(minutes=3)  # the ticket lives two minutes
    assert not cookie_ticket_pending(ctx, late)
    with pytest.raises(AuthenticationError) as expired:
        set_session_cookie(ctx, late)
    assert expired.value.reason == "invalid_ticket"
    with pytest.raises(AuthenticationError):
        set_session_cookie(ctx, "not-a-ticket")


def test_old_tickets_are_dropped(ctx: Context, clock: Clock) -> None:
    token = _signed_in(ctx)
    issue_cookie_ticket(ctx, token)
    engine = shared_engine(ctx.settings.sqlalchemy_url)

    def rows() -> int:
        with engine.connect() as conn:
            return len(conn.execute(select(login_tickets)).all())

    assert rows() == 1
    clock.advance(hours=25)  # past the ticket's expiry and the day its row is kept
    issue_cookie_ticket(ctx, _signed_in(ctx))
    assert rows() == 1


def test_a_ticket_of_an_ended_session_sets_no_cookie(ctx: Context) -> None:
    token = _signed_in(ctx)
    ticket = issue_cookie_ticket(ctx, token)
    sign_out(ctx, token, resume_session(ctx, token))
    with pytest.raises(AuthenticationError) as ended:
        set_session_cookie(ctx, ticket)
    assert ended.value.reason == "invalid_ticket"
    with pytest.raises(AuthenticationError):
        issue_cookie_ticket(ctx, token)


def test_tampered_and_expired_cookies_are_refused_and_audited(ctx: Context) -> None:
    value, credential = _cookie_credential(ctx, _signed_in(ctx))
    body, expiry, mac = value.split(".")
    later = str(int(expiry) + 86_400)
    flipped = ("A" if mac[0] != "A" else "B") + mac[1:]
    for forged in (f"{body}.{later}.{mac}", f"{body}.{expiry}.{flipped}", body, "", "x.y.z"):
        with pytest.raises(AuthenticationError) as refused:
            resume_from_cookie(ctx, forged)
        assert refused.value.reason == "invalid_cookie", forged
    # Another deployment's key does not verify this one's cookie.
    other = CookieSigner(b"another deployment key")
    with pytest.raises(AuthenticationError):
        other.verify(value)
    # Signed correctly but past its expiry.
    stale = CookieSigner.from_settings(ctx.settings).sign(
        credential, datetime.now(UTC) - timedelta(seconds=1)
    )
    with pytest.raises(AuthenticationError) as expired:
        resume_from_cookie(ctx, stale)
    assert expired.value.reason == "cookie_expired"
    audit = open_audit_log(ctx.settings)
    refused_rows = [e for e in audit.iter_events(actions=["session"]) if e.outcome == "refused"]
    assert [e.detail_json["reason"] for e in refused_rows] == ["invalid_cookie"] * 5 + [
        "cookie_expired"
    ]
    assert all(credential not in str(e.model_dump()) for e in refused_rows)


def test_sign_out_revokes_the_cookie_too(ctx: Context) -> None:
    token = _signed_in(ctx)
    value, credential = _cookie_credential(ctx, token)
    # Signing out from a tab resumed from the cookie ends the one session, token included.
    _credential, principal = resume_from_cookie(ctx, value)
    sign_out(ctx, credential, principal)
    with pytest.raises(AuthenticationError) as ended:
        resume_from_cookie(ctx, value)
    assert ended.value.reason == "session_revoked"
    with pytest.raises(AuthenticationError):
        resume_session(ctx, token)


def test_disabling_the_account_revokes_its_cookie(ctx: Context) -> None:
    value, _credential = _cookie_credential(ctx, _signed_in(ctx))
    ctx.accounts.disable_user("dr.wang")
    with pytest.raises(AuthenticationError) as ended:
        resume_from_cookie(ctx, value)
    assert ended.value.reason == "session_revoked"


def test_idle_session_is_not_resumed_from_its_cookie(ctx: Context, clock: Clock) -> None:
    value, _credential = _cookie_credential(ctx, _signed_in(ctx))
    clock.advance(minutes=ctx.settings.accounts.session_idle_minutes + 1)
    with pytest.raises(AuthenticationError) as idle:
        resume_from_cookie(ctx, value)
    assert idle.value.reason == "session_idle"


def _officer(ctx: Context) -> pyotp.TOTP:
    accounts: Accounts = ctx.accounts
    accounts.add_user(
        "cmp.li", role=Role.COMPLIANCE_OFFICER, department="cardiology", password=PASSWORD,
        temporary=True,
    )  # fmt: skip
    return pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp("cmp.li")).secret)


def test_forced_password_change_continues_without_a_second_code(ctx: Context) -> None:
    totp = _officer(ctx)
    first = sign_in(ctx, "cmp.li", PASSWORD, totp_code=totp.now())
    assert first.must_change_password and first.token is None
    assert first.change_ticket is not None
    result = change_password_and_sign_in(
        ctx, "cmp.li", ticket=first.change_ticket, old=PASSWORD, new=NEW_PASSWORD
    )
    assert result.token is not None and result.principal is not None
    assert resume_session(ctx, result.token).user == "cmp.li"
    # The same code again (what the old flow asked for) is still a replay: the ticket is why
    # the person is not asked for it.
    with pytest.raises(AuthenticationError) as replay:
        sign_in(ctx, "cmp.li", NEW_PASSWORD, totp_code=totp.now())
    assert replay.value.reason == "totp_invalid"
    # The ticket was used once.
    with pytest.raises(AuthenticationError) as used:
        change_password_and_sign_in(
            ctx, "cmp.li", ticket=first.change_ticket, old=NEW_PASSWORD, new="yet another phrase"
        )
    assert used.value.reason == "invalid_ticket"
    audit = open_audit_log(ctx.settings)
    logins = [(e.outcome, e.detail_json.get("after")) for e in audit.iter_events(actions=["login"])]
    assert logins[:2] == [("password_change_required", None), ("ok", "password_change")]
    changes = [e.outcome for e in audit.iter_events(actions=["password_change"])]
    assert changes == ["ok", "failed"]


def test_change_ticket_expires_and_belongs_to_its_user(ctx: Context, clock: Clock) -> None:
    totp = _officer(ctx)
    first = sign_in(ctx, "cmp.li", PASSWORD, totp_code=totp.now())
    assert first.change_ticket is not None
    with pytest.raises(AuthenticationError) as other_user:
        change_password_and_sign_in(
            ctx, "dr.wang", ticket=first.change_ticket, old=PASSWORD, new=NEW_PASSWORD
        )
    assert other_user.value.reason == "invalid_ticket"
    clock.advance(minutes=11)
    with pytest.raises(AuthenticationError) as expired:
        change_password_and_sign_in(
            ctx, "cmp.li", ticket=first.change_ticket, old=PASSWORD, new=NEW_PASSWORD
        )
    assert expired.value.reason == "invalid_ticket"
    # Refused before anything changed: the temporary password still stands.
    user = ctx.accounts.get_user("cmp.li")
    assert user is not None and user.must_change_password
