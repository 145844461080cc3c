"""`guidecite bench`: every benchmark of issue 7 item 7 in one process, as JSON and markdown.

Sections (each reuses the benchmark module that owns it):
- `ingest`: ingestion throughput, ours vs the LangChain default (eval/bench_ingest.py; each
  pipeline in its own spawned process, so each reports its own peak memory);
- `query`: query path without the LLM, p50/p95 at corpus size and at synthetic sizes
  (eval/bench_query.py; 10k by default, 100k opt-in);
- `wrapper`: the compliance wrapper against the plain LangChain answer chain, both with the
  same retriever (ours, as a LangChain retriever) and the same SGLang stand-in, interleaved
  question by question; plus the cost of the wrapper's own steps (eval/bench_wrapper.py);
- `audit`: audit append and verify rates on SQLite, and on PostgreSQL when a URL is given
  (eval/bench_audit.py); and the Audit page's filtered page (50 rows) over a trail of
  `audit_page_events` (100,000 by default; issue 16 item 9), p50/p95 over a few filters;
- `load`: concurrent sessions against the stand-in with injected faults; zero lost audit
  events expected (eval/bench_load.py);
- `app`: the web app in headless Chromium: server start, first paint, sign-in, first and next
  answer, a page switch (eval/bench_app.py; issue 16 item 6); skipped without Chromium;
- peak memory: `ru_maxrss` of this process after each section (monotonic: a section's figure
  includes everything before it) and of the ingestion child processes.
`--quick` shrinks every section for a CI smoke run. Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.embedding import DenseEmbedder, load_dense_embedder
from assistant.llm import ChatModel
from assistant.retrieval import GuideCiteRetriever
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.store import open_store
from eval.corpora import DEFAULT_CACHE_DIR, Corpus, build_index, guideline_corpus
from eval.golden import DEFAULT_CORPUS_DIR, load_golden
from eval.standin import SGLangStandIn

SECTIONS = ("ingest", "query", "wrapper", "audit", "load", "app")
QUICK_DOCS = ("儿童腺病毒肺炎诊疗规范（2019年版）.txt", "流行性感冒诊疗方案（2025年版）.txt")
QUICK_CHARS = 6_000  # per document: a few dozen chunks, indexed in seconds on two cores
NO_POSTGRES = "skipped: no PostgreSQL URL (set GUIDECITE_TEST_DATABASE_URL or pass --database-url)"


@dataclass(frozen=True)
class BenchPlan:
    """How big each section runs."""

    quick: bool = False
    synthetic: tuple[int, ...] = (10_000,)
    queries: int = 50
    wrapper_queries: int = 40
    wrapper_steps_n: int = 300
    audit_events: int = 50_000
    postgres_events: int = 20_000
    audit_page_events: int = 100_000
    sessions: int = 20
    questions_per_session: int = 25
    fault_rate: float = 0.1
    sections: tuple[str, ...] = SECTIONS


def plan_for(*, quick: bool, synthetic: Sequence[int] | None = None) -> BenchPlan:
    """The full plan, or the `--quick` one (few queries, 2x5 sessions, no synthetic)."""
    if not quick:
        return BenchPlan(synthetic=tuple(synthetic) if synthetic is not None else (10_000,))
    return BenchPlan(
        quick=True,
        synthetic=tuple(synthetic or ()),
        queries=8,
        wrapper_queries=8,
        wrapper_steps_n=50,
        audit_events=2_000,
        postgres_events=1_000,
        audit_page_events=5_000,
        sessions=2,
        questions_per_session=5,
    )


@dataclass
class BenchRun:
    """The result of one `guidecite bench`: sections, errors and memory."""

    plan: BenchPlan
    sections: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """bench.json."""
        return {
            "machine": f"{platform.machine()} {os.cpu_count()} cpu",
            "load_average": round(os.getloadavg()[0], 2),
            "quick": self.plan.quick,
            "plan": self.plan.__dict__ | {"synthetic": list(self.plan.synthetic)},
            **self.sections,
            "peak_rss_mb": self.memory,
            "section_wall_s": self.wall_s,
            "errors": self.errors,
        }


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def quick_corpus(folder: Path) -> Corpus:
    """The opening of two short Chinese guidelines, written to `folder` (the `--quick` corpus)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for name in QUICK_DOCS:
        text = (DEFAULT_CORPUS_DIR / "zh" / name).read_text(encoding="utf-8")
        cut = text.rfind("\n", 0, QUICK_CHARS)
        path = folder / name
        path.write_text(text[: cut if cut > 0 else QUICK_CHARS] + "\n", encoding="utf-8")
        files.append(path)
    return Corpus(name="bench-quick", files=files)


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        only = round(values[0], 2) if values else 0.0
        return {"p50": only, "p95": only, "n": len(values)}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "n": len(values)}


def measure_wrapper_vs_chain(
    *,
    settings: Settings,
    corpus: Corpus,
    questions: Sequence[str],
    embedder: DenseEmbedder,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    warmup: int = 2,
) -> dict[str, Any]:
    """`answer_question` vs the plain LangChain chain, same retriever and stand-in, interleaved."""
    from eval.baselines.langchain_chain import PlainAnswerChain
    from eval.harness import PRINCIPALS, grant_eval_users, open_eval_gate

    index_dir = build_index(corpus, settings=settings, embedder=embedder, cache_dir=cache_dir)
    with tempfile.TemporaryDirectory(prefix="guidecite-bench-") as tmp, SGLangStandIn() as server:
        llm = settings.llm.model_copy(
            update={"base_url": server.base_url, "max_retries": 0, "timeout_s": 30.0}
        )
        run_settings = settings.model_copy(
            update={
                "data_dir": Path(tmp),
                "database_url": f"sqlite:///{Path(tmp) / 'bench.db'}",
                "llm": llm,
            }
        )
        access = AccessControl.open(run_settings)
        grant_eval_users(access)
        open_eval_gate(run_settings)
        ctx = Context(
            settings=run_settings,
            store=open_store(settings.model_copy(update={"data_dir": index_dir})),
            embedder=embedder,
            access=access,
            audit=open_audit_log(run_settings),
            chat=ChatModel(llm),
        )
        principal = PRINCIPALS["doctor"]
        try:
            retriever = GuideCiteRetriever(
                hybrid=ctx.retriever,
                libraries=access.readable_libraries(principal),
                k=run_settings.retrieval.top_k,
            )
            chain = PlainAnswerChain(retriever, llm=llm)
            modes: dict[str, int] = {}
            stages: dict[str, list[float]] = {}
            last_mode: list[str] = []

            def ours(question: str) -> None:
                answer = answer_question(principal, question, ctx=ctx)
                modes[str(answer.mode)] = modes.get(str(answer.mode), 0) + 1
                last_mode.append(str(answer.mode))
                for stage, ms in answer.timings_ms.items():
                    stages.setdefault(stage, []).append(ms)

            def plain(question: str) -> None:
                chain.answer(question)

            timed: dict[str, list[float]] = {"ours": [], "plain": []}
            runs: dict[str, Callable[[str], None]] = {"ours": ours, "plain": plain}
            for question in questions[:warmup]:
                ours(question)
                plain(question)
            modes.clear()
            stages.clear()
            generative: list[tuple[float, float]] = []  # (ours, plain) where ours called the model
            for i, question in enumerate(questions):
                # Alternate which goes first, so drift in machine load hits both alike.
                for name in ("ours", "plain") if i % 2 == 0 else ("plain", "ours"):
                    started = time.perf_counter()
                    runs[name](question)
                    timed[name].append((time.perf_counter() - started) * 1000)
                if last_mode[-1] == "generative":
                    generative.append((timed["ours"][-1], timed["plain"][-1]))
            ask_events = sum(1 for _ in ctx.audit.iter_events(actions={"ask"}))
        finally:
            ctx.close()
    ours_p, plain_p = _percentiles(timed["ours"]), _percentiles(timed["plain"])
    return {
        "queries": len(questions),
        "guidecite_answer_ms": ours_p,
        "plain_langchain_chain_ms": plain_p,
        "overhead_p50_ms": round(ours_p["p50"] - plain_p["p50"], 2),
        "overhead_p95_ms": round(ours_p["p95"] - plain_p["p95"], 2),
        "ratio_p50": round(ours_p["p50"] / plain_p["p50"], 2) if plain_p["p50"] else None,
        "ratio_p95": round(ours_p["p95"] / plain_p["p95"], 2) if plain_p["p95"] else None,
        "guidecite_modes": modes,
        # Refusals skip the model, so the like-for-like pairs are those ours generated.
        "generative_pairs": {
            "n": len(generative),
            "guidecite_p50_ms": _percentiles([o for o, _ in generative])["p50"],
            "plain_p50_ms": _percentiles([p for _, p in generative])["p50"],
        },
        # Where our time goes (answer.timings_ms): generate includes the model call.
        "guidecite_stages_p50_ms": {k: _percentiles(v)["p50"] for k, v in stages.items()},
        "ask_events": ask_events,
        "model_requests": len(server.requests),
    }


def _section_ingest(plan: BenchPlan, *, scratch: Path, **_: Any) -> dict[str, Any]:
    from eval.bench_ingest import run_ingest_benchmark

    if not plan.quick:
        return run_ingest_benchmark(DEFAULT_CORPUS_DIR)
    folder = scratch / "ingest-corpus"
    quick_corpus(folder)
    return run_ingest_benchmark(folder)


def _corpus(plan: BenchPlan, scratch: Path) -> Corpus:
    return quick_corpus(scratch / "quick-corpus") if plan.quick else guideline_corpus()


def _section_query(
    plan: BenchPlan,
    *,
    settings: Settings,
    cache_dir: Path,
    embedder: DenseEmbedder,
    scratch: Path,
    **_: Any,
) -> dict[str, Any]:
    from eval.bench_query import run_query_benchmark

    return run_query_benchmark(
        settings=settings,
        sizes=plan.synthetic,
        n_queries=plan.queries,
        cache_dir=cache_dir,
        corpus=_corpus(plan, scratch),
        embedder=embedder,
    )


def _section_wrapper(
    plan: BenchPlan,
    *,
    settings: Settings,
    cache_dir: Path,
    embedder: DenseEmbedder,
    scratch: Path,
    **_: Any,
) -> dict[str, Any]:
    from eval.bench_wrapper import run_wrapper_benchmark

    # In-scope questions (of the quick corpus's documents under --quick): ours refuses the
    # others without calling the model, which would flatter the wrapper.
    questions = [
        g.question
        for g in load_golden()
        if not g.out_of_scope and (not plan.quick or g.expected_doc in QUICK_DOCS)
    ][: plan.wrapper_queries]
    result = measure_wrapper_vs_chain(
        settings=settings,
        corpus=_corpus(plan, scratch),
        questions=questions,
        embedder=embedder,
        cache_dir=cache_dir,
    )
    with tempfile.TemporaryDirectory(prefix="guidecite-bench-steps-") as tmp:
        steps = Settings(data_dir=Path(tmp), database_url=f"sqlite:///{Path(tmp) / 'w.db'}")
        result["steps"] = run_wrapper_benchmark(steps, n=plan.wrapper_steps_n)
    return result


def _section_audit(plan: BenchPlan, *, database_url: str, **_: Any) -> dict[str, Any]:
    from eval.bench_audit import bench_pages, bench_url, scratch_postgres

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="guidecite-bench-audit-") as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        out["sqlite"] = bench_url(
            f"sqlite:///{folder / 'sqlite' / 'audit.db'}",
            folder=folder / "sqlite",
            events=plan.audit_events,
        )
        (folder / "pages").mkdir()
        out["pages_sqlite"] = bench_pages(
            f"sqlite:///{folder / 'pages' / 'audit.db'}",
            folder=folder / "pages",
            events=plan.audit_page_events,
        )
        if database_url:
            (folder / "pg").mkdir()
            with scratch_postgres(database_url) as url:
                out["postgresql"] = bench_url(
                    url, folder=folder / "pg", events=plan.postgres_events
                )
            (folder / "pg-pages").mkdir()
            with scratch_postgres(database_url) as url:
                out["pages_postgresql"] = bench_pages(
                    url, folder=folder / "pg-pages", events=plan.audit_page_events
                )
        else:
            out["postgresql"] = NO_POSTGRES
    return out


def _section_load(plan: BenchPlan, **_: Any) -> dict[str, Any]:
    from eval.bench_load import run_load

    report = run_load(
        sessions=plan.sessions,
        questions=plan.questions_per_session,
        fault_rate=plan.fault_rate,
    )
    summary = report.summary()
    summary["sessions"] = plan.sessions
    summary["questions_per_session"] = plan.questions_per_session
    summary["lost_audit_events"] = report.requests - report.ask_events
    summary["ok"] = not report.unclean and report.ask_events == report.requests and report.chain_ok
    return summary


def _section_app(
    plan: BenchPlan,
    *,
    settings: Settings,
    cache_dir: Path,
    embedder: DenseEmbedder,
    scratch: Path,
    **_: Any,
) -> dict[str, Any]:
    from eval.bench_app import NO_BROWSER, browser_available, run_app_benchmark

    if not browser_available():
        return {"skipped": NO_BROWSER}
    corpus = _corpus(plan, scratch)
    index = build_index(corpus, settings=settings, embedder=embedder, cache_dir=cache_dir)
    questions = [
        g.question
        for g in load_golden()
        if not g.out_of_scope and (not plan.quick or g.expected_doc in QUICK_DOCS)
    ][:2]
    return run_app_benchmark(index, scratch=scratch, questions=questions)


_RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "ingest": _section_ingest,
    "query": _section_query,
    "wrapper": _section_wrapper,
    "audit": _section_audit,
    "load": _section_load,
    "app": _section_app,
}


def run_benchmarks(
    *,
    settings: Settings,
    plan: BenchPlan,
    database_url: str = "",
    cache_dir: Path = DEFAULT_CACHE_DIR,
    progress: Callable[[str], None] | None = None,
) -> BenchRun:
    """Run the plan's sections in order; a failing section is recorded and the rest still run."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    unknown = [s for s in plan.sections if s not in _RUNNERS]
    if unknown:
        raise ValueError(f"unknown bench section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    run = BenchRun(plan=plan)
    with tempfile.TemporaryDirectory(prefix="guidecite-bench-") as tmp:
        _run_sections(
            run,
            settings=settings,
            database_url=database_url,
            cache_dir=cache_dir,
            scratch=Path(tmp),
            progress=progress,
        )
    return run


def _run_sections(
    run: BenchRun,
    *,
    settings: Settings,
    database_url: str,
    cache_dir: Path,
    scratch: Path,
    progress: Callable[[str], None] | None,
) -> None:
    plan = run.plan
    embedder: DenseEmbedder | None = None
    for name in plan.sections:
        if progress:
            progress(name)
        if name in ("query", "wrapper", "app") and embedder is None:
            embedder = load_dense_embedder(settings.embedding)
        started = time.perf_counter()
        try:
            run.sections[name] = _RUNNERS[name](
                plan,
                settings=settings,
                cache_dir=cache_dir,
                embedder=embedder,
                database_url=database_url,
                scratch=scratch,
            )
        except Exception as exc:  # one broken section must not hide the others' figures
            run.errors[name] = f"{type(exc).__name__}: {exc}"
        run.wall_s[name] = round(time.perf_counter() - started, 2)
        run.memory[f"after_{name}"] = _peak_rss_mb()


# -- markdown ------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _wrapper_md(block: dict[str, Any]) -> list[str]:
    ours, plain = block["guidecite_answer_ms"], block["plain_langchain_chain_ms"]
    lines = [
        f"Same retriever, same SGLang stand-in, {block['queries']} questions interleaved.",
        "",
        "| pipeline | p50 ms | p95 ms |",
        "|---|---|---|",
        f"| GuideCite `answer_question` | {ours['p50']} | {ours['p95']} |",
        f"| plain LangChain chain | {plain['p50']} | {plain['p95']} |",
        "",
        f"Overhead p50 {block['overhead_p50_ms']} ms (p95 {block['overhead_p95_ms']} ms); "
        f"ratio p50 {_fmt(block['ratio_p50'])}, p95 {_fmt(block['ratio_p95'])}. "
        f"Our modes: {block['guidecite_modes']}; ask events {block['ask_events']}.",
        f"Where ours generated ({block['generative_pairs']['n']} questions): p50 "
        f"{block['generative_pairs']['guidecite_p50_ms']} ms vs plain "
        f"{block['generative_pairs']['plain_p50_ms']} ms.",
        f"Our stages, p50 ms (generate includes the model call): "
        f"{block.get('guidecite_stages_p50_ms', {})}.",
    ]
    steps = block.get("steps")
    if steps:
        lines += [
            "",
            f"Wrapper steps alone ({steps['n']} questions, {steps['database']}):",
            "",
            "| step | p50 ms | p95 ms |",
            "|---|---|---|",
        ]
        for key in ("access", "redact", "audit", "total"):
            lines.append(f"| {key} | {steps[key]['p50_ms']} | {steps[key]['p95_ms']} |")
    return lines


def _audit_md(block: dict[str, Any]) -> list[str]:
    columns = ("events", "append_single", "append_8_threads", "append_batch_100", "verify")
    lines = [
        "| backend | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    notes = []
    pages = []
    for backend, row in block.items():
        if backend.startswith("pages_"):
            timed = row["by_filter_ms"].items()
            by_filter = ", ".join(f"{name} {ms['p50']:.1f}/{ms['p95']:.1f}" for name, ms in timed)
            pages.append(
                f"- Audit page, {row['page_size']} rows over {row['events']:,} events "
                f"({backend.removeprefix('pages_')}): p50 {row['page_ms']['p50']:.1f} ms, "
                f"p95 {row['page_ms']['p95']:.1f} ms (by filter, p50/p95 ms: {by_filter})"
            )
            continue
        if isinstance(row, str):
            notes.append(f"{backend}: {row}")
            continue
        lines.append(f"| {backend} | " + " | ".join(f"{row[c]:,.0f}" for c in columns) + " |")
    return [
        *lines,
        "",
        "Rates per second (wall clock).",
        *[f"- {n}" for n in notes],
        *pages,
    ]


def _load_md(block: dict[str, Any]) -> list[str]:
    return [
        f"{block['sessions']} sessions x {block['questions_per_session']} questions, "
        f"faults injected {block['faults_injected']}.",
        "",
        f"- requests {block['requests']}, ask audit events {block['ask_events']}, "
        f"lost {block['lost_audit_events']}, chain verifies: {block['chain_ok']}, "
        f"unclean failures: {len(block['unclean'])} → **{'PASS' if block['ok'] else 'FAIL'}**",
        f"- outcomes {block['outcomes']}",
        f"- total ms p50 {block['total_ms']['p50']} p95 {block['total_ms']['p95']}; "
        f"overhead (total minus model wait) p50 {block['overhead_ms']['p50']} "
        f"p95 {block['overhead_ms']['p95']}; {block['requests_per_s']} requests/s",
    ]


APP_FIGURES = (
    ("server_ready_s", "server start → health check"),
    ("first_paint_s", "page requested → first readable text"),
    ("sign_in_ready_s", "page requested → sign-in form"),
    ("sign_in_s", "sign in (password + code) → chat"),
    ("first_answer_s", "first question → finished answer"),
    ("next_answer_s", "next question → finished answer"),
    ("page_switch_s", "menu click → other page"),
)


def _app_md(block: dict[str, Any]) -> list[str]:
    if "skipped" in block:
        return [block["skipped"]]
    return [f"- {label}: {_fmt(block.get(key))} s" for key, label in APP_FIGURES]


def format_markdown(result: dict[str, Any]) -> str:
    """bench.md from bench.json."""
    from eval.bench_ingest import format_markdown as ingest_md
    from eval.bench_query import format_markdown as query_md

    lines = [
        f"# GuideCite benchmarks ({result['machine']}, load average {result['load_average']}"
        f"{', quick' if result['quick'] else ''})",
        "",
        "Reported, not asserted; timings on a shared machine are noisy.",
        "",
    ]
    renderers: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
        "ingest": ("Ingestion throughput", ingest_md),
        "query": ("Query path without the LLM", query_md),
        "wrapper": ("Compliance wrapper vs plain LangChain chain", _wrapper_md),
        "audit": ("Audit trail", _audit_md),
        "load": ("Concurrent sessions against the stand-in", _load_md),
        "app": ("The web app in a browser (extractive answers)", _app_md),
    }
    for name in SECTIONS:
        title, render = renderers[name]
        if name in result:
            body = render(result[name])
            lines += [f"## {title}", "", *(body if isinstance(body, list) else [body]), ""]
        elif name in result["errors"]:
            lines += [f"## {title}", "", f"**failed:** {result['errors'][name]}", ""]
    lines += ["## Peak memory (ru_maxrss, MB)", ""]
    lines += [
        f"- this process {k.replace('_', ' ')}: {v}" for k, v in result["peak_rss_mb"].items()
    ]
    for key, label in (("guidecite", "ours"), ("langchain_default", "LangChain default")):
        child = result.get("ingest", {}).get(key)
        if child:
            lines.append(f"- ingestion child process ({label}): {child['peak_rss_mb']}")
    lines.append("")
    return "\n".join(lines)


def write_bench(run: BenchRun, folder: Path) -> dict[str, Any]:
    """Write bench.json and bench.md; returns bench.json's content."""
    folder.mkdir(parents=True, exist_ok=True)
    result = run.as_json()
    (folder / "bench.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (folder / "bench.md").write_text(format_markdown(result), encoding="utf-8")
    return result
