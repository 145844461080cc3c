"""`guidecite bench` all-in-one (issue 7 item 7): small sections, figures reported not asserted."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.config import Settings
from assistant.embedding import load_dense_embedder
from eval.bench_all import (
    NO_POSTGRES,
    SECTIONS,
    BenchPlan,
    format_markdown,
    measure_wrapper_vs_chain,
    plan_for,
    quick_corpus,
    run_benchmarks,
)
from eval.corpora import Corpus
from eval.items import Passage
from ui.cli import app

PASSAGES = [
    Passage(
        doc_id="flu",
        title="Influenza",
        text="Oseltamivir for adults is 75 mg twice daily for 5 days. "
        "Treatment should start within 48 hours of symptom onset.",
    ),
    Passage(
        doc_id="flu-zh",
        title="流感",
        language="zh",
        text="成人奥司他韦每次75毫克，每日2次，疗程5天。发病48小时内开始抗病毒治疗。",
    ),
]


def test_quick_plan_shrinks_every_section() -> None:
    full, quick = plan_for(quick=False), plan_for(quick=True)
    assert full.synthetic == (10_000,) and quick.synthetic == ()
    assert (quick.sessions, quick.questions_per_session) == (2, 5)
    assert (full.sessions, full.questions_per_session) == (20, 25)
    for name in ("queries", "wrapper_queries", "audit_events", "wrapper_steps_n"):
        assert getattr(quick, name) < getattr(full, name)
    assert plan_for(quick=False, synthetic=[10_000, 100_000]).synthetic == (10_000, 100_000)


def test_quick_corpus_is_the_opening_of_two_guidelines(tmp_path: Path) -> None:
    corpus = quick_corpus(tmp_path)
    assert len(corpus.files) == 2
    for path in corpus.files:
        text = path.read_text(encoding="utf-8")
        assert 1_000 < len(text) <= 6_001
    assert corpus.fingerprint(Settings()) == quick_corpus(tmp_path / "again").fingerprint(
        Settings()
    )


def test_wrapper_vs_plain_chain_side_by_side(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "unused")
    questions = [
        "What is the oseltamivir dose for adults?",
        "奥司他韦成人剂量是多少？",
        "When should influenza treatment start?",
    ]
    result = measure_wrapper_vs_chain(
        settings=settings,
        corpus=Corpus(name="bench-mini", passages=PASSAGES),
        questions=questions,
        embedder=load_dense_embedder(settings.embedding),
        cache_dir=tmp_path / "cache",
        warmup=1,
    )
    assert result["queries"] == 3
    assert result["guidecite_answer_ms"]["n"] == result["plain_langchain_chain_ms"]["n"] == 3
    # One audited `ask` per question we answered (warm-up included); the chain audits nothing.
    assert result["ask_events"] == 4
    assert sum(result["guidecite_modes"].values()) == 3
    # The plain chain always calls the model; ours does unless it refuses first.
    assert result["model_requests"] >= 4 + result["guidecite_modes"].get("generative", 0)
    assert result["ratio_p50"] == pytest.approx(
        result["guidecite_answer_ms"]["p50"] / result["plain_langchain_chain_ms"]["p50"], abs=0.01
    )
    assert {"retrieve", "generate", "verify", "total"} <= set(result["guidecite_stages_p50_ms"])
    assert result["generative_pairs"]["n"] == result["guidecite_modes"].get("generative", 0)


def test_audit_section_notes_a_missing_postgres_and_unknown_sections_fail() -> None:
    plan = replace(plan_for(quick=True), sections=("audit",), audit_events=1000)
    run = run_benchmarks(settings=Settings(), plan=plan, database_url="")
    assert run.errors == {}
    audit = run.sections["audit"]
    assert audit["postgresql"] == NO_POSTGRES
    assert audit["sqlite"]["events"] == 1000
    assert set(run.memory) == {"after_audit"} and run.memory["after_audit"] > 0
    with pytest.raises(ValueError, match="unknown bench section"):
        run_benchmarks(settings=Settings(), plan=replace(plan, sections=("nope",)))


def test_a_failing_section_is_reported_and_the_others_still_run() -> None:
    plan = replace(plan_for(quick=True), sections=("audit",), audit_events=200)
    run = run_benchmarks(settings=Settings(), plan=plan, database_url="postgresql+psycopg://x@/")
    assert "audit" in run.errors
    markdown = format_markdown(run.as_json())
    assert "**failed:**" in markdown


def _fake_result() -> dict[str, Any]:
    pct = {"p50": 1.0, "p95": 2.0, "n": 3}
    return {
        "machine": "x86_64 2 cpu",
        "load_average": 1.0,
        "quick": True,
        "plan": BenchPlan().__dict__,
        "load": {
            "sessions": 2, "questions_per_session": 5, "faults_injected": {"none": 10},
            "requests": 10, "ask_events": 10, "lost_audit_events": 0, "chain_ok": True,
            "unclean": [], "ok": True, "outcomes": {"generative": 10},
            "total_ms": pct, "overhead_ms": pct, "requests_per_s": 3.0,
        },
        "wrapper": {
            "queries": 3, "guidecite_answer_ms": pct, "plain_langchain_chain_ms": pct,
            "overhead_p50_ms": 0.0, "overhead_p95_ms": 0.0, "ratio_p50": 1.0, "ratio_p95": 1.0,
            "guidecite_modes": {"generative": 3}, "ask_events": 3,
            "guidecite_stages_p50_ms": {"verify": 1.0},
            "generative_pairs": {"n": 3, "guidecite_p50_ms": 1.0, "plain_p50_ms": 1.0},
        },
        "peak_rss_mb": {"after_wrapper": 100.0, "after_load": 120.0},
        "errors": {"ingest": "RuntimeError: boom"},
    }  # fmt: skip


def test_markdown_has_a_section_per_result_and_the_memory() -> None:
    markdown = format_markdown(_fake_result())
    assert "## Compliance wrapper vs plain LangChain chain" in markdown
    assert "| plain LangChain chain | 1.0 | 2.0 |" in markdown
    assert "lost 0" in markdown and "**PASS**" in markdown
    assert "**failed:** RuntimeError: boom" in markdown
    assert "- this process after load: 120.0" in markdown
    assert "## Query path" not in markdown  # not run, not failed: not shown


def test_cli_bench_quick_audit_writes_json_and_markdown(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app, ["bench", "--quick", "--only", "audit", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    stored = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert printed == stored
    assert stored["quick"] is True and stored["plan"]["sections"] == ["audit"]
    assert stored["audit"]["sqlite"]["verify"] > 0
    if not os.environ.get("GUIDECITE_TEST_DATABASE_URL"):
        assert stored["audit"]["postgresql"] == NO_POSTGRES
    assert "## Audit trail" in (out / "bench.md").read_text(encoding="utf-8")


def test_cli_bench_rejects_bad_input_and_keeps_its_subcommands() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["bench", "--only", "nope"])
    assert bad.exit_code == 2
    assert f"unknown section(s) nope; choose from {', '.join(SECTIONS)}" in bad.output
    assert runner.invoke(app, ["bench", "--synthetic", "0"]).exit_code == 2
    help_text = runner.invoke(app, ["bench", "--help"])
    assert help_text.exit_code == 0
    assert "query" in help_text.output and "ingest" in help_text.output
    assert "--quick" in help_text.output
    assert runner.invoke(app, ["bench", "query", "--help"]).exit_code == 0
