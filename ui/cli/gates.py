"""`guidecite gates approve --by OFFICER` and `gates list`: department ethics approvals for
generated answers; `--by` is the account whose permissions are checked, audited with the OS
operator (DESIGN.md §6)."""

from __future__ import annotations

import typer

from assistant.domain import AuditAction
from ui.cli import common
from ui.cli.acting import acting_as
from ui.cli.common import emit_json, handle_errors, parse_day

gates_app = typer.Typer(
    help="Department ethics approvals for generated answers.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `gates` group."""
    app.add_typer(gates_app, name="gates")


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
    from assistant.domain import gates_object
    from assistant.service.gates import approve_gate

    ctx = common.open_context()
    actor = acting_as(ctx, by, action=AuditAction.GATE_APPROVE, obj=gates_object(dept))
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

    rows = list_gates(common.open_context())
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
