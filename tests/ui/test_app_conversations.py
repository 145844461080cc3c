"""Conversations that persist (issue 16 item 1), driven by AppTest over a small index.

One module-wide DATA_DIR: the flu guideline in `hospital`; doctors whose conversations are kept
server-side. A fresh AppTest is a new browser session: signing in there must bring the latest
conversation back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from assistant.config import Settings, get_settings
from assistant.domain import DocumentVersion, Principal, Role
from assistant.service.context import open_context
from assistant.service.conversations import (
    list_conversations,
    mark_conversations_guideline_updated,
    open_conversation,
)
from tests.factories import audit_events, index_library, open_access, open_accounts, page_texts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
QUESTION = "流感患者奥司他韦的成人剂量是多少？"
FOLLOW_UP = "那儿童呢？"
OTHER = "奥司他韦的疗程是多久？"
PHONE = "13912345678"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("conversations") / "data"
    settings = Settings(data_dir=data_dir)
    index_library(settings, {"hospital": [corpus_dir / FLU]}).store.close()  # the app opens it
    accounts = open_accounts(settings, access=open_access(settings))
    for name in ("dr.wang", "dr.li", "dr.zhao"):
        accounts.add_user(name, role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    yield data_dir


@pytest.fixture
def app_env(app_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data))
    return app_data


def _login(name: str, *, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["gc_lang"] = lang
    at.run()
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    return at


def _ask(at: AppTest, question: str) -> None:
    at.chat_input(key="gc_question").set_value(question).run()
    assert not at.exception, at.exception


def _stored(name: str) -> list:
    ctx = open_context(get_settings())
    return list_conversations(ctx, Principal(user=name, role=Role.DOCTOR, department="cardiology"))


def _listed(at: AppTest) -> list[Button]:
    return [b for b in at.sidebar.button if str(b.key).startswith("gc_conv_open_")]


def test_asking_keeps_the_turn_and_signing_in_again_reopens_the_conversation(
    app_env: Path,
) -> None:
    at = _login("dr.wang")
    assert at.session_state["gc_history"] == []
    assert "No saved conversations yet" in page_texts(at)
    _ask(at, f"患者电话{PHONE}，{QUESTION}")
    _ask(at, FOLLOW_UP)
    conversation = at.session_state["gc_conversation"]
    [stored] = _stored("dr.wang")
    assert (stored.id, stored.turns) == (conversation, 2)
    # Titled by the first question as recorded: placeholders, never the number typed.
    assert PHONE not in stored.title and stored.title.startswith("患者电话[电话1]")
    # Its id is the audit session id of its `ask` rows.
    asks = [e for e in audit_events("ask") if e.session_id == conversation]
    assert len(asks) == 2
    [listed] = _listed(at)
    assert listed.label.startswith("患者电话") and stored.updated_at.strftime("%Y-%m-%d") in (
        listed.label
    )

    # A new browser session (a reload, another day): signing in reopens the latest one.
    again = _login("dr.wang")
    assert again.session_state["gc_conversation"] == conversation
    history = again.session_state["gc_history"]
    assert [q for q, _ in history] == [q for q, _ in at.session_state["gc_history"]]
    assert [a.answer_id for _, a in history] == [
        a.answer_id for _, a in at.session_state["gc_history"]
    ]
    shown = [str(m.markdown[0].value) for m in again.chat_message if m.name == "user"]
    assert len(shown) == 2 and PHONE not in "".join(shown) and "那儿童呢" in shown[1]
    # 👎 given on the reopened first answer is kept: the next sign-in does not ask again.
    first_answer = history[0][1].answer_id
    again.text_input(key=f"fbc-{first_answer}").set_value("不够具体")
    [reply] = [
        m for m in again.chat_message if any(w.key == f"fbc-{first_answer}" for w in m.text_input)
    ]
    [down] = [b for b in reply.button if b.label == "Not helpful"]
    down.click().run()
    assert not again.exception, again.exception
    assert again.session_state["gc_feedback"] == {first_answer: False}
    third = _login("dr.wang")
    assert third.session_state["gc_feedback"] == {first_answer: False}
    assert not any(w.key == f"fbc-{first_answer}" for w in third.text_input)
    assert any(w.key == f"fbc-{history[1][1].answer_id}" for w in third.text_input)
    # The next question continues it, under the same audit session id.
    _ask(again, OTHER)
    [stored] = _stored("dr.wang")
    assert (stored.id, stored.turns) == (conversation, 3)
    assert audit_events("ask")[-1].session_id == conversation


def test_the_sidebar_lists_reopens_renames_and_deletes(app_env: Path) -> None:
    at = _login("dr.li", lang="zh")
    _ask(at, QUESTION)
    first = at.session_state["gc_conversation"]
    at.button(key="gc_new_conversation").click().run()
    assert at.session_state["gc_history"] == []
    _ask(at, OTHER)
    second = at.session_state["gc_conversation"]
    assert second != first
    # Newest first, the open one marked.
    listed = _listed(at)
    assert [b.key for b in listed] == [f"gc_conv_open_{second}", f"gc_conv_open_{first}"]
    assert listed[0].label.startswith(OTHER) and listed[1].label.startswith(QUESTION)

    # A click reopens the first conversation with its turn drawn from the stored answer.
    at.button(key=f"gc_conv_open_{first}").click().run()
    assert not at.exception, at.exception
    assert at.session_state["gc_conversation"] == first
    [(question, answer)] = at.session_state["gc_history"]
    assert question == QUESTION and answer.sentences
    assert [str(m.markdown[0].value) for m in at.chat_message if m.name == "user"] == [QUESTION]

    # Rename.
    at.text_input(key=f"gc_conv_title_{first}").set_value("奥司他韦 成人剂量")
    at.button(key="gc_conv_rename").click().run()
    assert not at.exception, at.exception
    assert _listed(at)[1].label.startswith("奥司他韦 成人剂量")
    rename = audit_events("conversation_rename")[-1]
    assert (rename.actor, rename.outcome, rename.object) == ("dr.li", "ok", f"conversation:{first}")

    # Delete asks first; Cancel keeps it.
    at.button(key="gc_conv_delete").click().run()
    assert any("审计记录会保留" in str(w.value) for w in at.sidebar.warning)
    at.button(key="gc_conv_delete_no").click().run()
    assert len(_listed(at)) == 2 and not at.sidebar.warning
    at.button(key="gc_conv_delete").click().run()
    at.button(key="gc_conv_delete_yes").click().run()
    assert not at.exception, at.exception
    assert [b.key for b in _listed(at)] == [f"gc_conv_open_{second}"]
    assert at.session_state["gc_history"] == [] and at.session_state["gc_conversation"] != first
    delete = audit_events("conversation_delete")[-1]
    assert (delete.actor, delete.outcome, delete.object) == ("dr.li", "ok", f"conversation:{first}")
    # Hidden, never erased from the trail.
    assert [e.session_id for e in audit_events("ask")].count(first) == 1
    # Signing in again reopens the remaining one.
    again = _login("dr.li", lang="zh")
    assert again.session_state["gc_conversation"] == second


def test_a_reopened_answer_citing_a_superseded_guideline_says_so(app_env: Path) -> None:
    at = _login("dr.zhao")
    _ask(at, QUESTION)
    conversation = at.session_state["gc_conversation"]
    [(_, answer)] = at.session_state["gc_history"]
    cited = answer.sources[0]
    ctx = open_context(get_settings())
    zhao = Principal(user="dr.zhao", role=Role.DOCTOR, department="cardiology")
    old, new = (
        DocumentVersion(
            doc_id=cited.doc_id,
            title=cited.title,
            version=label,
            language="zh",
            library=cited.library,
            content_sha256=str(n) * 64,
            source_file="flu.txt",
        )
        for n, label in ((1, cited.version), (2, "2026年版"))
    )
    store = ctx.conversation_store()
    marked = mark_conversations_guideline_updated(store, superseded=old, current=new)
    assert conversation in marked  # other doctors' conversations cite it too
    assert open_conversation(ctx, zhao, conversation)[1][0].guideline_updates

    again = _login("dr.zhao")
    notices = [str(w.value).replace("\\", "") for w in again.warning]
    assert notices == [
        f"Guideline updated since this answer: {cited.title}: {cited.version} → 2026年版. "
        "Check the new version."
    ]
    [listed] = _listed(again)
    assert listed.proto.help == "A guideline this conversation cites has a newer version."
    zh = _login("dr.zhao", lang="zh")
    [notice] = [str(w.value) for w in zh.warning]
    assert notice.startswith("此回答之后，所引用的指南已更新")
