"""The Audit page benchmark (issue 16 item 9) runs on a small trail; timings are not asserted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from assistant.audit.log import AuditLog
from assistant.config import Settings
from assistant.db import create_db_engine
from eval.bench_all import format_markdown, plan_for, run_benchmarks
from eval.bench_audit import PAGE_SIZE, measure_pages, page_filters


def test_measure_pages_fills_the_trail_and_reads_the_filtered_pages(tmp_path: Path) -> None:
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    start = clock[0]
    log = AuditLog(
        create_db_engine(f"sqlite:///{tmp_path / 'audit.db'}"),
        checkpoint_path=tmp_path / "checkpoints.jsonl",
        checkpoint_key=b"k" * 32,
        now=lambda: clock[0],
    )
    result = measure_pages(log, clock=clock, events=700, repeats=2)
    assert result["events"] == 700 and result["page_size"] == PAGE_SIZE
    assert log.verify().ok
    # Each filter's last page read (the third, or the last there is) holds what the trail
    # holds for it, counted here independently of the paged query.
    everything = list(log.iter_events())
    for name, filters in page_filters(start).items():
        matching = [
            e
            for e in everything
            if e.department == filters.get("department", e.department)
            and e.actor == filters.get("actor", e.actor)
            and e.outcome == filters.get("outcome", e.outcome)
            and e.action in filters.get("actions", [e.action])
            and filters.get("since", e.ts_utc) <= e.ts_utc
            and e.ts_utc < filters.get("until", datetime.max.replace(tzinfo=UTC))
        ]
        pages = [matching[i : i + PAGE_SIZE] for i in range(0, len(matching), PAGE_SIZE)]
        assert result["rows_on_page"][name] == (len(pages[min(2, len(pages) - 1)]) if pages else 0)
        assert 0 < result["by_filter_ms"][name]["p50"] <= result["by_filter_ms"][name]["p95"]
    assert result["rows_on_page"]["none"] == PAGE_SIZE
    assert result["rows_on_page"]["actor"] == 4  # user042: rows 42, 242, 442, 642


def test_audit_section_reports_the_page_time() -> None:
    plan = replace(
        plan_for(quick=True), sections=("audit",), audit_events=300, audit_page_events=400
    )
    run = run_benchmarks(settings=Settings(), plan=plan, database_url="")
    assert run.errors == {}
    pages = run.sections["audit"]["pages_sqlite"]
    assert pages["events"] == 400
    markdown = format_markdown(run.as_json())
    assert "Audit page, 50 rows over 400 events (sqlite): p50 " in markdown
