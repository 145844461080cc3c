"""The accounts component's tables and migrations (users; their sessions, one-time tickets and
cookie credentials), shared by `assistant.accounts` (who the users are, how they prove it) and
`assistant.sessions` (what a sign-in opens). Secrets are stored only as digests or sealed.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    select,
    text,
    update,
)

from assistant.db import Migration
from assistant.totp_seeds import SeedCipher, is_sealed

logger = logging.getLogger(__name__)

_metadata = MetaData()
users = Table(
    "users",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False, default=""),
    Column("department", String(64), nullable=False),
    Column("password_hash", String(255), nullable=True),  # NULL for directory (LDAP) users
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("must_change_password", Boolean, nullable=False, default=False),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    # Sealed (SeedCipher), never the plain seed; never logged or listed.
    Column("totp_secret", String(255), nullable=True),
    Column("totp_confirmed", Boolean, nullable=False, default=False),
    Column("totp_last_step", BigInteger, nullable=True),  # refuses a replayed code
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
)
sessions = Table(
    "sessions",
    _metadata,
    Column("id", String(32), primary_key=True),  # public id, used in Principal and the audit
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


# One-time tickets (issue 16; `assistant.sessions`): single use, short-lived, stored as
# digests. `cookie` lets the web app's cookie route set the browser's session cookie for a
# live session; `password_change` carries a sign-in whose password and second factor were
# checked across a forced password change, so the same TOTP code is not asked (and refused
# as a replay) again.
login_tickets = Table(
    "login_tickets",
    _metadata,
    Column("ticket_sha256", String(64), primary_key=True),
    Column("purpose", String(32), nullable=False),
    Column("user_name", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("session_id", String(32), ForeignKey("sessions.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
)
# The browser's cookie credential of a session: a second secret for the same session, so the
# session token itself never leaves the server process (only its digest is stored, as here).
session_cookies = Table(
    "session_cookies",
    _metadata,
    Column("cookie_sha256", String(64), primary_key=True),
    Column("session_id", String(32), ForeignKey("sessions.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _create_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[users, sessions])


def _create_ticket_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[login_tickets, session_cookies])


def _seal_plain_seeds(conn: Connection, *, seeds: SeedCipher) -> None:
    """Migration 2: widen the column and seal every plain-text seed an older version stored."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE users ALTER COLUMN totp_secret TYPE VARCHAR(255)"))
    rows = conn.execute(
        select(users.c.name, users.c.totp_secret).where(users.c.totp_secret.is_not(None))
    ).all()
    sealed = 0
    for name, stored in rows:
        if not is_sealed(stored):
            conn.execute(
                update(users)
                .where(users.c.name == name)
                .values(totp_secret=seeds.seal(name, stored))
            )
            sealed += 1
    logger.info("sealed %d plain-text TOTP seed(s) (key %s)", sealed, seeds.key_id)


def account_migrations(seeds: SeedCipher) -> tuple[Migration, ...]:
    """The accounts component's numbered migrations (#2 needs the key that seals TOTP seeds)."""
    return (
        Migration(1, "users and sessions tables", _create_tables),
        Migration(2, "TOTP seeds sealed at rest", partial(_seal_plain_seeds, seeds=seeds)),
        Migration(3, "one-time login tickets and session cookies", _create_ticket_tables),
    )


def stored_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else stored_utc(value)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
