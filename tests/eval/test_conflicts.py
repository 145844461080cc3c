"""Conflict-detection measurement (issue #17 §3): the constructed set and its precision/recall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import ConfigError
from eval.conflicts import ConflictItem, format_conflicts, load_conflict_items, measure_conflicts

DOSE = "奥司他韦：成人剂量每次 75mg，每日 2 次。"
ASK = "成人奥司他韦的剂量是多少？"
HYDRO = "The usual adult dosage of hydrocodone is one tablet every 4–6 hours as needed for pain."


def item(id_: str, question: str, a: str, b: str, *, conflict: bool) -> ConflictItem:
    return ConflictItem(
        id=id_,
        language="en" if question.isascii() else "zh",
        question=question,
        a={"doc_id": "a", "title": "A", "text": a},
        b={"doc_id": "b", "title": "B", "text": b},
        conflict=conflict,
        kind="test",
    )


def test_the_shipped_set_is_large_enough_and_bilingual() -> None:
    items = load_conflict_items()
    conflicting = [i for i in items if i.conflict]
    agreeing = [i for i in items if not i.conflict]
    assert len(conflicting) >= 20 and len(agreeing) >= 20
    assert {i.language for i in conflicting} == {"en", "zh"} == {i.language for i in agreeing}
    assert len({i.id for i in items}) == len(items)
    assert {"same_value", "other_population", "other_drug", "other_aspect"} <= {
        i.kind for i in agreeing
    }
    for pair in conflicting:
        # a copy with one value changed: the passages differ, but only a little
        assert pair.a["text"] != pair.b["text"]
        assert abs(len(pair.a["text"]) - len(pair.b["text"])) <= 4


def test_precision_and_recall_count_misses_and_false_alarms() -> None:
    items = [
        item("zh-1", ASK, DOSE, DOSE.replace("75mg", "150mg"), conflict=True),
        item("zh-2", ASK, DOSE, DOSE, conflict=False),
        # Labelled agreeing although the dose differs: the detector's hit is a false alarm.
        item("zh-3", ASK, DOSE, DOSE.replace("75mg", "50mg"), conflict=False),
        item("en-1", "How often can adults take hydrocodone?", HYDRO,
             HYDRO.replace("4–6 hours", "8 hours"), conflict=True),
        # Labelled conflicting although the copy is verbatim: a miss.
        item("en-2", "How often can adults take hydrocodone?", HYDRO, HYDRO, conflict=True),
    ]  # fmt: skip
    metrics = measure_conflicts(items)
    assert (metrics["true_positives"], metrics["false_positives"]) == (2, 1)
    assert metrics["false_negatives"] == 1
    assert metrics["precision"] == round(2 / 3, 4) and metrics["recall"] == round(2 / 3, 4)
    assert metrics["by_language"]["zh"] == {
        "items": 3,
        "conflicting": 1,
        "agreeing": 2,
        "true_positives": 1,
        "false_positives": 1,
        "false_negatives": 0,
        "precision": 0.5,
        "recall": 1.0,
    }
    assert metrics["by_language"]["en"]["recall"] == 0.5
    assert {e["id"] for e in metrics["errors"]} == {"zh-3", "en-2"}
    section = format_conflicts(metrics)
    assert "| all | 5 | 3 | 0.667 | 0.667 |" in section and "`en-2`" in section


def test_the_shipped_set_is_measured() -> None:
    metrics = measure_conflicts()
    assert metrics["conflicting"] >= 20 and metrics["agreeing"] >= 20
    # Measured when the set was built: 23/24 pairs, precision 1.0, recall 0.957 (one English miss).
    assert metrics["precision"] is not None and metrics["precision"] >= 0.9
    assert metrics["recall"] is not None and metrics["recall"] >= 0.9


def test_a_malformed_line_names_its_file_and_line(tmp_path: Path) -> None:
    good: dict[str, Any] = {
        "id": "x",
        "language": "zh",
        "question": "q",
        "conflict": True,
        "kind": "changed_value",
        "a": {"doc_id": "a", "title": "A", "text": "t"},
        "b": {"doc_id": "b", "title": "B", "text": "u"},
    }
    same_doc = {**good, "b": {**good["b"], "doc_id": "a"}}
    path = tmp_path / "conflicts.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(same_doc) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_conflict_items(path)
    assert "conflicts.jsonl line 2" in (caught.value.user_message or "")
