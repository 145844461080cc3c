"""Monitoring use-cases (issue #12): who may read which department's figures, alerts, approvals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.config import get_settings
from assistant.domain import Principal, Role
from assistant.errors import AccessDenied
from assistant.service.context import Context, open_context
from assistant.service.monitoring import (
    current_alerts,
    department_metrics,
    monitored_departments,
    visible_approvals,
)

OFFICERS = {
    "cmp.all": "*",
    "cmp.card": "cardiology",
}


def officer(name: str) -> Principal:
    return Principal(user=name, role=Role.COMPLIANCE_OFFICER, department=OFFICERS[name])


@pytest.fixture
def ctx() -> Context:
    context = open_context(get_settings())
    context.access.seed_defaults()
    for name, department in OFFICERS.items():
        context.access.assign_role(user=name, role=Role.COMPLIANCE_OFFICER, department=department)
    context.access.assign_role(user="dr.card", role=Role.DOCTOR, department="cardiology")
    context.access.assign_role(user="dr.onc", role=Role.DOCTOR, department="oncology")
    for department, mode, total in (
        ("cardiology", "refused", 100),
        ("cardiology", "extractive", 300),
        ("oncology", "generative", 5000),
    ):
        context.audit.append_event(
            actor="dr.x",
            role="doctor",
            department=department,
            session_id="s",
            action="ask",
            object="library:hospital",
            outcome=mode,
            detail={"mode": mode, "flags": [], "timings_ms": {"total": total}},
        )
    for _ in range(5):  # one user probing oncology: an alert for whoever sees oncology
        context.audit.append_event(
            actor="probe",
            role="doctor",
            department="oncology",
            session_id="s",
            action="ask",
            object="library:oncology",
            outcome="denied",
            detail={"reason": "not_permitted"},
        )
    gates = context.gate_registry()
    today = gates.today()
    for department in ("cardiology", "oncology"):
        gates.record(
            department=department,
            reference=f"EC-{department}",
            approved_by="ethics",
            approved_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=10),
        )
    return context


def test_a_department_officer_reads_their_department_only(ctx: Context) -> None:
    metrics = department_metrics(ctx, officer("cmp.card"))
    assert metrics.department == "cardiology"
    week = metrics.windows["7d"]
    assert (week["volume"], week["refusals"], week["denials"]) == (2, 1, 0)
    assert sorted(p.ms for p in metrics.trend.latencies) == [100.0, 300.0]
    named = department_metrics(ctx, officer("cmp.card"), department="cardiology")
    assert (named.department, named.windows) == ("cardiology", metrics.windows)
    with pytest.raises(AccessDenied):
        department_metrics(ctx, officer("cmp.card"), department="oncology")


def test_a_hospital_wide_officer_reads_every_department_or_one(ctx: Context) -> None:
    everywhere = department_metrics(ctx, officer("cmp.all"))
    assert everywhere.department is None
    assert everywhere.windows["7d"]["volume"] == 3
    assert everywhere.windows["7d"]["latency_ms"] == {"p50": 300.0, "p95": 5000.0}
    oncology = department_metrics(ctx, officer("cmp.all"), department="oncology")
    assert (oncology.department, oncology.windows["7d"]["volume"]) == ("oncology", 1)


def test_a_doctor_reads_no_figures_and_an_operator_is_not_checked(ctx: Context) -> None:
    doctor = Principal(user="dr.card", role=Role.DOCTOR, department="cardiology")
    with pytest.raises(AccessDenied):
        department_metrics(ctx, doctor)
    assert department_metrics(ctx, "cli:ops").windows["7d"]["volume"] == 3


def test_alerts_are_those_of_the_scope(ctx: Context) -> None:
    everywhere = current_alerts(ctx, officer("cmp.all"))
    assert sorted((a.code, a.subject) for a in everywhere) == [
        ("denials_per_user", "probe"),
        ("gate_expiring", "cardiology"),
        ("gate_expiring", "oncology"),
    ]
    own = current_alerts(ctx, officer("cmp.card"))
    assert [(a.code, a.subject) for a in own] == [("gate_expiring", "cardiology")]
    # Hospital-wide figures handed in by a department officer are not reused for them.
    hospital = department_metrics(ctx, officer("cmp.all"))
    assert current_alerts(ctx, officer("cmp.card"), metrics=hospital) == own
    assert current_alerts(ctx, officer("cmp.all"), metrics=hospital) == everywhere
    with pytest.raises(AccessDenied):
        current_alerts(ctx, officer("cmp.card"), department="oncology")


def test_departments_and_approvals_follow_the_scope(ctx: Context) -> None:
    assert monitored_departments(ctx, officer("cmp.card")) == ["cardiology"]
    assert monitored_departments(ctx, officer("cmp.all")) == ["cardiology", "oncology"]
    assert [r["department"] for r in visible_approvals(ctx, officer("cmp.card"))] == ["cardiology"]
    assert [r["department"] for r in visible_approvals(ctx, officer("cmp.all"))] == [
        "cardiology",
        "oncology",
    ]
