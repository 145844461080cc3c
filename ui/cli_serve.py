"""`guidecite serve`: run the Streamlit app (headless, XSRF protection on, no usage stats)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from ui.cli import app

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
def serve(
    port: int = typer.Option(8501, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1 = local)."),
) -> None:
    """Start the web app; it holds the embedded store while it runs (one process, many users)."""
    run_server(host=host, port=port)


def run_server(*, host: str, port: int) -> None:
    """Replace this process with the Streamlit server (so signals reach it directly)."""
    command = streamlit_command(host=host, port=port)
    typer.echo(f"GuideCite web app on http://{host}:{port} (Ctrl+C stops it)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 (fixed argv, no shell)
