"""Rows of dosing tables and the patient a question describes (assistant/populations.py)."""

from __future__ import annotations

import math

import pytest

from assistant.populations import (
    POPULATIONS,
    Interval,
    Patient,
    age_rows,
    fits,
    other_phase,
    other_population,
    patient_of,
    phases,
    populations,
    weight_rows,
)


@pytest.mark.parametrize(
    ("question", "patient"),
    [
        ("18公斤的孩子发热，这个药单次给多少？", Patient(18.0, None)),
        ("4岁儿童怎么用？", Patient(None, 48.0)),
        ("10个月大的婴儿", Patient(None, 10.0)),
        ("10个月婴儿剂量？", Patient(None, 10.0)),
        ("7个月的宝宝能吃吗？", Patient(None, 7.0)),
        ("用药10个月后复查吗？", Patient(None, None)),  # a time, not the patient's age
        ("What dose for a 2-year-old weighing 12 kg?", Patient(12.0, 24.0)),
        ("and for a 5-month-old?", Patient(None, 5.0)),
        ("成人剂量是多少？", Patient(None, None)),
        ("每次10mg/kg", Patient(None, None)),  # a dose per kilogram is no patient's weight
    ],
)
def test_the_patient_a_question_describes(question: str, patient: Patient) -> None:
    assert patient_of(question) == patient


def test_weight_rows_in_the_forms_guidelines_write_them() -> None:
    # "＜" leaves its number out (the row before holds it), "≤" keeps it.
    assert weight_rows("10kg＜体重≤25kg，每次40mg；") == [Interval(10.0, 25.0, low_open=True)]
    assert weight_rows("体重≤10kg，每次20mg；") == [Interval(high=10.0)]
    assert weight_rows("＞50kg 者，每次 100mg。") == [Interval(low=50.0, low_open=True)]
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
    # A row under its band: the row, the narrower, decides.
    infant = patient_of("10个月婴儿")
    assert fits(infant, "1岁以下儿童推荐剂量：2周～8月龄，每次3.0mg/kg；") is False
    assert fits(patient_of("6个月婴儿"), "1岁以下儿童推荐剂量：2周～8月龄，每次3.0mg/kg；")


def test_a_weight_on_a_rows_open_end_belongs_to_the_row_before() -> None:
    # "15kg＜体重≤23kg" leaves 15 kg out: a 15 kg child is dosed by the "≤15kg" row.
    child = patient_of("15公斤的孩子奥司他韦每次多少")
    assert fits(child, "体重≤15kg，每次30mg；") is True
    assert fits(child, "15kg＜体重≤23kg，每次45mg；") is False


@pytest.mark.parametrize(
    ("question", "weight", "age"),
    [
        ("体重15kg以下儿童每次多少", Interval(high=15.0), None),
        ("不到15公斤的孩子", Interval(high=15.0, high_open=True), None),
        ("What is the dose for a child under 15 kg?", Interval(high=15.0, high_open=True), None),
        ("体重超过40kg的儿童", Interval(low=40.0, low_open=True), None),
        ("a child weighing at least 23 kg", Interval(low=23.0), None),
        ("体重≥40kg", Interval(low=40.0), None),
        ("5周岁以下儿童", None, Interval(high=60.0)),  # 周岁: years of age, not weeks
        ("65岁以上老人", None, Interval(low=780.0)),
        ("children younger than 2 years", None, Interval(high=24.0, high_open=True)),
    ],
)
def test_a_bound_on_the_patient_is_a_range_not_a_point(
    question: str, weight: Interval | None, age: Interval | None
) -> None:
    patient = patient_of(question)
    assert (patient.weight, patient.age) == (weight, age)
    assert patient.weight_kg is None and patient.age_months is None


def test_a_bounded_patient_is_answered_by_the_rows_inside_the_bound() -> None:
    rows = [
        "体重≤15kg，每次30mg；",
        "15kg＜体重≤23kg，每次45mg；",
        "23kg＜体重≤40kg 者，每次60mg；",
        "＞40kg 者，每次75mg。",
    ]
    light = patient_of("体重15kg以下儿童奥司他韦每次多少")
    assert [fits(light, r) for r in rows] == [True, False, False, False]
    heavy = patient_of("What dose for a child heavier than 40 kg?")
    assert [fits(heavy, r) for r in rows] == [False, False, False, True]
    # Most of the table: every row it reaches.
    middle = patient_of("至少23公斤的孩子")
    assert [fits(middle, r) for r in rows] == [False, True, True, True]


def test_a_row_continuing_a_clause_takes_its_age_from_the_clause() -> None:
    infant = patient_of("10个月大的婴儿")
    clause = "2 岁及以上儿童推荐剂量：体重≤10kg，每次20mg；"
    assert fits(infant, "10kg＜体重≤25kg，每次40mg；", [clause]) is False
    assert fits(infant, "10kg＜体重≤25kg，每次40mg；") is None


@pytest.mark.parametrize(
    ("text", "animal"),
    [
        ("家里的猫需要打流感疫苗吗？", True),
        ("Should my puppy get a flu shot?", True),
        ("致伤动物已接种疫苗者", True),
        ("被狗咬伤后伤口要冲洗多长时间？", False),
        ("狂犬病暴露后怎么处置？", False),
        ("猫抓病的潜伏期是多久？", False),
        ("What should be done after a dog bite?", False),
        ("A nurse was bitten by a cat.", False),
        ("常见动物致伤诊疗规范", False),
    ],
)
def test_an_animal_is_a_population_only_as_the_one_spoken_of(text: str, animal: bool) -> None:
    assert ("animal" in populations(text)) is animal


def test_what_a_guideline_says_of_people_does_not_answer_for_an_animal() -> None:
    from assistant.questions import analyse_question
    from assistant.responsiveness import judge_responsive
    from tests.factories import rarity_of, table_with

    passages = ["流感疫苗应每年接种1次。", "疫苗接种可降低重症风险。", "犬咬伤应冲洗伤口。"]
    table, rarity = table_with(), rarity_of(passages)
    person = analyse_question("流感疫苗需要每年打吗？", table=table, rarity=rarity)
    assert judge_responsive(person, passages[0]).responsive
    cat = analyse_question("家里的猫需要每年打流感疫苗吗？", table=table, rarity=rarity)
    verdict = judge_responsive(cat, passages[0])
    assert not verdict.responsive and verdict.reason == "other_population"


@pytest.mark.parametrize(
    "question",
    ["老人得了流感吃奥司他韦一次几粒？", "家里老太太血压控制在多少？", "老年人流感怎么治？"],
)
def test_an_older_patient_in_everyday_words_is_an_older_patient(question: str) -> None:
    assert "older" in populations(question)
    # An infant's row is no answer for them; an adult's dose is (they are adults).
    assert other_population(question, "1岁以下儿童推荐剂量：2周～8月龄，每次3.0mg/kg；")
    assert not other_population(question, "成人剂量每次75mg，每日2次。")


def test_a_breastfeeding_mother_is_whom_a_question_asks_about_not_what() -> None:
    from assistant.questions import analyse_question
    from assistant.responsiveness import judge_responsive
    from tests.factories import glossary_table, rarity_of

    advice, dose = "哺乳期妇女使用时应暂停哺乳。", "甲苏韦用法：每次300mg，每日1次。"
    assert populations("哺乳期能用吗？") == {"lactation"}
    assert populations("Can it be used while breastfeeding?") == {"lactation"}
    analysis = analyse_question(
        "甲苏韦哺乳期能用吗？", table=glossary_table(), rarity=rarity_of([advice, dose])
    )
    # Whom, not a name every sentence must hold; and a dose said of everyone is no answer.
    assert [a.term for a in analysis.anchors] == ["甲苏韦"], analysis.anchors
    assert judge_responsive(analysis, advice, context=["甲苏韦："]).responsive
    verdict = judge_responsive(analysis, dose, along=[advice])
    assert not verdict.responsive and verdict.reason == "other_population"


def test_an_age_range_from_months_to_years_is_read_in_months() -> None:
    # "6个月-5岁": the low end in months written 个月. It was read as no range, and a
    # 10-year-old was shown this row of the levofloxacin table with ✓.
    assert age_rows("左氧氟沙星：6个月-5岁：8-10mg/(kg.次)，q12h；") == [Interval(6.0, 60.0)]
    assert age_rows("6个月～2岁") == [Interval(6.0, 24.0)]
    assert age_rows("5-16岁：8-10mg/(kg.次)，qd") == [Interval(60.0, 192.0)]
    ten = patient_of("10岁患儿用左氧氟沙星剂量怎么给？")
    assert fits(ten, "左氧氟沙星：6个月-5岁：8-10mg/(kg.次)，q12h；") is False
    assert fits(ten, "5-16岁：8-10mg/(kg.次)，qd，口服或静脉注射；") is True


def test_after_the_acute_phase_is_not_the_acute_phase() -> None:
    # "颅内静脉血栓形成急性期抗凝首选什么药" showed "急性期后改为口服抗凝药物" with ✓.
    assert phases("急性期后改为口服抗凝药物，使用华法林需监测INR。") == {"long_term"}
    assert phases("低分子肝素是急性期抗凝治疗的首选药物。") == {"acute"}
    assert phases("After the acute phase, switch to an oral anticoagulant.") == {"long_term"}
    assert other_phase("急性期抗凝首选什么药？", "急性期后改为口服抗凝药物。")


def test_a_stroke_or_bleed_called_acute_is_in_its_acute_phase() -> None:
    # "Acute spontaneous ICH — what systolic BP range should I lower to?" showed the long-term
    # target (<130/80 mmHg) of secondary prevention.
    long_term = "所有脑出血患者均应密切监测血压，长期血压控制目标值<130/80 mmHg。"
    assert other_phase("Acute spontaneous ICH: what BP range should I lower to?", long_term)
    assert other_phase("急性脑出血血压应降到多少？", long_term)
    # Called acute after its name.
    assert other_phase("spontaneous ICH — acute BP target?", long_term)
    assert other_phase("Stroke: acute blood pressure goal?", long_term)
    assert phases("What is the acute pain dose?") == set()
    assert phases("Stroke patient with acute pain: which opioid?") == set()
    assert not other_phase("脑出血患者长期血压控制目标是多少？", long_term)


def test_an_infant_is_read_whole_leaving_no_piece_of_the_word() -> None:
    # "8月龄婴儿甲流…" lost 婴 alone to the child pattern, and "儿甲流" was read as a name the
    # library lacks: the dose question was refused.
    assert "儿" not in POPULATIONS["child"].sub(" ", "婴儿甲流")
    assert "儿" not in POPULATIONS["child"].sub(" ", "婴幼儿流感")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("育龄女性可能怀孕，能用吗？", {"pregnancy"}),
        ("women of childbearing potential", {"pregnancy"}),
        ("women of child-bearing age", {"pregnancy"}),
        ("after childbirth", set()),
        ("a child of 6", {"child"}),
    ],
)
def test_women_who_may_become_pregnant_are_asked_of_as_pregnancy(
    text: str, named: set[str]
) -> None:
    # "childbearing" was read as a child, and 育龄 as the name the answer must hold.
    assert populations(text) == named


@pytest.mark.parametrize(
    "text", ["peds flu, 18 kg kiddo, oseltamivir dose?", "paeds ward: dose?", "the kiddos"]
)
def test_ward_shorthand_for_children_names_children(text: str) -> None:
    # "peds flu, 18 kg kiddo" named no child: the adult dose (75mg) stood beside the row for
    # 15–23 kg.
    assert populations(text) == {"child"}
