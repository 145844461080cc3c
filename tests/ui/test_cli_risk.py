"""`guidecite gates|review|audit stats|report needs` drive the real use-cases (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.domain import Principal, Role
from assistant.flags import make_flag
from assistant.gates import GateRegistry
from assistant.review import ReviewQueue
from assistant.service.context import open_context
from assistant.service.review import open_review_item
from ui.cli import app

runner = CliRunner()


def add_user(name: str, role: str, dept: str) -> None:
    result = runner.invoke(
        app,
        ["users", "add", name, "--role", role, "--dept", dept],
        input="correct horse battery staple\n",
    )
    assert result.exit_code == 0, result.output


def test_gates_approve_and_list() -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    add_user("ethics", "compliance_officer", "cardiology")
    add_user("dr.li", "doctor", "cardiology")
    cmd = ["gates", "approve", "--dept", "cardiology", "--ref", "IRB-7", "--expires", "2099-01-01"]
    denied = runner.invoke(app, [*cmd, "--by", "dr.li"])
    assert denied.exit_code == 3
    ok = runner.invoke(app, [*cmd, "--by", "ethics"])
    assert ok.exit_code == 0, ok.output
    assert GateRegistry.open(get_settings()).status("cardiology").open
    listed = runner.invoke(app, ["gates", "list", "--json"])
    rows = json.loads(listed.stdout)
    assert [(r["department"], r["reference"], r["open"]) for r in rows] == [
        ("cardiology", "IRB-7", True)
    ]
    outcomes = [
        (e.actor, e.action, e.outcome) for e in open_audit_log(get_settings()).iter_events()
    ]
    assert ("dr.li", "gate_approve", "denied") in outcomes
    assert ("ethics", "gate_approve", "ok") in outcomes


def test_review_list_resolve_export_and_stats(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    add_user("rev", "quality_reviewer", "cardiology")
    settings = get_settings()
    audit = open_audit_log(settings)
    event = audit.append_event(
        actor="dr.li", role="doctor", department="cardiology", session_id="s", action="ask",
        object="library:hospital", outcome="refused",
        detail={"answer_id": "a1", "question": "房颤抗凝？", "mode": "refused",
                "flags": [{"code": "no_evidence", "detail": "no_hits"}],
                "sources": [{"doc_id": "d", "title": "T", "library": "hospital"}],
                "timings_ms": {"total": 42.0}},
    )  # fmt: skip
    doctor = Principal(user="dr.li", role=Role.DOCTOR, department="cardiology")

    item = open_review_item(
        open_context(settings),
        doctor,
        ask_event=event,
        flags=[make_flag("negative_feedback", "wrong")],
        queue=ReviewQueue.open(settings),
    )
    listed = runner.invoke(app, ["review", "list", "--by", "rev", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.stdout)
    assert row["id"] == item.id and row["status"] == "open" and row["department"] == "cardiology"
    assert set(row["flags"]) == {"no_evidence", "negative_feedback"}
    resolved = runner.invoke(
        app,
        ["review", "resolve", str(item.id), "--disposition", "guideline_gap", "--comment", "缺指南",
         "--by", "rev"],
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    out = tmp_path / "reg.jsonl"
    exported = runner.invoke(app, ["review", "export-regression", "--out", str(out), "--by", "rev"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[0])["question"] == "房颤抗凝？"
    stats = runner.invoke(app, ["audit", "stats", "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.stdout)
    assert data["metrics"]["1h"]["volume"] == 1 and data["metrics"]["1h"]["refusals"] == 1
    needs = runner.invoke(app, ["report", "needs", "--dept", "cardiology", "--json"])
    assert needs.exit_code == 0, needs.output
    [gap] = json.loads(needs.stdout)["gaps"]
    assert gap["examples"] == ["房颤抗凝？"] and {"房颤", "atrial fibrillation"} <= set(
        gap["missing"]
    )
    as_csv = runner.invoke(app, ["report", "needs", "--dept", "cardiology", "--format", "csv"])
    assert as_csv.exit_code == 0, as_csv.output
    assert "gap:not_in_library,房颤 / atrial fibrillation," in as_csv.stdout
    text = runner.invoke(app, ["report", "needs", "--dept", "cardiology"])
    assert "no passage on 房颤 / atrial fibrillation: 1 question(s)" in text.stdout
    reports = [e for e in open_audit_log(settings).iter_events() if e.action == "report_needs"]
    assert len(reports) == 3  # each report is audited
