"""Use-cases of the audit trail itself: verify, export, purge (issue 4) and stats (issue 6).

Verifying is audited under whoever checks: the operator (`cli:<os-user>`), or a person holding
`verify` on their trail (the Audit page). Exporting and purging are checked with Casbin
(`export`/`purge` on `audit:<dept>`) and audited through `acting.audited` before a line is read
or a row deleted; a purge never goes below the retention (`refused`). `audit_stats` is the
operator's view of the monitoring figures and alerts, audited as `audit_stats`.

Browsing (issue 16 item 9, the Audit page's event table) needs what exporting needs — `read` or
`export` on `audit:<dept>` — and a department's officer sees only their department's rows.
A refusal is audited (`page_open`/`denied` on `audit:<dept>`, `view: audit_events`); a permitted
view is not: it shows rows the trail already holds, unlike an export, which takes them away.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any, Literal

from assistant.domain import (
    HOSPITAL_WIDE,
    Alert,
    AuditAction,
    AuditEvent,
    Principal,
    VerifyResult,
    audit_object,
)
from assistant.errors import AccessDenied, InvalidInput
from assistant.monitoring import audit_metrics, check_alerts
from assistant.service.acting import audited, record
from assistant.service.context import Context


def department_scope(principal: Principal) -> str | None:
    """The department whose trail a person works on; None for a hospital-wide account."""
    return None if principal.department == HOSPITAL_WIDE else principal.department


def verify_audit(ctx: Context, *, operator: str | Principal) -> VerifyResult:
    """Check the whole chain and its signed checkpoints; the check itself is audited.

    The machine's operator (`cli:<os-user>`) may always check; a person needs `verify` on
    their department's trail (`audit:<dept>`, `audit:*` hospital-wide), a refusal audited.
    """
    obj = audit_object(department_scope(operator) if isinstance(operator, Principal) else None)
    if isinstance(operator, Principal):
        try:
            ctx.access.require(operator, "verify", obj)
        except AccessDenied as exc:
            denied = {"reason": exc.reason}
            record(
                ctx.audit, operator, action=AuditAction.AUDIT_VERIFY, obj=obj,
                outcome="denied", detail=denied,
            )  # fmt: skip
            raise
    result = ctx.audit.verify()
    record(
        ctx.audit,
        operator,
        action=AuditAction.AUDIT_VERIFY,
        obj=obj,
        outcome="ok" if result.ok else "failed",
        detail={
            "events": result.events,
            "first_bad_id": result.first_bad_id,
            "reason": result.reason,
        },
    )
    return result


MAX_PAGE = 200


def browse_events(
    ctx: Context,
    principal: Principal,
    *,
    actor: str | None = None,
    department: str | None = None,
    actions: Collection[str] | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[AuditEvent], bool]:
    """One page of the trail, newest first, and whether older rows match too.

    Needs `read` or `export` on `audit:<dept>`; `department` defaults to the principal's own
    (all departments for a hospital-wide officer), and another department is refused by Casbin
    for a department's officer. Page on with the last id shown as `before_id`.
    """
    department = department or department_scope(principal)
    obj = audit_object(department)
    if not (ctx.access.can(principal, "read", obj) or ctx.access.can(principal, "export", obj)):
        try:
            ctx.access.require(principal, "read", obj)
        except AccessDenied as exc:
            denied = {"reason": exc.reason, "view": "audit_events"}
            record(
                ctx.audit, principal, action=AuditAction.PAGE_OPEN, obj=obj,
                outcome="denied", detail=denied,
            )  # fmt: skip
            raise
    return ctx.audit.page_events(
        limit=max(1, min(limit, MAX_PAGE)),
        before_id=before_id,
        actor=actor or None,
        department=department,
        actions=actions,
        outcome=outcome or None,
        since=since,
        until=until,
    )


def last_verification(ctx: Context, principal: Principal) -> AuditEvent | None:
    """The latest completed chain check (`audit_verify`, ok or failed), for the chain status.

    The chain is one for the whole hospital, so any officer who may browse sees its status.
    """
    obj = audit_object(department_scope(principal))
    if not (ctx.access.can(principal, "read", obj) or ctx.access.can(principal, "export", obj)):
        return None
    before: int | None = None
    for _ in range(20):  # refused checks are few; stop rather than walk a whole trail
        page, more = ctx.audit.page_events(
            limit=50, before_id=before, actions=[AuditAction.AUDIT_VERIFY]
        )
        for event in page:
            if event.outcome in ("ok", "failed"):
                return event
        if not more or not page:
            return None
        before = page[-1].id
    return None


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
    audited(ctx.audit, actor, action=AuditAction.AUDIT_EXPORT, obj=obj, detail=filters, run=run)
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
    return audited(
        ctx.audit, actor, action=AuditAction.AUDIT_PURGE, obj=obj, detail=detail, run=run
    )


def audit_stats(
    ctx: Context, operator: str, *, department: str | None, notify: bool
) -> tuple[dict[str, dict[str, Any]], list[Alert]]:
    """Metrics over 1 h / 24 h / 7 d and the current alerts (operator command, audited);
    with `notify` the alerts are also posted to the configured webhook."""
    now = datetime.now(UTC)
    metrics = audit_metrics(ctx.audit, now=now, department=department)
    alerts = check_alerts(ctx.settings, ctx.audit, now=now, notify=notify)
    detail = {"department": department, "alerts": [a.code for a in alerts]}
    obj = audit_object(department)
    record(
        ctx.audit, operator, action=AuditAction.AUDIT_STATS, obj=obj, outcome="ok", detail=detail
    )
    return metrics, alerts
