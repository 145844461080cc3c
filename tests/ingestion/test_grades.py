"""Recommendation grades (issue #17 §1): each scale's forms, normalised, with their sentence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.domain import Certainty, Strength
from assistant.retrieval import grade_of
from ingestion.grades import detect_grades, grades_payload

S, C = Strength, Certainty

# Real sentences from the shipped corpus (eval/corpus/guidelines).
LIVER = (
    "肝癌的中、高风险人群快速、便捷识别是实施大范围肝癌筛查的前提。"
    "肝癌中、高风险人群应至少每隔6个月进行1次肝癌监测[11]（证据等级2，推荐A）；"
    "对于肝癌超高风险人群，每隔6~12个月进行1次增强影像学检查。"
)
CDC = (
    "Clinicians should discuss with patients the realistic benefits and known risks of opioid "
    "therapy (recommendation category: B; evidence type: 3). Clinicians should evaluate."
)
WHO = (
    "The panel recommends that IPC programmes should be established. "
    "(Strong recommendation, very low quality of evidence) Rationale for the recommendation"
)


def test_liver_guideline_form_keeps_its_scale_and_sentence() -> None:
    [grade] = detect_grades(LIVER)
    assert (grade.strength, grade.certainty) == (S.STRONG, C.MODERATE)
    assert grade.original == "证据等级2，推荐A"
    assert grade.start is not None and grade.end is not None
    assert LIVER[grade.start : grade.end] == (
        "肝癌中、高风险人群应至少每隔6个月进行1次肝癌监测[11]（证据等级2，推荐A）；"
    )


@pytest.mark.parametrize(
    ("level", "certainty"),
    [("1", C.HIGH), ("2", C.MODERATE), ("3", C.LOW), ("4", C.VERY_LOW), ("5", C.VERY_LOW)],
)
def test_liver_level_1_is_the_best(level: str, certainty: Certainty) -> None:
    [grade] = detect_grades(f"可以考虑行积极根治性切除[503]（证据等级{level}，推荐C）。")
    assert grade.certainty == certainty
    assert grade.strength == S.CONDITIONAL


def test_cdc_form() -> None:
    [grade] = detect_grades(CDC)
    assert (grade.strength, grade.certainty) == (S.CONDITIONAL, C.LOW)
    assert grade.original == "recommendation category: B; evidence type: 3"
    assert CDC[grade.start : grade.end].startswith("Clinicians should discuss")
    assert CDC[grade.start : grade.end].endswith("evidence type: 3).")


def test_cdc_form_wrapped_across_lines() -> None:
    text = "instead of ER/LA opioids (recommendation category: A;\nevidence type: 4)."
    [grade] = detect_grades(text)
    assert (grade.strength, grade.certainty) == (S.STRONG, C.VERY_LOW)
    assert grade.original == "recommendation category: A; evidence type: 4"


def test_grade_after_the_full_stop_belongs_to_the_sentence_before() -> None:
    [grade] = detect_grades(WHO)
    assert (grade.strength, grade.certainty) == (S.STRONG, C.VERY_LOW)
    assert WHO[grade.start : grade.end] == (
        "The panel recommends that IPC programmes should be established. "
        "(Strong recommendation, very low quality of evidence)"
    )


@pytest.mark.parametrize(
    ("text", "strength", "certainty"),
    [
        ("推荐使用奥司他韦（推荐等级：A，证据级别：B）。", S.STRONG, C.MODERATE),
        ("应尽早抗病毒治疗（强推荐，证据质量：低）。", S.STRONG, C.LOW),
        ("可考虑使用糖皮质激素（弱推荐）。", S.CONDITIONAL, None),
        ("不常规使用抗菌药物（不推荐，证据级别：C）。", S.AGAINST, C.LOW),
        ("推荐意见：B。", S.CONDITIONAL, None),
        (
            "Offer statins (conditional recommendation, moderate certainty of evidence).",
            S.CONDITIONAL,
            C.MODERATE,
        ),
        (
            "Avoid routine use (strong recommendation against, high-quality evidence).",
            S.AGAINST,
            C.HIGH,
        ),
        ("Give aspirin (1B).", S.STRONG, C.MODERATE),
        ("Consider antibiotics (GRADE 2C).", S.CONDITIONAL, C.LOW),
        ("Beta-blockers are recommended (Class I, Level A).", S.STRONG, C.HIGH),
        ("Routine use is not recommended (Class III, Level of evidence B).", S.AGAINST, C.MODERATE),
        ("It may be reasonable to start (Class IIb; Level C).", S.CONDITIONAL, C.LOW),
        ("Statins are reasonable (COR 2a, LOE B-NR).", S.CONDITIONAL, C.MODERATE),
        ("Aspirin may be considered (COR 2b, LOE C-EO).", S.CONDITIONAL, C.VERY_LOW),
    ],
)
def test_other_scales(text: str, strength: Strength, certainty: Certainty | None) -> None:
    [grade] = detect_grades(text)
    assert (grade.strength, grade.certainty) == (strength, certainty)
    assert grade.original in text


@pytest.mark.parametrize(
    "text",
    [
        # The liver guideline's method section describes the scale; it grades nothing.
        "最终将推荐强度分为三个等级，分别是强推荐、中等程度推荐和弱推荐（指南正文中分别用推荐A、"
        "推荐B 和推荐C 表示）。强推荐（推荐A）代表专家组对该推荐意见反映了最佳临床实践"
        "有很高的信心。",
        "作为辅助工具来具体执行证据分级（证据等级1~5）（附录1）。",
        "（证据等级1*） （证据等级2*） （证据等级3*）",
        "并且将推荐意见分为强推荐和弱推荐（有条件推荐）两种。",
        "Recommendations are more likely to be category A when the evidence is higher quality.",
        "Recommendation category B acknowledges variation in PDMP availability.",
        "High-quality evidence exists that exercise therapy improves pain.",
        "associated with increased risk for hepatic harms (evidence type 1–2).",
        "Class I recommendations are the strongest.",
        "对于出现发热的患者，建议尽早进行病原学检测。",
        "See table 1A for the doses (section 2B).",
        "",
    ],
)
def test_no_grade(text: str) -> None:
    assert detect_grades(text) == []


def test_each_recommendation_of_a_chunk_keeps_its_own_grade() -> None:
    text = (
        "①可以观察病灶血供状况（证据等级2，推荐B）；"
        "②可以检出早期肝癌（证据等级1，推荐A）；③可用于疗效评价。"
    )
    first, second = detect_grades(text)
    assert (first.strength, first.certainty) == (S.CONDITIONAL, C.MODERATE)
    assert (second.strength, second.certainty) == (S.STRONG, C.HIGH)
    assert text[first.start : first.end] == "①可以观察病灶血供状况（证据等级2，推荐B）；"
    assert text[second.start : second.end] == "②可以检出早期肝癌（证据等级1，推荐A）；"


def test_a_grade_cut_by_a_chunk_boundary_keeps_its_half() -> None:
    [head] = detect_grades("术后单纯腹膜转移的患者可以考虑行积极根治性切除[503]（证据等级3，")
    assert (head.strength, head.certainty) == (None, C.LOW)
    [tail] = detect_grades("推荐C）。术后应加强监测。")
    assert (tail.strength, tail.certainty) == (S.CONDITIONAL, None)


def test_payload_round_trip() -> None:
    grades = detect_grades(LIVER)
    payload = grades_payload(grades)
    assert payload == [
        {
            "strength": "strong",
            "certainty": "moderate",
            "original": "证据等级2，推荐A",
            "start": grades[0].start,
            "end": grades[0].end,
        }
    ]
    assert grades_payload([]) is None
    back = grade_of({"grade": payload})
    assert back is not None and back.model_dump() == {
        "strength": "strong",
        "certainty": "moderate",
        "original": "证据等级2，推荐A",
    }
    assert grade_of({"grade": None}) is None
    assert grade_of({}) is None


@given(st.text(max_size=300))
def test_spans_are_inside_the_text(text: str) -> None:
    for grade in detect_grades(text):
        assert grade.start is not None and grade.end is not None
        assert 0 <= grade.start <= grade.end <= len(text)
        assert grade.strength is not None or grade.certainty is not None
