"""A cited passage in its context, and the original's name (issue 16 item 5), end to end: the
shipped influenza guideline (plain text) and an English DOCX, real Qdrant Edge, MiniLM, SQLite
audit and Casbin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.audit.log import open_audit_log
from assistant.citations import split_sentences
from assistant.config import Settings
from assistant.domain import Answer, AnswerMode, PassageContext, Principal, Role, Source
from assistant.errors import AccessDenied
from assistant.retrieval import to_source
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.service.passages import (
    cited_spans,
    download_name,
    original_document,
    passage_context,
)
from assistant.store import Hit
from tests.factories import (
    FLU_2025,
    FLU_REMOVED,
    HYGIENE,
    HYGIENE_QUESTION,
    hygiene_docx,
    hygiene_page,
    index_library,
    open_access,
)

DOCTOR = Principal(user="ward.doc", role=Role.DOCTOR, department="cardiology")
ADMIN = Principal(user="ward.admin", role=Role.DEPT_ADMIN, department="cardiology")
# The DOCX's library; the same guideline as HTML and Markdown is in `hospital`.
IPC = "cardiology-ipc"
STROKE_PDF = "zh/脑血管病防治指南（2024年版）_NHC.pdf"
FLU_QUESTION = "流感患者奥司他韦的成人剂量是多少？"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("passages")
    settings = Settings(data_dir=root / "data")
    hygiene = hygiene_docx(root)
    pages = [hygiene_page(root, suffix=".html"), hygiene_page(root, suffix=".md")]
    library = index_library(
        settings,
        {"hospital": [corpus_dir / FLU_2025, corpus_dir / STROKE_PDF, *pages], IPC: [hygiene]},
    )
    access = open_access(
        settings, roles=[DOCTOR, ADMIN], libraries={"cardiology-ipc": "cardiology"}
    )
    ctx = Context(
        settings=settings,
        store=library.store,
        embedder=library.embedder,
        access=access,
        audit=open_audit_log(settings),
    )
    yield {"ctx": ctx, "flu": corpus_dir / FLU_2025, "hygiene": hygiene, "pages": pages}
    library.store.close()


def _cited(answer: Answer) -> tuple[Source, list[str]]:
    """The first source the answer's sentences cite, and those sentences."""
    assert answer.mode == AnswerMode.EXTRACTIVE, answer.message
    source = next(s for s in answer.sources if any(s.n in x.citations for x in answer.sentences))
    return source, [x.text for x in answer.sentences if source.n in x.citations]


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _highlighted(context: PassageContext) -> list[str]:
    return [block.text[a:b] for block in context.blocks for a, b in block.spans]


def test_a_cited_plain_text_passage_is_shown_between_its_neighbours_with_the_cited_sentences_lit(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    source, sentences = _cited(answer_question(DOCTOR, FLU_QUESTION, ctx=ctx))
    context = passage_context(ctx, DOCTOR, source, sentences=sentences, before=2, after=2)
    assert context is not None
    assert (context.title, context.version) == ("流行性感冒诊疗方案", "2025年版")
    assert context.section == source.section and context.library == "hospital"
    indexes = [block.chunk_index for block in context.blocks]
    assert source.chunk_index is not None
    assert indexes == list(range(source.chunk_index - 2, source.chunk_index + 3))
    [cited] = [block for block in context.blocks if block.cited]
    assert cited.chunk_index == source.chunk_index and cited.text == source.text
    # The neighbours of the oseltamivir paragraph, in the order the guideline has them: the list
    # of drug classes before it, the renal-function sentence and peramivir after it.
    before = "".join(_squeeze(b.text) for b in context.blocks if b.chunk_index < cited.chunk_index)
    after = "".join(_squeeze(b.text) for b in context.blocks if b.chunk_index > cited.chunk_index)
    assert "抗流感病毒药物" in before and "奥司他韦" not in before
    assert after.startswith(_squeeze(FLU_REMOVED)) and "帕拉米韦" in after
    # The cited sentences, and only they, are highlighted: in the cited block alone.
    assert sorted(map(_squeeze, _highlighted(context))) == sorted(map(_squeeze, sentences))
    assert all(not block.spans for block in context.blocks if not block.cited)


def test_a_cited_docx_passage_keeps_every_neighbouring_sentence_once_in_document_order(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    source, sentences = _cited(answer_question(DOCTOR, HYGIENE_QUESTION, ctx=ctx, library=IPC))
    assert source.library == "cardiology-ipc" and "20 seconds" in source.text
    context = passage_context(ctx, DOCTOR, source, sentences=sentences, before=1, after=2)
    assert context is not None
    assert (context.title, context.version) == (source.title, source.version)
    assert context.title.startswith("Hand hygiene in outpatient care")
    assert [b.chunk_index for b in context.blocks] == sorted(b.chunk_index for b in context.blocks)
    shown = "\n".join(block.text for block in context.blocks)
    every = [sentence for part in HYGIENE.values() for sentence in part]
    present = [sentence for sentence in every if sentence in shown]
    # Chunks overlap in the store; the context shows each sentence once, in the file's order.
    assert all(shown.count(sentence) == 1 for sentence in present), shown
    positions = [shown.index(sentence) for sentence in present]
    assert positions == sorted(positions)
    # A run of the file's own sentences around the cited one, the section headings beside them.
    first, last = every.index(present[0]), every.index(present[-1])
    assert present == every[first : last + 1] and len(present) > len(split_sentences(source.text))
    assert "2. Technique" in {block.section.split(" > ")[-1] for block in context.blocks}
    lit = _highlighted(context)
    assert lit and sorted(lit) == sorted(sentences)
    assert any("20 seconds" in text for text in lit)


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_html_and_markdown_passages_are_shown_in_context_too(
    world: dict[str, Any], suffix: str
) -> None:
    ctx: Context = world["ctx"]
    [page] = [p for p in world["pages"] if p.suffix == suffix]
    stored = ctx.store.scroll(libraries=["hospital"], status="current")
    rows = [(i, p) for i, p in stored if p["source_file"] == page.name]
    cited_sentence = HYGIENE["2. Technique"][1]  # "… for 20 seconds until the hands are dry."
    holding = sorted((p["chunk_index"], i, p) for i, p in rows if cited_sentence in p["text"])
    _, point_id, payload = holding[0]
    source = to_source(1, Hit(id=point_id, score=1.0, payload=payload))
    context = passage_context(ctx, DOCTOR, source, sentences=[cited_sentence], before=1, after=1)
    assert context is not None and context.library == "hospital"
    assert [b.chunk_index for b in context.blocks] == sorted(b.chunk_index for b in context.blocks)
    assert _highlighted(context) == [cited_sentence]
    assert context.section.endswith("2. Technique")
    shown = "\n".join(block.text for block in context.blocks)
    assert HYGIENE["2. Technique"][-1] in shown or HYGIENE["1. Indications"][-1] in shown
    found = original_document(ctx, source)
    assert found is not None and found.name == page.name


def test_a_pdf_passage_in_context_carries_the_pages_of_its_neighbours(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    name = Path(STROKE_PDF).name
    stored = ctx.store.scroll(libraries=["hospital"], status="current")
    rows = sorted((p["chunk_index"], i, p) for i, p in stored if p["source_file"] == name)
    # A chunk from the middle of the guideline, on a page after the first.
    index, point_id, payload = rows[len(rows) // 2]
    source = to_source(1, Hit(id=point_id, score=1.0, payload=payload))
    assert source.page is not None and source.page > 1
    sentence = max(split_sentences(source.text), key=len)
    context = passage_context(ctx, DOCTOR, source, sentences=[sentence])
    assert context is not None
    assert [b.chunk_index for b in context.blocks] == list(range(index - 2, index + 3))
    [cited] = [b for b in context.blocks if b.cited]
    assert cited.page == source.page and cited.text == source.text
    pages = [b.page for b in context.blocks]
    assert all(p is not None for p in pages) and pages == sorted(pages)  # type: ignore[type-var]
    assert _highlighted(context) == [sentence]
    found = original_document(ctx, source)
    assert found is not None and found.name == name and found.path.suffix == ".pdf"


def test_an_answer_restored_without_point_ids_finds_its_passage_by_text(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    answer = answer_question(DOCTOR, FLU_QUESTION, ctx=ctx)
    source, sentences = _cited(answer)
    # What a stored conversation keeps: the answer's JSON (ids and chunk indexes are not in it).
    restored = Answer.model_validate(answer.model_dump(mode="json"))
    again = next(s for s in restored.sources if s.n == source.n)
    assert again.chunk_id == "" and again.chunk_index is None
    context = passage_context(ctx, DOCTOR, again, sentences=sentences)
    assert context is not None
    [cited] = [block for block in context.blocks if block.cited]
    assert cited.chunk_index == source.chunk_index and cited.text == source.text


def test_a_revoked_grant_refuses_the_context_and_the_refusal_is_audited(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    source, sentences = _cited(answer_question(DOCTOR, HYGIENE_QUESTION, ctx=ctx, library=IPC))
    assert passage_context(ctx, DOCTOR, source, sentences=sentences) is not None
    before = len(list(ctx.audit.iter_events(actions=["passage_view"])))
    assert before == 0  # reading a passage the answer showed writes no row
    assert ctx.access.revoke_library(ADMIN, library="cardiology-ipc", department="cardiology")
    try:
        with pytest.raises(AccessDenied):
            passage_context(ctx, DOCTOR, source, sentences=sentences)
    finally:
        ctx.access.grant_library(ADMIN, library="cardiology-ipc", department="cardiology")
    [denied] = list(ctx.audit.iter_events(actions=["passage_view"]))
    assert (denied.actor, denied.outcome, denied.object) == (
        "ward.doc",
        "denied",
        "library:cardiology-ipc",
    )
    assert denied.detail_json["doc_id"] == source.doc_id
    assert denied.detail_json["reason"] == "not_permitted"
    # Granted again, the same passage shows.
    assert passage_context(ctx, DOCTOR, source, sentences=sentences) is not None


def test_the_original_downloads_under_the_name_it_was_ingested_under(
    world: dict[str, Any],
) -> None:
    ctx: Context = world["ctx"]
    for question, original in ((FLU_QUESTION, world["flu"]), (HYGIENE_QUESTION, world["hygiene"])):
        library = None if original == world["flu"] else IPC
        source, _ = _cited(answer_question(DOCTOR, question, ctx=ctx, library=library))
        found = original_document(ctx, source)
        assert found is not None
        assert found.name == original.name  # 流行性感冒诊疗方案（2025年版）.txt, not a hash
        assert found.path.name != original.name and found.path.read_bytes() == original.read_bytes()


def test_the_download_name_is_a_bare_file_name_with_the_stored_extension() -> None:
    stored = Path("/data/originals/flu/0123456789abcdef.txt")
    assert download_name("原发性肝癌诊疗指南(2024年版).txt", path=stored) == (
        "原发性肝癌诊疗指南(2024年版).txt"
    )
    # Points written before the name was kept, or a name that is not one, fall back to the file.
    assert download_name(None, path=stored) == "0123456789abcdef.txt"
    assert download_name("..", path=stored) == "0123456789abcdef.txt"
    # Payload text is data: no folders, and the extension the stored bytes have.
    assert download_name("../../etc/passwd", path=stored) == "passwd.txt"
    assert download_name("C:\\guides\\flu.TXT", path=stored) == "flu.TXT"


def test_the_cited_spans_are_whole_sentences_of_the_passage() -> None:
    passage = "First sentence about dosing of 75 mg. Second one about children. Third on renal."
    spans = cited_spans(passage, ["Second one about children."])
    assert [passage[a:b] for a, b in spans] == ["Second one about children."]
    assert cited_spans(passage, []) == []
    zh = "奥司他韦胶囊适用于成人。成人剂量每次75mg，每日2次。肾功能不全者要调整剂量。"
    lit = [zh[a:b] for a, b in cited_spans(zh, ["成人剂量每次75mg，每日2次。"])]
    assert lit == ["成人剂量每次75mg，每日2次。"]
