"""Every cited passage can be read in its context (issue 16 item 5), driven by AppTest.

One module-wide DATA_DIR: the influenza guideline (plain text) in `hospital` and an English
DOCX in `cardiology-ipc`, granted to cardiology; one cardiology doctor.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import Settings
from assistant.domain import Answer, Principal, Role
from tests.factories import (
    FLU_2025,
    HYGIENE_QUESTION,
    audit_events,
    hygiene_docx,
    index_library,
    open_access,
    open_accounts,
)
from ui.state import resources

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
FLU_QUESTION = "流感患者奥司他韦的成人剂量是多少？"
ADMIN = Principal(user="adm.zhou", role=Role.DEPT_ADMIN, department="cardiology")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("preview")
    settings = Settings(data_dir=root / "data")
    access = open_access(settings, roles=[ADMIN], libraries={"cardiology-ipc": "cardiology"})
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    libraries = {"hospital": [corpus_dir / FLU_2025], "cardiology-ipc": [hygiene_docx(root)]}
    index_library(settings, libraries).store.close()  # the app opens the embedded shard itself
    yield {"data_dir": settings.data_dir}


@pytest.fixture
def app_env(app_data: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data["data_dir"]))
    return app_data


def _ask(question: str, *, lang: str) -> tuple[AppTest, Answer]:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["gc_lang"] = lang
    at.run()
    at.text_input(key="gc_username").set_value("dr.wang")
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    assert "gc_token" in at.session_state
    # Signing in reopens the latest conversation: ask in a new one, so card n is this answer's.
    at.button(key="gc_new_conversation").click().run()
    at.chat_input(key="gc_question").set_value(question).run()
    assert not at.exception, at.exception
    answer: Answer = at.session_state["gc_history"][-1][1]
    return at, answer


def _open_context(at: AppTest, answer: Answer, n: int) -> list[str]:
    """Turn on card n's "Show in context"; the Markdown of the card afterwards."""
    at.toggle(key=f"ctx-{answer.answer_id}-{n}").set_value(True).run()
    assert not at.exception, at.exception
    card = at.expander[n - 1]
    return [m.value for m in card.markdown] + [c.value for c in card.caption]


def _plain(markdown: list[str]) -> str:
    """The words of escaped Markdown (the escapes' backslashes dropped)."""
    return "\n".join(markdown).replace("\\", "")


def _cited(answer: Answer) -> int:
    return next(s.n for s in answer.sources if any(s.n in x.citations for x in answer.sentences))


def test_a_plain_text_source_card_shows_its_passage_in_context_highlighted_in_chinese(
    app_env: dict,
) -> None:
    at, answer = _ask(FLU_QUESTION, lang="zh")
    n = _cited(answer)
    toggle = at.toggle(key=f"ctx-{answer.answer_id}-{n}")
    assert toggle.label == "在原文上下文中查看" and toggle.value is False
    shown = _open_context(at, answer, n)
    text = _plain(shown)
    assert (
        "《流行性感冒诊疗方案》（2025年版） · " in text and "引用段落前后原文，引用句已高亮" in text
    )
    assert "▸ 被引用的段落" in text
    # The cited sentence lit, whole; the next passage of the guideline below it, not lit.
    lit = [m for m in shown if ":orange-background[" in m]
    assert any(":orange-background[成人剂量每次75mg，每日2次。]" in m for m in lit), lit
    assert any("肾功能不全者要根据肾功能调整剂量。" in m and ":orange" not in m for m in shown)
    assert at.download_button, "the original is still offered"


def test_a_docx_source_card_shows_its_passage_in_context_in_english_and_not_after_a_revoke(
    app_env: dict,
) -> None:
    at, answer = _ask(HYGIENE_QUESTION, lang="en")
    n = _cited(answer)
    assert answer.sources[n - 1].library == "cardiology-ipc"
    assert at.toggle(key=f"ctx-{answer.answer_id}-{n}").label == "Show in context"
    shown = _open_context(at, answer, n)
    text = _plain(shown)
    heading = "Hand hygiene in outpatient care (2024) · the text around the cited passage"
    assert f"{heading}, cited sentences highlighted" in text
    assert "**Hand Hygiene in Outpatient Care \\> 2\\. Technique**" in shown
    lit = [m for m in shown if ":orange-background[" in m]
    assert any("20 seconds until the hands are dry\\.]" in m for m in lit), lit
    # A neighbouring sentence of the file, shown but not lit.
    assert "Sleeves should end at or above the elbow" in text
    assert "▸ The cited passage" in text
    # The grant is withdrawn while the answer is on screen: the next run shows no passage.
    # Withdrawn through the app's own Context, which other instances reach only after a recheck.
    access = resources().access
    assert access.revoke_library(ADMIN, library="cardiology-ipc", department="cardiology")
    try:
        at.run()
        assert not at.exception, at.exception
        errors = [e.value for e in at.expander[n - 1].error]
        assert errors == [
            "You no longer have access to this guideline library, so its text cannot be shown."
        ]
        # No context any more: the card keeps only the passage the answer quoted when asked.
        card = at.expander[n - 1]
        after = _plain([m.value for m in card.markdown] + [c.value for c in card.caption])
        assert "the text around the cited passage" not in after
        assert "▸ The cited passage" not in after
    finally:
        access.grant_library(ADMIN, library="cardiology-ipc", department="cardiology")
    denied = [e for e in audit_events("passage_view") if e.actor == "dr.wang"]
    assert [(e.outcome, e.object) for e in denied] == [("denied", "library:cardiology-ipc")]
