"""`guidecite init`, `demo` and `serve`: set up the database and policy, load the demo, run the
web app (headless, XSRF protection on, no usage stats)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from assistant.config import Settings, get_settings
from ui.cli import common
from ui.cli.common import emit_json, handle_errors, opened_context, operator_name
from ui.cli.ingest import _print_report, _run_ingest

# What `serve` runs: the st.App around ui/app.py, with the session-cookie route (issue 16).
SERVER_SCRIPT = Path(__file__).resolve().parents[1] / "server.py"
DEMO_CORPUS = Path(__file__).resolve().parents[2] / "eval" / "corpus" / "guidelines"


def register(app: typer.Typer) -> None:
    """Add `init`, `demo` and `serve`."""
    app.command()(init)
    app.command()(demo)
    app.command()(serve)


# ---- init -----------------------------------------------------------------------------------


@handle_errors
def init(
    demo: bool = typer.Option(False, "--demo", help="Also create demo users and grants."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Upgrade the database schema and seed the access policy (safe to run again)."""
    from assistant.service.admin import init_system
    from assistant.service.db import upgrade_database

    upgrade_database(get_settings())  # what `guidecite db upgrade` does
    summary = init_system(common.open_context(), operator=operator_name(), demo=demo)
    if as_json:
        emit_json(summary)
        return
    typer.echo(
        f"Initialised {summary['data_dir']}: {summary['policy_rules_added']} policy rule(s) "
        f"added, {summary['policy_rules']} in force."
    )
    for user in summary["users"]:
        where = f"{user['role']} in {user['department']}"
        if user["created"]:
            typer.echo(
                f"  created {user['name']:22} {where:40} one-time password: "
                f"{user['one_time_password']}"
            )
            if user["totp_uri"]:
                typer.echo(
                    f"          second factor (add to an authenticator app): {user['totp_uri']}"
                )
        else:
            typer.echo(f"  exists  {user['name']:22} {where} (skipped; password unchanged)")
    for grant in summary["library_grants"]:
        state = "granted" if grant["added"] else "already granted"
        typer.echo(f"  library {grant['library']} → {grant['department']}: {state}")
    gate = summary.get("demo_gate")
    if gate:
        typer.echo(
            "  ethics approval: cardiology approved for generative answers (demo reference "
            "DEMO-EC-2026-001); oncology not approved — its answers stay extractive"
        )
    if any(user["created"] for user in summary["users"]):
        typer.echo(
            "One-time passwords and second-factor URIs are shown only now; each password must be "
            "changed at first login."
        )


# ---- demo -----------------------------------------------------------------------------------


def _say_stale() -> None:
    """On an existing data directory, say which documents an older pipeline made."""
    from ingestion.reindex import document_states

    settings = get_settings()
    if not settings.qdrant_url and not settings.qdrant_path.is_dir():
        return
    with opened_context() as ctx:
        states = [s for s in document_states(ctx.store, settings) if s.stale]
    for state in states:
        typer.echo(
            f"stale: {state.version.library}/{state.version.doc_id} ({'; '.join(state.reasons)})"
        )
    if states:
        typer.echo(
            f"{len(states)} stale document(s) in {settings.data_dir}; demo files are rebuilt "
            "now, others with `guidecite reindex --stale`."
        )


@handle_errors
def demo(
    ingest_only: bool = typer.Option(False, help="Ingest the demo corpus and stop."),
) -> None:
    """Ingest the shipped demo corpus into library `hospital`, then start the app."""
    corpus = [
        p
        for p in sorted(DEMO_CORPUS.rglob("*"))
        if p.is_file() and p.suffix.lower() in {".pdf", ".txt"}
    ]
    if not corpus:
        raise typer.Exit(2)
    _say_stale()
    report = _run_ingest(corpus, library="hospital", as_json=False)
    _print_report(report)
    if ingest_only:
        return
    typer.echo("\nDemo accounts (guidecite init --demo):")
    init(demo=True, as_json=False)
    typer.echo(
        "\nThe demo corpus and accounts are ready. Sign in at http://127.0.0.1:8501 with an "
        "account above (its one-time password must be changed at first sign-in; privileged "
        "roles also need the code from the second-factor URI in an authenticator app).\n"
        "The app holds the embedded store while it runs: stop it (Ctrl+C) before "
        "`guidecite ingest` from another shell, or that command reports StoreLocked with the "
        "app's PID.\n"
        "Set GUIDECITE_LLM__BASE_URL to an SGLang endpoint for generated answers."
    )
    run_server(host="127.0.0.1", port=8501)


# ---- serve ----------------------------------------------------------------------------------


def streamlit_command(*, host: str, port: int) -> list[str]:
    """The `streamlit run` command line the server is started with."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SERVER_SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        # Forms post with Streamlit's XSRF token; CORS stays restricted to the app's origin.
        "--server.enableXsrfProtection",
        "true",
        "--server.enableCORS",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.maxUploadSize",
        "100",
        "--browser.gatherUsageStats",
        "false",
        # No tracebacks (paths, settings) in the page: errors show their user message only.
        "--client.showErrorDetails",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--global.developmentMode",
        "false",
    ]


@handle_errors
def serve(
    port: int = typer.Option(8501, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1 = local)."),
) -> None:
    """Start the web app; it holds the embedded store while it runs (one process, many users)."""
    prepare_database(get_settings())
    run_server(host=host, port=port)


def prepare_database(settings: Settings) -> None:
    """Embedded default: upgrade the schema; a configured server: only check it (issue 13).

    App replicas on PostgreSQL may run as an account without CREATE rights; the deploy runs
    `guidecite db upgrade` as the owner first, and a replica started against an older schema
    stops here with exit 4 and that command in its message instead of failing mid-request.
    """
    from assistant.service.db import check_database, upgrade_database

    if settings.database_url:
        check_database(settings)
    else:
        upgrade_database(settings)


def run_server(*, host: str, port: int) -> None:
    """Replace this process with the Streamlit server (so signals reach it directly)."""
    command = streamlit_command(host=host, port=port)
    typer.echo(f"GuideCite web app on http://{host}:{port} (Ctrl+C stops it)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 (fixed argv, no shell)
