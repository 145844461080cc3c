"""Monitoring page: alerts, metrics per window, daily trends, ethics approvals, needs report.

The compliance officer's half of "Audit & monitoring" (issue 5 item 7, issue 6 items 3-6); the
page is guarded by `page:audit`. Every figure comes from the audit events through
`assistant.monitoring` (no second store). A department-scoped officer sees their department's
figures and alerts only; a hospital-wide one (`*`) sees everything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from assistant.access import HOSPITAL_WIDE
from assistant.domain import Alert, Principal
from assistant.errors import AccessDenied, GuideCiteError
from assistant.monitoring import (
    audit_metrics,
    check_alerts,
    evaluate_alerts,
    load_monitoring_policy,
)
from assistant.service.context import Context
from assistant.service.gates import list_gates
from assistant.service.needs import build_needs_report
from ui.audit_charts import compute_figures
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


def _department(principal: Principal) -> str | None:
    return None if principal.department == HOSPITAL_WIDE else principal.department


# ---- alerts -----------------------------------------------------------------------------------


def current_alerts(res: Context, principal: Principal) -> list[Alert]:
    """The alerts the principal may see now (no webhook: the page only shows them)."""
    department = _department(principal)
    gates = res.gate_registry()
    if department is None:
        return check_alerts(res.settings, res.audit, gates=gates, notify=False)
    # A department's officer: thresholds over that department's events, its approval only.
    policy = load_monitoring_policy()
    metrics = audit_metrics(res.audit, department=department, policy=policy)
    days = int(policy["alerts"].get("gate_expiring", {}).get("days", 30))
    expiring = [s for s in gates.expiring(within_days=days) if s.department == department]
    return evaluate_alerts(metrics, policy=policy, expiring=expiring)


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


def _alerts(res: Context, principal: Principal) -> None:
    st.subheader(t("alerts"))
    alerts = current_alerts(res, principal)
    if not alerts:
        st.success(t("no_alerts"))
        return
    for alert in alerts:
        kind = ALERT_KIND.get(alert.severity, "warning")
        getattr(st, kind)(escape_markdown(alert_text(alert)), icon=":material/notifications:")


# ---- metrics and trends -----------------------------------------------------------------------


def metric_table(metrics: dict[str, dict[str, Any]]) -> list[dict[str, object]]:
    """One row per metric, one column per window (1h, 24h, 7d)."""
    rows: list[dict[str, object]] = []
    for key, label in METRIC_ROWS:
        row: dict[str, object] = {t("metric"): t(label)}
        for window, values in metrics.items():
            row[window] = _metric_value(values, key)
        rows.append(row)
    codes = sorted({code for values in metrics.values() for code in values["flag_rates"]})
    for code in codes:  # flag rate by type (issue 6 item 4)
        row = {t("metric"): f"{t('m_flag_rate')}: {code}"}
        for window, values in metrics.items():
            row[window] = f"{values['flag_rates'].get(code, 0.0):.1%}"
        rows.append(row)
    return rows


def _metric_value(values: dict[str, Any], key: str) -> str:
    if key.startswith("latency_"):
        found = values["latency_ms"][key.removeprefix("latency_")]
        return "—" if found is None else f"{found:.0f}"
    value = values[key]
    return f"{value:.1%}" if key.endswith("_rate") else str(value)


def _metrics(res: Context, principal: Principal) -> None:
    st.subheader(t("metrics"))
    metrics = audit_metrics(res.audit, department=_department(principal))
    day = metrics.get("24h") or next(iter(metrics.values()))
    cols = st.columns(4)
    cols[0].metric(t("m_volume") + " (24h)", day["volume"])
    cols[1].metric(t("m_refusal_rate") + " (24h)", f"{day['refusal_rate']:.1%}")
    cols[2].metric(t("m_unsupported_rate") + " (24h)", f"{day['unsupported_rate']:.1%}")
    cols[3].metric(t("m_identifier_detections") + " (24h)", day["identifier_detections"])
    st.dataframe(metric_table(metrics), hide_index=True, width="stretch")


def _long(rows: list[dict[str, object]], columns: dict[str, str]) -> pd.DataFrame:
    # Long format (day, series, value) so one chart draws several series with a legend.
    records = [
        {"day": row["day"], "series": t(label), "value": row[column]}
        for row in rows
        for column, label in columns.items()
    ]
    return pd.DataFrame.from_records(records)


def _line(frame: pd.DataFrame, *, percent: bool = False) -> alt.Chart:
    axis = alt.Axis(format="%") if percent else alt.Axis()
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:O", title=t("day"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("value:Q", title=t("value"), axis=axis),
            color=alt.Color("series:N", title=t("series"), legend=alt.Legend(orient="bottom")),
            tooltip=["day:O", "series:N", "value:Q"],
        )
    )


def _trends(res: Context, principal: Principal) -> None:
    st.subheader(t("trends"))
    figures = compute_figures(res.audit.iter_events(), department=_department(principal))
    rows = figures.rows()
    if not rows:
        st.info(t("no_events"))
        return
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('questions_per_day')}**")
        questions = pd.DataFrame.from_records(rows)
        st.altair_chart(
            alt.Chart(questions)
            .mark_bar()
            .encode(
                x=alt.X("day:O", title=t("day"), axis=alt.Axis(labelAngle=0)),
                y=alt.Y("questions:Q", title=t("m_volume"), axis=COUNT_AXIS),
                tooltip=["day:O", "questions:Q"],
            ),
            width="stretch",
        )
        st.markdown(f"**{t('rates')}**")
        rates = {
            "refusal_rate": "m_refusal_rate",
            "flag_rate": "m_flag_rate",
            "unsupported_rate": "m_unsupported_rate",
        }
        st.altair_chart(_line(_long(rows, rates), percent=True), width="stretch")
    with right:
        st.markdown(f"**{t('latency')}**")
        latency = {"latency_p50_ms": "m_latency_p50", "latency_p95_ms": "m_latency_p95"}
        st.altair_chart(_line(_long(rows, latency)), width="stretch")
        st.markdown(f"**{t('identifiers_denials')}**")
        counts = {"identifiers": "m_identifier_detections", "denials": "m_denials"}
        st.altair_chart(
            alt.Chart(_long(rows, counts))
            .mark_bar()
            .encode(
                x=alt.X("day:O", title=t("day"), axis=alt.Axis(labelAngle=0)),
                xOffset="series:N",
                y=alt.Y("value:Q", title=t("value"), axis=COUNT_AXIS),
                color=alt.Color("series:N", title=t("series"), legend=alt.Legend(orient="bottom")),
                tooltip=["day:O", "series:N", "value:Q"],
            ),
            width="stretch",
        )
    flags = [{"flag": code, "count": n} for code, n in figures.flags.most_common()]
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


# ---- ethics approvals -------------------------------------------------------------------------


def _approvals(res: Context, principal: Principal) -> None:
    st.subheader(t("approvals"))
    department = _department(principal)
    rows = [
        r
        for r in list_gates(res, registry=res.gate_registry())
        if department is None or r["department"] in (department, HOSPITAL_WIDE)
    ]
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


# ---- department needs report ------------------------------------------------------------------


def _departments(res: Context, principal: Principal) -> list[str]:
    own = _department(principal)
    if own is not None:
        return [own]
    access = res.access
    found = {dept for _user, _role, dept in access.list_role_assignments()}
    found |= {dept for _library, dept in access.list_library_grants()}
    return sorted(found - {HOSPITAL_WIDE})


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
    departments = _departments(res, principal)
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
            res.access.require(principal, "read", f"monitoring:{department}")
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
        _alerts(res, principal)
        _metrics(res, principal)
        _trends(res, principal)
        _approvals(res, principal)
        _needs(res, principal)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
