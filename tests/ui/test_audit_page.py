"""The Audit page's event table (issue 16 item 9): filters narrow the rows, paging moves, a
department's officer sees only their department, a doctor cannot open it; zh and en labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyotp
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Button

from assistant.audit.checkpoints import deployment_key
from assistant.audit.log import AuditLog, open_audit_log
from assistant.config import Settings, get_settings
from assistant.db import shared_engine
from assistant.domain import Role
from tests.factories import open_access, open_accounts

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
JAN = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 10, 9, 0, tzinfo=UTC)

pytestmark = pytest.mark.slow


def _seed_trail(settings: Settings) -> None:
    """60 cardiology asks by dr.card (January), 30 oncology asks by dr.onc (February, every
    third denied)."""
    clock = [JAN]
    log = AuditLog(
        shared_engine(settings.sqlalchemy_url),
        checkpoint_path=settings.data_dir / "audit-checkpoints.jsonl",
        checkpoint_key=deployment_key(settings),
        now=lambda: clock[0],
    )
    for i in range(90):
        cardiology = i < 60
        clock[0] = (JAN if cardiology else FEB) + timedelta(minutes=i)
        log.append_event(
            actor="dr.card" if cardiology else "dr.onc",
            role="doctor",
            department="cardiology" if cardiology else "oncology",
            session_id="s",
            action="ask",
            object="library:hospital",
            outcome="denied" if not cardiology and i % 3 == 0 else "extractive",
            detail={"n": i, "question": "阿司匹林剂量 [姓名1]"},
        )


@pytest.fixture(scope="module")
def app_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    data_dir = tmp_path_factory.mktemp("audit-page") / "data"
    settings = Settings(data_dir=data_dir)
    _seed_trail(settings)
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    codes = {}
    for name, department in (("cmp.all", "*"), ("cmp.onc", "oncology")):
        accounts.add_user(
            name, role=Role.COMPLIANCE_OFFICER, department=department, password=PASSWORD
        )
        codes[name] = pyotp.parse_uri(accounts.enrol_totp(name))
    yield {"data_dir": data_dir, "totp": codes}


@pytest.fixture
def app_env(app_data: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(app_data["data_dir"]))
    return app_data


def _audit_page(name: str, totp: pyotp.TOTP | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(PASSWORD)
    if totp is not None and any(w.key == "gc_totp" for w in at.text_input):
        at.text_input(key="gc_totp").set_value(totp.now())
    at.button[-1].click().run()
    if "gc_token" not in at.session_state and totp is not None:
        at.text_input(key="gc_totp").set_value(totp.now())
        at.button[-1].click().run()
    assert "gc_token" in at.session_state
    at.switch_page("views/audit.py").run()
    assert not at.exception, at.exception
    return at


def _table(at: AppTest) -> pd.DataFrame:
    if not at.dataframe:
        return pd.DataFrame(columns=["ID", "Actor", "Department", "Outcome", "Detail"])
    return at.dataframe[0].value


def _button(at: AppTest, key: str) -> Button:
    [button] = [b for b in at.button if b.key == key]
    return button


def test_hospital_officer_filters_and_pages(app_env: dict) -> None:
    at = _audit_page("cmp.all", app_env["totp"]["cmp.all"])
    assert "Audit chain status" in [e.value for e in at.subheader]
    assert "The audit chain has not been verified yet." in [e.value for e in at.info]

    # Newest first, 50 a page; older/newer move by a page and back.
    first = _table(at)
    assert len(first) == 50
    assert list(first.columns) == [
        "ID", "Time (UTC)", "Actor", "Role", "Department", "Action", "Outcome", "Object", "Detail",
    ]  # fmt: skip
    assert list(first["ID"]) == sorted(first["ID"], reverse=True)
    assert _button(at, "gc_audit_prev").disabled
    _button(at, "gc_audit_next").click().run()
    second = _table(at)
    assert len(second) >= 40 and second["ID"].max() < first["ID"].min()
    assert any("Page 2" in c.value for c in at.caption)
    _button(at, "gc_audit_prev").click().run()
    assert list(_table(at)["ID"]) == list(first["ID"])

    # Actor: exactly dr.onc's 30 events, one page, nothing older.
    at.text_input(key="gc_audit_actor").set_value("dr.onc").run()
    rows = _table(at)
    assert len(rows) == 30 and set(rows["Actor"]) == {"dr.onc"}
    assert _button(at, "gc_audit_next").disabled
    # Outcome narrows further: every third of them was denied.
    at.selectbox(key="gc_audit_outcome_en").set_value("denied").run()
    rows = _table(at)
    assert len(rows) == 10 and set(rows["Outcome"]) == {"denied"}
    assert all('"n": ' in d for d in rows["Detail"])

    # Department and dates: cardiology in January, then a February window holds none of it.
    at.text_input(key="gc_audit_actor").set_value("").run()
    at.selectbox(key="gc_audit_outcome_en").set_value("").run()
    at.selectbox(key="gc_audit_department_en").set_value("cardiology").run()
    at.selectbox(key="gc_audit_action_en").set_value("ask").run()
    rows = _table(at)
    assert len(rows) == 50 and set(rows["Department"]) == {"cardiology"}
    at.date_input(key="gc_audit_from").set_value(date(2026, 1, 10)).run()
    at.date_input(key="gc_audit_to").set_value(date(2026, 1, 10)).run()
    assert set(_table(at)["Actor"]) == {"dr.card"}
    at.date_input(key="gc_audit_from").set_value(date(2026, 2, 1)).run()
    at.date_input(key="gc_audit_to").set_value(date(2026, 2, 28)).run()
    assert _table(at).empty
    assert "No events match these filters." in [e.value for e in at.info]

    # The chain status after a check, and the labels in Chinese.
    _button(at, "gc_verify").click().run()
    assert any(e.value.startswith("Last verified") for e in at.success)
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert "审计事件" in [e.value for e in at.subheader]
    assert any(e.value.startswith("上次核验") for e in at.success)
    assert "操作人" in [w.label for w in at.text_input]


def test_department_officer_sees_only_their_department(app_env: dict) -> None:
    at = _audit_page("cmp.onc", app_env["totp"]["cmp.onc"])
    rows = _table(at)
    assert len(rows) >= 30 and set(rows["Department"]) == {"oncology"}
    assert "dr.card" not in set(rows["Actor"])
    # No department choice: their own is shown, fixed.
    assert all(s.key != "gc_audit_department_en" for s in at.selectbox)
    at.text_input(key="gc_audit_actor").set_value("dr.card").run()
    assert _table(at).empty


def test_a_doctor_cannot_open_the_audit_page(app_env: dict) -> None:
    at = _audit_page("dr.wang", None)
    assert "You may not open this page. The attempt has been recorded." in [
        e.value for e in at.error
    ]
    assert not at.dataframe
    assert all(b.key != "gc_audit_next" for b in at.button)
    denied = [
        e
        for e in open_audit_log(get_settings()).iter_events(actions=["page_open"])
        if e.actor == "dr.wang"
    ]
    assert [(e.object, e.outcome) for e in denied] == [("page:audit", "denied")]
