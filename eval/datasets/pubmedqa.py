"""PubMedQA (PQA-L, MIT) as an evaluation set: each abstract is its own question's gold passage.

`convert_pubmedqa` makes the compact JSONL shipped in the repository from the upstream
`ori_pqal.json`; `load_pubmedqa` turns that JSONL into passages and questions.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.items import EvalItem, Passage, read_jsonl, write_jsonl

DEFAULT_PATH = Path(__file__).parent / "pubmedqa.jsonl"
MAX_ITEMS = 300


def convert_pubmedqa(source: Path, target: Path = DEFAULT_PATH, *, limit: int = MAX_ITEMS) -> int:
    """Write the first `limit` PQA-L items (by PMID) as JSONL; returns the count."""
    raw = json.loads(source.read_text(encoding="utf-8"))
    records = []
    for pmid in sorted(raw, key=int)[:limit]:
        entry = raw[pmid]
        records.append(
            {
                "pmid": pmid,
                "question": entry["QUESTION"],
                "context": "\n\n".join(entry["CONTEXTS"]),
                "final_decision": entry["final_decision"],
                "long_answer": entry["LONG_ANSWER"],
            }
        )
    return write_jsonl(target, records)


def load_pubmedqa(
    path: Path = DEFAULT_PATH, *, limit: int | None = None
) -> tuple[list[Passage], list[EvalItem]]:
    """Passages (one abstract each) and questions; `limit` takes the first N of both."""
    records = read_jsonl(path)[:limit]
    passages = [
        Passage(doc_id=f"pubmedqa-{r['pmid']}", title=f"PubMed {r['pmid']}", text=r["context"])
        for r in records
    ]
    items = [
        EvalItem(
            id=f"pubmedqa-{r['pmid']}",
            question=r["question"],
            language="en",
            dataset="pubmedqa",
            gold_doc_ids=(f"pubmedqa-{r['pmid']}",),
            extra={"final_decision": r["final_decision"]},
        )
        for r in records
    ]
    return passages, items
