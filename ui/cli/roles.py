"""`guidecite roles grant|revoke --by ADMIN`: checked against the `--by` account's own rights and
audited with the OS operator (DESIGN.md §6)."""

from __future__ import annotations

import typer

from assistant.domain import Role
from ui.cli import common
from ui.cli.acting import acting_as
from ui.cli.common import BY_HELP, DEPT_HELP, handle_errors

roles_app = typer.Typer(help="Grant and revoke roles in a department.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `roles` group."""
    app.add_typer(roles_app, name="roles")


def _change_role(*, grant: bool, user: str, role: Role, dept: str, by: str) -> None:
    from assistant.domain import AuditAction, roles_object
    from assistant.service.admin import grant_role, revoke_role

    ctx = common.open_context()
    action = AuditAction.ROLE_GRANT if grant else AuditAction.ROLE_REVOKE
    actor = acting_as(ctx, by, action=action, obj=roles_object(dept))
    change = grant_role if grant else revoke_role
    changed = change(ctx, actor, user=user, role=role, department=dept)
    if grant:
        typer.echo(
            f"Granted {role.value} in {dept} to {user}."
            if changed
            else f"{user} already holds {role.value} in {dept}."
        )
    else:
        typer.echo(
            f"Revoked {role.value} in {dept} from {user}."
            if changed
            else f"{user} does not hold {role.value} in {dept}."
        )


@roles_app.command("grant")
@handle_errors
def roles_grant(
    user: str = typer.Argument(..., help="Who receives the role."),
    role: Role = typer.Argument(..., help="Role to grant."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Grant a role in a department (checked against BY's own rights; no escalation)."""
    _change_role(grant=True, user=user, role=role, dept=dept, by=by)


@roles_app.command("revoke")
@handle_errors
def roles_revoke(
    user: str = typer.Argument(..., help="Whose role is taken."),
    role: Role = typer.Argument(..., help="Role to revoke."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Revoke a role in a department."""
    _change_role(grant=False, user=user, role=role, dept=dept, by=by)
