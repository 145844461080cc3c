"""`guidecite ask` and `guidecite search` (issue #3 item 9, DESIGN.md §4 and §6)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.domain import AuditEvent
from assistant.store_edge import EdgeStore
from ui.cli import app
from ui.cli.common import operator_name

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ANSWER_KEYS = {
    "answer_id", "session_id", "mode", "sentences", "sources", "flags", "redactions",
    "audit_event_id", "timings_ms", "dropped", "refusal", "related", "subject", "aspect",
    "conflicts",
}  # fmt: skip
SOURCE_KEYS = {"n", "doc_id", "title", "version", "section", "page", "page_label", "library",
               "text", "score", "grade"}  # fmt: skip
SENTENCE_KEYS = {"text", "citations", "supported", "support_score", "faithful", "responsive",
                 "language"}  # fmt: skip

runner = CliRunner()


@pytest.fixture
def library_with_user(corpus_dir: Path) -> None:
    """The flu guideline in `hospital`, and a doctor account `dr.li` in cardiology."""
    result = runner.invoke(app, ["ingest", str(corpus_dir / FLU), "--library", "hospital"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["init"]).exit_code == 0
    added = runner.invoke(
        app,
        ["users", "add", "dr.li", "--role", "doctor", "--dept", "cardiology"],
        input="correct horse battery staple\n",
    )
    assert added.exit_code == 0, added.output


def test_ask_json_has_exactly_the_answer_shape(library_with_user: None) -> None:
    result = runner.invoke(
        app, ["ask", "流感患者奥司他韦的成人剂量是多少？", "--user", "dr.li", "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert set(answer) == ANSWER_KEYS
    assert answer["mode"] == "extractive"  # no LLM endpoint configured
    assert answer["sentences"] and all(set(s) == SENTENCE_KEYS for s in answer["sentences"])
    assert all(set(s) == SOURCE_KEYS for s in answer["sources"])
    assert set(answer["timings_ms"]) == {"retrieve", "generate", "verify", "total"}
    assert "75mg" in "".join(s["text"] for s in answer["sentences"]).replace(" ", "")
    # The audit row it names holds the redacted question and the operator behind the CLI.
    events = {e.id: e for e in open_audit_log(get_settings()).iter_events()}
    event = events[answer["audit_event_id"]]
    assert (event.actor, event.action, event.outcome) == ("dr.li", "ask", "extractive")
    assert event.detail_json["via"].startswith("cli:")


def test_ask_with_the_model_and_from_stdin(library_with_user: None, sglang_env) -> None:
    # Generated answers need a current ethics approval for the department (issue 6).
    officer = ["users", "add", "ethics", "--role", "compliance_officer", "--dept", "cardiology"]
    assert runner.invoke(app, officer, input="correct horse battery staple\n").exit_code == 0
    approve = ["gates", "approve", "--dept", "cardiology", "--ref", "IRB-T", "--expires"]
    assert runner.invoke(app, [*approve, "2099-01-01", "--by", "ethics"]).exit_code == 0
    result = runner.invoke(
        app,
        ["ask", "--question-file", "-", "--user", "dr.li", "--json"],
        input="流感的传播途径是什么？\n",
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["mode"] == "generative", (answer["flags"], answer["dropped"])
    assert all(s["supported"] for s in answer["sentences"])
    assert sglang_env.requests, "the stand-in was called"


def test_search_json_and_readable_output(library_with_user: None) -> None:
    args = ["search", "奥司他韦 剂量", "--user", "dr.li", "--json", "--k", "3"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"sources"} and 1 <= len(data["sources"]) <= 3
    assert all(set(s) == SOURCE_KEYS for s in data["sources"])
    assert data["sources"][0]["title"] == "流行性感冒诊疗方案"
    readable = runner.invoke(app, ["ask", "流感的传播途径", "--user", "dr.li"])
    assert readable.exit_code == 0 and "[1]" in readable.stdout


def test_unknown_user_and_bad_input_exit_codes(library_with_user: None) -> None:
    unknown = runner.invoke(app, ["ask", "流感", "--user", "nobody", "--json"])
    assert unknown.exit_code == 3 and unknown.stdout == ""
    assert "nobody" in unknown.stderr
    too_long = runner.invoke(app, ["ask", "流" * 4001, "--user", "dr.li", "--json"])
    assert too_long.exit_code == 2 and "4000" in too_long.stderr
    empty = runner.invoke(app, ["ask", "   ", "--user", "dr.li"])
    assert empty.exit_code == 2
    no_question = runner.invoke(app, ["ask", "--user", "dr.li"])
    assert no_question.exit_code == 2
    bad_policy = runner.invoke(app, ["ask", "流感", "--user", "dr.li", "--policy", "lenient"])
    assert bad_policy.exit_code == 2 and "--policy" in bad_policy.stderr
    annotate = runner.invoke(app, ["ask", "流感", "--user", "dr.li", "--policy", "annotate"])
    assert annotate.exit_code == 0, annotate.stderr
    runner.invoke(app, ["users", "disable", "dr.li"])
    disabled = runner.invoke(app, ["ask", "流感", "--user", "dr.li"])
    assert disabled.exit_code == 3 and "disabled" in disabled.stderr


@pytest.mark.parametrize("command", ["ask", "search"])
def test_unknown_and_disabled_users_are_denied_rows_of_the_operator(
    library_with_user: None, command: str
) -> None:
    # DESIGN §6 (issue #12): `ask --user nobody` wrote no audit row while `--by nobody` did.
    added = ["users", "add", "dr.zhao", "--role", "doctor", "--dept", "cardiology"]
    assert runner.invoke(app, added, input="correct horse battery staple\n").exit_code == 0
    assert runner.invoke(app, ["users", "disable", "dr.zhao"]).exit_code == 0
    for name, reason in (("nobody", "unknown_user"), ("dr.zhao", "disabled")):
        result = runner.invoke(app, [command, "流感", "--user", name, "--library", "hospital"])
        assert result.exit_code == 3 and result.stdout == "", result.output
        denied = list(open_audit_log(get_settings()).iter_events())[-1]
        assert (denied.actor, denied.role, denied.department) == (operator_name(), "operator", "*")
        assert (denied.action, denied.object, denied.outcome) == (
            command,
            "library:hospital",
            "denied",
        )
        assert denied.detail_json["claimed_user"] == name
        assert denied.detail_json["reason"] == reason
        assert denied.session_id.startswith("op-")
    actors = {e.actor for e in open_audit_log(get_settings()).iter_events()}
    assert "nobody" not in actors  # untrusted text never becomes an actor


@pytest.fixture
def doctor_without_library() -> None:
    """A doctor account `dr.wu` in cardiology (no documents needed: the store is never read)."""
    assert runner.invoke(app, ["init"]).exit_code == 0
    added = runner.invoke(
        app,
        ["users", "add", "dr.wu", "--role", "doctor", "--dept", "cardiology"],
        input="correct horse battery staple\n",
    )
    assert added.exit_code == 0, added.output


def _unavailable_events() -> list[AuditEvent]:
    events = open_audit_log(get_settings()).iter_events()
    return [e for e in events if e.outcome == "unavailable"]


@pytest.mark.parametrize("command", ["ask", "search"])
def test_refusal_because_the_store_is_held_is_audited(
    doctor_without_library: None, command: str
) -> None:
    # Issue #11 item 6: of 8 parallel asks, 7 were refused (exit 4) and left no audit row.
    mobile = f"139{uuid.uuid4().int % 10**8:08d}"
    question = f"患者{mobile}的奥司他韦剂量？\x1b[31m"
    with EdgeStore(settings=get_settings()):  # another process holds the embedded store
        result = runner.invoke(app, [command, question, "--user", "dr.wu", "--library", "hospital"])
    assert result.exit_code == 4, result.output
    assert "in use by another process" in result.stderr
    [event] = _unavailable_events()
    assert (event.actor, event.role, event.department) == ("dr.wu", "doctor", "cardiology")
    assert (event.action, event.object, event.outcome) == (
        command,
        "library:hospital",
        "unavailable",
    )
    assert event.detail_json["reason"] == "store_locked"
    assert event.detail_json["error"] == "StoreLocked"
    assert event.detail_json["question_chars"] == len("患者的奥司他韦剂量？") + len(mobile)
    assert event.detail_json["via"].startswith("cli:")
    assert mobile not in str(event.model_dump())  # lengths only: the text was never redacted
    assert open_audit_log(get_settings()).verify().ok


def test_refused_unknown_user_is_audited_as_the_operator(doctor_without_library: None) -> None:
    with EdgeStore(settings=get_settings()):
        result = runner.invoke(app, ["ask", "流感的治疗？", "--user", "dr.nobody"])
    assert result.exit_code == 4, result.output
    [event] = _unavailable_events()
    assert event.actor.startswith("cli:") and event.actor == event.detail_json["via"]
    assert event.detail_json["claimed_user"] == "dr.nobody"
    assert event.detail_json["user_refused"] == "unknown_user"


def test_refusal_prints_the_message_and_related_reading_not_sources(
    library_with_user: None,
) -> None:
    result = runner.invoke(
        app, ["ask", "What is the adult dose of hydrocodone?", "--user", "dr.li"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[refused]")
    # The message names what the library lacks (issue #10 items 2 and 5).
    assert "no passage about hydrocodone" in lines[1]
    heading = lines.index("Related reading (not an answer):")
    related = lines[heading + 1 :]
    assert related and related[0].startswith("- 流行性感冒诊疗方案") and "(hospital)" in related[0]
    # No numbered sources and no verified sentence: nothing here reads as an answer.
    assert not any(line.startswith(("[1]", "✓", "⚠")) for line in lines)
    [event] = [e for e in open_audit_log(get_settings()).iter_events(actions=["ask"])]
    assert event.outcome == "refused" and event.detail_json["sources_shown"] is False
    assert event.detail_json["refusal"] == {
        "reason": "subject_not_found",
        "missing": ["hydrocodone"],
    }


def test_cross_lingual_sentence_says_where_it_is_quoted_from(library_with_user: None) -> None:
    question = "What is the oseltamivir dose for influenza in adults?"
    result = runner.invoke(app, ["ask", question, "--user", "dr.li"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("✓")]
    assert any("75mg" in line for line in lines)
    assert lines and all(line.endswith("(quoted from a guideline in Chinese)") for line in lines)


GRADED_NOTE = """# 流感抗病毒治疗

## 重症

重症流感患者应尽早使用奥司他韦抗病毒治疗（证据等级1，推荐A）。

## 轻症

无高危因素的轻症流感患者可以考虑使用奥司他韦（证据等级3，推荐C）。
"""


def test_search_filters_by_grade_strength(library_with_user: None, tmp_path: Path) -> None:
    note = tmp_path / "graded-flu.md"
    note.write_text(GRADED_NOTE, encoding="utf-8")
    ingested = runner.invoke(app, ["ingest", str(note), "--library", "hospital"])
    assert ingested.exit_code == 0, ingested.output
    base = ["search", "流感 奥司他韦 抗病毒治疗", "--user", "dr.li", "--json", "--k", "5"]

    unfiltered = json.loads(runner.invoke(app, base).stdout)["sources"]
    assert any(s["grade"] is None for s in unfiltered), "the flu guideline states no grades"

    strong = runner.invoke(app, [*base, "--strength", "strong"])
    assert strong.exit_code == 0, strong.output
    sources = json.loads(strong.stdout)["sources"]
    assert [s["n"] for s in sources] == [1]
    assert "重症流感患者" in sources[0]["text"]
    assert sources[0]["grade"] == {
        "strength": "strong",
        "certainty": "high",
        "original": "证据等级1，推荐A",
    }

    readable = runner.invoke(app, [a for a in base if a != "--json"] + ["--strength", "STRONG"])
    assert readable.exit_code == 0, readable.output
    assert readable.stdout.startswith("[1]") and "证据等级1，推荐A" in readable.stdout

    conditional = json.loads(runner.invoke(app, [*base, "--strength", "conditional"]).stdout)
    assert [s["grade"]["original"] for s in conditional["sources"]] == ["证据等级3，推荐C"]
    against = json.loads(runner.invoke(app, [*base, "--strength", "against"]).stdout)
    assert against["sources"] == []

    # The filter is recorded with the search.
    events = [e for e in open_audit_log(get_settings()).iter_events() if e.action == "search"]
    assert events[-1].detail_json["strength"] == "against"

    bad = runner.invoke(app, [*base, "--strength", "mild"])
    assert bad.exit_code == 2 and "mild" in bad.stderr


def test_libraries_gaps_lists_words_without_a_translation_the_library_holds(
    library_with_user: None,
) -> None:
    result = runner.invoke(app, ["libraries", "gaps", "--json", "--limit", "200"])
    assert result.exit_code == 0, result.output
    gaps = json.loads(result.stdout)
    listed = {g["term"]: g for g in gaps["zh"]}
    assert listed and all(g["language"] == "zh" and g["passages"] >= 3 for g in gaps["zh"])
    # The glossary pairs 奥司他韦 with oseltamivir, which the (Chinese) guideline writes too.
    assert "奥司他韦" not in listed
    # 诊疗 is the guideline's word for "diagnosis and treatment", which no passage here holds.
    assert listed["诊疗"]["candidates"] == ["diagnosis and treatment"]
    text = runner.invoke(app, ["libraries", "gaps", "--limit", "3"])
    assert text.exit_code == 0 and "zh: 3 words" in text.stdout, text.output
