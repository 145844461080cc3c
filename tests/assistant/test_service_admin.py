"""Administrative use-cases: permission first, exactly one audit event per outcome (issue 4)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.access import AccessControl
from assistant.domain import AuditAction, AuditEvent, Principal, Role
from assistant.errors import AccessDenied, AuthenticationError, InvalidInput
from assistant.service.acting import operator_session, resolve_actor
from assistant.service.admin import (
    add_user,
    demo_users,
    disable_user,
    grant_library,
    grant_role,
    grantable_libraries,
    grantable_roles,
    init_system,
    list_libraries,
    may_name_new_library,
    revoke_library,
    revoke_role,
)
from assistant.service.audit_trail import export_audit, purge_audit, verify_audit
from assistant.service.context import Context
from assistant.service.sign_in import (
    account_from_claims,
    change_own_password,
    sign_in,
    sign_in_verified,
)
from tests.factories import open_fast_context

OPERATOR = "cli:tester"
PASSWORD = "a long enough passphrase"


@pytest.fixture
def ctx() -> Context:
    context = open_fast_context()  # cheap argon2 parameters
    init_system(context, operator=OPERATOR, demo=True)
    return context


def events(ctx: Context) -> list[AuditEvent]:
    return list(ctx.audit.iter_events())


def acting(ctx: Context, name: str) -> Principal:
    return resolve_actor(ctx, name, via=OPERATOR, action=AuditAction.ROLE_GRANT, obj="roles:x")


def policy_snapshot(access: AccessControl) -> tuple[object, ...]:
    return (tuple(access.list_role_assignments()), tuple(access.list_library_grants()))


def test_init_demo_creates_users_grants_and_one_event(ctx: Context) -> None:
    names = [name for name, _role, _dept in demo_users()]
    assert {u.name for u in ctx.accounts.list_users()} == set(names)
    assert ctx.access.roles_of("cardiology.admin") == [("dept_admin", "cardiology")]
    assert ctx.access.roles_of("hospital.sysadmin") == [("sysadmin", "*")]
    assert ("cardiology", "cardiology") in ctx.access.list_library_grants()
    [init] = events(ctx)
    assert (init.actor, init.role, init.department) == (OPERATOR, "operator", "*")
    assert (init.action, init.object, init.outcome) == ("init", "system", "ok")
    assert sorted(init.detail_json["users_created"]) == sorted(names)
    # A second run skips what exists and still writes exactly one event.
    again = init_system(ctx, operator=OPERATOR, demo=True)
    assert again["policy_rules_added"] == 0
    assert all(not u["created"] and u["one_time_password"] is None for u in again["users"])
    second = events(ctx)[-1]
    assert second.detail_json["users_created"] == []
    assert sorted(second.detail_json["users_existing"]) == sorted(names)
    assert len(events(ctx)) == 2


def test_grant_role_is_audited_with_actor_and_operator(ctx: Context) -> None:
    add_user(
        ctx,
        operator=OPERATOR,
        name="newdoc",
        role=Role.DOCTOR,
        department="cardiology",
        password=PASSWORD,
        temporary=False,
    )
    admin = acting(ctx, "cardiology.admin")
    assert admin.via == OPERATOR
    assert grant_role(ctx, admin, user="newdoc", role=Role.DEPT_ADMIN, department="cardiology")
    assert not grant_role(ctx, admin, user="newdoc", role=Role.DEPT_ADMIN, department="cardiology")
    first, second = events(ctx)[-2:]
    assert (first.actor, first.role, first.department) == (
        "cardiology.admin",
        "dept_admin",
        "cardiology",
    )
    assert (first.action, first.object, first.outcome) == ("role_grant", "roles:cardiology", "ok")
    assert first.detail_json == {
        "user": "newdoc",
        "role": "dept_admin",
        "department": "cardiology",
        "changed": True,
        "via": OPERATOR,
    }
    assert second.detail_json["changed"] is False
    assert ("dept_admin", "cardiology") in ctx.access.roles_of("newdoc")
    assert revoke_role(ctx, admin, user="newdoc", role=Role.DEPT_ADMIN, department="cardiology")
    assert ctx.access.roles_of("newdoc") == [("doctor", "cardiology")]


def test_grant_to_missing_account_is_refused_but_a_denial_stays_a_denial(
    ctx: Context,
) -> None:
    admin = acting(ctx, "cardiology.admin")
    with pytest.raises(InvalidInput):
        grant_role(ctx, admin, user="ghost", role=Role.DOCTOR, department="cardiology")
    refused = events(ctx)[-1]
    assert refused.outcome == "refused" and refused.detail_json["message"] == "No user named ghost."
    doctor = acting(ctx, "cardiology.doctor")
    with pytest.raises(AccessDenied) as info:
        grant_role(ctx, doctor, user="ghost", role=Role.SYSADMIN, department="cardiology")
    assert info.value.reason == "not_permitted"
    denied = events(ctx)[-1]
    assert (denied.actor, denied.outcome, denied.detail_json["reason"]) == (
        "cardiology.doctor",
        "denied",
        "not_permitted",
    )
    assert ctx.access.roles_of("ghost") == []


def test_resolve_actor_refuses_unknown_and_disabled_accounts_and_audits(ctx: Context) -> None:
    with pytest.raises(AuthenticationError) as info:
        resolve_actor(ctx, "nobody", via=OPERATOR, action=AuditAction.AUDIT_PURGE, obj="audit:*")
    assert info.value.exit_code == 3
    unknown = events(ctx)[-1]
    # DESIGN §6: untrusted text never becomes an actor; the operator is, with the claimed name.
    assert (unknown.actor, unknown.role, unknown.action, unknown.object, unknown.outcome) == (
        OPERATOR,
        "operator",
        "audit_purge",
        "audit:*",
        "denied",
    )
    assert unknown.detail_json == {"claimed_user": "nobody", "reason": "unknown_user", "via": None}
    assert unknown.session_id == operator_session()
    disable_user(ctx, operator=OPERATOR, name="oncology.doctor")
    assert events(ctx)[-1].action == "user_disable"
    with pytest.raises(AuthenticationError):
        resolve_actor(ctx, "oncology.doctor", via=OPERATOR, action=AuditAction.ROLE_GRANT, obj="r")
    assert events(ctx)[-1].detail_json["reason"] == "disabled"


def test_export_is_audited_before_any_line_is_read(ctx: Context) -> None:
    admin = acting(ctx, "cardiology.admin")
    grant_library(ctx, admin, library="cardiology-internal", department="cardiology")
    officer = acting(ctx, "hospital.compliance")
    before = len(events(ctx))
    lines = export_audit(ctx, officer, fmt="jsonl", department="cardiology", actor_filter=None)
    after = events(ctx)
    assert len(after) == before + 1
    export = after[-1]
    assert (export.actor, export.action, export.object, export.outcome) == (
        "hospital.compliance",
        "export",
        "audit:cardiology",
        "ok",
    )
    assert export.detail_json == {
        "format": "jsonl",
        "since": None,
        "department": "cardiology",
        "actor": None,
        "via": OPERATOR,
    }
    rows = [json.loads(line) for line in lines]
    assert [(r["actor"], r["action"], r["department"]) for r in rows] == [
        ("cardiology.admin", "library_grant", "cardiology")
    ]
    # Streaming adds nothing to the trail.
    assert len(events(ctx)) == before + 1


def test_department_compliance_officer_exports_only_own_department(ctx: Context) -> None:
    officer = acting(ctx, "cardiology.compliance")
    lines = list(export_audit(ctx, officer, fmt="csv", department="cardiology"))
    table = list(csv.DictReader(io.StringIO("".join(lines))))
    assert table and {row["department"] for row in table} == {"cardiology"}
    assert table[-1]["actor"] == "cardiology.compliance" and table[-1]["action"] == "export"
    for scope in (None, "oncology"):
        with pytest.raises(AccessDenied) as info:
            export_audit(ctx, officer, fmt="csv", department=scope)
        assert info.value.reason == "other_department"
        assert events(ctx)[-1].outcome == "denied"


def test_purge_needs_permission_and_respects_retention(ctx: Context) -> None:
    now = datetime.now(UTC)
    with pytest.raises(AccessDenied):
        purge_audit(ctx, acting(ctx, "hospital.sysadmin"), before=now - timedelta(days=400))
    assert events(ctx)[-1].outcome == "denied"
    count = ctx.audit.count_events()
    officer = acting(ctx, "hospital.compliance")
    with pytest.raises(InvalidInput) as info:
        purge_audit(ctx, officer, before=now - timedelta(days=10))
    assert "180" in info.value.user_message
    refused = events(ctx)[-1]
    assert (refused.action, refused.outcome, refused.detail_json["retention_days"]) == (
        "audit_purge",
        "refused",
        180,
    )
    assert ctx.audit.count_events() == count + 1  # nothing removed; the refusal recorded
    assert purge_audit(ctx, officer, before=now - timedelta(days=200)) == 0
    assert events(ctx)[-1].detail_json["purged"] == 0
    assert verify_audit(ctx, operator=OPERATOR).ok


def test_verify_is_audited_with_its_result(ctx: Context) -> None:
    result = verify_audit(ctx, operator=OPERATOR)
    assert result.ok and result.events == 1  # the init event
    check = events(ctx)[-1]
    assert (check.action, check.actor, check.outcome) == ("audit_verify", OPERATOR, "ok")
    assert check.detail_json["events"] == 1


def test_libraries_list_groups_departments(ctx: Context) -> None:
    root = acting(ctx, "hospital.sysadmin")
    assert grant_library(ctx, root, library="cardiology", department="oncology")
    assert list_libraries(ctx) == [
        {"library": "cardiology", "departments": ["cardiology", "oncology"]},
        {"library": "hospital", "departments": ["*"]},
        {"library": "oncology", "departments": ["oncology"]},
    ]


ACTORS = [name for name, _role, _dept in demo_users()]
DEPARTMENTS = ["cardiology", "oncology", "*"]

# The no-escalation refusals: what a page must not offer (issue 16 item 7).
ESCALATION = {"not_permitted", "other_department", "role_not_grantable", "hospital_wide_scope"}


def test_grantable_roles_are_exactly_those_the_rule_lets_through(ctx: Context) -> None:
    add_user(ctx, operator=OPERATOR, name="spare.user", role=Role.DOCTOR, department="oncology",
             password=None, temporary=True)  # fmt: skip
    assert grantable_roles(ctx, acting(ctx, "cardiology.admin"), department="cardiology") == [
        Role.DOCTOR,
        Role.DEPT_ADMIN,
    ]
    for actor in ACTORS:
        principal = acting(ctx, actor)
        for department in DEPARTMENTS:
            offered = grantable_roles(ctx, principal, department=department)
            for role in Role:
                try:
                    changed = grant_role(
                        ctx, principal, user="spare.user", role=role, department=department
                    )
                except AccessDenied as exc:
                    refused = exc.reason in ESCALATION
                    assert refused != (role in offered), (actor, department, role, exc.reason)
                    continue
                assert role in offered, (actor, department, role)
                if changed:
                    revoke_role(ctx, principal, user="spare.user", role=role, department=department)


def test_grantable_libraries_are_the_departments_own_and_only_sysadmins_name_new_ones(
    ctx: Context,
) -> None:
    admin, root = acting(ctx, "cardiology.admin"), acting(ctx, "hospital.sysadmin")
    doctor = acting(ctx, "cardiology.doctor")
    assert grantable_libraries(ctx, admin, department="cardiology") == ["cardiology"]
    assert grantable_libraries(ctx, admin, department="*") == []
    assert grantable_libraries(ctx, doctor, department="cardiology") == []
    assert grantable_libraries(ctx, root, department="*") == ["cardiology", "hospital", "oncology"]
    assert may_name_new_library(ctx, root) and not may_name_new_library(ctx, admin)
    # What is offered can be revoked, and is still offered to be granted back.
    assert revoke_library(ctx, admin, library="cardiology", department="cardiology")
    assert grantable_libraries(ctx, admin, department="cardiology") == ["cardiology"]
    assert grant_library(ctx, admin, library="cardiology", department="cardiology")
    assert grant_library(ctx, root, library="cardiology-trials", department="oncology")
    assert grantable_libraries(ctx, admin, department="cardiology") == [
        "cardiology",
        "cardiology-trials",
    ]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    actor=st.sampled_from(ACTORS),
    target=st.sampled_from([*ACTORS, "spare.user"]),
    role=st.sampled_from(list(Role)),
    department=st.sampled_from(DEPARTMENTS),
    grant=st.booleans(),
)
def test_every_role_change_writes_one_event_and_denials_change_nothing(
    ctx: Context, actor: str, target: str, role: Role, department: str, grant: bool
) -> None:
    if ctx.accounts.get_user("spare.user") is None:
        add_user(
            ctx,
            operator=OPERATOR,
            name="spare.user",
            role=Role.DOCTOR,
            department="oncology",
            password=None,
            temporary=True,
        )
    before_events = ctx.audit.count_events()
    before_policy = policy_snapshot(ctx.access)
    try:
        principal = resolve_actor(
            ctx, actor, via=OPERATOR, action=AuditAction.ROLE_GRANT, obj="roles:x"
        )
    except AuthenticationError as exc:
        # An earlier example revoked this actor's only role: refused before anything else.
        assert exc.reason == "no_role"
        info = ctx.accounts.get_user(actor)
        assert info is not None and ctx.access.primary_role(actor, info.department) is None
        assert ctx.audit.count_events() == before_events + 1
        assert events(ctx)[-1].detail_json["reason"] == "no_role"
        return
    change = grant_role if grant else revoke_role
    try:
        change(ctx, principal, user=target, role=role, department=department)
    except AccessDenied as exc:
        assert policy_snapshot(ctx.access) == before_policy
        last = events(ctx)[-1]
        assert (last.actor, last.outcome, last.detail_json["reason"]) == (
            actor,
            "denied",
            exc.reason,
        )
    else:
        assert events(ctx)[-1].outcome == "ok"
        # Anti-escalation: only a sysadmin changes roles other than doctor/dept_admin.
        # (An earlier example may have made the actor sysadmin in that department only, so
        # their home-department role is not the whole story.)
        sysadmin_there = any(
            held == Role.SYSADMIN and where in (department, "*")
            for held, where in ctx.access.roles_of(actor)
        )
        assert role in (Role.DOCTOR, Role.DEPT_ADMIN) or sysadmin_there
        assert target != actor
    assert ctx.audit.count_events() == before_events + 1


# ---- sign-in, audited by the service (issue #9 item 3) ---------------


def test_sign_in_brute_force_lockout_every_attempt_audited_without_the_password(
    ctx: Context,
) -> None:
    add_user(
        ctx,
        operator=OPERATOR,
        name="dr.brute",
        role=Role.DOCTOR,
        department="cardiology",
        password=PASSWORD,
        temporary=False,
    )
    before = len(events(ctx))
    guesses = [f"guess number {i} of many" for i in range(5)]
    for guess in guesses:
        with pytest.raises(AuthenticationError) as failed:
            sign_in(ctx, "dr.brute", guess)
        assert failed.value.reason == "bad_credentials"
    with pytest.raises(AuthenticationError) as locked:
        sign_in(ctx, "dr.brute", PASSWORD)  # the right password no longer opens it
    assert locked.value.reason == "locked"
    attempts = events(ctx)[before:]
    assert [(e.actor, e.action, e.object) for e in attempts] == [
        ("dr.brute", "login", "app:web")
    ] * 6
    assert [(e.outcome, e.detail_json["reason"]) for e in attempts] == [
        *[("failed", "bad_credentials")] * 5,
        ("locked", "locked"),
    ]
    # The attempt that locked the account says so; the earlier ones do not.
    assert [e.detail_json.get("locked_now", False) for e in attempts[:5]] == [False] * 4 + [True]
    dumped = json.dumps([e.model_dump(mode="json") for e in attempts])
    assert PASSWORD not in dumped and not any(guess in dumped for guess in guesses)
    assert ctx.audit.verify().ok


def test_sign_in_ok_and_password_change_required_are_audited(ctx: Context) -> None:
    add_user(
        ctx,
        operator=OPERATOR,
        name="dr.ok",
        role=Role.DOCTOR,
        department="cardiology",
        password=PASSWORD,
        temporary=False,
    )
    result = sign_in(ctx, "dr.ok", PASSWORD, channel="api")
    assert result.token and result.principal is not None
    ok = events(ctx)[-1]
    assert (ok.actor, ok.role, ok.department, ok.object, ok.outcome) == (
        "dr.ok",
        "doctor",
        "cardiology",
        "app:api",
        "ok",
    )
    assert ok.session_id == result.principal.session_id
    assert result.token not in json.dumps(ok.model_dump(mode="json"))

    temporary = add_user(
        ctx,
        operator=OPERATOR,
        name="dr.temp",
        role=Role.DOCTOR,
        department="cardiology",
        password=None,
        temporary=True,
    )
    assert temporary is not None
    pending = sign_in(ctx, "dr.temp", temporary)
    assert pending.must_change_password and pending.token is None
    assert (events(ctx)[-1].actor, events(ctx)[-1].outcome) == (
        "dr.temp",
        "password_change_required",
    )
    with pytest.raises(InvalidInput):
        change_own_password(ctx, "dr.temp", old=temporary, new="short")
    assert events(ctx)[-1].outcome == "refused"
    change_own_password(ctx, "dr.temp", old=temporary, new="a fresh long passphrase")
    changed = events(ctx)[-1]
    assert (changed.action, changed.outcome) == ("password_change", "ok")
    assert temporary not in json.dumps([e.model_dump(mode="json") for e in events(ctx)[-3:]])
    assert sign_in(ctx, "dr.temp", "a fresh long passphrase").token


# ---- hospital SSO: verified identity → account (issue #5 item 1) ---------------


def test_account_from_claims_maps_email_local_part_or_a_configured_claim() -> None:
    claims = {"email": "Dr.Chen@Hospital.example", "preferred_username": "chen.w", "iss": "x"}
    assert account_from_claims(claims) == "dr.chen"
    assert account_from_claims(claims, claim="preferred_username") == "chen.w"
    for bad, claim in [
        ({"name": "Dr Chen"}, None),  # no e-mail
        ({"email": "not-an-address"}, None),
        ({"email": "a@b.c"}, "employee_id"),  # the configured claim is missing
        ({"employee_id": "陈 伟"}, "employee_id"),  # not a valid account name
    ]:
        with pytest.raises(AuthenticationError) as info:
            account_from_claims(bad, claim=claim)
        assert info.value.reason == "sso_unmapped" and info.value.exit_code == 3


def test_sign_in_verified_refuses_unknown_and_disabled_and_audits(ctx: Context) -> None:
    issuer = "https://sso.hospital.example"
    result = sign_in_verified(ctx, {"email": "cardiology.doctor@hospital.example", "iss": issuer})
    assert result.principal is not None and result.token
    # Roles come from Casbin, not from the provider's claims.
    assert (result.principal.user, result.principal.role) == ("cardiology.doctor", Role.DOCTOR)
    ok = events(ctx)[-1]
    assert (ok.actor, ok.role, ok.action, ok.object, ok.outcome) == (
        "cardiology.doctor",
        "doctor",
        "login",
        "app:web-sso",
        "ok",
    )
    assert ok.detail_json["issuer"] == issuer and result.token not in json.dumps(ok.detail_json)

    with pytest.raises(AuthenticationError) as unknown:
        sign_in_verified(ctx, {"email": "stranger@hospital.example", "iss": issuer})
    assert unknown.value.reason == "unknown_user"
    assert (events(ctx)[-1].actor, events(ctx)[-1].outcome) == ("stranger", "failed")

    disable_user(ctx, operator=OPERATOR, name="oncology.doctor")
    with pytest.raises(AuthenticationError) as disabled:
        sign_in_verified(ctx, {"email": "oncology.doctor@hospital.example", "role": "sysadmin"})
    assert disabled.value.reason == "disabled"
    assert events(ctx)[-1].detail_json["reason"] == "disabled"

    with pytest.raises(AuthenticationError) as unmapped:
        sign_in_verified(ctx, {"name": "No Mail"})
    assert unmapped.value.reason == "sso_unmapped"
    assert (events(ctx)[-1].actor, events(ctx)[-1].outcome) == ("?", "failed")

    # A privileged role still needs this app's second factor after SSO (等保2.0 8.1.4.1).
    with pytest.raises(AuthenticationError) as second:
        sign_in_verified(ctx, {"email": "cardiology.admin@hospital.example"})
    assert second.value.reason == "totp_required"
    assert ctx.audit.verify().ok


def test_admin_change_is_not_made_when_the_audit_cannot_be_written(ctx: Context) -> None:
    from sqlalchemy import text

    from assistant.errors import AuditUnavailable

    admin = acting(ctx, "cardiology.admin")
    before = policy_snapshot(ctx.access)
    with ctx.audit._engine.begin() as conn:  # the audit database goes away
        conn.execute(text("DROP TABLE audit_events"))
    with pytest.raises(AuditUnavailable) as raised:
        grant_role(
            ctx, admin, user="cardiology.doctor", role=Role.DEPT_ADMIN, department="cardiology"
        )
    assert "nothing was changed" in raised.value.user_message
    assert "未做任何更改" in raised.value.user_message
    with pytest.raises(AuditUnavailable):
        grant_library(ctx, admin, library="cardiology-trials", department="cardiology")
    assert policy_snapshot(ctx.access) == before
