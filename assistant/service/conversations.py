"""Conversations kept server-side for their owner (issue 16 item 1).

A conversation's id is the audit session id of its `ask` rows (the chat page asks with it), so
its trail is found by it. Each turn holds the question as recorded — what `ask.as_recorded`
returns, placeholders instead of identifiers — and the Answer, which holds only guideline text
and redacted data. Only the owner lists, opens, renames, deletes or adds to a conversation;
anyone else is refused and the refusal audited (`conversation_open`, `_append`, `_rename`,
`_delete`). Renaming and deleting are audited; deleting hides the conversation and never removes
an audit row. `purge_conversations` removes conversations unused for longer than the retention
(`GUIDECITE_CONVERSATION_RETENTION_DAYS`, never below the audit trail's). Storage is
`assistant.conversations`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.conversations import ConversationStore
from assistant.domain import (
    HOSPITAL_WIDE,
    Answer,
    AuditAction,
    Conversation,
    ConversationTurn,
    DocumentVersion,
    Principal,
    conversation_object,
)
from assistant.errors import AccessDenied, InvalidInput
from assistant.privacy import redact_text
from assistant.service.acting import audited, record
from assistant.service.ask import as_recorded
from assistant.service.context import Context

MAX_TITLE_CHARS = 120


def _store(ctx: Context) -> ConversationStore:
    return ctx.conversation_store()


def _owned(
    ctx: Context, principal: Principal, conversation_id: str, *, action: AuditAction
) -> Conversation:
    """The principal's own, not deleted, conversation; else a recorded denial."""
    try:
        return _owned_quietly(ctx, principal, conversation_id)
    except AccessDenied as exc:
        record(
            ctx.audit,
            principal,
            action=action,
            obj=conversation_object(conversation_id),
            outcome="denied",
            detail={"reason": exc.reason},
        )
        raise


def list_conversations(ctx: Context, principal: Principal) -> list[Conversation]:
    """The principal's conversations, most recently used first (deleted ones left out)."""
    return _store(ctx).owned_by(principal.user)


def latest_conversation(ctx: Context, principal: Principal) -> Conversation | None:
    """The principal's most recently used conversation, if any (reopened after signing in)."""
    listed = _store(ctx).owned_by(principal.user, limit=1)
    return listed[0] if listed else None


def open_conversation(
    ctx: Context, principal: Principal, conversation_id: str
) -> tuple[Conversation, list[ConversationTurn]]:
    """One of the principal's conversations and its turns, in the order asked."""
    conversation = _owned(ctx, principal, conversation_id, action=AuditAction.CONVERSATION_OPEN)
    return conversation, _store(ctx).turns(conversation_id)


def append_turn(
    ctx: Context, principal: Principal, *, conversation_id: str, question: str, answer: Answer
) -> ConversationTurn:
    """Add an answered question to the principal's conversation (created on its first turn).

    `question` is stored as recorded (`ask.as_recorded`): a caller passing the typed text still
    stores placeholders only. The `ask` audit row already records the turn.
    """
    if _store(ctx).get(conversation_id) is not None:
        # A new id starts a conversation; an existing one must be the principal's own.
        _owned(ctx, principal, conversation_id, action=AuditAction.CONVERSATION_APPEND)
    recorded, _ = as_recorded(question)
    return _store(ctx).append(
        conversation_id=conversation_id,
        owner=principal.user,
        department=principal.department,
        question=recorded,
        answer=answer,
        at=datetime.now(UTC),
    )


def note_feedback(ctx: Context, principal: Principal, *, answer_id: str, helpful: bool) -> bool:
    """Keep the principal's 👍/👎 with their stored turn of the answer (the `feedback` audit row
    is written by `feedback.record_feedback`); False when no turn of theirs holds the answer."""
    return _store(ctx).note_feedback(owner=principal.user, answer_id=answer_id, helpful=helpful)


def rename_conversation(
    ctx: Context, principal: Principal, conversation_id: str, *, title: str
) -> Conversation:
    """Give one of the principal's conversations a new title (redacted, one line; audited)."""
    obj = conversation_object(conversation_id)
    clean = redact_text(" ".join(title.split())[:MAX_TITLE_CHARS]).text

    def run() -> tuple[Conversation, dict[str, Any]]:
        conversation = _owned_quietly(ctx, principal, conversation_id)
        if not clean:
            raise InvalidInput("empty conversation title", user_message="The title is empty.")
        _store(ctx).rename(conversation_id, clean)
        return conversation.model_copy(update={"title": clean}), {}

    return audited(
        ctx.audit,
        principal,
        action=AuditAction.CONVERSATION_RENAME,
        obj=obj,
        detail={"title": clean},
        run=run,
    )


def delete_conversation(ctx: Context, principal: Principal, conversation_id: str) -> None:
    """Hide one of the principal's conversations (audited); its audit rows stay."""

    def run() -> tuple[None, dict[str, Any]]:
        conversation = _owned_quietly(ctx, principal, conversation_id)
        _store(ctx).hide(conversation_id)
        return None, {"turns": conversation.turns}

    audited(
        ctx.audit,
        principal,
        action=AuditAction.CONVERSATION_DELETE,
        obj=conversation_object(conversation_id),
        detail={},
        run=run,
    )


def _owned_quietly(ctx: Context, principal: Principal, conversation_id: str) -> Conversation:
    """The principal's own, not deleted, conversation; else AccessDenied (not recorded: the
    caller records it, or runs inside `audited`, which does).

    An unknown or deleted id is refused like another person's: whether it exists is not said.
    """
    found = _store(ctx).get(conversation_id)
    if found is None or found[1] or found[0].owner != principal.user:
        reason = (
            "not_your_conversation"
            if found and found[0].owner != principal.user
            else ("no_such_conversation")
        )
        raise AccessDenied(
            f"{principal.user} may not use conversation {conversation_id}",
            reason=reason,
            user_message="That conversation is not one of yours.",
        )
    return found[0]


def purge_conversations(ctx: Context, operator: str, *, now: datetime | None = None) -> int:
    """Remove conversations unused for longer than the retention (operator, audited); returns
    how many. The audit trail is not touched."""
    days = ctx.settings.conversation_retention
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)

    def run() -> tuple[int, dict[str, Any]]:
        purged = _store(ctx).purge_before(cutoff)
        return purged, {"purged": purged}

    return audited(
        ctx.audit,
        operator,
        action=AuditAction.CONVERSATION_PURGE,
        obj=conversation_object(HOSPITAL_WIDE),
        detail={"before": cutoff.isoformat(), "retention_days": days},
        run=run,
    )


def mark_conversations_guideline_updated(
    store: ConversationStore, *, superseded: DocumentVersion, current: DocumentVersion
) -> list[str]:
    """Note on every stored turn whose answer cites `superseded` that the guideline has a newer
    version (issue 17); returns the ids of the conversations marked.

    Called beside `review.mark_guideline_updated` when a new version is promoted; a reopened
    conversation shows the note under such an answer.
    """
    note = (
        f"{current.title or current.doc_id}: {superseded.version or superseded.content_sha256[:12]}"
        f" → {current.version or current.content_sha256[:12]}"
    )
    return store.mark_cited_version(doc_id=superseded.doc_id, version=superseded.version, note=note)
