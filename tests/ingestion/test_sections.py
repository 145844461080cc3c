"""Sections: numbered and structural headings, nesting, list items, pages per section."""

from __future__ import annotations

import pytest

from ingestion.loaders import RawLine
from ingestion.sections import build_sections, heading_rank


@pytest.mark.parametrize(
    ("text", "language", "rank"),
    [
        ("第一章 脑血管病相关定义及疾病负担", "zh", 11),
        ("第二节 诊断", "zh", 12),
        ("一、病原学", "zh", 13),
        ("（一）传染源。", "zh", 14),
        ("(二)塑型支气管炎的识别", "zh", 14),
        ("1.高血压控制", "zh", 15),
        ("2. 二线系统治疗", "zh", 15),
        ("（1）常证", "zh", 16),
        ("Recommendation 7", "en", 12),
    ],
)
def test_heading_ranks(text: str, language: str, rank: int) -> None:
    assert heading_rank(text, language=language, numbered_en=True) == rank


@pytest.mark.parametrize(
    "text",
    [
        "1.脑梗死：又称缺血性卒中，由于脑局部血液循环障碍所导",  # definition list item
        "1.5 亿人口",  # a decimal, not a heading
        "（1）预防、筛查和监测是降低肝癌发病率和病死率的重要手段；",  # a sentence
        "一、各地卫生健康部门要高度重视，认真组织学习，切实做好救治工作。",
        "2021 年 7 月",
    ],
)
def test_list_items_and_sentences_are_not_headings(text: str) -> None:
    assert heading_rank(text, language="zh", numbered_en=True) is None


@pytest.mark.parametrize(
    ("text", "rank"),
    [("1. Introduction", 13), ("2.3 Hand Hygiene", 14), ("IV. Methods", 12)],
)
def test_english_numbered_headings(text: str, rank: int) -> None:
    assert heading_rank(text, language="en", numbered_en=True) == rank
    assert (
        heading_rank(
            "1. Facilities should ensure that devices are cleaned.", language="en", numbered_en=True
        )
        is None
    )


def test_chinese_levels_nest_and_pop() -> None:
    text = """前言说明。
第一章 总则
一、病原学
流感病毒属于正黏病毒科。
（一）传染源。
患者是主要传染源。
1.发热
体温超过38℃。
（1）儿童
儿童更常见。
（二）传播途径。
经飞沫传播。
二、治疗
对症治疗。"""
    sections = build_sections([RawLine(line) for line in text.splitlines()], language="zh")
    got = [(s.path, s.text) for s in sections]
    assert got == [
        ([], "前言说明。"),
        (["第一章 总则", "一、病原学"], "流感病毒属于正黏病毒科。"),
        (["第一章 总则", "一、病原学", "（一）传染源"], "患者是主要传染源。"),
        (["第一章 总则", "一、病原学", "（一）传染源", "1.发热"], "体温超过38℃。"),
        (["第一章 总则", "一、病原学", "（一）传染源", "1.发热", "（1）儿童"], "儿童更常见。"),
        (["第一章 总则", "一、病原学", "（二）传播途径"], "经飞沫传播。"),
        (["第一章 总则", "二、治疗"], "对症治疗。"),
    ]


def test_run_in_heading_is_split_from_its_body() -> None:
    lines = [RawLine("七、治疗"), RawLine("（一）评估病情。治疗过程中，应当及时识别重症病例。")]
    [section] = build_sections(lines, language="zh")
    assert section.path == ["七、治疗", "（一）评估病情"]
    assert section.text == "治疗过程中，应当及时识别重症病例。"


def test_wrapped_list_item_at_full_line_width_is_not_a_heading() -> None:
    body = "肝癌的发病与乙型肝炎病毒感染密切相关，应当积极筛查高危人群并规范随访管理"
    lines = [RawLine("二、预防")] + [RawLine(body[:26]) for _ in range(24)]
    lines += [RawLine("（1）预防、筛查和监测是降低肝癌发病率和病死率的重"), RawLine("要手段。")]
    sections = build_sections(lines, language="zh", wrapped=True)
    assert [s.path for s in sections] == [["二、预防"]]
    assert sections[0].text.endswith("（1）预防、筛查和监测是降低肝癌发病率和病死率的重要手段。")


def test_compilation_part_titles_become_top_level_sections() -> None:
    text = [
        "常见动物致伤诊疗规范",
        "目录",
        "一、狂犬病诊疗规范",
        "二、犬咬伤诊疗规范",
        "狂犬病诊疗规范",
        "狂犬病是人兽共患传染病。",
        "一、病原学",
        "狂犬病病毒属于弹状病毒科。",
        "犬咬伤诊疗规范",
        "一、流行病学",
        "犬咬伤常见。",
    ]
    sections = build_sections([RawLine(t) for t in text], language="zh")
    paths = [s.path for s in sections]
    assert ["狂犬病诊疗规范"] in paths
    assert ["狂犬病诊疗规范", "一、病原学"] in paths
    assert ["犬咬伤诊疗规范", "一、流行病学"] in paths


def test_structural_levels_from_markup_and_recommendations_are_siblings() -> None:
    lines = [
        RawLine("Recommendations", page=16, level=1),
        RawLine("Determining Whether to Initiate Opioids", page=18, level=2),
        RawLine("Recommendation 1", page=18, level=3),
        RawLine("Nonopioid therapies are preferred.", page=18),
        RawLine("Recommendation 2", page=22, level=4),  # the PDF outline nests it wrongly
        RawLine("Discuss realistic goals.", page=22),
        RawLine("continued on the next page.", page=23),
    ]
    sections = build_sections(lines, language="en", trust_levels=False)
    assert [s.path for s in sections] == [
        ["Recommendations", "Determining Whether to Initiate Opioids", "Recommendation 1"],
        ["Recommendations", "Determining Whether to Initiate Opioids", "Recommendation 2"],
    ]
    last = sections[1]
    assert last.page_at(0) == 22
    assert last.page_at(len(last.text) - 1) == 23


def test_english_upper_case_headings_when_no_structure() -> None:
    lines = [
        RawLine(t, page=1)
        for t in [
            "FUNDAMENTAL ELEMENTS NEEDED TO PREVENT",
            "TRANSMISSION OF INFECTIOUS AGENTS",
            "Infection prevention must be made a priority.",
        ]
    ]
    [section] = build_sections(lines, language="en")
    assert section.path == [
        "FUNDAMENTAL ELEMENTS NEEDED TO PREVENT TRANSMISSION OF INFECTIOUS AGENTS"
    ]


def test_wrapped_english_recommendation_stays_in_the_passage() -> None:
    # CDC outpatient guide: numbered recommendations wrap mid-sentence in the PDF text.
    lines = [
        RawLine("SAFE INJECTION PRACTICES"),
        RawLine("7. Dedicate multidose vials to a single patient"),
        RawLine("whenever possible. If multidose vials will be used for more than one patient,"),
        RawLine("they should be restricted to a centralized medication area."),
        RawLine("8. Sharps Safety"),
        RawLine("Dispose of used sharps at the point of use."),
    ]
    sections = build_sections(lines, language="en")
    texts = {" > ".join(s.path): " ".join(s.text.split()) for s in sections}
    assert texts["SAFE INJECTION PRACTICES"].startswith(
        "7. Dedicate multidose vials to a single patient whenever possible."
    )
    # A numbered line followed by a capitalised sentence is still a heading.
    assert texts["SAFE INJECTION PRACTICES > 8. Sharps Safety"] == (
        "Dispose of used sharps at the point of use."
    )


def test_a_list_opened_by_a_lead_in_keeps_its_short_items_as_body() -> None:
    # "（2）…" is short enough to look like a heading; after "…标准（满足下列任意 1 条）：" it is
    # an item of the list, and the list stays in the lead-in's passage.
    lines = [
        RawLine("（一）基本原则。"),
        RawLine("2.出院标准（满足下列标准全部条件）："),
        RawLine("（1）体温恢复正常 3 天以上，症状明显好转，"),
        RawLine("肺部影像学显示炎症明显吸收。"),
        RawLine("（2）连续两次检测阴性。"),
        RawLine("（3）无需吸氧。"),
        RawLine("（二）对症治疗。"),
        RawLine("高热者可进行物理降温。"),
    ]
    sections = build_sections(lines, language="zh")
    assert [s.path for s in sections] == [["（一）基本原则"], ["（二）对症治疗"]]
    assert "（2）连续两次检测阴性。" in sections[0].text
    assert sections[0].text.endswith("（3）无需吸氧。")


def test_a_short_numbered_line_without_a_lead_in_is_still_a_heading() -> None:
    lines = [
        RawLine("一、治疗"),
        RawLine("治疗原则如下。"),
        RawLine("（1）常证"),
        RawLine("辨证施治。"),
    ]
    sections = build_sections(lines, language="zh")
    assert [s.path for s in sections] == [["一、治疗"], ["一、治疗", "（1）常证"]]


def test_bibliography_headings_are_recognised_at_any_level() -> None:
    from assistant.language import is_bibliography

    for heading in (
        "References",
        "REFERENCES",
        "9 References",
        "9. References",
        "参考文献",
        "四、参考文献",
        "主要参考文献",
        "Bibliography",
        "Literature cited",
    ):
        assert is_bibliography([heading]), heading
    assert is_bibliography(["第三章 治疗", "参考文献"])
    for heading in (
        "Referencing the guideline",
        "References to other guidance",
        "Source documents",
        "Reference values of laboratory tests",
        "六、声明",
    ):
        assert not is_bibliography([heading]), heading
    assert not is_bibliography([])
