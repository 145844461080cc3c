"""`guidecite conversations purge`: remove stored chat conversations unused for longer than the
retention (GUIDECITE_CONVERSATION_RETENTION_DAYS, never below the audit trail's). An operator
command, audited as `cli:<os-user>`; the audit trail is never touched (issue 16 item 1)."""

from __future__ import annotations

import typer

from ui.cli import common
from ui.cli.common import emit_json, handle_errors, operator_name

conversations_app = typer.Typer(
    help="Stored chat conversations: purge those past the retention.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `conversations` group."""
    app.add_typer(conversations_app, name="conversations")


@conversations_app.command("purge")
@handle_errors
def conversations_purge(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Remove conversations whose last question is older than the retention period."""
    from assistant.service.conversations import purge_conversations

    ctx = common.open_context()
    purged = purge_conversations(ctx, operator_name())
    days = ctx.settings.conversation_retention
    if as_json:
        emit_json({"purged": purged, "retention_days": days})
        return
    typer.echo(f"Purged {purged} conversation(s) unused for more than {days} days.")
