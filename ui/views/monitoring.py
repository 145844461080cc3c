"""Monitoring page: alerts, metrics per window, daily trends, ethics approvals, recent guideline
updates, needs report.

The compliance officer's half of "Audit & monitoring" (issue 5 item 7, issue 6 items 3-6); the
page is guarded by `page:audit`. Every figure comes from one `Metrics` read through
`assistant.service.monitoring` (which checks the scope: a department-scoped officer sees their
department's figures and alerts only, a hospital-wide one everything); the table, the alerts and
the charts draw that one object and compute nothing (issue #12).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from assistant.domain import Alert, Principal
from assistant.errors import AccessDenied, GuideCiteError
from assistant.service.context import Context
from assistant.service.monitoring import (
    Metrics,
    current_alerts,
    department_metrics,
    monitored_departments,
    monitoring_scope,
    recent_guideline_updates,
    visible_approvals,
)
from assistant.service.needs import build_needs_report
from ui.render import escape_markdown
from ui.state import guard_page, t

REPORT = "gc_needs_report"  # built once per click, so it is audited once
ALERT_KIND = {"high": "error", "medium": "warning", "info": "info"}
# Whole numbers on count axes (Vega would print 0.000000 for an all-zero series).
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)
RATE_ALERTS = frozenset({"unsupported_rate", "refusal_rate", "llm_error_rate"})
# (row key in a window's metrics, catalogue key) in table order.
METRIC_ROWS = (
    ("volume", "m_volume"),
    ("refusal_rate", "m_refusal_rate"),
    ("unsupported_rate", "m_unsupported_rate"),
    ("llm_error_rate", "m_llm_error_rate"),
    ("identifier_detections", "m_identifier_detections"),
    ("denials", "m_denials"),
    ("negative_feedback", "m_negative_feedback"),
    ("latency_p50", "m_latency_p50"),
    ("latency_p95", "m_latency_p95"),
)
# The daily rates: (rate key, the count it is taken of, catalogue key); the denominator is the
# day's answers (`volume`), as in the table (assistant.monitoring).
RATE_SERIES = (
    ("refusal_rate", "refusals", "m_refusal_rate"),
    ("flag_rate", "flagged", "m_flag_rate"),
    ("unsupported_rate", "unsupported", "m_unsupported_rate"),
)


# ---- alerts -----------------------------------------------------------------------------------


def alert_text(alert: Alert) -> str:
    """The alert in the session's language (the back end's message when the code is new)."""
    key = f"alert_{alert.code}"
    rate = alert.code in RATE_ALERTS
    values = {
        "window": alert.window,
        "value": f"{alert.value:.1%}" if rate else f"{alert.value:g}",
        "threshold": f"{alert.threshold:.0%}" if rate else f"{alert.threshold:g}",
        "subject": alert.subject,
    }
    try:
        return t(key, **values)
    except KeyError:
        return alert.message


def _alerts(res: Context, principal: Principal, metrics: Metrics) -> None:
    st.subheader(t("alerts"))
    # The table's figures: an alert quotes what the table shows (no webhook from the page).
    alerts = current_alerts(res, principal, metrics=metrics)
    if not alerts:
        st.success(t("no_alerts"))
        return
    for alert in alerts:
        kind = ALERT_KIND.get(alert.severity, "warning")
        getattr(st, kind)(escape_markdown(alert_text(alert)), icon=":material/notifications:")


# ---- metrics and trends -----------------------------------------------------------------------


def metric_table(windows: dict[str, dict[str, Any]]) -> list[dict[str, object]]:
    """One row per metric, one column per window (1h, 24h, 7d)."""
    rows: list[dict[str, object]] = []
    for key, label in METRIC_ROWS:
        row: dict[str, object] = {t("metric"): t(label)}
        for window, values in windows.items():
            row[window] = _metric_value(values, key)
        rows.append(row)
    codes = sorted({code for values in windows.values() for code in values["flag_rates"]})
    for code in codes:  # flag rate by type (issue 6 item 4)
        row = {t("metric"): f"{t('m_flag_rate')}: {code}"}
        for window, values in windows.items():
            row[window] = f"{values['flag_rates'].get(code, 0.0):.1%}"
        rows.append(row)
    return rows


def _metric_value(values: dict[str, Any], key: str) -> str:
    if key.startswith("latency_"):
        found = values["latency_ms"][key.removeprefix("latency_")]
        return "—" if found is None else f"{found:.0f}"
    value = values[key]
    return f"{value:.1%}" if key.endswith("_rate") else str(value)


def _metrics(metrics: Metrics) -> None:
    st.subheader(t("metrics"))
    windows = metrics.windows
    day = windows.get("24h") or next(iter(windows.values()))
    cols = st.columns(4)
    cols[0].metric(t("m_volume") + " (24h)", day["volume"])
    cols[1].metric(t("m_refusal_rate") + " (24h)", f"{day['refusal_rate']:.1%}")
    cols[2].metric(t("m_unsupported_rate") + " (24h)", f"{day['unsupported_rate']:.1%}")
    cols[3].metric(t("m_identifier_detections") + " (24h)", day["identifier_detections"])
    st.dataframe(metric_table(windows), hide_index=True, width="stretch")


def _day_axis(days: list[str]) -> alt.X:
    # Every day of the window on every chart, days without events too, in the same order.
    return alt.X("day:O", title=t("day"), axis=alt.Axis(labelAngle=0), scale=alt.Scale(domain=days))


def _legend() -> alt.Color:
    return alt.Color("series:N", title=t("series"), legend=alt.Legend(orient="bottom"))


def _trends(metrics: Metrics) -> None:
    """Draw the daily series of `metrics.trend`: the table's longest window, day by day."""
    trend = metrics.trend
    window = metrics.trend_summary
    st.subheader(f"{t('trends')} ({trend.window})")
    if not (window["volume"] or window["denials"] or window["identifier_detections"]):
        st.info(t("no_events"))
        return
    days = list(trend.days)
    answered = {day: values for day, values in trend.days.items() if values["volume"]}
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('questions_per_day')}**")
        questions = pd.DataFrame.from_records(
            [
                {"day": day, "questions": values["volume"], "refusals": values["refusals"]}
                for day, values in trend.days.items()
            ]
        )
        st.altair_chart(
            alt.Chart(questions)
            .mark_bar()
            .encode(
                x=_day_axis(days),
                y=alt.Y("questions:Q", title=t("m_volume"), axis=COUNT_AXIS),
                tooltip=["day:O", alt.Tooltip("questions:Q", title=t("m_volume"))],
            ),
            width="stretch",
        )
        st.markdown(f"**{t('rates')}**")
        # `count` of `of` answers: the counts behind each rate, which sum to the table's.
        rates = pd.DataFrame.from_records(
            [
                {
                    "day": day,
                    "series": t(label),
                    "value": values[rate],
                    "count": values[count],
                    "of": values["volume"],
                }
                for day, values in answered.items()
                for rate, count, label in RATE_SERIES
            ],
            columns=["day", "series", "value", "count", "of"],
        )
        st.altair_chart(
            alt.Chart(rates)
            .mark_line(point=True)
            .encode(
                x=_day_axis(days),
                y=alt.Y("value:Q", title=t("value"), axis=alt.Axis(format="%")),
                color=_legend(),
                tooltip=[
                    "day:O",
                    "series:N",
                    alt.Tooltip("value:Q", format=".1%"),
                    alt.Tooltip("count:Q", title=t("col_count")),
                    alt.Tooltip("of:Q", title=t("m_volume")),
                ],
            ),
            width="stretch",
        )
    with right:
        st.markdown(f"**{t('latency')}**")
        st.altair_chart(_latency_chart(metrics, days), width="stretch")
        st.markdown(f"**{t('identifiers_denials')}**")
        counts = pd.DataFrame.from_records(
            [
                {"day": day, "series": t(label), "value": values[key]}
                for day, values in trend.days.items()
                for key, label in (
                    ("identifier_detections", "m_identifier_detections"),
                    ("denials", "m_denials"),
                )
            ]
        )
        st.altair_chart(
            alt.Chart(counts)
            .mark_bar()
            .encode(
                x=_day_axis(days),
                xOffset="series:N",
                y=alt.Y("value:Q", title=t("value"), axis=COUNT_AXIS),
                color=_legend(),
                tooltip=["day:O", "series:N", "value:Q"],
            ),
            width="stretch",
        )
    flags = [{"flag": code, "count": n} for code, n in window["flags"].items()]
    if flags:
        st.markdown(f"**{t('flag_counts')}**")
        st.altair_chart(
            alt.Chart(pd.DataFrame.from_records(flags))
            .mark_bar()
            .encode(
                x=alt.X("count:Q", title=t("col_count"), axis=COUNT_AXIS),
                y=alt.Y("flag:N", title=t("flags"), sort="-x"),
                tooltip=["flag:N", "count:Q"],
            ),
            width="stretch",
        )


def _latency_chart(metrics: Metrics, days: list[str]) -> alt.LayerChart:
    """Every answer's latency as a point, and the window's p50/p95 (the table's) as rules.

    Percentiles of days are not drawn: they cannot be combined into the window's, and a line of
    them read as the p95 once disagreed with the table (issue #12).
    """
    points = pd.DataFrame.from_records(
        [{"day": point.day, "ms": point.ms} for point in metrics.trend.latencies],
        columns=["day", "ms"],
    )
    percentiles = metrics.trend_summary["latency_ms"]
    rules = pd.DataFrame.from_records(
        [
            {"series": t(f"m_latency_{name}"), "ms": value}
            for name, value in percentiles.items()
            if value is not None
        ],
        columns=["series", "ms"],
    )
    answers = (
        alt.Chart(points)
        .mark_circle(opacity=0.5)
        .encode(
            x=_day_axis(days),
            y=alt.Y("ms:Q", title=t("value")),
            tooltip=["day:O", alt.Tooltip("ms:Q", title=t("value"))],
        )
    )
    lines = (
        alt.Chart(rules)
        .mark_rule(strokeDash=[6, 3])
        .encode(
            y="ms:Q",
            color=_legend(),
            tooltip=["series:N", "ms:Q"],
        )
    )
    return answers + lines


# ---- ethics approvals -------------------------------------------------------------------------


def _approvals(res: Context, principal: Principal) -> None:
    st.subheader(t("approvals"))
    rows = visible_approvals(res, principal)
    if not rows:
        st.info(t("no_approvals"))
        return
    for row in rows:
        if row["expiring_soon"]:
            st.warning(
                escape_markdown(
                    t(
                        "expiring_soon",
                        department=row["department"],
                        reference=row.get("reference", ""),
                        expires=row.get("expires_on", ""),
                        days=row["days_left"],
                    )
                ),
                icon=":material/event_busy:",
            )
    st.dataframe(
        [
            {
                t("col_department"): row["department"],
                t("col_status"): t("approval_open") if row["open"] else t("approval_closed"),
                t("col_reference"): row.get("reference", ""),
                t("col_committee"): row.get("committee", ""),
                t("col_approved_on"): row.get("approved_on", ""),
                t("col_expires_on"): row.get("expires_on", ""),
                t("col_days_left"): row["days_left"],
            }
            for row in rows
        ],
        hide_index=True,
        width="stretch",
    )


# ---- recent guideline updates (issue #17 §2) --------------------------------------------------


def _updates(res: Context, principal: Principal) -> None:
    st.subheader(t("updates_heading"))
    updates = recent_guideline_updates(res, principal)
    if not updates:
        st.info(t("updates_none"))
        return
    st.caption(t("updates_caption"))
    st.dataframe(
        [
            {
                t("col_updated_on"): u.updated_at.date().isoformat() if u.updated_at else "",
                t("col_library"): u.library,
                t("col_document"): f"{u.title} ({u.doc_id})",
                t("col_old_version"): u.superseded,
                t("col_new_version"): u.current,
                t("col_marked"): u.marked,
            }
            for u in updates
        ],
        hide_index=True,
        width="stretch",
    )


# ---- department needs report ------------------------------------------------------------------


def _topic_rows(topics: list[dict[str, Any]]) -> list[dict[str, object]]:
    return [
        {
            t("col_topic"): topic["subject"],
            t("col_count"): topic["count"],
            t("col_weekly"): [p["count"] for p in topic["trend"]],
            t("col_examples"): " | ".join(topic["examples"]),
        }
        for topic in topics
    ]


def _gap_rows(gaps: list[dict[str, Any]]) -> list[dict[str, object]]:
    return [
        {
            t("col_topic"): gap["subject"],
            t("col_gap"): t(f"gap_{gap['kind']}"),
            t("col_count"): gap["count"],
            t("col_first_asked"): gap["first_asked"][:10],
            t("col_last_asked"): gap["last_asked"][:10],
            t("col_examples"): " | ".join(gap["examples"]),
        }
        for gap in gaps
    ]


def _failing_rows(failing: list[dict[str, Any]]) -> list[dict[str, object]]:
    return [
        {
            t("col_topic"): weak["subject"],
            t("col_count"): weak["answered"],
            t("col_flagged"): weak["flagged"],
            t("col_not_helpful"): weak["not_helpful"],
            t("col_examples"): " | ".join(weak["examples"]),
        }
        for weak in failing
    ]


def _needs(res: Context, principal: Principal) -> None:
    st.subheader(t("needs_report"))
    departments = monitored_departments(res, principal)
    if not departments:
        st.info(t("no_events"))
        return
    dept_col, since_col = st.columns(2)
    department = dept_col.selectbox(t("department"), options=departments, key="gc_needs_dept")
    since_day = since_col.date_input(t("needs_since"), value=None, key="gc_needs_since")
    if st.button(t("build_report"), key="gc_needs_build", icon=":material/summarize:"):
        since = (
            datetime.combine(since_day, time.min, tzinfo=UTC)
            if isinstance(since_day, date)
            else None
        )
        try:
            monitoring_scope(res, principal, department=department)
        except AccessDenied as exc:
            st.error(exc.user_message)
            return
        st.session_state[REPORT] = build_needs_report(
            res, principal, department=department, since=since, table=res.term_table()
        )
    report = st.session_state.get(REPORT)
    if report is None or report["department"] != department:
        return
    refused = report["refused"]
    st.markdown(
        escape_markdown(
            t(
                "needs_summary",
                questions=report["questions"],
                refused=refused["count"],
                rate=f"{refused['rate']:.0%}",
                feedback=f"{report['feedback']['rate']:.0%}",
            )
        )
    )
    # The department's top gaps first: what its head brings to the library's next review.
    st.markdown(f"**{t('refused_topics')}**")
    if report["gaps"]:
        st.dataframe(_gap_rows(report["gaps"][:10]), hide_index=True, width="stretch")
    else:
        st.caption(t("no_refused_topics"))
    if report["failing"]:
        st.markdown(f"**{t('failing_topics')}**")
        st.dataframe(_failing_rows(report["failing"]), hide_index=True, width="stretch")
    st.markdown(f"**{t('topics')}**")
    weekly = t("col_weekly")
    st.dataframe(
        _topic_rows(report["topics"]),
        hide_index=True,
        width="stretch",
        column_config={weekly: st.column_config.LineChartColumn(weekly, y_min=0)},
    )
    if report["without_subject"]["count"]:
        st.caption(escape_markdown(t("without_subject", count=report["without_subject"]["count"])))
    never = report["libraries"]["never_used"]
    if never:
        st.caption(escape_markdown(t("never_used", libraries=", ".join(never))))
    dispositions = report["review_dispositions"]
    if dispositions:
        values = ", ".join(f"{_disposition(d)}: {n}" for d, n in dispositions.items())
        st.caption(escape_markdown(t("dispositions", values=values)))


def _disposition(code: str) -> str:
    try:
        return t(f"disposition_{code}")
    except KeyError:
        return code


def render() -> None:
    """The monitoring page."""
    guarded = guard_page("audit")
    if guarded is None:
        return
    res, principal = guarded
    st.title(t("page_monitoring"))
    try:
        # One read of the audit trail: the alerts, the table and the charts draw these figures.
        metrics = department_metrics(res, principal)
        _alerts(res, principal, metrics)
        _metrics(metrics)
        _trends(metrics)
        _approvals(res, principal)
        _updates(res, principal)
        _needs(res, principal)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
