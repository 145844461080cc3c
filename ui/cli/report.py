"""`guidecite report needs`: what a department asks and where the guidelines fall short, from the
audit trail (an operator command, audited as `cli:<os-user>`, DESIGN.md §6)."""

from __future__ import annotations

import typer

from assistant.errors import InvalidInput
from ui.cli import common
from ui.cli.common import emit_json, handle_errors, operator_name, parse_when

report_app = typer.Typer(help="Reports made from the audit trail.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `report` group."""
    app.add_typer(report_app, name="report")


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
    start = parse_when(since, option="--since") if since else None
    report = build_needs_report(
        common.open_context(), operator_name(), department=dept, since=start
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
