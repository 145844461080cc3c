"""Detection scores shared by the eval sections that count hits (grades, conflicts)."""

from __future__ import annotations

from typing import Any


def precision_recall(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """The counts with precision and recall (None where nothing was found or expected)."""
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
    }


def rate_cell(value: float | None) -> str:
    """A rate for a Markdown table: three decimals, or a dash when undefined."""
    return "–" if value is None else f"{value:.3f}"
