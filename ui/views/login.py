"""Sign-in page: password, second factor where the role needs it, forced password change.

Every attempt is audited by the service (`assistant.service.sign_in.sign_in`,
`change_own_password`), so any other front end gets the same record.
"""

from __future__ import annotations

import streamlit as st

from assistant.errors import AuthenticationError, InvalidInput
from assistant.service.context import Context
from assistant.service.sign_in import change_own_password, sign_in, sign_in_verified
from ui import oidc
from ui.state import HOME, NOTICE, current_principal, resources, start_session, t

PENDING_CHANGE = "gc_pending_change"
NEED_TOTP = "gc_need_totp"
LOGIN_ERROR = "gc_login_error"
SSO_NEED_TOTP = "gc_sso_need_totp"
SSO_REASONS = {"unknown_user", "sso_unmapped"}
KNOWN_REASONS = {
    "bad_credentials", "locked", "disabled", "totp_required", "totp_not_enrolled",
    "totp_invalid", "no_role",
}  # fmt: skip


def _sign_in(res: Context, name: str, password: str, code: str) -> None:
    try:
        # 等保2.0 8.1.4.3: every attempt is audited by the service, never the password.
        result = sign_in(res, name, password, totp_code=code.strip() or None)
    except AuthenticationError as exc:
        key = exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"
        if exc.reason in ("totp_required", "totp_invalid") and not st.session_state.get(NEED_TOTP):
            # Redraw the form with the code field, keeping the message.
            st.session_state[NEED_TOTP] = True
            st.session_state[LOGIN_ERROR] = key
            st.rerun()
        st.error(t(key))
        return
    if result.must_change_password:
        st.session_state[PENDING_CHANGE] = name
        st.rerun()
    assert result.token is not None and result.principal is not None
    st.session_state.pop(NEED_TOTP, None)
    start_session(result.token, result.principal)
    st.rerun()


def _sso_text(key: str, **values: object) -> str:
    return t(key, **values)


def _sso_sign_in(res: Context, claims: dict[str, object], code: str) -> None:
    """Map the provider's verified identity to an account and open a session (audited)."""
    try:
        result = sign_in_verified(
            res, claims, claim=oidc.account_claim(), totp_code=code.strip() or None
        )
    except AuthenticationError as exc:
        if exc.reason in ("totp_required", "totp_invalid") and not st.session_state.get(
            SSO_NEED_TOTP
        ):
            st.session_state[SSO_NEED_TOTP] = True
            st.session_state[LOGIN_ERROR] = exc.reason
            st.rerun()
        if exc.reason in SSO_REASONS:
            st.error(_sso_text(exc.reason))
        else:
            st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    assert result.token is not None and result.principal is not None
    st.session_state.pop(SSO_NEED_TOTP, None)
    start_session(result.token, result.principal)
    st.rerun()


def _sso_option(res: Context) -> None:
    """The hospital SSO button, or, back from the provider, "continue as …"."""
    claims = oidc.identity_claims()
    if claims is None:
        if st.button(_sso_text("sso_sign_in"), key="gc_sso", type="primary"):
            oidc.start_sso()
        st.caption(_sso_text("sso_or"))
        return
    who = str(claims.get("email") or claims.get("name") or "?")
    with st.form("gc_sso_continue"):
        code = ""
        if st.session_state.get(SSO_NEED_TOTP):
            code = st.text_input(t("totp_code"), key="gc_sso_totp", max_chars=8)
        submitted = st.form_submit_button(_sso_text("sso_continue", who=who), type="primary")
    if st.button(_sso_text("sso_other"), key="gc_sso_other"):
        st.session_state.pop(SSO_NEED_TOTP, None)
        oidc.end_sso()
    if submitted:
        _sso_sign_in(res, claims, code)
    st.caption(_sso_text("sso_or"))


def _change_password(res: Context, name: str) -> None:
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
        change_own_password(res, name, old=old, new=new)
    except AuthenticationError as exc:
        st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    except InvalidInput as exc:
        st.error(exc.user_message)
        return
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
    if oidc.sso_configured():
        _sso_option(res)
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
