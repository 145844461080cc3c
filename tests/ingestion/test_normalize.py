"""Normalisation: NFKC, CJK spacing, page numbers, running headers, broken lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.loaders import RawLine
from ingestion.normalize import (
    clean_lines,
    drop_running_headers,
    is_page_number,
    join_lines,
    normalize_text,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("１岁以上儿童", "1岁以上儿童"),
        ("ＨＢｓＡｇ阳性", "HBsAg阳性"),
        ("目 前 是 我 国 5 岁 及 以 上 儿 童", "目前是我国5岁及以上儿童"),
        ("（ 三 ） 颅 内 静 脉 血 栓 形 成", "（三）颅内静脉血栓形成"),
        ("2022 年全国发病人数36.77 万", "2022年全国发病人数36.77万"),
        # Chinese punctuation stays full-width; spaces around Latin words stay.
        ("流感（influenza）病毒，分为甲、乙型：", "流感（influenza）病毒，分为甲、乙型："),
        ("异常的 MPP 患儿", "异常的 MPP 患儿"),
        ("dose  of   0.5 mg", "dose of 0.5 mg"),
        # A circled list number stays one: NFKC would glue a digit to the item's first word.
        ("②帕拉米韦：成人", "②帕拉米韦：成人"),
        ("⑳ 其他", "⑳ 其他"),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    "line",
    [
        "12",
        " 3 ",
        "- 12 -",
        "— 7 —",
        "第 3 页",
        "第3页 共40页",
        "Page 3 of 40",
        "page 12",
        "iv",
        "XII",
    ],
)
def test_bare_page_numbers_recognised(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize(
    "line",
    [
        "12 mg",
        "2021 年 7 月",
        "Recommendation 1",
        "见第 3 页表 2",
        "vivid",
        "1.高血压控制",
        "mix it",
    ],
)
def test_content_lines_are_not_page_numbers(line: str) -> None:
    assert not is_page_number(line)


def test_broken_chinese_lines_join_without_spaces_and_break_at_sentence_ends() -> None:
    lines = [
        RawLine("人腺病毒肺炎是儿童社区获得性肺炎中较为严重的类型之一，多"),
        RawLine("发于 6 个月至 5 岁儿童。"),
        RawLine("重症肺炎以 3 型及 7 型多"),
        RawLine("见，HAdV-7B 型是主要流行株。"),
    ]
    cleaned = clean_lines(lines, pages=None, drop_numbers=True)
    paragraphs = [text for text, _ in join_lines(cleaned)]
    assert paragraphs == [
        "人腺病毒肺炎是儿童社区获得性肺炎中较为严重的类型之一，多发于6个月至5岁儿童。",
        "重症肺炎以3型及7型多见，HAdV-7B 型是主要流行株。",
    ]


def test_english_hyphenation_and_wrapped_lines_join_with_spaces() -> None:
    lines = [
        RawLine("Clinicians should evaluate benefits of treat-", page=1),
        RawLine("ment and consider", page=1),
        RawLine("nonopioid therapies.", page=2),
    ]
    [(text, marks)] = join_lines(lines)
    assert (
        text == "Clinicians should evaluate benefits of treatment and consider nonopioid therapies."
    )
    # The paragraph remembers where page 2 starts.
    assert marks == [(0, 1), (text.index("nonopioid therapies"), 2)]


def test_running_headers_and_footers_dropped_but_body_kept() -> None:
    lines: list[RawLine] = []
    for page in range(1, 7):
        lines += [
            RawLine(f"MMWR / November 4, 2022 / Vol. 71 / No. 3 {page}", page=page),
            RawLine("US Department of Health and Human Services", page=page),
            RawLine(f"Body text unique to page {page} about opioid dosing.", page=page),
            RawLine(f"- {page} -", page=page),
        ]
    kept = clean_lines(lines, pages=6, drop_numbers=True)
    assert [line.text for line in kept] == [
        f"Body text unique to page {page} about opioid dosing." for page in range(1, 7)
    ]


def test_running_header_rule_needs_repetition() -> None:
    lines = [RawLine("Supporting Rationale", page=1), RawLine("Text.", page=1)]
    lines += [RawLine(f"Other text {p}.", page=p) for p in range(2, 10)]
    assert drop_running_headers(lines, pages=9) == lines


def test_real_nhc_text_mess_is_cleaned(corpus_dir: Path) -> None:
    path = corpus_dir / "zh" / "儿童肺炎支原体肺炎诊疗指南（2025年版）.txt"
    raw = [RawLine(line) for line in path.read_text(encoding="utf-8").splitlines()]
    cleaned = clean_lines(raw, pages=None, drop_numbers=True)
    texts = [line.text for line in cleaned]
    assert "1" not in texts and "2" not in texts  # bare page numbers gone
    joined = "\n".join(text for text, _ in join_lines(cleaned))
    # "目 前 是 我 国 5 岁 …" spread over a broken line comes back as one clean sentence.
    assert "目前是我国5岁及以上儿童最主要的社区获得性肺炎" in joined
    # A page number in the middle of a sentence no longer splits it.
    assert "经过大环内酯类抗菌药物正规治疗72h，仍持续发热" in joined


def test_real_cdc_pdf_extraction_is_cleaned(corpus_dir: Path) -> None:
    from pypdf import PdfReader

    path = corpus_dir / "en" / "cdc-2022-opioid-prescribing-guideline_rr7103a1-H.pdf"
    reader = PdfReader(path)
    window = [
        RawLine(line, page=index + 1)
        for index in range(9, 14)  # physical pages 10-14: headers alternate "8 MMWR…", "MMWR…9"
        for line in (reader.pages[index].extract_text() or "").splitlines()
    ]
    cleaned = clean_lines(window, pages=5, drop_numbers=True)
    texts = [line.text for line in cleaned]
    assert not any("MMWR / November 4, 2022" in text for text in texts)
    assert not any(text.startswith("US Department of Health and Human Services/") for text in texts)
    joined = " ".join(text for text, _ in join_lines(cleaned))
    assert "The CDC update to the AHRQ-sponsored review included literature" in joined
