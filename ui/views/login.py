"""Sign-in page: password, second factor where the role needs it, forced password change."""

from __future__ import annotations

import streamlit as st

from assistant.errors import AuthenticationError, InvalidInput
from ui.state import (
    HOME,
    NOTICE,
    AppResources,
    current_principal,
    record_auth_event,
    resources,
    start_session,
    t,
)

PENDING_CHANGE = "gc_pending_change"
NEED_TOTP = "gc_need_totp"
LOGIN_ERROR = "gc_login_error"
KNOWN_REASONS = {
    "bad_credentials", "locked", "disabled", "totp_required", "totp_not_enrolled",
    "totp_invalid", "no_role",
}  # fmt: skip


def _sign_in(res: AppResources, name: str, password: str, code: str) -> None:
    try:
        result = res.accounts.login(name, password, totp_code=code.strip() or None)
    except AuthenticationError as exc:
        # 等保2.0 8.1.4.3: failed logins are audited with the reason, never the password.
        record_auth_event(
            res, user=name, action="login", outcome="failed", detail={"reason": exc.reason}
        )
        key = exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"
        if exc.reason in ("totp_required", "totp_invalid") and not st.session_state.get(NEED_TOTP):
            # Redraw the form with the code field, keeping the message.
            st.session_state[NEED_TOTP] = True
            st.session_state[LOGIN_ERROR] = key
            st.rerun()
        st.error(t(key))
        return
    if result.must_change_password:
        record_auth_event(
            res,
            user=name,
            action="login",
            outcome="password_change_required",
            detail={"reason": "must_change_password"},
        )
        st.session_state[PENDING_CHANGE] = name
        st.rerun()
    assert result.token is not None and result.principal is not None
    record_auth_event(
        res, user=name, action="login", outcome="ok", detail={}, principal=result.principal
    )
    st.session_state.pop(NEED_TOTP, None)
    start_session(result.token, result.principal)
    st.rerun()


def _change_password(res: AppResources, name: str) -> None:
    st.warning(t("must_change"))
    with st.form("gc_change_password"):
        old = st.text_input(t("password"), type="password", key="gc_old_password")
        new = st.text_input(t("new_password"), type="password", key="gc_new_password")
        again = st.text_input(t("confirm_password"), type="password", key="gc_new_password2")
        submitted = st.form_submit_button(t("change_password"))
    if not submitted:
        return
    if new != again:
        st.error(t("passwords_differ"))
        return
    try:
        res.accounts.change_password(name, old=old, new=new)
    except AuthenticationError as exc:
        record_auth_event(
            res,
            user=name,
            action="password_change",
            outcome="failed",
            detail={"reason": exc.reason},
        )
        st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    except InvalidInput as exc:
        st.error(exc.user_message)
        return
    record_auth_event(res, user=name, action="password_change", outcome="ok", detail={})
    st.session_state.pop(PENDING_CHANGE, None)
    st.session_state[NOTICE] = "password_changed"
    st.rerun()


def render() -> None:
    """The sign-in form (or the forced password change after a temporary password)."""
    st.title(t("app_title"))
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.info(t(notice))
    error = st.session_state.pop(LOGIN_ERROR, None)
    if error:
        st.error(t(error))
    res = resources()
    home = st.session_state.get(HOME)
    if home and current_principal(res) is not None:
        st.switch_page(f"views/{home}.py")
    pending = st.session_state.get(PENDING_CHANGE)
    if pending:
        _change_password(res, pending)
        return
    with st.form("gc_login"):
        name = st.text_input(t("username"), key="gc_username", autocomplete="username")
        password = st.text_input(
            t("password"), type="password", key="gc_password", autocomplete="current-password"
        )
        code = ""
        if st.session_state.get(NEED_TOTP):
            code = st.text_input(t("totp_code"), key="gc_totp", max_chars=8)
        submitted = st.form_submit_button(t("sign_in"), type="primary")
    if submitted and name.strip():
        _sign_in(res, name.strip(), password, code)


render()
