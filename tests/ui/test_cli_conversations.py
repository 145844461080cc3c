"""`guidecite conversations purge` (issue 16 item 1): driven by CliRunner, asserting what stayed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.conversations import ConversationStore
from assistant.domain import Answer, AnswerMode
from ui.cli import app
from ui.cli.common import operator_name

runner = CliRunner()


def test_purge_removes_conversations_past_the_retention_and_is_audited() -> None:
    settings = get_settings()
    store = ConversationStore.open(settings)
    now = datetime.now(UTC)
    for cid, age in (("old", 400), ("recent", 10)):
        store.append(
            conversation_id=cid,
            owner="dr.wang",
            department="cardiology",
            question="奥司他韦剂量？",
            answer=Answer(session_id=cid, mode=AnswerMode.REFUSED),
            at=now - timedelta(days=age),
        )
    result = runner.invoke(app, ["conversations", "purge", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"purged": 1, "retention_days": 180}
    assert store.get("old") is None and store.get("recent") is not None
    [event] = open_audit_log(settings).iter_events(actions=["conversation_purge"])
    assert (event.actor, event.outcome, event.detail_json["purged"]) == (operator_name(), "ok", 1)


def test_a_retention_below_the_audit_trails_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDECITE_CONVERSATION_RETENTION_DAYS", "30")
    result = runner.invoke(app, ["conversations", "purge"])
    assert result.exit_code == 2, result.output
    assert "GUIDECITE_CONVERSATION_RETENTION_DAYS (30)" in result.stderr
    assert "GUIDECITE_AUDIT__RETENTION_DAYS (180)" in result.stderr
