"""`guidecite ingest`, `docs list|show|delete`, `bench ingest`, `demo`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assistant.config import get_settings
from ingestion.documents import document_json
from ingestion.service import IngestReport
from ui.cli import (
    app,
    bench_app,
    docs_app,
    emit_json,
    handle_errors,
    opened_store,
    operator_name,
)

if TYPE_CHECKING:
    from rich.progress import TaskID

    from assistant.access import AccessControl
    from assistant.audit.log import AuditLog
    from assistant.domain import Principal
    from assistant.service.admin import AdminAction

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "eval" / "corpus" / "guidelines"
BY_HELP = (
    "Act as this account: its permissions are checked (sysadmin: any library; dept_admin: "
    "the libraries granted to its department) and it is audited with the OS operator. "
    "Without it the OS operator acts."
)


@dataclass
class ActingAccount:
    """Who a command acts as: the OS operator (principal None) or a `--by` account."""

    audit: AuditLog
    principal: Principal | None
    access: AccessControl | None


def _acting_person(by: str | None, *, action: AdminAction, obj: str) -> ActingAccount:
    """The audit log, and with `--by` the resolved account and the access control."""
    from assistant.audit.log import open_audit_log
    from assistant.service.admin import resolve_actor
    from assistant.service.context import open_context

    settings = get_settings()
    if by is None:
        return ActingAccount(audit=open_audit_log(settings), principal=None, access=None)
    admin = open_context(settings)
    # Resolved before the store is opened: an unknown or disabled account is denied (exit 3).
    principal = resolve_actor(admin, by, via=operator_name(), action=action, obj=obj)
    return ActingAccount(audit=admin.audit, principal=principal, access=admin.access)


def _run_ingest(
    paths: list[Path],
    *,
    library: str,
    as_json: bool,
    redact: bool = False,
    by: str | None = None,
) -> IngestReport:
    from assistant.service.admin import AdminAction, library_object
    from ingestion.as_principal import ingest_as_principal
    from ingestion.service import Ingestor

    settings = get_settings()
    acting = _acting_person(by, action=AdminAction.INGEST, obj=library_object(library))
    with opened_store(settings) as store:
        ingestor = Ingestor(
            settings, store=store, audit=acting.audit, actor=operator_name(), redact=redact
        )

        def run(chunk_progress: Callable[[Path, int, int], None] | None) -> IngestReport:
            if acting.principal is None or acting.access is None:
                return ingestor.ingest(paths, library=library, chunk_progress=chunk_progress)
            return ingest_as_principal(
                acting.principal,
                paths,
                library=library,
                ingestor=ingestor,
                access=acting.access,
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


@app.command()
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

    settings = get_settings()
    with opened_store(settings) as store:
        docs = list_documents(store, library=library)
        stale = {
            (s.version.doc_id, s.version.content_sha256): s.reasons
            for s in document_states(store, settings, library=library)
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

    with opened_store(get_settings()) as store:
        version, chunks = show_document(store, doc_id)
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


@docs_app.command("delete")
@handle_errors
def docs_delete(
    doc_id: str = typer.Argument(..., help="Document id (see `docs list`)."),
    by: str | None = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Remove every version of a document from the index."""
    from assistant.service.admin import AdminAction
    from ingestion.as_principal import delete_document_as_principal
    from ingestion.documents import delete_document

    settings = get_settings()
    acting = _acting_person(by, action=AdminAction.DOCUMENT_DELETE, obj=f"document:{doc_id}")
    with opened_store(settings) as store:
        if acting.principal is None or acting.access is None:
            removed = delete_document(
                store, settings, doc_id, audit=acting.audit, actor=operator_name()
            )
        else:
            removed = delete_document_as_principal(
                acting.principal,
                doc_id,
                store=store,
                settings=settings,
                access=acting.access,
                audit=acting.audit,
            )
    typer.echo(f"Deleted {doc_id}: {removed} chunk(s) removed.")


@bench_app.command("ingest")
@handle_errors
def bench_ingest(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    baseline: bool = typer.Option(True, help="Also run the LangChain default side by side."),
    backend: str = typer.Option(
        "", help="Embedding backend for our side (torch, onnx, onnx-int8); default: configured."
    ),
) -> None:
    """Ingestion throughput on the shipped corpus, ours vs the LangChain default (`speedup`)."""
    from eval.bench_ingest import format_markdown, run_ingest_benchmark

    result = run_ingest_benchmark(DEMO_CORPUS, with_baseline=baseline, backend=backend)
    if as_json:
        emit_json(result)
    else:
        typer.echo(format_markdown(result))


def _say_stale() -> None:
    """On an existing data directory, say which documents an older pipeline made."""
    from ingestion.reindex import document_states

    settings = get_settings()
    if not settings.qdrant_url and not settings.qdrant_path.is_dir():
        return
    with opened_store(settings) as store:
        states = [s for s in document_states(store, settings) if s.stale]
    for state in states:
        typer.echo(
            f"stale: {state.version.library}/{state.version.doc_id} ({'; '.join(state.reasons)})"
        )
    if states:
        typer.echo(
            f"{len(states)} stale document(s) in {settings.data_dir}; demo files are rebuilt "
            "now, others with `guidecite reindex --stale`."
        )


@app.command()
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
    from ui.cli_admin import init as init_command

    typer.echo("\nDemo accounts (guidecite init --demo):")
    init_command(demo=True, as_json=False)
    from ui.cli_serve import run_server

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
