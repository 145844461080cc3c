"""Grade-extraction measurement (issue #17 §1): the labelled set and its precision/recall."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ConfigError
from eval.grades import GradeItem, format_grades, load_grade_items, measure_grades

ZH2 = "证据等级3，推荐A"
CDC = "recommendation category: A; evidence type: 4"


def test_the_shipped_set_is_large_enough_and_bilingual() -> None:
    items = load_grade_items()
    graded = [i for i in items if i.expected is not None]
    assert len(graded) >= 60
    assert {i.language for i in graded} == {"zh", "en"}
    assert {i.language for i in items if i.expected is None} == {"zh", "en"}
    assert len({i.id for i in items}) == len(items)
    for item in graded:
        assert item.expected is not None
        assert item.expected["strength"] in {"strong", "conditional", "against", None}
        assert item.expected["certainty"] in {"high", "moderate", "low", "very_low", None}


def test_precision_and_recall_count_misses_and_false_alarms() -> None:
    liver: dict[str, str | None] = {
        "strength": "strong",
        "certainty": "moderate",
        "original": "证据等级2，推荐A",
    }
    items = [
        GradeItem("zh-1", "zh", "应至少每隔6个月进行1次肝癌监测（证据等级2，推荐A）。", liver),
        # Labelled with a different certainty than the text states: a miss and a false alarm.
        GradeItem("zh-2", "zh", "可考虑手术切除（证据等级3，推荐A）。", {**liver, "original": ZH2}),
        GradeItem("en-1", "en", "Clean hands before touching a patient.", None),
        GradeItem(
            "en-2",
            "en",
            "Offer naloxone (recommendation category: A; evidence type: 4).",
            {"strength": "strong", "certainty": "very_low", "original": CDC},
        ),
        GradeItem("en-3", "en", "Give aspirin (Class I, Level A).", None),  # a false alarm
    ]  # fmt: skip
    metrics = measure_grades(items)
    assert (metrics["true_positives"], metrics["false_positives"]) == (2, 2)
    assert metrics["false_negatives"] == 1
    assert metrics["precision"] == 0.5 and metrics["recall"] == round(2 / 3, 4)
    assert metrics["by_language"]["zh"]["recall"] == 0.5
    assert metrics["by_language"]["en"]["precision"] == 0.5
    assert {e["id"] for e in metrics["errors"]} == {"zh-2", "en-3"}
    section = format_grades(metrics)
    assert "| all | 5 | 3 | 0.500 | 0.667 |" in section and "`en-3`" in section


def test_a_malformed_line_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "grades.jsonl"
    path.write_text('{"id": "x", "language": "zh", "text": "t", "expected": null}\n{"id": "y"}\n')
    with pytest.raises(ConfigError) as caught:
        load_grade_items(path)
    assert "grades.jsonl line 2" in (caught.value.user_message or "")
