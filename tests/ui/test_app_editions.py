"""Two editions of a guideline in the app (issue #17 §2): "what changed" on the Library page,
recent guideline updates on the Monitoring page, and the audit row of the re-review marking.

The shipped influenza guideline and a second edition of it (`flu_editions`: a dose 75 mg →
150 mg, a removed paragraph, a reworded recommendation) are ingested into cardiology's library
with the real embedder; an answer awaiting review cites the first edition when the second comes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from streamlit.testing.v1 import AppTest

from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.domain import AuditAction, Principal, Role
from assistant.errors import AccessDenied
from assistant.flags import make_flag
from assistant.review import ReviewQueue
from assistant.service.context import Context
from assistant.service.monitoring import recent_guideline_updates
from assistant.service.review import open_review_item
from assistant.store import open_store
from ingestion.as_principal import diff_document_as_principal
from ingestion.service import Ingestor
from tests.factories import (
    FLU_NEW_VERSION,
    FLU_REMOVED,
    audit_events,
    flu_editions,
    open_access,
    open_accounts,
    page_texts,
)

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
LIBRARY = "cardiology"
ADMIN = Principal(user="adm.zhou", role=Role.DEPT_ADMIN, department="cardiology")
DOCTOR = Principal(user="dr.wang", role=Role.DOCTOR, department="cardiology")
OFFICER = Principal(user="cmp.li", role=Role.COMPLIANCE_OFFICER, department="cardiology")
OTHER_ADMIN = Principal(user="adm.qian", role=Role.DEPT_ADMIN, department="oncology")
OTHER_OFFICER = Principal(user="cmp.zhao", role=Role.COMPLIANCE_OFFICER, department="oncology")
SUMMARY_EN = "0 added · 1 removed · 2 changed · 0 moved"
SUMMARY_ZH = "新增 0 处 · 删除 1 处 · 修改 2 处 · 移动 0 处"

pytestmark = pytest.mark.slow


def _ask_citing(ctx: Context, *, doc_id: str, version: str) -> int:
    """A flagged cardiology answer that cited `doc_id` at `version`; returns its item's id."""
    event = ctx.audit.append_event(
        actor=DOCTOR.user,
        role="doctor",
        department=DOCTOR.department,
        session_id="s1",
        action="ask",
        object=f"library:{LIBRARY}",
        outcome="extractive",
        detail={
            "answer_id": "a-2025",
            "question": "成人流感患者奥司他韦剂量是多少？",
            "mode": "extractive",
            "sentences": [{"text": "成人剂量每次75mg，每日2次。", "citations": [1],
                           "supported": True, "support_score": 1.0}],
            "sources": [{"n": 1, "doc_id": doc_id, "title": "流行性感冒诊疗方案",
                         "version": version, "section": "（1）神经氨酸酶抑制剂", "page": None,
                         "library": LIBRARY, "text": "成人剂量每次75mg，每日2次。"}],
            "flags": [],
        },
    )  # fmt: skip
    item = open_review_item(ctx, DOCTOR, ask_event=event, flags=[make_flag("negative_feedback")])
    assert item.id is not None
    return item.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    """Both editions in cardiology's library, an item citing the first; the store closed."""
    root = tmp_path_factory.mktemp("editions-app")
    first, second = flu_editions(corpus_dir, root / "in")
    settings = Settings(data_dir=root / "data")
    access = open_access(settings, libraries={LIBRARY: "cardiology", "oncology": "oncology"})
    accounts = open_accounts(settings, access=access)
    totp = {}
    for person in (ADMIN, DOCTOR, OFFICER, OTHER_ADMIN, OTHER_OFFICER):
        accounts.add_user(
            person.user, role=person.role, department=person.department, password=PASSWORD
        )
        if person.role != Role.DOCTOR:
            totp[person.user] = pyotp.parse_uri(accounts.enrol_totp(person.user))
    audit = open_audit_log(settings)
    store = open_store(settings)
    try:
        ingestor = Ingestor(settings, store=store, audit=audit, actor="cli:tester")
        old = ingestor.ingest([first], library=LIBRARY).documents[0]
        ctx = Context(settings, access=access, audit=audit, store=store, embedder=ingestor.embedder)
        item_id = _ask_citing(ctx, doc_id=old.doc_id, version=old.version)
        new = ingestor.ingest([second], library=LIBRARY).documents[0]
    finally:
        store.close()  # the app opens it
    yield {"settings": settings, "old": old, "new": new, "item_id": item_id, "totp": totp}


@pytest.fixture
def ctx(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(world["settings"].data_dir))
    settings: Settings = world["settings"]
    store = open_store(settings)
    try:
        yield Context(settings, store=store)
    finally:
        store.close()


@pytest.fixture
def app_env(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(world["settings"].data_dir))
    return world


# ---- the use-cases ---------------------------------------------------------------------------


def test_marking_the_old_editions_answers_is_one_audit_row(world, ctx) -> None:
    [row] = audit_events(AuditAction.GUIDELINE_UPDATE_MARKED)
    old, new = world["old"], world["new"]
    assert (row.actor, row.object, row.outcome) == ("cli:tester", f"document:{new.doc_id}", "ok")
    assert row.detail_json == {
        "doc_id": new.doc_id,
        "library": LIBRARY,
        "superseded": {"version": "2025年版", "content_sha256": old.content_sha256},
        "current": {"version": FLU_NEW_VERSION, "content_sha256": new.content_sha256},
        "marked": 1,
        "review_items": [world["item_id"]],
        "reopened_regression_cases": [],
        "via": None,
    }
    item = ReviewQueue.open(ctx.settings).get(world["item_id"])
    assert item is not None and "guideline_updated" in item.flags


def test_what_changed_for_a_manager_and_a_reader_and_not_another_department(world, ctx) -> None:
    doc_id = world["new"].doc_id
    for person in (ADMIN, DOCTOR):  # manages cardiology's library / reads it
        diff = diff_document_as_principal(
            person, doc_id, store=ctx.store, access=ctx.access, audit=ctx.audit
        )
        assert (diff.before.version, diff.after.version) == ("2025年版", FLU_NEW_VERSION)
        assert diff.summary() == {"added": 0, "removed": 1, "changed": 2, "moved": 0}
    assert audit_events(AuditAction.DOCUMENT_DIFF) == []  # a read writes no row
    with pytest.raises(AccessDenied):
        diff_document_as_principal(
            OTHER_ADMIN, doc_id, store=ctx.store, access=ctx.access, audit=ctx.audit
        )
    [denied] = audit_events(AuditAction.DOCUMENT_DIFF)
    assert (denied.actor, denied.outcome, denied.object) == (
        OTHER_ADMIN.user,
        "denied",
        f"library:{LIBRARY}",
    )
    assert denied.detail_json["doc_id"] == doc_id


def test_recent_updates_name_both_editions_and_the_marked_answers(world, ctx) -> None:
    [update] = recent_guideline_updates(ctx, OFFICER)
    assert (update.library, update.doc_id, update.title) == (
        LIBRARY,
        world["new"].doc_id,
        "流行性感冒诊疗方案",
    )
    assert (update.superseded, update.current, update.marked) == ("2025年版", FLU_NEW_VERSION, 1)
    assert update.updated_at == world["new"].ingested_at
    # Oncology's officer: cardiology's library is not theirs.
    assert recent_guideline_updates(ctx, OTHER_OFFICER) == []


# ---- the pages -------------------------------------------------------------------------------


def _signed_in(world: dict[str, Any], user: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.session_state["gc_lang"] = "en"
    at.text_input(key="gc_username").set_value(user)
    at.text_input(key="gc_password").set_value(PASSWORD)
    at.button[-1].click().run()
    at.text_input(key="gc_totp").set_value(world["totp"][user].now())
    at.button[-1].click().run()
    assert "gc_token" in at.session_state
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_library_page_shows_what_changed_in_english_and_chinese(app_env) -> None:
    world = app_env
    at = _signed_in(world, ADMIN.user, "views/library.py")
    assert "What changed" in [s.value for s in at.subheader]
    doc = at.selectbox(key="gc_diff_doc")
    assert doc.value == world["new"].doc_id
    texts = page_texts(at)
    assert SUMMARY_EN in texts
    # The dose edit: the changed words marked inline, the dose named as a badge.
    assert ":orange-badge[75mg → 150mg]" in texts
    assert ":red-background[~~75~~]:green-background[**150**]" in texts
    assert f":red[~~{FLU_REMOVED}~~]" in texts
    assert ":green-background[**应当尽早**]" in texts
    # The pair defaults to the current edition against the one it superseded.
    doc_id = world["new"].doc_id
    assert at.selectbox(key=f"gc_diff_to_{doc_id}").value == world["new"].content_sha256
    assert at.selectbox(key=f"gc_diff_from_{doc_id}").value == world["old"].content_sha256
    day = world["new"].ingested_at.date().isoformat()
    assert at.selectbox(key=f"gc_diff_to_{doc_id}").options == [
        f"{FLU_NEW_VERSION} · current · {day}",
        f"2025年版 · superseded · {world['old'].ingested_at.date().isoformat()}",
    ]

    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert "版本变化" in [s.value for s in at.subheader]
    texts = page_texts(at)
    assert SUMMARY_ZH in texts and ":orange-badge[修改]" in texts and ":red-badge[删除]" in texts
    assert "数值/剂量/疗程: :orange-badge[75mg → 150mg]" in texts
    newest = at.selectbox(key=f"gc_diff_to_{doc_id}").options[0]
    assert newest.startswith(f"{FLU_NEW_VERSION} · 现行")


def test_monitoring_page_lists_the_update_in_english_and_chinese(app_env) -> None:
    world = app_env
    at = _signed_in(world, OFFICER.user, "views/monitoring.py")
    assert "Recent guideline updates" in [s.value for s in at.subheader]
    [table] = [d.value for d in at.dataframe if "Old edition" in d.value.columns]
    assert table.to_dict("records") == [
        {
            "Updated on": world["new"].ingested_at.date().isoformat(),
            "Library": LIBRARY,
            "Guideline": f"流行性感冒诊疗方案 ({world['new'].doc_id})",
            "Old edition": "2025年版",
            "New edition": FLU_NEW_VERSION,
            "Answers marked for re-review": 1,
        }
    ]
    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert "近期指南更新" in [s.value for s in at.subheader]
    [table] = [d.value for d in at.dataframe if "旧版本" in d.value.columns]
    columns = ["更新日期", "指南库", "指南", "旧版本", "新版本", "标记复审的回答"]
    assert list(table.columns) == columns
    assert table.iloc[0]["标记复审的回答"] == 1
