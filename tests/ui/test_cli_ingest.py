"""The ingestion CLI contract (issue #2 item 11), driven with Typer's CliRunner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from assistant.config import get_settings
from assistant.store import open_store
from ui.cli import app

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ADENO = "zh/儿童腺病毒肺炎诊疗规范（2019年版）.txt"
DOC_KEYS = {"doc_id", "title", "version", "language", "library", "status", "pages", "chunks"}

runner = CliRunner()


def test_help_is_instant_and_imports_no_model_stack() -> None:
    code = (
        "import sys, ui.cli; print(sorted(m for m in ('torch', 'sentence_transformers', "
        "'transformers', 'qdrant_edge', 'qdrant_client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "ingest" in result.stdout


def test_ingest_json_contract_then_docs_commands(corpus_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "empty.txt"
    bad.write_bytes(b"")
    result = runner.invoke(
        app,
        [
            "ingest",
            str(corpus_dir / FLU),
            str(corpus_dir / ADENO),
            str(bad),
            "--library",
            "hospital",
            "--json",
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"documents", "failed", "skipped", "chunks_added", "chunks_unchanged"}
    assert data["skipped"] == []
    assert len(data["documents"]) == 2
    assert all(set(doc) == DOC_KEYS for doc in data["documents"])
    assert {d["version"] for d in data["documents"]} == {"2025年版", "2019年版"}
    assert data["failed"] == [{"path": str(bad), "error": data["failed"][0]["error"]}]
    assert "empty" in data["failed"][0]["error"].lower()
    assert data["chunks_added"] == sum(d["chunks"] for d in data["documents"]) > 0
    # What it printed is what it stored.
    with open_store(get_settings()) as store:
        assert store.count(status="current") == data["chunks_added"]

    again = runner.invoke(app, ["ingest", str(corpus_dir / FLU), "--library", "hospital", "--json"])
    assert again.exit_code == 0
    assert json.loads(again.stdout)["chunks_added"] == 0

    listed = runner.invoke(app, ["docs", "list", "--json"])
    assert listed.exit_code == 0
    docs = json.loads(listed.stdout)
    assert sorted(d["doc_id"] for d in docs) == sorted(d["doc_id"] for d in data["documents"])
    assert all(set(d) == {*DOC_KEYS, "stale"} and d["stale"] == [] for d in docs)

    doc_id = data["documents"][0]["doc_id"]
    shown = runner.invoke(app, ["docs", "show", doc_id, "--json"])
    assert shown.exit_code == 0
    detail = json.loads(shown.stdout)
    assert detail["doc_id"] == doc_id and len(detail["chunks"]) == detail["chunks"].__len__() > 0
    first = detail["chunks"][0]
    assert set(first) == {"chunk_index", "section_path", "page_start", "page_end", "text"}
    assert any("奥司他韦" in c["text"] for c in detail["chunks"]) or any(
        "腺病毒" in c["text"] for c in detail["chunks"]
    )

    deleted = runner.invoke(app, ["docs", "delete", doc_id])
    assert deleted.exit_code == 0
    remaining = json.loads(runner.invoke(app, ["docs", "list", "--json"]).stdout)
    assert doc_id not in {d["doc_id"] for d in remaining}

    missing = runner.invoke(app, ["docs", "show", "no-such-doc"])
    assert missing.exit_code == 2 and "no-such-doc" in missing.stderr


def test_ingest_rejects_bad_library_name(corpus_dir: Path) -> None:
    result = runner.invoke(app, ["ingest", str(corpus_dir / FLU), "--library", "bad name!"])
    assert result.exit_code == 2
    assert "Invalid library name" in result.stderr


GUIDE_MD = """\
# Atrial Fibrillation Anticoagulation Protocol

## Scoring

Use the CHA2DS2-VASc score to decide on anticoagulation for atrial fibrillation patients.
"""


def _seed_people() -> None:
    from assistant.domain import Role
    from tests.factories import open_access, open_accounts

    settings = get_settings()
    access = open_access(settings, libraries={"cardiology": "cardiology"})
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.li", role=Role.DOCTOR, department="cardiology")
    accounts.add_user("card.admin", role=Role.DEPT_ADMIN, department="cardiology")


def test_ingest_by_a_person_is_checked_at_the_service_and_audited(tmp_path: Path) -> None:
    from assistant.audit.log import open_audit_log
    from ui.cli.common import operator_name

    _seed_people()
    doc = tmp_path / "af.md"
    doc.write_text(GUIDE_MD, encoding="utf-8")
    denied = runner.invoke(
        app, ["ingest", str(doc), "--library", "cardiology", "--by", "dr.li", "--json"]
    )
    assert denied.exit_code == 3, denied.output
    assert denied.stdout == "" and "permission" in denied.stderr
    with open_store(get_settings()) as store:
        assert store.count() == 0
    unknown = runner.invoke(app, ["ingest", str(doc), "--library", "cardiology", "--by", "nobody"])
    assert unknown.exit_code == 3

    allowed = runner.invoke(
        app, ["ingest", str(doc), "--library", "cardiology", "--by", "card.admin", "--json"]
    )
    assert allowed.exit_code == 0, allowed.output
    data = json.loads(allowed.stdout)
    assert data["chunks_added"] > 0
    doc_id = data["documents"][0]["doc_id"]
    refused = runner.invoke(app, ["docs", "delete", doc_id, "--by", "dr.li"])
    assert refused.exit_code == 3
    with open_store(get_settings()) as store:
        assert store.count(library="cardiology", status="current") == data["chunks_added"]
    # The operator path (no --by) stays as it was, and is audited as the OS operator.
    assert runner.invoke(app, ["docs", "delete", doc_id]).exit_code == 0

    events = [
        (e.actor, e.action, e.object, e.outcome, e.detail_json.get("via"))
        for e in open_audit_log(get_settings()).iter_events()
    ]
    operator = operator_name()
    assert events == [
        ("dr.li", "ingest", "library:cardiology", "denied", operator),
        # An unknown `--by` is the operator's denied row, the claimed name in the detail.
        (operator, "ingest", "library:cardiology", "denied", None),
        ("card.admin", "ingest", "library:cardiology", "ok", operator),
        ("dr.li", "document_delete", "library:cardiology", "denied", operator),
        (operator, "document_delete", "library:cardiology", "ok", None),
    ]
