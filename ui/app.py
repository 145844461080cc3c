"""The GuideCite web app (Streamlit): `guidecite serve` runs this script.

Pages come by role (DESIGN.md §2, issue 5): a page the principal may not open is absent from
the menu, and still registered hidden so that reaching it by its URL runs the page's own
server-side check, which refuses and audits the attempt.
"""

from __future__ import annotations

import logging

import streamlit as st

from assistant.errors import GuideCiteError
from assistant.service.context import Context
from assistant.service.sign_in import may_open, sign_out
from ui.i18n import LANGUAGE_NAMES, LANGUAGES, role_name
from ui.state import (
    HOME,
    LANG,
    TOKEN,
    browser_session_script,
    current_principal,
    end_session,
    lang,
    resources,
    t,
)

logger = logging.getLogger(__name__)

REQUESTED = "gc_requested_page"  # the page a signed-out person's URL named

PAGE_ICONS = {
    "chat": ":material/chat:",
    "library": ":material/library_books:",
    "access": ":material/admin_panel_settings:",
    "audit": ":material/fact_check:",
    "review": ":material/rate_review:",
    "monitoring": ":material/monitor_heart:",
}
# Menu order, and the Casbin page each menu entry is guarded by: monitoring belongs to the
# compliance officer's `page:audit` ("Audit & monitoring", issue 5 item 7).
MENU = (
    ("chat", "chat"),
    ("review", "review"),
    ("library", "library"),
    ("access", "access"),
    ("audit", "audit"),
    ("monitoring", "audit"),
)


def _language_toggle() -> None:
    lang()  # initialises the choice from the browser's Accept-Language
    st.sidebar.segmented_control(
        t("language"),
        options=list(LANGUAGES),
        format_func=lambda code: LANGUAGE_NAMES[code],
        key=LANG,
    )


def _sign_out(res: Context) -> None:
    sign_out(res, st.session_state.get(TOKEN), current_principal(res))
    end_session(notice="signed_out")


def _service_down(exc: GuideCiteError) -> None:
    st.title(t("service_down"))
    st.error(exc.user_message)
    st.caption(t("service_down_hint"))


def _signed_out() -> None:
    """The sign-in page, in the browser's language, at any of the app's page URLs (issue 16):
    a typed /review or a reload lands here, and after signing in the URL's page opens."""
    login = st.Page("views/login.py", title=t("page_login"), url_path="login", default=True)
    pages = [login] + [
        st.Page("views/login.py", title=t("page_login"), url_path=name, visibility="hidden")
        for name, _guard in MENU
    ]
    current = st.navigation(pages, position="hidden")
    if current.url_path in dict(MENU):
        st.session_state[REQUESTED] = current.url_path
    current.run()


def main() -> None:
    """Build the navigation for whoever is signed in and run the chosen page."""
    st.set_page_config(page_title="GuideCite", page_icon=":material/menu_book:", layout="wide")
    _language_toggle()
    try:
        res = resources()
        principal = current_principal(res)
    except GuideCiteError as exc:
        logger.warning("backing service unavailable: %s", type(exc).__name__)
        _service_down(exc)
        return
    browser_session_script(res)
    if principal is None:
        _signed_out()
        return
    pages = []
    first = True
    for name, guard in MENU:
        allowed = may_open(res, principal, guard)
        pages.append(
            st.Page(
                f"views/{name}.py",
                title=t(f"page_{name}"),
                icon=PAGE_ICONS[name],
                url_path=name,
                default=allowed and first,
                visibility="visible" if allowed else "hidden",
            )
        )
        first = first and not allowed
    st.sidebar.caption(
        t(
            "signed_in_as",
            user=principal.user,
            role=role_name(str(principal.role), lang()),
            department=principal.department,
        )
    )
    if st.sidebar.button(t("logout"), key="gc_logout", icon=":material/logout:"):
        _sign_out(res)
        st.rerun()
    if first:  # no page at all for this role: show a plain message rather than a hidden page
        st.info(t("page_denied"))
        return
    st.session_state[HOME] = next(name for name, guard in MENU if may_open(res, principal, guard))
    # The sign-in page stays registered (hidden): the rerun after signing in lands on it, and
    # it forwards to the role's first page.
    pages.append(
        st.Page("views/login.py", title=t("page_login"), url_path="login", visibility="hidden")
    )
    try:
        current = st.navigation(pages)
        requested = st.session_state.pop(REQUESTED, None)
        if requested == current.url_path and not may_open(res, principal, dict(MENU)[requested]):
            # Signed in from a typed URL the role may not open: its first page instead.
            st.switch_page(f"views/{st.session_state[HOME]}.py")
        current.run()
    except GuideCiteError as exc:
        _service_down(exc)


main()
