"""End to end in headless Chromium: `guidecite serve` over a small demo index (issue 5).

A doctor signs in, asks one Chinese and one English question, sees citation markers and source
cards, opens a card, gives 👎 with a comment and signs out. Screenshots land in
`test-artifacts/` for a person to look at (Chinese must render, nothing may overlap).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles

from assistant.access import AccessControl
from assistant.accounts import Accounts, LocalAuthenticator
from assistant.audit import open_audit_log
from assistant.config import Settings
from assistant.domain import Role
from assistant.gates import GateRegistry
from assistant.store import open_store
from ingestion.service import Ingestor

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
    store = open_store(settings)
    try:
        report = Ingestor(settings, store=store).ingest(
            [corpus_dir / doc for doc in DOCS], library="hospital"
        )
        assert len(report.documents) == 2 and not report.failed
    finally:
        store.close()
    access = AccessControl.open(settings)
    access.seed_defaults()
    fast = LocalAuthenticator(PasswordHasher.from_parameters(profiles.CHEAPEST))
    accounts = Accounts.open(settings, access=access, authenticator=fast)
    accounts.add_user("dr.zhang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    # Generated answers need the department's ethics approval (issue 6 gates).
    GateRegistry.open(settings).record(
        department="cardiology",
        reference="EC-TEST-001",
        approved_by="ethics.committee",
        expires_on=date.today() + timedelta(days=365),
    )
    return data_dir


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


def test_doctor_asks_in_chinese_and_english_and_gives_feedback(server: str, demo_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
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
        page.get_by_role("button", name="登录").click()
        chat = page.get_by_placeholder("输入临床问题……")
        expect(chat).to_be_visible(timeout=60_000)

        started = time.perf_counter()
        chat.fill("流感患者奥司他韦的成人剂量是多少？")
        chat.press("Enter")
        expect(page.get_by_text("根据指南生成", exact=False).first).to_be_visible(timeout=90_000)
        timings["answer_zh_s"] = time.perf_counter() - started
        expect(page.get_by_text("[1]", exact=False).first).to_be_visible()
        expect(page.get_by_text("✓").first).to_be_visible()
        cards = page.locator("[data-testid='stChatMessage'] [data-testid='stExpander']")
        assert cards.count() >= 1
        expect(cards.first).to_contain_text("流行性感冒诊疗方案")
        page.screenshot(path=str(ARTIFACTS / "02-answer-zh.png"), full_page=True)

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

        # Open a card: the passage and a way to open the stored original appear.
        last_cards.first.locator("summary").click()
        expect(last_cards.first.get_by_text("打开原文", exact=False)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "03-answer-en-card-open.png"), full_page=True)

        # 👎 with a comment on the English answer.
        last.get_by_label("意见（可选）").fill("Too general for our clinic")
        last.get_by_role("button", name="没帮助").click()
        expect(page.get_by_text("感谢反馈", exact=False)).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "04-feedback.png"), full_page=True)

        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_label("用户名")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "05-signed-out.png"), full_page=True)
        browser.close()

    audit = open_audit_log(Settings(data_dir=demo_dir))
    feedback = list(audit.iter_events(actions=["feedback"]))
    assert [(e.actor, e.outcome) for e in feedback] == [("dr.zhang", "not_helpful")]
    assert "Too general for our clinic" in str(feedback[0].detail_json)
    asks = list(audit.iter_events(actions=["ask"]))
    assert len(asks) == 2 and asks[0].outcome == "generative"
    assert [e.action for e in audit.iter_events(actions=["login", "logout"])] == ["login", "logout"]
    (ARTIFACTS / "browser-timings.txt").write_text(
        "".join(f"{k} {v:.2f}\n" for k, v in timings.items()), encoding="utf-8"
    )
