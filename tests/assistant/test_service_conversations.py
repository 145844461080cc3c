"""Conversations kept server-side for their owner (issue 16 item 1), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from assistant.audit.log import open_audit_log
from assistant.config import Settings, get_settings
from assistant.conversations import ConversationStore
from assistant.db import shared_engine
from assistant.domain import Answer, AnswerMode, AnswerSentence, DocumentVersion, Principal, Source
from assistant.errors import AccessDenied, ConfigError, InvalidInput
from assistant.service.context import Context
from assistant.service.conversations import (
    append_turn,
    delete_conversation,
    latest_conversation,
    list_conversations,
    mark_conversations_guideline_updated,
    note_feedback,
    open_conversation,
    purge_conversations,
    rename_conversation,
)
from assistant.store import open_store
from ingestion.service import Ingestor
from tests.factories import DATABASE_BACKENDS, database_url, flu_editions, open_access

WANG = Principal(user="dr.wang", role="doctor", department="cardiology", session_id="conv-wang")
LI = Principal(user="dr.li", role="doctor", department="cardiology", session_id="conv-li")
QUESTION = "流感患者奥司他韦的成人剂量是多少？"
PHONE = "13912345678"
RESIDENT_ID = "110101199003071234"


@pytest.fixture(params=DATABASE_BACKENDS)
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    with database_url(request.param, sqlite_file=tmp_path / "conv.db") as url:
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
        yield Context(settings, access=open_access(settings))


def answer(principal: Principal, *, doc_id: str = "flu", version: str = "2025年版") -> Answer:
    """An answer as `answer_question` returns it (guideline text only)."""
    source = Source(
        n=1,
        doc_id=doc_id,
        title="流行性感冒诊疗方案",
        version=version,
        section="（1）神经氨酸酶抑制剂",
        library="hospital",
        text="成人剂量每次75mg，每日2次。",
    )
    return Answer(
        session_id=principal.session_id,
        mode=AnswerMode.EXTRACTIVE,
        sentences=[AnswerSentence(text="成人剂量每次75mg，每日2次。", citations=[1])],
        sources=[source],
    )


def events(ctx: Context, action: str) -> list:
    return list(ctx.audit.iter_events(actions=[action]))


def test_the_owner_lists_newest_first_and_reopens_the_turns(ctx: Context) -> None:
    first = answer(WANG)
    append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=first)
    append_turn(ctx, WANG, conversation_id="c1", question="那儿童呢？", answer=answer(WANG))
    append_turn(ctx, WANG, conversation_id="c2", question="奥司他韦疗程多久？", answer=answer(WANG))
    append_turn(ctx, LI, conversation_id="c3", question=QUESTION, answer=answer(LI))

    listed = list_conversations(ctx, WANG)
    assert [(c.id, c.title, c.turns) for c in listed] == [
        ("c2", "奥司他韦疗程多久？", 1),
        ("c1", QUESTION, 2),  # titled by its first question, not the follow-up
    ]
    assert all(c.owner == "dr.wang" and c.department == "cardiology" for c in listed)
    latest = latest_conversation(ctx, WANG)
    assert latest is not None and latest.id == "c2"
    assert [c.id for c in list_conversations(ctx, LI)] == ["c3"]

    conversation, turns = open_conversation(ctx, WANG, "c1")
    assert conversation.title == QUESTION
    assert [(t.position, t.question) for t in turns] == [(1, QUESTION), (2, "那儿童呢？")]
    assert turns[0].answer == first  # the stored Answer comes back whole
    # Adding to an older conversation makes it the latest again.
    append_turn(ctx, WANG, conversation_id="c1", question="剂型呢？", answer=answer(WANG))
    assert [c.id for c in list_conversations(ctx, WANG)] == ["c1", "c2"]


def test_feedback_is_kept_with_the_owners_turn_only(ctx: Context) -> None:
    given = answer(WANG)
    append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=given)
    append_turn(ctx, WANG, conversation_id="c1", question="那儿童呢？", answer=answer(WANG))
    assert not note_feedback(ctx, LI, answer_id=given.answer_id, helpful=True)
    assert note_feedback(ctx, WANG, answer_id=given.answer_id, helpful=False)
    _, turns = open_conversation(ctx, WANG, "c1")
    assert [t.helpful for t in turns] == [False, None]


def test_a_long_first_question_makes_a_short_one_line_title(ctx: Context) -> None:
    question = "成人流感患者\n" + "奥司他韦的剂量与疗程" * 20
    append_turn(ctx, WANG, conversation_id="c1", question=question, answer=answer(WANG))
    [listed] = list_conversations(ctx, WANG)
    assert listed.title.startswith("成人流感患者 奥司他韦") and listed.title.endswith("…")
    assert len(listed.title) == 60 and "\n" not in listed.title


def test_only_placeholders_are_stored_never_the_identifiers(ctx: Context) -> None:
    question = f"患者电话{PHONE}，身份证{RESIDENT_ID}，{QUESTION}"
    append_turn(ctx, WANG, conversation_id="c1", question=question, answer=answer(WANG))
    engine = shared_engine(ctx.settings.sqlalchemy_url)
    with engine.connect() as conn:
        [(stored,)] = conn.execute(text("SELECT question FROM conversation_turns")).all()
        [(title,)] = conn.execute(text("SELECT title FROM conversations")).all()
    for value in (stored, title):
        assert PHONE not in value and RESIDENT_ID not in value
    assert stored == f"患者电话[电话1]，身份证[身份证号1]，{QUESTION}"
    assert title.startswith("患者电话[电话1]，身份证[身份证号1]")
    # A rename is redacted too.
    renamed = rename_conversation(ctx, WANG, "c1", title=f"回电 {PHONE}")
    assert renamed.title == "回电 [电话1]"
    assert PHONE not in str(events(ctx, "conversation_rename")[-1].model_dump())


def test_another_persons_conversation_is_refused_and_the_refusal_audited(ctx: Context) -> None:
    append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=answer(WANG))
    attempts = {
        "conversation_open": lambda: open_conversation(ctx, LI, "c1"),
        "conversation_rename": lambda: rename_conversation(ctx, LI, "c1", title="mine"),
        "conversation_delete": lambda: delete_conversation(ctx, LI, "c1"),
        "conversation_append": lambda: append_turn(
            ctx, LI, conversation_id="c1", question="那儿童呢？", answer=answer(LI)
        ),
    }
    for action, attempt in attempts.items():
        with pytest.raises(AccessDenied) as refused:
            attempt()
        assert refused.value.reason == "not_your_conversation"
        [event] = events(ctx, action)
        assert (event.actor, event.outcome, event.object) == ("dr.li", "denied", "conversation:c1")
        assert event.detail_json["reason"] == "not_your_conversation"
    # Nothing changed for the owner.
    conversation, turns = open_conversation(ctx, WANG, "c1")
    assert conversation.title == QUESTION and len(turns) == 1
    assert list_conversations(ctx, LI) == []
    # An unknown id is refused the same way (whether it exists is not said).
    with pytest.raises(AccessDenied) as unknown:
        open_conversation(ctx, LI, "no-such-id")
    assert unknown.value.reason == "no_such_conversation"


def test_rename_and_delete_are_audited_and_delete_keeps_the_audit_rows(ctx: Context) -> None:
    # The conversation id is the audit session id of its `ask` rows.
    for _ in range(2):
        ctx.audit.append_event(
            actor="dr.wang",
            role="doctor",
            department="cardiology",
            session_id="c1",
            action="ask",
            object="library:hospital",
            outcome="extractive",
            detail={"question": QUESTION},
        )
    append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=answer(WANG))
    append_turn(ctx, WANG, conversation_id="c1", question="那儿童呢？", answer=answer(WANG))
    renamed = rename_conversation(ctx, WANG, "c1", title="  奥司他韦\n剂量  ")
    assert renamed.title == "奥司他韦 剂量"
    assert [c.title for c in list_conversations(ctx, WANG)] == ["奥司他韦 剂量"]
    [rename] = events(ctx, "conversation_rename")
    assert (rename.actor, rename.outcome, rename.object) == ("dr.wang", "ok", "conversation:c1")
    assert rename.detail_json["title"] == "奥司他韦 剂量"
    with pytest.raises(InvalidInput):
        rename_conversation(ctx, WANG, "c1", title="   ")
    assert events(ctx, "conversation_rename")[-1].outcome == "refused"

    delete_conversation(ctx, WANG, "c1")
    [deleted] = events(ctx, "conversation_delete")
    assert (deleted.outcome, deleted.object, deleted.detail_json["turns"]) == (
        "ok",
        "conversation:c1",
        2,
    )
    # Hidden from its owner: not listed, not reopened, not added to.
    assert list_conversations(ctx, WANG) == [] and latest_conversation(ctx, WANG) is None
    with pytest.raises(AccessDenied):
        open_conversation(ctx, WANG, "c1")
    with pytest.raises(AccessDenied):
        append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=answer(WANG))
    # The trail keeps every row of the conversation.
    asks = [e for e in events(ctx, "ask") if e.session_id == "c1"]
    assert len(asks) == 2 and ctx.audit.verify().ok


def test_purge_removes_only_conversations_past_the_retention(ctx: Context) -> None:
    store = ConversationStore.open(ctx.settings)
    now = datetime.now(UTC)
    days = ctx.settings.conversation_retention
    assert days == ctx.settings.audit.retention_days  # unset: as long as the audit trail
    for cid, age in (("old", days + 1), ("old-deleted", days + 5), ("recent", days - 1)):
        store.append(
            conversation_id=cid,
            owner="dr.wang",
            department="cardiology",
            question=QUESTION,
            answer=answer(WANG),
            at=now - timedelta(days=age),
        )
    delete_conversation(ctx, WANG, "old-deleted")
    before = ctx.audit.count_events()

    assert purge_conversations(ctx, "cli:ops", now=now) == 2
    assert store.get("old") is None and store.get("old-deleted") is None
    assert store.turns("old") == []
    assert [c.id for c in list_conversations(ctx, WANG)] == ["recent"]
    # The audit trail loses nothing; the purge itself is recorded.
    assert ctx.audit.count_events() == before + 1
    [purge] = events(ctx, "conversation_purge")
    assert (purge.actor, purge.outcome, purge.detail_json["purged"]) == ("cli:ops", "ok", 2)
    assert purge.detail_json["retention_days"] == days
    assert events(ctx, "conversation_delete")[0].outcome == "ok"
    assert purge_conversations(ctx, "cli:ops", now=now) == 0


def test_the_retention_cannot_go_below_the_audit_trails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError) as low:
        Settings(conversation_retention_days=30)
    message = str(low.value)
    assert "GUIDECITE_CONVERSATION_RETENTION_DAYS (30)" in message
    assert "GUIDECITE_AUDIT__RETENTION_DAYS (180)" in message
    with pytest.raises(ValidationError):
        Settings(conversation_retention_days=300, audit={"retention_days": 365})
    assert Settings(conversation_retention_days=400).conversation_retention == 400
    assert Settings(audit={"retention_days": 365}).conversation_retention == 365
    monkeypatch.setenv("GUIDECITE_CONVERSATION_RETENTION_DAYS", "90")
    with pytest.raises(ConfigError) as config:
        get_settings()
    assert "GUIDECITE_AUDIT__RETENTION_DAYS" in config.value.user_message


def test_turns_citing_a_superseded_version_are_marked_once(ctx: Context) -> None:
    append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=answer(WANG))
    append_turn(
        ctx, WANG, conversation_id="c1", question="那儿童呢？", answer=answer(WANG, version="2026")
    )
    append_turn(ctx, WANG, conversation_id="c2", question=QUESTION, answer=answer(WANG, doc_id="x"))
    old, new = (
        DocumentVersion(
            doc_id="flu",
            title="流行性感冒诊疗方案",
            version=label,
            language="zh",
            library="hospital",
            content_sha256=label * 8,
            source_file="flu.txt",
        )
        for label in ("2025年版", "2026")
    )
    store = ConversationStore.open(ctx.settings)
    marked = mark_conversations_guideline_updated(store, superseded=old, current=new)
    assert marked == ["c1"]
    assert mark_conversations_guideline_updated(store, superseded=old, current=new) == []
    _, turns = open_conversation(ctx, WANG, "c1")
    assert [t.guideline_updates for t in turns] == [["流行性感冒诊疗方案: 2025年版 → 2026"], []]
    assert {c.id: c.guideline_updated for c in list_conversations(ctx, WANG)} == {
        "c1": True,
        "c2": False,
    }


def test_ingesting_a_new_edition_marks_the_conversations_citing_the_old_one(
    tmp_path: Path, corpus_dir: Path
) -> None:
    first, second = flu_editions(corpus_dir, tmp_path / "in")
    settings = Settings(data_dir=tmp_path / "data")
    with open_store(settings) as store:
        ingestor = Ingestor(settings, store=store)
        old = ingestor.ingest([first], library="hospital").documents[0]
        ctx = Context(
            settings, store=store, access=open_access(settings), audit=open_audit_log(settings)
        )
        cited = answer(WANG, doc_id=old.doc_id, version=old.version)
        append_turn(ctx, WANG, conversation_id="c1", question=QUESTION, answer=cited)
        ingestor.ingest([first], library="hospital")  # the same edition supersedes nothing
        assert not list_conversations(ctx, WANG)[0].guideline_updated
        ingestor.ingest([second], library="hospital")
    [turn] = open_conversation(ctx, WANG, "c1")[1]
    assert turn.guideline_updates and turn.guideline_updates[0].startswith(
        f"流行性感冒诊疗方案: {old.version} → "
    )
