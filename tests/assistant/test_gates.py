"""Department ethics approvals (issue 6 item 3), and the whole loop through answer_question:
the gate switches mode exactly at the expiry date; a 👎 becomes a review item that a reviewer
resolves and that lands in the regression set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.audit.log import open_audit_log
from assistant.config import LLMSettings, Settings, get_settings
from assistant.domain import AnswerMode, Principal, Role
from assistant.errors import AccessDenied, InvalidInput
from assistant.gates import GateRegistry
from assistant.llm import ChatModel
from assistant.review import load_regression
from assistant.service.ask import answer_question
from assistant.service.context import Context, open_context
from assistant.service.feedback import record_feedback
from assistant.service.gates import approve_gate, list_gates
from assistant.service.review import export_regression, list_review_items, resolve_review_item
from tests.factories import index_library, open_access

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
DOC = Principal(user="card.doc", role=Role.DOCTOR, department="cardiology")
REVIEWER = Principal(user="card.rev", role=Role.QUALITY_REVIEWER, department="cardiology")
OFFICER = Principal(user="ethics", role=Role.COMPLIANCE_OFFICER, department="cardiology")


class Today:
    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


def test_status_switches_exactly_at_the_expiry_date() -> None:
    today = Today(date(2026, 6, 29))
    gates = GateRegistry.open(get_settings(), today=today)
    assert gates.status("cardiology").reason == "no_approval"
    gates.record(
        department="cardiology",
        reference="IRB-2025-17",
        approved_by="chair",
        approved_on=date(2025, 7, 1),
        expires_on=date(2026, 6, 30),
    )
    status = gates.status("cardiology")
    assert status.open and status.days_left == 1
    assert status.approval and status.approval.committee == "伦理委员会 / Ethics Committee"
    today.day = date(2026, 6, 30)
    assert gates.status("cardiology").reason == "approval_expired"
    assert not gates.status("cardiology", on=date(2025, 6, 30)).open  # before approval
    assert gates.status("oncology").reason == "no_approval"
    with pytest.raises(InvalidInput):
        gates.record(
            department="cardiology",
            reference="X",
            approved_by="chair",
            approved_on=date(2026, 1, 1),
            expires_on=date(2025, 1, 1),
        )


def test_only_a_compliance_officer_approves_and_it_is_audited() -> None:
    ctx = open_context(get_settings())
    ctx.access.seed_defaults()
    ctx.access.assign_role(user="ethics", role=Role.COMPLIANCE_OFFICER, department="cardiology")
    ctx.access.assign_role(user="card.doc", role=Role.DOCTOR, department="cardiology")
    with pytest.raises(AccessDenied):
        approve_gate(ctx, DOC, department="cardiology", reference="R", expires_on=date(2099, 1, 1))
    with pytest.raises(AccessDenied):  # an officer of cardiology cannot approve oncology
        approve_gate(
            ctx, OFFICER, department="oncology", reference="R", expires_on=date(2099, 1, 1)
        )
    approval = approve_gate(
        ctx,
        OFFICER,
        department="cardiology",
        reference="IRB-9",
        expires_on=date(2099, 1, 1),
        libraries=["hospital"],
    )
    assert approval.approved_by == "ethics" and approval.libraries == ["hospital"]
    events = [(e.actor, e.outcome, e.object) for e in ctx.audit.iter_events()]
    assert events == [
        ("card.doc", "denied", "gates:cardiology"),
        ("ethics", "denied", "gates:oncology"),
        ("ethics", "ok", "gates:cardiology"),
    ]
    rows = list_gates(ctx)
    assert [(r["department"], r["open"], r["reference"]) for r in rows] == [
        ("cardiology", True, "IRB-9")
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("gate-world"))
    library = index_library(settings, {"hospital": [corpus_dir / FLU]})
    store, embedder = library.store, library.embedder
    access = open_access(settings, roles=[DOC, REVIEWER])
    yield {"settings": settings, "store": store, "embedder": embedder, "access": access}
    store.close()


def make_ctx(world: dict[str, Any], tmp_path: Path, *, base_url: str, today: Today):
    settings = world["settings"].model_copy(update={"data_dir": tmp_path})
    return Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings),
        chat=ChatModel(LLMSettings(base_url=base_url, timeout_s=5, max_retries=0)),
        gates=GateRegistry.open(settings, today=today),
    )


def test_answer_mode_switches_at_expiry(world, tmp_path: Path, sglang_server) -> None:
    today = Today(date(2026, 6, 29))
    ctx = make_ctx(world, tmp_path, base_url=sglang_server.base_url, today=today)
    question = "流感患者奥司他韦的成人剂量是多少？"
    closed = answer_question(DOC, question, ctx=ctx)
    assert closed.mode == AnswerMode.EXTRACTIVE
    assert {f.code: f.detail for f in closed.flags}["gate_closed"] == "no_approval"
    assert closed.message and "伦理委员会" in closed.message
    assert sglang_server.requests == []  # nothing went to the model
    ctx.gate_registry().record(
        department="cardiology",
        reference="IRB-1",
        approved_by="chair",
        approved_on=date(2025, 7, 1),
        expires_on=date(2026, 6, 30),
    )
    opened = answer_question(DOC, question, ctx=ctx)
    assert opened.mode == AnswerMode.GENERATIVE, opened.flags
    assert "gate_closed" not in {f.code for f in opened.flags}
    today.day = date(2026, 6, 30)
    expired = answer_question(DOC, question, ctx=ctx)
    assert expired.mode == AnswerMode.EXTRACTIVE
    assert {f.code: f.detail for f in expired.flags}["gate_closed"] == "approval_expired"
    asks = [e.detail_json for e in ctx.audit.iter_events(actions={"ask"})]
    assert [a["gate"]["open"] for a in asks] == [False, True, False]


def test_thumbs_down_to_review_to_regression(world, tmp_path: Path, sglang_server) -> None:
    ctx = make_ctx(world, tmp_path, base_url=sglang_server.base_url, today=Today(date.today()))
    answer = answer_question(DOC, "流感的传播途径有哪些？", ctx=ctx)
    assert list_review_items(ctx, REVIEWER) == []  # no high flag, no item
    with pytest.raises(AccessDenied):  # only the asker rates an answer
        record_feedback(REVIEWER, answer_id=answer.answer_id, helpful=False, ctx=ctx)
    event_id = record_feedback(
        DOC,
        answer_id=answer.answer_id,
        helpful=False,
        comment="患者张伟问的是儿童，答案没有提到",
        ctx=ctx,
    )
    feedback = next(e for e in ctx.audit.iter_events(actions={"feedback"}) if e.id == event_id)
    assert feedback.outcome == "not_helpful" and "张伟" not in feedback.detail_json["comment"]
    [item] = list_review_items(ctx, REVIEWER)
    assert item.answer_id == answer.answer_id and "negative_feedback" in item.flags
    assert item.question == "流感的传播途径有哪些？" and item.sources
    assert item.feedback[0]["helpful"] is False
    resolve_review_item(ctx, REVIEWER, item.id, disposition="guideline_gap", comment="儿童部分缺")
    out = tmp_path / "regression.jsonl"
    assert export_regression(ctx, REVIEWER, out=out) == 1
    [record] = load_regression(out)
    assert record["question"] == "流感的传播途径有哪些？"
    assert record["expected_behaviour"] == "refuse_until_guideline_added"
    assert record["sources"] and record["sources"][0]["library"] == "hospital"
