"""The Monitoring page's table and charts show the same numbers (issue #12).

Audit events with a known mix of latencies and outcomes, spread over the 7-day window (and one
just outside it), are rendered through the real app with AppTest; the figures the table prints
are compared with the data the charts carry to the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyotp
import pytest
from argon2 import PasswordHasher, profiles
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from assistant.access import AccessControl
from assistant.accounts import Accounts, LocalAuthenticator
from assistant.audit.checkpoints import deployment_key
from assistant.audit.log import AuditLog
from assistant.config import Settings, get_settings
from assistant.db import shared_engine
from assistant.domain import Role
from assistant.monitoring import percentile

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180

pytestmark = pytest.mark.slow


def _append_mix(settings: Settings, now: datetime) -> None:
    """27 answers in the window (4 refused), a denial and a failed ask; one answer 8 days old.

    The slow answers are few and on one day, so a daily p95 is far from the window's: the chart
    once drew the daily ones (~2,100 ms) beside a table p95 of 4,635 ms.
    """
    clock: list[datetime] = [now]
    log = AuditLog(
        shared_engine(settings.sqlalchemy_url),
        checkpoint_path=settings.data_dir / "audit-checkpoints.jsonl",
        checkpoint_key=deployment_key(settings),
        now=lambda: clock[0],
    )

    def ask(outcome: str, total: float, *flags: str, at: timedelta) -> None:
        clock[0] = now - at
        log.append_event(
            actor="dr.wang",
            role="doctor",
            department="cardiology",
            session_id="s",
            action="ask",
            object="library:hospital",
            outcome=outcome,
            detail={
                "mode": outcome,
                "flags": [{"code": code, "detail": ""} for code in flags],
                "redactions": {},
                "timings_ms": {"total": total},
            },
        )

    ask("generative", 9000, at=timedelta(days=8))  # outside the window: neither shown nor drawn
    six_days = timedelta(days=6)
    for n in range(18):
        ask("extractive", 100 + 10 * n, at=six_days)
    ask("refused", 90, "no_evidence", at=six_days)
    ask("refused", 95, at=six_days)
    two_days = timedelta(days=2)
    ask("generative", 4635, at=two_days)
    ask("generative", 5000, "unsupported_sentence", at=two_days)
    ask("generative", 6000, at=two_days)
    ask("refused", 200, "no_evidence", at=two_days)
    for outcome, detail in (("denied", {"reason": "not_permitted"}), ("error", {"stage": "x"})):
        log.append_event(
            actor="dr.wang",
            role="doctor",
            department="cardiology",
            session_id="s",
            action="ask",
            object="library:oncology",
            outcome=outcome,
            detail=detail,
        )
    thirty_minutes = timedelta(minutes=30)
    ask("extractive", 300, at=thirty_minutes)
    ask("extractive", 400, at=thirty_minutes)
    ask("refused", 120, at=thirty_minutes)


@pytest.fixture
def officer_code() -> Callable[[], str]:
    settings = get_settings()
    _append_mix(settings, datetime.now(UTC))
    access = AccessControl.open(settings)
    access.seed_defaults()
    fast = LocalAuthenticator(PasswordHasher.from_parameters(profiles.CHEAPEST))
    accounts = Accounts.open(settings, access=access, authenticator=fast)
    accounts.add_user("cmp.li", role=Role.COMPLIANCE_OFFICER, department="*", password=PASSWORD)
    totp = pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp("cmp.li")).secret)
    return totp.now


def _monitoring_page(code: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="gc_username").set_value("cmp.li")
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    at.text_input(key="gc_totp").set_value(code)
    at.button[-1].click().run()
    assert "gc_token" in at.session_state
    at.switch_page("views/monitoring.py").run()
    assert not at.exception, at.exception
    return at


def _chart_data(at: AppTest) -> list[pd.DataFrame]:
    """Every data set the page's charts send to the browser."""
    return [
        convert_arrow_bytes_to_pandas_df(dataset.data.data)
        for chart in at.get("vega_lite_chart")
        for dataset in chart.proto.datasets
    ]


def _with_columns(frames: list[pd.DataFrame], *columns: str) -> pd.DataFrame:
    [frame] = [f for f in frames if set(f.columns) == set(columns)]
    return frame


def test_table_and_charts_show_the_same_numbers(officer_code: Callable[[], str]) -> None:
    at = _monitoring_page(officer_code())
    table = at.dataframe[0].value.set_index("Metric")["7d"]
    assert "Daily trends (7d)" in [e.value for e in at.subheader]
    frames = _chart_data(at)

    # Questions: the 27 answers of the window (not the denied or failed ask, not the old one).
    assert table["Questions"] == "27"
    questions = _with_columns(frames, "day", "questions", "refusals")
    assert len(questions) == 8  # every UTC day the 7-day window touches
    assert questions["questions"].sum() == 27
    # Refusal rate: 4 refused answers of 27, in the table and summed over the chart's days.
    assert table["Refusal rate"] == "14.8%" == f"{4 / 27:.1%}"
    assert questions["refusals"].sum() == 4
    rates = _with_columns(frames, "day", "series", "value", "count", "of")
    refusals = rates[rates["series"] == "Refusal rate"]
    assert (refusals["count"].sum(), refusals["of"].sum()) == (4, 27)
    unsupported = rates[rates["series"] == "Unsupported-citation rate"]
    assert table["Unsupported-citation rate"] == f"{unsupported['count'].sum() / 27:.1%}"

    # Latency: the chart draws every answer; the table's p50/p95 are those points' percentiles,
    # and the rules drawn over them are the table's values.
    points = _with_columns(frames, "day", "ms")
    drawn = list(points["ms"])
    assert len(drawn) == 27 and 9000 not in drawn
    assert table["Latency p95 (ms)"] == f"{percentile(drawn, 95):.0f}" == "5000"
    assert table["Latency p50 (ms)"] == f"{percentile(drawn, 50):.0f}" == "200"
    rules = _with_columns(frames, "series", "ms").set_index("series")["ms"]
    assert f"{rules['Latency p50 (ms)']:.0f}" == table["Latency p50 (ms)"]
    assert f"{rules['Latency p95 (ms)']:.0f}" == table["Latency p95 (ms)"]

    # Denials per day sum to the table's; flag counts are the table's flag rates' counts.
    counts = _with_columns(frames, "day", "series", "value")
    assert counts[counts["series"] == "Denials"]["value"].sum() == int(table["Denials"]) == 1
    flags = _with_columns(frames, "flag", "count").set_index("flag")["count"]
    assert dict(flags) == {"no_evidence": 2, "unsupported_sentence": 1}
    for code, count in flags.items():
        assert table[f"Flag rate: {code}"] == f"{count / 27:.1%}"
