"""Use-cases of `guidecite db`: upgrade the database schema, or report how far behind it is.

Only these (and `init`, and `serve`/`demo` on the embedded default) change the schema; every
other command checks it (assistant/db.py, issue 13 item 8). Components are opened through their
own constructors, so a component's post-migration step (e.g. the audit log signing the head of
an existing chain, which needs a key the database does not hold) runs inside the upgrade.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from assistant.config import Settings
from assistant.db import (
    UPGRADE_COMMAND,
    Migration,
    SchemaOutdated,
    check_schema_of,
    read_versions,
    shared_engine,
    upgrading,
)


def only_check_schema(settings: Settings) -> Callable[[], None]:
    """This process checks, never migrates, the configured database; returns the undo."""
    return check_schema_of(settings.sqlalchemy_url)


def component_migrations(settings: Settings) -> dict[str, Sequence[Migration]]:
    """Every component's numbered migrations, in upgrade order (accounts after access)."""
    # Imported here: the CLI's start-up (only_check_schema) must stay light.
    from assistant import access, accounts, conversations, gates, review
    from assistant.audit import schema as audit_schema
    from assistant.totp_seeds import SeedCipher

    seeds = SeedCipher.from_settings(settings)  # accounts #2 seals TOTP seeds with it
    return {
        "audit": audit_schema.MIGRATIONS,
        "access": access.MIGRATIONS,
        "accounts": accounts.account_migrations(seeds),
        "gates": gates.MIGRATIONS,
        "review": review.MIGRATIONS,
        "conversations": conversations.MIGRATIONS,
    }


@dataclass(frozen=True)
class ComponentSchema:
    """Where one component's schema stands."""

    component: str
    version: int
    latest: int
    pending: list[str]
    previous: int | None = None  # the version before `upgrade_database` ran

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for `--json`."""
        return asdict(self)


def database_status(settings: Settings) -> list[ComponentSchema]:
    """Each component's applied and latest version; changes nothing, needs no DDL rights."""
    engine = shared_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size)
    status: list[ComponentSchema] = []
    for component, migrations in component_migrations(settings).items():
        applied = read_versions(engine, component=component)
        pending = [
            f"{m.version}: {m.description}"
            for m in sorted(migrations, key=lambda m: m.version)
            if m.version not in applied
        ]
        status.append(
            ComponentSchema(
                component=component,
                version=max(applied, default=0),
                latest=max(m.version for m in migrations),
                pending=pending,
            )
        )
    return status


def check_database(settings: Settings) -> list[ComponentSchema]:
    """The status, or SchemaOutdated naming the command to run when anything is pending."""
    status = database_status(settings)
    behind = [s for s in status if s.pending]
    if behind:
        names = ", ".join(f"{s.component} {s.version}→{s.latest}" for s in behind)
        raise SchemaOutdated(
            f"database schema behind: {names}",
            user_message=f"The database schema is behind this version of GuideCite ({names}). "
            f"Run `{UPGRADE_COMMAND}` (as the database owner, with the same "
            "GUIDECITE_DATABASE_URL), then retry.",
        )
    return status


def upgrade_database(settings: Settings) -> list[ComponentSchema]:
    """Apply every pending migration of every component; returns the resulting status.

    Safe to run again and from several replicas at once (PostgreSQL: advisory lock).
    """
    from assistant import access, accounts, conversations, gates, review
    from assistant.audit.log import open_audit_log

    before = {s.component: s.version for s in database_status(settings)}
    with upgrading(settings.sqlalchemy_url):
        open_audit_log(settings)
        control = access.AccessControl.open(settings)
        accounts.Accounts.open(settings, access=control)
        gates.GateRegistry.open(settings)
        review.ReviewQueue.open(settings)
        conversations.ConversationStore.open(settings)
    return [replace(s, previous=before[s.component]) for s in database_status(settings)]
