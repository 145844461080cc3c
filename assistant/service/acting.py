"""What the oversight use-cases (review, gates, monitoring, needs) share: context and auditing.

Every use-case checks permission and writes one audit event for each outcome — `ok`, `denied`
(with the AccessDenied reason) or `refused` (bad input) — like `assistant/service_admin.py`.
Both `Context` and `Context` satisfy `Context`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from assistant.access import HOSPITAL_WIDE
from assistant.domain import AuditEvent, Principal
from assistant.errors import AccessDenied, InvalidInput
from assistant.service.context import Context

T = TypeVar("T")
OPERATOR_ROLE = "operator"


def record_event(
    ctx: Context,
    who: Principal | str,
    *,
    action: str,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> AuditEvent:
    """Append one audit event for a principal, or for an operator command (`cli:<os-user>`)."""
    if isinstance(who, Principal):
        actor, role, dept, session, via = (
            who.user,
            str(who.role),
            who.department,
            who.session_id,
            who.via,
        )
    else:
        actor, role, dept, session, via = who, OPERATOR_ROLE, HOSPITAL_WIDE, uuid.uuid4().hex, None
    return ctx.audit.append_event(
        actor=actor,
        role=role,
        department=dept,
        session_id=session,
        action=action,
        object=obj,
        outcome=outcome,
        detail={**detail, "via": via},
    )


def audited(
    ctx: Context,
    who: Principal | str,
    *,
    action: str,
    obj: str,
    detail: dict[str, Any],
    run: Callable[[], tuple[T, dict[str, Any]]],
) -> T:
    """Run `run` and audit its outcome once; `run` returns (result, extra detail for `ok`)."""
    try:
        result, extra = run()
    except AccessDenied as exc:
        record_event(
            ctx,
            who,
            action=action,
            obj=obj,
            outcome="denied",
            detail={**detail, "reason": exc.reason},
        )
        raise
    except InvalidInput as exc:
        refusal = {"reason": type(exc).__name__, "message": exc.user_message}
        record_event(
            ctx, who, action=action, obj=obj, outcome="refused", detail={**detail, **refusal}
        )
        raise
    record_event(ctx, who, action=action, obj=obj, outcome="ok", detail={**detail, **extra})
    return result
