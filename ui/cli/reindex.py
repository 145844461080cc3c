"""`guidecite reindex`: rebuild documents from their stored originals (issue #13).

An operator command (DESIGN.md §6): audited as `cli:<os-user>`, one `ingest` row per rebuilt
document with `reindex: true` in its detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ui.cli.common import emit_json, handle_errors, opened_context, operator_name
from ui.cli.ingest import _print_report, chunk_progress_bar

if TYPE_CHECKING:
    from assistant.service.context import Context
    from ingestion.service import IngestReport


def register(app: typer.Typer) -> None:
    """Add `reindex`."""
    app.command()(reindex)


@handle_errors
def reindex(
    library: str | None = typer.Option(None, "--library", "-l", help="Only this library."),
    stale: bool = typer.Option(
        False, "--stale", help="Only documents an older pipeline made (see `docs list`)."
    ),
    dense: bool = typer.Option(
        False,
        "--dense",
        help="Only documents stored without dense vectors in a language the configured model "
        "now covers.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Rebuild current documents from their stored originals with today's pipeline.

    Each document is replaced atomically: its old chunks stay searchable until the new ones
    are in.
    """
    from ingestion.reindex import model_changed, rebuild_embedded_store

    with opened_context() as ctx:
        new_model = model_changed(ctx.store, ctx.settings)
        if not new_model:
            report = _reindex_in_place(
                ctx, library=library, stale=stale, dense=dense, as_json=as_json
            )
    if new_model:
        # Another model (vector size or name): every document goes into a new index, built
        # once the old store is closed.
        with chunk_progress_bar(enabled=not as_json) as on_chunks:
            report = rebuild_embedded_store(
                ctx.settings, audit=ctx.audit, actor=operator_name(), chunk_progress=on_chunks
            )
    if as_json:
        emit_json(report.to_json())
    else:
        if not report.documents and not report.failed:
            typer.echo("Nothing to reindex.")
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def _reindex_in_place(
    ctx: Context,
    *,
    library: str | None,
    stale: bool,
    dense: bool,
    as_json: bool,
) -> IngestReport:
    from ingestion.reindex import reindex_documents
    from ingestion.service import Ingestor

    ingestor = Ingestor(
        ctx.settings,
        store=ctx.store,
        embedder=ctx.embedder,
        audit=ctx.audit,
        actor=operator_name(),
    )
    with chunk_progress_bar(enabled=not as_json) as on_chunks:
        return reindex_documents(
            ingestor,
            library=library,
            stale_only=stale,
            dense_only=dense,
            chunk_progress=on_chunks,
        )
