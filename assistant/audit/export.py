"""Export lines for the audit trail (JSON Lines and CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from assistant.audit.verify import ROW_COLUMNS

_CSV_TEXT_COLUMNS = frozenset(
    ("actor", "role", "department", "session_id", "action", "object", "outcome")
)


def jsonl_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """One JSON object per row, each line ending in a newline."""
    for row in rows:
        record = dict(zip(ROW_COLUMNS, row, strict=True))
        # The detail as an object for readers; re-serialising it canonically gives back the
        # hashed text, so an exported file can be re-verified outside GuideCite.
        record["detail_json"] = json.loads(record["detail_json"])
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """A header line, then one CSV line per row (each ending in a newline)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def emit(values: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield emit(ROW_COLUMNS)
    for row in rows:
        yield emit(
            [
                defuse_formula(value) if name in _CSV_TEXT_COLUMNS else value
                for name, value in zip(ROW_COLUMNS, row, strict=True)
            ]
        )


def defuse_formula(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
