"""End to end in headless Chromium: `guidecite serve` over a small demo index (issue 5).

A doctor signs in, asks one Chinese and one English question, sees citation markers and source
cards, opens a card, gives 👎 with a comment and signs out. The department's quality reviewer
signs in (password + TOTP), finds the answer in the review queue and resolves it; the compliance
officer opens the monitoring page. Screenshots land in
`test-artifacts/` for a person to look at (Chinese must render, nothing may overlap).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.domain import Role
from assistant.gates import GateRegistry
from assistant.review import ReviewQueue
from tests.factories import index_library, open_access, open_accounts
from tests.fakes.sglang import SGLangStandIn, cite_first_source

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOCS = (
    "zh/流行性感冒诊疗方案（2025年版）.txt",
    "en/cdc-guide-to-infection-prevention-outpatient-settings-v2.3-2016.pdf",
)
PASSWORD = "correct horse battery staple"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian chromium: apt-get install -y chromium chromium-driver fonts-noto-cjk",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"guidecite serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("guidecite serve did not become healthy")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A data dir with a Chinese and an English guideline and one doctor account."""
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    settings = Settings(data_dir=data_dir)
    # Both documents go in (index_library asserts it); the app opens the store itself.
    index_library(settings, {"hospital": [corpus_dir / doc for doc in DOCS]}).store.close()
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.zhang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    # Generated answers need the department's ethics approval (issue 6 gates).
    GateRegistry.open(settings).record(
        department="cardiology",
        reference="EC-TEST-001",
        approved_by="ethics.committee",
        expires_on=date.today() + timedelta(days=365),
    )
    return data_dir


@pytest.fixture(scope="module")
def officers(demo_dir: Path) -> dict[str, pyotp.TOTP]:
    """The cardiology quality reviewer and a compliance officer, with their TOTP enrolment."""
    settings = Settings(data_dir=demo_dir)
    accounts = open_accounts(settings, access=AccessControl.open(settings))
    accounts.add_user(
        "rev.chen", role=Role.QUALITY_REVIEWER, department="cardiology", password=PASSWORD
    )
    accounts.add_user("cmp.li", role=Role.COMPLIANCE_OFFICER, department="*", password=PASSWORD)
    return {
        name: pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp(name)).secret)
        for name in ("rev.chen", "cmp.li")
    }


def sign_in_button(page: Any, label: str = "登录") -> Any:
    """The sign-in form's own button: under load Streamlit may briefly render another button of
    the same name (CI saw a second, secondary "登录" button and a strict-mode failure)."""
    return page.get_by_test_id("stBaseButton-primaryFormSubmit").filter(has_text=label)


def _sign_in(page: Any, name: str, totp: pyotp.TOTP) -> None:
    from playwright.sync_api import expect

    page.get_by_label("用户名").fill(name)
    page.get_by_label("密码").fill(PASSWORD)
    # Privileged roles need the second factor: its field is in the same form (issue 16).
    code = page.get_by_label("动态验证码（6 位）")
    expect(code).to_be_visible(timeout=30_000)
    code.fill(totp.now())
    sign_in_button(page).click()


@pytest.fixture
def server(demo_dir: Path, sglang_env, tmp_path: Path) -> Iterator[str]:
    """`guidecite serve` on a free port, with the SGLang stand-in as the model."""
    port = _free_port()
    env = {**os.environ, "GUIDECITE_DATA_DIR": str(demo_dir), "HF_HUB_OFFLINE": "1"}
    env["GUIDECITE_LLM__TIMEOUT_S"] = "20"
    log = (tmp_path / "serve.log").open("wb")
    command = [str(Path(sys.executable).parent / "guidecite"), "serve", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout=60)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if proc.returncode not in (0, -15):
            sys.stderr.write((tmp_path / "serve.log").read_text(errors="replace")[-4000:])


def _slow_first_answer(seconds: float) -> Any:
    """The stand-in's default answer, the first one `seconds` late (to see the progress)."""
    calls: list[int] = []

    def respond(request: dict[str, Any]) -> Any:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(seconds)
        return cite_first_source(request)

    return respond


def test_doctor_asks_in_chinese_and_english_and_gives_feedback(
    server: str, demo_dir: Path, officers: dict[str, pyotp.TOTP], sglang_env: SGLangStandIn
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    sglang_env.responder = _slow_first_answer(3.0)
    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(server)
        # The browser asks for Chinese: the UI comes in Chinese.
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        timings["login_page_s"] = time.perf_counter() - started
        page.screenshot(path=str(ARTIFACTS / "01-login.png"), full_page=True)
        page.get_by_label("用户名").fill("dr.zhang")
        page.get_by_label("密码").fill(PASSWORD)
        sign_in_button(page).click()
        chat = page.get_by_placeholder("输入临床问题……")
        expect(chat).to_be_visible(timeout=60_000)

        started = time.perf_counter()
        expect(page.get_by_text("已登录：dr.zhang（医生，cardiology）")).to_be_visible()
        chat.fill("流感患者奥司他韦的成人剂量是多少？")
        chat.press("Enter")
        # While the model writes, the status narrates the steps (sources by title) and no
        # sentence of the answer is on the page: it shows only once verified.
        expect(page.get_by_text("模型生成中", exact=False).first).to_be_visible(timeout=60_000)
        status = page.locator("[data-testid='stExpander']").filter(has_text="模型生成中").first
        expect(status).to_contain_text("找到")
        expect(status).to_contain_text("流行性感冒诊疗方案")
        answer_marks = page.locator("[data-testid='stChatMessage']").filter(has_text="✓")
        expect(answer_marks).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "02a-progress-zh.png"), full_page=True)
        expect(page.get_by_text("根据指南生成", exact=False).first).to_be_visible(timeout=90_000)
        timings["answer_zh_s"] = time.perf_counter() - started
        expect(page.get_by_text("完成（", exact=False).first).to_be_visible()
        reply = page.locator("[data-testid='stChatMessage']").last
        expect(reply).to_contain_text("[1]")
        expect(reply.get_by_text("✓").first).to_be_visible()
        cards = page.locator("[data-testid='stChatMessage'] [data-testid='stExpander']")
        expect(cards.first).to_be_visible(timeout=30_000)
        expect(cards.first).to_contain_text("流行性感冒诊疗方案")
        expect(reply.get_by_text("(已核对)", exact=False).first).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "02-answer-zh.png"), full_page=True)

        # The cited passage in its context, the cited sentence lit, and the original saved
        # under the name it was ingested under, not its content hash (issue 16 item 5).
        card = cards.first
        card.locator("summary").click()
        # The toggle reruns the script; on a loaded machine a click that lands while the
        # previous rerun is still drawing is dropped, so the switch must read as on first.
        switch = card.get_by_role("switch", name="在原文上下文中查看")
        for _ in range(3):
            card.get_by_text("在原文上下文中查看").click()  # the label: it covers the input
            try:
                expect(switch).to_be_checked(timeout=20_000)
                break
            except AssertionError:
                continue
        expect(switch).to_be_checked()
        expect(card.get_by_text("被引用的段落", exact=False)).to_be_visible(timeout=60_000)
        card.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "02b-source-in-context-zh.png"), full_page=True)
        with page.expect_download() as saved:
            card.get_by_role("button", name="下载原文").click()
        assert saved.value.suggested_filename == Path(DOCS[0]).name
        card.locator("summary").click()

        # A new conversation, so the English question is not read as a follow-up.
        page.get_by_role("button", name="新对话").click()
        expect(page.locator("[data-testid='stChatMessage']")).to_have_count(0, timeout=30_000)
        started = time.perf_counter()
        chat.fill("What should staff do for hand hygiene in outpatient settings?")
        chat.press("Enter")
        last = page.locator("[data-testid='stChatMessage']").last
        expect(last.get_by_text("没帮助")).to_be_visible(timeout=90_000)
        timings["answer_en_s"] = time.perf_counter() - started
        expect(last).to_contain_text("[1]")
        # Bare URLs in model output or passages must not become links (no exfiltration).
        expect(page.locator("[data-testid='stChatMessage'] a[href^='http']")).to_have_count(0)
        last_cards = last.locator("[data-testid='stExpander']")
        expect(last_cards.first).to_contain_text("Infection Prevention", ignore_case=True)

        # Open a card: the passage, a download of the stored original, and for a PDF a way
        # to open it at the cited page.
        card = last_cards.first
        card.locator("summary").click()
        expect(card.get_by_role("button", name="下载原文")).to_be_visible()
        open_page = card.get_by_role("button", name=re.compile(r"在第 \S+ 页打开原文"))
        expect(open_page).to_be_visible()
        open_page.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "03-answer-en-card-open.png"), full_page=True)
        cited = re.search(r"页 (\d+)", card.locator("summary").inner_text())
        assert cited, card.locator("summary").inner_text()
        open_page.click()
        link = card.frame_locator("iframe").get_by_role("link", name=re.compile("新标签页"))
        expect(link).to_have_attribute("href", re.compile(r"^blob:"), timeout=30_000)
        with context.expect_page() as opened:
            link.click()
        pdf = opened.value
        pdf.wait_for_load_state()
        assert pdf.url.startswith("blob:") and pdf.url.endswith(f"#page={cited.group(1)}")
        pdf.wait_for_timeout(2000)  # Chromium's PDF viewer draws the page
        pdf.screenshot(path=str(ARTIFACTS / "03b-original-at-cited-page.png"))
        pdf.close()

        # 👎 with a comment on the English answer.
        last.get_by_label("意见（可选）").fill("Too general for our clinic")
        last.get_by_role("button", name="没帮助").click()
        expect(page.get_by_text("感谢反馈", exact=False)).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "04-feedback.png"), full_page=True)

        # A drug the library does not hold: a refusal that names it, no sources, the nearest
        # passages folded away as related reading (issue #10 item 5).
        page.get_by_role("button", name="新对话").click()
        expect(page.locator("[data-testid='stChatMessage']")).to_have_count(0, timeout=30_000)
        chat.fill("What is the adult dose of rivaroxaban?")
        chat.press("Enter")
        last = page.locator("[data-testid='stChatMessage']").last
        expect(last).to_contain_text("no passage about rivaroxaban", timeout=90_000)
        expect(last.get_by_text("来源", exact=True)).to_have_count(0)
        expect(last.get_by_text("✓")).to_have_count(0)
        related = last.locator("[data-testid='stExpander']")
        expect(related).to_have_count(1)
        expect(related.first).to_contain_text("相关阅读")
        expect(related.first.locator("details")).not_to_have_attribute("open", "")
        page.screenshot(path=str(ARTIFACTS / "04b-refusal-names-missing-drug.png"), full_page=True)

        # An English question only a Chinese guideline answers: the quote in its own language,
        # labelled as such (a new conversation: not a follow-up of the refused one).
        page.get_by_role("button", name="新对话").click()
        expect(page.locator("[data-testid='stChatMessage']")).to_have_count(0, timeout=30_000)
        chat.fill("What is the adult dose of oseltamivir?")
        chat.press("Enter")
        last = page.locator("[data-testid='stChatMessage']").last
        expect(last.get_by_text("没帮助")).to_be_visible(timeout=90_000)
        expect(last).to_contain_text("75mg")
        expect(last).to_contain_text("引自中文指南")
        page.screenshot(path=str(ARTIFACTS / "04c-cross-lingual-en-to-zh.png"), full_page=True)

        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "05-signed-out.png"), full_page=True)

        # The cardiology quality reviewer finds the 👎 answer in the queue and resolves it.
        started = time.perf_counter()
        _sign_in(page, "rev.chen", officers["rev.chen"])
        expect(page.get_by_role("heading", name="质量审核", exact=True)).to_be_visible(
            timeout=60_000
        )
        # The doctor's comment, both as the flag's detail and in the feedback list.
        comment = page.get_by_text("Too general for our clinic", exact=False)
        expect(comment.first).to_be_visible(timeout=30_000)
        expect(comment).to_have_count(2)
        expect(page.get_by_text("已登录：rev.chen（质控审核员，cardiology）")).to_be_visible()
        # The queue is a table whose text is in the page (not a canvas grid still loading).
        queue = page.locator("[data-testid='stTable']").first
        expect(queue).to_contain_text("negative_feedback")
        expect(queue).to_contain_text("hand hygiene")
        expect(queue).to_contain_text("待审核")
        timings["review_queue_s"] = time.perf_counter() - started
        page.screenshot(path=str(ARTIFACTS / "06-review-item.png"), full_page=True)
        # Table cells render Markdown: the model's bare URL must stay text, not a link.
        expect(page.locator("[data-testid='stTable'] a[href^='http']")).to_have_count(0)
        verification = page.locator("[data-testid='stTable']").nth(1)
        expect(verification).to_contain_text("✓")
        verification.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "06b-review-verification.png"), full_page=True)
        page.get_by_text("指南缺口", exact=True).click()
        page.get_by_label("审核意见").fill("门诊手卫生细则需补充本院规范")
        page.get_by_role("button", name="处理结论").click()
        expect(page.get_by_text("没有符合条件的待审核回答", exact=False)).to_be_visible(
            timeout=30_000
        )
        page.screenshot(path=str(ARTIFACTS / "07-review-resolved.png"), full_page=True)
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)

        # The compliance officer's monitoring page: alerts, metrics, trends, approvals.
        _sign_in(page, "cmp.li", officers["cmp.li"])
        expect(page.get_by_role("heading", name="审计", exact=True)).to_be_visible(timeout=60_000)
        # Through the menu: a fresh page load would be a new session (signed out).
        page.get_by_role("link", name="监测预警").click()
        expect(page.get_by_role("heading", name="监测预警", exact=True)).to_be_visible(
            timeout=60_000
        )
        expect(page.get_by_role("heading", name="伦理审批", exact=True)).to_be_visible()
        expect(page.get_by_text("当前没有预警", exact=False)).to_be_visible()
        page.wait_for_timeout(1500)  # let the Vega charts draw before the screenshot
        page.screenshot(path=str(ARTIFACTS / "08-monitoring.png"), full_page=True)
        page.get_by_role("button", name="生成报告").click()
        # dr.zhang's four questions were in cardiology; the rivaroxaban one was refused.
        summary = page.get_by_text("提问 4 次，拒答 1 次", exact=False)
        expect(summary).to_be_visible(timeout=30_000)
        summary.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # the report's tables draw on a canvas
        page.screenshot(path=str(ARTIFACTS / "09-needs-report.png"), full_page=True)
        browser.close()

    audit = open_audit_log(Settings(data_dir=demo_dir))
    feedback = list(audit.iter_events(actions=["feedback"]))
    assert [(e.actor, e.outcome) for e in feedback] == [("dr.zhang", "not_helpful")]
    assert "Too general for our clinic" in str(feedback[0].detail_json)
    asks = list(audit.iter_events(actions=["ask"]))
    assert len(asks) == 4 and asks[0].outcome == "generative"
    refused = [a for a in asks if a.outcome == "refused"]
    assert [a.detail_json["refusal"]["missing"] for a in refused] == [["rivaroxaban"]]
    doctor = [
        e.action for e in audit.iter_events(actions=["login", "logout"]) if e.actor == "dr.zhang"
    ]
    assert doctor == ["login", "logout"]
    [item] = ReviewQueue.open(Settings(data_dir=demo_dir)).query(departments=["cardiology"])
    assert (item.status, item.disposition, item.resolved_by) == (
        "resolved", "guideline_gap", "rev.chen"
    )  # fmt: skip
    assert "hand hygiene" in item.question
    resolved = list(audit.iter_events(actions=["review_resolve"]))
    assert [(e.actor, e.outcome) for e in resolved] == [("rev.chen", "ok")]
    (ARTIFACTS / "browser-timings.txt").write_text(
        "".join(f"{k} {v:.2f}\n" for k, v in timings.items()), encoding="utf-8"
    )


# ---- issue 16: staying signed in across a reload; pages by URL ------------------------------


def _session_cookie(context: Any, page: Any, *, present: bool) -> dict[str, Any] | None:
    """The browser's session cookie once it is (or is no longer) there; the page's frame
    posts the ticket (or the clearing request) right after the page draws."""
    for _ in range(100):
        cookies = [c for c in context.cookies() if c["name"] == "guidecite_session"]
        if bool(cookies) == present:
            return cookies[0] if cookies else None
        page.wait_for_timeout(200)
    raise AssertionError(f"session cookie {'never set' if present else 'not cleared'}")


@pytest.fixture(scope="module")
def reviewer(demo_dir: Path) -> pyotp.TOTP:
    """A cardiology quality reviewer of its own (TOTP codes are single use)."""
    settings = Settings(data_dir=demo_dir)
    accounts = open_accounts(settings, access=AccessControl.open(settings))
    accounts.add_user(
        "qa.sun", role=Role.QUALITY_REVIEWER, department="cardiology", password=PASSWORD
    )
    return pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp("qa.sun")).secret)


def test_reviewer_stays_signed_in_across_a_reload_until_signing_out(
    server: str, demo_dir: Path, reviewer: pyotp.TOTP
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    signed_in = "已登录：qa.sun（质控审核员，cardiology）"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(server)
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        page.get_by_label("用户名").fill("qa.sun")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_label("动态验证码（6 位）").fill(reviewer.now())
        page.screenshot(path=str(ARTIFACTS / "16a-sign-in-one-form.png"), full_page=True)
        started = time.perf_counter()
        sign_in_button(page).click()
        heading = page.get_by_role("heading", name="质量审核", exact=True)
        expect(heading).to_be_visible(timeout=60_000)
        privileged_sign_in_s = time.perf_counter() - started
        expect(page.get_by_text(signed_in)).to_be_visible()
        cookie = _session_cookie(context, page, present=True)
        assert cookie is not None
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        # Not readable by the page's scripts, and no secret in the address.
        assert "guidecite_session" not in page.evaluate("document.cookie")
        assert "?" not in page.url

        page.reload()
        expect(heading).to_be_visible(timeout=60_000)
        expect(page.get_by_text(signed_in)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "16b-reload-still-signed-in.png"), full_page=True)

        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
        assert _session_cookie(context, page, present=False) is None
        page.reload()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(signed_in)).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "16c-reload-after-sign-out.png"), full_page=True)
        browser.close()

    audit = open_audit_log(Settings(data_dir=demo_dir))
    rows = [
        (e.action, e.outcome)
        for e in audit.iter_events(actions=["login", "logout", "session"])
        if e.actor == "qa.sun"
    ]
    # One sign-in (no failed attempt before it), the reload resumed it, one sign-out.
    assert rows == [("login", "ok"), ("logout", "ok")]
    line = f"privileged_sign_in_s {privileged_sign_in_s:.2f}\n"
    (ARTIFACTS / "browser-session-timings.txt").write_text(line, encoding="utf-8")
    print(line, end="")


def test_typed_page_url_signed_out_shows_the_chinese_sign_in_page(
    server: str, officers: dict[str, pyotp.TOTP]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{server}/review")
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        expect(sign_in_button(page)).to_be_visible()
        page.wait_for_timeout(1000)  # a "Page not found" dialog would show by now
        expect(page.get_by_text("Page not found")).to_have_count(0)
        page.screenshot(path=str(ARTIFACTS / "16d-typed-url-signed-out-zh.png"), full_page=True)
        # A doctor may not open the review page: signed in from its URL, Chat opens instead.
        page.get_by_label("用户名").fill("dr.zhang")
        page.get_by_label("密码").fill(PASSWORD)
        sign_in_button(page).click()
        expect(page.get_by_placeholder("输入临床问题……")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("您无权打开此页面", exact=False)).to_have_count(0)
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)

        # A page the person may open, typed signed out, opens after signing in (not the
        # role's first page). The next step's code: another test may have used this step's.
        page.goto(f"{server}/monitoring")
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        page.get_by_label("用户名").fill("cmp.li")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_label("动态验证码（6 位）").fill(officers["cmp.li"].at(time.time() + 30))
        sign_in_button(page).click()
        expect(page.get_by_role("heading", name="监测预警", exact=True)).to_be_visible(
            timeout=60_000
        )
        assert page.url.rstrip("/").endswith("/monitoring")
        page.wait_for_timeout(1500)  # let the metrics draw before the screenshot
        page.screenshot(path=str(ARTIFACTS / "16e-typed-url-after-sign-in.png"), full_page=True)
        browser.close()
