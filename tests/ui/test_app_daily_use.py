"""Pages without traps (issue 16 items 2, 7, 8 and 11), driven by AppTest over a small index.

One module-wide DATA_DIR: the flu guideline in `hospital`, a `cardiology` library granted to
cardiology; a cardiology doctor whose answer got 👎 (a review item); cardiology department
administrators and quality reviewers (TOTP, one account per sign-in: a code is not replayed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button, Selectbox

from assistant.config import Settings, get_settings
from assistant.domain import Principal, Role
from assistant.service.ask import answer_question
from assistant.service.context import open_context
from assistant.service.feedback import record_feedback
from tests.factories import audit_events as _events
from tests.factories import index_library, open_access, open_accounts
from tests.factories import page_texts as _texts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
QUESTION = "流感患者奥司他韦的成人剂量是多少？"
ADMINS = ("adm.zhou", "adm.qian", "adm.sun")
REVIEWERS = ("rev.chen", "rev.wu")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict]:
    data_dir = tmp_path_factory.mktemp("daily") / "data"
    settings = Settings(data_dir=data_dir)
    access = open_access(settings, libraries={"cardiology": "cardiology"})
    accounts = open_accounts(settings, access=access)
    for name in ("dr.wang", "dr.li"):
        accounts.add_user(name, role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    totp = {}
    for names, role in ((ADMINS, Role.DEPT_ADMIN), (REVIEWERS, Role.QUALITY_REVIEWER)):
        for name in names:
            accounts.add_user(name, role=role, department="cardiology", password=PASSWORD)
            totp[name] = pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp(name)).secret)
    accounts.add_user("root.ma", role=Role.SYSADMIN, department="*", password=PASSWORD)
    totp["root.ma"] = pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp("root.ma")).secret)
    store = index_library(settings, {"hospital": [corpus_dir / FLU]}).store
    try:
        ctx = open_context(settings, store=store, access=access)
        doctor = Principal(user="dr.li", role=Role.DOCTOR, department="cardiology")
        answer = answer_question(doctor, QUESTION, ctx=ctx)
        record_feedback(
            doctor, answer_id=answer.answer_id, helpful=False, comment="不清楚", ctx=ctx
        )
    finally:
        store.close()  # the app opens the embedded shard itself
    yield {"data_dir": data_dir, "totp": totp}


@pytest.fixture
def app_env(app_data: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data["data_dir"]))
    return app_data


def _login(name: str, totp: pyotp.TOTP | None = None, *, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["gc_lang"] = lang
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(PASSWORD)
    if totp is not None and any(w.key == "gc_totp" for w in at.text_input):
        at.text_input(key="gc_totp").set_value(totp.now())
    at.button[-1].click().run()
    if totp is not None and "gc_token" not in at.session_state:
        at.text_input(key="gc_totp").set_value(totp.now())
        at.button[-1].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    return at


# ---- item 2: bad input is refused at the input, plainly, in the UI language ----------------


def test_blank_question_is_refused_plainly_without_processing(app_env: dict) -> None:
    at = _login("dr.wang")
    asks = len(_events("ask"))
    at.chat_input(key="gc_question").set_value("  \n\t ").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["The question is empty: type a question."]
    assert not at.status and "Working…" not in _texts(at)  # no "processing" box
    assert not at.session_state["gc_history"] and len(_events("ask")) == asks
    at = _login("dr.wang", lang="zh")
    at.chat_input(key="gc_question").set_value("   ").run()
    assert [e.value for e in at.error] == ["问题为空，请输入问题。"]


def test_overlong_question_is_kept_whole_counted_and_refused(app_env: dict) -> None:
    at = _login("dr.wang")
    asks = len(_events("ask"))
    limit = get_settings().max_question_chars
    question = QUESTION + "请详细说明。" * ((limit + 1000) // 6)
    at.chat_input(key="gc_question").set_value(question).run()
    assert not at.exception, at.exception
    over = len(question) - limit
    expected = (
        f"The question has {len(question)} characters, more than the limit of {limit}: "
        f"shorten it by {over} characters, then send it."
    )
    assert [e.value for e in at.error] == [expected]
    # Nothing processed or stored; no setting name, no second language on a clinician's screen.
    assert not at.status and len(_events("ask")) == asks and not at.session_state["gc_history"]
    text = _texts(at)
    assert "GUIDECITE" not in text and "问题" not in text.replace(question, "")
    # Never cut: the whole question is kept for shortening, and Send is off while too long.
    draft = at.text_area(key="gc_draft_text")
    assert draft.value == question
    assert at.button(key="gc_draft_send").disabled
    at.button(key="gc_draft_discard").click().run()
    assert not any(w.key == "gc_draft_text" for w in at.text_area) and not at.error
    at = _login("dr.wang", lang="zh")
    at.chat_input(key="gc_question").set_value(question).run()
    assert [e.value for e in at.error] == [
        f"问题有 {len(question)} 个字符，超过上限 {limit} 个字符，请删减 {over} 个字符后再发送。"
    ]
    # Shortened: the counter says so, Send asks it once (audited once, by the service).
    at.text_area(key="gc_draft_text").set_value(QUESTION).run()
    assert f"{len(QUESTION)} / {limit} 个字符" in [c.value for c in at.caption]
    assert not at.error
    at.button(key="gc_draft_send").click().run()
    assert not at.exception, at.exception
    [(asked, answer)] = at.session_state["gc_history"]
    assert asked == QUESTION and answer.sentences
    assert len(_events("ask")) == asks + 1
    assert not any(w.key == "gc_draft_text" for w in at.text_area)
    assert [m.value for m in at.chat_message[0].markdown] == [QUESTION]


# ---- item 11: the library selector follows the language; a way back from a denial ---------


def _library_selector(at: AppTest) -> Selectbox[Any]:
    [selector] = [s for s in at.sidebar.selectbox if str(s.key).startswith("gc_library")]
    return selector


def test_library_selector_follows_the_language_and_keeps_the_choice(app_env: dict) -> None:
    at = _login("dr.wang", lang="zh")
    selector = _library_selector(at)
    assert selector.label == "指南库" and selector.options[0] == "全部可查阅的指南库"
    at.session_state["gc_lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    selector = _library_selector(at)
    assert selector.label == "Library"
    assert selector.options[0] == "All libraries I may read"
    # The shown choice is English too, and still means "all": no Chinese text comes back as
    # a library name.
    assert selector.value == "__all__"
    at.chat_input(key="gc_question").set_value(QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    assert answer.mode != "denied" and answer.sources
    # A library chosen in one language stays chosen in the other.
    _library_selector(at).set_value("cardiology").run()
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    selector = _library_selector(at)
    assert selector.label == "指南库" and selector.value == "cardiology"


# ---- item 7: the Access page shows what changed, offers only what may be granted -----------


def _button(at: AppTest, label: str, index: int = 0) -> Button:
    return [b for b in at.button if b.label == label][index]


def _roles_of(at: AppTest, user: str) -> str:
    users = at.dataframe[0].value
    [roles] = users[users["User" if "User" in users.columns else "用户"] == user].iloc[:, 2]
    return str(roles)


def test_access_page_offers_what_may_be_granted_confirms_revokes_and_shows_them(
    app_env: dict,
) -> None:
    at = _login("adm.zhou", app_env["totp"]["adm.zhou"])
    at.switch_page("views/access.py").run()
    assert not at.exception, at.exception
    # Every header in words of the UI language.
    assert list(at.dataframe[0].value.columns) == [
        "User", "Department", "Roles", "Disabled", "Locked until"
    ]  # fmt: skip
    assert list(at.dataframe[1].value.columns) == ["Library", "Department"]
    # Only the roles and libraries this department administrator may grant, from a list.
    assert at.selectbox(key="gc_role_en").options == ["Doctor", "Department administrator"]
    assert at.selectbox(key="gc_lib_name").options == ["cardiology"]
    assert not at.selectbox(key="gc_lib_name").proto.accept_new_options
    assert not any(w.key == "gc_lib_name" for w in at.text_input)

    at.selectbox(key="gc_role_user").set_value("dr.li")
    at.selectbox(key="gc_role_en").set_value("dept_admin")
    _button(at, "Grant").click().run()
    assert not at.exception, at.exception
    assert "Changed." in [e.value for e in at.success]
    assert "Department administrator@cardiology" in _roles_of(at, "dr.li")
    assert list(at.dataframe[2].value.columns) == [
        "Time (UTC)", "Actor", "Action", "Object", "Outcome", "Detail"
    ]  # fmt: skip

    # Revoke asks first; Cancel changes nothing.
    revokes = len(_events("role_revoke"))
    at.selectbox(key="gc_role_user").set_value("dr.li")
    at.selectbox(key="gc_role_en").set_value("dept_admin")
    _button(at, "Revoke").click().run()
    assert [w.value for w in at.warning] == [
        "Revoke the role Department administrator of dr.li in cardiology?"
    ]
    assert len(_events("role_revoke")) == revokes and not at.success
    at.button(key="gc_revoke_no").click().run()
    assert not at.warning and len(_events("role_revoke")) == revokes
    assert "Department administrator@cardiology" in _roles_of(at, "dr.li")
    # Confirmed: done, and the table drawn after the change no longer shows the role.
    at.selectbox(key="gc_role_user").set_value("dr.li")
    at.selectbox(key="gc_role_en").set_value("dept_admin")
    _button(at, "Revoke").click().run()
    at.button(key="gc_revoke_yes").click().run()
    assert not at.exception, at.exception
    assert "Changed." in [e.value for e in at.success]
    assert "Department administrator" not in _roles_of(at, "dr.li")
    assert [(e.outcome, e.detail_json["user"]) for e in _events("role_revoke")[revokes:]] == [
        ("ok", "dr.li")
    ]

    # A library grant, in Chinese: confirmed, gone from the table, and offered to give back.
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert list(at.dataframe[0].value.columns) == ["用户", "科室", "角色", "已停用", "锁定至"]
    assert list(at.dataframe[2].value.columns) == [
        "时间（UTC）", "操作人", "操作", "对象", "结果", "详情"
    ]  # fmt: skip
    assert at.selectbox(key="gc_role_zh").options == ["医生", "科室管理员"]
    _button(at, "撤销", 1).click().run()
    assert [w.value for w in at.warning] == [
        "确认撤销科室 cardiology 对指南库 cardiology 的授权？该科室将无法再查阅它。"
    ]
    at.button(key="gc_revoke_yes").click().run()
    assert "已更改。" in [e.value for e in at.success]
    assert "cardiology" not in list(at.dataframe[1].value.iloc[:, 0])
    assert at.selectbox(key="gc_lib_name").options == ["cardiology"]
    _button(at, "授予", 1).click().run()
    assert "cardiology" in list(at.dataframe[1].value.iloc[:, 0])


def test_review_filters_keep_their_choice_across_a_language_switch(app_env: dict) -> None:
    at = _login("rev.wu", app_env["totp"]["rev.wu"])
    at.selectbox(key="gc_review_status_en").set_value("__any__").run()
    at.selectbox(key="gc_review_flag_en").set_value("negative_feedback").run()
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    status, flag = at.selectbox(key="gc_review_status_zh"), at.selectbox(key="gc_review_flag_zh")
    assert (status.value, flag.value) == ("__any__", "negative_feedback")
    assert status.label == "状态" and "全部" in status.options
    assert "negative_feedback" in at.table[0].value.to_csv().replace("\\", "")


def test_system_administrator_may_grant_every_role_and_name_a_new_library(app_env: dict) -> None:
    at = _login("root.ma", app_env["totp"]["root.ma"])
    at.switch_page("views/access.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="gc_role_en").options == [
        "Doctor", "Department administrator", "Quality reviewer", "Compliance officer",
        "System administrator",
    ]  # fmt: skip
    libraries = at.selectbox(key="gc_lib_name")
    assert libraries.options == ["cardiology", "hospital"]
    # A new name may be typed (AppTest cannot type one: Chromium can).
    assert libraries.proto.accept_new_options
    libraries.set_value("cardiology")
    at.text_input(key="gc_lib_dept").set_value("oncology")
    _button(at, "Grant", 1).click().run()
    assert not at.exception, at.exception
    assert "Changed." in [e.value for e in at.success]
    grants = at.dataframe[1].value
    assert list(grants[grants["Library"] == "cardiology"]["Department"]) == ["cardiology, oncology"]


# ---- item 8: the reviewer chooses a disposition; the confirmation stays ---------------------


def test_reviewer_must_choose_a_disposition_and_the_confirmation_stays(app_env: dict) -> None:
    from assistant.review import ReviewQueue

    queue = ReviewQueue.open(get_settings()).query(departments=["cardiology"])
    [item] = [i for i in queue if i.asked_by == "dr.li"]
    at = _login("rev.chen", app_env["totp"]["rev.chen"])
    assert [e.value for e in at.title] == ["Review"]
    at.selectbox(key="gc_review_pick_en").set_value(item.id).run()
    radio = at.radio(key=f"gc_disposition_{item.id}")
    assert radio.value is None  # no disposition chosen for the reviewer
    at.text_area(key=f"gc_review_comment_{item.id}").set_value("剂量单位需要核对")
    _button(at, "Resolve").click().run()
    assert not at.exception, at.exception
    assert "Choose a disposition." in [e.value for e in at.error]
    assert "Please write a comment." not in [e.value for e in at.error]
    unresolved = ReviewQueue.open(get_settings()).get(item.id or 0)
    assert unresolved is not None and unresolved.status != "resolved"
    assert not [e for e in _events("review_resolve") if e.actor == "rev.chen"]

    at.radio(key=f"gc_disposition_{item.id}").set_value("incorrect")
    _button(at, "Resolve").click().run()
    assert not at.exception, at.exception
    stored = ReviewQueue.open(get_settings()).get(item.id or 0)
    assert stored is not None and (stored.status, stored.disposition) == ("resolved", "incorrect")
    # The item has left the queue of unresolved items; the confirmation is still on screen,
    # and stays across reruns (a language switch included) until the next action.
    confirmation = f"Item #{item.id} resolved: Incorrect."
    queued = [str(i) for i in at.table[0].value.iloc[:, 0]] if at.table else []
    assert str(item.id) not in queued
    assert [e.value for e in at.success] == [confirmation]
    at.run()
    assert [e.value for e in at.success] == [confirmation]
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert [e.value for e in at.success] == [f"条目 #{item.id} 已处理：回答有误。"]
    at.selectbox(key="gc_review_status_zh").set_value("resolved").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.success] == ["已处理：回答有误（rev.chen）。"]


def test_denied_page_offers_the_way_back_to_chat(app_env: dict) -> None:
    for lang, label in (("en", "Back to Chat"), ("zh", "返回问答")):
        at = _login("dr.wang", lang=lang)
        at.switch_page("views/access.py").run()
        assert not at.exception, at.exception
        assert len(at.error) == 1  # the denial
        [back] = at.page_link
        assert back.value == label and back.proto.page_script_hash and not back.proto.disabled
        at.switch_page("views/chat.py").run()
        assert not at.exception, at.exception
        assert [e.value for e in at.title] == ["Chat" if lang == "en" else "问答"]


def test_chat_input_has_a_live_counter_in_the_ui_language(app_env: dict) -> None:
    # The browser counts as the doctor types (the text reaches the server only when sent);
    # the page hands it the limit and the words. Seen working in Chromium (issue 16 item 2).
    limit = get_settings().max_question_chars
    for lang, words in (("en", "{n} / {limit} characters"), ("zh", "{n} / {limit} 个字符")):
        at = _login("dr.wang", lang=lang)
        # (The other frame right after sign-in posts the session-cookie ticket.)
        [counter] = [f for f in at.get("iframe") if "stChatInputTextArea" in f.proto.srcdoc]
        script = counter.proto.srcdoc
        assert "stChatInputTextArea" in script and f"limit: {limit}," in script
        assert json.dumps(words) in script


# ---- item 3: the question is shown as sent and stored --------------------------------------


def test_the_question_is_shown_with_placeholders_and_the_removal_said_once(app_env: dict) -> None:
    at = _login("dr.wang", lang="zh")
    # dr.wang's latest conversation reopens at sign-in (issue 16 item 1): start a fresh one.
    at.button(key="gc_new_conversation").click().run()
    phone = "13912345678"
    at.chat_input(key="gc_question").set_value(f"患者电话{phone}，{QUESTION}").run()
    assert not at.exception, at.exception
    bubble = at.chat_message[0]
    shown = "\n".join(str(m.value) for m in bubble.markdown)
    assert phone not in shown and "流感" in shown
    notes = [str(c.value) for c in bubble.caption]
    assert any("占位符" in n for n in notes), notes
    # What the page shows is what the audit holds.
    stored = _events("ask")[-1].detail_json["question"]
    assert phone not in stored and stored.replace("\\", "") in shown.replace("\\", "")
    # Said once: the next question with an identifier is shown redacted, without the note.
    at.chat_input(key="gc_question").set_value(f"患者电话{phone}，儿童剂量呢？").run()
    assert not at.exception, at.exception
    texts = _texts(at)
    assert phone not in texts
    assert sum("占位符" in str(c.value) for c in at.caption) == 0
    assert all(phone not in q for q, _ in at.session_state["gc_history"])
