"""One answer out of the app as Markdown or PDF (issue 16 item 4), end to end: real Qdrant Edge,
MiniLM, SQLite audit and Casbin; the PDF read back with pypdf."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from assistant.audit.log import open_audit_log
from assistant.config import LLMSettings, Settings
from assistant.domain import AnswerMode, Principal, Role, Source
from assistant.errors import AccessDenied
from assistant.gates import GateRegistry
from assistant.llm import ChatModel
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.service.export import (
    MISSING_GLYPH,
    PDF_FONT_FILE,
    escape_markdown,
    export_answer,
    may_export,
    printable,
    source_line,
)
from tests.factories import LIVER_GRADED, index_library, liver_excerpt, open_access

DOCTOR = Principal(user="ward.doc", role=Role.DOCTOR, department="cardiology")
OTHER = Principal(user="other.doc", role=Role.DOCTOR, department="cardiology")
SYSADMIN = Principal(user="it.admin", role=Role.SYSADMIN, department="*")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ADULT_DOSE = "成人剂量每次 75mg，每日 2 次。"
DOSE_QUESTION = "成人流感患者奥司他韦的剂量是多少？"
LIVER_QUESTION = "肝癌高风险人群应多久进行一次肝癌监测？"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    """`hospital`: two guidelines stating different adult doses (a conflict); `cardiology`:
    the graded liver-screening paragraph, readable by cardiology only."""
    root = tmp_path_factory.mktemp("export")
    text = (corpus_dir / FLU).read_text(encoding="utf-8")
    start = text.index("①奥司他韦")
    passage = text[start : text.index("②帕拉米韦", start)]
    first = root / "流感抗病毒治疗指南（2025年版）.txt"
    second = root / "季节性流感用药共识（2024年版）.txt"
    first.write_text(f"流感抗病毒治疗指南\n\n抗病毒治疗\n\n{passage}", encoding="utf-8")
    changed = passage.replace(ADULT_DOSE, "成人剂量每次 150mg，每日 2 次。")
    second.write_text(f"季节性流感用药共识\n\n抗病毒治疗\n\n{changed}", encoding="utf-8")
    settings = Settings(data_dir=root / "data")
    library = index_library(
        settings, {"hospital": [first, second], "cardiology": [liver_excerpt(corpus_dir, root)]}
    )
    access = open_access(
        settings, roles=[DOCTOR, OTHER, SYSADMIN], libraries={"cardiology": "cardiology"}
    )
    # Generated answers need the department's ethics approval (issue 6).
    GateRegistry.open(settings).record(
        department="cardiology",
        reference="IRB-EXPORT-001",
        approved_by="ethics.chair",
        approved_on=date(2000, 1, 1),
        expires_on=date(2099, 1, 1),
    )
    yield {"settings": settings, "store": library.store, "embedder": library.embedder,
           "access": access}  # fmt: skip
    library.store.close()


@pytest.fixture
def ctx(world: dict[str, Any], tmp_path: Path) -> Context:
    settings: Settings = world["settings"]
    return Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings.model_copy(update={"data_dir": tmp_path / "audit"})),
    )


def _exports(ctx: Context) -> list[Any]:
    return list(ctx.audit.iter_events(actions={"answer_export"}))


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    # pypdf reads the 2-byte codes of fpdf2's embedded CID encoding as NUL + character (poppler's
    # pdftotext reads them cleanly) and spaces the glyphs: compare without either.
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


def test_markdown_names_each_source_the_answer_id_and_the_ask_events_hash(ctx: Context) -> None:
    answer = answer_question(DOCTOR, DOSE_QUESTION, ctx=ctx)
    assert answer.mode == AnswerMode.EXTRACTIVE and answer.conflicts and answer.sources
    ask = next(iter(ctx.audit.iter_events(actions={"ask"})))

    exported = export_answer(ctx, DOCTOR, answer, fmt="md", lang="en")

    assert exported.mime == "text/markdown"
    assert exported.filename.endswith(f"{answer.answer_id[:12]}.md")
    text = exported.data.decode("utf-8")
    assert f"**Answer id**: {answer.answer_id}" in text
    assert f"**Audit event (ask)**: \\#{ask.id}" in text
    assert f"**Audit event hash (sha256)**: {ask.hash}" in text and len(ask.hash) == 64
    assert "Guideline passages quoted (no model generation)" in text
    assert f"> {DOSE_QUESTION}" in text  # the question as recorded
    for sentence in answer.sentences:
        markers = "".join(f"[{n}]" for n in sentence.citations)
        assert f"- {escape_markdown(sentence.text)} {markers}\n" in text
    assert "Checked: faithful to the source yes; responsive yes" in text
    for source in answer.sources:
        line = escape_markdown(source_line(source, lang="en", numbered=False))
        assert f"- [{source.n}] {line}\n" in text
        assert f"version {source.version}" in text and f"library {source.library}" in text
    assert {"2025年版", "2024年版"} <= {s.version for s in answer.sources}
    # Where the guidelines differ, both sides, and the flag the quality team filters by.
    assert "## Where the guidelines differ" in text
    assert "75mg" in text.replace(" ", "") and "150mg" in text.replace(" ", "")
    assert "`guideline_conflict`" in text
    [row] = _exports(ctx)
    assert (row.outcome, row.actor, row.object) == ("ok", DOCTOR.user, f"answer:{answer.answer_id}")
    assert row.detail_json["answer_id"] == answer.answer_id
    assert row.detail_json["format"] == "md"
    assert row.detail_json["ask_event_id"] == ask.id
    assert row.detail_json["ask_event_hash"] == ask.hash
    assert ctx.audit.verify().ok


def test_a_generated_answer_names_its_model(
    world: dict[str, Any], tmp_path: Path, sglang_server: Any
) -> None:
    settings: Settings = world["settings"]
    ctx = Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings.model_copy(update={"data_dir": tmp_path / "audit"})),
        chat=ChatModel(LLMSettings(base_url=sglang_server.base_url, timeout_s=2, max_retries=0)),
    )
    answer = answer_question(DOCTOR, LIVER_QUESTION, ctx=ctx)
    assert answer.mode == AnswerMode.GENERATIVE, answer.flags
    model = next(iter(ctx.audit.iter_events(actions={"ask"}))).detail_json["model"]
    assert model

    text = export_answer(ctx, DOCTOR, answer, fmt="md", lang="en").data.decode("utf-8")

    assert f"**Answer mode**: Generated by {escape_markdown(model)}, every sentence checked" in text
    pdf = _pdf_text(export_answer(ctx, DOCTOR, answer, fmt="pdf", lang="zh").data)
    assert re.sub(r"\s+", "", f"模型生成（{model}）") in pdf


def test_chinese_pdf_reads_back_in_the_packaged_font_with_the_grade(ctx: Context) -> None:
    answer = answer_question(DOCTOR, LIVER_QUESTION, ctx=ctx)
    assert answer.mode == AnswerMode.EXTRACTIVE
    graded = [s for s in answer.sources if s.grade is not None]
    assert graded, [s.text[:40] for s in answer.sources]

    exported = export_answer(ctx, DOCTOR, answer, fmt="pdf", lang="zh")

    assert exported.mime == "application/pdf" and exported.data.startswith(b"%PDF-")
    ARTIFACTS.mkdir(exist_ok=True)  # for a person to look at (Chinese must render)
    (ARTIFACTS / "answer-export-zh.pdf").write_bytes(exported.data)
    text = _pdf_text(exported.data)
    assert "GuideCite回答记录" in text
    assert re.sub(r"\s+", "", LIVER_QUESTION) in text
    assert "摘录指南原文（未使用模型生成）" in text
    assert answer.answer_id in text
    ask = next(iter(ctx.audit.iter_events(actions={"ask"})))
    assert ask.hash in text
    assert "推荐等级" in text and graded[0].grade is not None
    assert re.sub(r"\s+", "", graded[0].grade.original) in text
    assert re.sub(r"\s+", "", LIVER_GRADED)[:20] in text
    # Every font in the file is the packaged Noto Sans CJK SC, embedded (a subset): nothing
    # is left to the reader's or the host's fonts.
    reader = PdfReader(io.BytesIO(exported.data))
    fonts: dict[str, Any] = {}
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for name, ref in resources["/Font"].items():
            fonts[name] = ref.get_object()
    assert fonts
    for font in fonts.values():
        assert font["/Subtype"] == "/Type0"
        assert str(font["/BaseFont"]).endswith("+NotoSansCJKSC"), font["/BaseFont"]
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile3" in descriptor or "/FontFile2" in descriptor
    assert PDF_FONT_FILE.is_file() and "noto_cjk_sans_otc" in PDF_FONT_FILE.parts
    assert not PDF_FONT_FILE.is_relative_to("/usr/share/fonts")
    [row] = _exports(ctx)
    assert (row.outcome, row.detail_json["format"], row.detail_json["lang"]) == ("ok", "pdf", "zh")


def test_a_refusal_exports_as_a_refusal_with_related_reading_not_an_answer(ctx: Context) -> None:
    # A drug no guideline holds (made up, as in test_service.py).
    answer = answer_question(DOCTOR, "流感成人患者普利美韦的剂量是多少？", ctx=ctx)
    assert answer.mode == AnswerMode.REFUSED and answer.refusal is not None
    assert answer.refusal.reason == "subject_not_found" and answer.refusal.missing
    assert answer.related

    text = export_answer(ctx, DOCTOR, answer, fmt="md", lang="zh").data.decode("utf-8")

    assert "拒答：指南库未涵盖这个问题" in text
    assert "## 拒答原因" in text
    assert f"**指南库缺少**: {'、'.join(answer.refusal.missing)}" in text
    assert "## 来源" not in text and "## 回答" not in text
    assert "## 相关阅读（并非答案）" in text
    assert "以下段落与问题最接近，但没有回答它" in text
    assert all(source.title in text for source in answer.related)
    assert "[1]" not in text  # related reading carries no citation numbers
    pdf = _pdf_text(export_answer(ctx, DOCTOR, answer, fmt="pdf", lang="en").data)
    assert "Refused:theguidelinelibrarydoesnotcoverthisquestion" in pdf
    assert [r.outcome for r in _exports(ctx)] == ["ok", "ok"]


def test_a_revoked_library_denies_the_export_and_the_denial_is_audited(
    ctx: Context, world: dict[str, Any]
) -> None:
    answer = answer_question(DOCTOR, LIVER_QUESTION, ctx=ctx)
    assert "cardiology" in {s.library for s in answer.sources}
    assert may_export(ctx, DOCTOR, answer)
    access = world["access"]
    assert access.revoke_library(SYSADMIN, library="cardiology", department="cardiology")
    try:
        assert not may_export(ctx, DOCTOR, answer)
        with pytest.raises(AccessDenied) as denied:
            export_answer(ctx, DOCTOR, answer, fmt="pdf", lang="zh")
        assert denied.value.reason == "library_not_readable"
    finally:
        access.grant_library(SYSADMIN, library="cardiology", department="cardiology")
    [row] = _exports(ctx)
    assert row.outcome == "denied"
    assert row.detail_json["reason"] == "library_not_readable"
    assert (row.detail_json["answer_id"], row.detail_json["format"]) == (answer.answer_id, "pdf")
    assert "ask_event_hash" not in row.detail_json  # nothing was written out


def test_only_the_asker_exports_an_answer(ctx: Context) -> None:
    answer = answer_question(DOCTOR, DOSE_QUESTION, ctx=ctx)
    with pytest.raises(AccessDenied) as denied:
        export_answer(ctx, OTHER, answer, fmt="md", lang="en")
    assert denied.value.reason == "not_your_answer"
    [row] = _exports(ctx)
    assert (row.actor, row.outcome, row.detail_json["reason"]) == (
        OTHER.user,
        "denied",
        "not_your_answer",
    )


def test_source_line_names_page_and_section_where_known() -> None:
    source = Source(
        n=2, doc_id="d", title="CDC Guide", version="v2.3", section="Hand hygiene",
        page=7, page_label="vii", library="hospital", text="…",
    )  # fmt: skip
    assert source_line(source, lang="en") == (
        "[2] CDC Guide · version v2.3 · section Hand hygiene · page vii · library hospital"
    )
    unpaged = source.model_copy(update={"page": None, "page_label": None, "section": ""})
    unpaged_line = source_line(unpaged, lang="zh", numbered=False)
    assert unpaged_line == "CDC Guide · 版本 v2.3 · 指南库 hospital"


def test_stored_text_cannot_become_a_link_an_image_or_html_in_the_markdown() -> None:
    escaped = escape_markdown("![x](https://evil.example/?q=1) <img src=x> **bold**\n# head")
    assert escaped == (r"\!\[x\](https://evil.example/?q=1) \<img src=x\> \*\*bold\*\* \# head")


def test_a_character_the_font_lacks_shows_as_missing_rather_than_vanishing() -> None:
    assert printable("成人 75 mg\u2003每日😀2次\x07") == f"成人 75 mg 每日{MISSING_GLYPH}2次"
    assert printable("≤ ≥ ℃ µg ① α") == "≤ ≥ ℃ µg ① α"
