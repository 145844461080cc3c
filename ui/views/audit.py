"""Audit page: the event table with filters and paging, the chain status, and export.

The table (issue 16 item 9) answers "who asked what, when" without a download: filters on actor,
department (hospital-wide officers only; a department's officer sees their own), action,
outcome and a date range, 50 rows a page, next/previous by keyset (`before_id`), so a page is as
quick at row 100,000 as at row 1. Who may see which rows is decided in
`assistant.service.audit_trail.browse_events`, never here.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import pandas as pd
import streamlit as st

from assistant.domain import HOSPITAL_WIDE, AuditAction, AuditEvent, Principal
from assistant.errors import AccessDenied, GuideCiteError
from assistant.service import audit_trail
from assistant.service.context import Context
from assistant.service.monitoring import monitored_departments
from ui.state import choose, guard_page, t

EXPORT = "gc_export"
PAGE_SIZE = 50
# The ids each shown page starts below (None: the newest page); the last is the page shown.
PAGES = "gc_audit_pages"
FILTERS = "gc_audit_filters"
ANY = ""
OUTCOMES = (ANY, "ok", "denied", "failed", "error", "refused", "extractive", "generative")
DETAIL_CHARS = 120


def _chain_status(res: Context, principal: Principal) -> None:
    st.subheader(t("chain_status"))
    status = st.empty()  # filled after the button, so a check just run is the one shown
    if st.button(t("verify_chain"), key="gc_verify"):
        try:
            # The check itself is audited, under the person who ran it.
            audit_trail.verify_audit(res, operator=principal.model_copy(update={"via": "web"}))
        except AccessDenied as exc:
            st.error(exc.user_message)
    last = audit_trail.last_verification(res, principal)
    if last is None:
        status.info(t("chain_never_checked"))
    elif last.outcome == "ok":
        status.success(t("chain_last_ok", ts=_ts(last), n=last.detail_json.get("events", "?")))
    else:
        status.error(
            t(
                "chain_last_bad",
                ts=_ts(last),
                id=last.detail_json.get("first_bad_id"),
                reason=last.detail_json.get("reason"),
            )
        )


def _ts(event: AuditEvent) -> str:
    return event.ts_utc.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _filters(res: Context, principal: Principal) -> dict[str, Any]:
    """The filter widgets; returns browse_events' keyword arguments."""
    first, second, third = st.columns(3)
    with first:
        actor = st.text_input(t("col_actor"), key="gc_audit_actor").strip()
    department: str | None = None
    with second:
        if audit_trail.department_scope(principal) is None:
            options = [ANY, HOSPITAL_WIDE, *monitored_departments(res, principal)]
            department = choose(
                t("col_department"),
                options,
                key="gc_audit_department",
                format_func=lambda d: {ANY: t("audit_any"), HOSPITAL_WIDE: t("hospital_wide")}.get(
                    d, d
                ),
            )
        else:
            st.text_input(t("col_department"), value=principal.department, disabled=True)
    with third:
        action = choose(
            t("col_action"),
            [ANY, *(str(a) for a in AuditAction)],
            key="gc_audit_action",
            format_func=lambda a: a or t("audit_any"),
        )
    fourth, fifth, sixth = st.columns(3)
    with fourth:
        outcome = choose(
            t("col_outcome"),
            list(OUTCOMES),
            key="gc_audit_outcome",
            format_func=lambda o: o or t("audit_any"),
        )
    with fifth:
        since_day: date | None = st.date_input(t("audit_from"), value=None, key="gc_audit_from")
    with sixth:
        until_day: date | None = st.date_input(t("audit_to"), value=None, key="gc_audit_to")
    return {
        "actor": actor or None,
        "department": department or None,
        "actions": [action] if action else None,
        "outcome": outcome or None,
        "since": datetime.combine(since_day, time(), UTC) if since_day else None,
        # The end day is included: up to the start of the next day.
        "until": datetime.combine(until_day + timedelta(days=1), time(), UTC)
        if until_day
        else None,
    }


def _row(event: AuditEvent) -> dict[str, Any]:
    detail = json.dumps(event.detail_json, ensure_ascii=False, default=str)
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    return {
        t("col_id"): event.id,
        t("col_time_utc"): _ts(event),
        t("col_actor"): event.actor,
        t("col_role"): event.role,
        t("col_department"): event.department,
        t("col_action"): event.action,
        t("col_outcome"): event.outcome,
        t("col_object"): event.object,
        t("col_detail"): detail,
    }


def _events(res: Context, principal: Principal) -> None:
    st.subheader(t("audit_events"))
    filters = _filters(res, principal)
    signature = repr(sorted(filters.items()))
    if st.session_state.get(FILTERS) != signature:  # new filters: back to the newest page
        st.session_state[FILTERS] = signature
        st.session_state[PAGES] = [None]
    pages: list[int | None] = st.session_state[PAGES]
    try:
        events, more = audit_trail.browse_events(
            res, principal, before_id=pages[-1], limit=PAGE_SIZE, **filters
        )
    except AccessDenied as exc:
        st.error(exc.user_message)
        return
    if events:
        st.dataframe(pd.DataFrame([_row(e) for e in events]), hide_index=True)
    else:
        st.info(t("audit_no_events"))
    back, where, forward = st.columns([1, 2, 1])
    with back:
        if st.button(t("audit_newer"), key="gc_audit_prev", disabled=len(pages) == 1):
            pages.pop()
            st.rerun()
    with where:
        st.caption(t("audit_page_n", n=len(pages), rows=len(events)))
    with forward:
        if st.button(t("audit_older"), key="gc_audit_next", disabled=not more):
            pages.append(events[-1].id)
            st.rerun()


def _export(res: Context, principal: Principal) -> None:
    st.subheader(t("export"))
    fmt: Literal["jsonl", "csv"] = st.radio(
        t("export"), options=["jsonl", "csv"], horizontal=True, key="gc_export_fmt"
    )
    if st.button(t("prepare_export"), key="gc_export_prepare"):
        try:
            lines = audit_trail.export_audit(
                res, principal, fmt=fmt, department=audit_trail.department_scope(principal)
            )
        except AccessDenied as exc:
            st.error(exc.user_message)
            return
        st.session_state[EXPORT] = (fmt, "".join(lines))
    prepared = st.session_state.get(EXPORT)
    if prepared:
        kind, text = prepared
        st.download_button(
            t("download_export", fmt=kind),
            data=text.encode("utf-8"),
            file_name=f"guidecite-audit.{kind}",
            mime="application/jsonl" if kind == "jsonl" else "text/csv",
            key="gc_export_download",
            on_click="ignore",
        )


def render() -> None:
    """The audit page."""
    guarded = guard_page("audit")
    if guarded is None:
        return
    res, principal = guarded
    st.title(t("page_audit"))
    try:
        _chain_status(res, principal)
        _events(res, principal)
        _export(res, principal)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
