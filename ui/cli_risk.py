"""`guidecite review`, `gates`, `audit stats`, `metrics serve` and `report needs` (issue 6).

Thin handlers over `assistant.review`, `assistant.gates`, `assistant.monitoring` and
`assistant.service.needs`. `--by NAME` is the account whose permissions are checked (audited with the OS
operator); `audit stats`, `metrics serve` and `report needs` are operator commands (DESIGN.md §6).
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

import ui.cli_admin as cli_admin
from assistant.config import get_settings
from assistant.domain import Principal
from assistant.errors import AccessDenied, InvalidInput
from ui.cli import app, audit_app, emit_json, handle_errors, operator_name

if TYPE_CHECKING:
    from assistant.domain import ReviewItem
    from assistant.service.context import Context

review_app = typer.Typer(help="The review queue of flagged answers.", no_args_is_help=True)
gates_app = typer.Typer(
    help="Department ethics approvals for generated answers.", no_args_is_help=True
)
metrics_app = typer.Typer(help="Prometheus metrics endpoint.", no_args_is_help=True)
report_app = typer.Typer(help="Reports made from the audit trail.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(gates_app, name="gates")
app.add_typer(metrics_app, name="metrics")
app.add_typer(report_app, name="report")

BY_HELP = "The account whose permissions apply (audited with the OS operator)."


def acting(ctx: Context, by: str, *, action: str, obj: str) -> Principal:
    """The enabled account `by`, acting through the OS operator; a refusal is audited."""
    try:
        principal = ctx.accounts.principal_for(by)
    except AccessDenied as exc:
        # Unknown or disabled `--by` users are denials too, recorded with what they attempted.
        ctx.audit.append_event(
            actor=by,
            role="unknown",
            department="unknown",
            session_id=uuid.uuid4().hex,
            action=action,
            object=obj,
            outcome="denied",
            detail={"reason": exc.reason, "via": operator_name()},
        )
        raise
    return principal.model_copy(update={"via": operator_name()})


def parse_day(value: str, *, option: str) -> date:
    """A calendar date YYYY-MM-DD."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"bad {option} {value!r}", user_message=f"{option} takes a date such as 2026-12-31."
        ) from exc


def _item_summary(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "flags": item.flags,
        "department": item.department,
        "answer_id": item.answer_id,
        "audit_event_id": item.audit_event_id,
        "assignee": item.assignee,
        "disposition": item.disposition,
        "question": item.question,
        "created_at": item.created_at.isoformat() if item.created_at else None,
    }


# ---- review -------------------------------------------------------------------------------


@review_app.command("list")
@handle_errors
def review_list(
    by: str = typer.Option(..., "--by", help=BY_HELP),
    status: str | None = typer.Option(None, "--status", help="open, in_review or resolved."),
    dept: str | None = typer.Option(None, "--dept", help="Only this department."),
    flag: str | None = typer.Option(None, "--flag", help="Only items with this flag."),
    since: str | None = typer.Option(None, "--since", help="Only items opened from this date."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List review items of the departments BY reviews."""
    from assistant.service.review import list_review_items

    ctx = cli_admin.open_context()
    reviewer = acting(ctx, by, action="review_list", obj="page:review")
    start = cli_admin.parse_when(since, option="--since") if since else None
    items = list_review_items(ctx, reviewer, status=status, department=dept, flag=flag, since=start)
    if as_json:
        emit_json([_item_summary(i) for i in items])
        return
    if not items:
        typer.echo("No review items.")
    for item in items:
        typer.echo(
            f"#{item.id:<5} {item.status:10} {item.department:12} {','.join(item.flags):40} "
            f"{item.question[:60]}"
        )


@review_app.command("show")
@handle_errors
def review_show(
    item_id: int = typer.Argument(..., help="Review item id."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Print one review item with everything the reviewer needs, as JSON."""
    from assistant.service.review import get_review_item

    ctx = cli_admin.open_context()
    reviewer = acting(ctx, by, action="review_view", obj="page:review")
    emit_json(get_review_item(ctx, reviewer, item_id).model_dump(mode="json"))


@review_app.command("take")
@handle_errors
def review_take(
    item_id: int = typer.Argument(..., help="Review item id."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Take an item (it becomes in_review, assigned to BY)."""
    from assistant.service.review import take_review_item

    ctx = cli_admin.open_context()
    reviewer = acting(ctx, by, action="review_take", obj="page:review")
    item = take_review_item(ctx, reviewer, item_id)
    typer.echo(f"Item {item.id} is in review by {item.assignee}.")


@review_app.command("resolve")
@handle_errors
def review_resolve(
    item_id: int = typer.Argument(..., help="Review item id."),
    disposition: str = typer.Option(
        ..., "--disposition", help="correct, incorrect, guideline_gap or needs_escalation."
    ),
    comment: str = typer.Option(..., "--comment", help="The reviewer's comment."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Resolve an item with a disposition and a comment."""
    from assistant.service.review import resolve_review_item

    ctx = cli_admin.open_context()
    reviewer = acting(ctx, by, action="review_resolve", obj="page:review")
    item = resolve_review_item(ctx, reviewer, item_id, disposition=disposition, comment=comment)
    typer.echo(f"Item {item.id} resolved: {item.disposition}.")


@review_app.command("export-regression")
@handle_errors
def review_export_regression(
    out: Path = typer.Option(..., "--out", help="JSONL file to write."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Write items resolved incorrect/guideline_gap as a JSONL regression set."""
    from assistant.service.review import export_regression

    ctx = cli_admin.open_context()
    actor = acting(ctx, by, action="review_export", obj="page:review")
    count = export_regression(ctx, actor, out=out)
    typer.echo(f"Exported {count} regression item(s) to {out}.")


# ---- gates --------------------------------------------------------------------------------


@gates_app.command("approve")
@handle_errors
def gates_approve(
    dept: str = typer.Option(..., "--dept", help="Department approved."),
    ref: str = typer.Option(..., "--ref", help="The committee's reference number."),
    expires: str = typer.Option(..., "--expires", help="Expiry date (YYYY-MM-DD)."),
    by: str = typer.Option(..., "--by", help="A compliance officer of the department."),
    approved_on: str | None = typer.Option(None, "--approved-on", help="Default: today."),
    committee: str | None = typer.Option(None, "--committee", help="Default: 伦理委员会."),
    library: list[str] = typer.Option([], "--library", help="Library in scope (repeatable)."),
) -> None:
    """Record an ethics approval: generated answers for DEPT until EXPIRES."""
    from assistant.gates import gates_object
    from assistant.service.gates import approve_gate

    ctx = cli_admin.open_context()
    actor = acting(ctx, by, action="gate_approve", obj=gates_object(dept))
    approval = approve_gate(
        ctx,
        actor,
        department=dept,
        reference=ref,
        expires_on=parse_day(expires, option="--expires"),
        approved_on=parse_day(approved_on, option="--approved-on") if approved_on else None,
        committee=committee,
        libraries=library,
    )
    typer.echo(
        f"Approved generated answers for {approval.department} ({approval.reference}, "
        f"{approval.committee}) from {approval.approved_on} until {approval.expires_on}."
    )


@gates_app.command("list")
@handle_errors
def gates_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List departments with their approval in force and its state today."""
    from assistant.service.gates import list_gates

    rows = list_gates(cli_admin.open_context())
    if as_json:
        emit_json(rows)
        return
    if not rows:
        typer.echo("No approvals recorded: every department gets extractive answers.")
    for row in rows:
        state = "open" if row["open"] else f"closed ({row['reason']})"
        soon = "  EXPIRES SOON" if row["expiring_soon"] else ""
        typer.echo(
            f"{row['department']:14} {state:28} {row.get('reference', '')} "
            f"until {row.get('expires_on', '')}{soon}"
        )


# ---- monitoring ---------------------------------------------------------------------------


@audit_app.command("stats")
@handle_errors
def audit_stats(
    dept: str | None = typer.Option(None, "--dept", help="Only this department."),
    notify: bool = typer.Option(False, "--notify", help="POST alerts to the configured webhook."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Metrics over 1 h / 24 h / 7 d and current alerts, from the audit trail."""
    from assistant.monitoring import audit_metrics, check_alerts
    from assistant.service.acting import record_event

    ctx = cli_admin.open_context()
    now = datetime.now(UTC)
    metrics = audit_metrics(ctx.audit, now=now, department=dept)
    alerts = check_alerts(ctx.settings, ctx.audit, now=now, notify=notify)
    record_event(
        ctx,
        operator_name(),
        action="audit_stats",
        obj=f"audit:{dept or '*'}",
        outcome="ok",
        detail={"department": dept, "alerts": [a.code for a in alerts]},
    )
    if as_json:
        emit_json({"metrics": metrics, "alerts": [a.model_dump(mode="json") for a in alerts]})
        return
    for window, values in metrics.items():
        latency = values["latency_ms"]
        typer.echo(
            f"{window:>4}: {values['volume']} answers, refusal {values['refusal_rate']:.1%}, "
            f"unsupported {values['unsupported_rate']:.1%}, identifiers "
            f"{values['identifier_detections']}, denials {values['denials']}, LLM errors "
            f"{values['llm_errors']}, latency p50/p95 {latency['p50']}/{latency['p95']} ms"
        )
    for alert in alerts:
        typer.echo(f"ALERT [{alert.severity}] {alert.code}: {alert.message}")


@metrics_app.command("serve")
@handle_errors
def metrics_serve(
    port: int = typer.Option(..., "--port", min=1, max=65535, help="Port to listen on."),
    addr: str = typer.Option("127.0.0.1", "--addr", help="Address to bind."),
) -> None:
    """Serve Prometheus text metrics (recomputed from the audit trail at every scrape)."""
    from assistant.audit.log import open_audit_log
    from assistant.monitoring import serve_metrics

    settings = get_settings()
    server = serve_metrics(settings, open_audit_log(settings), port=port, addr=addr)
    typer.echo(f"Serving metrics on http://{addr}:{port}/metrics (Ctrl-C to stop).")
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()


# ---- reports ------------------------------------------------------------------------------


@report_app.command("needs")
@handle_errors
def report_needs(
    dept: str = typer.Option(..., "--dept", help="Department."),
    since: str | None = typer.Option(None, "--since", help="From this date (UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (= --format json)."),
    fmt: str = typer.Option("text", "--format", help="text, json or csv."),
) -> None:
    """Topics by clinical subject with weekly trends, guideline gaps, feedback, unused libraries."""
    from assistant.service.needs import build_needs_report, report_csv, summarise_gaps

    if fmt not in ("text", "json", "csv"):
        raise InvalidInput(
            f"unknown format {fmt!r}", user_message="--format must be text, json or csv."
        )
    start = cli_admin.parse_when(since, option="--since") if since else None
    report = build_needs_report(
        cli_admin.open_context(), operator_name(), department=dept, since=start
    )
    if as_json or fmt == "json":
        emit_json(report)
        return
    if fmt == "csv":
        typer.echo(report_csv(report), nl=False)
        return
    typer.echo(f"Needs report for {dept}: {report['questions']} question(s).")
    typer.echo("Topics asked (by subject; weekly counts):")
    for topic in report["topics"]:
        trend = " ".join(str(p["count"]) for p in topic["trend"][-8:])
        typer.echo(
            f"  {topic['subject']} ({topic['count']}; weekly {trend}): "
            + " | ".join(topic["examples"])
        )
    if report["without_subject"]["count"]:
        typer.echo(f"  (no specific subject) ({report['without_subject']['count']})")
    refused = report["refused"]
    typer.echo(f"Refused: {refused['count']} ({refused['rate']:.0%}) — guideline gaps:")
    for line in summarise_gaps(report):
        typer.echo(f"  {line}")
    typer.echo(f"Flags: {report['flags']}")
    fb = report["feedback"]
    typer.echo(
        f"Feedback: {fb['count']} ({fb['rate']:.0%}), 👍 {fb['helpful']} 👎 {fb['not_helpful']}; "
        f"dispositions {report['review_dispositions']}"
    )
    typer.echo(f"Libraries never used: {', '.join(report['libraries']['never_used']) or 'none'}")
