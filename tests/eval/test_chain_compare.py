"""Ours vs the plain LangChain answer chain under the scripted stand-in (issue 7 items 3 and 4).

A corpus of a few passages (fast to index); the same items run three ways: without an LLM
endpoint (the chain is not run), with faithful scripted answers, and with unfaithful ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from eval.chain_compare import NOT_RUN, ChainRow, parse_plain_answer, summarise
from eval.corpora import Corpus
from eval.harness import EvalRun, run_items
from eval.items import EvalItem, Passage
from eval.report import write_report

PASSAGES = [
    Passage(
        doc_id="flu-antivirals",
        title="Influenza antiviral treatment",
        text="Oseltamivir for adults with influenza is 75 mg twice daily for 5 days. "
        "Antiviral treatment should start within 48 hours of symptom onset. "
        "Children weighing more than 40 kg receive the adult dose of 75 mg.",
    ),
    Passage(
        doc_id="hand-hygiene",
        title="Outpatient hand hygiene",
        text="Perform hand hygiene before and after touching a patient. "
        "Alcohol-based hand rub should contain 60 percent to 95 percent alcohol. "
        "Wash hands with soap and water for at least 20 seconds when visibly soiled.",
    ),
    Passage(
        doc_id="rabies-zh",
        title="狂犬病暴露处置",
        language="zh",
        text="狂犬病暴露后应立即用肥皂水和流动清水交替清洗伤口至少15分钟。"
        "三级暴露者应在伤口周围浸润注射狂犬病被动免疫制剂。"
        "狂犬病疫苗按0、3、7、14和28天程序各接种1剂。",
    ),
]
ITEMS = [
    EvalItem(
        id="en-dose",
        question="What is the oseltamivir dose for adults with influenza?",
        language="en",
        dataset="mini",
        answer_phrase="75 mg twice daily",
    ),
    EvalItem(
        id="en-rub",
        question="What alcohol concentration should a hand rub contain?",
        language="en",
        dataset="mini",
        answer_phrase="60 percent to 95 percent",
    ),
    EvalItem(
        id="zh-wash",
        question="狂犬病暴露后伤口应该清洗多久？",
        language="zh",
        dataset="mini",
        answer_phrase="至少15分钟",
    ),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EvalRun]:
    cache = tmp_path_factory.mktemp("cache")
    settings = Settings(data_dir=tmp_path_factory.mktemp("unused"))
    corpus = Corpus(name="chain-mini", passages=PASSAGES)
    out = {}
    for generation in ("configured", "standin-faithful", "standin-unfaithful"):
        out[generation] = run_items(
            "mini",
            corpus=corpus,
            items=ITEMS,
            settings=settings,
            cache_dir=cache,
            generation=generation,
            unfaithful_share=1.0,
        )
    return out


def test_without_an_endpoint_the_chain_is_reported_not_run(runs: dict[str, EvalRun]) -> None:
    run = runs["configured"]
    assert run.generation == "extractive"
    block = run.extra["answer_comparison"]
    assert block["plain_chain"] == NOT_RUN == "not run (no LLM endpoint)"
    assert block["ours"]["n_items"] == len(ITEMS)


def test_faithful_answers_are_generative_and_supported_in_both(runs: dict[str, EvalRun]) -> None:
    run = runs["standin-faithful"]
    assert run.generation == "standin-faithful"
    assert "generative" in {row.mode for row in run.answer_rows}
    block = run.extra["answer_comparison"]
    plain = block["plain_chain"]
    assert plain["n_items"] == len(ITEMS)
    assert plain["answered"] == len(ITEMS)
    assert plain["sentences"] >= len(ITEMS)
    assert plain["unsupported_cited_sentences"] == 0
    assert block["ours"]["unsupported_cited_sentences"] == 0
    assert plain["latency_ms"]["p50"] is not None


def test_unfaithful_answers_fool_the_plain_chain_but_not_ours(runs: dict[str, EvalRun]) -> None:
    block = runs["standin-unfaithful"].extra["answer_comparison"]
    plain, ours = block["plain_chain"], block["ours"]
    # Every scripted sentence was falsified: the plain chain shows them all, unverified.
    assert plain["unsupported_cited_sentences"] == plain["sentences"] > 0
    assert plain["citations"]["precision"] == 0.0
    # Ours flags them and falls back to the extractive answer (policy strict).
    assert ours["unsupported_cited_sentences"] == 0
    assert ours["citations"]["precision"] == 1.0
    modes = {row.mode for row in runs["standin-unfaithful"].answer_rows}
    assert "generative" not in modes


def test_report_has_the_comparison_section(runs: dict[str, EvalRun], tmp_path: Path) -> None:
    write_report([runs["standin-unfaithful"]], tmp_path)
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Ours vs the plain LangChain answer chain" in report
    assert "Answers from **standin-unfaithful**" in report
    assert "| plain LangChain chain |" in report
    write_report([runs["configured"]], tmp_path / "x")
    assert "not run (no LLM endpoint)" in (tmp_path / "x" / "report.md").read_text("utf-8")


def test_plain_answer_parsing_and_summary() -> None:
    pairs = parse_plain_answer("成人每次75毫克 [1]。Start within 48 hours [2][3]. No marker here.")
    assert [c for _, c in pairs] == [[1], [2, 3], []]
    rows = [
        ChainRow(id="a", language="en", out_of_scope=False, answered=True, sentences=2,
                 cited_sentences=2, supported_sentences=1, citations=3, supported_citations=1,
                 latency_ms=10.0),
        ChainRow(id="b", language="zh", out_of_scope=True, answered=True, sentences=1,
                 latency_ms=30.0),
    ]  # fmt: skip
    summary = summarise(rows)
    assert summary["unsupported_cited_sentences"] == 1
    assert summary["uncited_sentences"] == 1
    assert summary["answered_out_of_scope"] == 1
    assert summary["citations"] == {"precision": 0.3333, "recall": 0.3333}
    assert summary["latency_ms"] == {"p50": 10.0, "p95": 30.0}
