"""`guidecite ingest` and `docs list|show|diff|delete`.

Without `--by` these are operator commands: the OS account at the console acts (the sysadmin
path, audited as `cli:<os-user>`, DESIGN.md §6). With `--by NAME` the named account acts and
its permissions are checked at the service level (`ingest_as_principal`,
`delete_document_as_principal`), audited with both names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ingestion.documents import document_json
from ingestion.service import IngestReport
from ui.cli.acting import acting_person
from ui.cli.common import emit_json, handle_errors, opened_context, operator_name

if TYPE_CHECKING:
    from rich.progress import TaskID

    from ingestion.diff import DocumentDiff

docs_app = typer.Typer(
    help="List, inspect, compare and delete ingested documents.", no_args_is_help=True
)

BY_HELP = (
    "Act as this account: its permissions are checked (sysadmin: any library; dept_admin: "
    "the libraries granted to its department) and it is audited with the OS operator. "
    "Without it the OS operator acts."
)


def register(app: typer.Typer) -> None:
    """Add `ingest` and the `docs` group."""
    app.command()(ingest)
    app.add_typer(docs_app, name="docs")


def _run_ingest(
    paths: list[Path],
    *,
    library: str,
    as_json: bool,
    redact: bool = False,
    by: str | None = None,
) -> IngestReport:
    from assistant.domain import AuditAction, library_object
    from ingestion.as_principal import ingest_as_principal
    from ingestion.service import Ingestor

    with opened_context() as ctx:
        # Resolved before the store is opened: an unknown or disabled account is denied (exit 3).
        person = acting_person(ctx, by, action=AuditAction.INGEST, obj=library_object(library))
        ingestor = Ingestor(
            ctx.settings,
            store=ctx.store,
            embedder=ctx.embedder,
            audit=ctx.audit,
            actor=operator_name(),
            redact=redact,
        )

        def run(chunk_progress: Callable[[Path, int, int], None] | None) -> IngestReport:
            if person is None:
                return ingestor.ingest(paths, library=library, chunk_progress=chunk_progress)
            return ingest_as_principal(
                person,
                paths,
                library=library,
                ingestor=ingestor,
                access=ctx.access,
                chunk_progress=chunk_progress,
            )

        with chunk_progress_bar(enabled=not as_json) as on_chunks:
            return run(on_chunks)


@contextmanager
def chunk_progress_bar(*, enabled: bool) -> Iterator[Callable[[Path, int, int], None] | None]:
    """A progress bar per file with chunks/s on stderr (never on stdout, never with --json).

    Shown when stderr is a terminal, or always with GUIDECITE_PROGRESS=1 (tests, logs).
    """
    if not enabled or not (sys.stderr.isatty() or os.environ.get("GUIDECITE_PROGRESS") == "1"):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
    )

    console = Console(stderr=True, force_terminal=sys.stderr.isatty())
    with Progress(
        TextColumn("{task.description:40.40}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        console=console,
        transient=sys.stderr.isatty(),
    ) as bar:
        tasks: dict[Path, TaskID] = {}

        def on_chunks(path: Path, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(path.name, total=total, rate="")
            task = tasks[path]
            bar.update(task, completed=done)
            elapsed = bar.tasks[task].elapsed or 0.0
            rate = f"{done / elapsed:.1f} chunks/s" if elapsed > 0 else ""
            bar.update(task, rate=rate)
            if done >= total and not sys.stderr.isatty():
                console.print(f"{path.name}: {total} chunks, {rate}")

        yield on_chunks


def _print_report(report: IngestReport) -> None:
    for doc in report.documents:
        typer.echo(
            f"{doc.status!s:10} {doc.doc_id:40} {doc.version:14} {doc.language} "
            f"{doc.chunks:5} chunks  {doc.title}"
        )
    for skipped in report.skipped:
        typer.echo(f"skipped {skipped.path}: {skipped.reason}")
    for failed in report.failed:
        typer.echo(f"FAILED {failed.path}: {failed.error}", err=True)
    typer.echo(
        f"{len(report.documents)} document(s), {report.chunks_added} chunk(s) added, "
        f"{report.chunks_unchanged} unchanged, {len(report.failed)} failed, "
        f"{len(report.skipped)} skipped"
    )


@handle_errors
def ingest(
    paths: list[Path] = typer.Argument(..., help="Files or folders (recursive)."),
    library: str = typer.Option(..., "--library", "-l", help="Library to ingest into."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    redact: bool = typer.Option(
        False, "--redact", help="Store documents with patient identifiers redacted, not refused."
    ),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Ingest guideline files into a library (re-running adds nothing for unchanged files)."""
    report = _run_ingest(paths, library=library, as_json=as_json, redact=redact, by=by)
    if as_json:
        emit_json(report.to_json())
    else:
        _print_report(report)
    if report.failed:
        raise typer.Exit(1)


@docs_app.command("list")
@handle_errors
def docs_list(
    library: str | None = typer.Option(None, "--library", "-l", help="Only this library."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List ingested documents with their versions and status (and which are stale)."""
    from ingestion.documents import list_documents
    from ingestion.reindex import document_states

    with opened_context() as ctx:
        docs = list_documents(ctx.store, library=library)
        stale = {
            (s.version.doc_id, s.version.content_sha256): s.reasons
            for s in document_states(ctx.store, ctx.settings, library=library)
            if s.stale
        }
    if as_json:
        emit_json(
            [
                {
                    **document_json(d),
                    "stale": stale.get((d.doc_id, d.content_sha256), [])
                    if d.status == "current"
                    else [],
                }
                for d in docs
            ]
        )
        return
    if not docs:
        typer.echo("No documents ingested yet. Try: guidecite ingest PATH --library hospital")
    for doc in docs:
        reasons = stale.get((doc.doc_id, doc.content_sha256)) if doc.status == "current" else None
        typer.echo(
            f"{doc.library:12} {doc.doc_id:40} {doc.version:14} {doc.status!s:10} "
            f"{doc.language} {doc.chunks:5} chunks  {doc.title}"
            + (f"  [stale: {'; '.join(reasons)}]" if reasons else "")
        )
    if stale:
        typer.echo(
            f"{len(stale)} stale document(s): made by an older pipeline; "
            "`guidecite reindex --stale` rebuilds them."
        )


@docs_app.command("show")
@handle_errors
def docs_show(
    doc_id: str = typer.Argument(..., help="Document id (see `docs list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show a document and the chunks ingestion made of it."""
    from ingestion.documents import show_document

    with opened_context() as ctx:
        version, chunks = show_document(ctx.store, doc_id)
    if as_json:
        emit_json({**document_json(version), "chunks": chunks})
        return
    typer.echo(f"{version.title} · {version.version} · {version.library} · {version.status}")
    for chunk in chunks:
        pages = (
            f"p.{chunk['page_start']}-{chunk['page_end']}"
            if chunk["page_start"] is not None
            else ""
        )
        typer.echo(f"\n[{chunk['chunk_index']}] {' > '.join(chunk['section_path'])} {pages}")
        typer.echo(chunk["text"])


@docs_app.command("diff")
@handle_errors
def docs_diff(
    doc_id: str = typer.Argument(..., help="Document id (see `docs list`)."),
    from_version: str | None = typer.Option(
        None, "--from", help="Older version: its label or the start of its content hash."
    ),
    to_version: str | None = typer.Option(
        None, "--to", help="Newer version (default: the current one)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What changed between two versions (default: current against the one it superseded)."""
    from ingestion.diff import diff_document

    with opened_context() as ctx:
        diff = diff_document(ctx.store, doc_id, from_version=from_version, to_version=to_version)
    if as_json:
        emit_json(diff.to_json())
        return
    _print_diff(diff)


def _print_diff(diff: DocumentDiff) -> None:
    before, after = diff.before, diff.after
    typer.echo(f"{after.title} ({after.doc_id})")
    typer.echo(
        f"{before.version} [{before.content_sha256[:12]}, {before.status}] -> "
        f"{after.version} [{after.content_sha256[:12]}, {after.status}]"
    )
    counts = diff.summary()
    typer.echo(", ".join(f"{n} {kind}" for kind, n in counts.items()))
    if not diff.sections:
        typer.echo("No differences in the text.")
    for section in diff.sections:
        heading = " > ".join(section.path) or "(no section)"
        note = {"added": " (new section)", "removed": " (section removed)"}.get(section.status, "")
        if section.previous_path is not None:
            note = f" (was: {' > '.join(section.previous_path)})"
        typer.echo(f"\n== {heading}{note}")
        for change in section.changes:
            if change.kind == "added":
                typer.echo(f"+ {change.after}")
            elif change.kind == "removed":
                typer.echo(f"- {change.before}")
            elif change.kind == "moved":
                origin = " > ".join(change.moved_from or []) or "(no section)"
                typer.echo(f"> {change.after}\n  (moved from: {origin})")
            else:
                typer.echo(f"~ {change.inline}")
                typer.echo(f"  - {change.before}")
                typer.echo(f"  + {change.after}")
                if change.quantities:
                    quantities = "; ".join(q.label() for q in change.quantities)
                    typer.echo(f"  quantities: {quantities}")
                if change.grades:
                    typer.echo(f"  grade: {'; '.join(g.label() for g in change.grades)}")


@docs_app.command("delete")
@handle_errors
def docs_delete(
    doc_id: str = typer.Argument(..., help="Document id (see `docs list`)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Remove every version of a document from the index."""
    from assistant.domain import AuditAction, document_object
    from ingestion.as_principal import delete_document_as_principal
    from ingestion.documents import delete_document

    with opened_context() as ctx:
        obj = document_object(doc_id)
        person = acting_person(ctx, by, action=AuditAction.DOCUMENT_DELETE, obj=obj)
        if person is None:
            removed = delete_document(
                ctx.store, ctx.settings, doc_id, audit=ctx.audit, actor=operator_name()
            )
        else:
            removed = delete_document_as_principal(
                person,
                doc_id,
                store=ctx.store,
                settings=ctx.settings,
                access=ctx.access,
                audit=ctx.audit,
            )
    typer.echo(f"Deleted {doc_id}: {removed} chunk(s) removed.")
