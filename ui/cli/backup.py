"""`guidecite backup DIR` and `guidecite restore DIR [--force]` (issue 8): operator commands
(DESIGN.md §6)."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant.config import get_settings
from ui.cli.common import emit_json, handle_errors


def register(app: typer.Typer) -> None:
    """Add `backup` and `restore`."""
    app.command()(backup)
    app.command()(restore)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        typer.echo(f"note: {note}")


@handle_errors
def backup(
    directory: Path = typer.Argument(..., help="A new or empty folder for the backup."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Back up DATA_DIR (embedded store, SQLite, audit checkpoints and key, originals)."""
    from assistant.service.backup import backup_data_dir

    report = backup_data_dir(get_settings(), directory)
    if as_json:
        emit_json(report.to_json())
        return
    typer.echo(
        f"Backed up {', '.join(report.components) or 'nothing'} to {report.directory}: "
        f"{report.files} file(s), {report.bytes / 1e6:.1f} MB, checksums in manifest.json."
    )
    _print_notes(report.notes)


@handle_errors
def restore(
    directory: Path = typer.Argument(..., help="A folder written by `guidecite backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace a DATA_DIR that already holds data."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Verify a backup's checksums, then restore it into DATA_DIR."""
    from assistant.service.backup import restore_data_dir

    report = restore_data_dir(get_settings(), directory, force=force)
    if as_json:
        emit_json(report.to_json())
        return
    typer.echo(
        f"Restored {', '.join(report.components) or 'nothing'} into {report.directory} "
        f"({report.files} file(s), checksums verified). Run `guidecite audit verify` next."
    )
    _print_notes(report.notes)
