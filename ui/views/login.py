"""Sign-in page: password and, in the same form, the authenticator code; forced password change.

The code field is always there (issue 16 item 10): the form cannot know before it is sent whether
the account needs a second factor, and asking for it only after a refusal made every privileged
sign-in log a failure first. Accounts without an authenticator leave it empty. After a forced
password change the sign-in continues with the server's one-time ticket, not the code again.
Every attempt is audited by the service (`assistant.service.sign_in`), so any other front end
gets the same record.
"""

from __future__ import annotations

import streamlit as st

from assistant.domain import Principal
from assistant.errors import AuthenticationError, InvalidInput
from assistant.service.context import Context
from assistant.service.sign_in import (
    change_own_password,
    change_password_and_sign_in,
    sign_in,
    sign_in_verified,
)
from ui import oidc
from ui.state import (
    HOME,
    NOTICE,
    current_principal,
    remember_in_browser,
    resources,
    start_session,
    t,
)

PENDING_CHANGE = "gc_pending_change"
CHANGE_TICKET = "gc_change_ticket"  # kept in the server-side session state only
LOGIN_ERROR = "gc_login_error"
SSO_REASONS = {"unknown_user", "sso_unmapped"}
KNOWN_REASONS = {
    "bad_credentials", "locked", "disabled", "totp_required", "totp_not_enrolled",
    "totp_invalid", "no_role",
}  # fmt: skip


def _code_field(key: str) -> str:
    """The authenticator-code field, present from the start and plainly optional."""
    return st.text_input(
        t("totp_code"),
        key=key,
        max_chars=8,
        placeholder=t("totp_code_optional"),
        autocomplete="one-time-code",
    )


def _signed_in(res: Context, token: str | None, principal: Principal | None) -> None:
    assert token is not None and principal is not None
    for key in (PENDING_CHANGE, CHANGE_TICKET):
        st.session_state.pop(key, None)
    start_session(token, principal)
    remember_in_browser(res, token)
    st.rerun()


def _sign_in(res: Context, name: str, password: str, code: str) -> None:
    try:
        # 等保2.0 8.1.4.3: every attempt is audited by the service, never the password.
        result = sign_in(res, name, password, totp_code=code.strip() or None)
    except AuthenticationError as exc:
        st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    if result.must_change_password:
        st.session_state[PENDING_CHANGE] = name
        st.session_state[CHANGE_TICKET] = result.change_ticket
        st.rerun()
    _signed_in(res, result.token, result.principal)


def _sso_text(key: str, **values: object) -> str:
    return t(key, **values)


def _sso_sign_in(res: Context, claims: dict[str, object], code: str) -> None:
    """Map the provider's verified identity to an account and open a session (audited)."""
    try:
        result = sign_in_verified(
            res, claims, claim=oidc.account_claim(), totp_code=code.strip() or None
        )
    except AuthenticationError as exc:
        if exc.reason in SSO_REASONS:
            st.error(_sso_text(exc.reason))
        else:
            st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    _signed_in(res, result.token, result.principal)


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
        code = _code_field("gc_sso_totp")
        submitted = st.form_submit_button(_sso_text("sso_continue", who=who), type="primary")
    if st.button(_sso_text("sso_other"), key="gc_sso_other"):
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
    ticket = st.session_state.get(CHANGE_TICKET)
    try:
        if ticket:
            # The sign-in goes on: password and code were checked before the change.
            result = change_password_and_sign_in(res, name, ticket=ticket, old=old, new=new)
        else:
            change_own_password(res, name, old=old, new=new)
    except AuthenticationError as exc:
        if exc.reason == "invalid_ticket":  # too late: start the sign-in again
            for key in (PENDING_CHANGE, CHANGE_TICKET):
                st.session_state.pop(key, None)
            st.session_state[LOGIN_ERROR] = "session_ended"
            st.rerun()
        st.error(t(exc.reason if exc.reason in KNOWN_REASONS else "bad_credentials"))
        return
    except InvalidInput as exc:
        st.error(exc.user_message)
        return
    if ticket:
        _signed_in(res, result.token, result.principal)
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
        code = _code_field("gc_totp")
        submitted = st.form_submit_button(t("sign_in"), type="primary")
    if submitted and name.strip():
        _sign_in(res, name.strip(), password, code)


render()
