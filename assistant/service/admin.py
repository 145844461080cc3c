"""Administrative use-cases: init, users, roles, libraries, audit verify/export/purge (issue 4).

Every use-case checks permission first (Casbin, through `AccessControl`) and writes exactly one
audit event for every outcome: `ok`, `denied` (an `AccessDenied`, with its reason) or `refused`
(bad input, a purge the retention rule forbids). A person acting through the CLI is a Principal
whose `via` names the OS operator, and the audit records both names; operator commands without a
person are audited as `cli:<os-user>`, role `operator`, department `*` (DESIGN.md §6).
Sign-in and own-account use-cases live in `assistant.service.sign_in`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, TypeVar

from assistant.access import HOSPITAL_WIDE, AccessControl
from assistant.accounts import TOTP_REQUIRED_ROLES, UserInfo
from assistant.domain import AuditEvent, Principal, Role, VerifyResult
from assistant.errors import AccessDenied, AuditIntegrityError, InvalidInput
from assistant.service.context import Context

logger = logging.getLogger(__name__)

T = TypeVar("T")

OPERATOR_ROLE = "operator"
DEMO_DEPARTMENTS = ("cardiology", "oncology")
# Department-scoped demo roles; sysadmin stays hospital-wide only (a department sysadmin would
# confuse the demo of separation of duties).
DEMO_DEPARTMENT_ROLES: tuple[tuple[str, Role], ...] = (
    ("doctor", Role.DOCTOR),
    ("admin", Role.DEPT_ADMIN),
    ("reviewer", Role.QUALITY_REVIEWER),
    ("compliance", Role.COMPLIANCE_OFFICER),
)
DEMO_HOSPITAL_USERS: tuple[tuple[str, Role], ...] = (
    ("hospital.sysadmin", Role.SYSADMIN),
    ("hospital.compliance", Role.COMPLIANCE_OFFICER),
)


class AdminAction(StrEnum):
    """The `action` column of administrative audit events."""

    INIT = "init"
    USER_ADD = "user_add"
    USER_DISABLE = "user_disable"
    TOTP_ENROL = "totp_enrol"
    ROLE_GRANT = "role_grant"
    ROLE_REVOKE = "role_revoke"
    LIBRARY_GRANT = "library_grant"
    LIBRARY_REVOKE = "library_revoke"
    AUDIT_VERIFY = "audit_verify"
    AUDIT_EXPORT = "export"
    AUDIT_PURGE = "audit_purge"
    INGEST = "ingest"
    DOCUMENT_DELETE = "document_delete"
    LOGIN = "login"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (an audit action name)


def demo_users() -> list[tuple[str, Role, str]]:
    """The (name, role, department) accounts `init --demo` creates."""
    per_department = [
        (f"{dept}.{suffix}", role, dept)
        for dept in DEMO_DEPARTMENTS
        for suffix, role in DEMO_DEPARTMENT_ROLES
    ]
    hospital = [(name, role, HOSPITAL_WIDE) for name, role in DEMO_HOSPITAL_USERS]
    return per_department + hospital


def roles_object(department: str) -> str:
    """Casbin/audit object of role changes in a department."""
    return f"roles:{department}"


def library_object(library: str) -> str:
    """Casbin/audit object of a library."""
    return f"library:{library}"


def audit_object(department: str | None) -> str:
    """Casbin/audit object of a department's audit trail (`audit:*` = hospital-wide)."""
    return f"audit:{department or HOSPITAL_WIDE}"


# ---- who acts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """The columns an audit row takes from whoever acts (also used by `service_auth`)."""

    actor: str
    role: str
    department: str
    session_id: str
    via: str | None


def _party(who: Principal | str) -> Party:
    if isinstance(who, Principal):
        return Party(who.user, str(who.role), who.department, who.session_id, who.via)
    # An operator command: the OS account itself acts, hospital-wide.
    return Party(who, OPERATOR_ROLE, HOSPITAL_WIDE, uuid.uuid4().hex, None)


def _record(
    ctx: Context,
    party: Party,
    *,
    action: AdminAction,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> AuditEvent:
    # 等保2.0 8.1.4.3: date/time, user, event type and outcome of every administrative action.
    return ctx.audit.append_event(
        actor=party.actor,
        role=party.role,
        department=party.department,
        session_id=party.session_id,
        action=str(action),
        object=obj,
        outcome=outcome,
        detail={**detail, "via": party.via},
    )


def _audited(
    ctx: Context,
    who: Principal | str,
    *,
    action: AdminAction,
    obj: str,
    detail: dict[str, Any],
    run: Callable[[], tuple[T, dict[str, Any]]],
) -> T:
    """Run `run` and audit its outcome once; `run` returns (result, extra detail for `ok`).

    Fail closed: when the audit cannot be written, nothing is changed (AuditUnavailable).
    """
    party = _party(who)
    ctx.audit.ensure_writable()
    try:
        result, extra = run()
    except AccessDenied as exc:
        _record(
            ctx,
            party,
            action=action,
            obj=obj,
            outcome="denied",
            detail={**detail, "reason": exc.reason},
        )
        raise
    except (InvalidInput, AuditIntegrityError) as exc:
        refusal = {"reason": type(exc).__name__, "message": exc.user_message}
        _record(ctx, party, action=action, obj=obj, outcome="refused", detail={**detail, **refusal})
        raise
    _record(ctx, party, action=action, obj=obj, outcome="ok", detail={**detail, **extra})
    return result


def resolve_actor(ctx: Context, name: str, *, via: str, action: AdminAction, obj: str) -> Principal:
    """The enabled account `name` acting through operator `via`; a refusal is audited (exit 3)."""
    try:
        principal = ctx.accounts.principal_for(name)
    except AccessDenied as exc:
        # Unknown or disabled `--by` users are denials too, recorded with what they attempted.
        party = Party(name, "unknown", "unknown", uuid.uuid4().hex, via)
        _record(ctx, party, action=action, obj=obj, outcome="denied", detail={"reason": exc.reason})
        raise
    return principal.model_copy(update={"via": via})


# ---- system ---------------------------------------------------------------------------------


def _demo_gate(ctx: Context, *, operator: str) -> dict[str, Any]:
    """Demo data for issue #6: cardiology holds an ethics approval, oncology does not."""
    from assistant.gates import GateRegistry

    registry = GateRegistry.open(ctx.settings)
    status = registry.status("cardiology")
    if status.open:
        return {"department": "cardiology", "created": False}
    today = registry.today()
    registry.record(
        department="cardiology",
        reference="DEMO-EC-2026-001",
        approved_by="demo ethics committee",
        expires_on=today + timedelta(days=365),
        recorded_by=operator,
    )
    return {"department": "cardiology", "created": True, "not_approved": ["oncology"]}


def init_system(ctx: Context, *, operator: str, demo: bool) -> dict[str, Any]:
    """Seed the access policy (idempotent); with `demo`, create demo users and library grants."""

    def run() -> tuple[dict[str, Any], dict[str, Any]]:
        added = ctx.access.seed_defaults()
        users: list[dict[str, Any]] = []
        grants: list[dict[str, Any]] = []
        gate: dict[str, Any] | None = None
        if demo:
            users = [
                _create_demo_user(ctx, name, role=r, department=d) for name, r, d in demo_users()
            ]
            grants = [
                {
                    "library": dept,
                    "department": dept,
                    "added": ctx.access.assign_library(library=dept, department=dept),
                }
                for dept in DEMO_DEPARTMENTS
            ]
            gate = _demo_gate(ctx, operator=operator)
        summary = {
            "data_dir": str(ctx.settings.data_dir),
            "policy_rules_added": added,
            "policy_rules": ctx.access.policy_count(),
            "demo": demo,
            "users": users,
            "library_grants": grants,
            "demo_gate": gate,
        }
        # The audit gets names only: one-time passwords and TOTP URIs are shown once, never
        # stored.
        extra = {
            "policy_rules_added": added,
            "users_created": [u["name"] for u in users if u["created"]],
            "users_existing": [u["name"] for u in users if not u["created"]],
            "demo_gate": gate,
            "library_grants_added": [
                f"{g['library']}@{g['department']}" for g in grants if g["added"]
            ],
        }
        return summary, extra

    return _audited(
        ctx, operator, action=AdminAction.INIT, obj="system", detail={"demo": demo}, run=run
    )


def _create_demo_user(ctx: Context, name: str, *, role: Role, department: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "role": str(role), "department": department}
    if ctx.accounts.get_user(name) is not None:
        return {**entry, "created": False, "one_time_password": None, "totp_uri": None}
    one_time = ctx.accounts.add_user(name, role=role, department=department)
    # Privileged roles cannot sign in without a second factor (等保2.0 §8.1.4.1); the demo
    # enrols one so that every printed account is usable at once.
    totp_uri = ctx.accounts.enrol_totp(name) if role in TOTP_REQUIRED_ROLES else None
    return {**entry, "created": True, "one_time_password": one_time, "totp_uri": totp_uri}


# ---- users ----------------------------------------------------------------------------------


def add_user(
    ctx: Context,
    *,
    operator: str,
    name: str,
    role: Role,
    department: str,
    password: str | None,
    temporary: bool,
    display_name: str = "",
) -> str | None:
    """Create an account (operator command); returns the one-time password when generated."""
    detail = {
        "user": name,
        "role": str(role),
        "department": department,
        "temporary": temporary or password is None,
        "generated": password is None,
    }

    def run() -> tuple[str | None, dict[str, Any]]:
        generated = ctx.accounts.add_user(
            name,
            role=role,
            department=department,
            password=password,
            temporary=temporary,
            display_name=display_name,
        )
        return generated, {}

    return _audited(
        ctx, operator, action=AdminAction.USER_ADD, obj=f"user:{name}", detail=detail, run=run
    )


def list_users(ctx: Context) -> list[UserInfo]:
    """Every account, disabled ones included (no hashes, no secrets)."""
    return ctx.accounts.list_users()


def disable_user(ctx: Context, *, operator: str, name: str) -> None:
    """Disable (never delete) an account and end its sessions (operator command)."""

    def run() -> tuple[None, dict[str, Any]]:
        ctx.accounts.disable_user(name)
        return None, {}

    _audited(
        ctx,
        operator,
        action=AdminAction.USER_DISABLE,
        obj=f"user:{name}",
        detail={"user": name},
        run=run,
    )


def enrol_totp(ctx: Context, *, operator: str, name: str) -> str:
    """Give an account a new TOTP seed (first enrolment, a lost phone, or a seed sealed with a
    lost key); returns the provisioning URI to show once. Operator command, audited."""

    def run() -> tuple[str, dict[str, Any]]:
        if ctx.accounts.get_user(name) is None:
            raise InvalidInput(f"no user {name!r}", user_message=f"No user named {name}.")
        return ctx.accounts.enrol_totp(name), {}

    # The audit gets the name only: the URI holds the seed and is shown once, never stored.
    return _audited(
        ctx,
        operator,
        action=AdminAction.TOTP_ENROL,
        obj=f"user:{name}",
        detail={"user": name},
        run=run,
    )


# ---- roles and libraries --------------------------------------------------------------------


def _change_role(
    ctx: Context, actor: Principal, *, grant: bool, user: str, role: Role, department: str
) -> bool:
    action = AdminAction.ROLE_GRANT if grant else AdminAction.ROLE_REVOKE
    verb = "grant" if grant else "revoke"
    obj = roles_object(department)

    def run() -> tuple[bool, dict[str, Any]]:
        # Permission first, so an attempt naming a missing account is still a denial.
        ctx.access.require(actor, verb, obj)
        if ctx.accounts.get_user(user) is None:
            raise InvalidInput(f"no user {user!r}", user_message=f"No user named {user}.")
        change = ctx.access.grant_role if grant else ctx.access.revoke_role
        changed = change(actor, user=user, role=role, department=department)
        return changed, {"changed": changed}

    detail = {"user": user, "role": str(role), "department": department}
    return _audited(ctx, actor, action=action, obj=obj, detail=detail, run=run)


def grant_role(ctx: Context, actor: Principal, *, user: str, role: Role, department: str) -> bool:
    """Give `user` `role` in `department`; False when already held. Audited either way."""
    return _change_role(ctx, actor, grant=True, user=user, role=role, department=department)


def revoke_role(ctx: Context, actor: Principal, *, user: str, role: Role, department: str) -> bool:
    """Take `role` in `department` from `user`; False when not held. Audited either way."""
    return _change_role(ctx, actor, grant=False, user=user, role=role, department=department)


def _change_library(
    ctx: Context, actor: Principal, *, grant: bool, library: str, department: str
) -> bool:
    action = AdminAction.LIBRARY_GRANT if grant else AdminAction.LIBRARY_REVOKE

    def run() -> tuple[bool, dict[str, Any]]:
        change = ctx.access.grant_library if grant else ctx.access.revoke_library
        changed = change(actor, library=library, department=department)
        return changed, {"changed": changed}

    detail = {"library": library, "department": department}
    return _audited(ctx, actor, action=action, obj=library_object(library), detail=detail, run=run)


def grant_library(ctx: Context, actor: Principal, *, library: str, department: str) -> bool:
    """Make `library` readable in `department` (`*` = everywhere); False when already so."""
    return _change_library(ctx, actor, grant=True, library=library, department=department)


def revoke_library(ctx: Context, actor: Principal, *, library: str, department: str) -> bool:
    """Withdraw a library grant; False when there was none."""
    return _change_library(ctx, actor, grant=False, library=library, department=department)


def list_libraries(ctx: Context) -> list[dict[str, Any]]:
    """Every granted library with the departments it is granted to (`*` = hospital-wide)."""
    departments: dict[str, list[str]] = {}
    for library, department in ctx.access.list_library_grants():
        departments.setdefault(library, []).append(department)
    return [
        {"library": library, "departments": sorted(depts)}
        for library, depts in sorted(departments.items())
    ]


def manageable_libraries(access: AccessControl, principal: Principal) -> list[str] | None:
    """Libraries the principal may ingest into and delete from; None means every library.

    A system administrator manages every library (`manage` on `library:*`). A department
    administrator manages the libraries granted to their own department (they hold `grant` on
    libraries there); a hospital-wide grant such as `hospital` stays with the system
    administrator. Everyone else manages none.
    """
    if access.can(principal, "manage", "library:*"):
        return None
    if not access.can(principal, "grant", library_object(principal.department)):
        return []
    return sorted(
        {
            library
            for library, department in access.list_library_grants()
            if department == principal.department
        }
    )


def require_library_management(access: AccessControl, principal: Principal, library: str) -> None:
    """Raise AccessDenied unless the principal may ingest into / delete from `library`."""
    obj = library_object(library)
    if access.can(principal, "manage", obj):
        return
    if not access.can(principal, "grant", obj):
        raise AccessDenied(
            f"{principal.user} may not manage {obj}",
            reason="not_permitted",
            user_message=f"You do not have permission to change library {library}. "
            f"您无权修改指南库 {library}。",
        )
    allowed = manageable_libraries(access, principal)
    if allowed is not None and library not in allowed:
        raise AccessDenied(
            f"{principal.user} may not manage {obj}: not granted to {principal.department}",
            reason="library_not_of_department",
            user_message=f"Library {library} is not granted to your department "
            f"{principal.department}; only its own department's administrator or a system "
            f"administrator may change it. 指南库 {library} 不属于您的科室，您无权修改。",
        )


# ---- audit trail ----------------------------------------------------------------------------


def verify_audit(ctx: Context, *, operator: str) -> VerifyResult:
    """Check the whole chain and its signed checkpoints; the check itself is audited."""
    result = ctx.audit.verify()
    _record(
        ctx,
        _party(operator),
        action=AdminAction.AUDIT_VERIFY,
        obj=audit_object(None),
        outcome="ok" if result.ok else "failed",
        detail={
            "events": result.events,
            "first_bad_id": result.first_bad_id,
            "reason": result.reason,
        },
    )
    return result


def export_audit(
    ctx: Context,
    actor: Principal,
    *,
    fmt: Literal["jsonl", "csv"],
    since: datetime | None = None,
    department: str | None = None,
    actor_filter: str | None = None,
) -> Iterator[str]:
    """Export lines of the audit trail; needs `export` on `audit:<dept>` (or `audit:*`)."""
    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"unknown export format {fmt!r}", user_message="Use jsonl or csv.")
    obj = audit_object(department)
    filters = {"format": fmt, "since": since, "department": department, "actor": actor_filter}

    def run() -> tuple[None, dict[str, Any]]:
        ctx.access.require(actor, "export", obj)
        return None, {}

    # Audited here, before a single line is read: the event exists even if the reader stops.
    _audited(ctx, actor, action=AdminAction.AUDIT_EXPORT, obj=obj, detail=filters, run=run)
    return ctx.audit.export_events(fmt=fmt, since=since, department=department, actor=actor_filter)


def purge_audit(ctx: Context, actor: Principal, *, before: datetime) -> int:
    """Delete events older than `before` (never younger than the retention); returns the count."""
    obj = audit_object(None)

    def run() -> tuple[int, dict[str, Any]]:
        ctx.access.require(actor, "purge", obj)
        purged = ctx.audit.purge_before(
            before=before, retention_days=ctx.settings.audit.retention_days
        )
        return purged, {"purged": purged}

    detail = {"before": before, "retention_days": ctx.settings.audit.retention_days}
    return _audited(ctx, actor, action=AdminAction.AUDIT_PURGE, obj=obj, detail=detail, run=run)
