"""`guidecite models prepare`: build what the embedding backend needs before first use (issue 15).

`make install` runs it, so the first ingestion or question never waits for an ONNX export.
"""

from __future__ import annotations

import dataclasses

import typer

from assistant.config import get_settings
from ui.cli.common import emit_json, fail, handle_errors

models_app = typer.Typer(help="The embedding model: prepare it ahead of use.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `models` group."""
    app.add_typer(models_app, name="models")


@models_app.command("prepare")
@handle_errors
def prepare(
    backend: str = typer.Option(
        "", help="Backend to prepare (torch, onnx, onnx-int8); default: the configured one."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Export the configured model for the onnx backends (once; later runs reuse the cache)."""
    from typing import get_args

    from assistant.config import EmbeddingSettings
    from assistant.service.models import prepare_embedding_model

    backends = get_args(EmbeddingSettings.model_fields["backend"].annotation)
    if backend and backend not in backends:
        raise fail(f"unknown backend {backend}; choose from {', '.join(backends)}", code=2)
    prepared = prepare_embedding_model(get_settings(), backend=backend)
    if as_json:
        emit_json(dataclasses.asdict(prepared))
        return
    typer.echo(f"{prepared.backend}: {prepared.note}")
    if prepared.export_path:
        typer.echo(f"  {prepared.export_path} ({prepared.seconds} s)")
