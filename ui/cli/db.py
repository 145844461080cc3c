"""`guidecite db upgrade|status`: the one place (with `init`, and `serve`/`demo` on the embedded
default) where the database schema changes (issue 13 item 8).

Every other command only checks the configured database's schema and, when it is behind, stops
with exit code 4 and the message "Run `guidecite db upgrade` …" (a backing service that cannot
be used as it is, DESIGN.md §6) — so an account without CREATE rights can work after the owner
upgraded, and a new release never migrates a database as a side effect of a question.
"""

from __future__ import annotations

import typer

from assistant.config import get_settings
from ui.cli.common import emit_json, fail, handle_errors

db_app = typer.Typer(help="Upgrade and inspect the database schema.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `db` group."""
    app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Apply pending schema migrations (run as the database owner; safe to run again)."""
    from assistant.service.db import upgrade_database

    settings = get_settings()
    status = upgrade_database(settings)
    if as_json:
        emit_json([s.as_dict() for s in status])
        return
    for s in status:
        change = (
            f"{s.previous} → {s.version}" if s.previous != s.version else f"{s.version} (current)"
        )
        typer.echo(f"{s.component:10} {change}")
    typer.echo("Database schema is up to date.")


@db_app.command("status")
@handle_errors
def db_status(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Show each component's schema version; exit 4 when an upgrade is pending."""
    from assistant.service.db import database_status

    status = database_status(get_settings())
    if as_json:
        emit_json([s.as_dict() for s in status])
    else:
        for s in status:
            state = "current" if not s.pending else "pending: " + "; ".join(s.pending)
            typer.echo(f"{s.component:10} version {s.version} of {s.latest}  {state}")
    if any(s.pending for s in status):
        if not as_json:
            typer.echo("Run `guidecite db upgrade` to apply the pending migrations.", err=True)
        raise typer.Exit(4)


# Commands that bring the schema up to date themselves; every other one only checks it.
SCHEMA_CHANGERS = frozenset({"init", "serve", "demo", "db"})


def guard_schema(ctx: typer.Context) -> None:
    """From the `guidecite` callback: normal commands only check the configured database's schema.

    `demo` upgrades the embedded default before it ingests; `init`, `serve` and `db` decide in
    their own handlers. The registration is undone when the command ends (CliRunner tests run
    many commands in one process).
    """
    if ctx.resilient_parsing or ctx.invoked_subcommand is None:
        return
    from assistant.errors import GuideCiteError
    from assistant.service.db import only_check_schema, upgrade_database

    try:
        settings = get_settings()
    except GuideCiteError:
        return  # the command reports the bad configuration itself
    if ctx.invoked_subcommand == "demo" and not settings.database_url:
        try:
            upgrade_database(settings)
        except GuideCiteError as exc:
            raise fail(f"error: {exc.user_message}", code=exc.exit_code) from exc
    if ctx.invoked_subcommand not in SCHEMA_CHANGERS:
        ctx.call_on_close(only_check_schema(settings))
