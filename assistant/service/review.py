"""Review use-cases: open, list, view, take, assign, resolve and export review items.

Every transition writes one audit event through `acting.audited` (`review_take`,
`review_assign`, `review_resolve`, `review_export`, `review_view`), denials included; an item is
opened by the audited `ask` (a high flag) or `feedback` (👎) event that caused it. Reviewers see
only departments where they hold `read` on `review:<dept>` (Casbin). The queue itself (storage,
item shapes, the regression format) is `assistant.review`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from assistant.audit.log import AuditLog
from assistant.domain import (
    AuditAction,
    AuditEvent,
    DocumentVersion,
    Flag,
    Principal,
    ReviewItem,
    document_object,
    page_object,
    review_object,
)
from assistant.errors import AccessDenied, InvalidInput
from assistant.flags import FLAG_CODES as FLAG_CODES  # what a reviewer filters by
from assistant.flags import make_flag
from assistant.privacy import redact_text
from assistant.review import (
    DISPOSITIONS,
    REGRESSION_DISPOSITIONS,
    ReviewQueue,
    _now,
    item_from_ask_event,
    regression_record,
)
from assistant.service.acting import audited, record
from assistant.service.context import Context


def open_review_item(
    ctx: Context,
    who: Principal | str,
    *,
    ask_event: AuditEvent,
    flags: Sequence[Flag],
    feedback: dict[str, Any] | None = None,
    queue: ReviewQueue | None = None,
) -> ReviewItem:
    """Open an item for an answer (or add flags/feedback to its existing one)."""
    queue = queue or ReviewQueue.open(ctx.settings)
    answer_id = str(ask_event.detail_json["answer_id"])
    existing = queue.by_answer(answer_id)
    if existing is None:
        draft = item_from_ask_event(ask_event, flags=flags)
        if feedback is not None:
            draft.feedback.append(feedback)
        created = queue.insert(draft)
        if created is not None:
            # The event that caused the opening (the `ask` with a high flag, or the 👎
            # `feedback`) already records it; the item names the ask event.
            return created
        existing = queue.by_answer(answer_id)
        assert existing is not None  # lost an insert race: the other writer's item exists
    codes = list(existing.flags)
    details = list(existing.flag_details)
    for flag in flags:
        if flag.code not in codes:
            codes.append(flag.code)
            details.append(flag)
    updated = existing.model_copy(
        update={
            "flags": codes,
            "flag_details": details,
            "feedback": [*existing.feedback, *([feedback] if feedback else [])],
            "updated_at": _now(),
        }
    )
    queue.save(updated)
    return updated


GUIDELINE_UPDATED = "guideline_updated"


def guideline_updated_detail(superseded: DocumentVersion, current: DocumentVersion) -> str:
    """The `guideline_updated` flag's detail: the document and both versions, and the command
    that shows what changed (one text per update, so an item is flagged once for it)."""
    return (
        f"{current.title or current.doc_id}: {superseded.version or superseded.content_sha256[:12]}"
        f" → {current.version or current.content_sha256[:12]} "
        f"(guidecite docs diff {current.doc_id})"
    )


def mark_guideline_updated(
    queue: ReviewQueue,
    *,
    superseded: DocumentVersion,
    current: DocumentVersion,
    audit: AuditLog | None = None,
    who: Principal | str = "system",
) -> list[ReviewItem]:
    """Flag `guideline_updated` on every unresolved item whose answer cites `superseded`.

    Issue 17 §2: once a new edition is current, an answer awaiting review that rests on the old
    one is re-reviewed against the new one (`guidecite docs diff DOC_ID` shows what changed).
    Called after promotion by whoever ingests; the items stay in their department's queue.
    Regression cases (items resolved `incorrect` or `guideline_gap`) resting on the old edition
    are reopened for the same re-review (`_reopened`). Returns the items it flagged (an item
    already flagged for this update is left alone).
    With `audit`, the marking is one `guideline_update_marked` row as `who` (the person or
    operator ingesting), naming both versions and how many items it flagged — 0 included, so
    the trail lists every supersession.
    """
    detail = guideline_updated_detail(superseded, current)
    flag = make_flag(GUIDELINE_UPDATED, detail)
    marked: list[ReviewItem] = []
    reopened: list[int | None] = []
    departments = queue.departments()
    for status in ("open", "in_review", "resolved"):
        for item in queue.query(departments=departments, status=status):
            # A resolved item counts only as a regression case (its disposition makes it one).
            if status == "resolved" and item.disposition not in REGRESSION_DISPOSITIONS:
                continue
            cites_old = any(
                source.get("doc_id") == superseded.doc_id
                and str(source.get("version") or "") == superseded.version
                for source in item.sources
            )
            if not cites_old or any(
                f.code == GUIDELINE_UPDATED and f.detail == detail for f in item.flag_details
            ):
                continue
            codes = item.flags if GUIDELINE_UPDATED in item.flags else [*item.flags, flag.code]
            update: dict[str, Any] = {
                "flags": codes,
                "flag_details": [*item.flag_details, flag],
                "updated_at": _now(),
            }
            if status == "resolved":
                update |= _reopened(item)
                reopened.append(item.id)
            updated = item.model_copy(update=update)
            queue.save(updated)
            marked.append(updated)
    if audit is not None:
        record(
            audit,
            who,
            action=AuditAction.GUIDELINE_UPDATE_MARKED,
            obj=document_object(current.doc_id),
            outcome="ok",
            detail={
                "doc_id": current.doc_id,
                "library": current.library,
                "superseded": _version_detail(superseded),
                "current": _version_detail(current),
                "marked": len(marked),
                "review_items": [item.id for item in marked],
                "reopened_regression_cases": reopened,
            },
        )
    return marked


def _reopened(item: ReviewItem) -> dict[str, Any]:
    """A regression case resting on a superseded edition goes back to the queue (issue 17 §2).

    What the case expects (`answer_correctly`, `refuse_until_guideline_added`) was judged
    against the old edition, so it leaves the regression set until a reviewer resolves it
    again against the new one. The earlier resolution stays in the audit trail (its
    `review_resolve` row) and in the comment, which names it.
    """
    earlier = f"[{item.disposition}, {item.resolved_by or '?'}]"
    comment = f"{earlier} {item.comment}" if item.comment else earlier
    return {
        "status": "open",
        "assignee": None,
        "disposition": None,
        "resolved_at": None,
        "resolved_by": None,
        "comment": comment,
    }


def _version_detail(version: DocumentVersion) -> dict[str, Any]:
    return {"version": version.version, "content_sha256": version.content_sha256}


def _visible_departments(
    ctx: Context, reviewer: Principal, queue: ReviewQueue, *, action: str = "read"
) -> list[str]:
    return [d for d in queue.departments() if ctx.access.can(reviewer, action, review_object(d))]


def list_review_items(
    ctx: Context,
    reviewer: Principal,
    *,
    status: str | None = None,
    department: str | None = None,
    flag: str | None = None,
    since: datetime | None = None,
) -> list[ReviewItem]:
    """Items the reviewer may see (their departments only), newest first."""
    queue = ReviewQueue.open(ctx.settings)
    if status is not None and status not in ("open", "in_review", "resolved"):
        raise InvalidInput(
            f"unknown status {status!r}", user_message="Status is open, in_review or resolved."
        )
    obj = review_object(department) if department else page_object("review")

    def run() -> tuple[list[ReviewItem], dict[str, Any]]:
        ctx.access.require(reviewer, "read", obj)
        visible = _visible_departments(ctx, reviewer, queue)
        if department is not None:
            visible = [d for d in visible if d == department]
        items = queue.query(departments=visible, status=status, flag=flag, since=since)
        return items, {}

    # Only denials are audited here: a listing shows no answer content, opening an item does.
    try:
        return run()[0]
    except AccessDenied as exc:
        detail = {"status": status, "department": department, "flag": flag, "reason": exc.reason}
        record(
            ctx.audit,
            reviewer,
            action=AuditAction.REVIEW_LIST,
            obj=obj,
            outcome="denied",
            detail=detail,
        )
        raise


def _load(queue: ReviewQueue, item_id: int) -> ReviewItem:
    item = queue.get(item_id)
    if item is None:
        raise InvalidInput(f"no review item {item_id}", user_message=f"No review item {item_id}.")
    return item


def _department_hint(queue: ReviewQueue, item_id: int) -> str:
    item = queue.get(item_id)
    return item.department if item is not None else "unknown"


def get_review_item(ctx: Context, reviewer: Principal, item_id: int) -> ReviewItem:
    """One item with everything the reviewer needs; opening it is audited (`review_view`)."""
    queue = ReviewQueue.open(ctx.settings)
    obj = review_object(_department_hint(queue, item_id))

    def run() -> tuple[ReviewItem, dict[str, Any]]:
        item = _load(queue, item_id)
        ctx.access.require(reviewer, "read", review_object(item.department))
        return item, {}

    return audited(
        ctx.audit,
        reviewer,
        action=AuditAction.REVIEW_VIEW,
        obj=obj,
        detail={"item_id": item_id},
        run=run,
    )


def _transition(
    ctx: Context,
    reviewer: Principal,
    item_id: int,
    *,
    action: AuditAction,
    detail: dict[str, Any],
    change: Any,
) -> ReviewItem:
    queue = ReviewQueue.open(ctx.settings)
    obj = review_object(_department_hint(queue, item_id))

    def run() -> tuple[ReviewItem, dict[str, Any]]:
        item = _load(queue, item_id)
        ctx.access.require(reviewer, "resolve", review_object(item.department))
        updated = cast(ReviewItem, change(item)).model_copy(update={"updated_at": _now()})
        queue.save(updated)
        return updated, {"from": item.status, "to": updated.status}

    return audited(
        ctx.audit, reviewer, action=action, obj=obj, detail={"item_id": item_id, **detail}, run=run
    )


def take_review_item(ctx: Context, reviewer: Principal, item_id: int) -> ReviewItem:
    """Take an open item: it becomes in_review, assigned to the reviewer."""
    return assign_review_item(
        ctx, reviewer, item_id, assignee=reviewer.user, action=AuditAction.REVIEW_TAKE
    )


def assign_review_item(
    ctx: Context,
    reviewer: Principal,
    item_id: int,
    *,
    assignee: str,
    action: AuditAction = AuditAction.REVIEW_ASSIGN,
) -> ReviewItem:
    """Assign an unresolved item to a reviewer of its department; it becomes in_review."""

    def change(item: ReviewItem) -> ReviewItem:
        if item.status == "resolved":
            raise InvalidInput(
                f"item {item_id} is resolved", user_message=f"Item {item_id} is already resolved."
            )
        if assignee != reviewer.user:
            target = Principal(user=assignee, role=reviewer.role, department=item.department)
            if not ctx.access.can(target, "resolve", review_object(item.department)):
                raise InvalidInput(
                    f"{assignee} may not review {item.department}",
                    user_message=f"{assignee} is not a reviewer of {item.department}.",
                )
        return item.model_copy(update={"status": "in_review", "assignee": assignee})

    return _transition(
        ctx, reviewer, item_id, action=action, detail={"assignee": assignee}, change=change
    )


def resolve_review_item(
    ctx: Context,
    reviewer: Principal,
    item_id: int,
    *,
    disposition: str,
    comment: str,
) -> ReviewItem:
    """Resolve an item (from open or in_review) with a disposition and a comment."""
    # Reviewers paste from charts too: the comment is redacted like a question.
    redacted = redact_text(comment.strip()).text

    def change(item: ReviewItem) -> ReviewItem:
        if disposition not in DISPOSITIONS:
            raise InvalidInput(
                f"unknown disposition {disposition!r}",
                user_message=f"Disposition must be one of: {', '.join(DISPOSITIONS)}.",
            )
        if item.status == "resolved":
            raise InvalidInput(
                f"item {item_id} is resolved", user_message=f"Item {item_id} is already resolved."
            )
        now = _now()
        return item.model_copy(
            update={
                "status": "resolved",
                "disposition": disposition,
                "comment": redacted,
                "assignee": item.assignee or reviewer.user,
                "resolved_at": now,
                "resolved_by": reviewer.user,
            }
        )

    detail = {"disposition": disposition, "comment": redacted}
    return _transition(
        ctx, reviewer, item_id, action=AuditAction.REVIEW_RESOLVE, detail=detail, change=change
    )


def export_regression(ctx: Context, actor: Principal, *, out: Path) -> int:
    """Write items resolved `incorrect`/`guideline_gap` of the actor's departments as JSONL."""
    queue = ReviewQueue.open(ctx.settings)

    def run() -> tuple[int, dict[str, Any]]:
        ctx.access.require(actor, "read", page_object("review"))
        departments = _visible_departments(ctx, actor, queue, action="export")
        items = [
            item
            for item in queue.query(departments=departments, status="resolved")
            if item.disposition in REGRESSION_DISPOSITIONS
        ]
        items.sort(key=lambda i: i.id or 0)
        # Owner-only: the file holds (redacted) questions.
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(regression_record(item), ensure_ascii=False) + "\n")
        return len(items), {"items": [i.id for i in items], "departments": departments}

    return audited(
        ctx.audit,
        actor,
        action=AuditAction.REVIEW_EXPORT,
        obj=page_object("review"),
        detail={"out": str(out)},
        run=run,
    )
