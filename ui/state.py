"""Process-wide resources and per-session state: sign-in, language, page permissions.

One Context per process (`st.cache_resource`): the embedded Qdrant Edge shard is
single-process and the embedding model is loaded once; every browser session shares them.
Who the user is comes only from the session token (or, after a reload, the session's cookie
credential: `assistant.service.sign_in.resume_from_cookie`), resolved against the accounts
database on every rerun, so an idle timeout, a revocation or a disabled account takes effect at
once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

import streamlit as st
import streamlit.components.v1 as components

from assistant.config import Settings, get_settings
from assistant.domain import Principal
from assistant.errors import AuthenticationError
from assistant.service.context import Context, open_context
from assistant.service.sign_in import (
    COOKIE_NAME,
    cookie_ticket_pending,
    issue_cookie_ticket,
    open_page,
    resume_from_cookie,
    resume_session,
)
from ui.i18n import LANGUAGES, Lang, language_from_header, translate

TOKEN = "gc_token"  # noqa: S105 (a session_state key, not a secret)
LANG = "gc_lang"
LAST_LANG = "gc_lang_last"
NOTICE = "gc_notice"
CONVERSATION = "gc_conversation"
HISTORY = "gc_history"
FEEDBACK = "gc_feedback"
HOME = "gc_home"
PAGES = ("chat", "library", "access", "audit")
# Staying signed in across a reload (issue 16): the browser's session cookie, set and cleared by
# the route of ui/server.py; these keys remember what this browser session still has to do.
SESSION_ROUTE = "/_guidecite/session"
COOKIE_TICKET = "gc_cookie_ticket"  # the ticket the page has yet to post
COOKIE_READ = "gc_cookie_read"  # the request's cookie was tried once (never again this session)
COOKIE_CLEAR = "gc_cookie_clear"  # the cookie names no live session: the page clears it
Option = TypeVar("Option", bound=Hashable)


def _fingerprint(settings: Settings) -> str:
    # Secrets are not part of the key's text; a changed secret needs a restart anyway.
    return hashlib.sha256(settings.model_dump_json().encode("utf-8")).hexdigest()


@st.cache_resource(show_spinner=False)
def _open_resources(key: str, _settings: Settings) -> Context:
    context = open_context(_settings)
    # Load the model and open the store now, not inside the first question.
    context.retriever  # noqa: B018
    return context


def resources() -> Context:
    """The process's one context for the current configuration (opened on first use)."""
    settings = get_settings()
    return _open_resources(_fingerprint(settings), settings)


# ---- language -------------------------------------------------------------------------------


def lang() -> Lang:
    """The session's UI language; first from the browser's Accept-Language."""
    value = st.session_state.get(LANG)
    if value not in LANGUAGES:
        # First visit, or the toggle was clicked off: fall back to the last choice.
        value = st.session_state.get(LAST_LANG) or _browser_language()
        st.session_state[LANG] = value
    st.session_state[LAST_LANG] = value
    chosen: Lang = value
    return chosen


def _browser_language() -> Lang:
    try:
        header = st.context.headers.get("Accept-Language")
    except Exception:  # no browser request (AppTest, bare runs)
        header = None
    return language_from_header(header)


def t(key: str, **values: object) -> str:
    """Translate a catalogue key into the session's language."""
    return translate(key, lang(), **values)


def choose(
    label: str,
    options: Sequence[Option],
    *,
    key: str,
    format_func: Callable[[Option], str] = str,
    **kwargs: Any,
) -> Option | None:
    """A selectbox in the UI language whose choice survives a language switch.

    Streamlit keeps a selectbox's value as its option's *shown* text, so one widget across a
    switch keeps the other language's text and hands it back as the value (issue 16 item 11).
    Each language gets its own widget (`<key>_<lang>`), started from the last choice, which
    `st.session_state[key]` holds; the shown texts are fixed when drawn.
    """
    default = kwargs.pop("index", 0)
    chosen = st.session_state.get(key)
    shown = {option: format_func(option) for option in options}
    value: Option | None = st.selectbox(
        label,
        options=list(options),
        index=list(options).index(chosen) if chosen in shown else default,
        format_func=shown.__getitem__,
        key=f"{key}_{lang()}",
        **kwargs,
    )
    st.session_state[key] = value
    return value


# ---- sign-in --------------------------------------------------------------------------------


def _request_cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser request (AppTest, bare runs)
        return None
    return value if isinstance(value, str) and value else None


def _resume_from_cookie(res: Context) -> str | None:
    """The session token stand-in of a browser that comes back with its session cookie.

    Read once per browser session: the cookie is that of the page's first request, so after a
    sign-out in this tab it is stale. A cookie that names no live session is cleared."""
    if st.session_state.get(COOKIE_READ):
        return None
    st.session_state[COOKIE_READ] = True
    value = _request_cookie()
    if value is None:
        return None
    try:
        credential, principal = resume_from_cookie(res, value)
    except AuthenticationError:
        st.session_state[COOKIE_CLEAR] = True
        return None
    start_session(credential, principal)
    return credential


def remember_in_browser(res: Context, token: str) -> None:
    """After a sign-in: have the page post a one-time ticket for the session cookie."""
    st.session_state.pop(COOKIE_CLEAR, None)
    st.session_state[COOKIE_READ] = True
    st.session_state[COOKIE_TICKET] = issue_cookie_ticket(res, token)


def browser_session_script(res: Context) -> None:
    """The page's part in the session cookie: post the pending ticket, or clear the cookie.

    An invisible same-origin frame (`fetch` with the page's origin and cookies); drawn on every
    run until the route has used the ticket, so a rerun that redraws the page does not lose it.
    """
    ticket = st.session_state.get(COOKIE_TICKET)
    if ticket and not cookie_ticket_pending(res, ticket):
        st.session_state.pop(COOKIE_TICKET, None)
        ticket = None
    if ticket:
        request = {"method": "POST", "body": json.dumps({"ticket": ticket})}
    elif st.session_state.get(COOKIE_CLEAR):
        request = {"method": "DELETE"}
    else:
        return
    options: dict[str, object] = {**request, "credentials": "same-origin", "cache": "no-store"}
    options["headers"] = {"Content-Type": "application/json"}
    with st.sidebar:
        components.html(
            f"<script>fetch({json.dumps(SESSION_ROUTE)}, {json.dumps(options)});</script>",
            height=0,
        )


def current_principal(res: Context) -> Principal | None:
    """The signed-in principal, re-checked on every rerun (idle timeout, revocation)."""
    token = st.session_state.get(TOKEN) or _resume_from_cookie(res)
    if not token:
        return None
    try:
        principal = resume_session(res, token)
    except AuthenticationError:
        end_session(notice="session_ended")
        return None
    conversation = st.session_state.setdefault(CONVERSATION, principal.session_id)
    # A new conversation is a new audit session id; the login session stays the same.
    return principal.model_copy(update={"session_id": conversation})


def start_session(token: str, principal: Principal) -> None:
    """Remember a freshly signed-in session."""
    st.session_state[TOKEN] = token
    st.session_state[CONVERSATION] = principal.session_id
    st.session_state[HISTORY] = []
    st.session_state[FEEDBACK] = {}


def end_session(*, notice: str | None = None) -> None:
    """Forget the session (the language choice stays) and have the page clear its cookie."""
    for key in (TOKEN, CONVERSATION, HISTORY, FEEDBACK, COOKIE_TICKET):
        st.session_state.pop(key, None)
    st.session_state[COOKIE_CLEAR] = True
    if notice:
        st.session_state[NOTICE] = notice


def new_conversation() -> str:
    """Start a new conversation: empty history and a new audit session id."""
    conversation = uuid.uuid4().hex
    st.session_state[CONVERSATION] = conversation
    st.session_state[HISTORY] = []
    return conversation


# ---- pages ----------------------------------------------------------------------------------


def guard_page(page: str) -> tuple[Context, Principal] | None:
    """Refuse (and audit) a page the signed-in principal may not open; else who it is."""
    res = resources()
    principal = current_principal(res)
    if principal is None:
        st.warning(t("session_ended"))
        return None
    if open_page(res, principal, page):
        return res, principal
    st.error(t("page_denied"))
    # A way back (issue 16 item 11): the first page of the principal's menu, Chat for a doctor.
    home = st.session_state.get(HOME)  # set by ui/app.py from its menu
    if isinstance(home, str) and home != page:
        st.page_link(
            f"views/{home}.py",
            label=t("back_to", page=t(f"page_{home}")),
            icon=":material/arrow_back:",
        )
    return None
