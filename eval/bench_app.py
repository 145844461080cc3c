"""The web app as a person meets it (issue 16 item 6): server start, first paint, answers.

`guidecite serve` runs over a copy of the benchmark corpus's index with one doctor account;
headless Chromium (Debian's, never a downloaded one) opens it; a department admin signs in
(password and authenticator code), asks two questions and opens another page.
Reported, never asserted (seconds, wall clock):

- `server_ready_s`: `guidecite serve` started → its health check answers;
- `first_paint_s`: the page requested → the first text a person can read (the sign-in form, or
  the "starting" notice while the model still loads);
- `sign_in_ready_s`: the page requested → the sign-in form;
- `sign_in_s`: the sign-in button → the chat page;
- `first_answer_s`, `next_answer_s`: a question sent → its finished answer (the first question
  after the server started, then another);
- `page_switch_s`: a click on another page in the menu → its title.

Without Chromium the section says so instead of failing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp

from assistant.access import AccessControl
from assistant.accounts import Accounts
from assistant.config import Settings
from assistant.domain import Role

CHROMIUM = Path("/usr/bin/chromium")
NO_BROWSER = "skipped: needs Debian chromium and playwright (apt-get install chromium)"
ADMIN = "bench.admin"  # a department admin: Chat and the Access page, so a page switch
PASSWORD = "bench-app correct horse battery"  # noqa: S105 (a throwaway account in a temp dir)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
CODE_LABEL = "动态验证码（6 位）"
DONE_MARK = "完成（"  # the finished answer's status label, zh UI ("完成（1234 毫秒）")
SERVER_START_TIMEOUT_S = 180.0


def browser_available() -> bool:
    """Debian's Chromium and the Playwright driver are both here."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


def run_app_benchmark(
    index_dir: Path, *, scratch: Path, questions: Sequence[str]
) -> dict[str, Any]:
    """Serve a copy of `index_dir` and time what a doctor sees; see the module docstring."""
    if not browser_available():
        return {"skipped": NO_BROWSER}
    if len(questions) < 2:
        raise ValueError("the app benchmark needs two questions (first and next answer)")
    data_dir = scratch / "app-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(index_dir, data_dir)
    totp = _add_admin(Settings(data_dir=data_dir))
    result: dict[str, Any] = {}
    with _serve(data_dir, scratch / "serve.log", result) as url:
        result |= _browse(url, questions=questions, totp=totp)
    return result


def _add_admin(settings: Settings) -> pyotp.TOTP:
    """The department admin who signs in (password and authenticator code, as in production)."""
    access = AccessControl.open(settings)
    access.seed_defaults()
    access.assign_library(library="hospital", department="bench")
    accounts = Accounts.open(settings, access=access)
    accounts.add_user(ADMIN, role=Role.DEPT_ADMIN, department="bench", password=PASSWORD)
    return pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp(ADMIN)).secret)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _serve(data_dir: Path, log_path: Path, result: dict[str, Any]) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "GUIDECITE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("GUIDECITE_LLM__BASE_URL", None)  # extractive: the model's latency is not the app's
    command = [str(Path(sys.executable).parent / "guidecite"), "serve", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            _wait_healthy(url, proc)
            result["server_ready_s"] = round(time.perf_counter() - started, 2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"guidecite serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"guidecite serve did not answer within {SERVER_START_TIMEOUT_S:.0f} s")


def _browse(url: str, *, questions: Sequence[str], totp: pyotp.TOTP) -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    timeout_ms = int(SERVER_START_TIMEOUT_S * 1000)
    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(url)
            readable = page.get_by_text("GuideCite").or_(page.get_by_label("用户名"))
            expect(readable.first).to_be_visible(timeout=timeout_ms)
            out["first_paint_s"] = round(time.perf_counter() - started, 2)
            expect(page.get_by_label("用户名")).to_be_visible(timeout=timeout_ms)
            out["sign_in_ready_s"] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            _sign_in(page, totp)
            box = page.get_by_test_id("stChatInputTextArea")
            expect(box).to_be_visible(timeout=timeout_ms)
            out["sign_in_s"] = round(time.perf_counter() - started, 2)
            for n, (key, question) in enumerate(
                zip(("first_answer_s", "next_answer_s"), questions, strict=False)
            ):
                started = time.perf_counter()
                box.fill(question)
                box.press("Enter")
                expect(page.get_by_text(DONE_MARK).nth(n)).to_be_visible(timeout=timeout_ms)
                out[key] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()
            page.locator("a[href$='/access']").first.click()
            expect(page.get_by_role("heading", name="权限管理")).to_be_visible(timeout=timeout_ms)
            out["page_switch_s"] = round(time.perf_counter() - started, 2)
        finally:
            browser.close()
    return out


def _sign_in(page: Any, totp: pyotp.TOTP) -> None:
    """User name, password and authenticator code, in the one sign-in form."""
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label(CODE_LABEL).fill(totp.now())
    # The form's own button: Streamlit may briefly render another button of the same name.
    page.get_by_test_id("stBaseButton-primaryFormSubmit").filter(has_text="登录").click()
