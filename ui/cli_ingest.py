"""`guidecite ingest`, `docs list|show|delete`, `bench ingest`, `demo`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from assistant.config import get_settings
from ingestion.service import IngestReport, document_json
from ui.cli import (
    app,
    bench_app,
    docs_app,
    emit_json,
    handle_errors,
    opened_store,
    operator_name,
)

DEMO_CORPUS = Path(__file__).resolve().parents[1] / "eval" / "corpus" / "guidelines"


def _run_ingest(
    paths: list[Path], *, library: str, as_json: bool, redact: bool = False
) -> IngestReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from assistant.audit import open_audit_log
    from ingestion.service import Ingestor

    settings = get_settings()
    audit = open_audit_log(settings)
    with opened_store(settings) as store:
        ingestor = Ingestor(
            settings, store=store, audit=audit, actor=operator_name(), redact=redact
        )
        show_bar = not as_json and sys.stderr.isatty()
        if not show_bar:
            return ingestor.ingest(paths, library=library)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("ingesting", total=None)

            def on_progress(_event: str, path: Path, done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description=path.name[:40])

            return ingestor.ingest(paths, library=library, progress=on_progress)


def _print_report(report: IngestReport) -> None:
    for doc in report.documents:
        typer.echo(
            f"{doc.status!s:10} {doc.doc_id:40} {doc.version:14} {doc.language} "
            f"{doc.chunks:5} chunks  {doc.title}"
        )
    for failed in report.failed:
        typer.echo(f"FAILED {failed.path}: {failed.error}", err=True)
    typer.echo(
        f"{len(report.documents)} document(s), {report.chunks_added} chunk(s) added, "
        f"{report.chunks_unchanged} unchanged, {len(report.failed)} failed"
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
) -> None:
    """Ingest guideline files into a library (re-running adds nothing for unchanged files)."""
    report = _run_ingest(paths, library=library, as_json=as_json, redact=redact)
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
    """List ingested documents with their versions and status."""
    from ingestion.service import list_documents

    with opened_store(get_settings()) as store:
        docs = list_documents(store, library=library)
    if as_json:
        emit_json([document_json(d) for d in docs])
        return
    if not docs:
        typer.echo("No documents ingested yet. Try: guidecite ingest PATH --library hospital")
    for doc in docs:
        typer.echo(
            f"{doc.library:12} {doc.doc_id:40} {doc.version:14} {doc.status!s:10} "
            f"{doc.language} {doc.chunks:5} chunks  {doc.title}"
        )


@docs_app.command("show")
@handle_errors
def docs_show(
    doc_id: str = typer.Argument(..., help="Document id (see `docs list`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show a document and the chunks ingestion made of it."""
    from ingestion.service import show_document

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
) -> None:
    """Remove every version of a document from the index."""
    from ingestion.service import delete_document

    settings = get_settings()
    with opened_store(settings) as store:
        removed = delete_document(store, settings, doc_id)
    typer.echo(f"Deleted {doc_id}: {removed} chunk(s) removed.")


@bench_app.command("ingest")
@handle_errors
def bench_ingest(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    baseline: bool = typer.Option(True, help="Also run the LangChain default side by side."),
) -> None:
    """Ingestion throughput on the shipped corpus, ours vs the LangChain default."""
    from eval.bench_ingest import format_markdown, run_ingest_benchmark

    result = run_ingest_benchmark(DEMO_CORPUS, with_baseline=baseline)
    if as_json:
        emit_json(result)
    else:
        typer.echo(format_markdown(result))


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
