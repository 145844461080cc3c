"""Shapes shared by every evaluation dataset: passages to index and questions to ask."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput


@dataclass(frozen=True)
class Passage:
    """One document of an evaluation corpus, indexed as its own file (doc_id is its file stem)."""

    doc_id: str
    title: str
    text: str
    language: str = "en"
    library: str = "hospital"


@dataclass(frozen=True)
class EvalItem:
    """One question with what a correct answer must cite (a document and/or a phrase)."""

    id: str
    question: str
    language: str
    dataset: str
    gold_doc_ids: tuple[str, ...] = ()
    answer_phrase: str | None = None
    out_of_scope: bool = False
    cross_lingual: bool = False
    # Which eval user asks: "doctor" reads `hospital`; "outsider" lacks the restricted library.
    asker: str = "doctor"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def in_scope(self) -> bool:
        """True when the corpus answers the question."""
        return not self.out_of_scope


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, with the line number in any error."""
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read dataset {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise InvalidInput(f"{path}:{number}: each line must be a JSON object")
        records.append(record)
    return records


def write_jsonl(path: Path, records: Iterable[Any]) -> int:
    """Write dataclasses or dicts as JSONL; returns the count."""
    lines = [
        json.dumps(asdict(r) if hasattr(r, "__dataclass_fields__") else r, ensure_ascii=False)
        for r in records
    ]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
