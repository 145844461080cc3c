"""Access page: users and roles of the department, role and library grants, recent changes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant.domain import HOSPITAL_WIDE, Principal, Role
from assistant.errors import AccessDenied, InvalidInput
from assistant.service import admin as service_admin
from assistant.service.context import Context
from ui.i18n import role_name
from ui.state import choose, guard_page, lang, t

RECENT = 30
PENDING = "gc_access_pending"  # a revoke waiting for its confirmation
NOTICE = "gc_access_notice"  # the last change's outcome, shown after the rerun that follows it


def _hospital_wide(principal: Principal) -> bool:
    return principal.department == HOSPITAL_WIDE


def _users(res: Context, principal: Principal) -> list[str]:
    st.subheader(t("users"))
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    for user in service_admin.list_users(res):
        in_department = user.department == principal.department or any(
            dept == principal.department for _role, dept in user.roles
        )
        if not (_hospital_wide(principal) or in_department):
            continue
        names.append(user.name)
        rows.append(
            {
                t("user"): user.name,
                t("department"): user.department,
                t("roles"): ", ".join(
                    f"{role_name(str(role), lang())}@{dept}" for role, dept in user.roles
                ),
                t("col_disabled"): user.disabled,
                t("col_locked_until"): user.locked_until,
            }
        )
    st.dataframe(rows, hide_index=True, width="stretch")
    return names


def _department_field(principal: Principal, key: str) -> str:
    if _hospital_wide(principal):
        department: str = st.text_input(t("department"), value=HOSPITAL_WIDE, key=key)
        return department.strip()
    st.caption(f"{t('department')}: {principal.department}")
    return principal.department


def _role_form(res: Context, principal: Principal, users: list[str]) -> None:
    st.subheader(t("roles"))
    # Only what the no-escalation rule lets this administrator grant (issue 16 item 7).
    roles = service_admin.grantable_roles(res, principal, department=principal.department)
    if not roles:
        st.caption(t("nothing_grantable"))
        return
    with st.form("gc_roles"):
        user = st.selectbox(t("user"), options=users, key="gc_role_user")
        role = choose(
            t("role"),
            [r.value for r in roles],
            key="gc_role",
            format_func=lambda value: role_name(value, lang()),
        )
        department = _department_field(principal, "gc_role_dept")
        grant = st.form_submit_button(t("grant"))
        revoke = st.form_submit_button(t("revoke"))
    if not (grant or revoke) or not user or not role:
        return
    request = {"kind": "role", "user": user, "role": role, "department": department}
    if revoke:
        _ask_to_confirm(request)
    _apply(res, principal, request, grant=True)


def _library_form(res: Context, principal: Principal) -> None:
    st.subheader(t("library_grants"))
    st.dataframe(
        [
            {t("library"): g["library"], t("department"): ", ".join(g["departments"])}
            for g in service_admin.list_libraries(res)
        ],
        hide_index=True,
        width="stretch",
    )
    known = service_admin.grantable_libraries(res, principal, department=principal.department)
    # A library nobody holds yet is named by a system administrator only.
    new_names = service_admin.may_name_new_library(res, principal)
    if not known and not new_names:
        st.caption(t("nothing_grantable"))
        return
    with st.form("gc_libraries"):
        library = st.selectbox(
            t("library"),
            options=known,
            accept_new_options=new_names,
            placeholder=t("library_type_new") if new_names else None,
            key="gc_lib_name",
        )
        department = _department_field(principal, "gc_lib_dept")
        grant = st.form_submit_button(t("grant"))
        revoke = st.form_submit_button(t("revoke"))
    if not (grant or revoke) or not library or not library.strip():
        return
    request = {"kind": "library", "library": library.strip(), "department": department}
    if revoke:
        _ask_to_confirm(request)
    _apply(res, principal, request, grant=True)


def _ask_to_confirm(request: dict[str, str]) -> None:
    """Hold a revoke until it is confirmed: nothing changes yet."""
    st.session_state[PENDING] = request
    st.session_state.pop(NOTICE, None)
    st.rerun()


def _confirm_revoke(res: Context, principal: Principal) -> None:
    request: dict[str, str] | None = st.session_state.get(PENDING)
    if request is None:
        return
    if request["kind"] == "role":
        question = t(
            "confirm_revoke_role",
            user=request["user"],
            role=role_name(request["role"], lang()),
            department=request["department"],
        )
    else:
        question = t(
            "confirm_revoke_library", library=request["library"], department=request["department"]
        )
    with st.container(border=True, key="gc_revoke_confirmation"):
        st.warning(question, icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        confirmed = yes.button(t("confirm_revoke"), key="gc_revoke_yes", type="primary")
        cancelled = no.button(t("cancel"), key="gc_revoke_no")
    if confirmed or cancelled:
        st.session_state.pop(PENDING, None)
    if confirmed:
        _apply(res, principal, request, grant=False)
    if cancelled:
        st.rerun()


def _apply(res: Context, principal: Principal, request: dict[str, str], *, grant: bool) -> None:
    """Make the change through the service, then draw the page again so every table shows it."""
    # The service checks permission and anti-escalation again, and audits every outcome.
    try:
        if request["kind"] == "role":
            change_role = service_admin.grant_role if grant else service_admin.revoke_role
            changed = change_role(
                res,
                principal,
                user=request["user"],
                role=Role(request["role"]),
                department=request["department"],
            )
        else:
            change_library = service_admin.grant_library if grant else service_admin.revoke_library
            changed = change_library(
                res, principal, library=request["library"], department=request["department"]
            )
    except (AccessDenied, InvalidInput) as exc:
        st.session_state[NOTICE] = ("error", exc.user_message)
    else:
        st.session_state[NOTICE] = ("success", "changed" if changed else "unchanged")
    st.rerun()


def _show_notice() -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice is None:
        return
    kind, text = notice
    if kind == "success":
        st.success(t(text))
    else:
        st.error(text)


def _recent_changes(res: Context, principal: Principal) -> None:
    st.subheader(t("recent_changes"))
    events = service_admin.recent_access_changes(res, principal, limit=RECENT)
    st.dataframe(
        [
            {
                t("col_time_utc"): e.ts_utc,
                t("col_actor"): e.actor,
                t("col_action"): e.action,
                t("col_object"): e.object,
                t("col_outcome"): e.outcome,
                t("col_detail"): ", ".join(
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
    _show_notice()
    _confirm_revoke(res, principal)
    users = _users(res, principal)
    left, right = st.columns(2)
    with left:
        _role_form(res, principal, users)
    with right:
        _library_form(res, principal)
    _recent_changes(res, principal)


render()
