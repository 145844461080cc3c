"""MedQuAD (CC BY 4.0) as an evaluation set: consumer-health questions → answer passages.

`convert_medquad` turns the upstream XML into the compact JSONL shipped in the repository,
taking question-answer pairs round-robin across the collections so every source is present.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from eval.items import EvalItem, Passage, read_jsonl, write_jsonl

DEFAULT_PATH = Path(__file__).parent / "medquad.jsonl"
MAX_ITEMS = 500
# Long PDQ answers run to tens of kilobytes; the opening keeps the file small and still answers.
MAX_ANSWER_CHARS = 1500
_SPACES = re.compile(r"[ \t]+")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


def _clean(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _pairs(xml_file: Path) -> list[dict[str, Any]]:
    # The converter reads the vendored MedQuAD snapshot (../shared), never user uploads.
    root = ET.parse(xml_file).getroot()  # noqa: S314
    out = []
    for pair in root.iter("QAPair"):
        question = pair.find("Question")
        answer = pair.find("Answer")
        if question is None or answer is None or not (answer.text or "").strip():
            continue
        out.append(
            {
                "qid": _SAFE_ID.sub("_", question.get("qid", "")),
                "qtype": question.get("qtype", ""),
                "question": _clean(question.text or ""),
                "answer": _clean(answer.text or "")[:MAX_ANSWER_CHARS],
                "focus": _clean(root.findtext("Focus") or ""),
                "source": root.get("source", ""),
                "url": root.get("url", ""),
            }
        )
    return out


def convert_medquad(source: Path, target: Path = DEFAULT_PATH, *, limit: int = MAX_ITEMS) -> int:
    """Write `limit` pairs, round-robin over collections, one pair per document; returns count."""
    queues = []
    for collection in sorted(p for p in source.iterdir() if p.is_dir()):
        firsts = [pairs[0] for f in sorted(collection.glob("*.xml")) if (pairs := _pairs(f))]
        queues.append(firsts)
    records: list[dict[str, Any]] = []
    index = 0
    while len(records) < limit and any(index < len(q) for q in queues):
        records += [q[index] for q in queues if index < len(q)]
        index += 1
    return write_jsonl(target, records[:limit])


def load_medquad(
    path: Path = DEFAULT_PATH, *, limit: int | None = None
) -> tuple[list[Passage], list[EvalItem]]:
    """Passages (one answer each) and questions; `limit` takes the first N of both."""
    records = read_jsonl(path)[:limit]
    passages = [
        Passage(
            doc_id=f"medquad-{r['qid']}", title=f"{r['focus']} ({r['source']})", text=r["answer"]
        )
        for r in records
    ]
    items = [
        EvalItem(
            id=f"medquad-{r['qid']}",
            question=r["question"],
            language="en",
            dataset="medquad",
            gold_doc_ids=(f"medquad-{r['qid']}",),
            extra={"qtype": r["qtype"]},
        )
        for r in records
    ]
    return passages, items
