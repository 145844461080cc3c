"""Access page: users and roles of the department, role and library grants, recent changes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.domain import HOSPITAL_WIDE, Principal, Role
from assistant.errors import AccessDenied, InvalidInput
from assistant.service import admin as service_admin
from assistant.service.context import Context
from ui.i18n import role_name
from ui.state import guard_page, lang, t

RECENT = 30


def _hospital_wide(principal: Principal) -> bool:
    return principal.department == HOSPITAL_WIDE


def _users(res: Context, principal: Principal) -> list[str]:
    st.subheader(t("users"))
    rows: list[dict[str, Any]] = []
    for user in service_admin.list_users(res):
        in_department = user.department == principal.department or any(
            dept == principal.department for _role, dept in user.roles
        )
        if not (_hospital_wide(principal) or in_department):
            continue
        rows.append(
            {
                t("user"): user.name,
                t("department"): user.department,
                t("roles"): ", ".join(
                    f"{role_name(str(role), lang())}@{dept}" for role, dept in user.roles
                ),
                "disabled": user.disabled,
                "locked_until": user.locked_until,
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    return [str(row[t("user")]) for row in rows]


def _role_form(res: Context, principal: Principal, users: list[str]) -> None:
    st.subheader(t("roles"))
    with st.form("gc_roles"):
        user = st.selectbox(t("user"), options=users, key="gc_role_user")
        role = st.selectbox(
            t("role"),
            options=[r.value for r in Role],
            format_func=lambda value: role_name(value, lang()),
            key="gc_role_role",
        )
        if _hospital_wide(principal):
            department = st.text_input(t("department"), value=HOSPITAL_WIDE, key="gc_role_dept")
        else:
            department = principal.department
            st.caption(f"{t('department')}: {department}")
        grant = st.form_submit_button(t("grant"))
        revoke = st.form_submit_button(t("revoke"))
    if not (grant or revoke) or not user:
        return
    # The service checks permission and anti-escalation again, and audits every outcome.
    change = service_admin.grant_role if grant else service_admin.revoke_role
    try:
        changed = change(res, principal, user=user, role=Role(role), department=department)
    except (AccessDenied, InvalidInput) as exc:
        st.error(exc.user_message)
        return
    st.success(t("changed" if changed else "unchanged"))


def _library_form(res: Context, principal: Principal) -> None:
    st.subheader(t("library_grants"))
    grants = service_admin.list_libraries(res)
    st.dataframe(
        [
            {t("library"): g["library"], t("department"): ", ".join(g["departments"])}
            for g in grants
        ],
        hide_index=True,
        width="stretch",
    )
    with st.form("gc_libraries"):
        library = st.text_input(t("library"), key="gc_lib_name")
        if _hospital_wide(principal):
            department = st.text_input(t("department"), value=HOSPITAL_WIDE, key="gc_lib_dept")
        else:
            department = principal.department
            st.caption(f"{t('department')}: {department}")
        grant = st.form_submit_button(t("grant"))
        revoke = st.form_submit_button(t("revoke"))
    if not (grant or revoke) or not library.strip():
        return
    change = service_admin.grant_library if grant else service_admin.revoke_library
    try:
        changed = change(res, principal, library=library.strip(), department=department)
    except (AccessDenied, InvalidInput) as exc:
        st.error(exc.user_message)
        return
    st.success(t("changed" if changed else "unchanged"))


def _recent_changes(res: Context, principal: Principal) -> None:
    st.subheader(t("recent_changes"))
    events = service_admin.recent_access_changes(res, principal, limit=RECENT)
    st.dataframe(
        [
            {
                "time (UTC)": e.ts_utc,
                "actor": e.actor,
                "action": e.action,
                "object": e.object,
                "outcome": e.outcome,
                "detail": ", ".join(
                    f"{k}={v}" for k, v in e.detail_json.items() if k != "via" and v is not None
                ),
            }
            for e in events
        ],
        hide_index=True,
        width="stretch",
    )


def render() -> None:
    """The access page."""
    guarded = guard_page("access")
    if guarded is None:
        return
    res, principal = guarded
    st.title(t("page_access"))
    users = _users(res, principal)
    left, right = st.columns(2)
    with left:
        _role_form(res, principal, users)
    with right:
        _library_form(res, principal)
    _recent_changes(res, principal)


render()
