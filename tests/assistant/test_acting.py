"""Who acts and how it is recorded: one Actor, record/audited, resolve_actor (issue #12).

The fail-closed property is tested on real stores: with the audit table unreachable (renamed
away, so everything else in the same database still works), every kind of change is refused
with AuditUnavailable and nothing changes — and once the table is back, the trail is exactly
what it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from assistant.audit.log import AuditLog
from assistant.config import get_settings
from assistant.domain import (
    HOSPITAL_WIDE,
    AuditAction,
    AuditEvent,
    Principal,
    Role,
)
from assistant.errors import AccessDenied, AuditUnavailable, InvalidInput
from assistant.flags import make_flag
from assistant.gates import GateRegistry
from assistant.review import ReviewQueue
from assistant.service.acting import (
    OPERATOR_ROLE,
    Actor,
    audited,
    operator_session,
    record,
    resolve_actor,
)
from assistant.service.admin import add_user, disable_user, grant_library, grant_role, init_system
from assistant.service.audit_trail import purge_audit
from assistant.service.context import Context
from assistant.service.gates import approve_gate
from assistant.service.review import open_review_item, take_review_item
from ingestion.as_principal import delete_document_as_principal
from ingestion.service import Ingestor
from tests.factories import open_fast_context

OPERATOR = "cli:test-operator"
FILES = Path(__file__).resolve().parents[1] / "ingestion" / "files"


def rows(log: AuditLog) -> list[AuditEvent]:
    return list(log.iter_events())


def test_an_actor_is_a_person_or_the_operator() -> None:
    person = Principal(user="dr.li", role=Role.DOCTOR, department="cardiology", via="cli:ops")
    assert Actor.of(person) == Actor("dr.li", "doctor", "cardiology", person.session_id, "cli:ops")
    operator = Actor.of(OPERATOR)
    assert (operator.actor, operator.role, operator.department) == (
        OPERATOR,
        OPERATOR_ROLE,
        HOSPITAL_WIDE,
    )
    # One documented session id per process for operator rows: op- and 16 hex digits.
    assert operator.session_id == operator_session() == Actor.of("cli:other").session_id
    assert operator.session_id.startswith("op-") and len(operator.session_id) == 19
    int(operator.session_id[3:], 16)


def test_record_names_the_via_and_audited_records_each_outcome_once() -> None:
    ctx = open_fast_context()
    person = Principal(user="dr.li", role=Role.DOCTOR, department="cardiology", via="cli:ops")
    event = record(
        ctx.audit, person, action=AuditAction.SEARCH, obj="library:x", outcome="ok", detail={}
    )
    assert (event.actor, event.action, event.detail_json) == ("dr.li", "search", {"via": "cli:ops"})

    def denied() -> tuple[None, dict[str, object]]:
        raise AccessDenied("no", reason="not_permitted")

    def refused() -> tuple[None, dict[str, object]]:
        raise InvalidInput("bad", user_message="Bad input.")

    for run, outcome in ((denied, "denied"), (refused, "refused")):
        with pytest.raises((AccessDenied, InvalidInput)):
            audited(ctx.audit, person, action=AuditAction.INIT, obj="system", detail={}, run=run)
        assert rows(ctx.audit)[-1].outcome == outcome
    result = audited(
        ctx.audit,
        OPERATOR,
        action=AuditAction.INIT,
        obj="system",
        detail={"a": 1},
        run=lambda: (42, {"b": 2}),
    )
    last = rows(ctx.audit)[-1]
    assert result == 42 and (last.actor, last.outcome) == (OPERATOR, "ok")
    assert last.detail_json == {"a": 1, "b": 2, "via": None}
    assert len(rows(ctx.audit)) == 4


def test_an_unknown_or_disabled_name_is_recorded_as_the_operator() -> None:
    ctx = open_fast_context()
    init_system(ctx, operator=OPERATOR, demo=True)
    disable_user(ctx, operator=OPERATOR, name="oncology.doctor")
    for name, reason in (("nobody", "unknown_user"), ("oncology.doctor", "disabled")):
        with pytest.raises(AccessDenied):
            resolve_actor(ctx, name, via=OPERATOR, action=AuditAction.ASK, obj="library:*")
        denied = rows(ctx.audit)[-1]
        assert (denied.actor, denied.role, denied.action, denied.outcome) == (
            OPERATOR,
            OPERATOR_ROLE,
            "ask",
            "denied",
        )
        assert denied.detail_json["claimed_user"] == name
        assert denied.detail_json["reason"] == reason
    known = resolve_actor(
        ctx, "cardiology.doctor", via=OPERATOR, action=AuditAction.ASK, obj="library:*"
    )
    assert (known.user, known.via) == ("cardiology.doctor", OPERATOR)


# ---- fail closed ------------------------------------------------------------------------------


@dataclass
class World:
    ctx: Context
    sysadmin: Principal
    admin: Principal
    compliance: Principal
    reviewer: Principal
    item_id: int
    doc_id: str
    database: Path


@pytest.fixture
def world() -> Iterator[World]:
    ctx = open_fast_context()
    init_system(ctx, operator=OPERATOR, demo=True)

    def person(name: str) -> Principal:
        return resolve_actor(ctx, name, via=OPERATOR, action=AuditAction.INIT, obj="system")

    admin = person("cardiology.admin")
    ingestor = Ingestor(ctx.settings, store=ctx.store, embedder=ctx.embedder, audit=ctx.audit)
    report = ingestor.ingest([FILES / "sepsis-bundle.md"], library="cardiology")
    assert report.failed == [] and report.documents
    asked = record(
        ctx.audit,
        person("cardiology.doctor"),
        action=AuditAction.ASK,
        obj="library:cardiology",
        outcome="extractive",
        detail={"answer_id": "a1", "question": "q", "flags": [], "sentences": []},
    )
    item = open_review_item(
        ctx, OPERATOR, ask_event=asked, flags=[make_flag("unsupported_sentence", "x")]
    )
    assert item.id is not None
    world = World(
        ctx=ctx,
        sysadmin=person("hospital.sysadmin"),
        admin=admin,
        compliance=person("hospital.compliance"),
        reviewer=person("cardiology.reviewer"),
        item_id=item.id,
        doc_id=report.documents[0].doc_id,
        database=get_settings().data_dir / "guidecite.db",
    )
    yield world
    ctx.close()


def _state(world: World) -> dict[str, object]:
    """Everything the changes below would touch."""
    ctx = world.ctx
    gate = GateRegistry.open(ctx.settings).status("oncology")
    item = ReviewQueue.open(ctx.settings).get(world.item_id)
    return {
        "library_grants": sorted(ctx.access.list_library_grants()),
        "users": sorted((u.name, u.disabled, tuple(u.roles)) for u in ctx.accounts.list_users()),
        "oncology_gate_open": gate.open,
        "item": (item.status, item.assignee) if item else None,
        "points": ctx.store.count(),
        "doc_points": ctx.store.count(doc_id=world.doc_id),
    }


def test_every_kind_of_change_is_refused_when_the_audit_cannot_be_written(world: World) -> None:
    ctx = world.ctx
    before = _state(world)
    trail = [e.hash for e in rows(ctx.audit)]
    with sqlite3.connect(world.database) as conn:
        conn.execute("ALTER TABLE audit_events RENAME TO audit_events_away")
    today = date.today()
    changes = {
        "role": lambda: grant_role(
            ctx,
            world.sysadmin,
            user="cardiology.doctor",
            role=Role.DEPT_ADMIN,
            department="cardiology",
        ),
        "library": lambda: grant_library(
            ctx, world.sysadmin, library="new-library", department="cardiology"
        ),
        "user add": lambda: add_user(
            ctx,
            operator=OPERATOR,
            name="new.user",
            role=Role.DOCTOR,
            department="cardiology",
            password=None,
            temporary=True,
        ),
        "user disable": lambda: disable_user(ctx, operator=OPERATOR, name="cardiology.doctor"),
        "gate": lambda: approve_gate(
            ctx,
            world.compliance,
            department="oncology",
            reference="EC-1",
            expires_on=today + timedelta(days=30),
        ),
        "review": lambda: take_review_item(ctx, world.reviewer, world.item_id),
        "ingestion": lambda: Ingestor(
            ctx.settings, store=ctx.store, embedder=ctx.embedder, audit=ctx.audit
        ).ingest([FILES / "sepsis-bundle.md"], library="other"),
        "deletion": lambda: delete_document_as_principal(
            world.admin,
            world.doc_id,
            store=ctx.store,
            settings=ctx.settings,
            access=ctx.access,
            audit=ctx.audit,
        ),
        "purge": lambda: purge_audit(
            ctx, world.compliance, before=datetime.now(UTC) - timedelta(days=400)
        ),
    }
    for kind, change in changes.items():
        with pytest.raises(AuditUnavailable):
            change()
        assert _state(world) == before, kind
    with sqlite3.connect(world.database) as conn:
        conn.execute("ALTER TABLE audit_events_away RENAME TO audit_events")
    assert [e.hash for e in rows(ctx.audit)] == trail
    assert ctx.audit.verify().ok
    # The same changes go through once the audit is back (the refusals were not denials).
    changes["review"]()
    assert ReviewQueue.open(ctx.settings).get(world.item_id).status == "in_review"  # type: ignore[union-attr]
    assert rows(ctx.audit)[-1].action == "review_take"
