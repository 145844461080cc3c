"""Retrieval recall and refusal calibration on the golden questions (issues #3 and #7).

For each golden question and each channel (sparse, dense, hybrid, and ours = the channel the
retriever picks by language), record whether a top-k source contains the answer phrase, plus
the raw evidence the relevance test uses, so thresholds are chosen from data, not guessed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from assistant.config import Settings
from assistant.embedding import load_dense_embedder
from assistant.retrieval import Channel, HybridRetriever, RetrievalResult
from assistant.store import VectorStore, open_store
from eval.golden import GoldenItem, load_golden, phrase_in_text

CHANNELS: tuple[Channel, ...] = ("sparse", "dense", "hybrid")


class _Labelled(Protocol):
    """What a row needs of a labelled question (golden or any eval item)."""

    @property
    def id(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def out_of_scope(self) -> bool: ...
    @property
    def cross_lingual(self) -> bool: ...


@dataclass
class ItemResult:
    """What one question retrieved on one channel."""

    id: str
    language: str
    channel: str
    out_of_scope: bool
    cross_lingual: bool
    rank: int | None  # 1-based rank of the first source containing the answer phrase
    relevant: bool
    best_dense: float | None
    best_sparse: float | None
    term_coverage: float
    elapsed_ms: float
    lexical_strength: float | None = None

    @classmethod
    def of(
        cls, item: _Labelled, result: RetrievalResult, *, channel: str, rank: int | None
    ) -> ItemResult:
        """The row for `item` from what `channel` retrieved, with its gold rank."""
        return cls(
            id=item.id,
            language=item.language,
            channel=channel,
            out_of_scope=item.out_of_scope,
            cross_lingual=item.cross_lingual,
            rank=rank,
            relevant=result.relevant,
            best_dense=result.best_dense,
            best_sparse=result.best_sparse,
            term_coverage=result.term_coverage,
            elapsed_ms=result.elapsed_ms,
            lexical_strength=result.lexical_strength,
        )


def first_hit_rank(item: GoldenItem, result: RetrievalResult) -> int | None:
    """Rank of the first source of the expected document that contains the answer phrase."""
    if item.answer_phrase is None:
        return None
    for source in result.sources:
        if phrase_in_text(item.answer_phrase, source.text):
            return source.n
    return None


def evaluate(
    items: list[GoldenItem], retriever: HybridRetriever, *, libraries: list[str], k: int = 10
) -> list[ItemResult]:
    """Run every item through every channel and the language-aware default."""
    rows: list[ItemResult] = []
    for item in items:
        for channel in (*CHANNELS, None):
            result = retriever.retrieve(item.question, libraries=libraries, k=k, channel=channel)
            rank = first_hit_rank(item, result)
            rows.append(ItemResult.of(item, result, channel=channel or "ours", rank=rank))
    return rows


def retrieval_metrics(rows: list[ItemResult]) -> dict[str, float]:
    """recall@1/5/10, MRR and nDCG@10 over in-scope rows (one relevant passage per item)."""
    scoped = [r for r in rows if not r.out_of_scope]
    if not scoped:
        return {}
    n = len(scoped)

    def recall(k: int) -> float:
        return sum(1 for r in scoped if r.rank is not None and r.rank <= k) / n

    mrr = sum(1 / r.rank for r in scoped if r.rank is not None) / n
    ndcg = sum(1 / math.log2(r.rank + 1) for r in scoped if r.rank and r.rank <= 10) / n
    return {
        "recall@1": round(recall(1), 4),
        "recall@5": round(recall(5), 4),
        "recall@10": round(recall(10), 4),
        "mrr": round(mrr, 4),
        "ndcg@10": round(ndcg, 4),
        "n": n,
    }


def refusal_metrics(rows: list[ItemResult]) -> dict[str, float]:
    """Precision/recall of refusing out-of-scope questions (refused = not relevant).

    Wrong refusals are split: a cross-lingual question the lexical channel cannot match is
    refused for a different reason than a same-language one the corpus answers.
    """
    refused = [r for r in rows if not r.relevant]
    should = [r for r in rows if r.out_of_scope]
    correct = [r for r in refused if r.out_of_scope]
    same_language = [r for r in rows if not r.out_of_scope and not r.cross_lingual]
    return {
        "precision": round(len(correct) / len(refused), 4) if refused else 1.0,
        "recall": round(len(correct) / len(should), 4) if should else 1.0,
        "refused_out_of_scope": len(correct),
        "out_of_scope": len(should),
        "wrongly_refused": sum(1 for r in refused if not r.out_of_scope),
        "wrongly_refused_same_language": sum(
            1 for r in refused if not r.out_of_scope and not r.cross_lingual
        ),
        "in_scope_same_language": len(same_language),
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def summarise(rows: list[ItemResult], *, splits: dict[str, str] | None = None) -> dict[str, Any]:
    """Metrics by channel and language, plus refusal for the default channel.

    `splits` (item id -> `tune`/`holdout`, the golden labels) adds each half as a group, so a
    threshold is chosen on `tune` and checked on `holdout` (issue #10).
    """
    summary: dict[str, Any] = {}
    halves = sorted(set((splits or {}).values()))
    for channel in (*CHANNELS, "ours"):
        mine = [r for r in rows if r.channel == channel]
        same = [r for r in mine if not r.cross_lingual]
        summary[channel] = {
            "all": retrieval_metrics(mine),
            "zh": retrieval_metrics([r for r in mine if r.language == "zh"]),
            "en": retrieval_metrics([r for r in mine if r.language == "en"]),
            "same_language": retrieval_metrics(same),
            "zh_same_language": retrieval_metrics([r for r in same if r.language == "zh"]),
            "en_same_language": retrieval_metrics([r for r in same if r.language == "en"]),
            "cross_lingual": retrieval_metrics([r for r in mine if r.cross_lingual]),
        }
        for half in halves:
            part = [r for r in mine if (splits or {}).get(r.id) == half]
            summary[channel][half] = retrieval_metrics(part)
            summary[channel][f"{half}_cross_lingual"] = retrieval_metrics(
                [r for r in part if r.cross_lingual]
            )
    ours = [r for r in rows if r.channel == "ours"]
    summary["refusal"] = refusal_metrics(ours)
    summary["refusal_by_language"] = {
        lang: refusal_metrics([r for r in ours if r.language == lang]) for lang in ("zh", "en")
    }
    if halves:
        summary["refusal_by_split"] = {
            half: refusal_metrics([r for r in ours if (splits or {}).get(r.id) == half])
            for half in halves
        }
    latencies = [r.elapsed_ms for r in ours]
    if latencies:
        summary["latency_ms"] = {
            "p50": round(_percentile(latencies, 0.5), 2),
            "p95": round(_percentile(latencies, 0.95), 2),
        }
    return summary


_GROUPS = (
    ("zh_same_language", "zh same-lang"),
    ("en_same_language", "en same-lang"),
    ("same_language", "same-lang"),
    ("cross_lingual", "cross-lingual"),
    ("all", "all in-scope"),
    ("tune", "tune"),
    ("tune_cross_lingual", "tune xl"),
    ("holdout", "holdout"),
    ("holdout_cross_lingual", "holdout xl"),
)


def format_table(summary: dict[str, Any]) -> str:
    """The summary as a compact plain-text table (recall@1/5/10 and MRR per channel, group)."""
    lines = [f"{'channel':<8} {'group':<14} {'n':>3} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR':>5}"]
    for channel in (*CHANNELS, "ours"):
        for key, label in _GROUPS:
            m = summary.get(channel, {}).get(key) or {}
            if not m:
                continue
            lines.append(
                f"{channel:<8} {label:<14} {m['n']:>3} {m['recall@1']:>5.2f} "
                f"{m['recall@5']:>5.2f} {m['recall@10']:>5.2f} {m['mrr']:>5.2f}"
            )
    ref = summary.get("refusal", {})
    if ref:
        lines.append(
            f"refusal (ours): precision {ref['precision']:.2f}, recall {ref['recall']:.2f} "
            f"({ref['refused_out_of_scope']}/{ref['out_of_scope']} out-of-scope refused); "
            f"wrongly refused {ref['wrongly_refused']} in-scope, of which "
            f"{ref['wrongly_refused_same_language']}/{ref['in_scope_same_language']} "
            "same-language"
        )
    by_group = {**summary.get("refusal_by_language", {}), **summary.get("refusal_by_split", {})}
    for lang, by in by_group.items():
        lines.append(
            f"  {lang}: {by['refused_out_of_scope']}/{by['out_of_scope']} out-of-scope refused, "
            f"{by['wrongly_refused_same_language']}/{by['in_scope_same_language']} same-language "
            f"in-scope refused, {by['wrongly_refused']} in-scope refused in all"
        )
    lat = summary.get("latency_ms")
    if lat:
        lines.append(f"latency (ours, retrieve only): p50 {lat['p50']} ms, p95 {lat['p95']} ms")
    return "\n".join(lines) + "\n"


def open_index(settings: Settings) -> tuple[VectorStore, HybridRetriever]:
    """The store and retriever over an existing index (e.g. one `guidecite demo` built)."""
    store = open_store(settings)
    embedder = load_dense_embedder(settings.embedding)
    return store, HybridRetriever(settings, store=store, embedder=embedder)


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m eval.retrieval_eval --data-dir DIR [--rows FILE] [--json]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True, help="an ingested DATA_DIR")
    parser.add_argument("--library", default="hospital")
    parser.add_argument("--rows", type=Path, help="write per-item rows as JSONL here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    store, retriever = open_index(Settings(data_dir=args.data_dir))
    golden = load_golden()
    try:
        rows = evaluate(golden, retriever, libraries=[args.library])
    finally:
        store.close()
    if args.rows:
        args.rows.write_text(
            "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rows),
            encoding="utf-8",
        )
    summary = summarise(rows, splits={item.id: item.split for item in golden})
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        sys.stdout.write(format_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
