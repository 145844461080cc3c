"""`guidecite audit verify|export|purge|stats`.

`verify` and `stats` are operator commands, audited as `cli:<os-user>`; `export` and `purge`
act as the `--by` account, whose permissions are checked (DESIGN.md §6).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import typer

from assistant.errors import InvalidInput
from ui.cli import common
from ui.cli.acting import acting_as
from ui.cli.common import emit_json, handle_errors, operator_name, parse_when

audit_app = typer.Typer(help="Verify, export and purge the audit trail.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `audit` group."""
    app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@handle_errors
def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check the hash chain and signed checkpoints; exit 1 when they do not verify."""
    from assistant.service.audit_trail import verify_audit

    result = verify_audit(common.open_context(), operator=operator_name())
    if as_json:
        emit_json(result.model_dump())
    elif result.ok:
        typer.echo(
            f"Audit trail verifies: {result.events} event(s); signed head at row "
            f"{result.signed_head_id}, {result.beyond_signed_head} event(s) beyond it."
        )
        if result.beyond_signed_head:
            # Normally 0: every append signs the head. Rows after it were written by something
            # other than GuideCite (or a replica of an older version during an upgrade).
            typer.echo(
                f"WARNING: {result.beyond_signed_head} event(s) after row "
                f"{result.signed_head_id} are not covered by a signature.",
                err=True,
            )
    else:
        typer.echo(
            f"Audit trail does NOT verify: first bad event {result.first_bad_id}; "
            f"{result.reason} ({result.events} event(s) checked).",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)


def _write_lines(lines: Iterable[str], out: Path | None) -> int:
    count = 0
    if out is None:
        for line in lines:
            sys.stdout.write(line)
            count += 1
        sys.stdout.flush()
        return count
    # Owner-only: exported rows hold (redacted) questions and who asked them.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count


@audit_app.command("export")
@handle_errors
def audit_export(
    by: str = typer.Option(..., "--by", help="Who exports (must hold export on the audit)."),
    fmt: str = typer.Option(..., "--format", help="jsonl or csv."),
    since: str | None = typer.Option(None, "--since", help="Only events from this date (UTC)."),
    dept: str | None = typer.Option(None, "--dept", help="Only this department's events."),
    actor: str | None = typer.Option(None, "--actor", help="Only events of this actor."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
) -> None:
    """Export audit events (the export is itself audited before any line is written)."""
    from assistant.domain import AuditAction, audit_object
    from assistant.service.audit_trail import export_audit

    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"unknown format {fmt!r}", user_message="--format takes jsonl or csv.")
    chosen: Literal["jsonl", "csv"] = "jsonl" if fmt == "jsonl" else "csv"
    start = parse_when(since, option="--since") if since is not None else None
    ctx = common.open_context()
    principal = acting_as(ctx, by, action=AuditAction.AUDIT_EXPORT, obj=audit_object(dept))
    lines = export_audit(
        ctx, principal, fmt=chosen, since=start, department=dept, actor_filter=actor
    )
    written = _write_lines(lines, out)
    if out is not None:
        rows = written - 1 if chosen == "csv" else written
        typer.echo(f"Exported {rows} event(s) to {out}.")


@audit_app.command("purge")
@handle_errors
def audit_purge(
    before: str = typer.Option(..., "--before", help="Delete events older than this date (UTC)."),
    by: str = typer.Option(..., "--by", help="Who purges (must hold purge on audit:*)."),
) -> None:
    """Delete events older than a date; refuses anything younger than the retention period."""
    from assistant.domain import AuditAction, audit_object
    from assistant.service.audit_trail import purge_audit

    cutoff = parse_when(before, option="--before")
    ctx = common.open_context()
    principal = acting_as(ctx, by, action=AuditAction.AUDIT_PURGE, obj=audit_object(None))
    purged = purge_audit(ctx, principal, before=cutoff)
    typer.echo(f"Purged {purged} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC.")


@audit_app.command("stats")
@handle_errors
def audit_stats(
    dept: str | None = typer.Option(None, "--dept", help="Only this department."),
    notify: bool = typer.Option(False, "--notify", help="POST alerts to the configured webhook."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Metrics over 1 h / 24 h / 7 d and current alerts, from the audit trail."""
    from assistant.service.audit_trail import audit_stats

    metrics, alerts = audit_stats(
        common.open_context(), operator_name(), department=dept, notify=notify
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
