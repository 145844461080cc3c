"""`guidecite metrics serve`: Prometheus text metrics from the audit trail (an operator command,
DESIGN.md §6)."""

from __future__ import annotations

import time

import typer

from ui.cli import common
from ui.cli.common import handle_errors

metrics_app = typer.Typer(help="Prometheus metrics endpoint.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `metrics` group."""
    app.add_typer(metrics_app, name="metrics")


@metrics_app.command("serve")
@handle_errors
def metrics_serve(
    port: int = typer.Option(..., "--port", min=1, max=65535, help="Port to listen on."),
    addr: str = typer.Option("127.0.0.1", "--addr", help="Address to bind."),
) -> None:
    """Serve Prometheus text metrics (recomputed from the audit trail at every scrape)."""
    from assistant.service.monitoring import serve_metrics

    server = serve_metrics(common.open_context(), port=port, addr=addr)
    typer.echo(f"Serving metrics on http://{addr}:{port}/metrics (Ctrl-C to stop).")
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()
