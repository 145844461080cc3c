"""`guidecite reindex`: rebuild documents from their stored originals (issue #13).

An operator command (DESIGN.md §6): audited as `cli:<os-user>`, one `ingest` row per rebuilt
document with `reindex: true` in its detail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from assistant.config import Settings, get_settings
from ui.cli.common import emit_json, handle_errors, opened_store, operator_name
from ui.cli.ingest import _print_report, chunk_progress_bar

if TYPE_CHECKING:
    from assistant.audit.log import AuditLog
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
    from assistant.audit.log import open_audit_log
    from ingestion.reindex import model_changed, rebuild_embedded_store

    settings = get_settings()
    audit = open_audit_log(settings)
    with opened_store(settings) as store:
        new_model = model_changed(store, settings)
    if new_model:
        # Another model (vector size or name): every document goes into a new index.
        with chunk_progress_bar(enabled=not as_json) as on_chunks:
            report = rebuild_embedded_store(
                settings, audit=audit, actor=operator_name(), chunk_progress=on_chunks
            )
    else:
        report = _reindex_in_place(
            settings, audit=audit, library=library, stale=stale, dense=dense, as_json=as_json
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
    settings: Settings,
    *,
    audit: AuditLog,
    library: str | None,
    stale: bool,
    dense: bool,
    as_json: bool,
) -> IngestReport:
    from ingestion.reindex import reindex_documents
    from ingestion.service import Ingestor

    with opened_store(settings) as store:
        ingestor = Ingestor(settings, store=store, audit=audit, actor=operator_name())
        with chunk_progress_bar(enabled=not as_json) as on_chunks:
            return reindex_documents(
                ingestor,
                library=library,
                stale_only=stale,
                dense_only=dense,
                chunk_progress=on_chunks,
            )
