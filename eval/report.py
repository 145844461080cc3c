"""Evaluation reports: metrics.json, report.md, a terminal table and PNG plots (issue 7 item 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.harness import EvalRun, compute_metrics, details
from eval.retrieval_eval import CHANNELS

# Where the issue sets the bar (rates in [0, 1]); the report says where we fall short.
GOALS = {
    "golden recall@5 (hybrid)": 0.90,
    "citation precision": 0.95,
    "out-of-scope refusal recall": 0.95,
}
# Issue #10 targets, judged on the held-out half when the dataset has one: (key, bound, kind).
ANSWER_GOALS: tuple[tuple[str, str, float, str], ...] = (
    ("answer_hit (same language)", "answer_hit_same_language", 0.90, "min"),
    ("off-topic sentence rate", "offtopic_sentence_rate", 0.05, "max"),
    ("wrong-subject dosing sentences", "wrong_subject_doses", 0, "max"),
    ("cross-lingual recall@5", "cross_lingual_recall@5", 0.80, "min"),
    ("in-scope wrongly refused", "in_scope_wrongly_refused", 0.05, "max"),
)
_KS = ("recall@1", "recall@5", "recall@10")
# The issue #10 columns of the answer-quality table: (header, getter key, in `refusal`?).
_QUALITY = (
    ("answer_hit", "answer_hit", False),
    ("hit same-lang", "answer_hit_same_language", False),
    ("hit incl. refused", "answer_hit_incl_refused", False),
    ("off-topic rate", "offtopic_sentence_rate", False),
    ("wrong-subject doses", "wrong_subject_doses", False),
    ("same-lang R@5", "same_language_recall@5", False),
    ("cross-lingual R@5", "cross_lingual_recall@5", False),
    ("refusal P", "precision", True),
    ("refusal R", "recall", True),
    ("in-scope refused", "in_scope_wrongly_refused", True),
)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_summary(metrics: dict[str, Any]) -> str:
    """A plain-text summary table of one dataset's metrics (for the terminal)."""
    lines = [f"dataset {metrics['dataset']}: {metrics['n_items']} items"]
    lines.append(
        f"{'channel':<8} {'lang':<4} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6} {'nDCG':>6}"
    )
    for scope, block in (("all", metrics), *metrics["by_language"].items()):
        for channel in CHANNELS:
            m = block["retrieval"][channel]
            if m["recall@5"] is None:
                continue
            lines.append(
                f"{channel:<8} {scope:<4} "
                + " ".join(
                    f"{_fmt(m[k]):>6}"
                    for k in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")
                )
            )
    for scope, block in (("all", metrics), *metrics["by_language"].items()):
        c, r, leaks, lat = block["citations"], block["refusal"], block["leaks"], block["latency_ms"]
        lines.append(
            f"{scope:<4} n={block['n_items']:<4} citations P {_fmt(c['precision'])} "
            f"R {_fmt(c['recall'])} | refusal P {_fmt(r['precision'])} R {_fmt(r['recall'])} | "
            f"leaks id {leaks['identifiers']} restricted {leaks['restricted_chunks']} | "
            f"latency p50 {_fmt(lat['p50'])} ms p95 {_fmt(lat['p95'])} ms"
        )
    for split, lang, block in _quality_scopes(metrics):
        lines.append(
            f"{split:<7} {lang:<3} hit {_fmt(block.get('answer_hit'))} "
            f"(same-lang {_fmt(block.get('answer_hit_same_language'))}) "
            f"off-topic {_fmt(block.get('offtopic_sentence_rate'))} "
            f"wrong-subject doses {_fmt(block.get('wrong_subject_doses'))} "
            f"R@5 same {_fmt(block.get('same_language_recall@5'))} "
            f"xl {_fmt(block.get('cross_lingual_recall@5'))} "
            f"in-scope refused {_fmt(block.get('refusal', {}).get('in_scope_wrongly_refused'))}"
        )
    return "\n".join(lines) + "\n"


def _quality_value(block: dict[str, Any], key: str, in_refusal: bool) -> Any:
    return (block.get("refusal", {}) if in_refusal else block).get(key)


def _quality_scopes(metrics: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(split, language, block) for all items and each split, each whole and by language."""
    scopes = [("all", metrics), *metrics.get("by_split", {}).items()]
    return [
        (split, lang, part)
        for split, block in scopes
        for lang, part in (("all", block), *block["by_language"].items())
    ]


def _quality_table(metrics: dict[str, Any]) -> list[str]:
    header = " | ".join(name for name, _, _ in _QUALITY)
    lines = [
        f"| split | language | n | {header} |",
        "|---|---|---|" + "---|" * len(_QUALITY),
    ]
    for split, lang, block in _quality_scopes(metrics):
        cells = [_fmt(_quality_value(block, key, ref)) for _, key, ref in _QUALITY]
        lines.append(f"| {split} | {lang} | {block['n_items']} | " + " | ".join(cells) + " |")
    return lines


def _retrieval_table(metrics: dict[str, Any]) -> list[str]:
    lines = [
        "| channel | language | recall@1 | recall@5 | recall@10 | MRR | nDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for scope, block in (("all", metrics), *metrics["by_language"].items()):
        for channel in CHANNELS:
            m = block["retrieval"][channel]
            if m["recall@5"] is None:
                continue
            cells = " | ".join(_fmt(m[k]) for k in (*_KS, "mrr", "ndcg@10"))
            lines.append(f"| {channel} | {scope} | {cells} |")
    return lines


def _answer_table(metrics: dict[str, Any]) -> list[str]:
    lines = [
        "| language | n | citation P | citation R | refusal P | refusal R | identifier leaks "
        "| restricted leaks | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scope, block in (("all", metrics), *metrics["by_language"].items()):
        c, r, leaks, lat = block["citations"], block["refusal"], block["leaks"], block["latency_ms"]
        cells = [
            scope,
            block["n_items"],
            c["precision"],
            c["recall"],
            r["precision"],
            r["recall"],
            leaks["identifiers"],
            leaks["restricted_chunks"],
            lat["p50"],
            lat["p95"],
        ]
        lines.append("| " + " | ".join(_fmt(v) for v in cells) + " |")
    return lines


def _comparison_rows(block: dict[str, Any]) -> list[str]:
    lines = [
        "| pipeline | answered | answered out-of-scope | sentences | cite unsupported "
        "| uncited | citation P | citation R | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, key in (("GuideCite (verified)", "ours"), ("plain LangChain chain", "plain_chain")):
        m = block[key]
        if isinstance(m, str):
            lines.append(f"| {label} | {m} |" + " |" * 9)
            continue
        cells = [
            m["answered"],
            m["answered_out_of_scope"],
            m["sentences"],
            m["unsupported_cited_sentences"],
            m["uncited_sentences"],
            m["citations"]["precision"],
            m["citations"]["recall"],
            m["latency_ms"]["p50"],
            m["latency_ms"]["p95"],
        ]
        lines.append(f"| {label} | " + " | ".join(_fmt(v) for v in cells) + " |")
    return lines


def format_comparison(block: dict[str, Any]) -> str:
    """Our answers vs the plain LangChain chain (markdown table; also printed in the terminal)."""
    note = (
        f"Answers from **{block['generation']}**. Both pipelines' sentences are checked with "
        "our verifier (`assistant.citations.verify_answer`) against the sources each was given; "
        "citation precision/recall here count verifier support only (no gold labels), so they "
        "can differ from the table above. The plain chain has no verifier and no refusal."
    )
    return "\n".join([note, "", *_comparison_rows(block), ""])


def goal_gaps(metrics: dict[str, Any]) -> list[str]:
    """Where a golden-set run falls short of the issue's goals (empty when it meets them)."""
    gaps = []
    checks = {
        "golden recall@5 (hybrid)": metrics["retrieval"]["hybrid"]["recall@5"],
        "citation precision": metrics["citations"]["precision"],
        "out-of-scope refusal recall": metrics["refusal"]["recall"],
    }
    for name, value in checks.items():
        if value is not None and value < GOALS[name]:
            gaps.append(f"{name}: {value:.3f} < goal {GOALS[name]:.2f}")
    leaks = metrics["leaks"]
    if leaks["identifiers"] or leaks["restricted_chunks"]:
        gaps.append(f"leaks: {leaks} (goal: zero)")
    # Issue #10: thresholds are tuned on one half, so its targets are judged on the other.
    split = "holdout" if "holdout" in metrics.get("by_split", {}) else "all"
    block = metrics["by_split"]["holdout"] if split == "holdout" else metrics
    for name, key, bound, kind in ANSWER_GOALS:
        value = _quality_value(block, key, key == "in_scope_wrongly_refused")
        if value is None:
            continue
        if (kind == "min" and value < bound) or (kind == "max" and value > bound):
            sign = "<" if kind == "min" else ">"
            gaps.append(f"{name} ({split}): {_fmt(value)} {sign} goal {bound}")
    return gaps


def format_markdown(metrics: dict[str, Any], extra: dict[str, Any]) -> str:
    """report.md for one dataset run."""
    lines = [
        f"# Evaluation: `{metrics['dataset']}` ({metrics['n_items']} items)",
        "",
        f"Answers: **{extra['generation']}** (modes {extra['modes']}). Citation precision counts a "
        "citation as supported when the verifier marks its sentence supported or the cited source "
        f"is gold; gold-only citation precision: {_fmt(extra['gold_citation_precision'])}.",
        "",
        "## Retrieval (sparse = BM25 only, dense only, hybrid = ours)",
        "",
        *_retrieval_table(metrics),
        "",
        "## Answers",
        "",
        *_answer_table(metrics),
        "",
        "## Answer quality (issue #10): all items and the tune / holdout halves",
        "",
        "Shown = supported sentences of answers that are not refusals. answer_hit: in-scope "
        "answered items whose answer phrase is in a shown sentence; off-topic rate: shown "
        "sentences citing another document than the gold one; wrong-subject doses: shown "
        "dosing sentences naming none of the item's subject labels (every one for "
        "out-of-scope items); R@5 is the hybrid channel's. Targets are judged on `holdout`.",
        "",
        *_quality_table(metrics),
        "",
    ]
    if "answer_comparison" in extra:
        lines += [
            "## Ours vs the plain LangChain answer chain",
            "",
            format_comparison(extra["answer_comparison"]),
        ]
    if metrics["dataset"] == "golden":
        gaps = goal_gaps(metrics)
        lines += ["## Against the goals", ""]
        lines += [f"- {gap}" for gap in gaps] or ["- all goals met"]
        lines.append("")
    lines += ["![recall@k](recall_at_k.png)", "", "![latency](latency.png)", ""]
    return "\n".join(lines)


def write_plots(run: EvalRun, metrics: dict[str, Any], folder: Path) -> list[Path]:
    """recall@k curves per channel and language, and the answer-latency histogram."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    ks = [1, 5, 10]
    for scope, block in (("all", metrics), *metrics["by_language"].items()):
        for channel in CHANNELS:
            m = block["retrieval"][channel]
            if m["recall@5"] is None:
                continue
            style = "-" if scope == "all" else "--" if scope == "zh" else ":"
            ax.plot(
                ks, [m[f"recall@{k}"] for k in ks], style, marker="o", label=f"{channel} {scope}"
            )
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{metrics['dataset']}: recall@k")
    ax.legend(fontsize=7)
    paths.append(folder / "recall_at_k.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))
    for lang in ("zh", "en"):
        values = [a.latency_ms for a in run.answer_rows if a.language == lang and not a.error]
        if values:
            ax.hist(values, bins=20, alpha=0.6, label=lang)
    ax.set_xlabel("answer latency (ms)")
    ax.set_ylabel("questions")
    ax.legend()
    paths.append(folder / "latency.png")
    fig.savefig(paths[-1], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return paths


def write_report(runs: list[EvalRun], folder: Path) -> dict[str, Any]:
    """Write metrics.json, details.json, report.md and plots; one subfolder per dataset if many."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Any] = {}
    for run in runs:
        target = folder if len(runs) == 1 else folder / run.dataset
        target.mkdir(parents=True, exist_ok=True)
        metrics = compute_metrics(run)
        extra = details(run)
        (target / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        (target / "details.json").write_text(
            json.dumps(extra, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (target / "report.md").write_text(format_markdown(metrics, extra), encoding="utf-8")
        write_plots(run, metrics, target)
        written[run.dataset] = metrics
    if len(runs) > 1:
        index = ["# Evaluation", ""] + [f"- [{name}]({name}/report.md)" for name in written]
        (folder / "report.md").write_text("\n".join(index) + "\n", encoding="utf-8")
        (folder / "metrics.json").write_text(json.dumps(written, indent=2), encoding="utf-8")
    return written
