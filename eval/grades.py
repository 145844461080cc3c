"""Precision and recall of recommendation-grade extraction (issue #17 §1).

Each item of `eval/datasets/grades.jsonl` is one passage from a shipped guideline with the grade
it states (`expected`: strength, certainty, original) or null. An extracted grade is correct when
its strength and certainty equal the label and its wording equals the label's (whitespace
ignored); any other extracted grade is a false positive, a label not extracted a false negative.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError
from eval.scoring import precision_recall, rate_cell
from ingestion.grades import detect_grades

GRADES_PATH = Path(__file__).parent / "datasets" / "grades.jsonl"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class GradeItem:
    """One labelled passage."""

    id: str
    language: str
    text: str
    expected: dict[str, str | None] | None


def load_grade_items(path: Path = GRADES_PATH) -> list[GradeItem]:
    """The labelled passages; a malformed line raises ConfigError naming the file and line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            expected = row["expected"]
            if expected is not None and not {"strength", "certainty", "original"} <= set(expected):
                raise ValueError("expected needs strength, certainty and original")
            items.append(GradeItem(row["id"], row["language"], row["text"], expected))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}:{number}: {exc}",
                user_message=f"{path.name} line {number} is not a valid grade item: {exc}",
            ) from exc
    return items


def _same(found: dict[str, Any], expected: dict[str, Any]) -> bool:
    return (
        found["strength"] == expected["strength"]
        and found["certainty"] == expected["certainty"]
        and _SPACE.sub("", found["original"]) == _SPACE.sub("", expected["original"])
    )


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp = sum(r["tp"] for r in rows)
    fp = sum(r["fp"] for r in rows)
    fn = sum(r["fn"] for r in rows)
    return {
        "items": len(rows),
        "graded_items": sum(1 for r in rows if r["expected"] is not None),
        **precision_recall(tp, fp, fn),
    }


def measure_grades(items: list[GradeItem] | None = None) -> dict[str, Any]:
    """Extraction precision/recall overall and per language, with the items it got wrong."""
    items = load_grade_items() if items is None else items
    rows: list[dict[str, Any]] = []
    for item in items:
        found = [g.model_dump(mode="json") for g in detect_grades(item.text)]
        hit = item.expected is not None and any(_same(f, item.expected) for f in found)
        rows.append(
            {
                "id": item.id,
                "language": item.language,
                "expected": item.expected,
                "found": found,
                "tp": int(hit),
                "fp": len(found) - int(hit),
                "fn": int(item.expected is not None and not hit),
            }
        )
    return {
        **_counts(rows),
        "by_language": {
            lang: _counts([r for r in rows if r["language"] == lang])
            for lang in sorted({item.language for item in items})
        },
        "errors": [
            {"id": r["id"], "expected": r["expected"], "found": r["found"]}
            for r in rows
            if r["fp"] or r["fn"]
        ],
    }


def format_grades(metrics: dict[str, Any]) -> str:
    """The `grades` section of the eval report (Markdown)."""
    lines = [
        "## Recommendation grades (issue #17)",
        "",
        f"Extraction on {metrics['items']} labelled passages ({metrics['graded_items']} with a "
        "stated grade); correct = same strength, certainty and wording.",
        "",
        "| scope | items | graded | precision | recall |",
        "| --- | --- | --- | --- | --- |",
    ]
    scopes = [("all", metrics), *sorted(metrics["by_language"].items())]
    for name, block in scopes:
        lines.append(
            f"| {name} | {block['items']} | {block['graded_items']} | "
            f"{rate_cell(block['precision'])} | {rate_cell(block['recall'])} |"
        )
    if metrics["errors"]:
        lines += ["", "Misses and false positives:", ""]
        for error in metrics["errors"]:
            lines.append(f"- `{error['id']}`: expected {error['expected']}, found {error['found']}")
    return "\n".join(lines) + "\n"
