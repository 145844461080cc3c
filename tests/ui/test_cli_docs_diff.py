"""`guidecite docs diff` (issue 17 §2), driven with Typer's CliRunner on two editions of the
shipped influenza guideline ingested through `guidecite ingest`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant.config import get_settings
from assistant.store import open_store
from tests.factories import FLU_NEW_VERSION, FLU_REMOVED, flu_editions
from ui.cli import app

runner = CliRunner()


def test_docs_diff_text_json_and_errors(corpus_dir: Path, tmp_path: Path) -> None:
    first, second = flu_editions(corpus_dir, tmp_path / "in")
    ingested = runner.invoke(app, ["ingest", str(first), "--library", "hospital", "--json"])
    assert ingested.exit_code == 0, ingested.output
    doc_id = json.loads(ingested.stdout)["documents"][0]["doc_id"]

    only_one = runner.invoke(app, ["docs", "diff", doc_id])
    assert only_one.exit_code == 2 and only_one.stdout == ""
    assert "only one version (2025年版)" in only_one.stderr

    ingested = runner.invoke(app, ["ingest", str(second), "--library", "hospital", "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.stdout)["documents"][0]["version"] == FLU_NEW_VERSION

    text = runner.invoke(app, ["docs", "diff", doc_id])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[1].startswith("2025年版 [") and f"-> {FLU_NEW_VERSION} [" in lines[1]
    assert "superseded" in lines[1] and "current" in lines[1]
    assert lines[2] == "0 added, 1 removed, 2 changed, 0 moved"
    assert "== 十、治疗 > （三）抗病毒治疗" in lines
    assert "~ 成人剂量每次[-75-]{+150+}mg，每日2次。" in lines
    assert "  quantities: 75mg → 150mg" in lines
    assert f"- {FLU_REMOVED}" in lines
    assert "~ （3）有传播给高危人群风险的流感患者，[-建议-]{+应当尽早+}给予抗病毒治疗。" in lines
    assert sum(line.startswith(("+ ", "- ", "~ ", "> ")) for line in lines) == 3

    as_json = runner.invoke(app, ["docs", "diff", doc_id, "--json"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["summary"] == {"added": 0, "removed": 1, "changed": 2, "moved": 0}
    changes = [c for s in data["sections"] for c in s["changes"]]
    assert [c["kind"] for c in changes] == ["changed", "changed", "removed"]
    assert changes[1]["quantities"] == [{"before": "75mg", "after": "150mg"}]
    # The versions it names are the stored ones.
    with open_store(get_settings()) as store:
        stored = {p["content_sha256"]: p["status"] for _, p in store.scroll(doc_id=doc_id)}
    assert stored == {
        data["from"]["content_sha256"]: "superseded",
        data["to"]["content_sha256"]: "current",
    }

    back = runner.invoke(
        app, ["docs", "diff", doc_id, "--from", FLU_NEW_VERSION, "--to", "2025年版", "--json"]
    )
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["summary"] == {
        "added": 1,
        "removed": 0,
        "changed": 2,
        "moved": 0,
    }

    unknown_doc = runner.invoke(app, ["docs", "diff", "zh-no-such-doc", "--json"])
    assert unknown_doc.exit_code == 2 and unknown_doc.stdout == ""
    assert "No document with id 'zh-no-such-doc'" in unknown_doc.stderr
    unknown_version = runner.invoke(app, ["docs", "diff", doc_id, "--from", "2019年版"])
    assert unknown_version.exit_code == 2 and unknown_version.stdout == ""
    assert "--from '2019年版' is not a version" in unknown_version.stderr
    assert FLU_NEW_VERSION in unknown_version.stderr
