"""`guidecite db upgrade|status`, and normal commands that only check the schema (issue 13 item 8).

SQLite always; PostgreSQL (GUIDECITE_TEST_DATABASE_URL) with an application role that has no
CREATE rights: after the owner's `db upgrade` it can ask, verify and write audit rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from assistant.config import Settings, get_settings
from assistant.db import create_db_engine, read_versions
from assistant.service.db import upgrade_database
from tests.factories import postgres_database, postgres_role, url_as_role
from ui.cli import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def roll_audit_back_to_version_2(engine: Engine) -> None:
    """The schema the previous release left: no signed-head table (audit migration 3)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER audit_head_forward"))
            conn.execute(text("DROP TRIGGER audit_head_no_delete"))
            conn.execute(text("DROP TABLE audit_head"))
        else:
            conn.execute(text("DROP TABLE audit_head"))
            conn.execute(text("DROP FUNCTION audit_head_guard()"))
        conn.execute(
            text("DELETE FROM schema_migrations WHERE component = 'audit' AND version = 3")
        )


def test_behind_schema_is_refused_until_db_upgrade_sqlite() -> None:
    assert invoke("init").exit_code == 0
    engine = create_db_engine(get_settings().sqlalchemy_url)
    roll_audit_back_to_version_2(engine)

    refused = invoke("audit", "verify")
    assert refused.exit_code == 4
    assert "Run `guidecite db upgrade`" in refused.stderr
    assert "audit at version 2, needs version 3" in refused.stderr
    assert read_versions(engine, component="audit") == {1, 2}  # nothing changed

    status = invoke("db", "status", "--json")
    assert status.exit_code == 4
    audit = next(s for s in json.loads(status.stdout) if s["component"] == "audit")
    assert (audit["version"], audit["latest"]) == (2, 3)
    assert audit["pending"] == ["3: audit_head: the chain head signed on every append"]

    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "audit      2 → 3" in upgraded.stdout
    assert read_versions(engine, component="audit") == {1, 2, 3}
    # The existing chain (init's events) was signed by the upgrade, so it verifies at once.
    verified = invoke("audit", "verify", "--json")
    assert verified.exit_code == 0, verified.output
    result = json.loads(verified.stdout)
    assert result["ok"] and result["beyond_signed_head"] == 0
    assert invoke("db", "status").exit_code == 0
    engine.dispose()


def test_fresh_embedded_database_needs_no_init() -> None:
    # A new install: the first command creates its tables in the operator's own SQLite file.
    listed = invoke("users", "list")
    assert listed.exit_code == 0, listed.output
    status = {s["component"]: s for s in json.loads(invoke("db", "status", "--json").stdout)}
    # The components that command opened were created; the others wait for their first use.
    assert [name for name, s in status.items() if not s["pending"]] == [
        "audit",
        "access",
        "accounts",
    ]


def test_init_and_serve_upgrade_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("init").exit_code == 0
    engine = create_db_engine(get_settings().sqlalchemy_url)
    roll_audit_back_to_version_2(engine)
    started: list[tuple[str, int]] = []
    monkeypatch.setattr(
        "ui.cli.setup.run_server", lambda *, host, port: started.append((host, port))
    )
    assert invoke("serve", "--port", "8600").exit_code == 0
    assert started == [("127.0.0.1", 8600)]
    assert read_versions(engine, component="audit") == {1, 2, 3}
    roll_audit_back_to_version_2(engine)
    assert invoke("init").exit_code == 0
    assert read_versions(engine, component="audit") == {1, 2, 3}
    engine.dispose()


# --------------------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_owner_and_app() -> Iterator[tuple[str, str]]:
    """(owner URL, application-role URL) of a fresh database; the role may not CREATE."""
    # The role outlives the database: its grants there must go before it can be dropped.
    with postgres_role() as role, postgres_database() as owner_url:
        yield owner_url, url_as_role(owner_url, role)


def grant_data_rights(owner_url: str, role: str) -> None:
    """What a DBA gives the application: data rights only, no CREATE anywhere."""
    owner = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.exec_driver_sql(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        conn.exec_driver_sql(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"'
        )
        conn.exec_driver_sql(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    owner.dispose()


@pytest.mark.postgres
def test_role_without_create_rights_can_work_after_the_owners_upgrade(
    pg_owner_and_app: tuple[str, str], tmp_path: Path
) -> None:
    owner_url, app_url = pg_owner_and_app
    role = make_url(app_url).username or ""
    data_dir = tmp_path / "shared-data"  # one key file for owner and app, as in a deployment
    owner_env = {"GUIDECITE_DATABASE_URL": owner_url, "GUIDECITE_DATA_DIR": str(data_dir)}
    app_env = {"GUIDECITE_DATABASE_URL": app_url, "GUIDECITE_DATA_DIR": str(data_dir)}

    # Before any upgrade the application role is told what to run, and nothing is created.
    fresh = invoke("audit", "verify", env=app_env)
    assert fresh.exit_code == 4
    assert "Run `guidecite db upgrade`" in fresh.stderr and "not created yet" in fresh.stderr

    upgraded = invoke("db", "upgrade", "--json", env=owner_env)
    assert upgraded.exit_code == 0, upgraded.output
    assert all(s["version"] == s["latest"] for s in json.loads(upgraded.stdout))
    grant_data_rights(owner_url, role)

    listed = invoke("users", "list", env=app_env)
    assert listed.exit_code == 0, listed.output
    first = invoke("audit", "verify", "--json", env=app_env)  # itself audited: one append
    assert first.exit_code == 0, first.output
    second = invoke("audit", "verify", "--json", env=app_env)
    assert second.exit_code == 0, second.output
    result = json.loads(second.stdout)
    assert result["ok"] and result["events"] >= 1 and result["beyond_signed_head"] == 0
    assert invoke("db", "status", env=app_env).exit_code == 0  # asking needs no rights either

    # A newer release with a pending migration: the app role is refused with the command …
    owner = create_db_engine(owner_url)
    roll_audit_back_to_version_2(owner)
    behind = invoke("audit", "verify", env=app_env)
    assert behind.exit_code == 4 and "guidecite db upgrade" in behind.stderr
    # … and cannot run it itself; the owner can, and the app works again.
    assert invoke("db", "upgrade", env=app_env).exit_code == 4
    assert invoke("db", "upgrade", env=owner_env).exit_code == 0
    grant_data_rights(owner_url, role)
    again = invoke("audit", "verify", "--json", env=app_env)
    assert again.exit_code == 0 and json.loads(again.stdout)["ok"]
    owner.dispose()


@pytest.mark.postgres
def test_upgrade_from_several_replicas_at_once_is_safe(
    pg_owner_and_app: tuple[str, str], tmp_path: Path
) -> None:
    owner_url, _ = pg_owner_and_app
    settings = Settings(database_url=owner_url, data_dir=tmp_path)
    upgrade_database(settings)
    again = upgrade_database(settings)  # safe to run again: nothing pending, nothing applied
    assert all(s.previous == s.version == s.latest for s in again)
