"""The Review and Monitoring pages driven by AppTest over a small real index (issues 5 and 6).

One module-wide DATA_DIR: the flu guideline in `hospital`; a cardiology and an oncology doctor
whose answers (through `answer_question`) got 👎 (through `record_feedback`), so each department
has a review item; a cardiology quality reviewer and a hospital-wide compliance officer (both
with TOTP); a cardiology approval that expires in 10 days and an oncology one that has expired.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import Settings, get_settings
from assistant.domain import AnswerMode, Principal, ReviewItem, Role
from assistant.gates import GateRegistry
from assistant.review import ReviewQueue
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
PHONE = "13812345678"
CARDIO_Q = f"流感患者奥司他韦的成人剂量是多少？患者电话{PHONE}"
# A drug the flu guideline never mentions: refused in any language (issue #10 item 2).
ONCO_Q = "What is the adult dose of hydrocodone?"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def review_data(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict]:
    """The index, accounts, approvals and two 👎 answers (one per department)."""
    data_dir = tmp_path_factory.mktemp("review") / "data"
    settings = Settings(data_dir=data_dir)
    access = open_access(settings)
    accounts = open_accounts(settings, access=access)
    accounts.add_user("dr.wang", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    accounts.add_user("dr.zhao", role=Role.DOCTOR, department="oncology", password=PASSWORD)
    for reviewer in ("rev.chen", "rev.sun"):  # two: a TOTP code cannot be replayed
        accounts.add_user(
            reviewer, role=Role.QUALITY_REVIEWER, department="cardiology", password=PASSWORD
        )
    accounts.add_user("cmp.li", role=Role.COMPLIANCE_OFFICER, department="*", password=PASSWORD)
    totp = {
        name: pyotp.TOTP(pyotp.parse_uri(accounts.enrol_totp(name)).secret)
        for name in ("rev.chen", "rev.sun", "cmp.li")
    }
    gates = GateRegistry.open(settings)
    today = date.today()
    for dept, ref, approved, expires in (
        ("cardiology", "EC-CARD-7", -300, 10),
        ("oncology", "EC-ONC-1", -400, -5),
    ):
        gates.record(
            department=dept,
            reference=ref,
            approved_by="ethics",
            approved_on=today + timedelta(days=approved),
            expires_on=today + timedelta(days=expires),
        )
    store = index_library(settings, {"hospital": [corpus_dir / FLU]}).store
    try:
        ctx = open_context(settings, store=store, access=access)
        answers = {}
        for user, dept, question, comment in (
            ("dr.wang", "cardiology", CARDIO_Q, "剂量写得不清楚"),
            ("dr.zhao", "oncology", ONCO_Q, "Missing renal adjustment"),
        ):
            doctor = Principal(user=user, role=Role.DOCTOR, department=dept)
            answer = answer_question(doctor, question, ctx=ctx)
            answers[dept] = answer
            record_feedback(doctor, answer_id=answer.answer_id, helpful=False, comment=comment,
                            ctx=ctx)  # fmt: skip
    finally:
        store.close()  # the app opens the embedded shard itself
    # No model: the Chinese question gets quoted passages (other antivirals' doses dropped);
    # the English one names a drug the library lacks and is refused, a guideline gap for
    # oncology's needs report.
    assert answers["cardiology"].mode == AnswerMode.EXTRACTIVE and answers["cardiology"].sentences
    assert answers["cardiology"].dropped
    assert answers["oncology"].mode == AnswerMode.REFUSED
    yield {"data_dir": data_dir, "totp": totp, "answers": answers}


@pytest.fixture
def app_env(review_data: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(review_data["data_dir"]))
    return review_data


def _item(item_id: int) -> ReviewItem:
    item = ReviewQueue.open(get_settings()).get(item_id)
    assert item is not None
    return item


def _plain(markdown: str) -> str:
    """Escaped Markdown back to its text (the page escapes everything it did not write)."""
    return markdown.replace("\\", "")


def _table(at: AppTest, index: int = 0) -> str:
    return at.dataframe[index].value.to_csv()


def _login(name: str, code: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    at.text_input(key="gc_username").set_value(name)
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    if code is not None:  # the second factor's field appears after the first attempt
        at.text_input(key="gc_totp").set_value(code)
        at.button[-1].click().run()
    assert not at.exception, at.exception
    assert "gc_token" in at.session_state
    return at


def test_reviewer_sees_own_department_and_resolves_an_item(app_env: dict) -> None:
    answer = app_env["answers"]["cardiology"]
    at = _login("rev.chen", app_env["totp"]["rev.chen"].now())
    # The reviewer's only page is the review queue.
    assert [e.value for e in at.title] == ["Review"]
    # The queue is a static table (its text is in the page, not painted on a canvas).
    # The table renders Markdown: stored text reaches it escaped.
    assert "negative\\_feedback" in at.table[0].value.to_csv()
    queue = _plain(at.table[0].value.to_csv())
    assert "cardiology" in queue and "negative_feedback" in queue
    assert "oncology" not in queue and "renal" not in _texts(at)
    # The redacted question: the phone number never reaches the reviewer.
    text = _texts(at)
    assert "奥司他韦" in text and PHONE not in text and PHONE not in queue
    sentences = [m.value for m in at.markdown if "\\[1\\]" in m.value]
    assert sentences and all(("✓" in s) or ("⚠" in s) for s in sentences)
    assert "75" in "".join(sentences)
    verification = at.table[1].value
    assert "[1]" in [_plain(c) for c in verification["Citations"]]
    assert set(verification["Verified"]) <= {"✓", "⚠"} and len(verification) >= len(sentences)
    assert at.expander and "流行性感冒诊疗方案" in at.expander[0].label
    assert "剂量写得不清楚" in text  # the doctor's comment
    # A high flag, with the (redacted) comment as its detail.
    assert "negative_feedback (high): 剂量写得不清楚" in [_plain(e.value) for e in at.error]
    [item_id] = [
        int(i.id or 0) for i in ReviewQueue.open(get_settings()).query(departments=["cardiology"])
    ]
    views = [e for e in _events("review_view") if e.actor == "rev.chen"]
    assert [(e.outcome, e.detail_json["item_id"]) for e in views] == [("ok", item_id)]

    # A flag filter with no match empties the queue; clearing it brings the item back.
    at.selectbox(key="gc_review_flag_en").set_value("injection_suspected").run()
    assert "No flagged answers match these filters." in [e.value for e in at.info]
    at.selectbox(key="gc_review_flag_en").set_value("negative_feedback").run()
    assert not at.exception, at.exception

    at.button(key=f"gc_take_{item_id}").click().run()
    assert not at.exception, at.exception
    assert "Taken: the item is now in review." in [e.value for e in at.success]
    assert _item(item_id).status == "in_review"

    at.radio(key=f"gc_disposition_{item_id}").set_value("guideline_gap")
    at.text_area(key=f"gc_review_comment_{item_id}").set_value("需要补充肾功能调整")
    [submit] = [b for b in at.button if b.label == "Resolve"]
    submit.click().run()
    assert not at.exception, at.exception
    stored = _item(item_id)
    assert (stored.status, stored.disposition, stored.resolved_by) == (
        "resolved", "guideline_gap", "rev.chen"
    )  # fmt: skip
    resolved = [e for e in _events("review_resolve") if e.actor == "rev.chen"]
    assert len(resolved) == 1 and resolved[0].outcome == "ok"
    assert resolved[0].detail_json["disposition"] == "guideline_gap"
    assert resolved[0].detail_json["to"] == "resolved"
    assert [e.outcome for e in _events("review_take")] == ["ok"]
    # The default filter shows unresolved items only: the resolved one has left the queue.
    assert "No flagged answers match these filters." in [e.value for e in at.info]
    at.selectbox(key="gc_review_status_en").set_value("resolved").run()
    assert "Resolved as Guideline gap by rev.chen." in [e.value for e in at.success]
    assert answer.answer_id == stored.answer_id


def test_reviewer_sees_the_dropped_sentences_and_why(app_env: dict) -> None:
    dropped = app_env["answers"]["cardiology"].dropped
    at = _login("rev.sun", app_env["totp"]["rev.sun"].now())
    at.selectbox(key="gc_review_status_en").set_value("__any__").run()
    assert not at.exception, at.exception
    # Reviewers see what the doctor was not shown, and why (issue #10 item 1).
    assert "**Dropped sentences (not shown to the doctor)**" in [m.value for m in at.markdown]
    table = at.table[-1].value
    assert len(table) == len(dropped)
    assert [_plain(text) for text in table["Sentence"]] == [d.text for d in dropped]
    assert "About another subject (other_subject)" in [_plain(r) for r in table["Reason"]]


def test_doctor_reaching_the_review_page_is_refused_and_audited(app_env: dict) -> None:
    at = _login("dr.wang")
    before = len(_events("page_open"))
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    assert "You may not open this page. The attempt has been recorded." in [
        e.value for e in at.error
    ]
    assert not at.dataframe and not at.table and "奥司他韦" not in _texts(at)
    denied = _events("page_open")[before:]
    assert [(e.actor, e.object, e.outcome) for e in denied] == [
        ("dr.wang", "page:review", "denied")
    ]


def test_monitoring_shows_alerts_metrics_approvals_and_needs_report(app_env: dict) -> None:
    at = _login("cmp.li", app_env["totp"]["cmp.li"].now())
    at.switch_page("views/monitoring.py").run()
    assert not at.exception, at.exception
    assert "Monitoring" in [e.value for e in at.title]
    warnings = [_plain(e.value) for e in at.warning]
    errors = [_plain(e.value) for e in at.error]
    # Alerts: cardiology's approval ends in 10 days; oncology's has expired.
    assert any("cardiology" in w and "ends in 10 days" in w for w in warnings), warnings
    assert any("oncology" in e and "expired" in e for e in errors), errors
    assert any("EC-CARD-7" in w and "schedule the re-review" in w for w in warnings)
    # Metrics per window from the audit trail: two questions in every window.
    metrics = at.dataframe[0].value
    volume = metrics[metrics["Metric"] == "Questions"].iloc[0]
    assert (volume["1h"], volume["24h"], volume["7d"]) == ("2", "2", "2")
    ids = metrics[metrics["Metric"] == "Identifier detections"].iloc[0]
    assert ids["24h"] == "1"  # the cardiology question's phone number
    # Flag rate by type: one of the two answers was refused for want of evidence.
    no_evidence = metrics[metrics["Metric"] == "Flag rate: no_evidence"].iloc[0]
    assert no_evidence["7d"] == "50.0%"
    # Trends: questions, rates, latency, identifiers/denials (altair) and flag counts.
    charts = at.get("vega_lite_chart")
    assert len(charts) == 5
    specs = " ".join(c.proto.spec for c in charts)
    assert '"title": "Series"' in specs and '"format": "%"' in specs
    approvals = _table(at, 1)
    assert "EC-CARD-7" in approvals and "EC-ONC-1" in approvals and "not in force" in approvals

    # Oncology's needs report names its refused topic (a guideline gap).
    at.selectbox(key="gc_needs_dept").set_value("oncology")
    at.button(key="gc_needs_build").click().run()
    assert not at.exception, at.exception
    assert "1 questions, 1 refused (100%)" in _plain(_texts(at))
    refused = at.dataframe[-2].value.to_csv()
    assert "hydrocodone" in refused and ONCO_Q in refused
    reports = _events("report_needs")
    assert [(e.actor, e.object) for e in reports] == [("cmp.li", "monitoring:oncology")]
    at.run()  # a rerun shows the report again without producing (and auditing) it again
    assert len(_events("report_needs")) == 1 and "1 refused" in _texts(at)
    # Chinese: the same page, every label translated.
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert "监测预警" in [e.value for e in at.title]
    assert any("伦理审批即将到期" in w for w in [e.value for e in at.warning])
