"""The evaluation harness end to end on a small fixed slice, and the CI regression guard
(issue 7 item 8): real Qdrant Edge, the packaged MiniLM, SQLite audit and Casbin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.domain import Source
from eval.corpora import DATASETS_DIR, Corpus, golden_items
from eval.datasets.pubmedqa import load_pubmedqa
from eval.golden import DEFAULT_CORPUS_DIR
from eval.harness import EvalRun, compute_metrics, is_gold, run_items
from eval.items import EvalItem
from eval.report import goal_gaps, write_report

BASELINE = Path(__file__).parents[2] / "eval" / "baseline_metrics.json"
# The CI slice: the golden questions over two short Chinese guidelines (+ the first
# out-of-scope ones), and the first PubMedQA items with their own abstracts as the corpus.
SLICE_DOCS = ("儿童腺病毒肺炎诊疗规范（2019年版）.txt", "常见动物致伤诊疗规范（2021年版）.txt")
N_GOLDEN, N_PUBMEDQA = 20, 30
TOLERANCE = 0.05
RATE_KEYS = ("citations", "refusal")


def golden_slice() -> tuple[Corpus, list[EvalItem]]:
    """The fixed golden slice and a corpus of just its documents (fast to index)."""
    items = golden_items()
    # Cross-lingual items first so the English side of the slice is not empty.
    in_scope = sorted(
        (i for i in items if i.extra["expected_doc"] in SLICE_DOCS),
        key=lambda i: not i.cross_lingual,
    )
    refused = {
        lang: [i for i in items if i.out_of_scope and i.language == lang] for lang in ("zh", "en")
    }
    chosen = in_scope[: N_GOLDEN - 6] + refused["zh"][:3] + refused["en"][:3]
    files = [DEFAULT_CORPUS_DIR / "zh" / name for name in SLICE_DOCS]
    return Corpus(name="golden-ci", files=files), chosen


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EvalRun]:
    cache = tmp_path_factory.mktemp("eval-cache")
    settings = Settings(data_dir=tmp_path_factory.mktemp("unused-data-dir"))
    corpus, items = golden_slice()
    golden = run_items("golden", corpus=corpus, items=items, settings=settings, cache_dir=cache)
    passages, pitems = load_pubmedqa(limit=N_PUBMEDQA)
    pubmed = run_items(
        "pubmedqa",
        corpus=Corpus(name="pubmedqa-ci", passages=passages),
        items=pitems,
        settings=settings,
        cache_dir=cache,
        embedder=None,
    )
    return {"golden": golden, "pubmedqa": pubmed}


def _check_rates(block: dict[str, Any]) -> None:
    for channel, metrics in block["retrieval"].items():
        for key, value in metrics.items():
            assert value is None or 0.0 <= value <= 1.0, (channel, key, value)
    for group in RATE_KEYS:
        for key, value in block[group].items():
            assert value is None or 0.0 <= value <= 1.0, (group, key, value)
    assert isinstance(block["leaks"]["identifiers"], int)
    assert isinstance(block["leaks"]["restricted_chunks"], int)


@pytest.mark.parametrize("dataset", ["golden", "pubmedqa"])
def test_metrics_follow_the_issue_schema(runs: dict[str, EvalRun], dataset: str) -> None:
    metrics = compute_metrics(runs[dataset])
    assert set(metrics) == {
        "dataset", "n_items", "retrieval", "citations", "refusal", "leaks", "latency_ms",
        "by_language", "by_split", "answer_hit", "answer_hit_same_language",
        "answer_hit_incl_refused", "offtopic_sentence_rate", "wrong_subject_doses",
        "same_language_recall@5", "cross_lingual_recall@5", "cross_lingual_recall@5_without_table",
    }  # fmt: skip
    assert metrics["dataset"] == dataset
    assert set(metrics["retrieval"]) == {"sparse", "dense", "hybrid"}
    assert set(metrics["retrieval"]["hybrid"]) == {
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr",
        "ndcg@10",
    }
    assert set(metrics["by_language"]) == {"zh", "en"}
    _check_rates(metrics)
    for block in metrics["by_language"].values():
        _check_rates(block)
    assert metrics["latency_ms"]["p50"] <= metrics["latency_ms"]["p95"]


def test_slice_sizes_and_language_split(runs: dict[str, EvalRun]) -> None:
    golden = compute_metrics(runs["golden"])
    assert golden["n_items"] == N_GOLDEN
    assert (
        golden["by_language"]["zh"]["n_items"] + golden["by_language"]["en"]["n_items"] == N_GOLDEN
    )
    assert compute_metrics(runs["pubmedqa"])["n_items"] == N_PUBMEDQA
    # PubMedQA is English only: its zh block has nothing to report.
    assert compute_metrics(runs["pubmedqa"])["by_language"]["zh"]["citations"]["precision"] is None
    # Golden items carry a tune/holdout label; the halves partition the slice.
    halves = golden["by_split"]
    assert set(halves) == {"tune", "holdout"}
    assert halves["tune"]["n_items"] + halves["holdout"]["n_items"] == N_GOLDEN
    for half in halves.values():
        _check_rates(half)
    assert compute_metrics(runs["pubmedqa"])["by_split"] == {}


def test_answer_quality_measures_are_reported(runs: dict[str, EvalRun]) -> None:
    metrics = compute_metrics(runs["golden"])
    for key in ("answer_hit", "answer_hit_incl_refused", "offtopic_sentence_rate"):
        assert metrics[key] is None or 0.0 <= metrics[key] <= 1.0, key
    assert isinstance(metrics["wrong_subject_doses"], int)
    rows = runs["golden"].answer_rows
    assert metrics["wrong_subject_doses"] == sum(r.wrong_subject_doses for r in rows)
    # Every in-scope slice item has a phrase, so each answered one is scored for a hit.
    answered = [r for r in rows if not r.out_of_scope and r.mode not in ("refused", "error")]
    assert all(r.answer_hit is not None for r in answered)
    # The slice's documents are indexed, so in-scope shown sentences are judged for topic.
    assert all(r.offtopic_scored == r.shown_sentences for r in rows if not r.out_of_scope)


@pytest.mark.parametrize("dataset", ["golden", "pubmedqa"])
def test_no_regression_against_recorded_baseline(runs: dict[str, EvalRun], dataset: str) -> None:
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))[dataset]
    metrics = compute_metrics(runs[dataset])
    recall = metrics["retrieval"]["hybrid"]["recall@5"]
    precision = metrics["citations"]["precision"]
    assert recall >= baseline["hybrid_recall@5"] - TOLERANCE, (recall, baseline)
    assert precision >= baseline["citation_precision"] - TOLERANCE, (precision, baseline)


def test_out_of_scope_questions_are_refused_and_nothing_leaks(runs: dict[str, EvalRun]) -> None:
    rows = runs["golden"].answer_rows
    oos = [r for r in rows if r.out_of_scope]
    assert len(oos) == 6
    assert sum(r.mode == "refused" for r in oos) >= 4
    assert sum(r.restricted_chunks for r in rows) == 0
    assert [r.id for r in rows if r.error] == []


def test_report_writes_metrics_markdown_and_plots(runs: dict[str, EvalRun], tmp_path: Path) -> None:
    written = write_report([runs["golden"]], tmp_path)
    stored = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    assert stored == written["golden"]
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    hybrid = stored["retrieval"]["hybrid"]
    assert f"| hybrid | all | {hybrid['recall@1']:.3f} | {hybrid['recall@5']:.3f}" in report
    assert "## Against the goals" in report
    for png in ("recall_at_k.png", "latency.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _source(n: int, text: str, doc_id: str = "doc") -> Source:
    return Source(n=n, doc_id=doc_id, title="t", library="hospital", text=text)


def test_gold_is_the_phrase_for_golden_and_the_document_otherwise() -> None:
    phrased = EvalItem(
        id="g", question="q", language="zh", dataset="golden", answer_phrase="每日2次"
    )
    assert is_gold(phrased, _source(1, "成人每次75mg，每日 2 次"))
    assert not is_gold(phrased, _source(1, "每日3次", doc_id="doc"))
    by_doc = EvalItem(id="p", question="q", language="en", dataset="pubmedqa", gold_doc_ids=("a",))
    assert is_gold(by_doc, _source(1, "anything", doc_id="a"))
    assert not is_gold(by_doc, _source(1, "anything", doc_id="b"))


def test_goal_gaps_name_each_shortfall() -> None:
    metrics = {
        "retrieval": {"hybrid": {"recall@5": 0.8}},
        "citations": {"precision": 0.99},
        "refusal": {"recall": 0.5},
        "leaks": {"identifiers": 1, "restricted_chunks": 0},
    }
    gaps = goal_gaps(metrics)
    assert gaps[0].startswith("golden recall@5 (hybrid): 0.800 < goal 0.90")
    assert gaps[1].startswith("out-of-scope refusal recall: 0.500")
    assert "leaks" in gaps[2]
    assert len(gaps) == 3


def test_shipped_datasets_are_small_and_attributed() -> None:
    assert sum(1 for _ in (DATASETS_DIR / "pubmedqa.jsonl").open()) <= 300
    assert sum(1 for _ in (DATASETS_DIR / "medquad.jsonl").open()) <= 500
    readme = (DATASETS_DIR / "README.md").read_text(encoding="utf-8")
    assert "Jin et al" in readme and "Ben Abacha" in readme
