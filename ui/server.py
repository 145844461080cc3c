"""The web server `guidecite serve` runs: the Streamlit app (`app.py`) plus the cookie route.

`streamlit run ui/server.py` finds the `st.App` below and serves it with uvicorn. The one route
of our own, `/_guidecite/session`, is how a browser stays signed in across a reload (issue 16):

- `POST` with `{"ticket": …}`: the page posts the one-time ticket it got at sign-in
  (`assistant.service.sign_in.issue_cookie_ticket`); the reply sets the session cookie —
  HttpOnly (no script reads it), SameSite=Strict, Path=/, Max-Age = the session's remaining
  lifetime, Secure when served over https. The token itself is never in a URL or a cookie.
- Only from this app's own pages: a request whose `Origin` names another host is refused (a
  page of another site must not plant its own session in the browser).
- `DELETE`: clears the cookie (after a sign-out, which already ended the session server-side,
  or when the cookie no longer names a live session).

At start the server begins opening the process's context — the store, the model, the word
segmenter, the term table — in the background (`ui.state.warm_up`, issue 16 item 6): the first
person to arrive finds it loaded, or sees the "starting" notice instead of a blank page.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assistant.errors import AuthenticationError, GuideCiteError
from assistant.service.sign_in import COOKIE_NAME, SessionCookie, set_session_cookie
from ui.state import SESSION_ROUTE, process_context, warm_up

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024


def _https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _same_origin(request: Request) -> bool:
    """False for a request a page of another site sent (its Origin names another host)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by a page (curl, a health probe): the ticket alone decides
    hosts = {request.headers.get("host"), request.headers.get("x-forwarded-host")}
    return urlsplit(origin).netloc in hosts - {None}


def _refused(status: int, reason: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    return JSONResponse({"error": reason}, status_code=status, headers=headers)


def _set_with_context(ticket: str) -> SessionCookie:
    return set_session_cookie(process_context(), ticket)


async def _set_cookie(request: Request) -> Response:
    body = await request.body()
    try:
        ticket = json.loads(body)["ticket"] if len(body) <= MAX_BODY_BYTES else None
    except (ValueError, KeyError, TypeError):
        ticket = None
    if not isinstance(ticket, str) or not ticket:
        return _refused(400, "ticket_missing")
    try:
        cookie = await run_in_threadpool(_set_with_context, ticket)
    except AuthenticationError as exc:
        return _refused(403, exc.reason)
    except GuideCiteError as exc:
        logger.warning("session cookie not set: %s", type(exc).__name__)
        return _refused(503, "unavailable")
    reply = Response(status_code=204, headers={"Cache-Control": "no-store"})
    reply.set_cookie(
        cookie.name,
        cookie.value,
        max_age=cookie.max_age,
        path="/",
        secure=_https(request),
        httponly=True,
        samesite="strict",
    )
    return reply


def _clear_cookie(request: Request) -> Response:
    reply = Response(status_code=204, headers={"Cache-Control": "no-store"})
    reply.delete_cookie(
        COOKIE_NAME, path="/", secure=_https(request), httponly=True, samesite="strict"
    )
    return reply


async def session_cookie(request: Request) -> Response:
    """`/_guidecite/session`: POST a ticket to set the session cookie, DELETE to clear it."""
    if not _same_origin(request):  # another site's page: neither sets nor clears the cookie
        return _refused(403, "cross_origin")
    if request.method == "POST":
        return await _set_cookie(request)
    return _clear_cookie(request)


@contextlib.asynccontextmanager
async def lifespan(_: st.App) -> AsyncIterator[None]:
    """Start loading the context with the server, not with the first page."""
    warm_up()
    yield


routes = [Route(SESSION_ROUTE, session_cookie, methods=["POST", "DELETE"])]
app = st.App(Path(__file__).with_name("app.py"), routes=routes, lifespan=lifespan)
