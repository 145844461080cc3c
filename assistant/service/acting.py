"""Who acts, and the one way an audit row is written (DESIGN.md §2, §6).

Every audit row comes from `record`. Its actor columns come from an `Actor`: a signed-in person
(a `Principal`, whose `via` names the OS operator or channel they act through), or the machine's
operator (`cli:<os-user>`, role `operator`, department `*`) for operator commands without a
person. Operator rows carry the session id of the process, `operator_session()`: `op-` and 16
hex digits, one per process, so the rows one command wrote group together and two runs never
share one.

`audited` runs a change and records its outcome once — `ok`, `denied` (an `AccessDenied`, with
its reason) or `refused` (bad input, an integrity rule) — after checking that the audit log is
writable, so nothing changes that could not be recorded (fail closed, 等保2.0 8.1.4.3).
`resolve_actor` turns a claimed name (`--user`, `--by`) into an enabled account; a refusal is a
`denied` row whose actor is the operator with the claimed name in the detail (untrusted text
never becomes an actor).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from assistant.audit.log import AuditLog
from assistant.domain import HOSPITAL_WIDE, AuditAction, AuditEvent, Principal
from assistant.errors import AccessDenied, AuditIntegrityError, InvalidInput
from assistant.service.context import Context

T = TypeVar("T")

OPERATOR_ROLE = "operator"
UNKNOWN = "unknown"
_OPERATOR_SESSION = f"op-{uuid.uuid4().hex[:16]}"


def operator_session() -> str:
    """The session id of operator rows written by this process."""
    return _OPERATOR_SESSION


@dataclass(frozen=True)
class Actor:
    """The columns an audit row takes from whoever acts."""

    actor: str
    role: str
    department: str
    session_id: str
    via: str | None = None

    @classmethod
    def of(cls, who: Principal | str | Actor) -> Actor:
        """A person (Principal), an operator (`cli:<os-user>`), or an Actor as given."""
        if isinstance(who, Actor):
            return who
        if isinstance(who, Principal):
            return cls(who.user, str(who.role), who.department, who.session_id, who.via)
        return cls(who, OPERATOR_ROLE, HOSPITAL_WIDE, _OPERATOR_SESSION)

    @classmethod
    def unidentified(cls, name: str, *, session_id: str, via: str | None) -> Actor:
        """Someone not (yet) signed in: a failed sign-in, an ended web session."""
        return cls(name, UNKNOWN, UNKNOWN, session_id, via)


Who = Principal | str | Actor


def record(
    log: AuditLog,
    who: Who,
    *,
    action: AuditAction,
    obj: str,
    outcome: str,
    detail: dict[str, Any],
) -> AuditEvent:
    """Append one audit event; the detail gains `via` unless it names one itself."""
    actor = Actor.of(who)
    return log.append_event(
        actor=actor.actor,
        role=actor.role,
        department=actor.department,
        session_id=actor.session_id,
        action=str(action),
        object=obj,
        outcome=outcome,
        detail=detail if "via" in detail else {**detail, "via": actor.via},
    )


def audited(
    log: AuditLog,
    who: Who,
    *,
    action: AuditAction,
    obj: str,
    detail: dict[str, Any],
    run: Callable[[], tuple[T, dict[str, Any]]],
) -> T:
    """Run `run` and record its outcome once; `run` returns (result, extra detail for `ok`).

    Fail closed: the audit log is checked writable first, so when it is not, `run` never runs
    and nothing changes (AuditUnavailable).
    """
    log.ensure_writable()
    try:
        result, extra = run()
    except AccessDenied as exc:
        denied = {**detail, "reason": exc.reason}
        record(log, who, action=action, obj=obj, outcome="denied", detail=denied)
        raise
    except (InvalidInput, AuditIntegrityError) as exc:
        refusal = {**detail, "reason": type(exc).__name__, "message": exc.user_message}
        record(log, who, action=action, obj=obj, outcome="refused", detail=refusal)
        raise
    record(log, who, action=action, obj=obj, outcome="ok", detail={**detail, **extra})
    return result


def resolve_actor(ctx: Context, name: str, *, via: str, action: AuditAction, obj: str) -> Principal:
    """The enabled account `name` acting through operator `via` (`--user`, `--by`).

    An unknown or disabled name is a denial recorded as the operator `via`, with the claimed
    name and the reason in the detail; AccessDenied is raised (exit 3).
    """
    try:
        principal = ctx.accounts.principal_for(name)
    except AccessDenied as exc:
        detail = {"claimed_user": name, "reason": exc.reason}
        record(ctx.audit, via, action=action, obj=obj, outcome="denied", detail=detail)
        raise
    return principal.model_copy(update={"via": via})
