"""Local user accounts: argon2 passwords, lockout, TOTP second factor (issue 4).

Roles and departments' permissions live in Casbin (`assistant.access`); this module keeps who
the users are and how they prove it. Nothing here writes audit events or logs a password, a
TOTP secret or a session token: results are returned and refusals raise `AuthenticationError`
with a machine-readable `reason`, so the service layer audits every outcome.

TOTP seeds are sealed at rest by `assistant.totp_seeds`; a seed sealed under another key is
refused with reason `totp_key_mismatch` and a message naming the re-enrolment command — never
taken for a wrong code, so it never counts towards a lockout.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from pydantic import BaseModel, Field
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import (
    Connection,
    Engine,
    insert,
    select,
    update,
)

from assistant.access import AccessControl, validate_name
from assistant.account_tables import account_migrations, maybe_utc, stored_utc, users
from assistant.authenticators import Authenticator, LocalAuthenticator
from assistant.config import AccountSettings, Settings
from assistant.db import apply_migrations, shared_engine
from assistant.domain import Principal, Role
from assistant.errors import InvalidInput
from assistant.sessions import (
    CHANGE_TICKET_TTL,
    TICKET_PASSWORD_CHANGE,
    LoginResult,
    SessionsMixin,
    auth_error,
)
from assistant.totp_seeds import REENROL_HINT, SEAL_VERSION, SeedCipher, SeedKeyMismatch, is_sealed

logger = logging.getLogger(__name__)

# 等保2.0 §8.1.4.1: two authentication techniques for privileged roles; optional for doctors.
TOTP_REQUIRED_ROLES = frozenset(
    {Role.DEPT_ADMIN, Role.QUALITY_REVIEWER, Role.COMPLIANCE_OFFICER, Role.SYSADMIN}
)
TOTP_ISSUER = "GuideCite"
MAX_PASSWORD_CHARS = 1024  # bounds argon2 work per attempt


class UserInfo(BaseModel):
    """A user as listed to administrators: no password hash, no TOTP secret."""

    name: str
    display_name: str
    department: str
    roles: list[tuple[str, str]] = Field(description="(role, department) pairs from Casbin.")
    created_at: datetime
    disabled: bool
    must_change_password: bool
    totp_enrolled: bool
    totp_unreadable: bool = Field(
        default=False,
        description="The seed was sealed with another key (lost or replaced): re-enrol.",
    )
    failed_attempts: int
    locked_until: datetime | None
    password_changed_at: datetime | None


def _refuse_if_disabled(row: Any, name: str) -> None:
    if row["disabled"]:
        raise auth_error(
            f"{name} is disabled",
            reason="disabled",
            user_message="This account is disabled; contact the system administrator.",
        )


_BAD_CREDENTIALS = "Wrong user name or password."


class Accounts(SessionsMixin):
    """Users, passwords, second factor and sessions over the shared SQL database."""

    def __init__(
        self,
        engine: Engine,
        *,
        access: AccessControl,
        seeds: SeedCipher,
        settings: AccountSettings | None = None,
        now: Callable[[], datetime] | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        apply_migrations(engine, component="accounts", migrations=account_migrations(seeds))
        self._engine = engine
        self._seeds = seeds
        self._access = access
        self._settings = settings or AccountSettings()
        self._clock = now or (lambda: datetime.now(UTC))
        # Local hashing (new and reset passwords) uses the given LocalAuthenticator's parameters.
        self._local = (
            authenticator if isinstance(authenticator, LocalAuthenticator) else LocalAuthenticator()
        )
        self._authenticator: Authenticator = authenticator or self._local

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        access: AccessControl,
        now: Callable[[], datetime] | None = None,
        authenticator: Authenticator | None = None,
    ) -> Accounts:
        """Accounts on the configured database (tables created on first use)."""
        return cls(
            shared_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size),
            access=access,
            seeds=SeedCipher.from_settings(settings),
            settings=settings.accounts,
            now=now,
            authenticator=authenticator,
        )

    def _now(self) -> datetime:
        return stored_utc(self._clock())

    def _row(self, name: str) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(select(users).where(users.c.name == name)).mappings().first()

    def _update_user(self, conn: Connection, name: str, **values: Any) -> None:
        if not conn.execute(update(users).where(users.c.name == name).values(**values)).rowcount:
            raise InvalidInput(f"no user {name!r}", user_message=f"No user named {name}.")

    # ---- users --------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        *,
        role: Role,
        department: str,
        password: str | None = None,
        temporary: bool = False,
        display_name: str = "",
    ) -> str | None:
        """Create a user with a role in a department; returns the one-time password if generated."""
        validate_name(name, what="user")
        validate_name(department, what="department", allow_hospital_wide=True)
        role = Role(role)
        generated: str | None = None
        password_hash: str | None = None
        if self._authenticator.manages_passwords:
            if password is None:
                generated = password = secrets.token_urlsafe(15)  # 20 chars
                temporary = True
            self._check_password_policy(name, password)
            password_hash = self._local.hash_password(password)
        elif password is not None:
            raise InvalidInput("directory users have no local password")
        if self.get_user(name) is not None:
            raise InvalidInput(f"user {name!r} already exists", user_message=f"{name} exists.")
        now = self._now()
        with self._engine.begin() as conn:
            conn.execute(
                insert(users).values(
                    name=name,
                    display_name=display_name,
                    department=department,
                    password_hash=password_hash,
                    created_at=now,
                    disabled=False,
                    must_change_password=temporary,
                    failed_attempts=0,
                    totp_confirmed=False,
                    password_changed_at=None if temporary else now,
                )
            )
        self._access.assign_role(user=name, role=role, department=department)
        logger.info("user %s added (%s in %s)", name, role.value, department)
        return generated

    def get_user(self, name: str) -> UserInfo | None:
        """One user, or None."""
        row = self._row(name)
        return None if row is None else self._info(row)

    def list_users(self) -> list[UserInfo]:
        """All users (disabled ones included), by name."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.name)).mappings().all()
        return [self._info(row) for row in rows]

    def _info(self, row: Any) -> UserInfo:
        return UserInfo(
            name=row["name"],
            display_name=row["display_name"],
            department=row["department"],
            roles=self._access.roles_of(row["name"]),
            created_at=stored_utc(row["created_at"]),
            disabled=bool(row["disabled"]),
            must_change_password=bool(row["must_change_password"]),
            totp_enrolled=row["totp_secret"] is not None and bool(row["totp_confirmed"]),
            totp_unreadable=row["totp_secret"] is not None
            and is_sealed(row["totp_secret"])
            and not row["totp_secret"].startswith(f"{SEAL_VERSION}:{self._seeds.key_id}:"),
            failed_attempts=int(row["failed_attempts"]),
            locked_until=maybe_utc(row["locked_until"]),
            password_changed_at=maybe_utc(row["password_changed_at"]),
        )

    def disable_user(self, name: str) -> None:
        """Disable (never delete) a user and revoke their live sessions."""
        self._set_disabled(name, disabled=True)

    def enable_user(self, name: str) -> None:
        """Re-enable a disabled user (sessions revoked at disabling stay revoked)."""
        self._set_disabled(name, disabled=False)

    def _set_disabled(self, name: str, *, disabled: bool) -> None:
        now = self._now()
        with self._engine.begin() as conn:
            self._update_user(conn, name, disabled=disabled, disabled_at=now if disabled else None)
            if disabled:
                self._revoke_sessions(conn, name, now=now)
        logger.info("user %s %s", name, "disabled" if disabled else "enabled")

    def reset_password(self, name: str) -> str:
        """Give the user a generated one-time password (must be changed at next login)."""
        password = secrets.token_urlsafe(15)
        now = self._now()
        with self._engine.begin() as conn:
            self._update_user(
                conn,
                name,
                password_hash=self._local.hash_password(password),
                must_change_password=True,
                failed_attempts=0,
                locked_until=None,
            )
            self._revoke_sessions(conn, name, now=now)
        logger.info("password of %s reset", name)
        return password

    def _check_password_policy(self, name: str, password: str) -> None:
        minimum = self._settings.password_min_length
        if len(password) < minimum:
            raise InvalidInput(
                "password too short",
                user_message=f"A password needs at least {minimum} characters.",
            )
        if len(password) > MAX_PASSWORD_CHARS:
            raise InvalidInput("password too long", user_message="That password is too long.")
        if password.casefold() == name.casefold():
            raise InvalidInput(
                "password equals user name", user_message="The password cannot be the user name."
            )

    # ---- login --------------------------------------------------------------------------

    def _checked_row(
        self, name: str, password: str, *, checker: Authenticator, now: datetime
    ) -> Any:
        """The user's row once `password` is right; unknown users cost a dummy check (timing),
        lockout applies, and a wrong password counts towards it."""
        row = self._row(name)
        if row is None:
            checker.check_password(name, password, stored_hash=None)
            raise auth_error(
                f"unknown user {name}", reason="bad_credentials", user_message=_BAD_CREDENTIALS
            )
        self._refuse_if_locked(row, now=now)
        if not checker.check_password(name, password, stored_hash=row["password_hash"]):
            self._record_failure(name, now=now)
            raise auth_error(
                f"wrong password for {name}",
                reason="bad_credentials",
                user_message=_BAD_CREDENTIALS,
            )
        return row

    def login(self, name: str, password: str, *, totp_code: str | None = None) -> LoginResult:
        """Check password (and TOTP where required); open a session unless a change is pending."""
        now = self._now()
        row = self._checked_row(name, password, checker=self._authenticator, now=now)
        # Only someone who knows the password learns that the account is disabled.
        _refuse_if_disabled(row, name)
        self._check_totp(row, totp_code, now=now)
        with self._engine.begin() as conn:
            self._update_user(conn, name, failed_attempts=0, locked_until=None)
        if row["must_change_password"]:
            # Password and second factor are checked: once the password is changed, this
            # ticket opens the session (the same TOTP code would be refused as a replay).
            ticket = self._issue_ticket(TICKET_PASSWORD_CHANGE, name, ttl=CHANGE_TICKET_TTL)
            return LoginResult(user=name, must_change_password=True, change_ticket=ticket)
        return self._open_session(name, row["department"], now=now)

    def change_password_and_login(
        self, name: str, *, ticket: str, old: str, new: str
    ) -> LoginResult:
        """Finish a sign-in interrupted by a forced password change: the ticket `login` gave
        (single use, CHANGE_TICKET_TTL) stands for the password and second factor checked
        then; the password is changed (old one checked again) and a session opens."""
        self._ticket_row(ticket, TICKET_PASSWORD_CHANGE, user=name)  # refused before any change
        self.change_password(name, old=old, new=new)
        self._use_ticket(ticket, TICKET_PASSWORD_CHANGE, user=name)
        row = self._row(name)
        _refuse_if_disabled(row, name)
        return self._open_session(name, row["department"], now=self._now())

    def login_verified(self, name: str, *, totp_code: str | None = None) -> LoginResult:
        """Open a session for a user whose identity a trusted provider (hospital SSO) verified.

        The account must exist, be enabled and not locked; a role needing a second factor still
        needs this app's TOTP code (等保2.0 §8.1.4.1). Roles come from Casbin, as for a password
        login.
        """
        now = self._now()
        row = self._row(name)
        if row is None:
            raise auth_error(
                f"no account for verified identity {name}",
                reason="unknown_user",
                user_message="Your hospital sign-in has no GuideCite account; ask the system "
                "administrator.",
            )
        self._refuse_if_locked(row, now=now)
        _refuse_if_disabled(row, name)
        self._check_totp(row, totp_code, now=now)
        return self._open_session(name, row["department"], now=now)

    def _refuse_if_locked(self, row: Any, *, now: datetime) -> None:
        locked_until = maybe_utc(row["locked_until"])
        if locked_until is not None and locked_until > now:
            raise auth_error(
                f"{row['name']} is locked until {locked_until.isoformat()}",
                reason="locked",
                user_message="Too many failed attempts; try again later or ask an administrator.",
            )

    def _record_failure(self, name: str, *, now: datetime) -> None:
        with self._engine.begin() as conn:
            # Increment in SQL so concurrent attempts (several replicas) all count.
            conn.execute(
                update(users)
                .where(users.c.name == name)
                .values(failed_attempts=users.c.failed_attempts + 1)
            )
            attempts = conn.execute(
                select(users.c.failed_attempts).where(users.c.name == name)
            ).scalar_one()
            if attempts >= self._settings.lockout_threshold:
                until = now + timedelta(minutes=self._settings.lockout_minutes)
                self._update_user(conn, name, failed_attempts=0, locked_until=until)
                logger.warning("user %s locked after %d failed attempts", name, attempts)

    def _totp_required(self, name: str) -> bool:
        return any(role in TOTP_REQUIRED_ROLES for role, _dom in self._access.roles_of(name))

    def _seed(self, name: str, stored: str) -> str:
        """The plain seed of a stored one; a plain-text seed (older version) is sealed now."""
        if not is_sealed(stored):
            with self._engine.begin() as conn:
                self._update_user(conn, name, totp_secret=self._seeds.seal(name, stored))
            logger.warning("TOTP seed of %s was stored in plain text; sealed now", name)
            return stored
        try:
            return self._seeds.open(name, stored)
        except SeedKeyMismatch as exc:
            # A lost or replaced key must not look like a wrong code (no lockout, no guessing):
            # say what happened and how to recover (docs/security.md, "TOTP seeds at rest").
            logger.error(
                "TOTP seed of %s cannot be opened: sealed with key %s, this deployment's key is "
                "%s (restore DATA_DIR/audit-checkpoint.key or GUIDECITE_AUDIT__CHECKPOINT_KEY, "
                "or re-enrol: %s)",
                name,
                exc.sealed_with or "?",
                self._seeds.key_id,
                REENROL_HINT.format(name=name),
            )
            raise auth_error(
                f"TOTP seed of {name} sealed with another key",
                reason="totp_key_mismatch",
                user_message="Your authenticator enrolment cannot be read on this server (its "
                "key has changed). Ask the system administrator to re-enrol your authenticator "
                f"(`{REENROL_HINT.format(name=name)}`), then add the new entry to your app.",
            ) from exc

    def _check_totp(self, row: Any, code: str | None, *, now: datetime) -> None:
        name = row["name"]
        stored: str | None = row["totp_secret"]
        required = self._totp_required(name) or (stored is not None and row["totp_confirmed"])
        if not required and (code is None or stored is None):
            return
        if stored is None:
            raise auth_error(
                f"{name} must use a second factor but has none enrolled",
                reason="totp_not_enrolled",
                user_message="Your role requires an authenticator app; ask the system "
                "administrator to enrol one.",
            )
        secret = self._seed(name, stored)
        if not code:
            raise auth_error(
                f"{name} needs a TOTP code",
                reason="totp_required",
                user_message="Enter the 6-digit code from your authenticator app.",
            )
        try:
            step = pyotp.TOTP(secret).verify_and_get_timecode(
                code.strip(), for_time=now, valid_window=1
            )
        except (OTPVerificationError, ValueError):
            step = None
        last = row["totp_last_step"]
        if step is None or (last is not None and step <= last):  # wrong or replayed
            self._record_failure(name, now=now)
            raise auth_error(
                f"invalid TOTP code for {name}",
                reason="totp_invalid",
                user_message="That code is not valid; wait for the next one and try again.",
            )
        with self._engine.begin() as conn:
            self._update_user(conn, name, totp_last_step=step, totp_confirmed=True)

    def change_password(self, name: str, *, old: str, new: str) -> None:
        """Replace the password (old one checked, lockout applies); ends the user's sessions."""
        if not self._authenticator.manages_passwords:
            raise InvalidInput("passwords are managed by the directory")
        now = self._now()
        row = self._checked_row(name, old, checker=self._local, now=now)
        if row["disabled"]:
            raise auth_error(
                f"{name} is disabled", reason="disabled", user_message="This account is disabled."
            )
        self._check_password_policy(name, new)
        if new == old:
            raise InvalidInput(
                "new password equals old", user_message="Choose a different password."
            )
        with self._engine.begin() as conn:
            self._update_user(
                conn,
                name,
                password_hash=self._local.hash_password(new),
                must_change_password=False,
                password_changed_at=now,
                failed_attempts=0,
                locked_until=None,
            )
            self._revoke_sessions(conn, name, now=now)
        logger.info("password of %s changed", name)

    def enrol_totp(self, name: str) -> str:
        """Create (or replace) the user's TOTP secret; returns the provisioning URI to show once.

        Also the recovery when a seed can no longer be opened (key lost or replaced).
        """
        secret = pyotp.random_base32()
        with self._engine.begin() as conn:
            self._update_user(
                conn,
                name,
                totp_secret=self._seeds.seal(name, secret),
                totp_confirmed=False,
                totp_last_step=None,
            )
        logger.info("TOTP enrolment started for %s", name)
        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)

    # ---- principals ---------------------------------------------------------------------

    def principal_for(self, name: str, *, session_id: str | None = None) -> Principal:
        """The principal of an existing, enabled user (CLI `--user NAME`, `--by NAME`)."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users.c.disabled, users.c.department).where(users.c.name == name)
            ).first()
        if row is None:
            raise auth_error(
                f"unknown user {name}", reason="unknown_user", user_message=f"No user named {name}."
            )
        if row.disabled:
            raise auth_error(
                f"{name} is disabled",
                reason="disabled",
                user_message=f"The account {name} is disabled.",
            )
        return self._principal(name, row.department, session_id=session_id or uuid.uuid4().hex)

    def _principal(self, name: str, department: str, *, session_id: str) -> Principal:
        role = self._access.primary_role(name, department)
        if role is None:
            raise auth_error(
                f"{name} holds no role in {department}",
                reason="no_role",
                user_message="Your account has no role; ask your department administrator.",
            )
        return Principal(user=name, role=role, department=department, session_id=session_id)
