"""Hostile input at the service, the CLI and the UI renderers (issue 9 item 2).

No traceback ever reaches a user: every failure is a GuideCiteError with a message, and the
store is unchanged. Loader fuzzing of `parse_document` itself lives in
tests/ingestion/test_parse.py::test_random_bytes_only_ever_raise_ingestion_error; here random
files go through the whole `Ingestor`.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import get_settings
from assistant.domain import AnswerMode, AnswerSentence, Role
from assistant.errors import GuideCiteError, InvalidInput
from assistant.privacy import redact_text
from assistant.service.ask import answer_question, clean_question
from assistant.store import open_store
from ingestion.parse import SUPPORTED_EXTENSIONS
from ingestion.service import Ingestor
from tests.factories import open_access, open_accounts
from tests.fakes.sglang import SGLangStandIn, json_completion, read_sources
from tests.hardening.conftest import CARDIO_DOC, World, events_of
from ui.cli import app
from ui.render import escape_markdown, highlight_passage, sentence_markdown, source_label

runner = CliRunner()
INVISIBLE = "\x00\x07\x1b\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2069"
SCRIPT = "<script>alert(document.cookie)</script>"
IMAGE = "![x](http://evil.example/x.png?leak=1)"
COMMONMARK = MarkdownIt("commonmark", {"html": True})  # html on: the worst case for escaping
LIVE_HTML = re.compile(r"<(?:script|img|a |iframe|svg)", re.IGNORECASE)


def rendered_html(markdown: str) -> str:
    """What a CommonMark renderer with raw HTML enabled makes of `markdown`."""
    return COMMONMARK.render(markdown)


# ---- empty, too long, invisible characters ---------------


@pytest.mark.parametrize("question", ["", "   ", "\t\n", "\u200b\u200d\ufeff", "\x00\x01 \u202e"])
def test_empty_or_invisible_only_question_is_refused_clearly(ctx: Any, question: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        answer_question(CARDIO_DOC, question, ctx=ctx)
    assert "empty" in raised.value.user_message and "问题为空" in raised.value.user_message
    assert raised.value.exit_code == 2
    # Nothing reached retrieval or the model; the refusal itself is audited (等保2.0 8.1.4.3).
    [event] = events_of(ctx)
    assert (event.actor, event.action, event.outcome) == (CARDIO_DOC.user, "ask", "rejected")
    assert event.detail_json["reason"] == "empty_question"
    assert event.detail_json["question_chars"] == 0
    assert event.detail_json["raw_chars"] == len(question)


def test_over_long_question_is_refused_not_truncated(
    world: World, tmp_path: Path, sglang_server: SGLangStandIn
) -> None:
    ctx = world.context(tmp_path / "audit", base_url=sglang_server.base_url)
    limit = ctx.settings.max_question_chars
    assert limit == 4000
    with pytest.raises(InvalidInput) as raised:
        answer_question(CARDIO_DOC, "流感" * 2001, ctx=ctx)
    message = raised.value.user_message
    assert "4002" in message and "4000" in message and "GUIDECITE_MAX_QUESTION_CHARS" in message
    assert sglang_server.requests == []
    [rejected] = events_of(ctx)
    assert (rejected.action, rejected.outcome) == ("ask", "rejected")
    assert rejected.detail_json["reason"] == "question_too_long"
    assert (rejected.detail_json["question_chars"], rejected.detail_json["limit"]) == (4002, 4000)
    assert "流感" not in str(rejected.model_dump())  # lengths only, never the text
    # Exactly at the limit it is answered (the limit counts cleaned characters).
    at_limit = ("流感的治疗方案" * 600)[:limit] + "\u200b" * 50
    answer = answer_question(CARDIO_DOC, at_limit, ctx=ctx)
    assert len(events_of(ctx)[-1].detail_json["question"]) == limit
    assert answer.mode in {AnswerMode.GENERATIVE, AnswerMode.EXTRACTIVE, AnswerMode.REFUSED}


def test_control_zero_width_and_bidi_are_stripped_and_answered(
    world: World, tmp_path: Path, sglang_server: SGLangStandIn
) -> None:
    ctx = world.context(tmp_path / "audit", base_url=sglang_server.base_url)
    hostile = "流感\u202e患者\u200b奥司他韦\x00的成人\u2066剂量\x1b是多少？\ufeff"
    answer = answer_question(CARDIO_DOC, hostile, ctx=ctx)
    assert answer.mode == AnswerMode.GENERATIVE, answer.flags
    assert all(s.supported for s in answer.sentences)
    assert events_of(ctx)[-1].detail_json["question"] == "流感患者奥司他韦的成人剂量是多少？"
    sent = "".join(str(m["content"]) for m in sglang_server.requests[-1]["messages"])
    assert not set(INVISIBLE) & set(sent)


@pytest.mark.parametrize(
    "question",
    [
        "流感 oseltamivir 成人剂量 dose 75mg？",
        "Hand hygiene 手卫生 before touching a patient 接触患者前?",
        "оseltamivir dоse for influenza",  # Cyrillic о homoglyphs
        "流感の治療 인플루엔자 治疗方案",  # Japanese and Korean mixed in
        "What is the dose? " + "😷" * 20,
    ],
)
def test_mixed_scripts_are_answered_or_refused_never_crash(ctx: Any, question: str) -> None:
    answer = answer_question(CARDIO_DOC, question, ctx=ctx)
    assert answer.mode in {AnswerMode.EXTRACTIVE, AnswerMode.REFUSED}
    assert all(s.supported and s.citations for s in answer.sentences)
    event = events_of(ctx)[-1]
    assert event.action == "ask" and event.detail_json["question"] == question


# ---- markup in questions and in model output ---------------


def test_html_and_image_links_in_the_question_are_inert(ctx: Any) -> None:
    question = f"{SCRIPT} 流感的治疗方案 {IMAGE}"
    answer = answer_question(CARDIO_DOC, question, ctx=ctx)
    assert events_of(ctx)[-1].detail_json["question"] == question  # audited as asked
    # The chat page echoes the question through escape_markdown (ui/views/chat.py).
    html = rendered_html(escape_markdown(question))
    assert not LIVE_HTML.search(html) and "&lt;script&gt;" in html
    # Sources and sentences carry no markup the question brought.
    shown = " ".join(s.text for s in answer.sentences) + " ".join(s.text for s in answer.sources)
    assert "<script" not in shown and "evil.example" not in shown


def _markup_answer(request: dict[str, Any]) -> Any:
    n, body = next(iter(read_sources(request).items()))
    first = re.split(r"(?<=[。！？.!?])", body)[0]
    return json_completion(
        {
            "sentences": [
                {"text": f"{first}{SCRIPT}", "citations": [n]},
                {"text": f"See {IMAGE} for the full table.", "citations": [n]},
            ],
            "insufficient_evidence": False,
        }
    )


def test_markup_in_model_output_never_reaches_the_user_live(
    world: World, tmp_path: Path, sglang_server: SGLangStandIn
) -> None:
    sglang_server.responder = _markup_answer
    ctx = world.context(tmp_path / "audit", base_url=sglang_server.base_url)
    answer = answer_question(CARDIO_DOC, "流感患者奥司他韦的成人剂量是多少？", ctx=ctx)
    # The image sentence has no support: strict policy replaces the answer with source text.
    assert answer.mode == AnswerMode.EXTRACTIVE
    assert "unsupported_sentence" in {f.code for f in answer.flags}
    shown = " ".join(s.text for s in answer.sentences)
    assert "<script" not in shown and "evil.example" not in shown and "![" not in shown
    # Whatever a sentence or passage holds, the renderers leave no live HTML, link or image.
    for text in (f"{SCRIPT} {IMAGE}", *(s.text for s in answer.sentences)):
        sentence = AnswerSentence(text=text, citations=[1], supported=True)
        html = rendered_html(sentence_markdown(sentence, lang="zh"))
        assert not LIVE_HTML.search(html) and "evil" not in re.findall(r'src="([^"]*)"', html)
    passage = rendered_html(highlight_passage(f"剂量 {SCRIPT} {IMAGE}", ["剂量"]))
    assert not LIVE_HTML.search(passage)
    label = rendered_html(escape_markdown(source_label(answer.sources[0], lang="en")))
    assert not LIVE_HTML.search(label)


# ---- the CLI ---------------


@pytest.fixture
def cli_user() -> str:
    """A doctor account `dr.li` in the per-test DATA_DIR (cheap argon2 parameters)."""
    settings = get_settings()
    open_accounts(settings, access=open_access(settings)).add_user(
        "dr.li", role=Role.DOCTOR, department="cardiology", password="violet staple orbit 42"
    )
    return "dr.li"


def test_one_megabyte_question_on_stdin_exits_2_with_the_limit(cli_user: str) -> None:
    question = ("流感患者奥司他韦剂量" * 110_000)[:350_000]  # ≈1 MB of UTF-8
    assert len(question.encode()) > 1_000_000
    result = runner.invoke(
        app, ["ask", "--question-file", "-", "--user", cli_user, "--json"], input=question
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "350000" in result.stderr and "4000" in result.stderr
    assert "Traceback" not in result.output
    [event] = open_audit_log(get_settings()).iter_events()
    assert (event.actor, event.action, event.outcome) == (cli_user, "ask", "rejected")
    assert event.detail_json["question_chars"] == 350_000
    assert "奥司他韦" not in str(event.model_dump())


def test_cli_invisible_only_question_exits_2_and_unknown_user_3(cli_user: str) -> None:
    result = runner.invoke(app, ["ask", "\u200b\u202e\x01 ", "--user", cli_user])
    assert result.exit_code == 2 and "empty" in result.stderr
    unknown = runner.invoke(app, ["ask", SCRIPT, "--user", "<img src=x>"])
    assert unknown.exit_code == 3 and "Traceback" not in unknown.output


# ---- fuzzing ---------------

_QUESTION_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list(INVISIBLE + "流感奥司他韦剂量 <>[]()!`*_\n\t")),
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(text=_QUESTION_TEXT, limit=st.integers(min_value=1, max_value=400))
def test_clean_question_output_is_clean_or_refused(text: str, limit: int) -> None:
    try:
        cleaned = clean_question(text, max_chars=limit)
    except InvalidInput as exc:
        assert exc.user_message and exc.exit_code == 2
        return
    assert cleaned and cleaned == cleaned.strip() and len(cleaned) <= limit
    assert not set(cleaned) & set(INVISIBLE)
    assert all(ch in "\n\t" or unicodedata.category(ch)[0] != "C" for ch in cleaned)
    assert clean_question(cleaned, max_chars=limit) == cleaned  # idempotent


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        _QUESTION_TEXT,
        st.builds(
            lambda a, b: f"{a} 电话13812345678 身份证11010519491231002X {b}",
            _QUESTION_TEXT,
            _QUESTION_TEXT,
        ),
    )
)
def test_redact_text_never_fails_and_removes_identifiers(text: str) -> None:
    result = redact_text(text)
    assert isinstance(result.text, str)
    assert "13812345678" not in result.text and "11010519491231002X" not in result.text
    if not result.counts:
        assert result.text == text


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(question=_QUESTION_TEXT)
def test_answer_path_fuzz_only_answers_or_refuses_cleanly(
    world: World, ctx: Any, question: str
) -> None:
    before = len(events_of(ctx))
    try:
        answer = answer_question(CARDIO_DOC, question, ctx=ctx)
    except InvalidInput as exc:
        assert exc.user_message
        events = events_of(ctx)
        assert len(events) == before + 1 and events[-1].outcome == "rejected"
    else:
        assert all(s.supported and s.citations for s in answer.sentences)
        assert events_of(ctx)[-1].id == answer.audit_event_id
    assert world.store_fingerprint() == world.counts


_FILE_BYTES = st.one_of(
    st.binary(min_size=0, max_size=1500),
    st.binary(max_size=400).map(lambda b: b"%PDF-1.7\n" + b),
    st.binary(max_size=400).map(lambda b: b"PK\x03\x04" + b),
    st.binary(max_size=400).map(lambda b: b"\xef\xbb\xbf<html><body>" + b),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_FILE_BYTES, extension=st.sampled_from(sorted(SUPPORTED_EXTENSIONS)))
def test_random_files_through_the_ingestor_fail_alone_store_unchanged(
    world: World, data: bytes, extension: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = world.settings.model_copy(update={"data_dir": Path(tmp) / "d"})
        path = Path(tmp) / f"fuzz{extension}"
        path.write_bytes(data)
        with open_store(settings_) as store:
            ingestor = Ingestor(settings_, store=store, embedder=world.embedder)
            try:
                report = ingestor.ingest([path], library="fuzz")
            except GuideCiteError as exc:  # pragma: no cover - ingest reports, never raises
                pytest.fail(f"ingest raised {type(exc).__name__}: {exc.user_message}")
            if report.failed:
                assert path.name in report.failed[0].error
                assert store.count() == 0
            else:
                assert store.count(status="current") == report.chunks_added > 0
                assert store.count(status="pending") == 0
