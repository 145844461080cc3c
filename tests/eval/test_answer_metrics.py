"""Issue #10 answer-quality measures on hand-built answers: what is shown, hits, off-topic
sentences, wrong-subject doses, cross-lingual recall, refusals, and the tune/holdout split."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.domain import Answer, AnswerMode, AnswerSentence, Source
from eval.harness import (
    EvalRun,
    compute_metrics,
    count_offtopic,
    count_wrong_subject_doses,
    find_answer_hit,
    gold_documents,
    is_dosing_sentence,
    score_answer,
    shown_sentences,
)
from eval.items import EvalItem
from eval.report import format_markdown, format_summary, goal_gaps
from eval.retrieval_eval import ItemResult

FLU = "流行性感冒诊疗方案（2025年版）.txt"


def _item(
    item_id: str = "zh-flu-01",
    *,
    phrase: str | None = "成人剂量每次75mg，每日2次",
    subject: tuple[str, ...] = ("奥司他韦", "oseltamivir"),
    split: str = "holdout",
    out_of_scope: bool = False,
    cross_lingual: bool = False,
    language: str = "zh",
) -> EvalItem:
    return EvalItem(
        id=item_id,
        question="成人流感用奥司他韦，一次吃多少？",
        language=language,
        dataset="golden",
        answer_phrase=None if out_of_scope else phrase,
        out_of_scope=out_of_scope,
        cross_lingual=cross_lingual,
        extra={
            "expected_doc": None if out_of_scope else FLU,
            "subject": list(subject),
            "split": split,
        },
    )


def _source(n: int, doc_id: str = "zh-flu", text: str = "passage") -> Source:
    return Source(n=n, doc_id=doc_id, title=doc_id, library="hospital", text=text)


def _answer(
    *sentences: tuple[str, list[int], bool],
    mode: AnswerMode = AnswerMode.EXTRACTIVE,
    sources: list[Source] | None = None,
) -> Answer:
    return Answer(
        session_id="s",
        mode=mode,
        sentences=[
            AnswerSentence(text=text, citations=cites, supported=ok)
            for text, cites, ok in sentences
        ],
        sources=sources if sources is not None else [_source(1), _source(2, doc_id="zh-covid")],
    )


# --- dosing sentences -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "成人剂量每次75mg，每日2次。",
        "帕拉米韦儿童每次10mg/kg体重，静脉滴注。",
        "低分子肝素80-100IU/kg/次。",
        "Offer naloxone when the dose reaches ≥50 MME/day.",
        "Give 0.4 mcg per kg.",
        "每次1片，每日3次。",
        "Take 2 tablets every 6 hours.",
        "输注剂量为200～500ml（4～5ml/kg）。",
    ],
)
def test_a_number_with_a_dose_unit_is_a_dosing_sentence(text: str) -> None:
    assert is_dosing_sentence(text)


@pytest.mark.parametrize(
    "text",
    [
        "LDL-C 目标值：极高危<1.8mmol/L（70mg/dl）。",  # a concentration, not a dose
        "血清AFP≥400ng/mL 高度提示肝癌。",
        "体重≥80kg 的患者。",
        "发病48小时内进行抗病毒治疗获益最大。",
        "3支气管扩张。",  # 支 of 支气管 is not a vial count
        "Recommendation 12 applies to 2022.",
    ],
)
def test_concentrations_weights_and_times_are_not_doses(text: str) -> None:
    assert not is_dosing_sentence(text)


# --- what is shown ----------------------------------------------------------------------


def test_only_supported_sentences_of_an_answer_are_shown() -> None:
    answer = _answer(
        ("奥司他韦成人剂量每次75mg，每日2次。", [1], True), ("未核实的句子。", [1], False)
    )
    assert [s.text for s in shown_sentences(answer)] == ["奥司他韦成人剂量每次75mg，每日2次。"]


@pytest.mark.parametrize("mode", [AnswerMode.REFUSED, AnswerMode.DENIED])
def test_a_refused_answer_shows_nothing(mode: AnswerMode) -> None:
    answer = _answer(("帕拉米韦一般用量为300mg。", [1], True), mode=mode)
    assert shown_sentences(answer) == []
    row = score_answer(_item(), answer, gold_docs=frozenset({"zh-flu"}))
    assert (row.shown_sentences, row.wrong_subject_doses, row.dosing_sentences) == (0, 0, 0)
    assert row.offtopic_scored == 0 and row.answer_hit is False


# --- wrong-subject doses ----------------------------------------------------------------


def test_a_dose_sentence_naming_another_drug_counts_once() -> None:
    shown = shown_sentences(
        _answer(
            ("奥司他韦成人剂量每次75mg，每日2次。", [1], True),
            ("帕拉米韦成人一般用量为300mg，单次静脉滴注。", [1], True),
            ("流感大多为自限性。", [1], True),
        )
    )
    assert count_wrong_subject_doses(_item(), shown) == 1


def test_subject_names_match_in_either_language_and_any_case() -> None:
    shown = shown_sentences(_answer(("OSELTAMIVIR 75 mg twice daily.", [1], True)))
    assert count_wrong_subject_doses(_item(), shown) == 0
    # A dose sentence with no subject at all is about another drug as far as a reader knows.
    bare = shown_sentences(_answer(("每次75mg，每日2次。", [1], True)))
    assert count_wrong_subject_doses(_item(), bare) == 1


def test_a_bare_dose_under_a_shown_sentence_naming_the_subject_is_about_it() -> None:
    # The composer shows the sentence naming the drug before the dose that only implies it.
    shown = shown_sentences(
        _answer(
            ("奥司他韦：奥司他韦胶囊适用于1岁及以上儿童及成人。", [1], True),
            ("成人剂量每次75mg，每日2次。", [1], True),
        )
    )
    assert count_wrong_subject_doses(_item(), shown) == 0
    # From another source the name says nothing about the dose.
    other_source = shown_sentences(
        _answer(
            ("奥司他韦：奥司他韦胶囊适用于1岁及以上儿童及成人。", [1], True),
            ("成人剂量每次75mg，每日2次。", [2], True),
        )
    )
    assert count_wrong_subject_doses(_item(), other_source) == 1


def test_every_shown_dose_counts_for_an_out_of_scope_item() -> None:
    probe = _item("en-oos-dose-01", subject=("metoprolol", "美托洛尔"), out_of_scope=True)
    shown = shown_sentences(
        _answer(
            ("Metoprolol 25 mg daily.", [1], True),
            ("Hydrocodone 5 mg every 4 hours.", [1], True),
            ("Beta blockers are used in heart failure.", [1], True),
        )
    )
    assert count_wrong_subject_doses(probe, shown) == 2


def test_an_unlabelled_in_scope_item_is_not_scored_for_subject() -> None:
    unlabelled = _item(subject=())
    shown = shown_sentences(_answer(("每次75mg。", [1], True)))
    assert count_wrong_subject_doses(unlabelled, shown) == 0


# --- answer hit and off-topic sentences -------------------------------------------------


def test_answer_hit_needs_the_phrase_in_a_shown_sentence() -> None:
    item = _item()
    hit = _answer(("奥司他韦成人剂量每次 75mg，每日 2 次。", [1], True))
    assert find_answer_hit(item, shown_sentences(hit))
    hidden = _answer(("奥司他韦成人剂量每次75mg，每日2次。", [1], False))
    assert not find_answer_hit(item, shown_sentences(hidden))
    # A phrase split by the sentence splitter across two shown sentences still counts.
    split = _answer(("成人剂量每次75mg，", [1], True), ("每日2次。", [1], True))
    assert find_answer_hit(item, shown_sentences(split))


def test_offtopic_counts_shown_sentences_citing_another_document() -> None:
    sources = [_source(1), _source(2, doc_id="zh-covid"), _source(3)]
    shown = shown_sentences(
        _answer(
            ("奥司他韦每次75mg。", [1], True),
            ("奈玛特韦300mg。", [2], True),
            ("两者合用。", [1, 2], True),
            ("未显示。", [2], False),
            sources=sources,
        )
    )
    assert count_offtopic(shown, sources, gold_docs=frozenset({"zh-flu"})) == 2


def test_gold_documents_map_the_expected_file_to_its_doc_id() -> None:
    assert gold_documents(_item(), {FLU: "zh-flu"}) == frozenset({"zh-flu"})
    assert gold_documents(_item(), {}) == frozenset()
    by_doc = EvalItem(id="p", question="q", language="en", dataset="pubmedqa", gold_doc_ids=("a",))
    assert gold_documents(by_doc, {}) == frozenset({"a"})


# --- metrics.json ------------------------------------------------------------------------


def _retrieval(item: EvalItem, rank: int | None) -> ItemResult:
    return ItemResult(
        id=item.id,
        language=item.language,
        channel="hybrid",
        out_of_scope=item.out_of_scope,
        cross_lingual=item.cross_lingual,
        rank=rank,
        relevant=True,
        best_dense=None,
        best_sparse=None,
        term_coverage=1.0,
        elapsed_ms=1.0,
    )


def _run() -> EvalRun:
    gold = frozenset({"zh-flu"})
    same = _item("zh-flu-01", split="holdout")
    same_tune = _item("zh-flu-02", split="tune")
    crossing = _item("en-xl-flu-01", split="holdout", cross_lingual=True, language="en")
    refused_in_scope = _item("zh-flu-03", split="holdout")
    probe = _item("zh-oos-dose-01", subject=("胺碘酮", "amiodarone"), out_of_scope=True)
    oos_refused = _item("zh-oos-01", out_of_scope=True, split="tune")
    answers = [
        score_answer(
            same,
            _answer(
                ("奥司他韦成人剂量每次75mg，每日2次。", [1], True), ("奈玛特韦300mg。", [2], True)
            ),
            gold_docs=gold,
        ),
        score_answer(same_tune, _answer(("流感是急性呼吸道传染病。", [1], True)), gold_docs=gold),
        score_answer(crossing, _answer(("每日2次，疗程5天。", [1], True)), gold_docs=gold),
        score_answer(refused_in_scope, _answer(mode=AnswerMode.REFUSED), gold_docs=gold),
        score_answer(probe, _answer(("帕拉米韦一般用量为300mg。", [1], True))),
        score_answer(oos_refused, _answer(mode=AnswerMode.REFUSED)),
    ]
    items = [same, same_tune, crossing, refused_in_scope, probe, oos_refused]
    retrieval = [
        _retrieval(same, 1),
        _retrieval(same_tune, 7),
        _retrieval(crossing, None),
        _retrieval(refused_in_scope, 2),
        _retrieval(probe, None),
        _retrieval(oos_refused, None),
    ]
    return EvalRun(
        dataset="golden",
        items=items,
        retrieval_rows=retrieval,
        answer_rows=answers,
        generation="extractive",
        index_dir="",
        index_build_s=0.0,
    )


def test_metrics_count_hits_offtopic_doses_and_refusals() -> None:
    metrics = compute_metrics(_run())
    # Answered in-scope: zh-flu-01 hits, zh-flu-02 misses, en-xl-flu-01 misses the phrase.
    assert metrics["answer_hit"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["answer_hit_same_language"] == 0.5
    assert metrics["answer_hit_incl_refused"] == 0.25
    # Shown in-scope sentences: 2 + 1 + 1, one of them (奈玛特韦) cites the COVID protocol.
    assert metrics["offtopic_sentence_rate"] == 0.25
    # 奈玛特韦300mg (in scope, no oseltamivir) and 帕拉米韦 300mg (the probe's shown dose).
    assert metrics["wrong_subject_doses"] == 2
    assert metrics["same_language_recall@5"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["cross_lingual_recall@5"] == 0.0
    assert metrics["refusal"] == {
        "precision": 0.5,
        "recall": 0.5,
        "in_scope_wrongly_refused": 0.25,
    }


def test_metrics_split_into_tune_and_holdout() -> None:
    metrics = compute_metrics(_run())
    tune, holdout = metrics["by_split"]["tune"], metrics["by_split"]["holdout"]
    assert (tune["n_items"], holdout["n_items"]) == (2, 4)
    assert holdout["wrong_subject_doses"] == 2 and tune["wrong_subject_doses"] == 0
    assert holdout["answer_hit_same_language"] == 1.0
    assert tune["refusal"]["recall"] == 1.0 and holdout["refusal"]["recall"] == 0.0
    assert holdout["by_language"]["en"]["cross_lingual_recall@5"] == 0.0
    assert holdout["by_language"]["zh"]["cross_lingual_recall@5"] is None


def test_goal_gaps_judge_issue_targets_on_the_holdout_half() -> None:
    metrics: dict[str, Any] = compute_metrics(_run())
    gaps = goal_gaps(metrics)
    assert "wrong-subject dosing sentences (holdout): 2 > goal 0" in gaps
    assert any(g.startswith("cross-lingual recall@5 (holdout): 0.000") for g in gaps)
    assert any(g.startswith("off-topic sentence rate (holdout)") for g in gaps)


def test_report_shows_the_answer_quality_table_per_split() -> None:
    run = _run()
    metrics = compute_metrics(run)
    extra: dict[str, Any] = {
        "generation": "extractive",
        "modes": {},
        "gold_citation_precision": None,
    }
    report = format_markdown(metrics, extra)
    assert "## Answer quality (issue #10)" in report
    assert "| holdout | all | 4 | 0.500 | 1.000 | 0.333 |" in report
    assert "| tune | zh | 2 |" in report
    assert "wrong-subject doses 2" in format_summary(metrics)
