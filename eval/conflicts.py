"""Precision and recall of guideline-conflict detection (issue #17 §3).

Each item of `eval/datasets/conflicts.jsonl` is a question and two passages from different
guidelines: a passage quoted from a shipped guideline (`a`) and a copy attributed to another
guideline (`b`), either with the asked value changed (`conflict: true`) or agreeing — the same
value (verbatim or in another unit), or a change of population, drug or an aspect the question
does not ask about (`conflict: false`). A detected conflict on a conflicting item is a true
positive; on an agreeing item a false positive; none on a conflicting item a false negative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.conflicts import find_conflicts
from assistant.domain import Source
from assistant.errors import ConfigError
from assistant.glossary import LayeredTerms, cedict_table, library_glosses, load_glossaries
from assistant.questions import analyse_question
from eval.scoring import precision_recall, rate_cell

CONFLICTS_PATH = Path(__file__).parent / "datasets" / "conflicts.jsonl"


@dataclass(frozen=True)
class ConflictItem:
    """One labelled pair of passages and the question asked over them."""

    id: str
    language: str
    question: str
    a: dict[str, str]
    b: dict[str, str]
    conflict: bool
    kind: str


def load_conflict_items(path: Path = CONFLICTS_PATH) -> list[ConflictItem]:
    """The labelled pairs; a malformed line raises ConfigError naming the file and line."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            for side in ("a", "b"):
                if not {"doc_id", "title", "text"} <= set(row[side]):
                    raise ValueError(f"{side} needs doc_id, title and text")
            if row["a"]["doc_id"] == row["b"]["doc_id"]:
                raise ValueError("a and b must come from different documents")
            items.append(
                ConflictItem(
                    id=row["id"],
                    language=row["language"],
                    question=row["question"],
                    a=row["a"],
                    b=row["b"],
                    conflict=bool(row["conflict"]),
                    kind=row["kind"],
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}:{number}: {exc}",
                user_message=f"{path.name} line {number} is not a valid conflict item: {exc}",
            ) from exc
    return items


def _sources(item: ConflictItem) -> list[Source]:
    return [
        Source(n=n, doc_id=side["doc_id"], title=side["title"], library="eval", text=side["text"])
        for n, side in enumerate((item.a, item.b), 1)
    ]


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tp = sum(1 for r in rows if r["expected"] and r["found"])
    fp = sum(1 for r in rows if not r["expected"] and r["found"])
    fn = sum(1 for r in rows if r["expected"] and not r["found"])
    return {
        "items": len(rows),
        "conflicting": sum(1 for r in rows if r["expected"]),
        "agreeing": sum(1 for r in rows if not r["expected"]),
        **precision_recall(tp, fp, fn),
    }


def measure_conflicts(items: list[ConflictItem] | None = None) -> dict[str, Any]:
    """Detection precision/recall overall and per language, with the items it got wrong.

    The term table is the one a context builds (hospital glossary, the passages' own glosses,
    the glossary's vocabulary, CC-CEDICT); questions are analysed without library rarity, as
    no index is involved.
    """
    items = load_conflict_items() if items is None else items
    glossary, vocabulary = load_glossaries()
    rows: list[dict[str, Any]] = []
    for item in items:
        glosses = library_glosses([item.a["text"], item.b["text"]])
        table = LayeredTerms((glossary, glosses, vocabulary, cedict_table()), clinical=2)
        analysis = analyse_question(item.question, table=table)
        found = find_conflicts(analysis, _sources(item))
        rows.append(
            {
                "id": item.id,
                "language": item.language,
                "kind": item.kind,
                "expected": item.conflict,
                "found": bool(found),
                "quantities": [[s.quantity for s in c.sides] for c in found],
            }
        )
    return {
        **_counts(rows),
        "by_language": {
            lang: _counts([r for r in rows if r["language"] == lang])
            for lang in sorted({item.language for item in items})
        },
        "errors": [
            {"id": r["id"], "kind": r["kind"], "expected": r["expected"], "found": r["quantities"]}
            for r in rows
            if r["expected"] != r["found"]
        ],
    }


def format_conflicts(metrics: dict[str, Any]) -> str:
    """The `conflicts` section of the eval report (Markdown)."""
    lines = [
        "## Where guidelines differ (issue #17 §3)",
        "",
        f"Conflict detection on {metrics['items']} constructed pairs ({metrics['conflicting']} "
        f"conflicting, {metrics['agreeing']} agreeing).",
        "",
        "| scope | pairs | conflicting | precision | recall |",
        "| --- | --- | --- | --- | --- |",
    ]
    scopes = [("all", metrics), *sorted(metrics["by_language"].items())]
    for name, block in scopes:
        lines.append(
            f"| {name} | {block['items']} | {block['conflicting']} | "
            f"{rate_cell(block['precision'])} | {rate_cell(block['recall'])} |"
        )
    if metrics["errors"]:
        lines += ["", "Misses and false alarms:", ""]
        for error in metrics["errors"]:
            expected = "conflict" if error["expected"] else "agreement"
            lines.append(
                f"- `{error['id']}` ({error['kind']}): expected {expected}, found {error['found']}"
            )
    return "\n".join(lines) + "\n"
