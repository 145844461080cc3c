"""Copy and download of one answer on the chat page (issue 16 item 4), driven by AppTest.

One module-wide DATA_DIR: the oseltamivir paragraph of the flu guideline in a `cardiology`
library granted to cardiology, and a cardiology doctor. The download buttons' files are made
only when clicked (Streamlit runs their callable then), so here the buttons are checked and
"Copy", which exports at once, is pressed; the files themselves are tested in
tests/assistant/test_service_export.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.access import AccessControl
from assistant.config import Settings
from assistant.domain import Answer, Principal, Role
from tests.factories import audit_events, index_library, open_access, open_accounts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
QUESTION = "流感患者奥司他韦的成人剂量是多少？"
SYSADMIN = Principal(user="root.ma", role=Role.SYSADMIN, department="*")
LABELS = {
    "en": ("Copy as Markdown", "Download Markdown", "Download PDF"),
    "zh": ("复制为 Markdown", "下载 Markdown", "下载 PDF"),
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("export-app")
    text = (corpus_dir / FLU).read_text(encoding="utf-8")
    start = text.index("①奥司他韦")
    excerpt = root / "流感抗病毒治疗（节选）.txt"
    excerpt.write_text(
        f"流感抗病毒治疗\n\n抗病毒治疗\n\n{text[start : text.index('②帕拉米韦', start)]}",
        encoding="utf-8",
    )
    settings = Settings(data_dir=root / "data")
    access = open_access(settings, roles=[SYSADMIN], libraries={"cardiology": "cardiology"})
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    index_library(settings, {"cardiology": [excerpt]}).store.close()  # the app opens it itself
    yield settings.data_dir


@pytest.fixture
def data_dir(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data))
    return app_data


def _ask(lang: str) -> tuple[AppTest, Answer]:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["gc_lang"] = lang
    at.run()
    at.text_input(key="gc_username").set_value("dr.wang")
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    assert not at.exception, at.exception
    # Signing in reopens the latest conversation: ask in a new one, so the answer is alone.
    at.button(key="gc_new_conversation").click().run()
    at.chat_input(key="gc_question").set_value(QUESTION).run()
    assert not at.exception, at.exception
    answer: Answer = at.session_state["gc_history"][-1][1]
    assert answer.sources and answer.audit_event_id is not None
    return at, answer


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_copy_and_downloads_sit_under_the_answer_and_copy_is_audited(
    data_dir: Path, lang: str
) -> None:
    at, answer = _ask(lang)
    copy_label, md_label, pdf_label = LABELS[lang]
    keys = {f"gc_download_{fmt}_{answer.answer_id}" for fmt in ("md", "pdf")}
    downloads = [b for b in at.get("download_button") if b.key in keys]
    assert [getattr(b, "label", None) for b in downloads] == [md_label, pdf_label]
    copy = at.button(key=f"gc_copy_{answer.answer_id}")
    assert copy.label == copy_label
    exports = len(audit_events("answer_export"))
    assert not at.code  # nothing exported before it is asked for

    copy.click().run()

    assert not at.exception, at.exception
    [code] = at.code
    assert answer.answer_id in code.value and QUESTION in code.value
    assert f"\\#{answer.audit_event_id}" in code.value
    rows = audit_events("answer_export")
    assert len(rows) == exports + 1
    row = rows[-1]
    assert (row.actor, row.outcome) == ("dr.wang", "ok")
    assert row.detail_json["answer_id"] == answer.answer_id
    assert (row.detail_json["format"], row.detail_json["channel"]) == ("md", "copy")
    assert row.detail_json["ask_event_hash"] in code.value


def test_a_revoked_grant_takes_the_export_buttons_away(data_dir: Path) -> None:
    at, answer = _ask("en")
    exports = [b for b in at.get("download_button") if str(b.key).startswith("gc_download_")]
    assert len(exports) == 2
    access = AccessControl.open(Settings(data_dir=data_dir))
    assert access.revoke_library(SYSADMIN, library="cardiology", department="cardiology")
    try:
        at.run()
        assert not at.exception, at.exception
        assert not [b for b in at.get("download_button") if str(b.key).startswith("gc_download_")]
        assert not any(b.key == f"gc_copy_{answer.answer_id}" for b in at.button)
        captions = [c.value for c in at.caption]
        assert (
            "This answer cites a library you may no longer read: it cannot be copied or exported."
            in captions
        )
    finally:
        access.grant_library(SYSADMIN, library="cardiology", department="cardiology")
