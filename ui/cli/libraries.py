"""`guidecite libraries grant|revoke --by ADMIN` and `libraries list`: which departments may read
a library; changes are checked against the `--by` account and audited with the OS operator
(DESIGN.md §6)."""

from __future__ import annotations

import typer

from ui.cli import common
from ui.cli.acting import acting_as
from ui.cli.common import BY_HELP, DEPT_HELP, emit_json, handle_errors

libraries_app = typer.Typer(
    help="Grant, revoke and list library access by department.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `libraries` group."""
    app.add_typer(libraries_app, name="libraries")


def _change_library(*, grant: bool, library: str, dept: str, by: str) -> None:
    from assistant.domain import AuditAction, library_object
    from assistant.service.admin import grant_library, revoke_library

    ctx = common.open_context()
    action = AuditAction.LIBRARY_GRANT if grant else AuditAction.LIBRARY_REVOKE
    actor = acting_as(ctx, by, action=action, obj=library_object(library))
    change = grant_library if grant else revoke_library
    changed = change(ctx, actor, library=library, department=dept)
    if grant:
        typer.echo(
            f"Library {library} is now readable in {dept}."
            if changed
            else f"Library {library} was already readable in {dept}."
        )
    else:
        typer.echo(
            f"Library {library} is no longer granted to {dept}."
            if changed
            else f"Library {library} was not granted to {dept}."
        )


@libraries_app.command("grant")
@handle_errors
def libraries_grant(
    library: str = typer.Argument(..., help="Library name."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Make a library readable in a department."""
    _change_library(grant=True, library=library, dept=dept, by=by)


@libraries_app.command("revoke")
@handle_errors
def libraries_revoke(
    library: str = typer.Argument(..., help="Library name."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Withdraw a department's access to a library."""
    _change_library(grant=False, library=library, dept=dept, by=by)


@libraries_app.command("list")
@handle_errors
def libraries_list(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List granted libraries with the departments that may read them."""
    from assistant.service.admin import list_libraries

    libraries = list_libraries(common.open_context())
    if as_json:
        emit_json(libraries)
        return
    if not libraries:
        typer.echo("No library grants yet. Try: guidecite init")
    for entry in libraries:
        typer.echo(f"{entry['library']:24} {', '.join(entry['departments'])}")


@libraries_app.command("gaps")
@handle_errors
def libraries_gaps(
    limit: int = typer.Option(40, "--limit", min=1, help="Words listed per language."),
    min_passages: int = typer.Option(
        3, "--min-passages", min=1, help="Leave out words in fewer passages than this."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
) -> None:
    """List the library's most used words that the bilingual term table cannot translate
    into a word the library holds: what policies/glossary.yaml should pair next."""
    from assistant.service.admin import glossary_gaps

    gaps = glossary_gaps(common.open_context(), limit=limit, min_passages=min_passages)
    if as_json:
        emit_json({lang: [vars(g) for g in found] for lang, found in gaps.items()})
        return
    for lang, found in gaps.items():
        typer.echo(f"{lang}: {len(found)} words without a translation the library holds")
        for gap in found:
            offered = f"  (table offers: {', '.join(gap.candidates)})" if gap.candidates else ""
            typer.echo(f"  {gap.passages:5}  {gap.term}{offered}")
