"""Whether a sentence answers the question: its subject, aspect, population, stage and
biting animal (issue #10 item 1; assistant/responsiveness.py)."""

from __future__ import annotations

import random

import pytest

from assistant.aspects import detect_aspect
from assistant.domain import Source
from assistant.drug_subjects import (
    names_some_drug,
    recommends_a_class,
)
from assistant.generation import compose_extractive
from assistant.glossary import LayeredTerms, TermTable, cedict_table, library_glosses, load_glossary
from assistant.questions import analyse_question
from assistant.responsiveness import (
    defines,
    heading_of,
    judge_responsive,
    stated_under,
)
from assistant.zh_names import gloss_term_start, names_in
from tests.factories import (
    SMALL_LIBRARY,
    ZH_SYLLABLES,
    fake_drug,
    glossary_table,
    make_source,
    rarity_of,
    table_with,
)


def test_a_sentence_about_another_drug_is_not_responsive() -> None:
    analysis = analyse_question(
        "奥司他韦的成人剂量？", table=table_with(), rarity=rarity_of(SMALL_LIBRARY)
    )
    assert judge_responsive(analysis, SMALL_LIBRARY[0]).responsive
    other = judge_responsive(analysis, SMALL_LIBRARY[1])
    assert not other.responsive and other.reason == "other_subject"
    # The subject in the sentence before carries over; the aspect must be in the sentence.
    assert judge_responsive(analysis, "成人每次75mg，每日2次。", context=["奥司他韦："]).responsive
    no_dose = judge_responsive(analysis, "奥司他韦适用于1岁以上儿童。")
    assert not no_dose.responsive and no_dose.reason == "other_aspect"


def test_a_question_naming_a_drug_needs_that_drug_even_under_a_heavier_name() -> None:
    """A rarer name (COVID-19) outweighs the drug's; a sentence giving another drug's dose
    under it is still about that drug, whatever its heading names."""
    passages = [
        "In COVID-19, hydrocodone 5 mg four times a day may be given.",
        "Oxycodone 10 mg twice a day.",
        "Oxycodone is an opioid.",
    ]
    table = glossary_table()
    analysis = analyse_question(
        "What oxycodone dose is given in COVID-19?", table=table, rarity=rarity_of(passages)
    )
    assert [a.term for a in analysis.anchors][:2] == ["COVID-19", "oxycodone"], analysis.terms
    other = judge_responsive(analysis, passages[0], context=["Oxycodone in COVID-19"])
    assert not other.responsive and other.reason == "other_subject"
    named = "In COVID-19, oxycodone 5 mg rather than hydrocodone may be given."
    assert judge_responsive(analysis, named).responsive


def test_asked_which_drug_a_disease_takes_the_drug_it_names_is_the_answer() -> None:
    passages = [
        "重型病例酌情短期内使用糖皮质激素，建议地塞米松5mg/日或甲泼尼龙40mg/日。",
        "流感重型病例可使用奥司他韦，成人每次75mg。",
        "流行性感冒是流感病毒引起的急性呼吸道传染病。",
    ]
    table = glossary_table()
    rarity = rarity_of(passages)
    which = analyse_question(
        "流感重型病人用激素，推荐哪种、每天多少量？", table=table, rarity=rarity
    )
    assert [t.term for t in which.anchors] == ["流感"], which.terms
    assert judge_responsive(which, passages[0], context=["流行性感冒诊疗方案"]).responsive
    # Asked about one drug, another drug's dose is still another subject.
    named = analyse_question("流感重型病人用奥司他韦每天多少量？", table=table, rarity=rarity)
    other = judge_responsive(named, passages[0], context=["流行性感冒诊疗方案"])
    assert not other.responsive and other.reason == "other_subject"
    # Naming no drug and asking no drug, a sentence on a drug answers something else.
    window = analyse_question("流感重型病人每天吸氧多久？", table=table, rarity=rarity)
    assert not judge_responsive(window, passages[1], context=["流行性感冒诊疗方案"]).responsive


def test_a_phase_of_the_disease_asked_is_not_answered_by_another_phase() -> None:
    analysis = analyse_question("脑出血急性期血压要降到什么范围？", table=table_with(), rarity=None)
    long_term = judge_responsive(analysis, "脑出血患者长期血压控制目标值<130/80 mmHg。")
    assert not long_term.responsive and long_term.reason == "other_phase"
    assert judge_responsive(analysis, "脑出血发病后迅速启动降压，调整至140~180 mmHg。").responsive
    assert judge_responsive(analysis, "脑出血急性期血压控制在140~180 mmHg。").responsive
    english = analyse_question(
        "What blood pressure target applies in the acute phase of stroke?",
        table=table_with(),
        rarity=None,
    )
    assert not judge_responsive(english, "Long-term stroke BP target is <130/80 mmHg.").responsive
    # A disease's name holding 急性 names no phase.
    assert judge_responsive(analysis, "急性脑出血患者血压降至140~180 mmHg。").responsive


def test_an_incubation_question_needs_a_stated_period() -> None:
    analysis = analyse_question("狂犬病的潜伏期多长？", table=table_with(), rarity=None)
    assert judge_responsive(analysis, "狂犬病潜伏期一般为1-3个月。").responsive
    assert not judge_responsive(analysis, "激素可能缩短狂犬病潜伏期。").responsive


@pytest.mark.parametrize(
    ("question", "sentence", "responsive"),
    [
        ("儿童奥司他韦剂量？", "奥司他韦成人剂量每次75mg，每日2次。", False),
        ("儿童奥司他韦剂量？", "奥司他韦儿童每次3mg/kg。", True),
        ("What oseltamivir dose for children?", "Oseltamivir 75 mg twice daily for adults.", False),
        ("奥司他韦剂量？", "奥司他韦成人剂量每次75mg，每日2次。", True),
        # Older people have their own targets: a statement of everyone's is not theirs.
        (
            "What blood pressure target applies to patients aged 80 or older?",
            "Blood pressure should be kept below 130/80 mmHg.",
            False,
        ),
        ("80岁以上老年人血压控制目标？", "80岁及以上老年患者血压可控制在150/90mmHg以下。", True),
        ("哪些儿童得流感易发展为重症？", "年龄≥65岁的老年人；", False),
        # An older patient is an adult: the adult's dose is theirs too, a child's is not.
        ("老人吃奥司他韦一次几粒？", "奥司他韦成人剂量每次75mg，每日2次。", True),
        ("老人吃奥司他韦一次几粒？", "奥司他韦儿童每次3mg/kg。", False),
    ],
)
def test_a_statement_about_another_population_does_not_answer(
    question: str, sentence: str, responsive: bool
) -> None:
    analysis = analyse_question(question, table=table_with(), rarity=None)
    assert judge_responsive(analysis, sentence).responsive is responsive


@pytest.mark.parametrize("seed", range(4))
def test_a_sentence_naming_another_drug_never_answers_even_under_the_right_heading(
    seed: int,
) -> None:
    other = "".join(random.Random(seed + 100).choice("扎那帕拉米洛沙") for _ in range(3)) + "韦"
    mine = "".join(random.Random(seed + 200).choice(ZH_SYLLABLES) for _ in range(3)) + "韦"
    analysis = analyse_question(f"{mine}的剂量？", table=table_with(), rarity=None)
    assert [t.term for t in analysis.anchors] == [mine]  # jieba's pieces joined into one name
    context = [f"{mine}：适用于成人。"]
    assert judge_responsive(analysis, "每次75mg，每日2次。", context=context).responsive
    verdict = judge_responsive(analysis, f"{other}：每次300mg。", context=context)
    assert not verdict.responsive and verdict.reason == "other_subject"


@pytest.mark.parametrize(
    ("question", "other"),
    [
        (
            "支原体肺炎用多西环素，儿童剂量是多少？",
            "米诺环素：首剂4mg/（kg.次），最大量不超过200mg。",
        ),
        ("米诺环素儿童首剂多少？", "多西环素：推荐剂量为2mg/（kg.次），q12h。"),
    ],
)
def test_a_sibling_drug_of_the_same_class_is_another_subject(question: str, other: str) -> None:
    analysis = analyse_question(question, table=table_with(), rarity=None)
    verdict = judge_responsive(analysis, other, context=[analysis.anchors[0].term])
    assert not verdict.responsive and verdict.reason == "other_subject"


def test_a_question_about_children_or_pregnancy_needs_them_named_where_the_sentence_stands() -> (
    None
):
    sentence = "长期血压控制目标值<130/80 mmHg。"
    pregnant = analyse_question("妊娠期高血压的降压目标值是多少？", table=table_with(), rarity=None)
    verdict = judge_responsive(pregnant, sentence, context=["脑出血的治疗", "脑血管病防治指南"])
    assert (verdict.responsive, verdict.reason) == (False, "other_population")
    # Named in the section or the title, the sentence speaks of them.
    under = judge_responsive(pregnant, sentence, context=["妊娠期高血压疾病", "某指南"])
    assert under.responsive
    child = analyse_question(
        "What blood pressure target is advised for children?", table=table_with()
    )
    assert not judge_responsive(child, "Target below 130/80 mmHg.", context=["Adults"]).responsive
    # An adult's question is answered by what is said of patients at large.
    adult = analyse_question("成人高血压的降压目标值是多少？", table=table_with(), rarity=None)
    assert judge_responsive(adult, sentence, context=["高血压", "指南"]).responsive


def test_an_abbreviation_in_mixed_case_is_a_name_the_answer_must_hold() -> None:
    rarity = rarity_of([*SMALL_LIBRARY, "血清抗体 IgM 检测：MP-IgM 抗体一般在感染后5-7天出现。"])
    analysis = analyse_question(
        "How many days after infection does IgM appear?", table=table_with(), rarity=rarity
    )
    assert "IgM" in [t.term for t in analysis.anchors]
    assert not judge_responsive(analysis, "一般疗程为10d。").responsive
    assert judge_responsive(analysis, "MP-IgM 抗体一般在感染后5-7天出现。").responsive


def test_a_name_only_the_title_gives_needs_another_word_of_the_question_in_the_sentence() -> None:
    glossary = TermTable()
    glossary.add("新型冠状病毒感染", "COVID-19")
    table = LayeredTerms((glossary, cedict_table()), clinical=1)
    title = "新型冠状病毒感染诊疗方案"
    analysis = analyse_question("新冠重型病人用激素，每天多少量？", table=table, rarity=None)
    assert "激素" in [t.term for t in analysis.common]
    prone = "重型病例应当给予规范的俯卧位治疗，建议每天不少于12小时。"
    steroid = "重型病例酌情短期内使用激素，每天不超过40mg。"
    for sentence, expected in ((prone, False), (steroid, True)):
        verdict = judge_responsive(analysis, sentence, context=[title], titles=[title])
        assert verdict.responsive is expected, sentence


def test_a_pointer_to_another_document_never_answers() -> None:
    analysis = analyse_question(
        "Which regimen is recommended for HIV prophylaxis after a needlestick?",
        table=table_with(),
        rarity=None,
    )
    pointer = (
        "Recommended Vaccines for Healthcare Workers and HIV Needlestick Prevention "
        "(available at: http://www.osha.gov/needlestick/index.html)."
    )
    verdict = judge_responsive(analysis, pointer)
    assert not verdict.responsive and verdict.reason == "reference"


@pytest.mark.parametrize(
    "entry",
    [
        "中国肝细胞癌经动脉化疗栓塞(TACE)治疗临床实践指南(2023年版)[J].",
        "国家卫生健康委. 原发性肝癌诊疗指南[S/OL]. [EB/OL].",
        "Smith J, Lee K. TACE and liver cancer outcomes. Crit Care Med. 2015;43(2):100-107.",
        "Brown A. TACE follow-up imaging. J Hepatol. 2019; 70: 55-60.",
        "Lee K. TACE response. doi: 10.1016/j.jhep.2019.01.001",
    ],
)
def test_a_reference_list_entry_standing_in_a_passage_never_answers(entry: str) -> None:
    # Reference lists that the document's headings do not mark (they follow another section)
    # still read as citations: a type mark [J]/[M]/[EB/OL], year;volume:pages, a DOI.
    analysis = analyse_question(
        "How is TACE used in liver cancer?", table=table_with(), rarity=None
    )
    verdict = judge_responsive(analysis, entry)
    assert not verdict.responsive and verdict.reason == "reference"
    stated = "TACE is the most widely used arterial therapy for liver cancer (ref 12; 2019)."
    assert judge_responsive(analysis, stated).reason != "reference"


def test_a_clipped_word_no_passage_holds_is_read_as_the_word_it_begins() -> None:
    passages = [
        "Rehabilitation after a hip fracture starts on the second day.",
        "Physiotherapy is part of rehabilitation for most patients.",
        "Hypothermia should be prevented in the theatre.",
    ]
    rarity = rarity_of(passages)
    assert rarity.completions("rehab") == ["rehabilitation"]
    # A word the library holds, and a clip shorter than five letters, stay as they are.
    assert rarity.completions("rehabilitation") == []
    assert rarity.completions("hypo") == []
    analysis = analyse_question(
        "When does rehab start after a hip fracture?", table=table_with(), rarity=rarity
    )
    rehab = next(t for t in analysis.terms if t.term == "rehab")
    assert "rehabilitation" in rehab.forms and rehab.in_library
    assert judge_responsive(analysis, passages[0]).responsive


def test_a_question_giving_examples_of_a_class_is_answered_about_the_class() -> None:
    passages = [
        "慢性病高风险人群应每年至少测量1次血压。",
        "痛风患者应低嘌呤饮食。",
        "高血压患者应限制食盐摄入。",
        "慢性病患者应定期随访。",
    ]
    table = table_with()
    analysis = analyse_question(
        "痛风、高血压这类慢性病高风险人群多久测一次血压？", table=table, rarity=rarity_of(passages)
    )
    assert {"痛风", "高血压"}.isdisjoint(a.term for a in analysis.anchors), analysis.terms
    assert judge_responsive(analysis, passages[0]).responsive
    # Without the class the examples are all the question names, and they stay its subject.
    plain = analyse_question("痛风患者多久测一次血压？", table=table, rarity=rarity_of(passages))
    assert "痛风" in [a.term for a in plain.anchors]
    assert not judge_responsive(plain, passages[0]).responsive


def test_a_drug_given_as_an_example_stays_the_subject() -> None:
    passages = [
        "地塞米松5mg/日，疗程10天。",
        "甲泼尼龙40mg/日，疗程5天。",
        "糖皮质激素应短期使用。",
    ]
    analysis = analyse_question(
        "重症患儿用甲泼尼龙这类激素用多少量？", table=glossary_table(), rarity=rarity_of(passages)
    )
    assert "甲泼尼龙" in [a.term for a in analysis.anchors]
    assert not judge_responsive(analysis, passages[0]).responsive


def test_a_further_name_may_stand_elsewhere_in_the_paragraph_of_a_sentence_stating_the_aspect() -> (
    None
):
    passage = (
        "Regularly repeated (for example, yearly) cholangitis audits are the usual approach. "
        "They cover wards that see bacteremia."
    )
    passages = [passage, "Bacteremia is counted in every ward.", "Cholangitis needs drainage."]
    analysis = analyse_question(
        "How often are cholangitis audits repeated in wards with bacteremia?",
        table=table_with(("胆管炎", "cholangitis"), ("菌血症", "bacteremia")),
        rarity=rarity_of(passages),
    )
    assert {a.term for a in analysis.anchors} == {"cholangitis", "bacteremia"}, analysis.terms
    main = analysis.anchors[0].term
    other = "bacteremia" if main == "cholangitis" else "cholangitis"
    first = f"Regularly repeated (for example, yearly) {main} audits are the usual approach."
    assert not judge_responsive(analysis, first).responsive
    assert judge_responsive(analysis, first, passage=f"{first} Wards that see {other}.").responsive
    # A sentence that states no asked aspect must name every name itself.
    no_aspect = f"{main.capitalize()} audits are the usual approach."
    assert not judge_responsive(
        analysis, no_aspect, passage=f"{no_aspect} Wards that see {other}."
    ).responsive


def test_a_question_about_one_stage_is_answered_by_that_row_of_the_table() -> None:
    rows = [
        "XYZ Ia 期：单个病灶，直径≤2cm，无转移；",
        "XYZ Ib 期：单个病灶，直径>2cm，无转移；",
        "XYZ Ia~IIa 期的首选治疗是手术切除。",
    ]
    passages = [*rows, "XYZ 分期共有6期。", "治疗需要多学科评估。"]
    analysis = analyse_question(
        "XYZ Ia期怎么定义？", table=table_with(), rarity=rarity_of(passages)
    )
    assert "Ia" in [a.term for a in analysis.anchors], analysis.terms
    assert judge_responsive(analysis, rows[0]).responsive
    other = judge_responsive(analysis, rows[1], context=[rows[0]])
    assert not other.responsive and other.reason == "other_subject"
    # A range of stages may hold the one asked.
    assert judge_responsive(analysis, rows[2]).responsive


def test_advice_about_another_animal_s_bite_does_not_answer_for_this_one() -> None:
    passages = [
        "猪咬伤伤口感染风险较大，应避免I期缝合。",
        "犬咬伤伤口超过6小时者不建议I期缝合。",
        "较深的刺伤创面不建议I期缝合。",
    ]
    analysis = analyse_question(
        "狗咬伤的伤口什么时候不能缝合？", table=table_with(), rarity=rarity_of(passages)
    )
    pig = judge_responsive(analysis, passages[0])
    assert not pig.responsive and pig.reason == "other_subject"
    assert judge_responsive(analysis, passages[1]).responsive
    # A sentence naming no animal still speaks of bites in general.
    assert judge_responsive(analysis, passages[2]).responsive
    cat = analyse_question("猫抓伤后要打破伤风疫苗吗？", table=table_with(), rarity=None)
    for other in ("海蜇蜇伤后有感染破伤风风险。", "蚂蚁蜇伤伤口有感染破伤风风险。"):
        assert not judge_responsive(cat, other).responsive
    english = analyse_question("Can a cat bite be sutured?", table=table_with(), rarity=None)
    assert not judge_responsive(english, "A dog bite to the face may be sutured.").responsive
    passive = analyse_question(
        "A child was scratched by a cat: should the wound be sutured?", table=table_with()
    )
    horse = judge_responsive(passive, "马咬伤伤口污染较重，不宜缝合。")
    assert not horse.responsive and horse.reason == "other_subject"
    # Naming no animal, a sentence is about the animal of the section it stands under.
    snake = analyse_question("被毒蛇咬了伤口要缝合吗？", table=table_with(), rarity=None)
    stitches = "对于彻底清创后表浅的伤口，可以I期缝合。"
    under_horse = judge_responsive(snake, stitches, context=["马咬伤诊疗规范 > 一、处置要求"])
    assert not under_horse.responsive and under_horse.reason == "other_subject"
    assert judge_responsive(snake, stitches, context=["蛇咬伤诊疗规范 > 六、救治"]).responsive
    # The animal a few words before the bite ("啮齿动物尖细的门齿咬伤"); 狂犬病 names no dog.
    dog = analyse_question("狗咬伤要打破伤风吗？", table=table_with(), rarity=None)
    rodent = "部分啮齿动物尖细的凿状门齿咬伤造成小而深的伤口，属破伤风感染高风险。"
    assert not judge_responsive(dog, rodent).responsive
    rabies = "狂犬病暴露者被抓伤后有感染破伤风风险。"
    assert judge_responsive(cat, rabies).responsive


def test_a_kind_and_its_negation_are_different_subjects() -> None:
    """ "非心源性" stroke is not "心源性" stroke, nor "nonopioid" therapy opioid therapy: a
    sentence naming only the opposite kind answers nothing; one naming both still may."""
    passages = [
        "对于心源性缺血性卒中，抗凝治疗是预防复发的核心手段，INR 目标值2.0~3.0。",
        "对于非心源性缺血性卒中患者，推荐抗血小板治疗。",
        "缺血性卒中患者应控制血压。",
        "心源性与非心源性缺血性卒中均应评估复发风险。",
    ]
    rarity = rarity_of(passages)
    negated = analyse_question(
        "非心源性缺血性卒中怎么预防复发？", table=table_with(), rarity=rarity
    )
    opposite = judge_responsive(negated, passages[0])
    assert not opposite.responsive and opposite.reason == "other_subject"
    assert judge_responsive(negated, passages[1]).responsive
    assert judge_responsive(negated, passages[3]).responsive
    plain = analyse_question("心源性缺血性卒中怎么预防复发？", table=table_with(), rarity=rarity)
    assert judge_responsive(plain, passages[0]).responsive
    assert judge_responsive(plain, passages[1]).reason == "other_subject"
    english = analyse_question(
        "Which nonopioid therapies work for acute pain?", table=table_with(), rarity=None
    )
    assert not judge_responsive(
        english, "Opioid therapy works for severe acute pain when benefits outweigh risks."
    ).responsive
    assert judge_responsive(
        english, "Nonopioid therapies such as NSAIDs work for acute pain."
    ).responsive


def test_asked_about_a_condition_of_a_drug_a_sentence_on_the_drug_alone_is_no_answer() -> None:
    """ "佐伐西林过敏的人用什么替代" asks about the allergy: a sentence on prescribing the drug
    says nothing of it; one about the allergy (in its context too) may answer."""
    english, drug = fake_drug(3)
    table = table_with((drug, english))
    passages = [
        f"轻症可选用{drug}，疗程7天。",
        f"对{drug}过敏者，可口服多西环素替代。",
        f"{drug}过敏的处理",
        "应换用其他类别的药物替代。",
    ]
    rarity = rarity_of(passages)
    allergy = analyse_question(f"{drug}过敏的人用什么替代？", table=table, rarity=rarity)
    assert allergy.aspect is None
    assert not judge_responsive(allergy, passages[0]).responsive
    assert judge_responsive(allergy, passages[1]).responsive
    assert judge_responsive(allergy, passages[3], context=[passages[2]]).responsive
    # Asked about the drug itself, a sentence on prescribing it stays an answer.
    plain = analyse_question(f"{drug}用于什么情况？", table=table, rarity=rarity)
    assert judge_responsive(plain, passages[0]).responsive


def test_asked_whether_a_patient_may_have_it_a_bound_they_are_outside_of_answers() -> None:
    """ "5岁孩子能用吗" is answered by "适用于成人及7岁以上儿童" (no); a dose question for the
    same child is not answered by the dose of the older children's row."""
    english, drug = fake_drug(5)
    table = table_with((drug, english))
    passages = [f"{drug}：适用于成人及7岁以上儿童，每次10mg。", "7岁以上儿童每次10mg。"]
    rarity = rarity_of(passages)
    may = analyse_question(f"{drug}5岁孩子能用吗？", table=table, rarity=rarity)
    assert judge_responsive(may, passages[0]).responsive
    dose = analyse_question(f"5岁孩子用{drug}一次多少毫克？", table=table, rarity=rarity)
    assert dose.aspect is not None and dose.aspect.name == "dose"
    row = judge_responsive(dose, passages[1], context=[f"{drug}用法"])
    assert not row.responsive and row.reason == "other_population"


def test_asked_when_to_use_a_class_a_sentence_not_speaking_of_it_is_no_answer() -> None:
    passages = [
        "符合接种条件的新冠病毒感染者均应接种疫苗。",
        "重型新冠病毒感染病例建议短期使用糖皮质激素。",
        "重型新冠病毒感染病例建议地塞米松5mg/日。",
    ]
    analysis = analyse_question(
        "新冠病人什么时候要用激素？", table=glossary_table(), rarity=rarity_of(passages)
    )
    assert analysis.aspect is not None and analysis.aspect.name == "indication"
    vaccine = judge_responsive(analysis, passages[0])
    assert not vaccine.responsive and vaccine.reason == "other_subject"
    assert judge_responsive(analysis, passages[1]).responsive
    assert judge_responsive(analysis, passages[2]).responsive  # a drug of the class


def test_asked_which_drug_the_answer_names_a_drug() -> None:
    passages = [
        "伐昔洛韦是 B 病毒暴露后预防的首选药物。",
        "B 病毒急性感染时抗体滴度升高。",
        "B 病毒（B virus，BV）由猕猴传播。",
    ]
    table = LayeredTerms((library_glosses(passages, term_start=gloss_term_start), cedict_table()))
    analysis = analyse_question(
        "被猴子咬伤后用什么药预防B病毒？", table=table, rarity=rarity_of(passages)
    )
    assert "B 病毒" in [a.term for a in analysis.anchors], analysis.terms
    assert judge_responsive(analysis, passages[0]).responsive
    unnamed = judge_responsive(analysis, passages[1])
    assert not unnamed.responsive and unnamed.reason == "other_aspect"


def test_asked_which_drug_and_no_dose_another_drug_s_dose_is_no_answer() -> None:
    passages = [
        "The opioid hydrocodone 5 mg, one or two tablets every 4-6 hours.",
        "Patients on opioids may benefit from transition to buprenorphine.",
        "Opioids for pain.",
    ]
    table = glossary_table()
    which = analyse_question(
        "高剂量阿片类减不下来的患者，可以换成什么药？", table=table, rarity=rarity_of(passages)
    )
    assert which.aspect is None  # 高剂量 describes the patient's treatment; no dose is asked
    dose = judge_responsive(which, passages[0])
    assert not dose.responsive and dose.reason == "other_subject"
    assert judge_responsive(which, passages[1]).responsive
    # Asked which drug *and* how much, the drug's dose is the answer.
    both = analyse_question(
        "阿片类减不下来，推荐换哪种药、每天多少量？", table=table, rarity=rarity_of(passages)
    )
    assert both.aspect is not None
    assert judge_responsive(both, passages[0]).reason != "other_subject"


def test_a_heading_naming_the_aspect_says_what_the_sentences_under_it_state() -> None:
    """A guideline lists a disease's phases under short headings ("（一）潜伏期"): the sentence
    under one states that period without repeating its word."""
    period, prodrome = "多数为1～3个月，极少在1周以内或1年以上。", "一般持续2～4天。"
    passages = [period, prodrome, "犬咬伤后应立即冲洗伤口。"]
    rarity = rarity_of(passages)
    analysis = analyse_question("狂犬病潜伏期多长？", table=table_with(), rarity=rarity)
    context = ["狂犬病诊疗规范 > 四、临床表现"]
    assert not judge_responsive(analysis, period, context=context).responsive
    assert judge_responsive(analysis, period, context=context, labels=["（一）潜伏期"]).responsive
    # Another phase's heading states no incubation period: it speaks of another stage.
    other = judge_responsive(analysis, prodrome, context=context, labels=["（二）前驱期"])
    assert not other.responsive and other.reason == "other_subject"
    # The period itself must be in the sentence: the heading gives the word, not the number.
    no_period = judge_responsive(
        analysis, "潜伏期内无症状，不具传染性。", context=context, labels=["（一）潜伏期"]
    )
    assert not no_period.responsive
    # A long heading is a sentence of its own, no label of what follows.
    long_heading = "狂犬病潜伏期的长短与咬伤部位、伤口深度及病毒数量等多种因素有关"
    assert not judge_responsive(analysis, period, context=context, labels=[long_heading]).responsive


def test_the_section_heading_of_a_passage_labels_its_sentences_in_a_composed_answer() -> None:
    source = Source(
        n=1, doc_id="d", title="狂犬病诊疗规范", library="l", chunk_id="d-0", chunk_index=0,
        section="狂犬病诊疗规范 > 四、临床表现 > （一）潜伏期", language="zh",
        text="多数为1～3个月，极少在1周以内或1年以上。",
    )  # fmt: skip
    analysis = analyse_question(
        "狂犬病潜伏期多长？", table=table_with(), rarity=rarity_of([source.text])
    )
    shown, _ = compose_extractive("狂犬病潜伏期多长？", [source], analysis=analysis)
    assert [text for text, _ in shown] == [source.text]
    assert heading_of(source.section) == "（一）潜伏期"


def test_a_drug_name_cut_before_its_class_ending_is_one_name_never_the_class() -> None:
    # jieba cuts 长城霉素 (a made-up -mycin) into the everyday word 长城 and 霉素; 霉素 alone
    # would be any -mycin, and the library's azithromycin dose would answer for it.
    passages = ["阿奇霉素用法：10mg/(kg.d)，qd，口服3-5d。", "支原体肺炎的诊断。"]
    analysis = analyse_question(
        "长城霉素治疗支原体肺炎的剂量？", table=table_with(), rarity=rarity_of(passages)
    )
    assert "长城霉素" in [t.term for t in analysis.anchors]
    assert "霉素" not in [t.term for t in analysis.terms]
    assert analysis.missing == ["长城霉素"]
    assert not judge_responsive(analysis, passages[0]).responsive


def test_a_sentence_under_a_paediatric_title_or_section_does_not_answer_for_adults() -> None:
    drug = "佐伐单抗"
    dose = f"{drug}用法：10mg/(kg.d)，口服3-5天。"
    analysis = analyse_question(f"{drug}成人剂量？", table=table_with(), rarity=rarity_of([dose]))
    child_title = "儿童肺炎诊疗指南（2025年版）"
    verdict = judge_responsive(analysis, dose, context=[child_title], titles=[child_title])
    assert not verdict.responsive and verdict.reason == "other_population"
    child_section = judge_responsive(analysis, dose, titles=["肺炎诊疗方案"], labels=["5.儿童"])
    assert not child_section.responsive
    # Under a title for everyone, or naming adults itself, the dose answers.
    assert judge_responsive(analysis, dose, titles=["肺炎诊疗方案"]).responsive
    adults = f"{drug}：成人每次10mg/kg。"
    assert judge_responsive(analysis, adults, titles=[child_title]).responsive


def test_a_sentence_naming_no_drug_after_another_drugs_opening_is_about_that_drug() -> None:
    # "孕妇…禁用" under "甲苏韦：…" contraindicates 甲苏韦, not antivirals in pregnancy; the
    # title and section name the question's subject, the sentence itself no drug.
    text = (
        "②甲苏韦：适用于成人流感的治疗，但仅限于其他抗流感病毒药物治疗无效时使用。"
        "孕妇或可能怀孕的妇女禁用，哺乳期妇女使用时应暂停哺乳。"
    )
    source = make_source(
        1, text, doc="d", title="流行性感冒诊疗方案",
        section="流行性感冒诊疗方案 > 抗病毒治疗 > 抗病毒药物",
    )  # fmt: skip
    question = "Which antiviral is preferred for influenza in pregnancy?"
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of([text]))
    assert {"antiviral", "influenza"} <= {t.term for t in analysis.anchors}, analysis.terms
    shown, dropped = compose_extractive(question, [source], analysis=analysis)
    assert shown == [], shown
    # Asked which antiviral, a sentence naming none answers nothing, whatever drug it is about.
    assert ("孕妇或可能怀孕的妇女禁用，哺乳期妇女使用时应暂停哺乳。", "other_aspect") in [
        (d.text, d.reason) for d in dropped
    ]
    # Asked about that drug, the sentence answers (it takes the drug's sentence along).
    asked = analyse_question("甲苏韦孕妇能用吗？", table=glossary_table(), rarity=rarity_of([text]))
    shown, _ = compose_extractive("甲苏韦孕妇能用吗？", [source], analysis=asked)
    assert any("孕妇或可能怀孕的妇女禁用" in text for text, _ in shown), shown


def test_a_disease_left_out_of_three_names_is_another_guidelines_dose() -> None:
    # Three names asked (drug, organism, disease): the sentence of another disease's guideline
    # names the drug and, in its title, "肺炎" — the organism it leaves out makes it no answer.
    other = "病情重者可用冲击疗法，甲泼尼龙10-30mg/(kg.d)，连用3d。"
    own = "多选择甲泼尼龙1-2mg/（kg·d）或等量氢化可的松，静脉注射。"
    question = "腺病毒肺炎甲泼尼龙用多少？"
    analysis = analyse_question(
        question,
        table=glossary_table(),
        rarity=rarity_of([other, own, *["腺病毒肺炎的诊断。"] * 3]),
    )
    assert [a.term for a in analysis.anchors][:1] == ["甲泼尼龙"], analysis.anchors
    assert len(analysis.anchors) == 3, analysis.anchors
    mycoplasma = ["儿童肺炎支原体肺炎诊疗指南"]
    adenovirus = ["儿童腺病毒肺炎诊疗规范"]
    assert not judge_responsive(analysis, other, context=mycoplasma).responsive
    assert judge_responsive(analysis, own, context=adenovirus).responsive


def test_the_next_list_item_does_not_borrow_the_subject_of_the_item_before() -> None:
    # A passage that begins inside the first drug's item and holds the next drug's item.
    text = (
        "只有母亲的潜在获益大于对胎儿的潜在风险时，才能在妊娠期间使用。"
        "中度肾功能损伤者应将奈玛特韦减半服用，重度肝、肾功能损伤者不应使用。\n"
        "2.阿兹夫定片。用于治疗中型新冠病毒感染的成年患者。用法：每次5mg，每日1次。"
    )
    source = make_source(
        1, text, doc="d", title="新型冠状病毒感染诊疗方案", section="十一、治疗 > （二）抗病毒治疗"
    )
    question = "奈玛特韦肾功能损伤能用吗？"
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of([text]))
    shown, _ = compose_extractive(question, [source], analysis=analysis)
    texts = [t for t, _ in shown]
    assert any("奈玛特韦减半服用" in t for t in texts), texts
    # The next item's head and its sentences are about 阿兹夫定, whatever the item before said.
    assert not any("阿兹夫定" in t or "中型新冠" in t for t in texts), texts


def test_a_sentence_naming_the_asked_drug_beside_an_alternative_is_about_the_asked_one() -> None:
    # The disease is named by the label before ("急性喉炎或喉气管炎："); the dose sentence
    # names the asked drug and an alternative (泼尼松龙): it is about the asked drug.
    label = "急性喉炎或喉气管炎：首先应评估上气道梗阻和缺氧程度，有缺氧者予吸氧。"
    dose = "轻症可单剂口服地塞米松(0.15～0.6mg/kg，最大剂量为16mg)或口服泼尼松龙(1mg/kg)；"
    other = "帕拉米韦：每次10mg/kg，静脉滴注。"
    analysis = analyse_question(
        "地塞米松治疗喉炎的剂量？",
        table=glossary_table(),
        rarity=rarity_of([label, dose, other, *["地塞米松的不良反应。"] * 3]),
    )
    # The disease is the heavier name: the sentence does not name it, its label does.
    assert [a.term for a in analysis.anchors] == ["喉炎", "地塞米松"], analysis.anchors
    assert judge_responsive(analysis, dose, along=[label]).responsive
    # Naming another drug and not the asked one, it is about the other.
    assert not judge_responsive(analysis, other, along=[label]).responsive


def test_a_passage_beginning_inside_an_item_reads_its_opening_under_the_item_head() -> None:
    # The chunk begins inside item 1 (its head "1.奈玛特韦片…" is in the chunk before) and
    # holds item 2: item 1's head is over the opening sentence only.
    opening = "只有母亲的潜在获益大于对胎儿的潜在风险时，才能在妊娠期间使用。"
    second = "不建议在妊娠期和哺乳期使用，中重度肝、肾功能损伤患者慎用。"
    text = f"{opening}\n2.阿兹夫定片。{second}"
    source = make_source(
        1, text, doc="d", title="新型冠状病毒感染诊疗方案", chunk=1,
        section="十一、治疗 > （二）抗病毒治疗", item_head="1.奈玛特韦片/利托那韦片组合包装",
    )  # fmt: skip
    rarity = rarity_of([text, "奈玛特韦300mg", "阿兹夫定片"])
    asked = analyse_question("奈玛特韦孕妇能用吗？", table=glossary_table(), rarity=rarity)
    shown, _ = compose_extractive("奈玛特韦孕妇能用吗？", [source], analysis=asked)
    assert [t for t, _ in shown] == [opening]
    other = analyse_question("阿兹夫定孕妇能吃吗？", table=glossary_table(), rarity=rarity)
    shown, _ = compose_extractive("阿兹夫定孕妇能吃吗？", [source], analysis=other)
    assert opening not in [t for t, _ in shown] and second in [t for t, _ in shown], shown
    # Without the head the opening sentence is about nothing the question names.
    headless = source.model_copy(update={"item_head": None})
    shown, _ = compose_extractive("奈玛特韦孕妇能用吗？", [headless], analysis=asked)
    assert opening not in [t for t, _ in shown]


def test_a_head_naming_a_class_with_the_asked_drug_in_it_is_no_other_drugs() -> None:
    from assistant.drug_subjects import opens_with_another_drug

    head = "3.喹诺酮类抗菌药物主要包括左氧氟沙星和莫西沙星，用于高度怀疑或明确耐药者"
    rarity = rarity_of([head, "莫西沙星：10mg/(kg.次)，qd，疗程7-14d。"])
    asked = analyse_question("莫西沙星疗程多久？", table=glossary_table(), rarity=rarity)
    assert not opens_with_another_drug(asked, head)
    other = analyse_question("阿奇霉素疗程多久？", table=glossary_table(), rarity=rarity)
    assert opens_with_another_drug(other, head)


def test_an_entry_labelled_by_another_drug_is_that_drugs_whatever_else_it_names() -> None:
    # Regorafenib's entry names sorafenib as the treatment before it; its adverse effects are
    # regorafenib's, never an answer about sorafenib's.
    text = (
        "（1）瑞戈非尼：用于既往接受过索拉非尼治疗的患者。研究评估了瑞戈非尼用于索拉非尼治疗后"
        "进展患者的疗效和安全性。常见不良反应为高血压、手足皮肤反应、乏力。"
        "（2）索拉非尼：适用于肝功能较好的患者。常见的不良反应为腹泻、手足综合征、皮疹。"
    )
    source = make_source(1, text, doc="d", title="肝癌诊疗指南", section="五、治疗 > 系统治疗")
    rarity = rarity_of([text, "瑞戈非尼", "索拉非尼"])
    question = "索拉非尼常见不良反应有哪些？"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity)
    shown = [t for t, _ in compose_extractive(question, [source], analysis=asked)[0]]
    assert not any("手足皮肤反应" in t or "瑞戈非尼" in t for t in shown), shown
    assert any("腹泻、手足综合征" in t for t in shown), shown
    question = "瑞戈非尼常见不良反应有哪些？"
    other = analyse_question(question, table=glossary_table(), rarity=rarity)
    shown = [t for t, _ in compose_extractive(question, [source], analysis=other)[0]]
    assert any("手足皮肤反应" in t for t in shown) and not any("腹泻" in t for t in shown)
    # A label naming a class is no other drug's, whatever its word looks like (单克隆 ends like
    # a drug's name): the dose under it is the drugs' it lists.
    entry = "4.单克隆抗体：安巴韦单抗/罗米司韦单抗注射液。用法：二药的剂量分别为1000 mg。"
    antibodies = source.model_copy(update={"text": entry})
    question = "安巴韦单抗剂量"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity_of([entry, "流感"]))
    shown = [t for t, _ in compose_extractive(question, [antibodies], analysis=asked)[0]]
    assert any("1000 mg" in t for t in shown), shown


def test_a_passage_inside_another_drugs_entry_names_the_asked_drug_only_as_its_comparator() -> None:
    # The chunk begins inside the combination's entry; the asked drug is the control arm.
    text = "联合治疗组的客观缓解率高于索拉非尼组。联合治疗组常见的不良反应为瘙痒、皮疹。"
    source = make_source(
        1, text, doc="d", title="肝癌诊疗指南", section="五、治疗 > 系统治疗",
        item_head="（2）纳武利尤单抗联合伊匹木单抗",
    )  # fmt: skip
    rarity = rarity_of([text, "纳武利尤单抗", "索拉非尼"])
    question = "索拉非尼常见不良反应有哪些？"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity)
    shown, dropped = compose_extractive(question, [source], analysis=asked)
    assert shown == [] and {d.reason for d in dropped} == {"other_subject"}, (shown, dropped)
    # A sentence that opens with the asked drug is its own, whatever entry it stands in.
    own = source.model_copy(update={"text": "索拉非尼常见的不良反应为腹泻、手足综合征。"})
    shown, _ = compose_extractive(question, [own], analysis=asked)
    assert [t for t, _ in shown] == ["索拉非尼常见的不良反应为腹泻、手足综合征。"]


@pytest.mark.parametrize(
    ("question", "which"),
    [
        ("Which thrombolytic drugs are used for ischemic stroke?", True),
        ("缺血性卒中用什么溶栓药？", True),
        ("What is the first-line systemic therapy for advanced liver cancer?", True),
        ("流感用哪些抗病毒药？", True),
        ("什么时候用药？", False),
        ("什么人不能用药？", False),
        ("What is the incubation period of influenza?", False),
        # A class named by a word ending in no 药 (镇静剂), or by its English word.
        ("躁动的患者用什么镇静剂？", True),
        ("What sedative is used for agitated patients?", True),
        ("MIS-C首选什么治疗？", True),
        ("伤口用什么消毒剂冲洗？", False),
        ("首选什么检查？", False),
    ],
)
def test_a_question_asking_which_drug_may_name_the_kind_between(question: str, which: bool) -> None:
    from assistant.drug_subjects import asks_which_drug

    asked = analyse_question(question, table=glossary_table(), rarity=None)
    assert asks_which_drug(asked) is which


def test_a_name_the_title_holds_tells_no_sentence_of_that_guideline_apart() -> None:
    # Both sentences name the disease of the guideline's title and state a number; only the
    # one about the nasal cannula answers. Whom the question is about (婴幼儿) tells none apart.
    intro = (
        "腺病毒肺炎是儿童社区获得性肺炎中较为严重的类型之一，多发于6个月至5岁儿童，"
        "是造成婴幼儿肺炎死亡的重要原因。"
    )
    answer = "需用专门的高流量鼻导管，根据年龄体重调节流量大小，婴幼儿为2L/（kg·min）。"
    title = "儿童腺病毒肺炎诊疗规范"
    rarity = rarity_of([intro, answer, title, "流感", "导管相关感染"])
    asked = analyse_question(
        "腺病毒肺炎高流量鼻导管婴幼儿流量多少", table=glossary_table(), rarity=rarity
    )
    context = ["七、治疗 > （五）氧疗和呼吸支持", title]
    assert not judge_responsive(asked, intro, context=context, titles=[title]).responsive
    assert judge_responsive(asked, answer, context=context, titles=[title]).responsive


def test_plain_heparin_is_never_answered_with_a_low_molecular_weight_heparins_dose() -> None:
    # 普通肝素 is one name (the glossary's), not 普通 + 肝素: a sentence dosing 低分子量肝素钙
    # names another drug. Heparin's units are written u ("负荷量75u/kg"): that is a dose.
    lmwh = "多用低分子量肝素钙100U/(kg.次)，qd，皮下注射，一般1-2周。"
    ufh = "血流动力学不稳定时，应用普通肝素抗凝，负荷量75u/kg，静脉滴注（大于10分钟）。"
    rarity = rarity_of([lmwh, ufh, "支原体肺炎肺栓塞的治疗", "肺栓塞"])
    asked = analyse_question(
        "支原体肺炎肺栓塞普通肝素负荷量", table=glossary_table(), rarity=rarity
    )
    assert "普通肝素" in [t.term for t in asked.anchors], asked.terms
    context = ["1.PE 治疗", "儿童肺炎支原体肺炎诊疗指南"]
    assert judge_responsive(asked, lmwh, context=context).reason == "other_subject"
    assert judge_responsive(asked, ufh, context=context).responsive


def test_the_closing_question_particle_is_no_part_of_a_drugs_name() -> None:
    rarity = rarity_of(["可联合应用第2、3代头孢类抗菌药物", "头孢曲松"])
    asked = analyse_question("支原体肺炎可以用头孢吗", table=glossary_table(), rarity=rarity)
    terms = [t.term for t in asked.terms]
    assert "头孢" in terms and "头孢吗" not in terms, terms


def test_a_definition_answers_what_a_name_means_or_an_aspect_it_states_and_nothing_else() -> None:
    definition = (
        "Health care-associated infection (also referred to as “nosocomial” infection): An "
        "infection occurring in a patient during the process of care in a hospital."
    )
    tia = "短暂性脑缺血发作（TIA）：指短暂性神经功能缺损发作，临床症状一般多在1~2小时内恢复。"
    rarity = rarity_of([definition, tia, "医院感染监测应主动进行", "Active surveillance"])
    table = glossary_table()
    other = analyse_question("医院感染监测应该主动还是被动", table=table, rarity=rarity)
    assert judge_responsive(other, definition).reason == "other_aspect"
    meaning = analyse_question("什么是医院感染？", table=table, rarity=rarity)
    assert judge_responsive(meaning, definition).responsive
    how_long = analyse_question("TIA症状通常多长时间内恢复？", table=table, rarity=rarity)
    assert judge_responsive(how_long, tia).responsive
    # "X：又称Y，…" defines X as "X：指…" does: no answer to whether a treatment is needed.
    also_called = "脑梗死：又称缺血性卒中，由于脑局部血液循环障碍所导致的神经功能缺损综合征。"
    assert defines(also_called) and not defines("脑梗死又称缺血性卒中。")
    needed = analyse_question("脑梗死后需要长期吃抗癫痫药吗？", table=table, rarity=rarity)
    assert judge_responsive(needed, also_called).reason == "other_aspect"


def test_a_sentence_saying_none_of_the_questions_words_answers_another_question() -> None:
    # The section names the subject; the waste sentence says nothing of 监测 or 报告.
    waste = "按照要求处理医疗废物，患者转出或离院后进行终末消毒。"
    said = "医院感染监测报告应及时反馈给临床科室。"
    source = make_source(
        1, waste, doc="d", title="流行性感冒诊疗方案", section="十一、医院感染控制措施"
    )
    rarity = rarity_of([waste, said, "流感"])
    question = "医院感染监测报告有什么要求"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity)
    shown = [t for t, _ in compose_extractive(question, [source], analysis=asked)[0]]
    assert shown == [], shown
    answering = source.model_copy(update={"text": f"{waste}{said}"})
    shown = [t for t, _ in compose_extractive(question, [answering], analysis=asked)[0]]
    assert shown == [said], shown


def test_a_cerebrovascular_guideline_speaks_of_stroke_in_every_sentence() -> None:
    # The guideline calls its topic 脑血管病; a stroke question's risk-factor targets are in
    # sentences that never write 卒中.
    sentence = "糖尿病患者推荐血糖控制目标：糖化血红蛋白（HbA1c）<7%，空腹血糖4.4~7.0 mmol/L。"
    title = "脑血管病防治指南"
    section = "第三章脑血管病预防 > （一）脑血管病危险因素控制 > 2.糖尿病管理"
    rarity = rarity_of([sentence, title, "卒中患者静脉溶栓", "高危人群"])
    for question in (
        "卒中高危人群糖化血红蛋白目标？",
        "What HbA1c target is set for people at risk of stroke?",
    ):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        verdict = judge_responsive(asked, sentence, context=[section, title], titles=[title])
        assert verdict.responsive, (question, verdict)


@pytest.mark.parametrize(
    ("sentence", "chosen"),
    [
        ("发病3个月内的颅外颈动脉夹层应首选抗血小板药物预防缺血性卒中复发。", True),
        ("颅内动脉夹层可行抗血小板药物治疗。", True),
        ("Clinicians should use anticoagulant therapy for these patients.", True),
        ("避免盲目或不恰当使用抗菌药物。", False),
        ("不推荐常规使用抗病毒药物。", False),
        ("抗凝治疗是预防复发的核心手段。", False),  # says what it does, chooses nothing
    ],
)
def test_a_class_of_drug_chosen_answers_which_drug(sentence: str, chosen: bool) -> None:
    assert recommends_a_class(sentence) is chosen


def test_a_name_only_listed_among_others_is_not_what_the_sentence_is_about() -> None:
    listing = "啮齿动物间接传播的疾病有：幼虫病、科罗拉多蜱热、莱姆病、鼠伤寒、恙虫病、回归热等。"
    rarity = rarity_of([listing, "莱姆病 Lyme disease", "啮齿动物"])
    for question in ("莱姆病怎么治疗", "What is the treatment for Lyme disease?"):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        assert not judge_responsive(asked, listing).responsive, question
    # Asked whether it is among them, or with a word the sentence says outside the list, the
    # list answers.
    for question in ("莱姆病是啮齿动物传播的吗", "啮齿动物传播哪些疾病，包括莱姆病吗"):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        assert judge_responsive(asked, listing).responsive, question


def test_without_an_aspect_a_sentence_says_more_than_its_heading() -> None:
    # "蛇咬伤要用止血带吗": the injury is the chapter's subject and 止血带 no name by its shape;
    # under the snakebite heading, how common snakebites are answers nothing about tourniquets.
    epidemiology = "蛇咬伤是一种常见动物致伤疾病，我国每年的蛇咬伤病例达数百万。"
    tourniquet = "蛇咬伤后不推荐使用止血带长时间绑扎患肢。"
    rarity = rarity_of([epidemiology, tourniquet, "蛇咬伤 咬伤", "犬咬伤", "猫抓伤"])
    asked = analyse_question("蛇咬伤要用止血带吗？", table=glossary_table(), rarity=rarity)
    assert [a.term for a in asked.anchors] == ["蛇咬伤"] and asked.aspect is None, asked.terms
    under = ["蛇咬伤诊疗规范 > 一、概述", "常见动物致伤诊疗规范"]
    assert not judge_responsive(asked, epidemiology, context=under).responsive
    assert judge_responsive(asked, tourniquet, context=under).responsive


def test_a_differential_diagnosis_sentence_states_the_other_diseases_values() -> None:
    # "通常为2～3周" is how long viral meningitis lasts, told apart from rabies' prodrome.
    differential = (
        "病毒性脑膜炎与狂犬病前驱期不易鉴别，但病毒性脑膜炎无恐水等症状，为自限性疾病，"
        "病程呈良性，通常为2～3周。"
    )
    own = "狂犬病前驱期一般持续2～4天。"
    asked = analyse_question("狂犬病前驱期持续多久？", table=table_with(), rarity=None)
    told_apart = judge_responsive(asked, differential)
    assert not told_apart.responsive and told_apart.reason == "other_subject"
    assert judge_responsive(asked, own).responsive
    # Asked how to tell them apart, the differential is the answer.
    apart = analyse_question("狂犬病和病毒性脑膜炎怎么鉴别？", table=table_with(), rarity=None)
    assert judge_responsive(apart, differential).responsive


def test_a_stage_asked_is_not_answered_under_another_stages_heading() -> None:
    sentence = "一般持续6～18小时。"
    asked = analyse_question("狂犬病兴奋期持续多久？", table=table_with(), rarity=None)
    context = ["狂犬病诊疗规范 > 四、临床表现"]
    under_other = judge_responsive(asked, sentence, context=context, labels=["（四）麻痹期"])
    assert not under_other.responsive and under_other.reason == "other_subject"
    assert judge_responsive(asked, sentence, context=context, labels=["（三）兴奋期"]).responsive
    # Its own words first: a sentence naming the stage asked is about it, whatever its heading.
    named = "患者经过兴奋期后进入麻痹期，兴奋期一般持续1～3天。"
    assert judge_responsive(asked, named, context=context, labels=["（四）麻痹期"]).responsive
    # Whom it is about is no stage (妊娠期), nor is a heading naming none.
    assert judge_responsive(asked, "妊娠期的狂犬病患者，一般持续1～3天。").responsive
    assert judge_responsive(asked, sentence, context=context, labels=["四、临床表现"]).responsive
    # An English question's stage, by the glossary's Chinese name for it.
    english = analyse_question(
        "How long does the excitation phase of rabies last?", table=glossary_table(), rarity=None
    )
    wrong = judge_responsive(english, sentence, context=context, labels=["（四）麻痹期"])
    assert not wrong.responsive and wrong.reason == "other_subject"


def test_asked_how_it_is_treated_a_sentence_must_say_what_to_do() -> None:
    history = "The recent Ebola virus disease outbreak in West Africa showed the role of IPC."
    funding = "Funds were provided in response to the Ebola virus disease outbreak to support it."
    treated = "Ebola virus disease is treated with supportive care and fluids given intravenously."
    english = analyse_question(
        "What is the treatment for Ebola virus disease?", table=table_with(), rarity=None
    )
    assert english.aspect is not None and english.aspect.name == "treatment"
    for sentence in (history, funding):
        verdict = judge_responsive(english, sentence)
        assert not verdict.responsive and verdict.reason == "other_aspect", sentence
    assert judge_responsive(english, treated).responsive
    managed = analyse_question(
        "How should a cat bite wound be managed?", table=glossary_table(), rarity=None
    )
    assert managed.aspect is not None and managed.aspect.name == "treatment"
    chinese = analyse_question("蜱瘫痪怎么处理？", table=table_with(), rarity=None)
    assert chinese.aspect is not None and chinese.aspect.name == "treatment"
    onset = "一般在蜱摄食4～7日后，才会出现蜱瘫痪症状。"
    assert judge_responsive(chinese, onset).reason == "other_aspect"
    assert judge_responsive(chinese, "蜱瘫痪应尽快除去蜱，进行对症治疗。").responsive
    heading = "（四）蜱瘫痪处置"
    under = judge_responsive(chinese, "尽快除去蜱，进行对症治疗。", context=[heading])
    assert under.responsive
    # A more specific aspect comes first: how long it is treated is a duration question.
    course = analyse_question(
        "What is the duration of treatment for Lyme disease?", table=table_with()
    )
    assert course.aspect is not None and course.aspect.name == "duration"


def test_asked_a_drugs_dose_a_sentence_dosing_only_other_drugs_is_no_answer() -> None:
    # The MIS-C sentence names tocilizumab last, with no dose: its doses are methylprednisolone's
    # and infliximab's.
    others = (
        "若无好转或加重，可予甲泼尼龙10～30mg/kg/日，静脉注射，或英夫利西单抗5～10mg/kg或托珠单抗。"
    )
    own = "托珠单抗首次剂量4～8mg/kg，推荐剂量400mg，生理盐水稀释至100ml。"
    asked = analyse_question("托珠单抗首剂多少？", table=table_with(), rarity=None)
    assert asked.aspect is not None and asked.aspect.name == "dose"
    verdict = judge_responsive(asked, others)
    assert not verdict.responsive and verdict.reason == "other_subject"
    assert judge_responsive(asked, own).responsive
    # Two drugs, each with its dose: the asked one's is there.
    pair = analyse_question("利托那韦剂量？", table=table_with(), rarity=None)
    assert judge_responsive(pair, "奈玛特韦300mg与利托那韦100mg同时服用。").responsive
    # The dose of the sentence's subject, named in no drug before it, is left alone.
    label = judge_responsive(asked, "用法：首次剂量4～8mg/kg，静脉输注托珠单抗。")
    assert label.responsive


def test_asked_which_drug_the_drug_chosen_first_answers_with_its_dose() -> None:
    # "首选IVIG 2g/kg和甲泼尼龙…" is the choice, dose and all; a product's dosing example
    # ("tablets containing hydrocodone 5 mg …") is not.
    chosen = "首选IVIG 2g/kg和甲泼尼龙1～2mg/kg/日；"
    asked = analyse_question("MIS-C首选什么治疗？", table=table_with(), rarity=None)
    verdict = judge_responsive(asked, chosen, context=["MIS-C：治疗原则是尽早抗炎。"])
    assert verdict.responsive, verdict
    product = "For example, tablets containing hydrocodone 5 mg are taken every 4 hours for pain."
    which = analyse_question("Which drugs are used for pain?", table=table_with(), rarity=None)
    assert not judge_responsive(which, product).responsive
    preferred = "For pain, oxycodone 5 mg is the preferred first-line drug."
    assert judge_responsive(which, preferred).responsive


def test_the_glossary_reads_antibiotic_words_as_one_name() -> None:
    asked = analyse_question("猪咬伤用什么抗生素？", table=glossary_table(), rarity=None)
    antibiotic = next(t for t in asked.terms if t.term == "抗生素")
    assert {"抗菌药物", "抗菌药"} <= set(antibiotic.forms), antibiotic.forms


def test_a_question_naming_nothing_the_library_or_table_knows_is_answered_by_no_sentence() -> None:
    sentence = "疑似出现与药物相关且难以处理的不良反应，应给予对症治疗。"
    asked = analyse_question("这种情况怎么处理？", table=table_with(), rarity=rarity_of(["痛风"]))
    assert not asked.terms and not asked.common, asked.terms
    verdict = judge_responsive(asked, sentence)
    assert not verdict.responsive and verdict.reason == "other_subject"
    # A disease of a body part (糖尿病足) is a name of its own, which the library lacks.
    foot = analyse_question("糖尿病足怎么处理？", table=table_with(), rarity=rarity_of(["痛风"]))
    assert foot.missing == ["糖尿病足"], foot.terms
    assert judge_responsive(foot, sentence).reason == "other_subject"


def test_a_dose_after_the_asked_drug_s_own_name_is_its_dose_however_it_was_segmented() -> None:
    sentence = (
        "若无好转，可予甲泼尼龙10～30mg/kg/日，静脉注射，或英夫利西单抗5～10mg/kg或托珠单抗。"
    )
    asked = analyse_question("英夫利西单抗剂量？", table=table_with(), rarity=None)
    assert judge_responsive(asked, sentence).responsive


def test_handling_a_fish_or_neglecting_a_wound_is_no_treatment() -> None:
    asked = analyse_question("石头鱼刺伤怎么处理？", table=table_with(), rarity=None)
    for sentence in (
        "因处理石头鱼时不慎被刺伤来就诊的厨师数量逐年增加。",
        "石头鱼刺伤后未及时规范处置伤口，可能出现牙关紧闭。",
    ):
        assert judge_responsive(asked, sentence).reason == "other_aspect", sentence
    assert judge_responsive(
        asked, "石头鱼刺伤后用40℃～45℃的热水浸泡30分钟左右，可口服镇痛药。"
    ).responsive


@pytest.mark.parametrize(
    ("question", "share", "other"),
    [
        (
            "脑出血多少是高血压导致的？",
            "自发性脑出血中约85%为高血压导致，15%为其他原因导致。",
            "脑出血患者长期血压控制目标值<130/80 mmHg。",
        ),
        (
            "缺血性卒中占卒中的比例？",
            "我国新发卒中以缺血性卒中为主，约占72%。",
            "缺血性卒中患者发病4.5小时内应静脉溶栓。",
        ),
        (
            "What is the case fatality rate of rabies?",
            "Rabies has a case fatality rate of almost 100%.",
            "Rabies is a fatal disease after an incubation of 1 to 3 months.",
        ),
        (
            "What percentage of strokes are ischemic?",
            "About 72% of strokes are ischemic.",
            "Ischemic stroke within 4.5 hours is treated with thrombolysis.",
        ),
    ],
)
def test_asked_what_share_a_sentence_states_one_not_any_number(
    question: str, share: str, other: str
) -> None:
    asked = analyse_question(question, table=table_with(), rarity=None)
    assert asked.aspect is not None and asked.aspect.name == "proportion", asked.aspect
    assert judge_responsive(asked, share).responsive
    verdict = judge_responsive(asked, other)
    assert not verdict.responsive and verdict.reason == "other_aspect"


def test_a_stonefish_sting_a_peck_and_the_common_miswriting_of_a_jellyfish_sting() -> None:
    stonefish = analyse_question("石头鱼刺伤怎么处理？", table=table_with(), rarity=None)
    jellyfish = "被海蜇蛰伤治疗上给予伤口局部处理，预防破伤风，抗感染，止痛等对症处理。"
    verdict = judge_responsive(stonefish, jellyfish, context=["石头鱼刺伤诊疗规范 > 五、鉴别诊断"])
    assert not verdict.responsive and verdict.reason == "other_subject"
    own = "石头鱼刺伤后立即拔出毒刺，用40℃～45℃的热水浸泡，给予镇痛治疗。"
    assert judge_responsive(stonefish, own).responsive
    pecked = analyse_question("被鸡啄伤需要打狂犬疫苗吗？", table=table_with(), rarity=None)
    cat = "猫抓咬伤后应评估是否接种狂犬病疫苗。"
    assert judge_responsive(pecked, cat).reason == "other_subject"
    assert judge_responsive(pecked, "禽类啄伤无需注射狂犬病疫苗。").responsive


def test_asked_when_to_check_again_another_time_says_nothing_of_it() -> None:
    asked = analyse_question("阿片类药物开始治疗后多久复查？", table=table_with(), rarity=None)
    assert asked.aspect is not None and asked.aspect.name == "duration"
    course = "阿片类药物用于急性疼痛时，通常3天或更短即可。"
    verdict = judge_responsive(asked, course)
    assert not verdict.responsive and verdict.reason == "other_aspect"
    assert judge_responsive(asked, "开始阿片类药物治疗后1～4周内应复查评估获益与风险。").responsive
    # Under a heading that names the check ("（五）随访"), its times are the check's.
    assert judge_responsive(asked, "阿片类药物治疗开始后4周内。", labels=["（五）随访"]).responsive


def test_a_differential_diagnosis_section_speaks_of_the_disease_it_tells_apart() -> None:
    hysteria = "常因精神因素或暗示而诱发反复阵发性发作，精神类药物及安慰治疗后病情缓解。"
    asked = analyse_question("狂犬病患者发热怎么处理？", table=table_with(), rarity=None)
    section = "狂犬病诊疗规范 > 六、鉴别诊断 > （一）类狂犬病性癔症"
    verdict = judge_responsive(asked, "狂犬病样发作经安慰治疗后缓解。", context=[section])
    assert not verdict.responsive and verdict.reason == "other_subject"
    # A section of diagnosis and differential diagnosis together is no differential one.
    together = "蛇咬伤诊疗规范 > 五、诊断与鉴别诊断 > （一）诊断"
    snake = analyse_question("蛇咬伤怎么治疗？", table=table_with(), rarity=None)
    assert judge_responsive(
        snake, "蛇咬伤后应尽早使用抗蛇毒血清治疗。", context=[together]
    ).responsive
    # Asked how to tell them apart, the differential section answers.
    apart = analyse_question("狂犬病和癔症怎么鉴别？", table=table_with(), rarity=None)
    assert judge_responsive(apart, "狂犬病样" + hysteria, context=[section]).responsive


def test_a_drug_whose_name_holds_the_asked_ones_is_another_drug() -> None:
    """罗红霉素 (roxithromycin) ends in 红霉素 (erythromycin): its dose is another drug's, the
    worst thing to show with ✓. A longer name whose English holds the asked drug's is a salt or
    form of it, and still the asked drug."""
    passages = [
        "红霉素用法：多为30-45mg/(kg.d)。",
        "罗红霉素用法：多为5-10mg/(kg.d)，均推荐10-14 d。",
        "琥乙红霉素用法：每次10mg/kg。",
    ]
    table = table_with(
        ("红霉素", "erythromycin"),
        ("罗红霉素", "roxithromycin"),
        ("琥乙红霉素", "erythromycin ethylsuccinate"),
    )
    analysis = analyse_question(
        "红霉素治疗儿童支原体肺炎用量是多少？", table=table, rarity=rarity_of(passages)
    )
    [drug] = analysis.drug_anchors
    context = ["十七、治疗原则", "儿童肺炎支原体肺炎诊疗指南"]
    assert "罗红霉素" in drug.others and "琥乙红霉素" not in drug.others
    assert judge_responsive(analysis, passages[0], context=context).responsive
    other = judge_responsive(analysis, passages[1], context=context)
    assert not other.responsive and other.reason == "other_subject"
    assert judge_responsive(analysis, passages[2], context=context).responsive
    # Asked about roxithromycin, its own sentence answers and erythromycin's does not.
    rox = analyse_question("罗红霉素用量是多少？", table=table, rarity=rarity_of(passages))
    assert judge_responsive(rox, passages[1]).responsive
    assert not judge_responsive(rox, passages[0]).responsive


def test_of_a_sentence_listing_several_drugs_doses_the_longer_names_clause_is_not_shown() -> None:
    passages = [
        "红霉素用法：多为30-45mg/(kg.d)，罗红霉素用法：多为5-10mg/(kg.d)，均推荐10-14 d。",
    ]
    table = table_with(("红霉素", "erythromycin"), ("罗红霉素", "roxithromycin"))
    analysis = analyse_question("红霉素用量是多少？", table=table, rarity=rarity_of(passages))
    source = make_source(1, passages[0], doc="mp", title="儿童肺炎支原体肺炎诊疗指南")
    drafted, _ = compose_extractive("红霉素用量是多少？", [source], analysis=analysis)
    assert [text for text, _ in drafted] == ["红霉素用法：多为30-45mg/(kg.d)"], drafted


@pytest.mark.parametrize(
    "question", ["新冠重型的诊断标准是什么？", "What respiratory rate defines severe COVID-19?"]
)
def test_asked_what_a_severity_grade_is_only_that_grades_criteria_answer(question: str) -> None:
    table = table_with(("新冠", "COVID-19"), ("新型冠状病毒感染", "COVID-19"))
    asked = analyse_question(question, table=table, rarity=None)
    title = "新型冠状病毒感染诊疗方案"
    if asked.language == "en":
        row = judge_responsive(
            asked, "出现气促，RR≥30次/分；", context=["（三）重型", title], labels=["（三）重型"]
        )
        assert row.responsive
    # The confirmed-case criteria, and what is said of severe and critical illness together.
    for sentence, heading in (
        ("新冠病毒核酸检测阳性，呼吸频率增快。", "（二）诊断标准"),
        ("新冠患者呼吸频率>30次/分时应给予有创机械通气。", "（七）重型、危重型支持治疗"),
    ):
        verdict = judge_responsive(asked, sentence, context=[heading, title], labels=[heading])
        assert not verdict.responsive, (sentence, verdict)
    # Asked a dose for severe illness, a dose said of everyone still answers.
    dose = analyse_question("What dexamethasone dose in severe COVID-19?", table=table, rarity=None)
    assert judge_responsive(dose, "COVID-19: dexamethasone 6 mg daily.", context=[title]).responsive


def test_asked_the_criteria_of_a_step_a_sentence_must_name_the_step() -> None:
    asked = analyse_question("流感住院标准", table=glossary_table(), rarity=None)
    assert [a.term for a in asked.anchors] == ["流感"], asked.terms
    assert asked.aspect is not None and asked.aspect.name == "indication"
    assert "住院" in [t.term for t in asked.terms]
    under = ["十、治疗 > （一）基本原则", "流行性感冒诊疗方案"]
    lead_in = "住院治疗标准（满足下列标准任意1条）："
    assert judge_responsive(
        asked, "符合重型或危重型流感诊断标准。", context=[lead_in, *under]
    ).responsive
    # Advice against something is no criterion; a sentence naming no admission is no answer.
    assert not judge_responsive(
        asked, "疑似或确诊流感的医务人员，不建议带病工作。", context=under
    ).responsive
    assert not judge_responsive(
        asked, "流感重型/危重型高危人群应尽早抗病毒治疗，可减轻症状。", context=under
    ).responsive


def test_an_incubation_period_answers_whatever_else_the_question_qualifies() -> None:
    """ "seasonal influenza": the influenza guideline's incubation period does not say
    "seasonal", and its title alone names the disease; the period is the answer."""
    passages = ["潜伏期一般为1～7天，多为2～4天。", "流感病毒每年呈季节性流行。", "流感的治疗。"]
    analysis = analyse_question(
        "What is the usual incubation period of seasonal influenza?",
        table=glossary_table(),
        rarity=rarity_of(passages),
    )
    assert analysis.aspect is not None and analysis.aspect.name == "incubation"
    title = ["流行性感冒诊疗方案"]
    assert judge_responsive(analysis, passages[0], context=title, titles=title).responsive
    # A sentence that names the period without stating it is still no answer.
    named = judge_responsive(analysis, "在潜伏期即有传染性。", context=title, titles=title)
    assert not named.responsive


def test_the_ages_a_disease_affects_answer_whatever_else_the_question_says() -> None:
    """ "Which age group is most affected": under the disease's own guideline, where it occurs
    most, with an age, is the answer; a dose by age is not, nor a sentence with no age."""
    passages = [
        "腺病毒肺炎最常发生于6个月至5岁，尤其是2岁以下儿童。",
        "1岁以下儿童推荐剂量：2周～8月龄，每次3.0mg/kg。",
        "腺病毒肺炎多见于冬春季节。",
        "腺病毒肺炎的治疗。",
    ]
    title = ["儿童腺病毒肺炎诊疗规范"]
    for question in (
        "Which age group is most affected by adenovirus pneumonia?",
        "腺病毒肺炎多见于哪个年龄段？",
    ):
        analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(passages))
        assert analysis.aspect is not None and analysis.aspect.name == "age_affected"
        judged = [
            judge_responsive(analysis, p, context=title, titles=title).responsive
            for p in passages[:3]
        ]
        assert judged == [True, False, False], question


def test_a_treatment_course_answers_no_question_about_prevention() -> None:
    """Of three names one may be left to the passage, never the prophylaxis asked: a drug's
    course of treatment is no course of post-exposure prophylaxis."""
    passages = [
        "奥司他韦：成人剂量每次75mg，每日2次。",
        "上述均为每日2次，疗程5天。",
        "暴露后预防：奥司他韦每日1次，疗程10天。",
        "流感患者应尽早治疗。",
        "B病毒暴露后预防首选伐昔洛韦。",
    ]
    analysis = analyse_question(
        "奥司他韦用于流感暴露后预防，每天吃几次、吃几天？",
        table=glossary_table(),
        rarity=rarity_of(passages),
    )
    assert {"奥司他韦", "暴露后预防"} <= {a.term for a in analysis.anchors}
    title = ["流行性感冒诊疗方案"]
    course = judge_responsive(
        analysis, passages[1], context=[*title, passages[0]], titles=title, passage=passages[0]
    )
    assert not course.responsive
    assert judge_responsive(analysis, passages[2], context=title, titles=title).responsive


def test_why_a_guideline_was_written_answers_nothing() -> None:
    passages = [
        "为进一步规范我国蜘蛛咬伤的诊疗，结合近年来的研究进展，制定本规范。",
        "蜘蛛咬伤后应充分镇痛。",
    ]
    analysis = analyse_question(
        "蜘蛛咬伤怎么治疗？", table=glossary_table(), rarity=rarity_of(passages)
    )
    purpose = judge_responsive(analysis, passages[0])
    assert not purpose.responsive and purpose.reason == "other_aspect"
    english = analyse_question(
        "How should a spider bite be treated?", table=glossary_table(), rarity=None
    )
    stated = "This guideline is intended to improve the treatment of spider bites."
    assert not judge_responsive(english, stated).responsive


def test_a_two_character_drug_name_answers_which_drug() -> None:
    """肝素 and 吗啡 are names though short; 激素 and 因素 are everyday words. Asked which drug,
    "低分子肝素是急性期抗凝治疗的首选药物" names one (it was dropped as naming none)."""
    assert names_some_drug("低分子肝素是急性期抗凝治疗的首选药物。")
    assert names_some_drug("可静脉注射吗啡。")
    assert not names_some_drug("多种因素影响激素水平。")
    passages = ["低分子肝素是急性期抗凝治疗的首选药物。", "颅内静脉血栓形成的病因。"]
    analysis = analyse_question(
        "颅内静脉血栓形成急性期抗凝首选什么药？",
        table=glossary_table(),
        rarity=rarity_of(passages),
    )
    under = ["第七章颅内静脉血栓形成的临床管理 > 三、主要治疗措施"]
    assert judge_responsive(analysis, passages[0], context=under).responsive


def test_words_far_rarer_than_the_names_are_what_is_asked() -> None:
    """ "预防阿片类药物引起的便秘，推荐用什么泻药" showed "疼痛明显者，可联合应用阿片类镇痛药物…"
    (a snakebite's pain) with ✓: 阿片类药物 is in every passage of an opioid guideline, and
    the question asks about constipation and laxatives, which that sentence never says."""
    passages = [
        *(f"阿片类药物的第{i}条建议。" for i in range(8)),
        "疼痛明显者，可联合应用阿片类镇痛药物，如静脉注射吗啡。",
        "阿片类药物引起的便秘推荐刺激性泻药比沙可啶预防。",
    ]
    analysis = analyse_question(
        "预防阿片类药物引起的便秘，推荐用什么泻药？",
        table=glossary_table(),
        rarity=rarity_of(passages),
    )
    assert analysis.aspect is None and [a.term for a in analysis.anchors] == ["阿片类药物"]
    pain = judge_responsive(analysis, passages[-2], context=["蛇咬伤 > 对症治疗"])
    assert not pain.responsive and pain.reason == "other_subject"
    assert judge_responsive(analysis, passages[-1], context=["阿片类药物的不良反应"]).responsive


def test_english_words_unread_in_a_chinese_sentence_that_outweigh_the_names() -> None:
    """ "Does chlorhexidine reliably inactivate SARS-CoV-2?" showed, with ✓, the COVID
    guideline's description of the virus: no table wrote chlorhexidine (now a glossary name),
    inactivate or reliably in Chinese, so nothing showed the sentence says any of them; here
    hand sanitizer, which no table writes in Chinese either. A word the tables cannot
    translate beside heavier names ("regimen"), or an adverb, does not stop an answer."""
    passages = [
        "新型冠状病毒（以下简称新冠病毒，SARS-CoV-2）为β属冠状病毒，有包膜，颗粒呈圆形或椭圆形。",
        "Sanitizer reliably inactivates many organisms on skin.",
        *(f"Hand hygiene recommendation {i}." for i in range(6)),
        "病情重者可用冲击疗法，甲泼尼龙10-30mg/(kg.d)，连用3d。",
        "A regimen is chosen for each patient.",
        "细支气管炎的诊断。",
    ]
    table = glossary_table()
    rarity = rarity_of(passages)
    virus = analyse_question(
        "Does sanitizer reliably inactivate SARS-CoV-2?", table=table, rarity=rarity
    )
    assert virus.aspect is None and [a.term for a in virus.anchors] == ["SARS-CoV-2"]
    described = judge_responsive(virus, passages[0], context=["新型冠状病毒感染诊疗方案 > 病原学"])
    assert not described.responsive and described.reason == "other_subject"
    pulse = analyse_question(
        "Bronchiolitis - pulse methylprednisolone regimen?",
        table=table,
        rarity=rarity,
    )
    assert "regimen" in [t.term for t in pulse.terms if not t.anchor]
    assert judge_responsive(pulse, passages[-3], context=["细支气管炎 > 治疗"]).responsive
    # Nor does how it is done ("close it primarily"): an adverb seldom says what is asked.
    bites = ["犬咬伤伤口，至受伤72小时以后可视伤口情况行延迟闭合。", "Wounds heal primarily."]
    bite = analyse_question(
        "Dog bite presenting late - close it primarily?",
        table=table_with(("犬咬伤", "dog bite")),
        rarity=rarity_of([*bites, *(f"犬咬伤处理第{i}条。" for i in range(6))]),
    )
    assert [t.term for t in bite.anchors] == ["Dog bite"] and bite.terms[0].term == "primarily"
    assert judge_responsive(bite, bites[0], context=["犬咬伤"]).responsive


def test_whom_the_question_is_about_is_no_word_the_sentence_must_say() -> None:
    """ "育龄女性可能怀孕，流感能用法维拉韦吗？" was refused: 女性 was read as a word the answer
    must say, and the guideline says 妇女 ("孕妇或可能怀孕的妇女禁用")."""
    passages = [
        "法维拉韦：适用于成人新型或再次流行的流感的治疗。孕妇或可能怀孕的妇女禁用。",
        "女性患者的流感治疗。",
        "流感的诊断。",
        "奥司他韦：成人剂量每次75mg。",
    ]
    analysis = analyse_question(
        "育龄女性可能怀孕，流感可以吃法维拉韦吗？", table=glossary_table(),
        rarity=rarity_of(passages),
    )  # fmt: skip
    assert "女性" in [t.term for t in analysis.common]
    head = "法维拉韦：适用于成人新型或再次流行的流感的治疗。"
    verdict = judge_responsive(
        analysis,
        "孕妇或可能怀孕的妇女禁用，哺乳期妇女使用时应暂停哺乳。",
        context=[head, "流行性感冒诊疗方案 > 抗病毒治疗"],
        labels=[head],
        titles=["流行性感冒诊疗方案"],
    )
    assert verdict.responsive


def test_an_item_stands_under_the_sentence_that_speaks_of_its_list() -> None:
    indication = detect_aspect("毒蛇咬伤什么情况必须用抗蛇毒血清？")
    assert indication is not None and indication.name == "indication"
    item = "咬伤48小时内局部肿胀超过咬伤肢体一半；"
    pointing = "抗蛇毒血清使用指征：伴有以下至少一项中毒表现的患者需使用抗蛇毒血清。"
    assert stated_under(indication, item, [pointing])
    assert not stated_under(indication, item, ["抗蛇毒血清使用指征：患者需使用抗蛇毒血清。"])


def test_items_under_a_sentence_saying_when_say_who_not_when() -> None:
    # "流感抗病毒最好在起病后多长时间内开始": the risk groups under "下列人群…尽早给予抗病毒药物
    # 治疗。" say who, not how soon; the sentence itself answers.
    timing = detect_aspect("流感抗病毒最好在起病后多长时间内开始？")
    assert timing is not None and timing.name == "timing"
    head = "下列人群感染流感病毒后较易发展为重型病例，尽早给予抗病毒药物治疗。"
    assert stated_under(timing, head)
    assert not stated_under(timing, "年龄≥65岁的老年人；", [head])


def test_a_drug_whose_class_ending_jieba_cuts_across_pieces_is_another_drug() -> None:
    """jieba cuts 莫西沙星 into 莫 / 西沙 / 星: the moxifloxacin fragment "莫西沙星：10mg/(kg." of a
    chunk's end read as naming no drug and was shown (⚠) to a levofloxacin dose question."""
    assert names_in("莫西沙星：10mg/(kg.")
    analysis = analyse_question(
        "8岁儿童左氧氟沙星剂量怎么给？", table=glossary_table(), rarity=None
    )
    other = judge_responsive(analysis, "莫西沙星：10mg/(kg.", context=["（二）抗肺炎支原体药物"])
    assert not other.responsive and other.reason == "other_subject"


def test_a_substance_named_by_its_blood_level_is_a_finding_not_another_drug() -> None:
    """甘油三酯 has an ester's ending (酯), but 高甘油三酯血症 is a finding among a syndrome's
    criteria: the criteria sentence still answers a value question about the syndrome."""
    criteria = (
        "外周血二系减少，血清铁蛋白升高≥500μg/L，高甘油三酯（TG）血症（TG≥3.0mmol/L）和/或"
        "低纤维蛋白原血症（纤维蛋白原≤1.5g/L）等8条诊断标准中的任意5条。"
    )
    assert names_in(criteria) == ()
    assert names_in("红霉素琥珀酸乙酯颗粒") == ("红霉素", "乙酯")
    analysis = analyse_question(
        "噬血细胞综合征铁蛋白多少有诊断意义？",
        table=glossary_table(),
        rarity=rarity_of([criteria, "噬血细胞综合征：发热、脾大。", *SMALL_LIBRARY]),
    )
    verdict = judge_responsive(analysis, criteria, context=["噬血细胞综合征。"])
    assert verdict.responsive, verdict


def test_items_of_a_section_headed_by_what_it_lists_state_it() -> None:
    # "肾功能差的病人能做TACE吗，肌酐多少算禁忌": "⑥肾功能障碍：血肌酐>176.8 μmol/L…" stands
    # under the section "（3）TACE 的禁忌证" and was dropped as stating no contraindication.
    contraindication = detect_aspect("肌酐多少算禁忌？")
    assert contraindication is not None and contraindication.name == "contraindication"
    item = "肾功能障碍：血肌酐>176.8 μmol/L 或者肌酐清除率<30mL/min，且不可纠正；"
    assert not stated_under(contraindication, item)
    assert stated_under(contraindication, item, ["（3）TACE 的禁忌证"])
    assert not stated_under(contraindication, item, ["（2）TACE 的适应证"])
    # A heading names what a dose or a time is of, never the number itself.
    dose = detect_aspect("这个药的剂量是多少？")
    assert dose is not None and not stated_under(dose, "肾功能障碍者慎用；", ["剂量与用法"])
    # A sentence above the item says something itself; only a heading lists.
    assert not stated_under(contraindication, item, ["肝功能不全者应避免使用。"])


def test_a_sentence_under_another_diseases_section_is_about_that_disease() -> None:
    # "MPP整叶实变、CRP超过100mg/L，甲泼尼龙起始剂量多少？" was shown the pulse therapy of the
    # guideline's section on bronchiolitis obliterans, a complication, with ✓.
    table = table_with(("肺炎支原体肺炎", "mycoplasma pneumoniae pneumonia"))
    pulse = "病情重者可用冲击疗法，甲泼尼龙10-30mg/(kg.d)，连用3d，每月1次。"
    title = ["儿童肺炎支原体肺炎诊疗指南"]
    other = ["（十二）闭塞性细支气管炎/支气管炎的早期识别和治疗"]
    own = ["（三）糖皮质激素治疗"]
    asked = analyse_question("肺炎支原体肺炎患儿甲泼尼龙剂量多少？", table=table, rarity=None)
    under_other = judge_responsive(asked, pulse, context=title, titles=title, labels=other)
    assert not under_other.responsive and under_other.reason == "other_subject"
    assert judge_responsive(asked, pulse, context=title, titles=title, labels=own).responsive
    # Naming the asked disease itself, the sentence is about it wherever it stands.
    named = "肺炎支原体肺炎重者可用甲泼尼龙10-30mg/(kg.d)。"
    assert judge_responsive(asked, named, context=title, titles=title, labels=other).responsive
    # A question naming no disease asks about the drug wherever it is given.
    drug_only = analyse_question("甲泼尼龙冲击疗法剂量多少？", table=table, rarity=None)
    assert judge_responsive(drug_only, pulse, context=title, titles=title, labels=other).responsive


def test_a_combination_products_tablet_count_is_no_dose_of_one_of_its_drugs() -> None:
    # "What is the maximum daily dose of acetaminophen?" was answered with ✓ by the CDC's
    # hydrocodone/acetaminophen label example: eight tablets a day is that product's limit.
    label = (
        "For example, a label for hydrocodone bitartrate (5 mg) and acetaminophen (300 mg) "
        "states that the usual adult dosage is one or two tablets every 4–6 hours as needed for "
        "pain, and the total daily dosage should not exceed eight tablets."
    )
    table = glossary_table()
    for question in (
        "What is the maximum daily dose of acetaminophen?",
        "对乙酰氨基酚每天最多吃多少？",
    ):
        analysis = analyse_question(question, table=table, rarity=None)
        verdict = judge_responsive(analysis, label)
        assert not verdict.responsive and verdict.reason == "other_subject", question
    # The asked drug's own amount is its dose, whatever else the sentence names.
    own = "Acetaminophen should not exceed 4 g per day; hydrocodone is dosed separately."
    analysis = analyse_question(
        "What is the maximum daily dose of acetaminophen?", table=table, rarity=None
    )
    assert judge_responsive(analysis, own).responsive


def test_a_fever_named_beside_a_drug_is_no_disease_the_sentence_must_name() -> None:
    # "流感患儿高热，可以用阿司匹林退热吗？" was refused: of its three names one may be left to
    # the passage, but 高热 ends as 登革热 does and was read as a disease's own name.
    analysis = analyse_question(
        "流感患儿高热，可以用阿司匹林退热吗？", table=glossary_table(), rarity=None
    )
    assert "高热" in [a.term for a in analysis.anchors], analysis.anchors
    title = ["流行性感冒诊疗方案"]
    advice = "合理选用退热药物，儿童忌用阿司匹林或含阿司匹林及其他水杨酸制剂。"
    assert judge_responsive(analysis, advice, context=title, titles=title).responsive


_ASTHMA_LIBRARY = [
    "扎那米韦（吸入喷雾剂）：适用于成人及7岁以上儿童，用法：每次10mg，12小时1次。",
    "不推荐哮喘或其他慢性呼吸道疾病患者使用吸入性扎那米韦。",
    "扎那米韦成人每次10mg。",
    "哮喘患者扎那米韦每次10mg。",
    "流感患者可使用扎那米韦。",
]


@pytest.mark.parametrize(
    ("question", "sentence", "responsive"),
    [
        # Withheld from everyone with the child's condition: withheld from the child.
        ("10岁哮喘患儿得了流感，吸入扎那米韦合适吗？", _ASTHMA_LIBRARY[1], True),
        ("Can a 10-year-old with asthma and flu use inhaled zanamivir?", _ASTHMA_LIBRARY[1], True),
        # A dose for everyone with it is still none for a child.
        ("哮喘患儿流感用扎那米韦吗？", _ASTHMA_LIBRARY[3], False),
        # A restriction on a condition the question does not name says nothing of this child.
        ("10岁患儿得了流感，吸入扎那米韦合适吗？", _ASTHMA_LIBRARY[1], False),
        # A word of the question that names no patients ("降压") is no condition withheld from.
        ("孕妇流感高血压的降压目标是多少？", "降压治疗应避免使用导致血压急剧下降的药物。", False),
    ],
)
def test_a_restriction_on_the_patients_condition_holds_for_a_child(
    question: str, sentence: str, responsive: bool
) -> None:
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(_ASTHMA_LIBRARY))
    # Under the influenza guideline's title, as in the library.
    verdict = judge_responsive(analysis, sentence, context=["流行性感冒诊疗方案"])
    assert verdict.responsive is responsive, verdict


@pytest.mark.parametrize(
    ("sentence", "responsive"),
    [
        # No one needs it, and no patients are named: a pecked child needs it no more.
        ("传染性疾病：禽类不感染和传播狂犬病病毒，无需注射狂犬疫苗。", True),
        # Said of adults only: nothing of a child.
        ("成人被禽类啄伤无需注射狂犬疫苗。", False),
        # Withheld for another use (treating rabies), not for this child's prevention.
        ("不建议使用狂犬疫苗来治疗狂犬病。", False),
    ],
)
def test_a_treatment_no_one_needs_is_not_needed_for_a_child(
    sentence: str, responsive: bool
) -> None:
    library = [sentence, "犬咬伤后应尽早注射狂犬疫苗。", "禽类啄伤诊疗规范。", "伤口冲洗。"]
    question = "小孩被鸡啄伤，要打狂犬疫苗吗？"
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    verdict = judge_responsive(analysis, sentence, context=["常见动物致伤诊疗规范"])
    assert verdict.responsive is responsive, verdict


_RENAL_DRUG = fake_drug(51)[1]


@pytest.mark.parametrize(
    ("sentence", "responsive"),
    [
        # Withheld in other words (不应使用) from those (者) with the patient's condition.
        (f"中度肾功能损伤者应将{_RENAL_DRUG}减半服用，重度肝、肾功能损伤者不应使用。", True),
        (f"重度肾功能损害者不得使用{_RENAL_DRUG}。", True),
        # Withheld from those with another condition: nothing said of this patient.
        (f"重度肝功能损伤者不应使用{_RENAL_DRUG}。", False),
        # Said of everyone: nothing of an older patient with the condition.
        (f"{_RENAL_DRUG}适用于发病5天以内的成年患者。", False),
    ],
)
def test_a_restriction_on_the_patients_condition_holds_for_an_older_patient(
    sentence: str, responsive: bool
) -> None:
    question = f"80岁老人重度肾功能不全，还能用{_RENAL_DRUG}吗？"
    library = [sentence, "老年患者应定期复查。", "流感患者可使用该药。", "肾功能不全者要调整剂量。"]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    verdict = judge_responsive(analysis, sentence, context=["某病诊疗方案"])
    assert verdict.responsive is responsive, verdict


def test_a_special_population_tells_a_sentence_apart_from_its_guidelines_topic() -> None:
    # The title names opioids, so "opioids" tells no sentence of it apart; pregnancy does.
    title = "CDC Clinical Practice Guideline for Prescribing Opioids for Pain"
    library = [
        "Clinicians should access appropriate expertise if considering tapering opioids "
        "during pregnancy.",
        "Opioids should be tapered by 10% per month.",
        "Clinicians should review the prescription drug monitoring program.",
        "长期使用阿片类药物的患者应定期评估。",
    ]
    analysis = analyse_question(
        "孕妇正在长期使用阿片类药物，想给她减量应该怎么处理？",
        table=glossary_table(),
        rarity=rarity_of(library),
    )
    verdict = judge_responsive(analysis, library[0], context=[title], titles=[title])
    assert verdict.responsive, verdict
    # A title that names the population itself leaves it telling nothing apart.
    pregnancy = "Guideline for Prescribing Opioids in Pregnancy"
    verdict = judge_responsive(analysis, library[0], context=[pregnancy], titles=[pregnancy])
    assert not verdict.responsive


_CVT_LIBRARY = [
    "低分子肝素是急性期抗凝治疗的首选药物，具有较高的安全性和有效性。",
    "颅内静脉血栓形成患者应尽早抗凝。",
    "抗凝治疗的疗程通常为3~6个月。",
    "华法林需监测INR。",
]
_CVT_SECTION = "颅内静脉血栓形成的临床管理 > （二）抗凝治疗"


@pytest.mark.parametrize(
    ("question", "responsive"),
    [
        ("What is the first-choice anticoagulant for acute cerebral venous thrombosis?", True),
        ("颅内静脉血栓形成首选什么抗凝药？", True),
        # Not asked which one: a named drug is another subject than the class.
        ("How long is anticoagulant therapy for cerebral venous thrombosis?", False),
        ("Which patients with cerebral venous thrombosis need an anticoagulant?", False),
    ],
)
def test_the_member_of_a_class_asked_for_answers_a_which_question(
    question: str, responsive: bool
) -> None:
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(_CVT_LIBRARY))
    verdict = judge_responsive(analysis, _CVT_LIBRARY[0], context=[_CVT_SECTION])
    assert verdict.responsive is responsive, (verdict, analysis.anchors)


def test_influenza_is_a_disease_no_sentence_may_leave_out() -> None:
    # Four of five names held, the fifth the disease: another guideline's sentence on the same
    # threshold answers for its own disease, not influenza.
    library = [
        "PaO2/FiO2低于200 mmHg应给予经鼻高流量氧疗（HFNC）或无创通气（NIV）。",
        "流感重型患者应给予氧疗。",
        "动脉血氧分压（PaO2）/吸氧浓度（FiO2）≤300。",
        # Influenza is the library's commonest word here, so not the question's main name.
        "流感患者应尽早抗病毒治疗。",
        "流感疫苗每年接种。",
        "流感的潜伏期一般为1～4天。",
    ]
    analysis = analyse_question(
        "In severe influenza, at what PaO2/FiO2 should high-flow nasal oxygen or noninvasive "
        "ventilation be started?",
        table=glossary_table(),
        rarity=rarity_of(library),
    )
    covid = "新型冠状病毒感染诊疗方案"
    other = judge_responsive(analysis, library[0], context=[covid], titles=[covid])
    assert not other.responsive and other.reason == "other_subject", other
    flu = "流行性感冒诊疗方案"
    assert judge_responsive(analysis, library[0], context=[flu], titles=[flu]).responsive


@pytest.mark.parametrize(
    "question",
    [
        "C. diff patient in clinic – ABHR or soap and water?",
        "Soap and water or ABHR after a C. diff patient?",
        "护理艰难梭菌病人后用速干手消毒剂还是肥皂洗手？",
    ],
)
def test_a_sentence_choosing_the_other_of_two_offered_choices_answers(question: str) -> None:
    """ "ABHR or soap and water?": the sentence preferring soap and water for C. difficile need
    not name ABHR; a sentence naming neither choice still does not answer."""
    chooses = (
        "Soap and water is also preferred after caring for a patient with known or suspected "
        "Clostridium difficile."
    )
    neither = "Clostridium difficile spores survive on surfaces for months."
    library = [chooses, neither, "Use of ABHR as the primary mode of hand hygiene.", "洗手。"]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert judge_responsive(analysis, chooses).responsive, analysis.anchors
    assert not judge_responsive(analysis, neither).responsive


def test_the_drug_asked_whether_to_give_must_be_named_not_the_one_the_patient_is_on() -> None:
    """ "Patient on 90 MME of oxycodone — should I co-prescribe naloxone?" was answered with an
    oxycodone MME conversion example that never names naloxone."""
    conversion = "Oxycodone 10 mg twice a day is 20 mg of oxycodone daily, equivalent to 30 MME."
    offer = "Clinicians should offer naloxone when the dosage reaches or exceeds 50 MME/day."
    library = [conversion, offer, "Naloxone reverses opioid overdose.", *SMALL_LIBRARY]
    for question in (
        "Patient on 90 MME of oxycodone — should I co-prescribe naloxone?",
        "长期吃羟考酮的病人要不要开纳洛酮？",
    ):
        analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
        assert not judge_responsive(analysis, conversion).responsive, question
        assert judge_responsive(analysis, offer).responsive, question


def test_drugs_started_together_leave_the_rest_of_the_question_main() -> None:
    """ "Before starting atezolizumab + bevacizumab for HCC, any workup needed for varices?"
    showed the combination's approval and trial results: atezolizumab, read as the one drug to
    give, was the main name, and the varices were left to the paragraph. Both are given; the
    sentence on screening for varices before bevacizumab answers."""
    trial = "阿替利珠单抗联合贝伐珠单抗：获批用于不可切除肝癌患者的一线治疗。"
    screen = "建议使用贝伐珠单抗治疗前，接受胃镜检查，评估高危静脉曲张或其他胃肠道出血风险。"
    library = [
        trial,
        screen,
        *(f"肝癌第{i}条：阿替利珠单抗联合贝伐珠单抗。" for i in range(6)),
        *SMALL_LIBRARY,
    ]
    analysis = analyse_question(
        "Before starting atezolizumab + bevacizumab for HCC, anything needed for varices?",
        table=glossary_table(),
        rarity=rarity_of(library),
    )
    assert analysis.drug_to_give is None
    context = ["原发性肝癌诊疗指南 > 系统抗肿瘤治疗"]
    assert not judge_responsive(analysis, trial, context=context, passage=trial).responsive
    assert judge_responsive(analysis, screen, context=context, passage=screen).responsive
    # With the glossary's everyday vocabulary, "workup" is a word of the question, not a name
    # the library lacks (it was refused as "no passage about workup").
    words = LayeredTerms(
        (load_glossary(), load_glossary(section="vocabulary"), cedict_table()), clinical=1
    )
    asked = analyse_question(
        "Before starting atezolizumab + bevacizumab for HCC, any workup needed for varices?",
        table=words,
        rarity=rarity_of(library),
    )
    assert "workup" not in [a.term for a in asked.anchors]


def test_names_written_side_by_side_are_one_name_that_must_be_there() -> None:
    """ "Source patient HCV positive after a needlestick - when should I check HCV RNA on the
    staff member?" showed "HCV 的核心确证指标是血清 HCVRNA。" of the liver cancer guideline:
    HCV, RNA and needlestick counted as three names, of which one may be missing. HCV RNA is
    one name; the needlestick is the other, and it must be there."""
    confirm = "HCV 的核心确证指标是血清 HCVRNA。"
    library = [
        confirm,
        "After a needlestick from an HCV positive source, test the staff member for HCV RNA.",
        *(f"Needlestick injury prevention step {i}." for i in range(4)),
        *SMALL_LIBRARY,
    ]
    analysis = analyse_question(
        "Source patient HCV positive after a needlestick - when should I check HCV RNA on the "
        "staff member?",
        table=glossary_table(),
        rarity=rarity_of(library),
    )
    assert {"HCV", "RNA", "needlestick"} <= {a.term for a in analysis.anchors}
    assert not judge_responsive(analysis, confirm, context=["原发性肝癌诊疗指南"]).responsive
    assert judge_responsive(analysis, library[1], context=["Occupational health"]).responsive
    # Chinese writes every name side by side: 流感 and 发烧 stay two (one of the three may be
    # left to the title: "儿童忌用阿司匹林" of the influenza guideline).
    aspirin = "合理选用退热药物，儿童忌用阿司匹林或含阿司匹林及其他水杨酸制剂。"
    flu = [aspirin, "流感的诊断。", "发烧的处理。", "阿司匹林用于卒中。", *SMALL_LIBRARY]
    child = analyse_question(
        "小孩流感发烧能吃阿司匹林退烧吗", table=glossary_table(), rarity=rarity_of(flu)
    )
    assert len(child.anchors) == 3 and child.names_apart == 3
    assert analysis.names_apart == 2


def test_naming_no_drug_or_disease_a_chinese_question_is_about_its_rarest_word() -> None:
    """No name to hold it, the question is about its rarest word: a sentence on isolation
    wards answers nothing about toys in them, nor one on admission criteria about toilets."""
    ward = "隔离病房应当设立明确的标识，通风良好，房门必须随时保持关闭。"
    toys = "隔离病房内患儿只使用易于清洁消毒的塑料玩具。"
    admission = "住院治疗标准：基础疾病明显加重。"
    toilets = "住院病区每20名患者至少设1个厕所。"
    library = [ward, "隔离病房的患者不设陪护。", "隔离病房配备手消毒剂。", toys, admission,
               "住院患者每日评估。", toilets]  # fmt: skip
    rarity = rarity_of(library)
    table = glossary_table()
    for question, wrong, right in (
        ("隔离病房里的患儿玩具有什么要求？", ward, toys),
        ("住院病区厕所数量有什么标准？", admission, toilets),
    ):
        analysis = analyse_question(question, table=table, rarity=rarity)
        assert not analysis.anchors, analysis.terms
        assert not judge_responsive(analysis, wrong).responsive, wrong
        assert judge_responsive(analysis, right).responsive, right


def test_a_stroke_left_out_of_three_names_is_another_wards_answer() -> None:
    """卒中 (stroke) is a disease's own name without a disease ending: of three names asked, it
    may not be the one a sentence leaves out ("stroke ward UTI prevention with urinary
    catheters" is not answered by a general sentence on catheter-associated infections)."""
    general = (
        "Bundles for catheter-associated urinary tract infection prevention include removing "
        "the urinary catheter as soon as possible."
    )
    stroke = "卒中患者应尽早拔除留置导尿管，以预防尿路感染。"
    question = "stroke pts: UTI prevention with a urinary catheter?"
    # Stroke is the library's commonest name: the others outweigh it.
    library = [general, stroke, "Wash hands.", *["卒中的诊断与治疗。"] * 4]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert "stroke" in {a.term for a in analysis.anchors[1:]}, analysis.anchors
    assert analysis.names_apart >= 3, analysis.anchors
    assert not judge_responsive(analysis, general, context=["Core components"]).responsive
    assert judge_responsive(analysis, stroke, context=["脑血管病防治指南"]).responsive


def test_an_abbreviated_disease_is_a_name_a_sentence_may_not_leave_out() -> None:
    """新冠 ends in no disease ending, but it shortens 新型冠状病毒感染: of three names asked it
    may not be the one left out. Under an imaging heading, a sentence says what CT shows
    without naming CT."""
    other = "计算机断层摄影肺血管造影显示肺血管内充盈缺损，可确诊。"
    own = "合并肺炎者早期呈现多发小斑片影及间质改变，胸腔积液少见。"
    glossed = "可行计算机断层成像（computed tomography，CT）检查。"
    library = [other, own, glossed, *["肺炎的诊断。"] * 3, *["新型冠状病毒感染的治疗。"] * 2]
    table = LayeredTerms((load_glossary(), library_glosses([glossed]), cedict_table()), clinical=2)
    question = "新冠合并肺炎CT早期啥样？"
    analysis = analyse_question(question, table=table, rarity=rarity_of(library))
    assert [a.term for a in analysis.anchors] == ["CT", "新冠", "肺炎"], analysis.anchors
    mycoplasma = ["2.肺栓塞（PE）", "（一）肺内并发症", "儿童肺炎支原体肺炎诊疗指南"]
    assert not judge_responsive(
        analysis, other, context=mycoplasma, labels=["（一）肺内并发症"]
    ).responsive
    covid = ["四、临床特点 > （三）胸部影像学", "新型冠状病毒感染诊疗方案"]
    assert judge_responsive(analysis, own, context=covid, labels=["（三）胸部影像学"]).responsive
    # Under another heading the sentence does not say it is what CT shows.
    assert not judge_responsive(
        analysis, own, context=["四、临床特点", "新型冠状病毒感染诊疗方案"], labels=["四、临床特点"]
    ).responsive


def test_the_measure_whose_level_is_asked_is_never_the_name_left_out() -> None:
    """Asked what D-dimer level suggests a pulmonary embolism in mycoplasma pneumonia, a
    sentence naming the embolism and the disease with a number of days states no D-dimer."""
    other = "SMPP多发生于病程1周左右，出现肺栓塞时患者可出现胸痛和咯血。"
    own = "D-二聚体≥5mg/L时应警惕肺栓塞。"
    # D-dimer is measured often, the embolism rare: the embolism is the main name.
    library = [other, own, *["支原体肺炎与D-二聚体。"] * 4, "D-二聚体检测。"]
    question = "支原体肺炎怀疑肺栓塞，D-二聚体多少有提示意义"
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert analysis.aspect is not None and analysis.aspect.name == "value", analysis.aspect
    assert len(analysis.anchors) == 3 and analysis.anchors[0].term == "肺栓塞", analysis.anchors
    title = ["儿童肺炎支原体肺炎诊疗指南"]
    assert not judge_responsive(analysis, other, context=title).responsive
    assert judge_responsive(analysis, own, context=title).responsive


def test_a_question_in_two_parts_is_answered_part_by_part() -> None:
    """ "Which class are colonoscopy endoscopes? and blood pressure cuffs?": a sentence naming
    both names of the first part answers it; one naming neither answers nothing. A part of one
    name is said of the other parts ("Influenza: who is at high risk? does plain hypertension
    count?" asks about flu patients), and asked in one part, every name must be there."""
    endoscopes = (
        "Semi-critical items such as endoscopes used for colonoscopy require high-level "
        "disinfection."
    )
    cuffs = "Blood pressure should be measured with a cuff of the right size."
    library = [endoscopes, cuffs, "Wash hands.", "Use gloves.", "Disinfect rooms.", "Flu."]
    table, rarity = glossary_table(), rarity_of(library)
    two = analyse_question(
        "Which class are colonoscopy endoscopes? and blood pressure cuffs?",
        table=table,
        rarity=rarity,
    )
    assert {"colonoscopy", "endoscopes", "blood pressure"} <= {a.term for a in two.anchors}
    context = ["Reprocessing"]
    assert judge_responsive(two, endoscopes, context=context).responsive
    assert not judge_responsive(two, "Use gloves for all patients.", context=context).responsive
    risk = analyse_question(
        "Influenza: who is at high risk? does plain hypertension count?",
        table=table,
        rarity=rarity,
    )
    pressure = "Hypertension should be controlled below 130/80 mmHg after a stroke."
    assert not judge_responsive(risk, pressure, context=["Stroke guideline"]).responsive
    one = analyse_question(
        "Are colonoscopy endoscopes and blood pressure cuffs the same class?",
        table=table,
        rarity=rarity,
    )
    assert not judge_responsive(one, endoscopes, context=context).responsive


def test_an_item_under_the_heading_of_the_grade_asked_answers_what_makes_it() -> None:
    # "（一）重症病例的早期识别" over "2.影像学表现。肺部阴影进展迅速…": what makes a case of the
    # guideline's own disease severe, though neither the item nor the question's other words
    # tell it apart from the rest of the guideline.
    table = table_with(("腺病毒", "adenovirus"), ("肺炎", "pneumonia"))
    asked = analyse_question(
        "What are the signs of severe adenovirus pneumonia in kids?", table=table, rarity=None
    )
    assert asked.aspect is not None and asked.aspect.name == "severity"
    title = "儿童腺病毒肺炎诊疗规范"
    heading = "（一）重症病例的早期识别"
    item = "影像学表现：肺部阴影进展迅速，双肺多灶实变。"
    verdict = judge_responsive(
        asked, item, context=[f"五、诊断 > {heading}", title], titles=[title], labels=[heading]
    )
    assert verdict.responsive, verdict
    # Under another heading, the same words answer nothing of severity.
    other = "（二）影像学检查"
    assert not judge_responsive(
        asked, item, context=[f"四、临床表现 > {other}", title], titles=[title], labels=[other]
    ).responsive
    # Under the heading of another grade, not the one asked.
    critical = "（四）危重型"
    assert not judge_responsive(
        asked, "出现休克；", context=[f"六、临床分型 > {critical}", title], labels=[critical]
    ).responsive


def test_an_item_under_the_grade_its_list_heads_answers_that_grades_criteria() -> None:
    # "2.中度：（1）胡蜂蜇刺数量≥15针；（2）…": the grade heads the item's list, taken along.
    table = table_with(("胡蜂蜇伤", "wasp sting"))
    asked = analyse_question("胡蜂蜇伤 什么算中度？", table=table, rarity=None)
    assert asked.aspect is not None and asked.aspect.name == "severity"
    section = "胡蜂蜇伤诊疗规范 > 六、现场应急救治及院前救治 > （二）尽早评估病情"
    item = "胡蜂蜇伤者蜇刺数量≥15针；"
    assert judge_responsive(
        asked, item, context=[section], along=["2.中度："], labels=["（二）尽早评估病情"]
    ).responsive
    # Under another grade's head, or with no grade said, it is no answer.
    assert not judge_responsive(
        asked, item, context=[section], along=["3.重度："], labels=["（二）尽早评估病情"]
    ).responsive
    # What is done for the grade is not what makes it.
    treated = "胡蜂蜇伤诊疗规范 > 七、治疗 > （二）中度"
    assert not judge_responsive(
        asked, "胡蜂蜇伤者给予全身水化治疗；", context=[treated], labels=["（二）中度"]
    ).responsive
