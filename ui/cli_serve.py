"""`guidecite serve`: run the Streamlit app (headless, XSRF protection on, no usage stats)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from assistant.config import Settings, get_settings
from ui.cli import app, handle_errors

APP_SCRIPT = Path(__file__).resolve().parent / "app.py"


def streamlit_command(*, host: str, port: int) -> list[str]:
    """The `streamlit run` command line the server is started with."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
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


@app.command()
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
