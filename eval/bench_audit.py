"""Audit trail throughput: appends/s and verify/s on SQLite and (if configured) PostgreSQL.

Run: `python -m eval.bench_audit [--events N]`. PostgreSQL is measured when
GUIDECITE_TEST_DATABASE_URL is set; a scratch database is created there and dropped afterwards.
Issue 4 goals: append ≥ 2,000/s (SQLite), verify ≥ 50,000/s. `measure_pages` times one
filtered page of the event viewer over a large synthetic trail (issue 16 item 9).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from assistant.audit.log import AuditLog
from assistant.db import create_db_engine

EVENT: dict[str, Any] = {
    "actor": "dr.wang",
    "role": "doctor",
    "department": "cardiology",
    "session_id": "0f3a9c1e5b7d4e2a",
    "action": "ask",
    "object": "library:hospital",
    "outcome": "answered",
    # Roughly the size of a real `ask` event: redacted question, answer, sources, scores.
    "detail": {
        "question": "成人社区获得性肺炎患者 [姓名1] 的经验性抗菌治疗如何选择？",
        "answer": "推荐β-内酰胺类联合大环内酯类 [1][2]。" * 6,
        "sources": [{"n": n, "doc_id": f"doc-{n}", "score": 0.8 - n / 100} for n in range(5)],
        "model": "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "flags": ["high_risk_topic"],
    },
}


def measure(log: AuditLog, *, events: int) -> dict[str, float]:
    """Appends/s (single, batched, 8 threads) and verify/s on one empty audit log."""
    single = max(events // 10, 200)
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(single):
        log.append_event(**EVENT)
    single_rate = single / (time.perf_counter() - started)
    # CPU-time rates: what an uncontended core achieves (this process's CPU only; for
    # PostgreSQL the server's work and the fsync wait are not counted).
    single_cpu_rate = single / (time.process_time() - cpu)

    per_thread = max(events // 40, 25)

    def worker() -> None:
        for _ in range(per_thread):
            log.append_event(**EVENT)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    threaded_rate = 8 * per_thread / (time.perf_counter() - started)

    remaining = max(events - log.count_events(), 0)
    started = time.perf_counter()
    for offset in range(0, remaining, 100):
        log.append_events([EVENT] * min(100, remaining - offset))
    batch_rate = remaining / (time.perf_counter() - started) if remaining else 0.0

    started, cpu = time.perf_counter(), time.process_time()
    result = log.verify()
    verify_rate = result.events / (time.perf_counter() - started)
    verify_cpu_rate = result.events / (time.process_time() - cpu)
    if not result.ok:
        raise RuntimeError(f"benchmark chain does not verify: {result.reason}")
    return {
        "events": float(result.events),
        "append_single": single_rate,
        "append_8_threads": threaded_rate,
        "append_batch_100": batch_rate,
        "verify": verify_rate,
        "append_single_cpu": single_cpu_rate,
        "verify_cpu": verify_cpu_rate,
    }


PAGE_SIZE = 50
_DEPARTMENTS = ("cardiology", "oncology", "respiratory", "pediatrics", "emergency", "icu", "*")
_ACTIONS = ("ask", "ask", "ask", "ask", "search", "feedback", "login", "page_open", "export")


def fill_trail(log: AuditLog, *, clock: list[datetime], events: int) -> None:
    """Append `events` synthetic events over 180 days from `clock[0]` (the log's clock):
    200 actors, 7 departments, 2 % denied."""
    start = clock[0]
    step = timedelta(days=180) / max(events, 1)
    for offset in range(0, events, 1000):
        batch = [
            EVENT
            | {
                "actor": f"user{i % 200:03d}",
                "department": _DEPARTMENTS[i % len(_DEPARTMENTS)],
                "action": _ACTIONS[i % len(_ACTIONS)],
                "outcome": "denied" if i % 50 == 7 else "ok",
            }
            for i in range(offset, min(events, offset + 1000))
        ]
        clock[0] = start + step * offset
        log.append_events(batch)


def page_filters(start: datetime) -> dict[str, Mapping[str, Any]]:
    """The filters timed: what a compliance officer would pick on the Audit page."""
    month = start + timedelta(days=60)
    return {
        "none": {},
        "department": {"department": "oncology"},
        "actor": {"actor": "user042"},
        "action+outcome": {"actions": ["ask"], "outcome": "denied"},
        "department+30 days": {
            "department": "cardiology",
            "since": month,
            "until": month + timedelta(days=30),
        },
    }


def measure_pages(
    log: AuditLog, *, clock: list[datetime], events: int, repeats: int = 20
) -> dict[str, Any]:
    """Fill an empty log (whose clock reads `clock[0]`) with `events` events, then time the
    first and third page of a few filters (ms per page)."""
    start = clock[0]
    started = time.perf_counter()
    fill_trail(log, clock=clock, events=events)
    fill_s = time.perf_counter() - started
    timings: dict[str, list[float]] = {}
    rows: dict[str, int] = {}
    for name, filters in page_filters(start).items():
        samples = timings.setdefault(name, [])
        for _ in range(repeats):
            t0 = time.perf_counter()
            page, more = log.page_events(limit=PAGE_SIZE, **filters)
            # The third page, as "next" twice would fetch it (keyset: no OFFSET).
            for _ in range(2):
                if page and more:
                    page, more = log.page_events(limit=PAGE_SIZE, before_id=page[-1].id, **filters)
            samples.append((time.perf_counter() - t0) * 1000 / 3)
        rows[name] = len(page)
    every = [ms for samples in timings.values() for ms in samples]
    return {
        "events": log.count_events(),
        "page_size": PAGE_SIZE,
        "fill_s": round(fill_s, 2),
        "page_ms": _percentiles(every),
        "by_filter_ms": {name: _percentiles(samples) for name, samples in timings.items()},
        "rows_on_page": rows,
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2)}


def bench_pages(url: str, *, folder: Path, events: int) -> dict[str, Any]:
    """Run `measure_pages` against a fresh audit log at `url`."""
    engine = create_db_engine(url)
    try:
        clock = [datetime(2026, 1, 1, tzinfo=UTC)]
        log = AuditLog(
            engine,
            checkpoint_path=folder / "checkpoints.jsonl",
            checkpoint_key=os.urandom(32),
            checkpoint_every=10_000,
            now=lambda: clock[0],
        )
        return measure_pages(log, clock=clock, events=events)
    finally:
        engine.dispose()


@contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A throw-away database on the server at `url`."""
    name = f"guidecite_bench_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(url)
    try:
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def bench_url(url: str, *, folder: Path, events: int) -> dict[str, float]:
    """Run `measure` against a fresh audit log at `url`."""
    engine = create_db_engine(url)
    try:
        log = AuditLog(
            engine, checkpoint_path=folder / "checkpoints.jsonl", checkpoint_key=os.urandom(32)
        )
        return measure(log, events=events)
    finally:
        engine.dispose()


def main() -> None:
    """Print the benchmark table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="chain length for verify")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "sqlite").mkdir()
        results["sqlite"] = bench_url(
            f"sqlite:///{folder / 'sqlite' / 'audit.db'}",
            folder=folder / "sqlite",
            events=args.events,
        )
        pg = os.environ.get("GUIDECITE_TEST_DATABASE_URL", "")
        if pg:
            (folder / "pg").mkdir()
            with scratch_postgres(pg) as url:
                results["postgresql"] = bench_url(
                    url, folder=folder / "pg", events=min(args.events, 20_000)
                )
    columns = [
        "events",
        "append_single",
        "append_8_threads",
        "append_batch_100",
        "verify",
        "append_single_cpu",
        "verify_cpu",
    ]
    print("rates are per second; *_cpu divide by this process's CPU time instead of wall time")
    print(f"{'backend':<12}" + "".join(f"{c:>19}" for c in columns))
    for backend, row in results.items():
        print(f"{backend:<12}" + "".join(f"{row[c]:>19,.0f}" for c in columns))
    print(f"load average during run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
