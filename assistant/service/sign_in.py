"""Sign-in and own-account use-cases: password and SSO sign-in, changing one's own password.

A person signs in (with a password through `Accounts`, or with identity-provider claims mapped to
an existing account) or changes their own password; every attempt writes exactly one audit row,
whatever its outcome, and never the password, the TOTP code or the session token (等保2.0
8.1.4.1, 8.1.4.3). Unlike the administrative use-cases in `assistant.service.admin`, nobody acts
through an operator here, so no permission is checked and the rows' `via` is empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.access import validate_name
from assistant.domain import (
    AuditAction,
    AuditEvent,
    Principal,
    app_object,
    library_object,
    page_object,
)
from assistant.errors import AuthenticationError, InvalidInput
from assistant.service.acting import Actor, record
from assistant.service.context import Context
from assistant.session_cookie import COOKIE_NAME as COOKIE_NAME  # the web app's cookie name
from assistant.session_cookie import CookieSigner
from assistant.sessions import LoginResult

# Longest user name stored in the audit for a failed sign-in: whatever was typed is kept short
# (a password typed into the name field must not land whole in the trail).
MAX_AUDITED_NAME = 64


def _login_actor(name: str, principal: Principal | None, *, channel: str) -> Actor:
    """The signed-in person, or the (shortened) name typed, in session `channel`."""
    if principal is not None:
        return Actor.of(principal)
    return Actor.unidentified(name[:MAX_AUDITED_NAME], session_id=channel, via=None)


def _record_login(
    ctx: Context,
    name: str,
    *,
    obj: str,
    channel: str,
    outcome: str,
    detail: dict[str, Any],
    principal: Principal | None = None,
) -> AuditEvent:
    """One `login` audit row: as `principal` once signed in, else as the (shortened) name."""
    actor = _login_actor(name, principal, channel=channel)
    return record(
        ctx.audit, actor, action=AuditAction.LOGIN, obj=obj, outcome=outcome, detail=detail
    )


def _refusal_outcome(exc: AuthenticationError) -> str:
    return "locked" if exc.reason == "locked" else "failed"


def sign_in(
    ctx: Context,
    name: str,
    password: str,
    *,
    totp_code: str | None = None,
    channel: str = "web",
) -> LoginResult:
    """Log in through `Accounts` and audit the attempt, whatever its outcome.

    Outcomes: `ok`, `password_change_required`, `failed` (with the reason; `locked_now` when
    this failure locked the account) and `locked` (refused because the account is locked).
    Never the password, the TOTP code or the session token (等保2.0 8.1.4.1, 8.1.4.3).
    """
    obj = app_object(channel)
    try:
        result = ctx.accounts.login(name, password, totp_code=totp_code)
    except AuthenticationError as exc:
        detail: dict[str, Any] = {"reason": exc.reason, "channel": channel}
        if exc.reason in ("bad_credentials", "totp_invalid"):
            # A failure that locks the account resets the counter and sets `locked_until`.
            user = ctx.accounts.get_user(name)
            if user is not None and user.failed_attempts == 0 and user.locked_until is not None:
                detail["locked_now"] = True
        outcome = _refusal_outcome(exc)
        _record_login(ctx, name, obj=obj, channel=channel, outcome=outcome, detail=detail)
        raise
    if result.must_change_password:
        detail = {"reason": "must_change_password", "channel": channel}
        outcome = "password_change_required"
        _record_login(ctx, name, obj=obj, channel=channel, outcome=outcome, detail=detail)
        return result
    detail = {"channel": channel}
    principal = result.principal
    _record_login(
        ctx, name, obj=obj, channel=channel, outcome="ok", detail=detail, principal=principal
    )
    return result


def _record_password_change(
    ctx: Context, name: str, channel: str, outcome: str, detail: dict[str, Any]
) -> None:
    record(
        ctx.audit,
        _login_actor(name, None, channel=channel),
        action=AuditAction.PASSWORD_CHANGE,
        obj=app_object(channel),
        outcome=outcome,
        detail={**detail, "channel": channel},
    )


def change_own_password(
    ctx: Context, name: str, *, old: str, new: str, channel: str = "web"
) -> None:
    """Change a user's password (old one checked) and audit the outcome, never the passwords."""
    try:
        ctx.accounts.change_password(name, old=old, new=new)
    except AuthenticationError as exc:
        _record_password_change(ctx, name, channel, "failed", {"reason": exc.reason})
        raise
    except InvalidInput as exc:
        detail = {"reason": type(exc).__name__, "message": exc.user_message}
        _record_password_change(ctx, name, channel, "refused", detail)
        raise
    _record_password_change(ctx, name, channel, "ok", {})


def change_password_and_sign_in(
    ctx: Context, name: str, *, ticket: str, old: str, new: str, channel: str = "web"
) -> LoginResult:
    """After a forced password change, continue the sign-in it interrupted (issue 16 item 10).

    `ticket` is the one-time `change_ticket` of the `password_change_required` result: it
    stands for the password and second factor checked then, so the person is not asked for
    the (already used) TOTP code again — which the replay check would refuse. Audited as
    `password_change` and then `login` `ok` (detail `after: password_change`).
    """
    try:
        result = ctx.accounts.change_password_and_login(name, ticket=ticket, old=old, new=new)
    except AuthenticationError as exc:
        _record_password_change(ctx, name, channel, "failed", {"reason": exc.reason})
        raise
    except InvalidInput as exc:
        detail = {"reason": type(exc).__name__, "message": exc.user_message}
        _record_password_change(ctx, name, channel, "refused", detail)
        raise
    _record_password_change(ctx, name, channel, "ok", {})
    detail = {"channel": channel, "after": "password_change"}
    _record_login(
        ctx, name, obj=app_object(channel), channel=channel, outcome="ok", detail=detail,
        principal=result.principal,
    )  # fmt: skip
    return result


def account_from_claims(claims: Mapping[str, Any], *, claim: str | None = None) -> str:
    """The GuideCite account name an identity provider's verified claims map to.

    With `claim` (e.g. `preferred_username`, `employee_id`) that claim's value; otherwise the
    local part of the `email` claim. Lower-cased; AuthenticationError(`sso_unmapped`) when the
    claim is missing or is not a valid account name.
    """
    source = claim or "email"
    value = str(claims.get(source) or "").strip()
    if not claim:
        value = value.partition("@")[0] if "@" in value else ""
    name = value.lower()
    try:
        validate_name(name, what="user")
    except InvalidInput as exc:
        raise AuthenticationError(
            f"identity claim {source!r} does not name an account",
            reason="sso_unmapped",
            user_message="Your hospital sign-in does not name a GuideCite account; ask the "
            "system administrator. 医院统一认证账号未对应 GuideCite 用户，请联系系统管理员。",
        ) from exc
    return name


def sign_in_verified(
    ctx: Context,
    claims: Mapping[str, Any],
    *,
    claim: str | None = None,
    totp_code: str | None = None,
    channel: str = "web-sso",
) -> LoginResult:
    """Sign in a person whose identity the hospital's OIDC provider verified; audited.

    The claims map to an existing, enabled account (`account_from_claims`); an unknown or
    disabled account is refused. Roles still come from Casbin. The audit row keeps the account
    and the provider's issuer, never a token.
    """
    obj = app_object(channel)
    provider = {"channel": channel, "issuer": str(claims.get("iss") or ""), "claim": claim}
    try:
        name = account_from_claims(claims, claim=claim)
    except AuthenticationError as exc:
        detail = {**provider, "reason": exc.reason}
        _record_login(ctx, "?", obj=obj, channel=channel, outcome="failed", detail=detail)
        raise
    try:
        result = ctx.accounts.login_verified(name, totp_code=totp_code)
    except AuthenticationError as exc:
        detail = {**provider, "reason": exc.reason}
        outcome = _refusal_outcome(exc)
        _record_login(ctx, name, obj=obj, channel=channel, outcome=outcome, detail=detail)
        raise
    principal = result.principal
    _record_login(
        ctx, name, obj=obj, channel=channel, outcome="ok", detail=provider, principal=principal
    )
    return result


# ---- the web session -------------------------------------------------------------------------


def resume_session(ctx: Context, token: str, *, channel: str = "web") -> Principal:
    """The person a session token belongs to, checked on every request (idle timeout,
    revocation, a disabled account). An ended session is audited (`session`/`ended`, with the
    reason) and raises AuthenticationError."""
    try:
        return ctx.accounts.resolve_session(token)
    except AuthenticationError as exc:
        ended = Actor.unidentified("?", session_id=channel, via=None)
        detail = {"reason": exc.reason}
        record(
            ctx.audit, ended, action=AuditAction.SESSION, obj=app_object(channel),
            outcome="ended", detail=detail,
        )  # fmt: skip
        raise


@dataclass(frozen=True)
class SessionCookie:
    """What the cookie route sets: the signed value and its lifetime (the session's)."""

    name: str
    value: str
    max_age: int


def issue_cookie_ticket(ctx: Context, token: str) -> str:
    """A one-time, short-lived ticket for the live session of `token`: the page posts it to
    the app's cookie route (`set_session_cookie`), so no session secret is ever in a URL or
    readable by the page's scripts afterwards (the cookie is HttpOnly)."""
    return ctx.accounts.issue_cookie_ticket(token)


def cookie_ticket_pending(ctx: Context, ticket: str) -> bool:
    """Whether the cookie route has yet to use the ticket (and it has not expired)."""
    return ctx.accounts.ticket_pending(ticket)


def set_session_cookie(ctx: Context, ticket: str) -> SessionCookie:
    """Use a cookie ticket once: the signed cookie of its (still live) session, expiring with
    it. AuthenticationError(`invalid_ticket`) for a used, expired or unknown ticket."""
    grant = ctx.accounts.exchange_cookie_ticket(ticket)
    signer = CookieSigner.from_settings(ctx.settings)
    remaining = int((grant.expires_at - datetime.now(UTC)).total_seconds())
    return SessionCookie(
        name=COOKIE_NAME,
        value=signer.sign(grant.secret, grant.expires_at),
        max_age=max(remaining, 0),
    )


def resume_from_cookie(ctx: Context, value: str, *, channel: str = "web") -> tuple[str, Principal]:
    """The session a browser's cookie names: (its credential, the principal).

    The signature and expiry are checked first (a tampered or expired cookie is refused and
    audited as `session`/`refused`), then the session as on every request (`resume_session`:
    idle timeout, revocation, a disabled account). The credential then stands for the session
    like its token (`resume_session`, `sign_out`).
    """
    try:
        credential = CookieSigner.from_settings(ctx.settings).verify(value)
    except AuthenticationError as exc:
        who = Actor.unidentified("?", session_id=channel, via=None)
        record(
            ctx.audit, who, action=AuditAction.SESSION, obj=app_object(channel),
            outcome="refused", detail={"reason": exc.reason},
        )  # fmt: skip
        raise
    return credential, resume_session(ctx, credential, channel=channel)


def sign_out(
    ctx: Context, token: str | None, principal: Principal | None, *, channel: str = "web"
) -> None:
    """End a session (the token, and any cookie of the session, stop working at once);
    audited when the person is known."""
    if token:
        ctx.accounts.logout(token)
    if principal is not None:
        record(
            ctx.audit, principal, action=AuditAction.LOGOUT, obj=app_object(channel),
            outcome="ok", detail={},
        )  # fmt: skip


def may_open(ctx: Context, principal: Principal, page: str) -> bool:
    """Whether the principal may open a page of the web app (Casbin decides).

    Department administrators open the Library page to manage their own department's
    libraries: the seed policy gives them library grants, not `page:library` (issue 5 item 4).
    """
    if ctx.access.can(principal, "read", page_object(page)):
        return True
    return page == "library" and ctx.access.can(
        principal, "grant", library_object(principal.department)
    )


def open_page(ctx: Context, principal: Principal, page: str, *, channel: str = "web") -> bool:
    """`may_open`, with a refusal audited (`page_open`/`denied`)."""
    if may_open(ctx, principal, page):
        return True
    record(
        ctx.audit, principal, action=AuditAction.PAGE_OPEN, obj=page_object(page),
        outcome="denied", detail={"reason": "not_permitted", "via": channel},
    )  # fmt: skip
    return False
