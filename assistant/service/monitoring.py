"""Monitoring use-cases: the figures, alerts and approvals a person may see (issue 6, #12).

Reading needs `read` on `monitoring:<dept>` (`monitoring:*` for the whole hospital). A
department-scoped officer sees their own department only; a hospital-wide one (`*`) sees the
whole hospital or any one department. An operator command (`cli:<os-user>`) is not checked
here: the shell already holds the database. Reads write no audit row of their own: opening the
Monitoring page is the audited `page_open`, and `audit stats` records `audit_stats`.

The figures themselves, with one definition each, are `assistant.monitoring`; these functions
return its `Metrics` and `Alert`s unchanged, so the page's table, charts and alerts come from one
computation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from assistant.domain import (
    HOSPITAL_WIDE,
    Alert,
    DocumentStatus,
    DocumentVersion,
    GuidelineUpdate,
    Principal,
    monitoring_object,
    version_from_payload,
)
from assistant.monitoring import LatencyPoint, Metrics, Trend, check_alerts, read_metrics
from assistant.review import ReviewQueue
from assistant.service.context import Context
from assistant.service.gates import list_gates
from assistant.service.review import GUIDELINE_UPDATED, guideline_updated_detail

# The figures' shapes travel with the use-cases: `ui` imports only `assistant.service.*`.
__all__ = [
    "LatencyPoint",
    "Metrics",
    "Trend",
    "current_alerts",
    "department_metrics",
    "monitored_departments",
    "monitoring_scope",
    "recent_guideline_updates",
    "visible_approvals",
]


def monitoring_scope(
    ctx: Context, who: Principal | str, *, department: str | None = None
) -> str | None:
    """The department whose figures `who` reads (None: the whole hospital), checked with
    Casbin: a department-scoped person defaults to, and may read only, their own department."""
    if not isinstance(who, Principal):
        return department
    own = None if who.department == HOSPITAL_WIDE else who.department
    scope = department if department is not None else own
    ctx.access.require(who, "read", monitoring_object(scope or HOSPITAL_WIDE))
    return scope


def department_metrics(
    ctx: Context,
    who: Principal | str,
    *,
    department: str | None = None,
    now: datetime | None = None,
) -> Metrics:
    """Every window's figures and the daily series, of the department `who` may read."""
    scope = monitoring_scope(ctx, who, department=department)
    return read_metrics(ctx.audit, now=now, department=scope)


def current_alerts(
    ctx: Context,
    who: Principal | str,
    *,
    department: str | None = None,
    metrics: Metrics | None = None,
    notify: bool = False,
) -> list[Alert]:
    """The alerts `who` may see now: thresholds over their scope's events (or over `metrics`,
    which name their department) and the expiring approval of that scope; the webhook only
    with `notify`."""
    wanted = metrics.department if metrics is not None else department
    scope = monitoring_scope(ctx, who, department=wanted)
    return check_alerts(
        ctx.settings,
        ctx.audit,
        gates=ctx.gate_registry(),
        notify=notify,
        department=scope,
        # Figures of another scope (a department person's default) are never reused.
        metrics=metrics if metrics is not None and metrics.department == scope else None,
    )


def monitored_departments(ctx: Context, who: Principal | str) -> list[str]:
    """The departments `who` may pick on the Monitoring page: their own, or, hospital-wide,
    every department with a role or a library grant."""
    own = monitoring_scope(ctx, who)
    if own is not None:
        return [own]
    found = {dept for _user, _role, dept in ctx.access.list_role_assignments()}
    found |= {dept for _library, dept in ctx.access.list_library_grants()}
    return sorted(found - {HOSPITAL_WIDE})


def visible_approvals(ctx: Context, who: Principal | str) -> list[dict[str, Any]]:
    """The ethics approvals of `who`'s scope (`list_gates` rows; hospital-wide ones too)."""
    scope = monitoring_scope(ctx, who)
    return [
        row
        for row in list_gates(ctx, registry=ctx.gate_registry())
        if scope is None or row["department"] in (scope, HOSPITAL_WIDE)
    ]


def recent_guideline_updates(
    ctx: Context, who: Principal | str, *, department: str | None = None, limit: int = 50
) -> list[GuidelineUpdate]:
    """New editions that superseded earlier ones in the libraries of `who`'s scope, newest
    first (issue #17 §2): a department's own library grants (and hospital-wide ones), or, for
    the whole hospital, every library. Each names both versions, when the new one came in, and
    how many review items of the scope were marked `guideline_updated` for it."""
    scope = monitoring_scope(ctx, who, department=department)
    libraries: set[str] | None = None
    if scope is not None:
        libraries = {
            library
            for library, dept in ctx.access.list_library_grants()
            if dept in (scope, HOSPITAL_WIDE)
        }
    by_doc: dict[str, list[DocumentVersion]] = {}
    for _, payload in ctx.store.scroll(chunk_index=0):
        version = version_from_payload(payload)
        if version.status == DocumentStatus.PENDING:
            continue
        if libraries is not None and version.library not in libraries:
            continue
        by_doc.setdefault(version.doc_id, []).append(version)
    epoch = datetime.min.replace(tzinfo=UTC)
    pairs: list[tuple[DocumentVersion, DocumentVersion]] = []
    for versions in by_doc.values():
        versions.sort(key=lambda v: v.ingested_at or epoch)
        pairs += [
            (old, new) for old, new in pairwise(versions) if old.status == DocumentStatus.SUPERSEDED
        ]
    if not pairs:
        return []
    queue = ReviewQueue.open(ctx.settings)
    departments = queue.departments() if scope is None else [scope]
    details = [
        f.detail
        for item in queue.query(departments=departments, flag=GUIDELINE_UPDATED)
        for f in item.flag_details
        if f.code == GUIDELINE_UPDATED
    ]
    updates = [
        GuidelineUpdate(
            library=new.library,
            doc_id=new.doc_id,
            title=new.title,
            superseded=old.version or old.content_sha256[:12],
            current=new.version or new.content_sha256[:12],
            updated_at=new.ingested_at,
            effective_date=new.effective_date,
            marked=details.count(guideline_updated_detail(old, new)),
        )
        for old, new in pairs
    ]
    updates.sort(key=lambda u: u.updated_at or epoch, reverse=True)
    return updates[:limit]


def serve_metrics(ctx: Context, *, port: int, addr: str = "127.0.0.1") -> Any:
    """Start the Prometheus endpoint (`metrics serve`, an operator command) in a thread."""
    from assistant import monitoring

    return monitoring.serve_metrics(ctx.settings, ctx.audit, port=port, addr=addr)
