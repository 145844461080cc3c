"""Who an administrative command acts as: the `--by NAME` account, through the OS operator
(DESIGN.md §6); an unknown or disabled account is refused and the refusal audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.config import get_settings
from assistant.domain import AuditAction, Principal
from assistant.errors import AccessDenied
from ui.cli.common import operator_name

if TYPE_CHECKING:
    from assistant.access import AccessControl
    from assistant.audit.log import AuditLog
    from assistant.service.context import Context


def _acting(ctx: Context, by: str, *, action: AuditAction, obj: str) -> Principal:
    from assistant.service.acting import resolve_actor

    return resolve_actor(ctx, by, via=operator_name(), action=action, obj=obj)


def acting(ctx: Context, by: str, *, action: str, obj: str) -> Principal:
    """The enabled account `by`, acting through the OS operator; a refusal is audited."""
    try:
        principal = ctx.accounts.principal_for(by)
    except AccessDenied as exc:
        # Unknown or disabled `--by` users are denials too, recorded with what they attempted.
        ctx.audit.append_event(
            actor=by,
            role="unknown",
            department="unknown",
            session_id=uuid.uuid4().hex,
            action=action,
            object=obj,
            outcome="denied",
            detail={"reason": exc.reason, "via": operator_name()},
        )
        raise
    return principal.model_copy(update={"via": operator_name()})


@dataclass
class ActingAccount:
    """Who a command acts as: the OS operator (principal None) or a `--by` account."""

    audit: AuditLog
    principal: Principal | None
    access: AccessControl | None


def _acting_person(by: str | None, *, action: AuditAction, obj: str) -> ActingAccount:
    """The audit log, and with `--by` the resolved account and the access control."""
    from assistant.audit.log import open_audit_log
    from assistant.service.acting import resolve_actor
    from assistant.service.context import open_context

    settings = get_settings()
    if by is None:
        return ActingAccount(audit=open_audit_log(settings), principal=None, access=None)
    admin = open_context(settings)
    # Resolved before the store is opened: an unknown or disabled account is denied (exit 3).
    principal = resolve_actor(admin, by, via=operator_name(), action=action, obj=obj)
    return ActingAccount(audit=admin.audit, principal=principal, access=admin.access)
