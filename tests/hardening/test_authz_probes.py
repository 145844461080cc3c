"""Authorisation probes through the service API, as each role (issue 9 item 4).

Every probe must be denied (AccessDenied), change nothing, and leave a `denied` audit row naming
the actor. Ingestion and deletion by a person go through `ingest_as_principal` /
`delete_document_as_principal`, which check the library with Casbin. Sign-in is audited at the
service level (`assistant.service.sign_in.sign_in`); the login page uses it, and the web probes
below drive that page with Streamlit's AppTest.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from assistant.access import AccessControl
from assistant.accounts import Accounts
from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.domain import AuditEvent, Principal, ReviewItem, Role
from assistant.errors import AccessDenied, AuthenticationError
from assistant.review import ReviewQueue
from assistant.service.admin import disable_user, grant_library, grant_role
from assistant.service.audit_trail import export_audit
from assistant.service.context import Context
from assistant.service.review import get_review_item, resolve_review_item, take_review_item
from assistant.store import open_store
from ingestion.as_principal import delete_document_as_principal, ingest_as_principal
from ingestion.service import Ingestor
from tests.factories import open_access, open_accounts
from tests.hardening.conftest import RESTRICTED_LIBRARY, RESTRICTED_MD, World, write_doc

PASSWORD = "violet staple orbit 42"
APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")

ROLES = {
    "doctor": Principal(user="card.doc", role=Role.DOCTOR, department="cardiology"),
    "dept_admin_other": Principal(user="onc.admin", role=Role.DEPT_ADMIN, department="oncology"),
    "reviewer_other": Principal(
        user="onc.reviewer", role=Role.QUALITY_REVIEWER, department="oncology"
    ),
    "compliance_other": Principal(
        user="onc.compliance", role=Role.COMPLIANCE_OFFICER, department="oncology"
    ),
    "sysadmin": Principal(user="it.admin", role=Role.SYSADMIN, department="*"),
}
CARD_REVIEWER = Principal(user="card.reviewer", role=Role.QUALITY_REVIEWER, department="cardiology")


@pytest.fixture(scope="module")
def roles(world: World) -> dict[str, Principal]:
    """The probing principals, with their roles held in Casbin."""
    for principal in [*ROLES.values(), CARD_REVIEWER]:
        world.access.assign_role(
            user=principal.user, role=principal.role, department=principal.department
        )
    return ROLES


@pytest.fixture
def admin(world: World, tmp_path: Path) -> Context:
    """The admin use-cases over the shared policy, with a fresh audit log."""
    audit = open_audit_log(world.settings.model_copy(update={"data_dir": tmp_path / "audit"}))
    accounts = open_accounts(world.settings, access=world.access)
    return Context(settings=world.settings, access=world.access, accounts=accounts, audit=audit)


@pytest.fixture
def cardiology_item(world: World) -> int:
    """An open review item of the cardiology department."""
    now = datetime.now(UTC)
    item = ReviewQueue.open(world.settings).insert(
        ReviewItem(
            answer_id=uuid.uuid4().hex,
            department="cardiology",
            flags=["unsupported_sentence"],
            created_at=now,
            updated_at=now,
        )
    )
    assert item is not None and item.id is not None
    return item.id


def policy_of(access: AccessControl) -> tuple[Any, ...]:
    """Role assignments and library grants (unchanged by a denial)."""
    return (tuple(access.list_role_assignments()), tuple(access.list_library_grants()))


Probe = Callable[[Context, Principal, int], Any]
PROBES: dict[str, tuple[Probe, str, str, set[str]]] = {
    # name: (call, audit action, audit object, roles that may do it legitimately)
    "view_other_dept_review": (
        lambda ctx, who, item: get_review_item(ctx, who, item),
        "review_view",
        "review:cardiology",
        set(),
    ),
    "take_other_dept_review": (
        lambda ctx, who, item: take_review_item(ctx, who, item),
        "review_take",
        "review:cardiology",
        set(),
    ),
    "resolve_other_dept_review": (
        lambda ctx, who, item: resolve_review_item(
            ctx, who, item, disposition="correct", comment="fine"
        ),
        "review_resolve",
        "review:cardiology",
        set(),
    ),
    "export_audit": (
        lambda ctx, who, _item: export_audit(ctx, who, fmt="jsonl", department="cardiology"),
        "export",
        "audit:cardiology",
        set(),
    ),
    "grant_role": (
        lambda ctx, who, _item: grant_role(
            ctx, who, user="card.doc", role=Role.DEPT_ADMIN, department="cardiology"
        ),
        "role_grant",
        "roles:cardiology",
        {"sysadmin"},
    ),
    "grant_restricted_library": (
        lambda ctx, who, _item: grant_library(
            ctx, who, library=RESTRICTED_LIBRARY, department="cardiology"
        ),
        "library_grant",
        f"library:{RESTRICTED_LIBRARY}",
        {"sysadmin"},
    ),
}
CELLS = [
    (probe, role)
    for probe, (*_, allowed) in PROBES.items()
    for role in ROLES
    if role not in allowed
]


@pytest.mark.parametrize(("probe", "role"), CELLS, ids=[f"{p}-{r}" for p, r in CELLS])
def test_probe_is_denied_changes_nothing_and_is_audited(
    world: World,
    admin: Context,
    roles: dict[str, Principal],
    cardiology_item: int,
    probe: str,
    role: str,
) -> None:
    call, action, obj, _ = PROBES[probe]
    who = roles[role]
    before = policy_of(world.access)
    item_before = ReviewQueue.open(world.settings).get(cardiology_item)
    with pytest.raises(AccessDenied) as raised:
        call(admin, who, cardiology_item)
    assert raised.value.exit_code == 3 and raised.value.user_message
    assert policy_of(world.access) == before
    assert ReviewQueue.open(world.settings).get(cardiology_item) == item_before
    event = list(admin.audit.iter_events())[-1]
    assert (event.actor, event.action, event.object, event.outcome) == (
        who.user,
        action,
        obj,
        "denied",
    )
    assert event.role == str(who.role) and event.detail_json["reason"]
    assert admin.audit.verify().ok


def test_the_rightful_reviewer_is_allowed(
    admin: Context, roles: dict[str, Principal], cardiology_item: int
) -> None:
    # The control case: the probes above would pass vacuously if nobody were ever allowed.
    item = get_review_item(admin, CARD_REVIEWER, cardiology_item)
    assert item.department == "cardiology"
    assert list(admin.audit.iter_events())[-1].outcome == "ok"


CARD_ADMIN = Principal(user="card.admin", role=Role.DEPT_ADMIN, department="cardiology")
INGEST_CELLS = {
    # who: may they ingest into / delete from oncology-internal (granted to oncology only)?
    "doctor": False,
    "dept_admin_of_another_department": False,
    "reviewer_other": False,
    "compliance_other": False,
    "dept_admin_of_owning_department": True,
    "sysadmin": True,
}


def _ingest_principal(roles: dict[str, Principal], who: str) -> Principal:
    if who == "dept_admin_of_another_department":
        return CARD_ADMIN
    if who == "dept_admin_of_owning_department":
        return roles["dept_admin_other"]  # onc.admin: dept_admin of oncology
    return roles[who]


@pytest.mark.parametrize(("who", "allowed"), INGEST_CELLS.items(), ids=list(INGEST_CELLS))
def test_ingest_and_delete_through_the_service_api_are_checked(
    world: World, roles: dict[str, Principal], tmp_path: Path, who: str, allowed: bool
) -> None:
    world.access.assign_role(user=CARD_ADMIN.user, role=Role.DEPT_ADMIN, department="cardiology")
    principal = _ingest_principal(roles, who).model_copy(update={"via": "web"})
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "data"})
    audit = open_audit_log(settings)
    doc = write_doc(tmp_path / "docs", "onco-protocol.md", RESTRICTED_MD)
    with open_store(settings) as store:
        ingestor = Ingestor(settings, store=store, embedder=world.embedder, audit=audit)
        if not allowed:
            with pytest.raises(AccessDenied) as raised:
                ingest_as_principal(
                    principal,
                    [doc],
                    library=RESTRICTED_LIBRARY,
                    ingestor=ingestor,
                    access=world.access,
                )
            assert raised.value.exit_code == 3 and raised.value.user_message
            assert store.count() == 0  # nothing read, embedded or written
            [event] = list(audit.iter_events())
            assert (event.actor, event.role, event.action, event.object, event.outcome) == (
                principal.user,
                str(principal.role),
                "ingest",
                f"library:{RESTRICTED_LIBRARY}",
                "denied",
            )
            assert event.detail_json["reason"] in {"not_permitted", "library_not_of_department"}
            assert event.detail_json["via"] == "web"
            assert audit.verify().ok
            return
        report = ingest_as_principal(
            principal, [doc], library=RESTRICTED_LIBRARY, ingestor=ingestor, access=world.access
        )
        assert report.failed == [] and report.chunks_added > 0
        assert store.count(library=RESTRICTED_LIBRARY, status="current") == report.chunks_added
        [ok] = [e for e in audit.iter_events() if e.action == "ingest"]
        assert (ok.actor, ok.role, ok.department, ok.outcome) == (
            principal.user,
            str(principal.role),
            principal.department,
            "ok",
        )
        assert ok.detail_json["via"] == "web" and ok.detail_json["file"] == doc.name
        doc_id = report.documents[0].doc_id
        removed = delete_document_as_principal(
            principal, doc_id, store=store, settings=settings, access=world.access, audit=audit
        )
        assert removed == report.chunks_added and store.count() == 0
        deleted = list(audit.iter_events())[-1]
        assert (deleted.actor, deleted.action, deleted.outcome) == (
            principal.user,
            "document_delete",
            "ok",
        )
    assert audit.verify().ok


def test_delete_by_a_person_outside_the_library_is_denied_and_keeps_the_document(
    world: World, roles: dict[str, Principal], tmp_path: Path
) -> None:
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "data"})
    audit = open_audit_log(settings)
    doc = write_doc(tmp_path / "docs", "onco-protocol.md", RESTRICTED_MD)
    with open_store(settings) as store:
        ingestor = Ingestor(settings, store=store, embedder=world.embedder, audit=audit)
        report = ingestor.ingest([doc], library=RESTRICTED_LIBRARY)
        doc_id = report.documents[0].doc_id
        for principal in (roles["doctor"], CARD_ADMIN):
            world.access.assign_role(
                user=CARD_ADMIN.user, role=Role.DEPT_ADMIN, department="cardiology"
            )
            with pytest.raises(AccessDenied):
                delete_document_as_principal(
                    principal,
                    doc_id,
                    store=store,
                    settings=settings,
                    access=world.access,
                    audit=audit,
                )
            assert store.count(doc_id=doc_id, status="current") == report.chunks_added
            event = list(audit.iter_events())[-1]
            assert (event.actor, event.action, event.object, event.outcome) == (
                principal.user,
                "document_delete",
                f"library:{RESTRICTED_LIBRARY}",
                "denied",
            )


# ---- sign-in and sessions (service level) ---------------


@pytest.fixture
def accounts(world: World, tmp_path: Path) -> Accounts:
    """Accounts on a throwaway database, sharing nothing with other tests."""
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "acc"})
    access = open_access(settings)
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.zhou", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    return accounts


def test_forged_and_disabled_sessions_and_lockout_are_refused(accounts: Accounts) -> None:
    with pytest.raises(AuthenticationError) as forged:
        accounts.resolve_session("forged-" + uuid.uuid4().hex)
    assert forged.value.reason == "invalid_session"
    live = accounts.login("dr.zhou", PASSWORD)
    assert live.token and accounts.resolve_session(live.token).user == "dr.zhou"
    accounts.disable_user("dr.zhou")
    with pytest.raises(AuthenticationError) as disabled:
        accounts.resolve_session(live.token)
    assert disabled.value.reason in {"disabled", "session_revoked"}
    accounts.enable_user("dr.zhou")
    for _ in range(5):
        with pytest.raises(AuthenticationError):
            accounts.login("dr.zhou", "wrong password " + uuid.uuid4().hex[:6])
    with pytest.raises(AuthenticationError) as locked:
        accounts.login("dr.zhou", PASSWORD)  # the right password no longer opens it
    assert locked.value.reason == "locked"


# ---- sign-in and sessions through the web layer (audited there) ---------------------------------


def _events() -> list[AuditEvent]:
    return list(open_audit_log(get_settings()).iter_events())


def _login_page(name: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(password)
    return at.button[-1].click().run()


@pytest.mark.slow
def test_web_probes_are_denied_and_audited() -> None:
    settings = get_settings()
    access = open_access(settings)
    accounts = open_accounts(settings, access=access)
    for name in ("dr.brute", "dr.gone", "dr.late"):
        accounts.add_user(name, role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    admin = Context(
        settings=settings, access=access, accounts=accounts, audit=open_audit_log(settings)
    )

    # Brute force: five wrong passwords lock the account; the sixth try, right or wrong, is refused.
    for attempt in range(6):
        at = _login_page("dr.brute", "guess-" + str(attempt) + "-" + "x" * 12)
        assert "gc_token" not in at.session_state
    at = _login_page("dr.brute", PASSWORD)
    assert "gc_token" not in at.session_state and any("locked" in e.value for e in at.error)
    reasons = [
        e.detail_json["reason"] for e in _events() if e.actor == "dr.brute" and e.action == "login"
    ]
    assert reasons == ["bad_credentials"] * 5 + ["locked"] * 2
    outcomes = [e.outcome for e in _events() if e.actor == "dr.brute"]
    assert outcomes == ["failed"] * 5 + ["locked"] * 2

    # A disabled user's live session ends on the next rerun.
    at = _login_page("dr.gone", PASSWORD)
    assert "gc_token" in at.session_state
    disable_user(admin, operator="cli:test", name="dr.gone")
    at.run()
    assert "gc_token" not in at.session_state
    ended = [e for e in _events() if e.action == "session"]
    assert ended and ended[-1].outcome == "ended"
    assert ended[-1].detail_json["reason"] in {"disabled", "session_revoked"}
    assert any(e.action == "user_disable" and e.outcome == "ok" for e in _events())

    # An expired session and a forged token are refused and audited the same way.
    at = _login_page("dr.late", PASSWORD)
    assert "gc_token" in at.session_state
    past = (datetime.now(UTC) - timedelta(minutes=1)).replace(tzinfo=None)
    with sqlite3.connect(settings.data_dir / "guidecite.db") as conn:
        conn.execute("UPDATE sessions SET expires_at = ? WHERE user_name = 'dr.late'", (past,))
    at.run()
    assert "gc_token" not in at.session_state
    assert _events()[-1].detail_json["reason"] == "session_expired"
    at.session_state["gc_token"] = "forged-" + uuid.uuid4().hex
    at.run()
    assert "gc_token" not in at.session_state
    assert _events()[-1].detail_json["reason"] == "invalid_session"
    assert open_audit_log(settings).verify().ok
