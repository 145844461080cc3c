"""Issue 16 walked in headless Chromium, as the role concerned, in Chinese and English.

The doctor: the first page while the server starts (item 6), identifiers shown as placeholders
(item 3), an over-long question refused plainly in the UI language (item 2), the conversation
kept across a reload and listed in the sidebar (item 1), a page typed by URL that the role may
not open, with the way back (item 11), and the switch to English (item 11). The department
admin: what may be granted, and a revoke that asks first and shows its effect (item 7). The
compliance officer: the audit event table with its filters and the chain status (item 9).
Screenshots land in `test-artifacts/16-*.png` for a person to look at; the README points at them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from assistant.config import Settings
from assistant.domain import Role
from tests.factories import index_library, open_access, open_accounts
from tests.ui.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    ROOT,
    _free_port,
    _wait_healthy,
    sign_in_button,
)

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
QUESTION = "流感成人患者奥司他韦的剂量是多少？"
PHONE = "13812345678"
CODE = "动态验证码（6 位）"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium"),
]


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> dict[str, Any]:
    """Cardiology's library and its doctor, department admin and a compliance officer."""
    data_dir = tmp_path_factory.mktemp("daily-use") / "data"
    settings = Settings(data_dir=data_dir)
    index_library(settings, {"cardiology": [corpus_dir / FLU]}).store.close()
    access = open_access(settings, libraries={"cardiology": "cardiology"})
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.qian", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.sun", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("adm.zhou", role=Role.DEPT_ADMIN, department="cardiology", password=PASSWORD)
    accounts.add_user("cmp.wu", role=Role.COMPLIANCE_OFFICER, department="*", password=PASSWORD)
    totp = {
        name: pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp(name)).secret)
        for name in ("adm.zhou", "cmp.wu")
    }
    return {"data_dir": data_dir, "totp": totp}


@pytest.fixture(scope="module")
def started(people: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`guidecite serve`, returned as soon as its health check answers (the model may still be
    loading: the first page is item 6's)."""
    port = _free_port()
    env = {**os.environ, "GUIDECITE_DATA_DIR": str(people["data_dir"]), "HF_HUB_OFFLINE": "1"}
    env.pop("GUIDECITE_LLM__BASE_URL", None)
    log_path = tmp_path_factory.mktemp("daily-use-log") / "serve.log"
    command = [str(Path(sys.executable).parent / "guidecite"), "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, timeout=120)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _shot(page: Any, name: str) -> None:
    page.wait_for_timeout(500)  # let the last element finish drawing
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Any, name: str, code: str | None = None) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_label("用户名")).to_be_visible(timeout=180_000)
    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    if code is not None:
        page.get_by_label(CODE).fill(code)
    sign_in_button(page).click()


def test_doctor_in_a_week_of_use(started: str, browser: Any) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    timings: dict[str, float] = {}
    began = time.perf_counter()
    page.goto(started)
    # Item 6: never a blank page — the starting notice, or the sign-in form once loaded.
    first = page.get_by_text("GuideCite 正在启动", exact=False).or_(page.get_by_label("用户名"))
    expect(first.first).to_be_visible(timeout=60_000)
    timings["first_paint_s"] = time.perf_counter() - began
    _shot(page, "16-6-first-paint-zh")
    _sign_in(page, "dr.qian")
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=180_000)

    # Item 3: the bubble shows what was sent and stored, with placeholders, said once.
    began = time.perf_counter()
    box.fill(f"患者电话{PHONE}，{QUESTION}")
    box.press("Enter")
    expect(page.get_by_text("完成（", exact=False).first).to_be_visible(timeout=120_000)
    timings["first_answer_s"] = time.perf_counter() - began
    user_bubble = page.get_by_test_id("stChatMessage").first
    expect(user_bubble).to_contain_text("[电话1]")
    expect(user_bubble).not_to_contain_text(PHONE)
    expect(page.get_by_text("已在发送和保存前替换为占位符", exact=False)).to_have_count(1)
    _shot(page, "16-3-placeholders-zh")

    # Item 2: an over-long question is kept whole for shortening, refused in plain Chinese.
    box.fill("流感" * 2600)
    box.press("Enter")
    draft = page.get_by_label("问题过长，未发送。请在此删减后发送：")
    expect(draft).to_be_visible(timeout=60_000)
    expect(page.get_by_text("超过上限", exact=False).first).to_be_visible()
    expect(page.get_by_text("GUIDECITE_MAX_QUESTION_CHARS")).to_have_count(0)
    _shot(page, "16-2-overlong-question-zh")
    page.get_by_role("button", name="放弃").click()
    expect(draft).to_have_count(0, timeout=30_000)

    # Item 1: the conversation is in the sidebar and survives a reload.
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("我的对话")).to_be_visible()
    expect(sidebar.get_by_text("[电话1]", exact=False).first).to_be_visible()
    page.reload()
    expect(page.get_by_text("[电话1]", exact=False).first).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stChatMessage").first).to_contain_text("[电话1]")
    _shot(page, "16-1-conversation-after-reload-zh")

    # Item 11: a page the doctor may not open, typed by URL: refused, with the way back.
    page.goto(f"{started}/access")
    expect(page.get_by_text("您无权打开此页面", exact=False)).to_be_visible(timeout=120_000)
    back = page.get_by_role("link", name="返回问答")
    expect(back).to_be_visible()
    _shot(page, "16-11-denied-way-back-zh")
    began = time.perf_counter()
    back.click()
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=60_000)
    timings["page_switch_s"] = time.perf_counter() - began

    # Item 11: in English, every label follows, the library selector's too.
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("My conversations")).to_be_visible(timeout=60_000)
    selector = sidebar.get_by_role("combobox", name="Library")
    expect(selector).to_have_value("All libraries I may read")
    _shot(page, "16-11-english-sidebar-en")
    context.close()
    (ARTIFACTS / "browser-daily-use-timings.txt").write_text(
        "".join(f"{k} {v:.2f}\n" for k, v in timings.items()), encoding="utf-8"
    )
    print(timings)


def test_department_admin_grants_only_what_is_theirs_and_revoke_asks_first(
    started: str, browser: Any, people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(f"{started}/access")
    expect(page.get_by_label("User name")).to_be_visible(timeout=180_000)
    page.get_by_label("User name").fill("adm.zhou")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Authenticator code (6 digits)").fill(people["totp"]["adm.zhou"].now())
    sign_in_button(page, "Sign in").click()
    expect(page.get_by_role("heading", name="Access", exact=True)).to_be_visible(timeout=120_000)
    # The roles offered are those a department admin may grant, named in words.
    page.get_by_label("Role", exact=True).click()
    options = page.get_by_role("option")
    expect(options).to_have_text(["Doctor", "Department administrator"])
    _shot(page, "16-7-grantable-roles-en")
    page.keyboard.press("Escape")
    # Revoking the department's library grant asks first; the answer shows at once.
    page.get_by_role("button", name="Revoke").nth(1).click()
    confirmation = page.get_by_text("Revoke library cardiology from cardiology?", exact=False)
    expect(confirmation).to_be_visible(timeout=60_000)
    _shot(page, "16-7-revoke-asks-first-en")
    # The confirmation sits at the top of the page, above the forms.
    page.get_by_role("button", name="Revoke").first.click()
    expect(page.get_by_text("Changed.")).to_be_visible(timeout=60_000)
    _shot(page, "16-7-revoked-en")
    # The same page in Chinese: no raw English column headers.
    page.get_by_test_id("stSidebar").get_by_text("中文", exact=True).click()
    expect(page.get_by_role("heading", name="权限管理", exact=True)).to_be_visible(timeout=60_000)
    _shot(page, "16-7-access-zh")
    context.close()


def test_compliance_officer_reads_the_audit_trail_in_the_app(
    started: str, browser: Any, people: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.goto(f"{started}/audit")
    _sign_in(page, "cmp.wu", people["totp"]["cmp.wu"].now())
    expect(page.get_by_role("heading", name="审计", exact=True)).to_be_visible(timeout=120_000)
    expect(page.get_by_text("审计事件").first).to_be_visible()
    expect(page.get_by_text("审计链状态").first).to_be_visible()
    for label in ("操作人", "科室", "操作", "结果", "起始日期（UTC）"):
        expect(page.get_by_label(label, exact=True).first).to_be_attached()
    expect(page.get_by_text("第 1 页", exact=False)).to_be_visible()
    _shot(page, "16-9-audit-events-zh")
    page.get_by_test_id("stSidebar").get_by_text("English", exact=True).click()
    expect(page.get_by_text("Audit events").first).to_be_visible(timeout=60_000)
    _shot(page, "16-9-audit-events-en")
    context.close()
