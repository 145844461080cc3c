"""Rows of dosing tables and the patient a question describes (assistant/populations.py)."""

from __future__ import annotations

import math

import pytest

from assistant.populations import Interval, Patient, age_rows, fits, patient_of, weight_rows


@pytest.mark.parametrize(
    ("question", "patient"),
    [
        ("18公斤的孩子发热，这个药单次给多少？", Patient(18.0, None)),
        ("4岁儿童怎么用？", Patient(None, 48.0)),
        ("10个月大的婴儿", Patient(None, 10.0)),
        ("What dose for a 2-year-old weighing 12 kg?", Patient(12.0, 24.0)),
        ("and for a 5-month-old?", Patient(None, 5.0)),
        ("成人剂量是多少？", Patient(None, None)),
        ("每次10mg/kg", Patient(None, None)),  # a dose per kilogram is no patient's weight
    ],
)
def test_the_patient_a_question_describes(question: str, patient: Patient) -> None:
    assert patient_of(question) == patient


def test_weight_rows_in_the_forms_guidelines_write_them() -> None:
    assert weight_rows("10kg＜体重≤25kg，每次40mg；") == [Interval(10.0, 25.0)]
    assert weight_rows("体重≤10kg，每次20mg；") == [Interval(high=10.0)]
    assert weight_rows("＞50kg 者，每次 100mg。") == [Interval(low=50.0)]
    assert len(weight_rows("体重≥60kg 者60mg，30kg≤体重<60kg 者30mg。")) == 2
    assert weight_rows("每次 3.0mg/kg，每日 2 次。") == []


def test_age_rows_in_months() -> None:
    assert age_rows("6～11 月龄，每次 2mg/kg。") == [Interval(6.0, 11.0)]
    assert age_rows("适用于 5 岁以上儿童") == [Interval(low=60.0)]
    assert age_rows("3 岁以下儿童") == [Interval(high=36.0)]
    assert age_rows("children aged 6-59 months") == [Interval(6.0, 59.0)]
    [weeks] = age_rows("2 周～4 月龄")
    assert math.isclose(weeks.low, 2 * 12 / 52) and weeks.high == 4.0


def test_a_row_holds_the_patient_or_not_and_a_table_in_one_line_is_not_judged() -> None:
    child = patient_of("18公斤的孩子")
    assert fits(child, "10kg＜体重≤25kg，每次40mg；") is True
    assert fits(child, "25kg＜体重≤40kg，每次60mg；") is False
    assert fits(child, "体重≥60kg 者60mg，30kg≤体重<60kg 者30mg。") is None
    assert fits(child, "成人每次75mg。") is None


def test_a_row_continuing_a_clause_takes_its_age_from_the_clause() -> None:
    infant = patient_of("10个月大的婴儿")
    clause = "2 岁及以上儿童推荐剂量：体重≤10kg，每次20mg；"
    assert fits(infant, "10kg＜体重≤25kg，每次40mg；", [clause]) is False
    assert fits(infant, "10kg＜体重≤25kg，每次40mg；") is None
