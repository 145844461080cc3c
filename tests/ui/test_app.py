"""The Streamlit app driven by AppTest over a small real index (issue 5).

One module-wide DATA_DIR holds the flu guideline and a few accounts; every test points
GUIDECITE_DATA_DIR there, so the app's one ServiceContext per process is shared by the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher, profiles
from streamlit.testing.v1 import AppTest

from assistant.access import AccessControl
from assistant.accounts import Accounts, LocalAuthenticator
from assistant.audit import open_audit_log
from assistant.config import Settings
from assistant.domain import AuditEvent, Role
from assistant.errors import AuthenticationError
from assistant.store import open_store
from ingestion.service import Ingestor

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
    store = open_store(settings)
    try:
        report = Ingestor(settings, store=store).ingest([corpus_dir / FLU], library="hospital")
        assert report.documents and not report.failed
    finally:
        store.close()  # the app opens the embedded shard itself
    access = AccessControl.open(settings)
    access.seed_defaults()
    # argon2-cffi's test profile: the hash carries its parameters, so the app verifies fast.
    fast = LocalAuthenticator(PasswordHasher.from_parameters(profiles.CHEAPEST))
    accounts = Accounts.open(settings, access=access, authenticator=fast)
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.lock", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.new", role=Role.DOCTOR, department="cardiology", password=PASSWORD,
                      temporary=True)  # fmt: skip
    accounts.add_user(
        "cmp.li", role=Role.COMPLIANCE_OFFICER, department="cardiology", password=PASSWORD
    )
    uri = accounts.enrol_totp("cmp.li")
    for _ in range(settings.accounts.lockout_threshold):
        with pytest.raises(AuthenticationError):
            accounts.login("dr.lock", "wrong password here")
    yield {"data_dir": data_dir, "totp": pyotp.parse_uri(uri)}


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
    return at.button[-1].click().run()


def test_login_page_has_labelled_fields_in_both_languages(app_env: dict) -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    # TextInput.Type.PASSWORD: the browser masks it and password managers recognise it.
    assert at.text_input(key="gc_password").proto.type == 1
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert [w.label for w in at.text_input] == ["用户名", "密码"]


def test_bad_password_is_refused_and_audited_without_the_password(app_env: dict) -> None:
    at = _login("dr.wang", password="not the password")
    assert "Wrong user name or password." in [e.value for e in at.error]
    assert "gc_token" not in at.session_state
    failed = [e for e in _events("login") if e.outcome == "failed" and e.actor == "dr.wang"]
    assert failed and failed[-1].detail_json == {"reason": "bad_credentials"}
    assert "not the password" not in str(failed[-1].model_dump())


def test_locked_account_shows_the_lockout_message(app_env: dict) -> None:
    at = _login("dr.lock")  # the right password, but locked by five failures
    assert any("locked" in e.value for e in at.error)
    assert "gc_token" not in at.session_state
    assert _events("login")[-1].detail_json == {"reason": "locked"}


def test_temporary_password_must_be_changed_first(app_env: dict) -> None:
    at = _login("dr.new")
    assert any("temporary password" in e.value for e in at.warning)
    assert "gc_token" not in at.session_state
    at.text_input(key="gc_old_password").set_value(PASSWORD)
    at.text_input(key="gc_new_password").set_value("a brand new passphrase")
    at.text_input(key="gc_new_password2").set_value("a brand new passphrase")
    at.button[-1].click().run()
    assert any("Password changed" in e.value for e in at.info)
    assert _events("password_change")[-1].outcome == "ok"


def test_privileged_role_needs_the_second_factor(app_env: dict) -> None:
    at = _login("cmp.li")
    assert any("6-digit code" in e.value for e in at.error)
    assert [w.label for w in at.text_input][-1] == "Authenticator code (6 digits)"
    at.text_input(key="gc_totp").set_value(app_env["totp"].now())
    at.button[-1].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    # A compliance officer's menu is the audit page; there is no chat for this role.
    assert "Audit" in [e.value for e in at.title]
    ok = [e for e in _events("login") if e.actor == "cmp.li" and e.outcome == "ok"]
    assert ok and ok[-1].role == "compliance_officer"


def test_ask_shows_verified_sentences_sources_and_stores_feedback(app_env: dict) -> None:
    at = _login("dr.wang")
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    at.chat_input(key="gc_question").set_value("流感患者奥司他韦的成人剂量是多少？").run()
    assert not at.exception, at.exception
    text = _texts(at)
    # Extractive mode (no model configured), said in plain words.
    assert "Guideline passages only" in text
    sentences = [m.value for m in at.markdown if "\\[1\\]" in m.value or "\\[2\\]" in m.value]
    assert sentences and all(("✓" in s) or ("⚠" in s) for s in sentences)
    assert "75" in "".join(sentences)
    labels = [e.label for e in at.expander]
    assert labels and all("流行性感冒诊疗方案" in label for label in labels)
    assert "hospital" in labels[0] and labels[0].startswith("\\[1\\]")
    # The passage highlights the words the citing sentence shares with it.
    assert any(":orange-background[" in m.value for m in at.markdown)
    assert at.download_button, "a way to open the stored original"
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
