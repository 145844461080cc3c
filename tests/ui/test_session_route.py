"""The session-cookie route of `guidecite serve` (issue 16), driven over HTTP on a real server.

`guidecite serve` runs ui/server.py's st.App; its `/_guidecite/session` route turns a one-time
ticket into the HttpOnly session cookie and clears it again.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.domain import Role
from assistant.service.context import Context
from assistant.service.sign_in import (
    issue_cookie_ticket,
    resume_from_cookie,
    resume_session,
    sign_in,
)
from tests.factories import open_access, open_accounts

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
ROUTE = "/_guidecite/session"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("route") / "data"
    settings = Settings(data_dir=data_dir)
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.zhang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    return data_dir


@pytest.fixture(scope="module")
def server(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "GUIDECITE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    log_path = tmp_path_factory.mktemp("route-log") / "serve.log"
    log = log_path.open("wb")
    command = [str(Path(sys.executable).parent / "guidecite"), "serve", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "guidecite serve did not become healthy"
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def ctx(data_dir: Path) -> Context:
    settings = Settings(data_dir=data_dir)
    access = open_access(settings)
    return Context(settings, access=access, accounts=open_accounts(settings, access=access))


def _request(
    url: str, method: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Message]:
    request = urllib.request.Request(url + ROUTE, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.headers
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers


def _post(url: str, ticket: str, **headers: str) -> tuple[int, Message]:
    return _request(url, "POST", json.dumps({"ticket": ticket}).encode(), headers)


def _attributes(set_cookie: str) -> tuple[str, str, dict[str, str]]:
    """(name, value, {attribute: value}) of one Set-Cookie header; attribute names lowered."""
    first, *rest = (part.strip() for part in set_cookie.split(";"))
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


def test_route_sets_an_httponly_signed_cookie_once_per_ticket(server: str, ctx: Context) -> None:
    token = sign_in(ctx, "dr.zhang", PASSWORD).token
    assert token is not None
    ticket = issue_cookie_ticket(ctx, token)
    status, headers = _post(server, ticket)
    assert status == 204
    [set_cookie] = headers.get_all("set-cookie") or []
    name, value, attributes = _attributes(set_cookie)
    assert name == "guidecite_session"
    assert "httponly" in attributes and attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/"
    assert "secure" not in attributes  # plain http on 127.0.0.1
    lifetime = ctx.settings.accounts.session_max_hours * 3600
    assert lifetime - 120 < int(attributes["max-age"]) <= lifetime
    assert token not in set_cookie and ticket not in set_cookie
    # The cookie names the signed-in session.
    _credential, principal = resume_from_cookie(ctx, value)
    assert principal.session_id == resume_session(ctx, token).session_id

    # The ticket was used: a second post (a replayed request) sets nothing.
    status, headers = _post(server, ticket)
    assert status == 403 and not headers.get_all("set-cookie")


def test_route_marks_the_cookie_secure_behind_https(server: str, ctx: Context) -> None:
    token = sign_in(ctx, "dr.zhang", PASSWORD).token
    assert token is not None
    status, headers = _post(
        server, issue_cookie_ticket(ctx, token), **{"X-Forwarded-Proto": "https"}
    )
    assert status == 204
    [set_cookie] = headers.get_all("set-cookie") or []
    assert "secure" in _attributes(set_cookie)[2]


def test_route_refuses_another_sites_page(server: str, ctx: Context) -> None:
    token = sign_in(ctx, "dr.zhang", PASSWORD).token
    assert token is not None
    ticket = issue_cookie_ticket(ctx, token)
    status, headers = _post(server, ticket, Origin="https://elsewhere.example")
    assert status == 403 and not headers.get_all("set-cookie")
    assert _request(server, "DELETE", headers={"Origin": "https://elsewhere.example"})[0] == 403
    # The app's own page (same host) is served.
    status, headers = _post(server, ticket, Origin=server)
    assert status == 204 and headers.get_all("set-cookie")


def test_route_refuses_bad_requests_and_clears_the_cookie(server: str) -> None:
    assert _request(server, "POST", b"not json")[0] == 400
    assert _request(server, "POST", json.dumps({"ticket": ["x"]}).encode())[0] == 400
    assert _post(server, "made-up-ticket")[0] == 403
    status, headers = _request(server, "DELETE")
    assert status == 204
    [set_cookie] = headers.get_all("set-cookie") or []
    name, value, attributes = _attributes(set_cookie)
    assert name == "guidecite_session" and value in ("", '""')
    assert attributes["max-age"] == "0" and "httponly" in attributes
