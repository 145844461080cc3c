"""Feedback on answers: 👍/👎 from the person who asked, audited and routed to review.

`record_feedback` checks the answer is the principal's own, records the (redacted) comment as a
`feedback` audit event, and on 👎 raises the `negative_feedback` flag, which opens or joins the
answer's review item; `find_ask_event` finds the `ask` event the answer came from.
"""

from __future__ import annotations

from typing import Any

from assistant.domain import AuditAction, AuditEvent, Principal, answer_object
from assistant.errors import AccessDenied, InvalidInput
from assistant.flags import make_flag
from assistant.privacy import redact_text
from assistant.service.acting import record
from assistant.service.context import Context
from assistant.service.review import open_review_item


def record_feedback(
    principal: Principal,
    *,
    answer_id: str,
    helpful: bool,
    comment: str = "",
    ctx: Context,
) -> int:
    """Record 👍/👎 on one of the principal's answers (comment redacted); returns the event id.

    👎 raises the `negative_feedback` flag, which opens (or joins) the answer's review item.
    """
    queue = ctx.review_queue()
    obj = answer_object(answer_id)
    redaction = redact_text(comment.strip()[: ctx.settings.max_question_chars])
    base = {"answer_id": answer_id, "helpful": helpful}
    ref = queue.answer_ref(answer_id)
    try:
        if ref is None:
            raise InvalidInput(f"no answer {answer_id}", user_message="That answer is unknown.")
        if ref["actor"] != principal.user:
            # Feedback speaks for the person who asked; nobody rates someone else's answer.
            raise AccessDenied(
                f"{principal.user} rated an answer of {ref['actor']}",
                reason="not_your_answer",
                user_message="You can only give feedback on your own answers.",
            )
    except (InvalidInput, AccessDenied) as exc:
        outcome = "denied" if isinstance(exc, AccessDenied) else "refused"
        record(
            ctx.audit, principal, action=AuditAction.FEEDBACK, obj=obj, outcome=outcome, detail=base
        )
        raise
    rules = ctx.rules_for(str(ref["department"]))
    flags = [] if helpful else [make_flag("negative_feedback", redaction.text[:200], rules=rules)]
    event = record(
        ctx.audit,
        principal,
        action=AuditAction.FEEDBACK,
        obj=obj,
        outcome="helpful" if helpful else "not_helpful",
        detail={
            **base,
            "ask_event_id": ref["audit_event_id"],
            "comment": redaction.text,
            "redactions": redaction.counts,
            "flags": [{**f.model_dump(), "severity": f.severity} for f in flags],
        },
    )
    feedback = {
        "event_id": event.id,
        "helpful": helpful,
        "comment": redaction.text,
        "by": principal.user,
        "ts_utc": event.ts_utc.isoformat(),
    }
    if not helpful or queue.by_answer(answer_id) is not None:
        ask_event = find_ask_event(ctx, ref)
        open_review_item(
            ctx, principal, ask_event=ask_event, flags=flags, feedback=feedback, queue=queue
        )
    return int(event.id or 0)


def find_ask_event(ctx: Context, ref: dict[str, Any]) -> AuditEvent:
    """The `ask` event an answer reference names (scanned from its timestamp on)."""
    for event in ctx.audit.iter_events(since=ref["ts_utc"], actions={AuditAction.ASK}):
        if event.id == ref["audit_event_id"]:
            return event
    raise InvalidInput(
        f"ask event {ref['audit_event_id']} not found (purged?)",
        user_message="The answer's audit record is no longer available.",
    )
