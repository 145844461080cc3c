"""Taking an answer out of the app in headless Chromium (issue 16 item 4): `guidecite serve`
over one small guideline, a doctor asks in Chinese, copies the answer as Markdown and downloads
it as PDF. The download is made by Streamlit's deferred callable on its own thread, which
AppTest cannot drive. Screenshots and the downloaded PDF land in `test-artifacts/`.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from assistant.audit.log import open_audit_log
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
QUESTION = "流感患者奥司他韦的成人剂量是多少？"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium"),
]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path
) -> Iterator[tuple[str, Path]]:
    """`guidecite serve` (extractive: no model) over the flu guideline's oseltamivir paragraph."""
    root = tmp_path_factory.mktemp("browser-export")
    text = (corpus_dir / FLU).read_text(encoding="utf-8")
    start = text.index("①奥司他韦")
    excerpt = root / "流感抗病毒治疗（节选）.txt"
    excerpt.write_text(
        f"流感抗病毒治疗\n\n抗病毒治疗\n\n{text[start : text.index('②帕拉米韦', start)]}",
        encoding="utf-8",
    )
    data_dir = root / "data"
    settings = Settings(data_dir=data_dir)
    index_library(settings, {"hospital": [excerpt]}).store.close()
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.zhao", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    port = _free_port()
    env = {**os.environ, "GUIDECITE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    env.pop("GUIDECITE_LLM__BASE_URL", None)
    log = (root / "serve.log").open("wb")
    command = [str(Path(sys.executable).parent / "guidecite"), "serve", "--port", str(port)]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout=60)
        yield url, data_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_doctor_copies_and_downloads_an_answer_as_pdf(server: tuple[str, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, data_dir = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            locale="zh-CN", viewport={"width": 1280, "height": 1000}, accept_downloads=True
        )
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_label("用户名")).to_be_visible(timeout=60_000)
        page.get_by_label("用户名").fill("dr.zhao")
        page.get_by_label("密码").fill(PASSWORD)
        sign_in_button(page).click()
        chat = page.get_by_placeholder("输入临床问题……")
        expect(chat).to_be_visible(timeout=60_000)
        chat.fill(QUESTION)
        chat.press("Enter")
        reply = page.locator("[data-testid='stChatMessage']").last
        download_pdf = reply.get_by_role("button", name="下载 PDF")
        expect(download_pdf).to_be_visible(timeout=90_000)
        expect(reply.get_by_role("button", name="下载 Markdown")).to_be_visible()
        copy = reply.get_by_role("button", name="复制为 Markdown")
        expect(copy).to_be_visible()
        download_pdf.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "16-4a-export-buttons-zh.png"), full_page=True)

        with page.expect_download(timeout=60_000) as started:
            download_pdf.click()
        download = started.value
        assert re.fullmatch(r"guidecite-answer-[0-9a-f]{12}\.pdf", download.suggested_filename)
        saved = ARTIFACTS / "16-4-answer-downloaded-zh.pdf"
        download.save_as(str(saved))
        data = saved.read_bytes()
        assert data.startswith(b"%PDF-")
        pages = PdfReader(io.BytesIO(data)).pages
        text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in pages))
        assert QUESTION in text and "流感抗病毒治疗（节选）" in text

        copy.click()
        code = reply.locator("[data-testid='stCode']")
        expect(code).to_contain_text("# GuideCite 回答记录", timeout=30_000)
        expect(code).to_contain_text(QUESTION)
        page.screenshot(path=str(ARTIFACTS / "16-4b-export-copy-zh.png"), full_page=True)
        browser.close()

    rows = list(open_audit_log(Settings(data_dir=data_dir)).iter_events(actions={"answer_export"}))
    assert [(r.detail_json["format"], r.detail_json["channel"], r.outcome) for r in rows] == [
        ("pdf", "download", "ok"),
        ("md", "copy", "ok"),
    ]
