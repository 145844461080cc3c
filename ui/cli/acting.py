"""Who a command acts as (DESIGN.md §6): the OS operator (`cli:<os-user>`), or with `--by NAME`
/ `--user NAME` the named account acting through that operator. An unknown or disabled name is
refused (exit 3) and the refusal audited by `assistant.service.acting.resolve_actor`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ui.cli.common import operator_name

if TYPE_CHECKING:
    from assistant.domain import AuditAction, Principal
    from assistant.service.context import Context


def acting_as(ctx: Context, name: str, *, action: AuditAction, obj: str) -> Principal:
    """The enabled account `name`, acting through the OS operator on `obj`."""
    from assistant.service.acting import resolve_actor

    return resolve_actor(ctx, name, via=operator_name(), action=action, obj=obj)


def acting_person(
    ctx: Context, by: str | None, *, action: AuditAction, obj: str
) -> Principal | None:
    """The `--by` account, or None when the OS operator acts (no `--by`)."""
    return None if by is None else acting_as(ctx, by, action=action, obj=obj)
