"""`guidecite users add|list|disable|enrol-totp`: operator commands, audited as `cli:<os-user>`
(DESIGN.md §6). Passwords are read from stdin or a hidden prompt, never from argv (argv is
visible to every user of the machine via `ps`)."""

from __future__ import annotations

import sys

import typer

from assistant.domain import Role
from assistant.errors import InvalidInput
from ui.cli import common
from ui.cli.common import DEPT_HELP, emit_json, handle_errors, operator_name

users_app = typer.Typer(
    help="Add, list and disable user accounts; enrol their authenticators.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the `users` group."""
    app.add_typer(users_app, name="users")


def read_new_password() -> str:
    """The new password: first line of stdin when piped, else a hidden prompt typed twice."""
    if sys.stdin is None or sys.stdin.isatty():
        password = str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise InvalidInput(
            "no password given",
            user_message="No password given: pipe it on stdin, type it at the prompt, or use "
            "--generate for a one-time password.",
        )
    return password


@users_app.command("add")
@handle_errors
def users_add(
    name: str = typer.Argument(..., help="Login name."),
    role: Role = typer.Option(..., "--role", help="Role to hold."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    temporary: bool = typer.Option(
        False, "--temporary", help="The password must be changed at first login."
    ),
    generate: bool = typer.Option(
        False, "--generate", help="Generate a one-time password and print it once."
    ),
    display_name: str = typer.Option("", "--display-name", help="Name shown in the app."),
) -> None:
    """Add a user; the password comes from stdin or a hidden prompt, never from arguments."""
    from assistant.service.admin import add_user

    password = None if generate else read_new_password()
    one_time = add_user(
        common.open_context(),
        operator=operator_name(),
        name=name,
        role=role,
        department=dept,
        password=password,
        temporary=temporary,
        display_name=display_name,
    )
    typer.echo(f"Added {name} ({role.value} in {dept}).")
    if one_time is not None:
        typer.echo(f"One-time password (shown once, must be changed at first login): {one_time}")


@users_app.command("list")
@handle_errors
def users_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List every account (disabled ones included)."""
    from assistant.service.admin import list_users

    users = list_users(common.open_context())
    if as_json:
        emit_json([user.model_dump(mode="json") for user in users])
        return
    if not users:
        typer.echo("No users yet. Try: guidecite init --demo, or guidecite users add NAME …")
    for user in users:
        roles = ", ".join(f"{role}@{dept}" for role, dept in user.roles) or "(no role)"
        state = "disabled" if user.disabled else "active"
        pending = "  must change password" if user.must_change_password else ""
        typer.echo(f"{user.name:24} {user.department:14} {state:9} {roles}{pending}")


@users_app.command("disable")
@handle_errors
def users_disable(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Disable an account (never deleted) and end its sessions."""
    from assistant.service.admin import disable_user

    disable_user(common.open_context(), operator=operator_name(), name=name)
    typer.echo(f"Disabled {name}.")


@users_app.command("enrol-totp")
@handle_errors
def users_enrol_totp(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Give an account a new authenticator (TOTP) seed and print it once.

    For a first enrolment, a lost phone, or after the key that seals the seeds was lost or
    replaced (sign-in then says the enrolment cannot be read). The old seed stops working.
    """
    from assistant.service.admin import enrol_totp

    uri = enrol_totp(common.open_context(), operator=operator_name(), name=name)
    typer.echo(f"New second factor for {name} (add to an authenticator app; shown once): {uri}")
