"""Review lifecycle, department scoping and the regression export (issue 6 item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import get_settings
from assistant.domain import Principal, Role
from assistant.errors import AccessDenied, InvalidInput
from assistant.flags import make_flag
from assistant.review import load_regression
from assistant.service.context import Context, open_context
from assistant.service.review import (
    export_regression,
    get_review_item,
    list_review_items,
    open_review_item,
    resolve_review_item,
    take_review_item,
)

CARDIO_REVIEWER = Principal(user="card.rev", role=Role.QUALITY_REVIEWER, department="cardiology")
ONCO_REVIEWER = Principal(user="onco.rev", role=Role.QUALITY_REVIEWER, department="oncology")
DOCTOR = Principal(user="card.doc", role=Role.DOCTOR, department="cardiology")


@pytest.fixture
def ctx() -> Context:
    context = open_context(get_settings())
    context.access.seed_defaults()
    context.access.assign_role(user="card.rev", role=Role.QUALITY_REVIEWER, department="cardiology")
    context.access.assign_role(user="onco.rev", role=Role.QUALITY_REVIEWER, department="oncology")
    context.access.assign_role(user="card.doc", role=Role.DOCTOR, department="cardiology")
    return context


def flagged_answer(ctx: Context, *, department: str, question: str, answer_id: str):
    event = ctx.audit.append_event(
        actor="card.doc",
        role="doctor",
        department=department,
        session_id="s1",
        action="ask",
        object="library:hospital",
        outcome="generative",
        detail={
            "answer_id": answer_id,
            "question": question,
            "mode": "extractive",
            "sentences": [
                {"text": "成人75mg每日2次。", "citations": [1], "supported": True,
                 "support_score": 1}
            ],
            "sources": [
                {"n": 1, "doc_id": "flu", "title": "流行性感冒诊疗方案", "version": "2025",
                 "section": "抗病毒治疗", "page": None, "library": "hospital", "text": "…"}
            ],
            "flags": [{"code": "unsupported_sentence", "detail": "sentence 1", "severity": "high"}],
            "relevance": {"relevant": True},
        },
    )  # fmt: skip
    flag = make_flag("unsupported_sentence", "sentence 1")
    return open_review_item(ctx, DOCTOR, ask_event=event, flags=[flag])


def test_lifecycle_open_take_resolve_is_audited(ctx: Context) -> None:
    item = flagged_answer(ctx, department="cardiology", question="奥司他韦剂量？", answer_id="a1")
    assert item.status == "open" and item.flags == ["unsupported_sentence"]
    shown = get_review_item(ctx, CARDIO_REVIEWER, item.id)
    assert shown.question == "奥司他韦剂量？" and shown.sentences[0].text == "成人75mg每日2次。"
    assert shown.sources[0]["title"] == "流行性感冒诊疗方案"
    assert shown.flag_details[0].severity == "high"
    taken = take_review_item(ctx, CARDIO_REVIEWER, item.id)
    assert (taken.status, taken.assignee) == ("in_review", "card.rev")
    done = resolve_review_item(
        ctx, CARDIO_REVIEWER, item.id, disposition="incorrect", comment="患者张伟 dose wrong"
    )
    assert (done.status, done.disposition, done.resolved_by) == (
        "resolved",
        "incorrect",
        "card.rev",
    )
    assert "张伟" not in (done.comment or "")  # comments are redacted like questions
    with pytest.raises(InvalidInput):
        resolve_review_item(ctx, CARDIO_REVIEWER, item.id, disposition="correct", comment="again")
    events = [(e.action, e.outcome) for e in ctx.audit.iter_events() if e.action != "ask"]
    assert events == [
        ("review_view", "ok"),
        ("review_take", "ok"),
        ("review_resolve", "ok"),
        ("review_resolve", "refused"),
    ]
    resolve_event = next(e for e in ctx.audit.iter_events() if e.action == "review_resolve")
    assert resolve_event.detail_json["from"] == "in_review"
    assert resolve_event.detail_json["to"] == "resolved"


def test_resolve_straight_from_open_and_bad_disposition(ctx: Context) -> None:
    item = flagged_answer(ctx, department="cardiology", question="q", answer_id="a2")
    with pytest.raises(InvalidInput, match="disposition"):
        resolve_review_item(ctx, CARDIO_REVIEWER, item.id, disposition="maybe", comment="")
    done = resolve_review_item(ctx, CARDIO_REVIEWER, item.id, disposition="correct", comment="fine")
    assert done.status == "resolved" and done.assignee == "card.rev"


def test_reviewers_only_see_their_departments(ctx: Context) -> None:
    cardio = flagged_answer(ctx, department="cardiology", question="心衰", answer_id="c1")
    onco = flagged_answer(ctx, department="oncology", question="化疗", answer_id="o1")
    assert [i.id for i in list_review_items(ctx, CARDIO_REVIEWER)] == [cardio.id]
    assert [i.id for i in list_review_items(ctx, ONCO_REVIEWER)] == [onco.id]
    assert list_review_items(ctx, CARDIO_REVIEWER, status="resolved") == []
    assert [i.id for i in list_review_items(ctx, CARDIO_REVIEWER, flag="unsupported_sentence")] == [
        cardio.id
    ]
    with pytest.raises(AccessDenied):
        get_review_item(ctx, CARDIO_REVIEWER, onco.id)
    with pytest.raises(AccessDenied):
        resolve_review_item(ctx, CARDIO_REVIEWER, onco.id, disposition="correct", comment="")
    with pytest.raises(AccessDenied):
        list_review_items(ctx, CARDIO_REVIEWER, department="oncology")
    with pytest.raises(AccessDenied):
        list_review_items(ctx, DOCTOR)
    denied = [e for e in ctx.audit.iter_events() if e.outcome == "denied"]
    assert {e.action for e in denied} == {"review_view", "review_resolve", "review_list"}
    assert all(e.actor in {"card.rev", "card.doc"} for e in denied)


def test_export_regression_round_trip(ctx: Context, tmp_path: Path) -> None:
    gap = flagged_answer(ctx, department="cardiology", question="房颤抗凝？", answer_id="g1")
    wrong = flagged_answer(ctx, department="cardiology", question="剂量？", answer_id="w1")
    fine = flagged_answer(ctx, department="cardiology", question="传播？", answer_id="f1")
    other = flagged_answer(ctx, department="oncology", question="化疗？", answer_id="o2")
    resolve_review_item(ctx, CARDIO_REVIEWER, gap.id, disposition="guideline_gap", comment="none")
    resolve_review_item(ctx, CARDIO_REVIEWER, wrong.id, disposition="incorrect", comment="75mg")
    resolve_review_item(ctx, CARDIO_REVIEWER, fine.id, disposition="correct", comment="ok")
    resolve_review_item(ctx, ONCO_REVIEWER, other.id, disposition="incorrect", comment="x")
    out = tmp_path / "regression.jsonl"
    assert export_regression(ctx, CARDIO_REVIEWER, out=out) == 2
    records = load_regression(out)
    assert [r["question"] for r in records] == ["房颤抗凝？", "剂量？"]
    assert [r["expected_behaviour"] for r in records] == [
        "refuse_until_guideline_added",
        "answer_correctly",
    ]
    assert records[0]["sources"][0]["title"] == "流行性感冒诊疗方案"
    assert records[1]["reviewer_comment"] == "75mg" and records[0]["language"] == "zh"
    export = [e for e in ctx.audit.iter_events() if e.action == "review_export"][-1]
    assert export.outcome == "ok" and export.detail_json["items"] == [gap.id, wrong.id]
