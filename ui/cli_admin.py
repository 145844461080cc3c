"""`guidecite init`, `users`, `roles`, `libraries` and `audit verify|export|purge` (issue 4).

Thin handlers: each resolves who acts (`--by NAME` → the account, `via` = the OS operator), calls
one use-case of `assistant.service.admin` and prints its result. Passwords are read from stdin or
a hidden prompt, never from argv (argv is visible to every user of the machine via `ps`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import typer

from assistant.config import get_settings
from assistant.domain import Principal, Role
from assistant.errors import InvalidInput
from ui.cli import app, audit_app, emit_json, handle_errors, operator_name

if TYPE_CHECKING:
    from assistant.service.admin import AdminAction
    from assistant.service.context import Context

users_app = typer.Typer(
    help="Add, list and disable user accounts; enrol their authenticators.", no_args_is_help=True
)
roles_app = typer.Typer(help="Grant and revoke roles in a department.", no_args_is_help=True)
libraries_app = typer.Typer(
    help="Grant, revoke and list library access by department.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(roles_app, name="roles")
app.add_typer(libraries_app, name="libraries")

DEPT_HELP = "Department (`*` = hospital-wide)."
BY_HELP = "The account whose permissions apply (audited with the OS operator)."


def open_context() -> Context:
    """The administrative context on the configured database."""
    from assistant.service.context import open_context

    return open_context(get_settings())


def _acting(ctx: Context, by: str, *, action: AdminAction, obj: str) -> Principal:
    from assistant.service.admin import resolve_actor

    return resolve_actor(ctx, by, via=operator_name(), action=action, obj=obj)


def parse_when(value: str, *, option: str) -> datetime:
    """A date (YYYY-MM-DD) or ISO datetime; naive values are UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"bad {option} value {value!r}",
            user_message=f"{option} takes a date such as 2025-01-31 or 2025-01-31T08:00:00Z.",
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


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


# ---- init -----------------------------------------------------------------------------------


@app.command()
@handle_errors
def init(
    demo: bool = typer.Option(False, "--demo", help="Also create demo users and grants."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Upgrade the database schema and seed the access policy (safe to run again)."""
    from assistant.service.admin import init_system
    from assistant.service.db import upgrade_database

    upgrade_database(get_settings())  # what `guidecite db upgrade` does
    summary = init_system(open_context(), operator=operator_name(), demo=demo)
    if as_json:
        emit_json(summary)
        return
    typer.echo(
        f"Initialised {summary['data_dir']}: {summary['policy_rules_added']} policy rule(s) "
        f"added, {summary['policy_rules']} in force."
    )
    for user in summary["users"]:
        where = f"{user['role']} in {user['department']}"
        if user["created"]:
            typer.echo(
                f"  created {user['name']:22} {where:40} one-time password: "
                f"{user['one_time_password']}"
            )
            if user["totp_uri"]:
                typer.echo(
                    f"          second factor (add to an authenticator app): {user['totp_uri']}"
                )
        else:
            typer.echo(f"  exists  {user['name']:22} {where} (skipped; password unchanged)")
    for grant in summary["library_grants"]:
        state = "granted" if grant["added"] else "already granted"
        typer.echo(f"  library {grant['library']} → {grant['department']}: {state}")
    gate = summary.get("demo_gate")
    if gate:
        typer.echo(
            "  ethics approval: cardiology approved for generative answers (demo reference "
            "DEMO-EC-2026-001); oncology not approved — its answers stay extractive"
        )
    if any(user["created"] for user in summary["users"]):
        typer.echo(
            "One-time passwords and second-factor URIs are shown only now; each password must be "
            "changed at first login."
        )


# ---- users ----------------------------------------------------------------------------------


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
        open_context(),
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

    users = list_users(open_context())
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

    disable_user(open_context(), operator=operator_name(), name=name)
    typer.echo(f"Disabled {name}.")


@users_app.command("enrol-totp")
@handle_errors
def users_enrol_totp(name: str = typer.Argument(..., help="Login name.")) -> None:
    """Give an account a new authenticator (TOTP) seed and print it once.

    For a first enrolment, a lost phone, or after the key that seals the seeds was lost or
    replaced (sign-in then says the enrolment cannot be read). The old seed stops working.
    """
    from assistant.service.admin import enrol_totp

    uri = enrol_totp(open_context(), operator=operator_name(), name=name)
    typer.echo(f"New second factor for {name} (add to an authenticator app; shown once): {uri}")


# ---- roles ----------------------------------------------------------------------------------


def _change_role(*, grant: bool, user: str, role: Role, dept: str, by: str) -> None:
    from assistant.service.admin import AdminAction, grant_role, revoke_role, roles_object

    ctx = open_context()
    action = AdminAction.ROLE_GRANT if grant else AdminAction.ROLE_REVOKE
    actor = _acting(ctx, by, action=action, obj=roles_object(dept))
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


# ---- libraries ------------------------------------------------------------------------------


def _change_library(*, grant: bool, library: str, dept: str, by: str) -> None:
    from assistant.service.admin import (
        AdminAction,
        grant_library,
        library_object,
        revoke_library,
    )

    ctx = open_context()
    action = AdminAction.LIBRARY_GRANT if grant else AdminAction.LIBRARY_REVOKE
    actor = _acting(ctx, by, action=action, obj=library_object(library))
    change = grant_library if grant else revoke_library
    changed = change(ctx, actor, library=library, department=dept)
    if grant:
        typer.echo(
            f"Library {library} is now readable in {dept}."
            if changed
            else f"Library {library} was already readable in {dept}."
        )
    else:
        typer.echo(
            f"Library {library} is no longer granted to {dept}."
            if changed
            else f"Library {library} was not granted to {dept}."
        )


@libraries_app.command("grant")
@handle_errors
def libraries_grant(
    library: str = typer.Argument(..., help="Library name."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Make a library readable in a department."""
    _change_library(grant=True, library=library, dept=dept, by=by)


@libraries_app.command("revoke")
@handle_errors
def libraries_revoke(
    library: str = typer.Argument(..., help="Library name."),
    dept: str = typer.Option(..., "--dept", help=DEPT_HELP),
    by: str = typer.Option(..., "--by", help=BY_HELP),
) -> None:
    """Withdraw a department's access to a library."""
    _change_library(grant=False, library=library, dept=dept, by=by)


@libraries_app.command("list")
@handle_errors
def libraries_list(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
) -> None:
    """List granted libraries with the departments that may read them."""
    from assistant.service.admin import list_libraries

    libraries = list_libraries(open_context())
    if as_json:
        emit_json(libraries)
        return
    if not libraries:
        typer.echo("No library grants yet. Try: guidecite init")
    for entry in libraries:
        typer.echo(f"{entry['library']:24} {', '.join(entry['departments'])}")


# ---- audit ----------------------------------------------------------------------------------


@audit_app.command("verify")
@handle_errors
def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check the hash chain and signed checkpoints; exit 1 when they do not verify."""
    from assistant.service.admin import verify_audit

    result = verify_audit(open_context(), operator=operator_name())
    if as_json:
        emit_json(result.model_dump())
    elif result.ok:
        typer.echo(
            f"Audit trail verifies: {result.events} event(s); signed head at row "
            f"{result.signed_head_id}, {result.beyond_signed_head} event(s) beyond it."
        )
        if result.beyond_signed_head:
            # Normally 0: every append signs the head. Rows after it were written by something
            # other than GuideCite (or a replica of an older version during an upgrade).
            typer.echo(
                f"WARNING: {result.beyond_signed_head} event(s) after row "
                f"{result.signed_head_id} are not covered by a signature.",
                err=True,
            )
    else:
        typer.echo(
            f"Audit trail does NOT verify: first bad event {result.first_bad_id}; "
            f"{result.reason} ({result.events} event(s) checked).",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)


def _write_lines(lines: Iterable[str], out: Path | None) -> int:
    count = 0
    if out is None:
        for line in lines:
            sys.stdout.write(line)
            count += 1
        sys.stdout.flush()
        return count
    # Owner-only: exported rows hold (redacted) questions and who asked them.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count


@audit_app.command("export")
@handle_errors
def audit_export(
    by: str = typer.Option(..., "--by", help="Who exports (must hold export on the audit)."),
    fmt: str = typer.Option(..., "--format", help="jsonl or csv."),
    since: str | None = typer.Option(None, "--since", help="Only events from this date (UTC)."),
    dept: str | None = typer.Option(None, "--dept", help="Only this department's events."),
    actor: str | None = typer.Option(None, "--actor", help="Only events of this actor."),
    out: Path | None = typer.Option(None, "--out", help="Write to FILE instead of stdout."),
) -> None:
    """Export audit events (the export is itself audited before any line is written)."""
    from assistant.service.admin import AdminAction, audit_object, export_audit

    if fmt not in ("jsonl", "csv"):
        raise InvalidInput(f"unknown format {fmt!r}", user_message="--format takes jsonl or csv.")
    chosen: Literal["jsonl", "csv"] = "jsonl" if fmt == "jsonl" else "csv"
    start = parse_when(since, option="--since") if since is not None else None
    ctx = open_context()
    principal = _acting(ctx, by, action=AdminAction.AUDIT_EXPORT, obj=audit_object(dept))
    lines = export_audit(
        ctx, principal, fmt=chosen, since=start, department=dept, actor_filter=actor
    )
    written = _write_lines(lines, out)
    if out is not None:
        rows = written - 1 if chosen == "csv" else written
        typer.echo(f"Exported {rows} event(s) to {out}.")


@audit_app.command("purge")
@handle_errors
def audit_purge(
    before: str = typer.Option(..., "--before", help="Delete events older than this date (UTC)."),
    by: str = typer.Option(..., "--by", help="Who purges (must hold purge on audit:*)."),
) -> None:
    """Delete events older than a date; refuses anything younger than the retention period."""
    from assistant.service.admin import AdminAction, audit_object, purge_audit

    cutoff = parse_when(before, option="--before")
    ctx = open_context()
    principal = _acting(ctx, by, action=AdminAction.AUDIT_PURGE, obj=audit_object(None))
    purged = purge_audit(ctx, principal, before=cutoff)
    typer.echo(f"Purged {purged} event(s) older than {cutoff:%Y-%m-%d %H:%M} UTC.")
