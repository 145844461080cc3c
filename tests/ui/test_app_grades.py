"""Chat page and recommendation grades (issue #17 §1): badges on source cards and verified
sentences, in the UI language with the guideline's own wording; the strength filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import Settings
from assistant.domain import AnswerMode, Role, Strength
from tests.factories import index_library, liver_excerpt, open_access, open_accounts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
SURVEILLANCE = "肝癌中、高风险人群多久进行一次肝癌监测？"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A data dir of its own holding the liver guideline's graded screening paragraph."""
    folder = tmp_path_factory.mktemp("grades")
    data_dir = folder / "data"
    settings = Settings(data_dir=data_dir)
    excerpt = liver_excerpt(corpus_dir, folder)
    index_library(settings, {"hospital": [excerpt]}).store.close()  # the app opens it
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.gao", role=Role.DOCTOR, department="hepatology", password=PASSWORD)
    return data_dir


@pytest.fixture
def signed_in(graded_dir: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(graded_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.session_state["gc_lang"] = "en"
    at.text_input(key="gc_username").set_value("dr.gao")
    at.text_input(key="gc_password").set_value(PASSWORD)
    at = at.button[-1].click().run()
    assert not at.exception, at.exception
    return at


def _ask(at: AppTest, question: str = SURVEILLANCE) -> AppTest:
    at.chat_input(key="gc_question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_graded_source_and_sentence_show_the_grade_in_the_ui_language(signed_in: AppTest) -> None:
    at = _ask(signed_in)
    answer = at.session_state["gc_history"][-1][1]
    graded = [s for s in answer.sources if s.grade]
    assert graded and graded[0].grade.original == "证据等级2，推荐A"
    # The source card: normalised words as badges, the guideline's own wording on hover.
    [badge] = [m for m in at.markdown if "-badge[" in m.value and "✓" not in m.value]
    assert badge.value == ":green-badge[Strong] :gray-badge[Certainty Moderate]"
    assert badge.proto.help == "As stated\\: 证据等级2，推荐A"
    assert "As stated\\: 证据等级2，推荐A" in [c.value for c in at.caption]
    # The verified sentence resting on the graded recommendation carries it beside the ✓.
    reply = [m.value for m in at.chat_message[-1].markdown if "✓" in m.value]
    graded_lines = [line for r in reply for line in r.split("\n\n") if "（证据等级2" in line]
    assert graded_lines and all(
        line.startswith(":green[✓] :green-badge[Strong] :gray-badge[Certainty Moderate] ")
        for line in graded_lines
    ), reply
    ungraded = [line for r in reply for line in r.split("\n\n") if "证据等级" not in line]
    assert all("-badge[" not in line for line in ungraded)
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    [badge] = [m for m in at.markdown if "-badge[" in m.value and "✓" not in m.value]
    assert badge.value == ":green-badge[强推荐] :gray-badge[证据确定性 中]"
    assert badge.proto.help == "原文：证据等级2，推荐A"
    assert any(":green-badge[强推荐]" in m.value for m in at.chat_message[-1].markdown)


def test_strength_filter_reaches_the_answer_and_survives_a_language_switch(
    signed_in: AppTest,
) -> None:
    at = signed_in
    selector = at.sidebar.selectbox(key="gc_strength_en")
    assert selector.label == "Recommendation strength"
    assert selector.options == ["All", "Strong", "Conditional", "Against"]
    selector.set_value("conditional").run()
    at = _ask(at)
    # The library grades this recommendation 推荐A: no conditional one, so an honest refusal.
    refused = at.session_state["gc_history"][-1][1]
    assert refused.mode == AnswerMode.REFUSED and refused.sources == []
    at.session_state["gc_lang"] = "zh"
    at.run()
    selector = at.sidebar.selectbox(key="gc_strength_zh")
    assert selector.label == "推荐强度" and selector.value == "conditional"
    assert selector.options == ["全部", "强推荐", "有条件推荐", "反对"]
    selector.set_value("strong").run()
    at = _ask(at)
    strong = at.session_state["gc_history"][-1][1]
    assert strong.mode == AnswerMode.EXTRACTIVE and strong.sentences
    assert strong.sources and all(
        s.grade and s.grade.strength == Strength.STRONG for s in strong.sources
    )
