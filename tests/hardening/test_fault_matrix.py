"""Fault matrix (issue 9 item 1): each cell asserts what the user sees, the flag, the audit event.

Model faults are played by the SGLang stand-in over real HTTP; store and audit faults use the
real Qdrant Edge / qdrant-client local mode / SQLite. "Process killed mid-ingest, then re-run" is
covered by tests/ingestion/test_service.py::test_kill_9_mid_document_then_rerun_is_complete and
::test_crash_between_batches_leaves_nothing_visible_and_rerun_completes (not duplicated here).
"""

from __future__ import annotations

import errno
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import LLMSettings, Settings, get_settings
from assistant.domain import AnswerMode, Role
from assistant.embedding import SparseEncoder
from assistant.errors import (
    AuditUnavailable,
    GuideCiteError,
    InvalidInput,
    ModelCallError,
    StoreError,
    StoreSchemaMismatch,
)
from assistant.llm import ChatModel
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.store import REINDEX_HINT, StorePoint, open_store
from assistant.store_edge import EdgeStore
from ingestion.service import Ingestor
from tests.factories import open_access, open_accounts
from tests.fakes.sglang import (
    HttpError,
    NonJson,
    SGLangStandIn,
    Slow,
    StreamCut,
    citations_out_of_range,
    rate_limited,
    schema_violating,
)
from tests.hardening.conftest import CARDIO_DOC, HAND_HYGIENE_MD, World, events_of, write_doc
from ui.cli import app

QUESTION = "流感患者奥司他韦的成人剂量是多少？"
runner = CliRunner()
PASSWORD = "violet staple orbit 42"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_extractive_fallback(ctx: Context, answer: Any, code: str) -> None:
    """The user sees a verified extractive answer, flagged llm_error=<code>, audited as such."""
    assert answer.mode == AnswerMode.EXTRACTIVE
    assert answer.sentences and all(s.supported and s.citations for s in answer.sentences)
    given = {s.n for s in answer.sources}
    assert all(set(s.citations) <= given for s in answer.sentences)
    assert {f.code: f.detail for f in answer.flags}.get("llm_error") == code
    event = events_of(ctx)[-1]
    assert (event.action, event.outcome, event.actor) == ("ask", "extractive", CARDIO_DOC.user)
    assert event.id == answer.audit_event_id
    assert event.detail_json["llm_error"] == code
    assert {"code": "llm_error", "detail": code} in [
        {"code": f["code"], "detail": f["detail"]} for f in event.detail_json["flags"]
    ]
    assert ctx.audit.verify().ok


# ---- the model server ---------------


def test_connection_refused(world: World, tmp_path: Path) -> None:
    ctx = world.context(tmp_path / "audit", base_url=f"http://127.0.0.1:{closed_port()}/v1")
    answer = answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
    assert_extractive_fallback(ctx, answer, "llm_connection")


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (HttpError(500, "boom"), "llm_http_500"),
        (rate_limited("1"), "llm_rate_limited"),
        (Slow(5), "llm_timeout"),
        (NonJson(), "llm_bad_response"),
        (StreamCut(), "llm_stream_cut"),  # non-streaming request: the JSON body is cut in half
        (schema_violating(), "llm_schema_violation"),
        (citations_out_of_range(), "llm_citation_out_of_range"),
    ],
    ids=["http500", "http429", "timeout", "non_json", "body_cut", "schema", "cite_range"],
)
def test_model_fault_gives_verified_extractive_answer(
    world: World, tmp_path: Path, sglang_server: SGLangStandIn, script: Any, code: str
) -> None:
    sglang_server.enqueue(script)
    ctx = world.context(tmp_path / "audit", base_url=sglang_server.base_url)
    answer = answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
    assert_extractive_fallback(ctx, answer, code)
    # The faulty text never reaches the user.
    shown = " ".join(s.text for s in answer.sentences)
    assert "300 mg" not in shown and "Bad Gateway" not in shown


def test_429_retry_after_is_honoured_then_answered(
    world: World, tmp_path: Path, sglang_server: SGLangStandIn
) -> None:
    sglang_server.enqueue(rate_limited("1"))
    ctx = world.context(tmp_path / "audit", base_url=sglang_server.base_url, timeout_s=3, retries=1)
    answer = answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
    assert answer.mode == AnswerMode.GENERATIVE, answer.flags
    assert "llm_error" not in {f.code for f in answer.flags}
    assert len(sglang_server.requests) == 2
    waited = sglang_server.request_times[1] - sglang_server.request_times[0]
    assert waited >= 0.9  # Retry-After: 1
    assert events_of(ctx)[-1].detail_json["llm_error"] is None


def test_stream_cut_midway_through_chat_model_stream(sglang_server: SGLangStandIn) -> None:
    # The service does not stream; ChatModel.stream is the streaming surface the UI may use.
    sglang_server.enqueue(StreamCut(after_chunks=2))
    chat = ChatModel(LLMSettings(base_url=sglang_server.base_url, timeout_s=2, max_retries=0))
    received: list[str] = []
    with pytest.raises(ModelCallError) as raised:
        for event in chat.stream([("user", "dose?")]):
            received.append(event.text)
    assert raised.value.code == "llm_stream_cut"
    assert "stopped mid-answer" in raised.value.user_message
    assert received  # part of the answer had arrived before the cut


# ---- the vector store ---------------


def _seed_cli_user(settings: Settings) -> None:
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.li", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    open_audit_log(settings)  # creates the audit tables, as `guidecite init` does


def test_store_locked_by_another_process_names_its_pid(data_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from assistant.config import get_settings
        from assistant.store import open_store
        store = open_store(get_settings())
        print("ready", flush=True)
        sys.stdin.readline()
        store.close()
        """
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = runner.invoke(app, ["ask", "流感的治疗", "--user", "dr.li", "--json"])
        assert result.exit_code == 4, result.output
        assert result.stdout == ""
        assert f"PID {holder.pid}" in result.stderr
        assert "GUIDECITE_QDRANT_URL" in result.stderr  # and what to do about it
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0


@pytest.fixture
def data_dir() -> Path:
    """The per-test GUIDECITE_DATA_DIR set by tests/conftest.py."""
    return get_settings().data_dir


@pytest.mark.parametrize("backend", ["server-local", "edge-deleted"])
def test_collection_missing_is_a_clear_error(world: World, tmp_path: Path, backend: str) -> None:
    if backend == "server-local":
        settings = world.settings.model_copy(
            update={"data_dir": tmp_path / "d", "qdrant_url": f"local:{tmp_path / 'q'}"}
        )
    else:
        settings = world.settings.model_copy(update={"data_dir": tmp_path / "d"})
        with open_store(settings) as store:  # create, then delete the shard
            store.ensure_collection(dense_dim=world.embedder.dim, model_id=world.embedder.model_id)
        shutil.rmtree(settings.qdrant_path)
    store = open_store(settings)
    try:
        ctx = world.context(tmp_path / "audit", store=store)
        with pytest.raises(StoreError) as raised:
            answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
        assert "ingest" in raised.value.user_message
        # The failed ask is audited with the error type, then the same error reaches the user.
        [event] = events_of(ctx)
        assert (event.actor, event.action, event.outcome) == (CARDIO_DOC.user, "ask", "error")
        assert event.detail_json["error"] == type(raised.value).__name__
        assert event.detail_json["stage"] == "retrieving"
        assert event.detail_json["retryable"] is raised.value.retryable
        assert event.object == "library:hospital"
        assert QUESTION not in str(event.model_dump())
    finally:
        store.close()


def test_vector_size_mismatch_after_model_change(world: World, tmp_path: Path) -> None:
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "d"})
    with open_store(settings) as store:
        store.ensure_collection(dense_dim=768, model_id="bge-base-zh:768")
    with open_store(settings) as store:
        with pytest.raises(StoreSchemaMismatch) as raised:
            store.ensure_collection(dense_dim=world.embedder.dim, model_id=world.embedder.model_id)
        assert REINDEX_HINT in raised.value.user_message
        assert "768" in raised.value.user_message and str(world.embedder.dim) in (
            raised.value.user_message
        )
        assert raised.value.exit_code == 4 and raised.value.retryable is False
        # Ingestion reports the file failed with the same hint and writes nothing.
        doc = write_doc(tmp_path / "docs", "hand.md", HAND_HYGIENE_MD)
        report = Ingestor(settings, store=store, embedder=world.embedder).ingest(
            [doc], library="hospital"
        )
        assert [Path(f.path).name for f in report.failed] == ["hand.md"]
        assert REINDEX_HINT in report.failed[0].error
        assert store.count() == 0


def test_query_against_other_model_index_is_a_store_error(world: World, tmp_path: Path) -> None:
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "d"})
    store = open_store(settings)
    try:
        store.ensure_collection(dense_dim=8, model_id="tiny:8")
        sparse = SparseEncoder().encode_document("流感 奥司他韦")
        store.upsert(
            [
                StorePoint(
                    id="00000000-0000-0000-0000-000000000001",
                    dense=[1.0] + [0.0] * 7,
                    sparse=sparse,
                    payload={"library": "hospital", "status": "current", "text": "流感"},
                )
            ]
        )
        ctx = world.context(tmp_path / "audit", store=store)
        # An English question uses the dense channel (a Chinese one is lexical-only and still
        # answers). Never a raw engine exception: a GuideCiteError shown with exit 4.
        with pytest.raises(GuideCiteError) as raised:
            answer_question(CARDIO_DOC, "What is the flu dose for adults?", ctx=ctx)
        assert raised.value.exit_code == 4
        assert "dimension" in raised.value.user_message
    finally:
        store.close()


# ---- the audit database ---------------


def test_audit_unavailable_withholds_the_answer(world: World, tmp_path: Path) -> None:
    ctx = world.context(tmp_path / "audit")
    first = answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
    assert first.audit_event_id == 1
    with sqlite3.connect(tmp_path / "audit" / "guidecite.db") as conn:
        conn.execute("DROP TABLE audit_events")
    with pytest.raises(AuditUnavailable) as raised:
        answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
    assert "withheld" in raised.value.user_message
    assert raised.value.exit_code == 4 and raised.value.retryable


def test_failed_asks_keep_their_own_error_when_the_audit_is_down(
    world: World, tmp_path: Path
) -> None:
    ctx = world.context(tmp_path / "audit")
    with sqlite3.connect(tmp_path / "audit" / "guidecite.db") as conn:
        conn.execute("DROP TABLE audit_events")
    # Bad input: still the InvalidInput with its message, not the audit's error.
    with pytest.raises(InvalidInput) as rejected:
        answer_question(CARDIO_DOC, "\u200b ", ctx=ctx)
    assert "empty" in rejected.value.user_message and rejected.value.exit_code == 2
    # A store failure: still the StoreError (its message, exit 4), not AuditUnavailable.
    settings = world.settings.model_copy(update={"data_dir": tmp_path / "d"})
    with open_store(settings) as store:
        store.ensure_collection(dense_dim=world.embedder.dim, model_id=world.embedder.model_id)
    shutil.rmtree(settings.qdrant_path)
    store = open_store(settings)
    try:
        ctx = world.context(tmp_path / "audit", store=store)
        with pytest.raises(StoreError) as failed:
            answer_question(CARDIO_DOC, QUESTION, ctx=ctx)
        assert not isinstance(failed.value, AuditUnavailable)
        assert "ingest" in failed.value.user_message
    finally:
        store.close()


def test_audit_unavailable_cli_exit_4(data_dir: Path, tmp_path: Path) -> None:
    settings = get_settings()
    _seed_cli_user(settings)
    doc = write_doc(tmp_path / "docs", "hand.md", HAND_HYGIENE_MD)
    assert runner.invoke(app, ["ingest", str(doc), "--library", "hospital"]).exit_code == 0
    with sqlite3.connect(data_dir / "guidecite.db") as conn:
        # Writes refused as a full or read-only audit database would refuse them.
        conn.execute(
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    result = runner.invoke(app, ["ask", "流感的治疗方案", "--user", "dr.li", "--json"])
    assert result.exit_code == 4, result.output
    assert result.stdout == ""  # no answer printed
    assert "withheld" in result.stderr
    assert "Traceback" not in result.output


# ---- disk full while ingesting ---------------


class DiskFullStore(EdgeStore):
    """The real Edge store whose upserts fail like a full disk after `ok_batches` batches."""

    ok_batches = 0

    def upsert(self, points: Sequence[StorePoint]) -> None:
        """Write `ok_batches` batches, then fail with ENOSPC."""
        if self.ok_batches <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.ok_batches -= 1
        super().upsert(points)


def test_disk_full_while_ingesting_reports_failure_and_hides_partial(
    world: World, tmp_path: Path
) -> None:
    settings = world.settings.model_copy(
        update={
            "data_dir": tmp_path / "d",
            "ingest": world.settings.ingest.model_copy(update={"upsert_batch": 2}),
        }
    )
    docs = tmp_path / "docs"
    good = write_doc(docs, "hand.md", HAND_HYGIENE_MD)
    big = write_doc(
        docs,
        "long.md",
        "# Long\n\n"
        + "\n\n".join(
            f"## Part {i}\n\nHand rub step {i} takes {i + 10} seconds of rubbing."
            for i in range(12)
        ),
    )
    store = DiskFullStore(settings=settings)
    try:
        ingestor = Ingestor(settings, store=store, embedder=world.embedder)
        store.ok_batches = 100
        assert ingestor.ingest([good], library="hospital").failed == []
        before = store.count(status="current")
        store.ok_batches = 1  # the first batch of the next file lands, then the disk is full
        report = ingestor.ingest([big, good], library="hospital")
        assert [Path(f.path).name for f in report.failed] == ["long.md"]
        assert "space" in report.failed[0].error.lower()
        assert store.count(status="current") == before  # nothing half-visible
        assert store.count(doc_id=report.documents[0].doc_id, status="current") > 0
    finally:
        store.close()
