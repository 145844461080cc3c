"""The small CI variant of eval/bench_load.py (issue 9 item 5): 4 sessions × 5 questions."""

from __future__ import annotations

import pytest

from eval.bench_load import run_load


@pytest.mark.slow
def test_concurrent_sessions_with_faults_lose_nothing() -> None:
    report = run_load(sessions=4, questions=5, fault_rate=0.3, seed=3, model_latency_s=0.0)
    assert report.requests == 20
    assert report.unclean == []
    # Every request answered (no store or audit fault is injected, so none is refused).
    assert sum(report.outcomes.values()) == 20
    assert set(report.outcomes) <= {"generative", "extractive", "refused"}
    assert report.ask_events == report.requests  # one audit event per request, none lost
    assert report.chain_ok
    injected = sum(n for name, n in report.faults_injected.items() if name != "none")
    assert injected > 0  # the seed injects faults; each becomes an llm_error flag
    # A fault either degrades one answer to extractive (flagged) or is retried away.
    assert sum(report.llm_errors.values()) <= injected
    assert set(report.llm_errors) <= {
        "llm_http_500", "llm_rate_limited", "llm_timeout", "llm_bad_response", "llm_stream_cut",
        "llm_schema_violation", "llm_citation_out_of_range",
    }  # fmt: skip
    assert len(report.total_ms) == 20 and all(t > 0 for t in report.total_ms)
