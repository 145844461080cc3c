"""Administrative use-cases: init, users, roles and libraries (issue 4).

Every use-case checks permission first (Casbin, through `AccessControl`) and writes exactly one
audit event for every outcome through `acting.audited`: `ok`, `denied` (an `AccessDenied`, with
its reason) or `refused` (bad input). A person acting through the CLI is a Principal whose `via`
names the OS operator, and the audit records both names; operator commands without a person are
audited as `cli:<os-user>`, role `operator`, department `*` (DESIGN.md §6). Sign-in lives in
`sign_in`, the audit trail's own use-cases in `audit_trail`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from assistant.access import DEPT_ADMIN_GRANTABLE, manageable_libraries
from assistant.accounts import TOTP_REQUIRED_ROLES, UserInfo
from assistant.domain import (
    HOSPITAL_WIDE,
    AuditAction,
    AuditEvent,
    Principal,
    Role,
    library_object,
    roles_object,
    user_object,
)
from assistant.errors import InvalidInput
from assistant.glossary import TermGap, untranslated_terms
from assistant.service.acting import audited
from assistant.service.context import Context

logger = logging.getLogger(__name__)


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


def demo_users() -> list[tuple[str, Role, str]]:
    """The (name, role, department) accounts `init --demo` creates."""
    per_department = [
        (f"{dept}.{suffix}", role, dept)
        for dept in DEMO_DEPARTMENTS
        for suffix, role in DEMO_DEPARTMENT_ROLES
    ]
    hospital = [(name, role, HOSPITAL_WIDE) for name, role in DEMO_HOSPITAL_USERS]
    return per_department + hospital


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

    return audited(
        ctx.audit, operator, action=AuditAction.INIT, obj="system", detail={"demo": demo}, run=run
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

    return audited(
        ctx.audit,
        operator,
        action=AuditAction.USER_ADD,
        obj=user_object(name),
        detail=detail,
        run=run,
    )


def list_users(ctx: Context) -> list[UserInfo]:
    """Every account, disabled ones included (no hashes, no secrets)."""
    return ctx.accounts.list_users()


def disable_user(ctx: Context, *, operator: str, name: str) -> None:
    """Disable (never delete) an account and end its sessions (operator command)."""

    def run() -> tuple[None, dict[str, Any]]:
        ctx.accounts.disable_user(name)
        return None, {}

    obj, detail = user_object(name), {"user": name}
    audited(ctx.audit, operator, action=AuditAction.USER_DISABLE, obj=obj, detail=detail, run=run)


def enrol_totp(ctx: Context, *, operator: str, name: str) -> str:
    """Give an account a new TOTP seed (first enrolment, a lost phone, or a seed sealed with a
    lost key); returns the provisioning URI to show once. Operator command, audited."""

    def run() -> tuple[str, dict[str, Any]]:
        if ctx.accounts.get_user(name) is None:
            raise InvalidInput(f"no user {name!r}", user_message=f"No user named {name}.")
        return ctx.accounts.enrol_totp(name), {}

    # The audit gets the name only: the URI holds the seed and is shown once, never stored.
    obj, detail = user_object(name), {"user": name}
    return audited(
        ctx.audit, operator, action=AuditAction.TOTP_ENROL, obj=obj, detail=detail, run=run
    )


# ---- roles and libraries --------------------------------------------------------------------


def _change_role(
    ctx: Context, actor: Principal, *, grant: bool, user: str, role: Role, department: str
) -> bool:
    action = AuditAction.ROLE_GRANT if grant else AuditAction.ROLE_REVOKE
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
    return audited(ctx.audit, actor, action=action, obj=obj, detail=detail, run=run)


def grant_role(ctx: Context, actor: Principal, *, user: str, role: Role, department: str) -> bool:
    """Give `user` `role` in `department`; False when already held. Audited either way."""
    return _change_role(ctx, actor, grant=True, user=user, role=role, department=department)


def revoke_role(ctx: Context, actor: Principal, *, user: str, role: Role, department: str) -> bool:
    """Take `role` in `department` from `user`; False when not held. Audited either way."""
    return _change_role(ctx, actor, grant=False, user=user, role=role, department=department)


def _change_library(
    ctx: Context, actor: Principal, *, grant: bool, library: str, department: str
) -> bool:
    action = AuditAction.LIBRARY_GRANT if grant else AuditAction.LIBRARY_REVOKE

    def run() -> tuple[bool, dict[str, Any]]:
        change = ctx.access.grant_library if grant else ctx.access.revoke_library
        changed = change(actor, library=library, department=department)
        return changed, {"changed": changed}

    detail = {"library": library, "department": department}
    return audited(
        ctx.audit, actor, action=action, obj=library_object(library), detail=detail, run=run
    )


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


def _holds_sysadmin(ctx: Context, principal: Principal, department: str) -> bool:
    return ctx.access.primary_role(principal.user, department) == Role.SYSADMIN


def grantable_roles(ctx: Context, principal: Principal, *, department: str) -> list[Role]:
    """The roles `principal` may grant or revoke in `department` under the no-escalation rule.

    What a page offers; `grant_role`/`revoke_role` check again (and audit).
    """
    if not ctx.access.can(principal, "grant", roles_object(department)):
        return []
    if _holds_sysadmin(ctx, principal, department):
        return list(Role)
    if department == HOSPITAL_WIDE:
        return []  # hospital-wide roles are the system administrator's
    return [role for role in Role if role in DEPT_ADMIN_GRANTABLE]


def grantable_libraries(ctx: Context, principal: Principal, *, department: str) -> list[str]:
    """The known (granted) libraries `principal` may grant to or revoke from `department`.

    A department administrator: the department's own libraries (`<dept>`, `<dept>-…`), and
    always the one named after the department, so a revoked grant can be given back. What a
    page offers; `grant_library`/`revoke_library` check again (and audit).
    """
    acting = principal.model_copy(update={"department": department})
    known = {grant["library"] for grant in list_libraries(ctx)}
    if _holds_sysadmin(ctx, principal, department):
        return sorted(
            name for name in known if ctx.access.can(acting, "grant", library_object(name))
        )
    if department == HOSPITAL_WIDE:
        return []
    own = {name for name in known if name.startswith(f"{department}-")} | {department}
    return sorted(name for name in own if ctx.access.can(acting, "grant", library_object(name)))


def may_name_new_library(ctx: Context, principal: Principal) -> bool:
    """Whether `principal` may grant a library nobody holds yet (a system administrator)."""
    return _holds_sysadmin(ctx, principal, principal.department)


ACCESS_ACTIONS = (
    AuditAction.ROLE_GRANT,
    AuditAction.ROLE_REVOKE,
    AuditAction.LIBRARY_GRANT,
    AuditAction.LIBRARY_REVOKE,
    AuditAction.USER_ADD,
    AuditAction.USER_DISABLE,
)


def recent_access_changes(ctx: Context, principal: Principal, *, limit: int) -> list[AuditEvent]:
    """The latest role, library and account changes the principal's department may see, newest
    first: a hospital-wide account sees all, a department its own (by row or by target)."""
    hospital_wide = principal.department == HOSPITAL_WIDE
    events = [
        e
        for e in ctx.audit.iter_events(actions=set(ACCESS_ACTIONS))
        if hospital_wide
        or e.department == principal.department
        or e.detail_json.get("department") == principal.department
    ]
    return list(reversed(events[-limit:]))


def libraries_managed_by(ctx: Context, principal: Principal) -> list[str] | None:
    """Libraries the principal may ingest into and delete from; None means all (sysadmin).

    What a page offers: ingestion checks again (`ingestion.as_principal`).
    """
    return manageable_libraries(ctx.access, principal)


def glossary_gaps(ctx: Context, *, limit: int, min_passages: int = 3) -> dict[str, list[TermGap]]:
    """The library's most used words with no translation it holds, per language: what the
    hospital glossary (`policies/glossary.yaml`) should pair next."""
    profile = ctx.retriever.profile()
    return untranslated_terms(
        ctx.term_table(),
        profile.rarity.df,
        held=profile.holds,
        min_passages=min_passages,
        limit=limit,
    )
