"""Process-wide resources and per-session state: sign-in, language, page permissions.

One Context per process (opened at server start, see `warm_up`): the embedded Qdrant Edge
shard is single-process and the embedding model is loaded once; every browser session shares them.
Who the user is comes only from the session token (or, after a reload, the session's cookie
credential: `assistant.service.sign_in.resume_from_cookie`), resolved against the accounts
database on every rerun, so an idle timeout, a revocation or a disabled account takes effect at
once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import streamlit as st
import streamlit.components.v1 as components

from assistant.config import Settings, get_settings
from assistant.domain import Principal
from assistant.errors import AccessDenied, AuthenticationError
from assistant.service import conversations
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
GUIDELINE_NOTES = "gc_guideline_notes"  # answer_id → "guideline updated" notes (issue 17)
FEEDBACK = "gc_feedback"
HOME = "gc_home"
# Staying signed in across a reload (issue 16): the browser's session cookie, set and cleared by
# the route of ui/server.py; these keys remember what this browser session still has to do.
SESSION_ROUTE = "/_guidecite/session"
COOKIE_TICKET = "gc_cookie_ticket"  # the ticket the page has yet to post
COOKIE_READ = "gc_cookie_read"  # the request's cookie was tried once (never again this session)
COOKIE_CLEAR = "gc_cookie_clear"  # the cookie names no live session: the page clears it
Option = TypeVar("Option", bound=Hashable)
logger = logging.getLogger(__name__)


def _fingerprint(settings: Settings) -> str:
    # Secrets are not part of the key's text; a changed secret needs a restart anyway.
    return hashlib.sha256(settings.model_dump_json().encode("utf-8")).hexdigest()


class _Startup:
    """The process's contexts, each opened once, in a background thread (issue 16 item 6).

    `guidecite serve` starts opening the context when the server starts (`warm_up`), so the
    model is loaded before the first person arrives; a page that needs the context before it
    is ready shows a visible "starting" state instead of a blank screen.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opening: dict[str, Future[Context]] = {}

    def begin(self, settings: Settings) -> Future[Context]:
        """The context for `settings`: ready, being opened, or opened from now on."""
        key = _fingerprint(settings)
        with self._lock:
            future = self._opening.get(key)
            if future is None or (future.done() and future.exception() is not None):
                # A failed start (a backing service down) is tried again on the next request.
                future = Future()
                self._opening[key] = future
                threading.Thread(
                    target=self._open,
                    args=(future, settings),
                    name="guidecite-startup",
                    daemon=True,
                ).start()
            return future

    @staticmethod
    def _open(future: Future[Context], settings: Settings) -> None:
        started = time.perf_counter()
        try:
            context = open_context(settings)
            # Load the model, the dictionaries and the profile now, not in the first question.
            steps = context.warm_up()
        except BaseException as exc:  # handed to whoever waits, never lost in the thread
            future.set_exception(exc)
            return
        logger.info("context ready in %.1f s (%s)", time.perf_counter() - started, steps)
        future.set_result(context)


_STARTUP = _Startup()


def warm_up(settings: Settings | None = None) -> None:
    """Start opening the context at server start, before anyone asks for a page."""
    _STARTUP.begin(settings or get_settings())


def process_context() -> Context:
    """The process's one context, waiting for it if it is still starting (no page drawn)."""
    return _STARTUP.begin(get_settings()).result()


def resources() -> Context:
    """The process's one context for the current configuration; says so while it starts."""
    future = _STARTUP.begin(get_settings())
    if not future.done():
        placeholder = st.empty()
        with placeholder.container():
            st.info(t("starting"), icon=":material/hourglass_top:")
            st.caption(t("starting_hint"))
        try:
            return future.result()
        finally:
            placeholder.empty()
    return future.result()


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
    if CONVERSATION not in st.session_state:
        _reopen_latest(res, principal)
    conversation = st.session_state[CONVERSATION]
    # A new conversation is a new audit session id; the login session stays the same.
    return principal.model_copy(update={"session_id": conversation})


def start_session(token: str, principal: Principal) -> None:
    """Remember a freshly signed-in session; its latest conversation reopens on the next run."""
    st.session_state[TOKEN] = token
    st.session_state.pop(CONVERSATION, None)
    st.session_state[HISTORY] = []
    st.session_state[GUIDELINE_NOTES] = {}
    st.session_state[FEEDBACK] = {}


def end_session(*, notice: str | None = None) -> None:
    """Forget the session (the language choice stays) and have the page clear its cookie."""
    for key in (TOKEN, CONVERSATION, HISTORY, GUIDELINE_NOTES, FEEDBACK, COOKIE_TICKET):
        st.session_state.pop(key, None)
    st.session_state[COOKIE_CLEAR] = True
    if notice:
        st.session_state[NOTICE] = notice


# ---- conversations (issue 16 item 1) ---------------------------------------------------------


def _reopen_latest(res: Context, principal: Principal) -> None:
    """A session without a conversation (signed in again, or a new browser session) continues
    the person's latest stored one; with none, the login session id starts a new one."""
    latest = conversations.latest_conversation(res, principal)
    if latest is not None:
        try:
            show_conversation(res, principal, latest.id)
            return
        except AccessDenied:  # deleted from another tab in between
            pass
    st.session_state[CONVERSATION] = principal.session_id
    st.session_state[HISTORY] = []
    st.session_state[GUIDELINE_NOTES] = {}


def show_conversation(res: Context, principal: Principal, conversation_id: str) -> None:
    """Make one of the principal's stored conversations the current one, its turns the history.

    Raises AccessDenied (recorded by the service) for a conversation not the principal's own.
    """
    _, turns = conversations.open_conversation(res, principal, conversation_id)
    st.session_state[CONVERSATION] = conversation_id
    st.session_state[HISTORY] = [(turn.question, turn.answer) for turn in turns]
    st.session_state[GUIDELINE_NOTES] = {
        turn.answer.answer_id: turn.guideline_updates for turn in turns if turn.guideline_updates
    }
    given: dict[str, bool] = st.session_state.setdefault(FEEDBACK, {})
    given.update(
        {turn.answer.answer_id: turn.helpful for turn in turns if turn.helpful is not None}
    )


def new_conversation() -> str:
    """Start a new conversation: empty history and a new audit session id."""
    conversation = uuid.uuid4().hex
    st.session_state[CONVERSATION] = conversation
    st.session_state[HISTORY] = []
    st.session_state[GUIDELINE_NOTES] = {}
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
