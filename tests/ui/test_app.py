"""The Streamlit app driven by AppTest over a small real index (issue 5).

One module-wide DATA_DIR holds the flu guideline and a few accounts; every test points
GUIDECITE_DATA_DIR there, so the app's one Context per process is shared by the tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from streamlit.testing.v1 import AppTest

from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.domain import AuditEvent, Role
from assistant.errors import AuthenticationError
from tests.factories import index_library, open_access, open_accounts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
PASSWORD = "correct horse battery staple"
TIMEOUT = 180

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict]:
    """Index the flu guideline in `hospital`; accounts: doctor, compliance (TOTP), a locked one."""
    data_dir = tmp_path_factory.mktemp("app") / "data"
    settings = Settings(data_dir=data_dir)
    index_library(settings, {"hospital": [corpus_dir / FLU]}).store.close()  # the app opens it
    # argon2-cffi's test profile: the hash carries its parameters, so the app verifies fast.
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.lock", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.new", role=Role.DOCTOR, department="cardiology", password=PASSWORD,
                      temporary=True)  # fmt: skip
    accounts.add_user(
        "cmp.li", role=Role.COMPLIANCE_OFFICER, department="cardiology", password=PASSWORD
    )
    uri = accounts.enrol_totp("cmp.li")
    # A compliance officer with a temporary password: the forced change in the middle of a
    # privileged sign-in (issue 16 item 10).
    accounts.add_user(
        "cmp.new", role=Role.COMPLIANCE_OFFICER, department="cardiology", password=PASSWORD,
        temporary=True,
    )  # fmt: skip
    new_officer_uri = accounts.enrol_totp("cmp.new")
    # A cardiology department administrator (TOTP) for the Access page's role names.
    accounts.add_user("adm.zhou", role=Role.DEPT_ADMIN, department="cardiology", password=PASSWORD)
    admin_uri = accounts.enrol_totp("adm.zhou")
    for _ in range(settings.accounts.lockout_threshold):
        with pytest.raises(AuthenticationError):
            accounts.login("dr.lock", "wrong password here")
    yield {
        "data_dir": data_dir,
        "totp": pyotp.parse_uri(uri),
        "new_officer_totp": pyotp.parse_uri(new_officer_uri),
        "admin_totp": pyotp.parse_uri(admin_uri),
    }


@pytest.fixture
def app_env(app_data: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data["data_dir"]))
    return app_data


def _events(action: str) -> list[AuditEvent]:
    from assistant.config import get_settings

    return list(open_audit_log(get_settings()).iter_events(actions=[action]))


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += (
        [e.value for e in at.error] + [e.value for e in at.info] + [e.value for e in at.warning]
    )
    parts += [e.value for e in at.success] + [e.value for e in at.title]
    return "\n".join(str(p) for p in parts)


def _login(name: str, password: str = PASSWORD, code: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(password)
    if code is not None:
        at.text_input(key="gc_totp").set_value(code)
    at = at.button[-1].click().run()
    # The latest conversation reopens at sign-in (issue 16 item 1): each test starts a new one.
    if any(b.key == "gc_new_conversation" for b in at.button):
        at.button(key="gc_new_conversation").click().run()
    return at


def test_login_page_has_labelled_fields_in_both_languages(app_env: dict) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    labels = ["User name", "Password", "Authenticator code (6 digits)"]
    assert [w.label for w in at.text_input] == labels
    # TextInput.Type.PASSWORD: the browser masks it and password managers recognise it.
    assert at.text_input(key="gc_password").proto.type == 1
    # The code field is in the one form from the start, and says who fills it in.
    assert "authenticator app" in at.text_input(key="gc_totp").placeholder
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert [w.label for w in at.text_input] == ["用户名", "密码", "动态验证码（6 位）"]
    assert "认证器" in at.text_input(key="gc_totp").placeholder


def test_bad_password_is_refused_and_audited_without_the_password(app_env: dict) -> None:
    at = _login("dr.wang", password="not the password")
    assert "Wrong user name or password." in [e.value for e in at.error]
    assert "gc_token" not in at.session_state
    failed = [e for e in _events("login") if e.outcome == "failed" and e.actor == "dr.wang"]
    assert failed and failed[-1].detail_json == {
        "reason": "bad_credentials",
        "channel": "web",
        "via": None,
    }
    assert "not the password" not in str(failed[-1].model_dump())


def test_locked_account_shows_the_lockout_message(app_env: dict) -> None:
    at = _login("dr.lock")  # the right password, but locked by five failures
    assert any("locked" in e.value for e in at.error)
    assert "gc_token" not in at.session_state
    locked = _events("login")[-1]
    assert locked.outcome == "locked"
    assert locked.detail_json == {"reason": "locked", "channel": "web", "via": None}


def test_temporary_password_must_be_changed_first(app_env: dict) -> None:
    at = _login("dr.new")
    assert any("temporary password" in e.value for e in at.warning)
    assert "gc_token" not in at.session_state
    at.text_input(key="gc_old_password").set_value(PASSWORD)
    at.text_input(key="gc_new_password").set_value("a brand new passphrase")
    at.text_input(key="gc_new_password2").set_value("a brand new passphrase")
    at.button[-1].click().run()
    assert not at.exception, at.exception
    # The sign-in continues: no second sign-in with the new password.
    assert "gc_token" in at.session_state
    assert _events("password_change")[-1].outcome == "ok"
    assert "Signed in: dr.new (Doctor, cardiology)" in [c.value for c in at.sidebar.caption]


def _logins_of(name: str) -> list[tuple[str, object]]:
    return [(e.outcome, e.detail_json.get("reason")) for e in _events("login") if e.actor == name]


def test_privileged_role_signs_in_with_the_code_in_the_same_form(app_env: dict) -> None:
    before = len(_logins_of("cmp.li"))
    at = _login("cmp.li", code=app_env["totp"].now())
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    # A compliance officer's menu is the audit page; there is no chat for this role.
    assert "Audit" in [e.value for e in at.title]
    # One attempt, one row: no `login failed` before the successful sign-in (issue 16 item 10).
    rows = _logins_of("cmp.li")[before:]
    assert rows == [("ok", None)]
    assert [e.role for e in _events("login") if e.actor == "cmp.li"][-1] == "compliance_officer"


def test_privileged_role_without_the_code_is_told_to_enter_it(app_env: dict) -> None:
    at = _login("cmp.li")
    assert any("6-digit code" in e.value for e in at.error)
    assert "gc_token" not in at.session_state
    assert _logins_of("cmp.li")[-1] == ("failed", "totp_required")
    # The same form, the code added: signed in. (The next step's code, which the server also
    # accepts: the test before used this step's, and a used code is refused as a replay.)
    at.text_input(key="gc_totp").set_value(app_env["totp"].at(time.time() + 30))
    at.button[-1].click().run()
    assert "gc_token" in at.session_state


def test_forced_password_change_of_a_privileged_account_signs_in(app_env: dict) -> None:
    """Password + code, then the forced change: signed in without entering the code again
    (it would be refused as a replay), through the server's one-time ticket."""
    at = _login("cmp.new", code=app_env["new_officer_totp"].now())
    assert any("temporary password" in e.value for e in at.warning)
    assert "gc_token" not in at.session_state
    # The ticket stays in the server-side session state: no widget, no URL carries it.
    assert all(w.value != at.session_state["gc_change_ticket"] for w in at.text_input)
    at.text_input(key="gc_old_password").set_value(PASSWORD)
    at.text_input(key="gc_new_password").set_value("the officer's new passphrase")
    at.text_input(key="gc_new_password2").set_value("the officer's new passphrase")
    at.button[-1].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    assert "Audit" in [e.value for e in at.title]
    assert not at.error
    assert _logins_of("cmp.new") == [("password_change_required", "must_change_password"),
                                     ("ok", None)]  # fmt: skip
    assert _events("login")[-1].detail_json.get("after") == "password_change"


def _cookie_frames(at: AppTest) -> list[str]:
    return [f.proto.srcdoc for f in at.get("iframe") if "/_guidecite/session" in f.proto.srcdoc]


def test_sign_in_hands_the_page_a_ticket_and_sign_out_clears_the_cookie(app_env: dict) -> None:
    """The page's part in staying signed in (issue 16): after signing in it posts a one-time
    ticket (never the session token) to the cookie route; after signing out it clears it."""
    at = _login("dr.wang")
    [frame] = _cookie_frames(at)
    ticket = at.session_state["gc_cookie_ticket"]
    assert '"method": "POST"' in frame and ticket in frame
    assert at.session_state["gc_token"] not in frame
    at.button(key="gc_logout").click().run()
    assert not at.exception, at.exception
    [frame] = _cookie_frames(at)
    assert '"method": "DELETE"' in frame and ticket not in frame
    assert "gc_cookie_ticket" not in at.session_state


def test_ask_shows_verified_sentences_sources_and_stores_feedback(app_env: dict) -> None:
    at = _login("dr.wang")
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    at.chat_input(key="gc_question").set_value("流感患者奥司他韦的成人剂量是多少？").run()
    assert not at.exception, at.exception
    text = _texts(at)
    # Extractive mode (no model configured), said in plain words.
    assert "Guideline passages only" in text
    # The answer's own message (the status above it lists the sources, not sentences).
    reply = at.chat_message[-1].markdown
    sentences = [m.value for m in reply if "\\[1\\]" in m.value or "\\[2\\]" in m.value]
    assert sentences and all(("✓" in s) or ("⚠" in s) for s in sentences)
    assert "75" in "".join(sentences)
    labels = [e.label for e in at.main.expander]  # the sidebar's are the conversation's
    assert labels and all("流行性感冒诊疗方案" in label for label in labels)
    assert "hospital" in labels[0] and labels[0].startswith("\\[1\\]")
    # The passage highlights the words the citing sentence shares with it.
    assert any(":orange-background[" in m.value for m in at.markdown)
    downloads = at.get("download_button")
    originals = [b for b in downloads if getattr(b, "label", None) == "Download the original"]
    assert originals, "a way to open the stored original"
    # 👎 with a comment carrying an identifier: stored, redacted, linked to the answer.
    answer = at.session_state["gc_history"][-1][1]
    comment = at.text_input(key=f"fbc-{answer.answer_id}")
    comment.set_value("剂量写得不清楚，患者电话13812345678")
    [down] = [b for b in at.button if "Not helpful" in b.label]
    down.click().run()
    assert not at.exception, at.exception
    assert "your feedback was recorded" in _texts(at)
    feedback = [e for e in _events("feedback") if answer.answer_id in e.object + str(e.detail_json)]
    assert len(feedback) == 1 and feedback[0].actor == "dr.wang"
    stored = str(feedback[0].detail_json)
    assert "剂量写得不清楚" in stored and "13812345678" not in stored
    asks = [e for e in _events("ask") if e.detail_json.get("answer_id") == answer.answer_id]
    assert len(asks) == 1 and asks[0].id == answer.audit_event_id


def test_refusal_names_what_is_missing_and_offers_related_reading_collapsed(
    app_env: dict,
) -> None:
    at = _login("dr.wang")
    # A drug the flu guideline never mentions (issue #10 items 2 and 5).
    at.chat_input(key="gc_question").set_value("What is the adult dose of hydrocodone?").run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    assert answer.mode == "refused" and answer.related and not answer.sources
    reply = at.chat_message[-1]
    # The service's message, which names what the library lacks, is the banner itself.
    assert [w.value.replace("\\", "") for w in reply.warning] == [answer.message]
    assert "no passage about hydrocodone" in answer.message
    markdown = [m.value for m in reply.markdown]
    assert "**Sources**" not in markdown and not any("✓" in m for m in markdown)
    [related] = reply.expander
    assert related.label == "Related reading (not an answer)" and related.proto.expanded is False
    assert any("流行性感冒诊疗方案" in m.value for m in related.markdown)
    # The status ends by saying nothing answered; redrawn later, it lists no "sources".
    done = "The passages found do not answer the question: they are listed as related reading only."
    assert _status_lines(at)[-1] == done
    at.run()
    assert _status_lines(at) == [done]
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    reply = at.chat_message[-1]
    assert "**来源**" not in [m.value for m in reply.markdown]
    [related] = reply.expander
    assert related.label == "相关阅读（并非答案）" and related.proto.expanded is False


def test_cross_lingual_sentence_is_quoted_in_its_own_language_and_labelled(
    app_env: dict,
) -> None:
    at = _login("dr.wang")
    # English question, Chinese guideline: the term table finds the passage (issue #10 item 4).
    question = "What is the oseltamivir dose for influenza in adults?"
    at.chat_input(key="gc_question").set_value(question).run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    assert answer.sentences and {s.language for s in answer.sentences} == {"zh"}
    shown = [m.value for m in at.chat_message[-1].markdown if "\\[1\\]" in m.value]
    assert shown and all("Quoted from a guideline in Chinese" in m for m in shown)
    # The quote is the evidence: shown in Chinese, verified, never translated.
    assert "75mg" in "".join(shown) and all("✓" in m for m in shown)
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert any("引自中文指南" in m.value for m in at.chat_message[-1].markdown)


def test_forbidden_page_is_hidden_and_refused_when_reached_directly(app_env: dict) -> None:
    at = _login("dr.wang")
    assert "gc_token" in at.session_state
    before = len(_events("page_open"))
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    assert "You may not open this page. The attempt has been recorded." in [
        e.value for e in at.error
    ]
    assert all(b.key != "gc_verify" for b in at.button)
    denied = _events("page_open")[before:]
    assert [(e.actor, e.object, e.outcome) for e in denied] == [("dr.wang", "page:audit", "denied")]


def test_logout_ends_the_session(app_env: dict) -> None:
    at = _login("dr.wang")
    at.button(key="gc_logout").click().run()
    assert "gc_token" not in at.session_state
    assert any("signed out" in e.value for e in at.info)
    assert _events("logout")[-1].actor == "dr.wang"


# ---- streaming with progress, role names (issue 5 items 1 and 3) ------------------------------


def _status_lines(at: AppTest) -> list[str]:
    [status] = at.status
    return [str(m.value) for m in status.markdown]


def test_progress_narrates_the_stages_then_the_verified_answer_streams(app_env: dict) -> None:
    at = _login("dr.wang")
    at.chat_input(key="gc_question").set_value("流感患者奥司他韦的成人剂量是多少？").run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    [status] = at.status
    assert status.state == "complete" and status.label.startswith("Done (")
    lines = _status_lines(at)
    # The stages in order; no model is configured, so the model is never said to think.
    assert lines[0] == "Searching the guidelines…"
    assert lines[1] == f"{len(answer.sources)} sources found"
    assert "流行性感冒诊疗方案" in lines[2] and lines[2].startswith("- \\[1\\]")
    assert lines[3] == "Picking the guideline passages…"
    assert lines[4] == f"Verifying citations ({len(answer.sentences)} sentences)…"
    assert "The model is thinking…" not in lines
    # Progress only: no sentence of the answer is in the status container.
    assert answer.sentences and not any(s.text[:12] in "\n".join(lines) for s in answer.sentences)
    [streamed] = [m.value for m in at.chat_message[-1].markdown if "\\[1\\]" in m.value]
    assert streamed.count("✓") == sum(s.supported for s in answer.sentences)
    assert streamed.count("\n\n") == len(answer.sentences) - 1  # one paragraph per sentence
    # A rerun draws the stored answer as it was, with no progress and no new question asked.
    asks = len(_events("ask"))
    at.run()
    assert not at.exception, at.exception
    assert len(_events("ask")) == asks
    [done] = at.status  # the finished status only: sources and verification, no live steps
    assert done.label == status.label and done.state == "complete"
    assert "Searching the guidelines…" not in _status_lines(at)
    assert any("流行性感冒诊疗方案" in line for line in _status_lines(at))
    assert [m.value for m in at.chat_message[-1].markdown if "\\[1\\]" in m.value] == [streamed]


def _changed_dose(request: dict) -> object:
    """The model copies a source sentence stating a dose, with the dose multiplied by 8."""
    import re

    from tests.fakes.sglang import json_completion, read_sources

    # A dose of the drug asked about, naming it (another drug's dose would be dropped as
    # non-responsive before its faithfulness mattered).
    for n, body in read_sources(request).items():
        match = re.search(r"[^。]*?(\d+)mg[^。]*。", body)
        if match and "奥司他韦" in body:
            wrong = match.group(0).replace(f"{match.group(1)}mg", f"{int(match.group(1)) * 8}mg")
            wrong = wrong if "奥司他韦" in wrong else f"奥司他韦{wrong}"
            return json_completion(
                {"sentences": [{"text": wrong, "citations": [n]}], "insufficient_evidence": False}
            )
    raise AssertionError("no dose in the sources")


@pytest.fixture(scope="module")
def annotate_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A data dir of its own (the app holds one embedded shard per directory and process):
    the flu guideline, a doctor, and the department's ethics approval so answers generate."""
    from datetime import date, timedelta

    from assistant.gates import GateRegistry

    data_dir = tmp_path_factory.mktemp("annotate") / "data"
    settings = Settings(data_dir=data_dir)
    index_library(settings, {"hospital": [corpus_dir / FLU]}).store.close()
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.anno", role=Role.DOCTOR, department="respiratory", password=PASSWORD)
    GateRegistry.open(settings).record(
        department="respiratory",
        reference="EC-RESP-1",
        approved_by="ethics",
        expires_on=date.today() + timedelta(days=100),
    )
    return data_dir


def test_annotate_policy_shows_unsupported_sentences_marked(
    annotate_dir: Path, sglang_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(annotate_dir))
    monkeypatch.setenv("GUIDECITE_CITATION_POLICY", "annotate")
    sglang_env.responder = _changed_dose
    at = _login("dr.anno")
    at.chat_input(key="gc_question").set_value("流感患者奥司他韦的成人剂量是多少？").run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    assert [s.supported for s in answer.sentences] == [False]
    assert "The model is thinking…" in _status_lines(at)
    assert any("contains unverified sentences" in w.value for w in at.warning)
    [sentence] = [m.value for m in at.chat_message[-1].markdown if "\\[1\\]" in m.value]
    assert "⚠" in sentence and "✓" not in sentence
    assert "not supported by the cited source" in sentence and "600mg" in sentence
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert any("含有未经核实的句子" in w.value for w in at.warning)
    assert any("引用来源不支持此句" in m.value for m in at.chat_message[-1].markdown)


def test_roles_are_named_in_words_in_the_sidebar_and_access_page(app_env: dict) -> None:
    at = _login("dr.wang")
    assert "Signed in: dr.wang (Doctor, cardiology)" in [c.value for c in at.sidebar.caption]
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert "已登录：dr.wang（医生，cardiology）" in [c.value for c in at.sidebar.caption]

    at = _login("adm.zhou", code=app_env["admin_totp"].now())
    assert "gc_token" in at.session_state
    at.switch_page("views/access.py").run()
    assert not at.exception, at.exception
    roles = at.dataframe[0].value.to_csv()
    assert "Department administrator@cardiology" in roles and "Doctor@cardiology" in roles
    assert "dept_admin@" not in roles
    # Only the roles a department administrator may grant (issue 16 item 7).
    assert at.selectbox(key="gc_role_en").options == ["Doctor", "Department administrator"]
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert "科室管理员@cardiology" in at.dataframe[0].value.to_csv()
    assert at.selectbox(key="gc_role_zh").options == ["医生", "科室管理员"]
    assert any("（科室管理员，cardiology）" in c.value for c in at.sidebar.caption)


# ---- hospital SSO (issue #5 item 1) ---------------
# Streamlit's OIDC round trip (st.login → provider → /oauth2callback) needs a live identity
# provider and cannot run offline; AppTest seeds `st.user` as the callback would leave it.

AUTH_SECRETS = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-not-real",
    "client_id": "guidecite",
    "client_secret": "test-client-secret-not-real",
    "server_metadata_url": "https://sso.hospital.example/.well-known/openid-configuration",
}


def _labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_sso_button_only_with_an_auth_section(app_env: dict) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert not any("SSO" in label or "统一认证" in label for label in _labels(at))
    assert [w.label for w in at.text_input][:2] == ["User name", "Password"]  # local accounts

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECRETS
    at.run()
    assert not at.exception, at.exception
    assert "Sign in with hospital SSO" in _labels(at)
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert "医院统一认证登录" in _labels(at)


def test_sso_identity_maps_to_an_account_and_unknown_is_refused(app_env: dict) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = {"is_logged_in": True, "email": "stranger@hospital.example", "iss": "test"}
    at.run()
    assert "Continue as stranger@hospital.example" in _labels(at)
    at.button[0].click().run()
    assert "gc_token" not in at.session_state
    assert any("no GuideCite account" in e.value for e in at.error)
    refused = _events("login")[-1]
    assert (refused.actor, refused.object, refused.outcome) == (
        "stranger",
        "app:web-sso",
        "failed",
    )
    assert refused.detail_json["reason"] == "unknown_user"

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH_SECRETS
    at.user = {"is_logged_in": True, "email": "dr.wang@hospital.example", "iss": "test"}
    at.run()
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    ok = _events("login")[-1]
    assert (ok.actor, ok.role, ok.object, ok.outcome) == ("dr.wang", "doctor", "app:web-sso", "ok")
