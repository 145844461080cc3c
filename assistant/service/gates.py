"""Gate use-cases: record a department's ethics approval and list approvals (audited).

Recording needs `approve` on `gates:<dept>` (compliance_officer) and writes one `gate_approve`
event through `acting.audited`, denials included. The registry, its schedule and the chat
banner are `assistant.gates`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from assistant.domain import AuditAction, GateApproval, Principal, gates_object
from assistant.gates import GateRegistry, gate_defaults
from assistant.service.acting import audited
from assistant.service.context import Context


def approve_gate(
    ctx: Context,
    actor: Principal,
    *,
    department: str,
    reference: str,
    expires_on: date,
    approved_on: date | None = None,
    committee: str | None = None,
    libraries: Sequence[str] = (),
    registry: GateRegistry | None = None,
) -> GateApproval:
    """Record an ethics approval; needs `approve` on `gates:<dept>` (compliance_officer)."""
    gates = registry or GateRegistry.open(ctx.settings)
    obj = gates_object(department)
    detail: dict[str, Any] = {
        "department": department,
        "reference": reference,
        "expires_on": expires_on.isoformat(),
        "approved_on": approved_on.isoformat() if approved_on else None,
        "libraries": list(libraries),
    }

    def run() -> tuple[GateApproval, dict[str, Any]]:
        ctx.access.require(actor, "approve", obj)
        approval = gates.record(
            department=department,
            reference=reference,
            approved_by=actor.user,
            expires_on=expires_on,
            approved_on=approved_on,
            committee=committee,
            libraries=libraries,
            recorded_by=actor.via or actor.user,
        )
        return approval, {"approval_id": approval.id, "committee": approval.committee}

    return audited(
        ctx.audit, actor, action=AuditAction.GATE_APPROVE, obj=obj, detail=detail, run=run
    )


def list_gates(
    ctx: Context, *, registry: GateRegistry | None = None, on: date | None = None
) -> list[dict[str, Any]]:
    """Every department with an approval record: the approval in force and its state today."""
    gates = registry or GateRegistry.open(ctx.settings)
    day = on or gates.today()
    warn = gate_defaults()["warn_days_before_expiry"]
    rows: list[dict[str, Any]] = []
    for department, _latest in sorted(gates.latest().items()):
        status = gates.status(department, on=day)
        approval = status.approval
        rows.append(
            {
                "department": department,
                "open": status.open,
                "reason": status.reason,
                "days_left": status.days_left,
                "expiring_soon": bool(status.open and (status.days_left or 0) <= warn),
                **(approval.model_dump(mode="json") if approval else {}),
            }
        )
    return rows
