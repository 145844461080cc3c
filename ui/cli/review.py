"""`guidecite review list|show|take|resolve|export-regression --by REVIEWER`: the review queue of
flagged answers; `--by` is the account whose permissions are checked, audited with the OS
operator (DESIGN.md §6)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from assistant.domain import AuditAction, page_object
from ui.cli import common
from ui.cli.acting import acting_as
from ui.cli.common import BY_HELP, emit_json, handle_errors, parse_when

if TYPE_CHECKING:
    from assistant.domain import ReviewItem

review_app = typer.Typer(help="The review queue of flagged answers.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `review` group."""
    app.add_typer(review_app, name="review")


def _item_summary(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "status": item.status,
        "flags": item.flags,
        "department": item.department,
        "answer_id": item.answer_id,
        "audit_event_id": item.audit_event_id,
        "assignee": item.assignee,
        "disposition": item.disposition,
        "question": item.question,
        "created_at": item.created_at.isoformat() if item.created_at else None,
    }


@review_app.command("list")
@handle_errors
def review_list(
    by: str = typer.Option(..., "--by", help=BY_HELP),
    status: str | None = typer.Option(None, "--status", help="open, in_review or resolved."),
    dept: str | None = typer.Option(None, "--dept", help="Only this department."),
    flag: str | None = typer.Option(None, "--flag", help="Only items with this flag."),
    since: str | None = typer.Option(None, "--since", help="Only items opened from this date."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List review items of the departments BY reviews."""
    from assistant.service.review import list_review_items

    ctx = common.open_context()
    reviewer = acting_as(ctx, by, action=AuditAction.REVIEW_LIST, obj=page_object("review"))
    start = parse_when(since, option="--since") if since else None
    items = list_review_items(ctx, reviewer, status=status, department=dept, flag=flag, since=start)
    if as_json:
        emit_json([_item_summary(i) for i in items])
        return
    if not items:
        typer.echo("No review items.")
    for item in items:
        typer.echo(
            f"#{item.id:<5} {item.status:10} {item.department:12} {','.join(item.flags):40} "
            f"{item.question[:60]}"
        )


@review_app.command("show")
@handle_errors
def review_show(
    item_id: int = typer.Argument(..., help="Review item id."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Print one review item with everything the reviewer needs, as JSON."""
    from assistant.service.review import get_review_item

    ctx = common.open_context()
    reviewer = acting_as(ctx, by, action=AuditAction.REVIEW_VIEW, obj=page_object("review"))
    emit_json(get_review_item(ctx, reviewer, item_id).model_dump(mode="json"))


@review_app.command("take")
@handle_errors
def review_take(
    item_id: int = typer.Argument(..., help="Review item id."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Take an item (it becomes in_review, assigned to BY)."""
    from assistant.service.review import take_review_item

    ctx = common.open_context()
    reviewer = acting_as(ctx, by, action=AuditAction.REVIEW_TAKE, obj=page_object("review"))
    item = take_review_item(ctx, reviewer, item_id)
    typer.echo(f"Item {item.id} is in review by {item.assignee}.")


@review_app.command("resolve")
@handle_errors
def review_resolve(
    item_id: int = typer.Argument(..., help="Review item id."),
    disposition: str = typer.Option(
        ..., "--disposition", help="correct, incorrect, guideline_gap or needs_escalation."
    ),
    comment: str = typer.Option(..., "--comment", help="The reviewer's comment."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Resolve an item with a disposition and a comment."""
    from assistant.service.review import resolve_review_item

    ctx = common.open_context()
    reviewer = acting_as(ctx, by, action=AuditAction.REVIEW_RESOLVE, obj=page_object("review"))
    item = resolve_review_item(ctx, reviewer, item_id, disposition=disposition, comment=comment)
    typer.echo(f"Item {item.id} resolved: {item.disposition}.")


@review_app.command("export-regression")
@handle_errors
def review_export_regression(
    out: Path = typer.Option(..., "--out", help="JSONL file to write."),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Write items resolved incorrect/guideline_gap as a JSONL regression set."""
    from assistant.service.review import export_regression

    ctx = common.open_context()
    actor = acting_as(ctx, by, action=AuditAction.REVIEW_EXPORT, obj=page_object("review"))
    count = export_regression(ctx, actor, out=out)
    typer.echo(f"Exported {count} regression item(s) to {out}.")
