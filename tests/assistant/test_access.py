"""Access control: permission matrix, anti-escalation, library grants, seeding, multi-instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.access import AccessControl, parse_seed_policy, validate_name
from assistant.config import Settings
from assistant.domain import Principal, Role
from assistant.errors import AccessDenied, InvalidInput
from tests.factories import DATABASE_BACKENDS, database_url

OWN, OTHER = "cardiology", "oncology"
USERS = {role: f"u_{role.value}" for role in Role}


@pytest.fixture(params=DATABASE_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: SQLite in tmp_path, or a throw-away PostgreSQL database."""
    with database_url(request.param, sqlite_file=tmp_path / "access.db") as url:
        yield url


@pytest.fixture(scope="module", params=DATABASE_BACKENDS)
def module_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One database shared by the read-only matrix tests of a module."""
    sqlite_file = tmp_path_factory.mktemp("access") / "access.db"
    with database_url(request.param, sqlite_file=sqlite_file) as url:
        yield url


def _open(url: str) -> AccessControl:
    return AccessControl.open(Settings(database_url=url))


def _principal(role: Role, department: str = OWN) -> Principal:
    return Principal(user=USERS[role], role=role, department=department)


def _populate(access: AccessControl) -> None:
    """Every role held by one user in OWN; department libraries granted to their department."""
    access.seed_defaults()
    for role, user in USERS.items():
        access.assign_role(user=user, role=role, department=OWN)
    access.assign_library(library=OWN, department=OWN)
    access.assign_library(library=OTHER, department=OTHER)


@pytest.fixture
def access(db_url: str) -> AccessControl:
    ac = _open(db_url)
    _populate(ac)
    return ac


@pytest.fixture(scope="module")
def matrix_access(module_db_url: str) -> AccessControl:
    ac = _open(module_db_url)
    _populate(ac)
    return ac


# ---- the permission matrix -------------------------------------------------------------
# (action, object template); {d} is the department the request is about.
CASES = [
    ("ask", "page:chat"),
    ("read", "library:{d}"),
    ("read", "library:hospital"),
    ("grant", "roles:{d}"),
    ("revoke", "roles:{d}"),
    ("grant", "library:{d}"),
    ("revoke", "library:{d}"),
    ("manage", "library:{d}"),
    ("read", "review:{d}"),
    ("resolve", "review:{d}"),
    ("verify", "audit:{d}"),
    ("export", "audit:{d}"),
    ("stats", "audit:{d}"),
    ("purge", "audit:{d}"),
    ("approve", "gates:{d}"),
    ("read", "monitoring:{d}"),
    ("manage", "accounts:*"),
    ("manage", "settings:*"),
    ("read", "page:review"),
    ("read", "page:audit"),
    ("read", "page:access"),
]
DOCTOR_RIGHTS = {("ask", "page:chat"), ("read", "library:{d}"), ("read", "library:hospital")}
# Expected allows in the department where the role is held; everything else is denied.
ALLOWED: dict[Role, set[tuple[str, str]]] = {
    Role.DOCTOR: DOCTOR_RIGHTS,
    Role.DEPT_ADMIN: DOCTOR_RIGHTS
    | {
        ("grant", "roles:{d}"),
        ("revoke", "roles:{d}"),
        ("grant", "library:{d}"),
        ("revoke", "library:{d}"),
        ("read", "page:access"),
    },
    Role.QUALITY_REVIEWER: {
        ("read", "review:{d}"),
        ("resolve", "review:{d}"),
        ("read", "page:review"),
    },
    Role.COMPLIANCE_OFFICER: {
        ("verify", "audit:{d}"),
        ("export", "audit:{d}"),
        ("stats", "audit:{d}"),
        ("purge", "audit:{d}"),
        ("approve", "gates:{d}"),
        ("read", "monitoring:{d}"),
        ("read", "page:audit"),
    },
    # Separation of duties: no ask, no review content, no audit records.
    Role.SYSADMIN: {
        ("grant", "roles:{d}"),
        ("revoke", "roles:{d}"),
        ("grant", "library:{d}"),
        ("revoke", "library:{d}"),
        ("manage", "library:{d}"),
        ("manage", "accounts:*"),
        ("manage", "settings:*"),
        ("read", "monitoring:{d}"),
        ("read", "page:access"),
    },
}
MATRIX = [
    pytest.param(role, action, template, where, id=f"{role.value}-{action}-{template}-{where}")
    for role in Role
    for action, template in CASES
    for where in ("own", "other")
]


@pytest.mark.parametrize(("role", "action", "template", "where"), MATRIX)
def test_permission_matrix(
    matrix_access: AccessControl, role: Role, action: str, template: str, where: str
) -> None:
    department = OWN if where == "own" else OTHER
    principal = _principal(role, department)
    expected = where == "own" and (action, template) in ALLOWED[role]
    obj = template.format(d=department)
    assert matrix_access.can(principal, action, obj) is expected
    if expected:
        matrix_access.require(principal, action, obj)
    else:
        with pytest.raises(AccessDenied) as info:
            matrix_access.require(principal, action, obj)
        assert info.value.reason in {"not_permitted", "other_department"}


def test_denial_in_other_department_names_the_reason(matrix_access: AccessControl) -> None:
    admin = _principal(Role.DEPT_ADMIN)
    with pytest.raises(AccessDenied) as info:
        matrix_access.require(admin, "grant", f"roles:{OTHER}")
    assert info.value.reason == "other_department"
    with pytest.raises(AccessDenied) as info:
        matrix_access.require(_principal(Role.DOCTOR), "export", f"audit:{OWN}")
    assert info.value.reason == "not_permitted"
    assert "permission" in info.value.user_message


def test_role_in_principal_does_not_confer_rights(matrix_access: AccessControl) -> None:
    # A doctor's Principal claiming sysadmin gets nothing: Casbin looks at the user's grants.
    forged = Principal(user=USERS[Role.DOCTOR], role=Role.SYSADMIN, department=OWN)
    assert not matrix_access.can(forged, "manage", "accounts:*")
    assert matrix_access.can(forged, "ask", "page:chat")


def test_hospital_wide_roles_apply_in_every_department(access: AccessControl) -> None:
    access.assign_role(user="root", role=Role.SYSADMIN, department="*")
    access.assign_role(user="auditor", role=Role.COMPLIANCE_OFFICER, department="*")
    root = Principal(user="root", role=Role.SYSADMIN, department="*")
    auditor = Principal(user="auditor", role=Role.COMPLIANCE_OFFICER, department="*")
    for department in (OWN, OTHER, "*"):
        assert access.can(root, "grant", f"roles:{department}")
        assert access.can(auditor, "export", f"audit:{department}")
        assert not access.can(root, "export", f"audit:{department}")
        assert not access.can(auditor, "grant", f"roles:{department}")
    # A department-scoped compliance officer cannot export the whole trail.
    local = _principal(Role.COMPLIANCE_OFFICER)
    assert access.can(local, "export", f"audit:{OWN}")
    assert not access.can(local, "export", "audit:*")


# ---- escalation attempts are denied before Casbin changes --------------------------------


def _snapshot(access: AccessControl, url: str) -> tuple[object, ...]:
    fresh = _open(url)  # what is stored, not only what this instance holds in memory
    return (
        access.list_role_assignments(),
        access.list_library_grants(),
        fresh.list_role_assignments(),
        fresh.list_library_grants(),
        fresh.policy_count(),
    )


ESCALATIONS = [
    pytest.param(
        "grant_role",
        {"user": "newbie", "role": Role.SYSADMIN, "department": OWN},
        "role_not_grantable",
        id="dept-admin-grants-sysadmin",
    ),
    pytest.param(
        "grant_role",
        {"user": "newbie", "role": Role.COMPLIANCE_OFFICER, "department": OWN},
        "role_not_grantable",
        id="dept-admin-grants-compliance",
    ),
    pytest.param(
        "grant_role",
        {"user": "newbie", "role": Role.QUALITY_REVIEWER, "department": OWN},
        "role_not_grantable",
        id="dept-admin-grants-reviewer",
    ),
    pytest.param(
        "grant_role",
        {"user": "newbie", "role": Role.DOCTOR, "department": OTHER},
        "other_department",
        id="dept-admin-grants-in-other-department",
    ),
    pytest.param(
        "grant_role",
        {"user": "newbie", "role": Role.DOCTOR, "department": "*"},
        "other_department",
        id="dept-admin-grants-hospital-wide",
    ),
    pytest.param(
        "grant_role",
        {"user": USERS[Role.DEPT_ADMIN], "role": Role.SYSADMIN, "department": OWN},
        "self_grant",
        id="dept-admin-grants-self-sysadmin",
    ),
    pytest.param(
        "grant_role",
        {"user": USERS[Role.DEPT_ADMIN], "role": Role.DEPT_ADMIN, "department": OTHER},
        "other_department",
        id="dept-admin-grants-self-other-department",
    ),
    pytest.param(
        "revoke_role",
        {"user": USERS[Role.SYSADMIN], "role": Role.SYSADMIN, "department": OWN},
        "role_not_grantable",
        id="dept-admin-revokes-sysadmin",
    ),
    pytest.param(
        "grant_library",
        {"library": OTHER, "department": OWN},
        "library_not_of_department",
        id="dept-admin-grants-foreign-library",
    ),
    pytest.param(
        "grant_library",
        {"library": OWN, "department": OTHER},
        "other_department",
        id="dept-admin-grants-library-to-other-department",
    ),
]


@pytest.mark.parametrize(("method", "kwargs", "reason"), ESCALATIONS)
def test_dept_admin_escalation_is_denied_and_policy_unchanged(
    access: AccessControl, db_url: str, method: str, kwargs: dict[str, object], reason: str
) -> None:
    before = _snapshot(access, db_url)
    with pytest.raises(AccessDenied) as info:
        getattr(access, method)(_principal(Role.DEPT_ADMIN), **kwargs)
    assert info.value.reason == reason
    assert _snapshot(access, db_url) == before


def test_doctor_cannot_grant_anything(access: AccessControl) -> None:
    with pytest.raises(AccessDenied) as info:
        access.grant_role(_principal(Role.DOCTOR), user="x1", role=Role.DOCTOR, department=OWN)
    assert info.value.reason == "not_permitted"
    assert access.roles_of("x1") == []


def test_dept_admin_manages_doctors_and_admins_in_own_department(access: AccessControl) -> None:
    admin = _principal(Role.DEPT_ADMIN)
    assert access.grant_role(admin, user="newdoc", role=Role.DOCTOR, department=OWN) is True
    assert access.grant_role(admin, user="newdoc", role=Role.DOCTOR, department=OWN) is False
    assert access.grant_role(admin, user="newadm", role=Role.DEPT_ADMIN, department=OWN)
    assert access.roles_of("newdoc") == [("doctor", OWN)]
    assert access.primary_role("newadm", OWN) is Role.DEPT_ADMIN
    assert access.revoke_role(admin, user="newdoc", role=Role.DOCTOR, department=OWN) is True
    assert access.roles_of("newdoc") == []
    assert access.grant_library(admin, library=f"{OWN}-internal", department=OWN) is True
    assert (f"{OWN}-internal", OWN) in access.list_library_grants()


def test_sysadmin_rules_and_separation_of_duties(access: AccessControl) -> None:
    root = _principal(Role.SYSADMIN)
    # A sysadmin grants any role to someone else, including sysadmin...
    assert access.grant_role(root, user="ops2", role=Role.SYSADMIN, department=OWN)
    assert access.grant_role(root, user="qa", role=Role.QUALITY_REVIEWER, department=OWN)
    # ...but never to themselves (no self-made audit administrator).
    with pytest.raises(AccessDenied) as info:
        access.grant_role(
            root, user=USERS[Role.SYSADMIN], role=Role.COMPLIANCE_OFFICER, department=OWN
        )
    assert info.value.reason == "self_grant"
    # Nobody holds sysadmin together with compliance_officer or quality_reviewer.
    for role in (Role.COMPLIANCE_OFFICER, Role.QUALITY_REVIEWER):
        with pytest.raises(AccessDenied) as info:
            access.grant_role(root, user="ops2", role=role, department=OWN)
        assert info.value.reason == "separation_of_duties"
    assert access.roles_of("ops2") == [("sysadmin", OWN)]
    with pytest.raises(AccessDenied):
        access.assign_role(user=USERS[Role.COMPLIANCE_OFFICER], role=Role.SYSADMIN, department="*")


def test_names_are_validated_before_policy_changes(access: AccessControl) -> None:
    root = _principal(Role.SYSADMIN)
    for bad in ("a,b", "x*", "", "doctor", "reader", "a b"):
        with pytest.raises(InvalidInput):
            access.grant_role(root, user=bad, role=Role.DOCTOR, department=OWN)
    with pytest.raises(InvalidInput):
        access.grant_library(root, library="*", department=OWN)


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_validate_name_never_accepts_pattern_or_separator_characters(value: str) -> None:
    try:
        validate_name(value, what="department")
    except InvalidInput:
        return
    assert not set(value) & set("*,: \t\n/\\")
    assert len(value) <= 64


# ---- libraries ---------------------------------------------------------------------------


def test_readable_libraries_follow_department_grants(access: AccessControl) -> None:
    access.assign_role(user="doc_c", role=Role.DOCTOR, department=OWN)
    access.assign_role(user="doc_o", role=Role.DOCTOR, department=OTHER)
    cardio = Principal(user="doc_c", role=Role.DOCTOR, department=OWN)
    onco = Principal(user="doc_o", role=Role.DOCTOR, department=OTHER)
    access.assign_role(user="root", role=Role.SYSADMIN, department="*")
    root = Principal(user="root", role=Role.SYSADMIN, department="*")
    access.grant_library(root, library=f"{OWN}-internal", department=OWN)
    assert access.readable_libraries(cardio) == [OWN, f"{OWN}-internal", "hospital"]
    assert access.readable_libraries(onco) == ["hospital", OTHER]
    # Claiming another department in the Principal does not open its libraries.
    claimed = Principal(user="doc_o", role=Role.DOCTOR, department=OWN)
    assert access.readable_libraries(claimed) == []
    access.grant_library(root, library="antibiotics", department="*")
    assert "antibiotics" in access.readable_libraries(onco)
    assert access.revoke_library(root, library="antibiotics", department="*") is True
    assert "antibiotics" not in access.readable_libraries(onco)
    # Roles that may not ask read no library.
    assert access.readable_libraries(_principal(Role.SYSADMIN)) == []
    assert (OWN, OWN) in access.list_library_grants()
    assert ("hospital", "*") in access.list_library_grants()


# ---- seeding and multi-instance ----------------------------------------------------------


def test_seed_is_idempotent(db_url: str) -> None:
    first = _open(db_url)
    added = first.seed_defaults()
    seeded = parse_seed_policy(
        (Path(__file__).resolve().parents[2] / "policies" / "policy.csv").read_text("utf-8")
    )
    assert added == len(seeded) == first.policy_count()
    assert first.seed_defaults() == 0
    second = _open(db_url)
    assert second.seed_defaults() == 0
    assert second.policy_count() == first.policy_count() == len(seeded)
    # An administrator's revocation of a seed rule survives a rerun of init.
    first.assign_role(user="root", role=Role.SYSADMIN, department="*")
    root = Principal(user="root", role=Role.SYSADMIN, department="*")
    first.revoke_library(root, library="hospital", department="*")
    assert _open(db_url).seed_defaults() == 0
    assert ("hospital", "*") not in _open(db_url).list_library_grants()


def test_change_in_one_instance_reaches_another(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.access.RECHECK_S", 3600.0)  # only explicit reloads here
    one = _open(db_url)
    one.seed_defaults()
    two = _open(db_url)
    assert two.reload_if_changed() is False
    one.assign_role(user="root", role=Role.SYSADMIN, department="*")
    one.grant_role(
        Principal(user="root", role=Role.SYSADMIN, department="*"),
        user="doc",
        role=Role.DOCTOR,
        department=OWN,
    )
    doc = Principal(user="doc", role=Role.DOCTOR, department=OWN)
    assert two.can(doc, "ask", "page:chat") is False  # stale until reloaded
    assert two.reload_if_changed() is True
    assert two.can(doc, "ask", "page:chat") is True
    assert two.reload_if_changed() is False


def test_parse_seed_policy_rejects_malformed_lines() -> None:
    assert parse_seed_policy("# c\n\np, doctor, *, page:chat, ask\n") == [
        ("p", "doctor", "*", "page:chat", "ask")
    ]
    with pytest.raises(InvalidInput):
        parse_seed_policy("p, doctor, page:chat\n")


def test_can_picks_up_other_instance_changes_after_recheck_interval(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("assistant.access.RECHECK_S", 0.0)
    one, two = _open(db_url), _open(db_url)
    one.seed_defaults()
    one.assign_role(user="doc", role=Role.DOCTOR, department=OWN)
    doc = Principal(user="doc", role=Role.DOCTOR, department=OWN)
    assert two.can(doc, "ask", "page:chat") is True
    one.assign_role(user="doc", role=Role.DOCTOR, department=OTHER)
    # Listing re-checks too: sign-in reads roles_of, so a grant elsewhere shows without restart.
    assert sorted(two.roles_of("doc")) == sorted([("doctor", OWN), ("doctor", OTHER)])
    assert two.can(Principal(user="doc", role=Role.DOCTOR, department=OTHER), "ask", "page:chat")


def test_readable_libraries_agree_with_can(access: AccessControl) -> None:
    access.assign_role(user="everywhere", role=Role.DOCTOR, department="*")
    access.assign_role(user="two_depts", role=Role.DOCTOR, department=OWN)
    access.assign_role(user="two_depts", role=Role.DEPT_ADMIN, department=OTHER)
    access.assign_library(library="shared", department="*")
    access.assign_library(library=f"{OTHER}-trials", department=OTHER)
    libraries = {name for name, _dept in access.list_library_grants()} | {"never-granted"}
    for user in ("everywhere", "two_depts", USERS[Role.DOCTOR], USERS[Role.SYSADMIN]):
        for department in (OWN, OTHER, "*"):
            principal = Principal(user=user, role=Role.DOCTOR, department=department)
            expected = sorted(
                name for name in libraries if access.can(principal, "read", f"library:{name}")
            )
            assert access.readable_libraries(principal) == expected
    everywhere = Principal(user="everywhere", role=Role.DOCTOR, department=OTHER)
    assert access.readable_libraries(everywhere) == ["hospital", OTHER, f"{OTHER}-trials", "shared"]
