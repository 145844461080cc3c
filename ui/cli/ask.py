"""`guidecite ask` and `guidecite search`: the same path as the web UI (DESIGN.md §1, §6)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assistant.config import get_settings
from assistant.domain import AuditAction, Strength, library_object
from assistant.errors import InvalidInput, StoreError
from ui.cli.acting import acting_as
from ui.cli.common import emit_json, handle_errors, operator_name

if TYPE_CHECKING:
    from assistant.domain import Answer, Principal, Source
    from assistant.service.context import Context, Policy

MODE_BANNER = {
    "generative": "Generated from the guidelines; every sentence is verified against its source.",
    "extractive": "Guideline passages only (generation is unavailable or not approved).",
    "refused": "The library does not cover this question.",
    "denied": "Access denied.",
}


def register(app: typer.Typer) -> None:
    """Add `ask` and `search`."""
    app.command()(ask)
    app.command()(search)


@contextmanager
def service_context(
    *, user: str, action: AuditAction, library: str | None, question: str
) -> Iterator[Context]:
    """Open the service's collaborators for one `action` by `user`.

    A store that cannot be opened (held by another process: the embedded store is
    single-process) refuses the request before any context exists; that refusal is audited
    too (issue #11 item 6), then shown with exit 4.
    """
    from assistant.service.ask import record_unavailable
    from assistant.service.context import open_context

    settings = get_settings()
    try:
        ctx = open_context(settings)
        ctx.store  # noqa: B018 (open it now: a held store refuses before anything else)
    except StoreError as exc:
        record_unavailable(
            settings,
            user=user,
            via=operator_name(),
            action=action,
            library=library,
            question=question,
            error=exc,
        )
        raise
    try:
        yield ctx
    finally:
        ctx.close()


def resolve_user(ctx: Context, name: str, *, action: AuditAction, library: str | None) -> Principal:
    """The real account behind `--user NAME`; an unknown or disabled one is a `denied` row of
    the OS operator with the claimed name in the detail (DESIGN.md §6), then exit 3."""
    return acting_as(ctx, name, action=action, obj=library_object(library or "*"))


def read_question(question: str | None, question_file: str | None) -> str:
    """The question from the argument, a file, or stdin (`-`)."""
    if question_file is not None:
        if question is not None:
            raise InvalidInput("both QUESTION and --question-file given")
        if question_file == "-":
            return sys.stdin.read()
        try:
            return Path(question_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"cannot read {question_file}: {exc}",
                user_message=f"Cannot read the question file {question_file}: {exc}",
            ) from exc
    if question is None:
        raise InvalidInput(
            "no question", user_message="Give a QUESTION or --question-file PATH (or - for stdin)."
        )
    return question


QUOTED_FROM = {
    "zh": "quoted from a guideline in Chinese",
    "en": "quoted from a guideline in English",
}
RELATED_HEADING = "Related reading (not an answer):"


def _where(source: Source) -> str:
    page = source.page_label or source.page
    return " · ".join(
        str(part) for part in (source.version, source.section, page and f"p.{page}") if part
    )


def print_answer(answer: Answer) -> None:
    """A readable rendering for terminals."""
    typer.echo(f"[{answer.mode}] {MODE_BANNER.get(str(answer.mode), '')}")
    if answer.message:
        typer.echo(answer.message)
    if answer.searched_for:
        typer.echo(f"(searched for: {answer.searched_for})")
    for sentence in answer.sentences:
        mark = "✓" if sentence.supported else "⚠"
        cites = "".join(f"[{n}]" for n in sentence.citations)
        # A cross-lingual sentence is the passage's own words (issue #10 item 4).
        quoted = f" ({QUOTED_FROM[sentence.language]})" if sentence.language else ""
        typer.echo(f"{mark} {sentence.text} {cites}{quoted}")
    typer.echo("")
    for source in answer.sources:
        typer.echo(f"[{source.n}] {source.title} · {_where(source)} ({source.library})")
    if answer.related:
        # A refusal has no sources; its nearest passages are reading only (issue #10 item 5).
        typer.echo(RELATED_HEADING)
        for source in answer.related:
            typer.echo(f"- {source.title} · {_where(source)} ({source.library})")
            typer.echo(f"    {source.text[:200]}")
    for flag in answer.flags:
        typer.echo(f"flag: {flag.code} {flag.detail}", err=True)
    if answer.redactions:
        removed = sum(r.count for r in answer.redactions)
        typer.echo(f"{removed} identifier(s) were removed before processing.", err=True)


@handle_errors
def ask(
    question: str | None = typer.Argument(None, help="The question (or use --question-file)."),
    user: str = typer.Option(..., "--user", "-u", help="The person asking (a GuideCite account)."),
    library: str | None = typer.Option(None, "--library", "-l", help="Only this library."),
    question_file: str | None = typer.Option(
        None, "--question-file", help="Read the question from PATH, or '-' for stdin."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the answer object as JSON."),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="strict | annotate (default: GUIDECITE_CITATION_POLICY, strict).",
    ),
) -> None:
    """Answer a guideline question with verified citations (or refuse honestly)."""
    from assistant.service.ask import answer_question

    if policy not in (None, "strict", "annotate"):
        raise InvalidInput(
            f"bad policy {policy!r}", user_message="--policy must be strict or annotate."
        )
    text = read_question(question, question_file)
    with service_context(user=user, action=AuditAction.ASK, library=library, question=text) as ctx:
        principal = resolve_user(ctx, user, action=AuditAction.ASK, library=library)
        chosen: Policy | None = (
            None if policy is None else "annotate" if policy == "annotate" else "strict"
        )
        answer = answer_question(principal, text, ctx=ctx, library=library, policy=chosen)
    if as_json:
        emit_json(answer.model_dump(mode="json"))
    else:
        print_answer(answer)


@handle_errors
def search(
    query: str = typer.Argument(..., help="What to search for."),
    user: str = typer.Option(..., "--user", "-u", help="The person searching."),
    library: str | None = typer.Option(None, "--library", "-l", help="Only this library."),
    k: int | None = typer.Option(None, "--k", min=1, max=50, help="Number of sources."),
    strength: Strength | None = typer.Option(
        None,
        "--strength",
        case_sensitive=False,
        help="Only passages whose stated recommendation grade has this strength.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print {'sources': [...]} as JSON."),
) -> None:
    """Search the libraries you may read; prints sources in the answer's shape."""
    from assistant.service.ask import search_sources

    with service_context(
        user=user, action=AuditAction.SEARCH, library=library, question=query
    ) as ctx:
        principal = resolve_user(ctx, user, action=AuditAction.SEARCH, library=library)
        sources = search_sources(principal, query, ctx=ctx, library=library, k=k, strength=strength)
    if as_json:
        emit_json({"sources": [s.model_dump(mode="json") for s in sources]})
        return
    for source in sources:
        grade = f" · {source.grade.original}" if source.grade else ""
        typer.echo(f"[{source.n}] {source.score:.4f} {source.title} · {source.section}{grade}")
        typer.echo(f"    {source.text[:200]}")
