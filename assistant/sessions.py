"""Login sessions (issue 4) and what a sign-in hands the browser (issue 16): session tokens,
idle and absolute expiry, one-time tickets and the session's cookie credential.

`Accounts` (assistant/accounts.py) decides who may sign in; a successful sign-in opens a session
here. Tokens, tickets and cookie credentials are stored only as digests; nothing here logs one.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, delete, insert, select, update

from assistant.account_tables import (
    login_tickets,
    session_cookies,
    sessions,
    stored_utc,
    token_digest,
    users,
)
from assistant.config import AccountSettings
from assistant.domain import Principal
from assistant.errors import AuthenticationError

logger = logging.getLogger(__name__)

COOKIE_TICKET_TTL = timedelta(minutes=2)  # the page posts it within a second or two
CHANGE_TICKET_TTL = timedelta(minutes=10)  # time to choose a new password
TICKET_KEPT = timedelta(days=1)  # how long a used or expired ticket's row stays
TICKET_COOKIE = "cookie"
TICKET_PASSWORD_CHANGE = "password_change"  # noqa: S105 (a ticket purpose, not a secret)
_TICKET_REFUSED = "This sign-in step has expired; please sign in again."


class LoginResult(BaseModel):
    """Outcome of a password (+ TOTP) login; a session opens only when no change is pending."""

    user: str
    must_change_password: bool
    token: str | None = Field(default=None, repr=False, description="Session token (secret).")
    principal: Principal | None = None
    expires_at: datetime | None = None
    change_ticket: str | None = Field(
        default=None,
        repr=False,
        description="With must_change_password: the one-time ticket that opens the session once "
        "the password is changed (secret).",
    )


class CookieGrant(BaseModel):
    """A session's browser credential, handed out once for a one-time cookie ticket."""

    secret: str = Field(repr=False, description="The cookie credential (secret).")
    session_id: str
    expires_at: datetime


def auth_error(message: str, *, reason: str, user_message: str) -> AuthenticationError:
    """A refused sign-in step with its machine-readable reason."""
    return AuthenticationError(message, reason=reason, user_message=user_message)


class SessionsMixin:
    """Sessions, one-time tickets and cookie credentials of `Accounts` (its other half)."""

    _engine: Engine
    _settings: AccountSettings

    def _now(self) -> datetime:
        raise NotImplementedError

    def _principal(self, name: str, department: str, *, session_id: str) -> Principal:
        raise NotImplementedError

    def _open_session(self, name: str, department: str, *, now: datetime) -> LoginResult:
        principal = self._principal(name, department, session_id=uuid.uuid4().hex)
        token = secrets.token_urlsafe(32)
        expires_at = now + timedelta(hours=self._settings.session_max_hours)
        with self._engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    id=principal.session_id,
                    token_sha256=token_digest(token),
                    user_name=name,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                )
            )
        logger.info("user %s logged in (session %s)", name, principal.session_id)
        return LoginResult(
            user=name,
            must_change_password=False,
            token=token,
            principal=principal,
            expires_at=expires_at,
        )

    # ---- one-time tickets ---------------------------------------------------------------

    def _issue_ticket(
        self, purpose: str, name: str, *, ttl: timedelta, session_id: str | None = None
    ) -> str:
        ticket = secrets.token_urlsafe(32)
        now = self._now()
        with self._engine.begin() as conn:
            # Used and expired tickets are kept a day (diagnosis), then dropped.
            conn.execute(
                delete(login_tickets).where(login_tickets.c.expires_at < now - TICKET_KEPT)
            )
            conn.execute(
                insert(login_tickets).values(
                    ticket_sha256=token_digest(ticket),
                    purpose=purpose,
                    user_name=name,
                    session_id=session_id,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return ticket

    def _ticket_row(self, ticket: str, purpose: str, *, user: str | None = None) -> Any:
        """The unused, unexpired ticket's row; AuthenticationError(`invalid_ticket`) otherwise."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(login_tickets).where(
                        login_tickets.c.ticket_sha256 == token_digest(ticket)
                    )
                )
                .mappings()
                .first()
            )
        if (
            row is None
            or row["purpose"] != purpose
            or (user is not None and row["user_name"] != user)
            or row["used_at"] is not None
            or stored_utc(row["expires_at"]) <= self._now()
        ):
            raise auth_error(
                f"{purpose} ticket refused", reason="invalid_ticket", user_message=_TICKET_REFUSED
            )
        return row

    def _use_ticket(self, ticket: str, purpose: str, *, user: str | None = None) -> Any:
        """Mark the ticket used (once: a concurrent second use is refused); its row."""
        row = self._ticket_row(ticket, purpose, user=user)
        with self._engine.begin() as conn:
            taken = conn.execute(
                update(login_tickets)
                .where(login_tickets.c.ticket_sha256 == row["ticket_sha256"])
                .where(login_tickets.c.used_at.is_(None))
                .values(used_at=self._now())
            ).rowcount
        if taken != 1:
            raise auth_error(
                f"{purpose} ticket used twice",
                reason="invalid_ticket",
                user_message=_TICKET_REFUSED,
            )
        return row

    def ticket_pending(self, ticket: str, purpose: str = TICKET_COOKIE) -> bool:
        """Whether the ticket can still be used (unused and unexpired)."""
        try:
            self._ticket_row(ticket, purpose)
        except AuthenticationError:
            return False
        return True

    # ---- sessions -----------------------------------------------------------------------

    def issue_cookie_ticket(self, token: str) -> str:
        """A one-time ticket (COOKIE_TICKET_TTL) for the live session of `token`, which the web
        app's cookie route exchanges for the session's browser credential."""
        principal = self.resolve_session(token)
        return self._issue_ticket(
            TICKET_COOKIE, principal.user, ttl=COOKIE_TICKET_TTL, session_id=principal.session_id
        )

    def exchange_cookie_ticket(self, ticket: str) -> CookieGrant:
        """Use a cookie ticket once: a new cookie credential for its session, which must still be
        live. The credential resolves to the same session as its token (`resolve_session`)."""
        row = self._use_ticket(ticket, TICKET_COOKIE)
        session_id = row["session_id"]
        now = self._now()
        with self._engine.connect() as conn:
            live = (
                conn.execute(
                    select(sessions, users.c.disabled)
                    .join(users, users.c.name == sessions.c.user_name)
                    .where(sessions.c.id == session_id)
                )
                .mappings()
                .first()
            )
        if (
            live is None
            or live["revoked_at"] is not None
            or live["disabled"]
            or stored_utc(live["expires_at"]) <= now
        ):
            raise auth_error(
                f"cookie ticket for ended session {session_id}",
                reason="invalid_ticket",
                user_message=_TICKET_REFUSED,
            )
        secret = secrets.token_urlsafe(32)
        with self._engine.begin() as conn:
            conn.execute(
                insert(session_cookies).values(
                    cookie_sha256=token_digest(secret), session_id=session_id, created_at=now
                )
            )
        return CookieGrant(
            secret=secret, session_id=session_id, expires_at=stored_utc(live["expires_at"])
        )

    def _session_match(self, token: str) -> Any:
        """Sessions whose token, or one of whose cookie credentials, is `token`."""
        digest = token_digest(token)
        by_cookie = select(session_cookies.c.session_id).where(
            session_cookies.c.cookie_sha256 == digest
        )
        return (sessions.c.token_sha256 == digest) | sessions.c.id.in_(by_cookie)

    def resolve_session(self, token: str) -> Principal:
        """The principal of a live session; AuthenticationError for forged/expired/idle/disabled.

        `token` is the session token or a cookie credential of the session."""
        now = self._now()
        query = (
            select(sessions, users.c.disabled, users.c.department)
            .join(users, users.c.name == sessions.c.user_name)
            .where(self._session_match(token))
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise auth_error(
                "unknown session token",
                reason="invalid_session",
                user_message="Please sign in.",
            )
        reason = None
        if row["revoked_at"] is not None:
            reason = "session_revoked"
        elif stored_utc(row["expires_at"]) <= now:
            reason = "session_expired"
        elif now - stored_utc(row["last_seen_at"]) >= timedelta(
            minutes=self._settings.session_idle_minutes
        ):
            reason = "session_idle"
        elif row["disabled"]:
            reason = "disabled"
        with self._engine.begin() as conn:
            values = {"last_seen_at": now} if reason is None else {"revoked_at": now}
            if reason != "session_revoked":
                conn.execute(update(sessions).where(sessions.c.id == row["id"]).values(**values))
        if reason is not None:
            raise auth_error(
                f"session {row['id']} refused: {reason}",
                reason=reason,
                user_message="Your session has ended; please sign in again.",
            )
        return self._principal(row["user_name"], row["department"], session_id=row["id"])

    def logout(self, token: str) -> None:
        """End the session of this token or cookie credential (unknown ones are ignored)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(self._session_match(token))
                .where(sessions.c.revoked_at.is_(None))
                .values(revoked_at=self._now())
            )

    def _revoke_sessions(self, conn: Connection, name: str, *, now: datetime) -> None:
        conn.execute(
            update(sessions)
            .where(sessions.c.user_name == name)
            .where(sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
