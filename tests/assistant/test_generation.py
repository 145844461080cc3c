"""Extractive answers composed, not collected: the answering passage's sentences in document
order with the context they need, list markers and page furniture stripped (issue #10 item 3;
assistant/generation.py)."""

from __future__ import annotations

import pytest

from assistant.citations import split_sentences
from assistant.domain import Source
from assistant.generation import clean_shown, compose_extractive, enumerates, parse_plain_text
from assistant.glossary import LayeredTerms, TermTable, cedict_table, load_glossary
from assistant.questions import QuestionAnalysis, analyse_question
from assistant.responsiveness import judge_responsive
from tests.factories import fake_drug, glossary_table, make_source, rarity_of, table_with


def shown_texts(
    question: str,
    sources: list[Source],
    passages: list[str],
    table: LayeredTerms | None = None,
) -> list[str]:
    """The sentences an extractive answer shows, the question read against `passages`."""
    asked = analyse_question(question, table=table or glossary_table(), rarity=rarity_of(passages))
    return [t for t, _ in compose_extractive(question, sources, analysis=asked)[0]]


def test_a_table_of_contents_is_no_sentence_of_an_answer() -> None:
    toc = (
        "Overview Section 1: Facility Demographics Section 2: Infection Control Program "
        "Section 3: Direct Observation of Facility Practices"
    )
    source = make_source(1, toc, doc="cdc", title="Checklist")
    analysis = analyse_question("What does section 2 cover?", table=table_with(), rarity=None)
    assert compose_extractive(analysis.text, [source], analysis=analysis)[0] == []


def test_labels_of_a_recommendation_table_are_no_sentences_of_an_answer() -> None:
    text = (
        "Multimodal strategies 5a. Strong, low quality 5b. Multimodal strategies for hand "
        "hygiene include at least 5 elements."
    )
    source = make_source(1, text, doc="who", title="Core components")
    table = glossary_table()
    analysis = analyse_question(
        "How many elements do multimodal strategies include?",
        table=table,
        rarity=rarity_of([text, "Strategies vary.", "Hand hygiene."]),
    )
    shown, _ = compose_extractive(analysis.text, [source], analysis=analysis)
    assert [t for t, _ in shown] == [
        "Multimodal strategies for hand hygiene include at least 5 elements."
    ], shown
    labels = make_source(2, "Multimodal strategies 5a. Strong, low quality 5b.", doc="w", title="T")
    alone, _ = compose_extractive(analysis.text, [labels], analysis=analysis)
    assert alone == [], alone


def test_a_sentence_answering_the_case_its_premise_leaves_open_needs_that_premise() -> None:
    """ "Otherwise, X" states the other case of the sentence before it: without that sentence
    it reads as the answer for every case."""
    text = (
        "Wash with soap and water after caring for a patient with norovirus. "
        "Otherwise, the preferred method of hand hygiene is an alcohol-based hand rub."
    )
    source = make_source(1, text, doc="hh", title="Outpatient care")
    table = glossary_table()
    rarity = rarity_of([text, "Patients with norovirus.", "Hand rub dries quickly."])

    asked_rub = analyse_question(
        "When is an alcohol-based hand rub used?", table=table, rarity=rarity
    )
    shown, dropped = compose_extractive(asked_rub.text, [source], analysis=asked_rub)
    assert not any(t.startswith("Otherwise") for t, _ in shown), shown
    assert any(d.reason == "needs_context" for d in dropped), dropped
    # When its premise answers too, it is shown with it, whichever scores higher.
    asked_both = analyse_question(
        "When are soap and water or an alcohol-based hand rub used?", table=table, rarity=rarity
    )
    both, _ = compose_extractive(asked_both.text, [source], analysis=asked_both)
    assert [t[:9] for t, _ in both] == ["Wash with", "Otherwise"], both


def test_a_dependent_sentence_brings_its_premise_however_low_that_scores() -> None:
    """The premise answers only through its heading ("Hand hygiene"), so it scores far below
    the sentence after it; it is still shown, before it."""
    text = (
        "Wash with soap and water after caring for a patient with norovirus. "
        "Otherwise, the preferred method of hand hygiene is an alcohol-based hand rub."
    )
    source = make_source(1, text, doc="hh", title="Hand hygiene")
    rarity = rarity_of([text, "Patients with norovirus.", "Hand rub dries quickly."])
    analysis = analyse_question(
        "When is an alcohol-based hand rub used?", table=glossary_table(), rarity=rarity
    )
    shown, _ = compose_extractive(analysis.text, [source], analysis=analysis)
    assert [t[:9] for t, _ in shown] == ["Wash with", "Otherwise"], shown


def test_a_table_of_contents_is_never_shown() -> None:
    """A contents page cut into sentences names the question's words and says nothing:
    headings with a checklist's section code or with their page numbers."""
    contents = (
        "V.a/b. Hand Hygiene VI.a/b. Personal Protective Equipment (PPE) VII.a/b. Injection "
        "Safety VIII.a/b. hand hygiene at the facility level 67 Core component 8: Personal "
        "protective equipment 69 8a General principles 69 8b."
    )
    text = "Hand hygiene is always the final step after removing and disposing of PPE."
    sources = [
        make_source(1, contents, doc="guide", title="Outpatient guide"),
        make_source(2, text, doc="guide", title="Outpatient guide"),
    ]
    question = "摘下防护用品后需要马上做手卫生吗？"
    analysis = analyse_question(
        question, table=glossary_table(), rarity=rarity_of([contents, text, "Wear gloves."])
    )
    shown, _ = compose_extractive(question, sources, analysis=analysis)
    assert [t for t, _ in shown] == [text]


def test_a_register_of_grants_or_terms_of_office_is_never_shown() -> None:
    """An annex's table of grants or members cut into sentences names the question's words
    ("antibiotic") beside dates and sums: a row of a register, never guidance."""
    grants = (
        "Health Foundation 01/01/2013 15/03/2014 £456 042 Enhances prescribing through an "
        "antibiotic prescribing policy smartphone application Imperial College 01/04/2013 "
        "31/03/2013 £7155 Review of interventions to improve antibiotic prescribing."
    )
    text = "Antibiotic prescribing should follow the local formulary."
    sources = [
        make_source(1, grants, doc="who", title="Annexes"),
        make_source(2, text, doc="who", title="Stewardship"),
    ]
    question = "How should antibiotic prescribing be guided?"
    analysis = analyse_question(
        question, table=glossary_table(), rarity=rarity_of([grants, text, "Wash hands."])
    )
    shown, _ = compose_extractive(question, sources, analysis=analysis)
    assert [t for t, _ in shown] == [text], shown
    # One date or one sum is part of what a sentence says.
    dated = make_source(
        3, "Since 01/01/2016 antibiotic prescribing is audited.", doc="w", title="T"
    )
    once, _ = compose_extractive(question, [dated], analysis=analysis)
    assert [t for t, _ in once] == ["Since 01/01/2016 antibiotic prescribing is audited."], once


def test_extractive_answer_comes_from_one_guideline_in_order_with_context() -> None:
    flu = (
        "（1）奥司他韦：适用于1岁以上儿童及成人。成人剂量每次75mg，每日2次。"
        "（2）帕拉米韦：成人剂量300mg，静脉滴注。"
    )
    other = "奥司他韦用于预防时，成人每次75mg，每日1次。"
    sources = [
        make_source(1, flu, doc="flu", title="流感诊疗方案"),
        make_source(2, other, doc="other", title="另一份指南"),
    ]
    analysis = analyse_question("奥司他韦的成人剂量？", table=table_with(), rarity=None)
    sentences, dropped = compose_extractive("奥司他韦的成人剂量？", sources[:1], analysis=analysis)
    texts = [t for t, _ in sentences]
    # The dose sentence takes the sentence naming the drug along, list marker stripped.
    assert texts == ["奥司他韦：适用于1岁以上儿童及成人。", "成人剂量每次75mg，每日2次。"]
    assert not any("帕拉米韦" in t for t in texts)
    assert any("帕拉米韦" in d.text and d.reason == "other_subject" for d in dropped)
    # Two guidelines answer: the sentences come from one of them, never padded from both.
    both, _ = compose_extractive("奥司他韦的成人剂量？", sources, analysis=analysis)
    assert len({cites[0] for _, cites in both}) == 1


def test_list_markers_and_page_furniture_are_stripped() -> None:
    assert clean_shown("（3）每日2次。") == "每日2次。"
    assert clean_shown("2. Dedicate vials to one patient.") == "Dedicate vials to one patient."
    assert clean_shown("①首选奥司他韦。") == "首选奥司他韦。"
    assert clean_shown("Use gloves - 12 - when needed.") == "Use gloves when needed."
    assert clean_shown("2.5 mg daily.") == "2.5 mg daily."
    # A PDF's bullet glyph, extracted as a control or private-use character.
    assert clean_shown("\x9f Standards for bed occupancy.") == "Standards for bed occupancy."
    assert clean_shown("\uf0b7 Use a new needle.") == "Use a new needle."


def _drug_passage(zh: str) -> str:
    return (
        f"（1）抗病毒药物。\n①{zh}：胶囊适用于1岁及以上儿童及成人。干混悬剂适用于2周龄以上儿童。\n"
        "成人剂量每次50mg，每日2次。\n"
        "1岁及以上儿童推荐剂量：体重≤15kg，每次20mg；\n15kg＜体重≤30kg，每次30mg；\n"
        "上述均为每日2次，疗程7天。\n肾功能不全者要根据肾功能调整剂量。\n②另一药：成人一次200mg。"
    )


def _composed_from_drug_passage(question: str, zh: str) -> tuple[list[str], QuestionAnalysis]:
    """The extractive answer to `question` from `_drug_passage(zh)`, with the analysis."""
    sources = [make_source(1, _drug_passage(zh), doc="d", title="诊疗方案")]
    analysis = analyse_question(question, table=table_with(), rarity=None)
    sentences, _ = compose_extractive(question, sources, analysis=analysis)
    return [t for t, _ in sentences], analysis


def test_a_course_several_sentences_below_its_drugs_item_head_answers_with_the_head() -> None:
    _, zh = fake_drug(11)
    question = f"{zh}的疗程是多久？"
    texts, _ = _composed_from_drug_passage(question, zh)
    assert "上述均为每日2次，疗程7天。" in texts
    # The item head naming the drug comes along; an age ("2周龄") is no course length.
    assert texts[0].startswith(f"{zh}：")
    assert not any("周龄" in t for t in texts)


def test_a_dose_continuing_a_childrens_dose_clause_does_not_answer_for_adults() -> None:
    _, zh = fake_drug(12)
    question = f"{zh}的成人剂量是多少？"
    texts, analysis = _composed_from_drug_passage(question, zh)
    assert "成人剂量每次50mg，每日2次。" in texts
    # "15kg＜体重≤30kg，每次30mg；" names no one: its clause before says children.
    assert not any("每次30mg" in t or "每次20mg" in t for t in texts)
    clause = "1岁及以上儿童推荐剂量：体重≤15kg，每次20mg；"
    verdict = judge_responsive(
        analysis, "15kg＜体重≤30kg，每次30mg；", context=[f"{zh}：胶囊"], clauses=[clause]
    )
    assert verdict.reason == "other_population"
    alone = judge_responsive(analysis, "15kg＜体重≤30kg，每次30mg；", context=[f"{zh}：胶囊"])
    assert alone.responsive


def test_a_lead_in_is_shown_with_its_list_or_not_at_all() -> None:
    text = (
        "2.住院标准（满足下列标准任意1条）：\n（1）基础疾病明显加重。\n（2）符合重型诊断标准。\n"
        "3.非住院患者居家隔离，保持房间通风。"
    )
    analysis = analyse_question("甲病住院的标准是什么？", table=table_with(), rarity=None)
    sentences, _ = compose_extractive(
        "甲病住院的标准是什么？",
        [make_source(1, text, doc="d", title="甲病诊疗方案")],
        analysis=analysis,
    )
    assert [t for t, _ in sentences] == [
        "住院标准（满足下列标准任意1条）：",
        "基础疾病明显加重。",
        "符合重型诊断标准。",
    ]
    # The same lead-in at the end of a passage, its list cut off: it says nothing alone.
    cut, _ = compose_extractive(
        "甲病住院的标准是什么？",
        [make_source(1, "甲病患者应当隔离治疗。\n2.住院标准（满足下列标准任意1条）：", doc="d",
                 title="甲病诊疗方案")],
        analysis=analysis,
    )  # fmt: skip
    assert not any(t.endswith("：") for t, _ in cut)


def test_a_dose_reaches_back_until_every_name_of_the_question_is_in_its_context() -> None:
    # The sentence just above names the marker, the one above that the drug: both are needed.
    _, zh = fake_drug(13)
    text = (
        f"2.白细胞介素6（IL-6）抑制剂：{zh}。\n对于重型且IL-6水平明显升高者可试用。\n"
        "用法：首次剂量4～8mg/kg，推荐剂量400mg；"
    )
    question = f"IL-6明显升高的重症患者，{zh}首剂给多少？"
    analysis = analyse_question(question, table=table_with(), rarity=None)
    sentences, _ = compose_extractive(
        question, [make_source(1, text, doc="d", title="诊疗方案")], analysis=analysis
    )
    texts = [t for t, _ in sentences]
    assert texts[-1] == "用法：首次剂量4～8mg/kg，推荐剂量400mg；"
    assert texts[0] == f"白细胞介素6（IL-6）抑制剂：{zh}。"


def test_a_patient_of_a_given_weight_is_answered_by_their_row_of_the_table() -> None:
    _, zh = fake_drug(15)
    question = f"25公斤的孩子用{zh}，单次给多少？"
    texts, _ = _composed_from_drug_passage(question, zh)
    assert "15kg＜体重≤30kg，每次30mg；" in texts
    assert not any("每次20mg" in t or "每次50mg" in t for t in texts)


@pytest.mark.parametrize(
    "asked", ["体重15kg以下的孩子用{zh}，单次给多少？", "What {zh} dose for a child under 15 kg?"]
)
def test_a_patient_under_a_weight_is_answered_by_the_row_below_it(asked: str) -> None:
    # "15kg＜体重≤30kg" leaves 15 kg out; the row under "1岁及以上儿童推荐剂量：" (an age
    # before its label, not a numbered entry beside the drug's) is the one.
    _, zh = fake_drug(16)
    texts, _ = _composed_from_drug_passage(asked.format(zh=zh), zh)
    assert "1岁及以上儿童推荐剂量：体重≤15kg，每次20mg；" in texts
    assert not any("每次30mg" in t or "每次50mg" in t for t in texts)


def test_a_dose_under_a_title_naming_one_name_still_reaches_back_to_the_drug() -> None:
    # Three names: the title gives one, the sentence above the marker, two above the drug.
    # One may be missing from three, but never one the passage holds.
    _, zh = fake_drug(14)
    glossary = TermTable()
    glossary.add("新型冠状病毒感染", "COVID-19")
    table = LayeredTerms((glossary, cedict_table()), clinical=1)
    text = (
        f"2.白细胞介素6（IL-6）抑制剂：{zh}。\n对于重型且IL-6水平明显升高者可试用。\n"
        "用法：首次剂量4～8mg/kg，推荐剂量400mg；"
    )
    question = f"新冠IL-6明显升高的重症患者，{zh}首剂给多少？"
    title = "新型冠状病毒感染诊疗方案"
    rarity = rarity_of([text, *(f"{title}：第{n}条。" for n in range(20))])
    analysis = analyse_question(question, table=table, rarity=rarity)
    assert len(analysis.anchors) == 3
    source = make_source(1, text, doc="d", title=title)
    sentences, _ = compose_extractive(question, [source], analysis=analysis)
    texts = [t for t, _ in sentences]
    assert texts[0] == f"白细胞介素6（IL-6）抑制剂：{zh}。"
    assert texts[-1] == "用法：首次剂量4～8mg/kg，推荐剂量400mg；"


def test_a_guillemet_bullet_is_a_list_marker() -> None:
    shown = clean_shown("› access to hand hygiene facilities within 5 meters of toilets;")
    assert shown == "access to hand hygiene facilities within 5 meters of toilets;"


def test_checklist_answer_boxes_are_page_furniture() -> None:
    assert clean_shown("Yes No F.") == ""
    assert clean_shown("Yes No Not applicable (Facility does not use tubing) G.") == ""
    assert clean_shown("Yes No C. The septum is disinfected.") == "The septum is disinfected."
    assert clean_shown("Answer yes or no.") == "Answer yes or no."


def _composed(question: str, passage: str) -> list[str]:
    """The extractive answer to `question` from one flu-protocol passage."""
    analysis = analyse_question(question, table=table_with(), rarity=None)
    source = make_source(1, passage, doc="flu", title="流感诊疗方案")
    return [t for t, _ in compose_extractive(question, [source], analysis=analysis)[0]]


def test_a_sentence_before_says_what_a_sentence_is_about_never_whom() -> None:
    # In a drug's item, the pregnancy warning comes before the usual dose. A question about
    # pregnancy is answered by the warning; the dose sentence takes the drug's name from the
    # item head but is not a dose for pregnancy because the sentence before it mentions it.
    texts = _composed(
        "法维拉韦孕妇可以使用吗？",
        "（2）RNA聚合酶抑制剂。法维拉韦：适用于成人流感的治疗。孕妇或可能怀孕的妇女禁用，"
        "哺乳期妇女使用时应暂停哺乳。用法：口服，第1天，每次1600mg，每日2次。",
    )
    assert any("孕妇或可能怀孕的妇女禁用" in t for t in texts)
    assert not any("1600mg" in t for t in texts)
    # A head does say whom: an item head naming children answers for the course under it.
    texts = _composed(
        "儿童用奥司他韦疗程几天？",
        "（1）神经氨酸酶抑制剂。①奥司他韦：奥司他韦胶囊适用于1岁及以上儿童及成人。"
        "儿童剂量按体重给药。上述均为每日2次，疗程5天。",
    )
    assert any("疗程5天" in t for t in texts)


def test_a_question_asking_what_something_consists_of_is_answered_by_its_list() -> None:
    text = (
        "Contact precautions are the practices for patients with transmissible organisms. "
        "Each of the elements of contact precautions is described in the sections below. "
        "Contact precautions include: 1) a single room, 2) gloves and gown on entry, "
        "3) dedicated equipment, and 4) cleaning of touched surfaces. "
        "Training on the elements of contact precautions is essential for staff."
    )
    sources = [make_source(1, text, doc="cdc", title="Outpatient guide")]
    passages = [text, "Hand hygiene is required.", "Masks are worn."]
    asked = analyse_question(
        "What are the elements of contact precautions?",
        table=table_with(),
        rarity=rarity_of(passages),
    )
    shown, _ = compose_extractive(asked.text, sources, analysis=asked, max_sentences=2)
    assert any(t.startswith("Contact precautions include: 1) a single room") for t, _ in shown)
    # Asked something else about them, the list earns nothing over what shares the words.
    other = analyse_question(
        "Why are the elements of contact precautions described?",
        table=table_with(),
        rarity=rarity_of(passages),
    )
    shown, _ = compose_extractive(other.text, sources, analysis=other, max_sentences=1)
    assert not shown[0][0].startswith("Contact precautions include"), shown


@pytest.mark.parametrize(
    ("sentence", "listed"),
    [
        ("Wear gloves, gowns, masks and eye protection.", True),
        ("标准预防包括手卫生、口罩、手套等。", True),
        ("Precautions include: 1) hand hygiene, 2) masks.", True),
        (
            "These practices apply to all patient care, regardless of suspected or confirmed "
            "infection status of the patient, in any setting where healthcare is delivered.",
            False,
        ),
    ],
)
def test_what_counts_as_a_sentence_that_lists(sentence: str, listed: bool) -> None:

    assert enumerates(sentence) is listed


def test_a_sentence_about_the_other_cases_is_shown_with_its_premise_or_not_at_all() -> None:
    text = "较深的刺伤创面需开放引流。其他情况不建议缝合。"
    source = make_source(1, text, doc="ani", title="动物致伤")
    passages = [text, "缝合需无菌操作。", "伤口应冲洗。"]
    asked = analyse_question("什么情况不建议缝合？", table=table_with(), rarity=rarity_of(passages))
    shown, dropped = compose_extractive(asked.text, [source], analysis=asked)
    assert "其他情况不建议缝合。" not in [t for t, _ in shown]
    assert any(d.reason == "needs_context" for d in dropped)


def test_a_passage_in_the_other_language_is_ranked_by_the_question_s_translation() -> None:
    """A same-language sentence sharing one word of the question ('注射器' in a snake-bite
    suction step) used to outrank the other language's answer, which shares none of the
    question's own words."""
    table = table_with(("注射器", "syringe"), ("门诊", "outpatient"))
    chinese = make_source(1, "可在伤口处用吸引器或注射器进行吸排，不推荐常规切开。", doc="ani",
                      title="动物致伤")  # fmt: skip
    english = Source(
        n=2, doc_id="cdc", title="Outpatient guide", library="l", chunk_id="cdc-0",
        chunk_index=0, language="en",
        text="Never administer medications from the same syringe to more than one patient.",
    )  # fmt: skip
    passages = [chinese.text, english.text, "门诊需要手卫生。", "Outpatient settings vary."]
    asked = analyse_question(
        "门诊注射时，一支注射器可以给多个病人用吗？", table=table, rarity=rarity_of(passages)
    )
    assert "syringe" in asked.translations.get("en", ""), asked.translations
    shown, _ = compose_extractive(asked.text, [chinese, english], analysis=asked, max_sentences=1)
    assert [t for t, _ in shown] == [english.text], shown


def test_a_sentence_the_guideline_repeats_is_shown_once() -> None:
    # A summary box and the section it summarises both hold the sentence.
    repeated = "In specific situations, zorvamab can be beneficial, and stopping it can be harmful."
    sources = [
        make_source(1, f"Box 1. {repeated}", doc="d", title="Zorvamab guideline", chunk=0),
        make_source(2, f"{repeated} Clinicians should taper zorvamab gradually.", doc="d",
                title="Zorvamab guideline", chunk=5),
        make_source(3, f"Summary: {repeated}", doc="d", title="Zorvamab guideline", chunk=9),
    ]  # fmt: skip
    for source in sources:
        source.language = "en"
    question = "How should zorvamab be stopped?"
    analysis = analyse_question(
        question, table=table_with(), rarity=rarity_of([s.text for s in sources])
    )
    shown, _ = compose_extractive(question, sources, analysis=analysis)
    texts = [text for text, _ in shown]
    assert texts.count(repeated) == 1, texts
    assert len(texts) == len(set(texts))


def test_of_a_sentence_listing_several_drugs_doses_the_asked_drugs_clauses_are_shown() -> None:
    from assistant.generation import asked_drugs_part

    listing = (
        "多为30-45mg/(kg.d)，克拉霉素用法：10-15mg/(kg.d)，乙酰麦迪霉素：剂量30-40mg/kg.d，"
        "分次口服，罗红霉素用法：多为5-10mg/(kg.d)，均推荐10-14 d。"
    )
    rarity = rarity_of([listing])
    table = table_with()

    def part(question: str, sentence: str = listing) -> str:
        return asked_drugs_part(sentence, analyse_question(question, table=table, rarity=rarity))

    # The dose before 克拉霉素's label is another drug's: never shown as its.
    assert part("克拉霉素的剂量是多少？") == "克拉霉素用法：10-15mg/(kg.d)"
    assert part("罗红霉素怎么用？") == "罗红霉素用法：多为5-10mg/(kg.d)，均推荐10-14 d。"
    # A drug named in passing, not heading a clause, leaves the sentence whole.
    aside = "青少年：500mg/d，qd（因为左氧氟沙星在体内的清除与年龄相关）。"
    assert part("左氧氟沙星青少年剂量？", aside) == aside
    # A sentence about one drug only is shown whole.
    alone = "克拉霉素用法：10-15mg/(kg.d)，分2次口服。"
    assert part("克拉霉素的剂量是多少？", alone) == alone


def test_a_recommendation_of_its_own_does_not_borrow_the_topic_of_the_one_before() -> None:
    # "Clinicians should ask …" is a recommendation about something else: it does not become
    # an answer about naloxone because the sentence before it names naloxone.
    text = (
        "Before starting and periodically during continuation of opioid therapy, clinicians "
        "should evaluate risk for opioid-related harms and discuss risk with patients. "
        "Clinicians should work with patients to incorporate into the management plan "
        "strategies to mitigate risk, including offering naloxone (recommendation category: A; "
        "evidence type: 4).\nImplementation Considerations • Clinicians should ask patients "
        "about their drug and alcohol use and use validated tools to screen for and assess "
        "mental health and substance use disorders.\n• When considering initiating long-term "
        "opioid therapy, clinicians should ensure that treatment for depression is optimized."
    )
    source = make_source(1, text, doc="cdc", title="Guideline for Prescribing Opioids for Pain")
    source = source.model_copy(update={"section": "Recommendations > Recommendation 8"})
    passages = [text, "Opioids for pain.", "Alcohol use disorder.", "naloxone"]
    question = "给长期用阿片类药物的患者要开纳洛酮吗"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity_of(passages))
    shown = [t for t, _ in compose_extractive(question, [source], analysis=asked)[0]]
    assert any("offering naloxone" in t for t in shown), shown
    assert not any("alcohol use" in t for t in shown), shown


def test_a_definition_is_not_shown_as_the_subject_of_the_sentence_after_it() -> None:
    text = (
        "Health care-associated infection (also referred to as “nosocomial” infection): An "
        "infection occurring in a patient during the process of care in a hospital. Such "
        "infections can also appear after discharge. Surveillance methods should be active."
    )
    source = make_source(1, text, doc="who", title="Core components of IPC programmes")
    passages = [text, "hand hygiene", "surveillance"]
    question = "医院感染监测应该主动还是被动"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity_of(passages))
    shown = [t for t, _ in compose_extractive(question, [source], analysis=asked)[0]]
    assert not any("An infection occurring" in t for t in shown), shown


def test_the_sibling_of_the_numbered_entry_the_question_asks_is_no_answer() -> None:
    # Asked the low-dose regimen, the high-dose entry beside it is another answer's.
    text = (
        "①低剂量：适用于肿瘤直径<7cm 或血供不丰富的患者，奥沙利铂65mg/m2、5-FU 维持1200mg/m2；"
        "②高剂量：适用于肿瘤直径≥7cm 且血供丰富的患者，奥沙利铂85mg/m2、5-FU 首剂400mg/m2。"
        "注意：奥沙利铂过敏者禁用。"
    )
    source = make_source(1, text, doc="d", title="肝癌诊疗指南", section="HAIC > （6）剂量调整")
    rarity = rarity_of([text, "FOLFOX HAIC", "奥沙利铂"])
    question = "HAIC低剂量方案奥沙利铂多少？"
    asked = analyse_question(question, table=glossary_table(), rarity=rarity)
    shown, dropped = compose_extractive(question, [source], analysis=asked)
    texts = [t for t, _ in shown]
    assert any("65mg/m2" in t for t in texts) and not any("85mg/m2" in t for t in texts), texts
    assert any("85mg/m2" in d.text and d.reason == "other_subject" for d in dropped), dropped
    # Asked no entry, both doses answer.
    texts = shown_texts("奥沙利铂用量多少？", [source], [text, "FOLFOX HAIC", "奥沙利铂"])
    assert any("65mg/m2" in t for t in texts) and any("85mg/m2" in t for t in texts), texts


def test_sentences_under_a_heading_that_says_all_the_question_asks_answer_it() -> None:
    # "（1）风热犯卫" names the pattern the question asks; the formula under it says neither word.
    text = "症见：发病初期，咽红不适。治法：疏风解表，清热解毒。基本方药：银翘散加减。"
    source = make_source(
        1, text, doc="flu", title="流行性感冒诊疗方案",
        section="十、治疗 > （五）中医药治疗 > （1）风热犯卫",
    )  # fmt: skip
    passages = [text, "（1）风热犯卫", "流感 流行性感冒", "风寒束表"]
    question = "流感风热犯卫用什么方？"
    # The formula is what "用什么方" asks, not the pattern's signs.
    assert shown_texts(question, [source], passages) == ["基本方药：银翘散加减。"]
    # Under a heading that lacks what the question asks more, they still answer nothing.
    other = source.model_copy(update={"section": "十、治疗 > （五）中医药治疗"})
    assert shown_texts(question, [other], passages) == []


def test_an_entry_labelled_by_another_topic_takes_no_subject_from_the_sentence_before() -> None:
    # The hypercoagulable-state entry after the dissection entry is about its own label; its
    # "首选华法林" is no answer about arterial dissection.
    text = (
        "动脉夹层：是青年卒中的常见病因之一。发病3个月内的颅外颈动脉夹层应首选抗血小板药物预防"
        "缺血性卒中复发。颅内动脉夹层可行抗血小板药物治疗。\n遗传性和获得性高凝状态：遗传性高凝"
        "状态应避免使用可能增加卒中风险的药物，如口服避孕药等。获得性高凝状态主要与抗磷脂综合征"
        "有关，首选华法林。"
    )
    source = make_source(1, text, doc="cvd", title="脑血管病防治指南", section="③其他病因")
    texts = shown_texts("动脉夹层卒中首选什么药？", [source], [text, "卒中 脑血管病", "抗凝药"])
    assert any("首选抗血小板药物" in t for t in texts), texts  # a class answers "什么药"
    assert not any("高凝状态" in t or "华法林" in t for t in texts), texts
    # A label saying what of the entry follows (用法：) opens no entry of its own.
    dose = "③扎那米韦（吸入喷雾剂）：适用于成人及7岁以上儿童。\n用法：每次10mg，12小时1次。"
    zanamivir = make_source(2, dose, doc="flu", title="流行性感冒诊疗方案")
    texts = shown_texts("扎那米韦一次用多少？", [zanamivir], [dose, "流感"])
    assert any("每次10mg" in t for t in texts), texts


def test_what_a_sentence_stands_under_chooses_between_guidelines_naming_the_subject() -> None:
    # Both name the syringe; only the outpatient guide is about 门诊, and says so in its title.
    wound = make_source(
        1,
        "较深的伤口可用50毫升注射器深入伤口加压进行冲洗，彻底去除伤口内血块、动物口腔分泌物。",
        doc="bites", title="常见动物致伤诊疗规范", section="马咬伤诊疗规范 > （三）伤口处理",
    )  # fmt: skip
    outpatient = make_source(
        2,
        "Never administer medications from the same syringe to multiple patients, even if the "
        "needle is changed.",
        doc="cdc", title="Guide to Infection Prevention for Outpatient Settings",
        section="Injection Safety",
    )  # fmt: skip
    rarity = rarity_of([wound.text, outpatient.text, outpatient.title, wound.title, "门诊 注射器"])
    # The glossary's vocabulary list knows 门诊 as "outpatient", as the library's table does.
    table = LayeredTerms(
        (load_glossary(), load_glossary(section="vocabulary"), cedict_table()), clinical=1
    )
    question = "门诊注射时一个注射器能给多个病人用吗？"
    asked = analyse_question(question, table=table, rarity=rarity)
    shown = compose_extractive(question, [wound, outpatient], analysis=asked)[0]
    assert shown and {n for _, ns in shown for n in ns} == {2}, shown


def test_an_items_label_is_shown_only_with_a_sentence_under_it() -> None:
    # "2.高流量鼻导管通气（high-flow nasal cannula, HFNC）。" names its item and says nothing of
    # it: shown alone with ✓ it answered "What is the HFNC flow rate for infants?".
    passage = (
        "1.氧疗和无创机械通气。同儿童社区获得性肺炎诊疗规范。\n"
        "2.高流量鼻导管通气（high-flow nasal cannula, HFNC）。\n"
        "是一种新型辅助通气模式，应用指征同无创通气。\n"
        "需用专门的高流量鼻导管，根据年龄体重调节流量大小，婴幼儿为2L/（kg·min），"
        "儿童为30-40L/min。\n3.有创机械通气。"
    )
    question = "What is the high-flow nasal cannula flow rate for infants?"
    table = table_with(("高流量鼻导管通气", "high-flow nasal cannula"), ("婴幼儿", "infants"))
    analysis = analyse_question(question, table=table, rarity=None)
    source = make_source(1, passage, doc="adv", title="儿童腺病毒肺炎诊疗规范")
    texts = [t for t, _ in compose_extractive(question, [source], analysis=analysis)[0]]
    assert texts != ["高流量鼻导管通气（high-flow nasal cannula, HFNC）。"], texts
    assert any("婴幼儿为2L/（kg·min）" in t for t in texts), texts


def test_a_models_lead_in_stays_with_its_first_cited_item() -> None:
    # Split apart, the lead-in would be an uncited sentence of the answer; a guideline's is not.
    sentences, _ = parse_plain_text("推荐以下药物：（1）甲药75mg，每日2次[1]；（2）乙药10mg[2]。")
    assert sentences[0] == ("推荐以下药物：（1）甲药75mg，每日2次；", [1])
    assert split_sentences("推荐以下药物：（1）甲药75mg；")[0] == "推荐以下药物："


def _split_section(drug: str, tail: str = "") -> list[Source]:
    """A section the chunker cut between the sentence choosing its drug and the dose that
    opens the next chunk: chunks 4 and 5 of one document, under one section."""
    section = "十、治疗 > （三）糖皮质激素治疗"
    before = (
        "对于控制病情、降低后遗症发生非常重要，不应过早和过晚使用。\n"
        f"使用指征：轻症不推荐，用于重症和危重症，一般选择{drug}。{tail}"
        "在应用糖皮质激素时，需关注并及时处理混合感染及胸腔积液等并发症。"
    )
    dose = "初始剂量：多为2mg/(kg.d)左右。\n个别病情更重，可根据病情适当增加初始剂量。"
    return [
        make_source(1, before, doc="d", title="某病诊疗指南", chunk=4, section=section),
        make_source(2, dose, doc="d", title="某病诊疗指南", chunk=5, section=section),
    ]


def test_a_dose_whose_drug_only_the_chunk_before_names_is_shown_with_that_sentence() -> None:
    _, drug = fake_drug(31)
    sources = _split_section(drug)
    passages = [s.text for s in sources] + ["其他章节。", "对症治疗。"]
    shown = compose_extractive(
        f"{drug}的初始剂量是多少？",
        sources,
        analysis=analyse_question(
            f"{drug}的初始剂量是多少？", table=table_with(), rarity=rarity_of(passages)
        ),
    )[0]
    # The dose reads with the sentence that names its drug, each citing its own chunk.
    assert shown[:2] == [
        (f"使用指征：轻症不推荐，用于重症和危重症，一般选择{drug}。", [1]),
        ("初始剂量：多为2mg/(kg.d)左右。", [2]),
    ], shown


def test_the_chunk_before_never_gives_a_dose_to_another_drug_or_section() -> None:
    _, drug = fake_drug(32)
    _, other = fake_drug(33)
    passages = [s.text for s in _split_section(drug)] + ["其他章节。", "对症治疗。"]

    def shown(question: str, sources: list[Source]) -> list[str]:
        analysis = analyse_question(question, table=table_with(), rarity=rarity_of(passages))
        return [t for t, _ in compose_extractive(question, sources, analysis=analysis)[0]]

    # Asked another drug of the class the section is about: its dose is not stated.
    assert shown(f"{other}的初始剂量是多少？", _split_section(drug)) == []
    # The chunk before goes on to name another drug: whose dose follows is not certain.
    switched = _split_section(drug, tail=f"无效时可换用{other}。")
    assert shown(f"{drug}的初始剂量是多少？", switched) == []
    # Another section, or a chunk that is not the one right before, says nothing of it.
    first, second = _split_section(drug)
    for moved in (
        second.model_copy(update={"section": "十、治疗 > （四）支气管镜治疗"}),
        second.model_copy(update={"chunk_index": 7}),
    ):
        assert shown(f"{drug}的初始剂量是多少？", [first, moved]) == [], moved


def test_a_checklists_bare_item_letter_is_never_shown_as_a_sentence() -> None:
    text = (
        "Elements to be assessed Assessment Notes/Areas for Improvement K. Devices are dried "
        "thoroughly prior to reuse.\nNote: For lumened instruments (e.g., endoscopes) this "
        "includes flushing all channels with alcohol and forcing air through channels.\nL. "
        "After high-level disinfection, devices are stored in a manner to protect from damage "
        "or contamination.\nM. Endoscopes are hung vertically."
    )
    source = make_source(1, text, doc="cdc", title="Outpatient guide")
    question = "How are endoscopes stored after high-level disinfection?"
    shown = shown_texts(question, [source], [text, "Hand hygiene.", "Sterilization."])
    assert shown and all(len(t.strip(" .")) > 1 for t in shown), shown


def test_of_statements_on_several_drugs_doses_only_the_asked_drugs_is_shown() -> None:
    # One English sentence, two worked examples joined by a semicolon: the first another drug's.
    en, _ = fake_drug(62)
    other_en, _ = fake_drug(61)
    text = (
        f"For example, tablets containing {other_en} 5 mg taken four times a day would contain "
        f"a total of 20 mg of {other_en} daily, equivalent to 20 MME daily; extended-release "
        f"tablets containing {en} 10 mg and taken twice a day would contain a total of 20 mg of "
        f"{en} daily, equivalent to 30 MME daily."
    )
    source = make_source(1, text, doc="cdc", title="Opioid guideline")
    shown = shown_texts(
        f"Pt on {en} 10 mg BID, how many MME per day?", [source], [text, "Taper.", "Naloxone."]
    )
    assert shown == [
        f"extended-release tablets containing {en} 10 mg and taken twice a day would contain a "
        f"total of 20 mg of {en} daily, equivalent to 30 MME daily."
    ], shown
    # Asked the first drug: its statement alone.
    first = shown_texts(
        f"{other_en} 5 mg QID, how many MME per day?", [source], [text, "Taper.", "Naloxone."]
    )
    assert first and all(en not in t for t in first), first


def test_a_recommendation_restated_in_its_section_is_shown_once_in_its_fuller_wording() -> None:
    """A guideline's summary box and its section say the same with a word changed and a
    reference number added: the answer shows it once, and the fuller wording."""
    box = (
        "Tapers of 10% per month or slower are better tolerated when patients have taken "
        "opioids for ≥1 year."
    )
    body = (
        "Tapers of approximately 10% per month or slower are better tolerated when patients have "
        "taken opioids for ≥1 year (219)."
    )
    shorter = (
        "A decrease of 10% of the original dose per week or slower is less likely to trigger "
        "withdrawal when opioids were taken for weeks."
    )
    sources = [
        make_source(1, box, doc="cdc", title="Opioid guideline", chunk=1),
        make_source(2, f"{body} {shorter}", doc="cdc", title="Opioid guideline", chunk=9),
    ]
    shown = shown_texts("How fast should opioids be tapered?", sources, [box, body, shorter])
    assert [t for t in shown if "per month" in t] == [body], shown


def test_two_rows_differing_only_in_their_threshold_are_both_shown() -> None:
    rows = ["胡蜂蜇刺数量<15针，为轻度。", "胡蜂蜇刺数量≥15针，为中度。"]
    sources = [make_source(1, " ".join(rows), doc="a", title="动物致伤诊疗规范")]
    shown = shown_texts("胡蜂蜇伤多少针算中度？", sources, rows)
    assert "胡蜂蜇刺数量≥15针，为中度。" in shown, shown
    negated = ["Wash gloves for reuse in this setting.", "Do not wash gloves for reuse."]
    sources = [make_source(1, " ".join(negated), doc="b", title="Outpatient guide")]
    assert len(shown_texts("Can gloves be washed for reuse?", sources, negated)) == 2


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Upon hire, prior to being allowed to reprocess devices ii.", "Upon hire, prior to being "
         "allowed to reprocess devices"),
        ("Annually iii.", "Annually"),
        # A numeral numbering what the word before it names stays.
        ("Diabetes type ii.", "Diabetes type ii."),
        ("See appendix iv.", "See appendix iv."),
        ("Give vitamin A.", "Give vitamin A."),
    ],
)  # fmt: skip
def test_the_next_items_roman_marker_is_no_part_of_the_item_before(raw: str, shown: str) -> None:
    assert clean_shown(raw) == shown


def test_an_item_under_its_lists_short_head_is_read_under_that_head() -> None:
    # "2.中度：（1）胡蜂蜇刺数量≥15针；…": asked what counts as moderate, the first item answers;
    # the same item under "3.重度：" does not.
    table = table_with(("胡蜂蜇伤", "wasp sting"))
    question = "胡蜂蜇伤 什么算中度？"
    analysis = analyse_question(question, table=table, rarity=None)
    section = "胡蜂蜇伤诊疗规范 > 六、现场应急救治及院前救治 > （二）尽早评估病情"
    for head, shown in (("2.中度", True), ("3.重度", False)):
        source = make_source(
            1,
            f"{head}：（1）胡蜂蜇刺数量≥15针；（2）伴/不伴过敏反应，无喉头水肿。",
            doc="bite",
            title="常见动物致伤诊疗规范",
            section=section,
        )
        drafted, _ = compose_extractive(question, [source], analysis=analysis)
        assert any("≥15针" in text for text, _ in drafted) is shown, (head, drafted)
