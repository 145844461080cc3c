"""Audit page: chain verification and export download (the charts are on Monitoring)."""

from __future__ import annotations

from typing import Literal

import streamlit as st

from assistant.domain import Principal
from assistant.errors import AccessDenied, GuideCiteError
from assistant.service import audit_trail
from assistant.service.context import Context
from ui.state import guard_page, t

EXPORT = "gc_export"


def _verify(res: Context, principal: Principal) -> None:
    st.subheader(t("verify_chain"))
    if not st.button(t("verify_chain"), key="gc_verify"):
        return
    try:
        # The check itself is audited, under the person who ran it.
        result = audit_trail.verify_audit(res, operator=principal.model_copy(update={"via": "web"}))
    except AccessDenied as exc:
        st.error(exc.user_message)
        return
    if result.ok:
        st.success(t("chain_ok", n=result.events))
    else:
        st.error(t("chain_bad", id=result.first_bad_id, reason=result.reason))


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
        _verify(res, principal)
        _export(res, principal)
    except GuideCiteError as exc:
        st.error(exc.user_message)


render()
