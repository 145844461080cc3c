"""Browsing the audit trail (issue 16 item 9): who may, which rows they see, and paging."""

from __future__ import annotations

import pytest

from assistant.domain import AuditAction, AuditEvent, Principal
from assistant.errors import AccessDenied
from assistant.service.acting import record, resolve_actor
from assistant.service.admin import init_system
from assistant.service.audit_trail import browse_events, last_verification, verify_audit
from assistant.service.context import Context
from tests.factories import open_fast_context

OPERATOR = "cli:tester"


@pytest.fixture
def ctx() -> Context:
    context = open_fast_context()
    init_system(context, operator=OPERATOR, demo=True)
    # 30 asks: 20 by a cardiology doctor (every fourth denied), 10 by an oncology doctor.
    for i in range(30):
        who = acting(context, "cardiology.doctor" if i < 20 else "oncology.doctor")
        record(
            context.audit, who, action=AuditAction.ASK, obj="library:hospital",
            outcome="denied" if i % 4 == 0 else "extractive", detail={"n": i},
        )  # fmt: skip
    return context


def acting(ctx: Context, name: str) -> Principal:
    return resolve_actor(ctx, name, via=OPERATOR, action=AuditAction.ROLE_GRANT, obj="roles:x")


def numbers(events: list[AuditEvent]) -> list[int]:
    return [e.detail_json["n"] for e in events]


def test_hospital_officer_filters_and_pages_the_whole_trail(ctx: Context) -> None:
    officer = acting(ctx, "hospital.compliance")
    asks = [AuditAction.ASK]
    first, more = browse_events(ctx, officer, limit=12, actions=asks)
    assert numbers(first) == list(range(29, 17, -1)) and more
    second, more = browse_events(ctx, officer, limit=12, before_id=first[-1].id, actions=asks)
    assert numbers(second) == list(range(17, 5, -1)) and more
    third, more = browse_events(ctx, officer, limit=12, before_id=second[-1].id, actions=asks)
    assert numbers(third) == list(range(5, -1, -1)) and not more

    oncology, _ = browse_events(ctx, officer, department="oncology", actions=asks)
    assert numbers(oncology) == list(range(29, 19, -1))
    assert {e.department for e in oncology} == {"oncology"}
    denied, _ = browse_events(ctx, officer, actor="cardiology.doctor", outcome="denied")
    assert numbers(denied) == [16, 12, 8, 4, 0]
    # Browsing writes nothing to the trail.
    before = ctx.audit.count_events()
    browse_events(ctx, officer)
    assert ctx.audit.count_events() == before


def test_department_officer_sees_only_their_department(ctx: Context) -> None:
    officer = acting(ctx, "oncology.compliance")
    rows, more = browse_events(ctx, officer, limit=200)
    assert rows and not more
    assert {e.department for e in rows} == {"oncology"}
    assert numbers([e for e in rows if e.action == "ask"]) == list(range(29, 19, -1))
    before = ctx.audit.count_events()
    with pytest.raises(AccessDenied):
        browse_events(ctx, officer, department="cardiology")
    refusal = list(ctx.audit.iter_events())[-1]
    assert ctx.audit.count_events() == before + 1
    assert (refusal.actor, refusal.action, refusal.object, refusal.outcome) == (
        "oncology.compliance",
        "page_open",
        "audit:cardiology",
        "denied",
    )
    assert refusal.detail_json["view"] == "audit_events"


def test_a_doctor_may_not_browse_and_the_refusal_is_audited(ctx: Context) -> None:
    doctor = acting(ctx, "cardiology.doctor")
    with pytest.raises(AccessDenied):
        browse_events(ctx, doctor)
    refusal = list(ctx.audit.iter_events())[-1]
    assert (refusal.actor, refusal.object, refusal.outcome) == (
        "cardiology.doctor",
        "audit:cardiology",
        "denied",
    )
    assert last_verification(ctx, doctor) is None


def test_last_verification_is_the_latest_completed_check(ctx: Context) -> None:
    officer = acting(ctx, "hospital.compliance")
    assert last_verification(ctx, officer) is None
    result = verify_audit(ctx, operator=officer)
    latest = last_verification(ctx, officer)
    assert latest is not None and latest.outcome == "ok"
    assert latest.detail_json["events"] == result.events
    # A department officer sees the status of the one chain too.
    assert last_verification(ctx, acting(ctx, "oncology.compliance")) == latest
