"""Numbered migrations of the audit tables (DESIGN.md §2: numbered migrations from day one)."""

from __future__ import annotations

from sqlalchemy import Connection

from assistant.db import Migration


def _create_tables(conn: Connection) -> None:
    # Text everywhere: the hash covers the exact stored text, and PostgreSQL must not reject a
    # long actor name (a failed write withholds the answer). JSONB would reorder keys.
    id_type = "INTEGER" if conn.dialect.name == "sqlite" else "BIGINT"  # SQLite: rowid alias
    conn.exec_driver_sql(
        f"CREATE TABLE audit_events ("
        f" id {id_type} PRIMARY KEY,"
        " ts_utc TEXT NOT NULL,"
        " actor TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " department TEXT NOT NULL,"
        " session_id TEXT NOT NULL,"
        " action TEXT NOT NULL,"
        " object TEXT NOT NULL,"
        " outcome TEXT NOT NULL,"
        " detail_json TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL)"
    )
    conn.exec_driver_sql("CREATE INDEX ix_audit_events_ts ON audit_events (ts_utc)")
    conn.exec_driver_sql(
        "CREATE INDEX ix_audit_events_dept_ts ON audit_events (department, ts_utc)"
    )
    conn.exec_driver_sql("CREATE INDEX ix_audit_events_actor_ts ON audit_events (actor, ts_utc)")
    conn.exec_driver_sql("CREATE INDEX ix_audit_events_action_ts ON audit_events (action, ts_utc)")
    conn.exec_driver_sql(
        f"CREATE TABLE audit_anchors ("
        f" id {id_type} PRIMARY KEY,"
        " hash TEXT NOT NULL,"
        " purged_before TEXT NOT NULL,"
        " purged_at TEXT NOT NULL,"
        " purged_count BIGINT NOT NULL)"
    )


def _create_guards(conn: Connection) -> None:
    # 等保2.0 §8.1.4.3 c): records protected against modification and deletion. The application
    # cannot update a row, and can delete only rows already covered by a purge anchor. A DBA can
    # drop these triggers — that is what the hash chain and signed checkpoints are for.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
            " WHEN OLD.id > (SELECT COALESCE(MAX(id), 0) FROM audit_anchors)"
            " BEGIN SELECT RAISE(ABORT, 'audit_events rows are removed only by a purge'); END"
        )
        return
    conn.exec_driver_sql(
        "CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_OP = 'UPDATE' THEN\n"
        "    RAISE EXCEPTION 'audit_events is append-only';\n"
        "  END IF;\n"
        "  IF OLD.id > (SELECT COALESCE(MAX(id), 0) FROM audit_anchors) THEN\n"
        "    RAISE EXCEPTION 'audit_events rows are removed only by a purge';\n"
        "  END IF;\n"
        "  RETURN OLD;\n"
        "END $$"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER audit_events_guard BEFORE UPDATE OR DELETE ON audit_events"
        " FOR EACH ROW EXECUTE FUNCTION audit_events_guard()"
    )


def _create_head(conn: Connection) -> None:
    # Issue 13 item 3: the chain head signed on every append, in the append's own transaction
    # (one row, slot 1), so rows removed or rewritten after the last file checkpoint are caught,
    # and replicas sharing one PostgreSQL chain share one signed head. An existing chain is
    # signed by the AuditLog that applies this migration (the key is not the database's).
    id_type = "INTEGER" if conn.dialect.name == "sqlite" else "BIGINT"
    conn.exec_driver_sql(
        f"CREATE TABLE audit_head ("
        " slot INTEGER PRIMARY KEY CHECK (slot = 1),"
        f" id {id_type} NOT NULL,"
        " hash TEXT NOT NULL,"
        " ts_utc TEXT NOT NULL,"
        " hmac TEXT NOT NULL)"
    )
    # The head only moves forward and is never deleted: replaying an older signed head (to hide
    # removed rows) needs the guard dropped first — which a DBA can do, hence the witness.
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_head_forward BEFORE UPDATE ON audit_head"
            " WHEN NEW.id < OLD.id"
            " BEGIN SELECT RAISE(ABORT, 'the audit head only moves forward'); END"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head"
            " BEGIN SELECT RAISE(ABORT, 'the audit head is never deleted'); END"
        )
        return
    conn.exec_driver_sql(
        "CREATE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF TG_OP = 'DELETE' THEN\n"
        "    RAISE EXCEPTION 'the audit head is never deleted';\n"
        "  END IF;\n"
        "  IF NEW.id < OLD.id THEN\n"
        "    RAISE EXCEPTION 'the audit head only moves forward';\n"
        "  END IF;\n"
        "  RETURN NEW;\n"
        "END $$"
    )
    conn.exec_driver_sql(
        "CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head"
        " FOR EACH ROW EXECUTE FUNCTION audit_head_guard()"
    )


MIGRATIONS = (
    Migration(1, "audit_events and audit_anchors tables", _create_tables),
    Migration(2, "append-only guards on audit_events", _create_guards),
    Migration(3, "audit_head: the chain head signed on every append", _create_head),
)
