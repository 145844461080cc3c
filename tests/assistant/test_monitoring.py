"""Monitoring (issue 6 item 4): metrics match a hand-counted audit fixture; alerts and webhook.

One definition per metric (issue #12): the daily series sum to the window they cover, and the
window's latency percentiles are those of the latency points the chart draws.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from assistant.audit.log import AuditLog
from assistant.config import MonitoringSettings, Settings
from assistant.db import create_db_engine
from assistant.gates import GateRegistry
from assistant.monitoring import (
    audit_metrics,
    check_alerts,
    evaluate_alerts,
    load_monitoring_policy,
    percentile,
    read_metrics,
    render_prometheus,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def audit(tmp_path: Path, clock: Clock) -> AuditLog:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'm.db'}")
    return AuditLog(
        engine, checkpoint_path=tmp_path / "cp.jsonl", checkpoint_key=b"k" * 32, now=clock
    )


def ask(
    audit: AuditLog,
    *,
    mode: str = "extractive",
    flags: tuple[str, ...] = (),
    total_ms: float = 100.0,
    redactions: dict[str, int] | None = None,
    llm_error: str | None = None,
    actor: str = "dr.a",
    department: str = "cardiology",
) -> None:
    audit.append_event(
        actor=actor,
        role="doctor",
        department=department,
        session_id="s",
        action="ask",
        object="library:hospital",
        outcome=mode,
        detail={
            "answer_id": f"a{audit.count_events()}",
            "question": "q",
            "mode": mode,
            "flags": [{"code": c, "detail": ""} for c in flags],
            "redactions": redactions or {},
            "llm_error": llm_error,
            "timings_ms": {"total": total_ms},
        },
    )


def deny(audit: AuditLog, actor: str, *, department: str = "cardiology") -> None:
    audit.append_event(
        actor=actor,
        role="doctor",
        department=department,
        session_id="s",
        action="ask",
        object="library:oncology",
        outcome="denied",
        detail={"reason": "not_permitted"},
    )


def build_fixture(audit: AuditLog, clock: Clock) -> None:
    """Hand-counted: 2 events 3 days ago, 3 events 5 hours ago, 5 events in the last hour."""
    clock.now = NOW - timedelta(days=3)
    ask(audit, mode="refused", flags=("no_evidence",), total_ms=50)
    deny(audit, "dr.x")
    clock.now = NOW - timedelta(hours=5)
    ask(audit, mode="generative", flags=("unsupported_sentence",), total_ms=900)
    ask(audit, flags=("phi_detected",), redactions={"name": 1, "phone": 2}, total_ms=300)
    ask(audit, flags=("llm_error",), llm_error="llm_timeout", total_ms=2000)
    clock.now = NOW - timedelta(minutes=10)
    ask(audit, mode="generative", total_ms=200)
    ask(audit, mode="refused", flags=("no_evidence", "high_risk_topic"), total_ms=120)
    deny(audit, "dr.x")
    deny(audit, "dr.y")
    ask(audit, department="oncology", total_ms=400)
    clock.now = NOW


def test_metrics_match_the_hand_counted_fixture(audit: AuditLog, clock: Clock) -> None:
    build_fixture(audit, clock)
    metrics = audit_metrics(audit, now=NOW)
    hour, day, week = metrics["1h"], metrics["24h"], metrics["7d"]
    assert (hour["volume"], day["volume"], week["volume"]) == (3, 6, 7)
    assert (hour["denials"], day["denials"], week["denials"]) == (2, 2, 3)
    assert week["denials_by_actor"] == {"dr.x": 2, "dr.y": 1}
    assert hour["refusals"] == 1 and week["refusals"] == 2
    assert week["refusal_rate"] == round(2 / 7, 4)
    assert day["unsupported"] == 1 and day["unsupported_rate"] == round(1 / 6, 4)
    assert day["llm_errors"] == 1 and hour["llm_errors"] == 0
    assert day["identifier_detections"] == 3 and hour["identifier_detections"] == 0
    assert week["flags"] == {
        "high_risk_topic": 1,
        "llm_error": 1,
        "no_evidence": 2,
        "phi_detected": 1,
        "unsupported_sentence": 1,
    }
    # Nearest-rank percentiles of 50,900,300,2000,200,120,400 (sorted: 50 120 200 300 400 900 2000)
    assert week["latency_ms"] == {"p50": 300.0, "p95": 2000.0}
    assert hour["latency_ms"] == {"p50": 200.0, "p95": 400.0}
    cardio = audit_metrics(audit, now=NOW, department="cardiology")
    assert cardio["1h"]["volume"] == 2


def test_alerts_fire_exactly_at_their_thresholds(audit: AuditLog, clock: Clock) -> None:
    policy = load_monitoring_policy()
    for _ in range(4):
        deny(audit, "probe")
    ask(audit, redactions={"name": 9})
    codes = {a.code for a in evaluate_alerts(audit_metrics(audit, now=NOW), policy=policy)}
    assert "denials_per_user" not in codes and "identifier_spike" not in codes
    deny(audit, "probe")  # the 5th denial
    ask(audit, redactions={"phone": 1})  # the 10th identifier
    alerts = {a.code: a for a in evaluate_alerts(audit_metrics(audit, now=NOW), policy=policy)}
    assert alerts["denials_per_user"].subject == "probe"
    assert alerts["denials_per_user"].value == 5
    assert alerts["identifier_spike"].value == 10


def test_unsupported_rate_alert_above_five_percent(audit: AuditLog) -> None:
    policy = load_monitoring_policy()
    for _ in range(19):
        ask(audit, mode="generative")
    ask(audit, mode="generative", flags=("unsupported_sentence",))  # 1/20 = 5%: not above
    codes = {a.code for a in evaluate_alerts(audit_metrics(audit, now=NOW), policy=policy)}
    assert "unsupported_rate" not in codes
    ask(audit, mode="generative", flags=("unsupported_sentence",))  # 2/21 > 5%
    alert = next(
        a
        for a in evaluate_alerts(audit_metrics(audit, now=NOW), policy=policy)
        if a.code == "unsupported_rate"
    )
    assert alert.value == round(2 / 21, 4) and alert.threshold == 0.05


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alerts"
    server.shutdown()


def test_webhook_receives_alerts_including_an_expiring_gate(
    audit: AuditLog, tmp_path: Path, webhook: str
) -> None:
    settings = Settings(data_dir=tmp_path, monitoring=MonitoringSettings(webhook_url=webhook))
    gates = GateRegistry.open(settings, today=lambda: date(2026, 3, 1))
    gates.record(
        department="cardiology",
        reference="IRB-1",
        approved_by="chair",
        approved_on=date(2025, 3, 1),
        expires_on=date(2026, 3, 31),  # 30 days left: inside the warning period
    )
    gates.record(
        department="oncology",
        reference="IRB-2",
        approved_by="chair",
        approved_on=date(2025, 3, 1),
        expires_on=date(2026, 4, 1),  # 31 days left: no alert
    )
    for _ in range(5):
        deny(audit, "probe")
    alerts = check_alerts(settings, audit, now=NOW, gates=gates)
    assert {a.code for a in alerts} == {"denials_per_user", "gate_expiring"}
    assert len(_Receiver.received) == 1
    posted = _Receiver.received[0]["alerts"]
    assert {a["code"] for a in posted} == {"denials_per_user", "gate_expiring"}
    gate = next(a for a in posted if a["code"] == "gate_expiring")
    assert gate["subject"] == "cardiology" and "IRB-1" in gate["message"]


def test_prometheus_text(audit: AuditLog, clock: Clock) -> None:
    build_fixture(audit, clock)
    text = render_prometheus(audit_metrics(audit, now=NOW)).decode()
    assert 'guidecite_volume{window="7d"} 7.0' in text
    assert 'guidecite_denials{window="1h"} 2.0' in text
    assert 'guidecite_flag_rate{flag="no_evidence",window="7d"}' in text
    assert 'guidecite_latency_ms{quantile="p95",window="7d"} 2000.0' in text


def failed_ask(audit: AuditLog, outcome: str) -> None:
    audit.append_event(
        actor="dr.a",
        role="doctor",
        department="cardiology",
        session_id="s",
        action="ask",
        object="library:hospital",
        outcome=outcome,
        detail={"reason": "question_too_long", "question_chars": 9000},
    )


def test_percentile_is_nearest_rank_and_always_a_value() -> None:
    assert percentile([], 95) is None
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95)) == (50.0, 95.0)
    assert percentile([300.0, 100.0, 200.0], 95) == 300.0
    assert percentile([7.0], 50) == 7.0


def test_refusal_rate_counts_answers_only(audit: AuditLog) -> None:
    """Refused answers / answers: denied, rejected, failed and unavailable asks are no answers."""
    ask(audit, mode="refused", total_ms=80)
    ask(audit, mode="extractive", total_ms=120)
    ask(audit, mode="generative", total_ms=900)
    deny(audit, "dr.x")
    for outcome in ("rejected", "error", "unavailable"):
        failed_ask(audit, outcome)
    day = audit_metrics(audit, now=NOW)["24h"]
    assert (day["volume"], day["refusals"], day["refusal_rate"]) == (3, 1, round(1 / 3, 4))
    assert (day["denials"], day["failed"]) == (1, 3)
    assert day["latency_ms"] == {"p50": 120.0, "p95": 900.0}


def test_daily_series_sum_to_the_window_they_cover(audit: AuditLog, clock: Clock) -> None:
    build_fixture(audit, clock)
    clock.now = NOW - timedelta(days=8)  # outside every window: neither in the table nor drawn
    ask(audit, mode="refused", total_ms=99_999)
    clock.now = NOW
    metrics = read_metrics(audit, now=NOW)
    trend, week = metrics.trend, metrics.windows["7d"]
    assert trend.window == "7d" and metrics.trend_summary is week
    # Every UTC day the 7-day window touches, oldest first, days without events included.
    assert list(trend.days) == [f"2026-02-{d}" for d in range(22, 29)] + ["2026-03-01"]
    for key in ("volume", "refusals", "flagged", "unsupported", "llm_errors", "denials",
                "identifier_detections", "negative_feedback"):  # fmt: skip
        assert sum(day[key] for day in trend.days.values()) == week[key], key
    assert trend.days["2026-02-26"]["refusals"] == 1  # the one 3 days ago
    assert trend.days["2026-03-01"]["volume"] == 6  # 5 hours and 10 minutes ago
    # The chart draws every answer's latency; the table's percentiles are theirs.
    drawn = [point.ms for point in trend.latencies]
    assert sorted(drawn) == [50.0, 120.0, 200.0, 300.0, 400.0, 900.0, 2000.0]
    assert week["latency_ms"] == {"p50": percentile(drawn, 50), "p95": percentile(drawn, 95)}
    assert week["latency_ms"]["p95"] == 2000.0
    # A department's series are that department's events only.
    oncology = read_metrics(audit, now=NOW, department="oncology")
    assert [p.ms for p in oncology.trend.latencies] == [400.0]
    assert oncology.windows["7d"]["volume"] == 1


def test_alerts_of_a_department_use_its_events_and_its_approval(
    audit: AuditLog, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    gates = GateRegistry.open(settings, today=lambda: date(2026, 3, 1))
    for department in ("cardiology", "oncology"):
        gates.record(
            department=department,
            reference=f"IRB-{department}",
            approved_by="chair",
            approved_on=date(2025, 3, 1),
            expires_on=date(2026, 3, 20),
        )
    for _ in range(5):
        deny(audit, "probe", department="oncology")
    everywhere = check_alerts(settings, audit, now=NOW, gates=gates, notify=False)
    assert sorted((a.code, a.subject) for a in everywhere) == [
        ("denials_per_user", "probe"),
        ("gate_expiring", "cardiology"),
        ("gate_expiring", "oncology"),
    ]
    cardiology = check_alerts(
        settings, audit, now=NOW, gates=gates, notify=False, department="cardiology"
    )
    assert [(a.code, a.subject) for a in cardiology] == [("gate_expiring", "cardiology")]
    # Figures already read are used as given: the alert quotes the table's value.
    metrics = read_metrics(audit, now=NOW, department="oncology")
    given = check_alerts(settings, audit, gates=gates, notify=False, metrics=metrics)
    denials = next(a for a in given if a.code == "denials_per_user")
    assert denials.value == metrics.windows["1h"]["denials_by_actor"]["probe"] == 5
