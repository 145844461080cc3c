"""Question analysis and the bilingual term table (issue #10 items 2–4)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from assistant.aspects import detect_aspect, states_dose
from assistant.domain import Source
from assistant.glossary import (
    LayeredTerms,
    TermTable,
    base_forms,
    cedict_table,
    is_everyday_word,
    library_glosses,
    load_glossary,
    normalise_en,
    parse_cedict,
    parse_glossary,
    untranslated_terms,
)
from assistant.mentions import form_in_text
from assistant.questions import (
    analyse_question,
    coordinated_parts,
    term_in_text,
)
from assistant.responsiveness import judge_responsive
from assistant.retrieval import fuse_by_rank
from assistant.zh_names import cut, cut_known, gloss_term_start, join_name_pieces
from tests.factories import (
    SMALL_LIBRARY,
    SYLLABLES,
    ZH_SYLLABLES,
    fake_drug,
    glossary_table,
    make_source,
    rarity_of,
    table_with,
)


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("奥司他韦成人用量是多少？", "dose"),
        ("What dose of X should adults take?", "dose"),
        ("How is drug X dosed for a 70 kg adult?", "dose"),
        ("该病的潜伏期多长？", "incubation"),
        ("How long is the incubation period?", "incubation"),
        ("Is drug X contraindicated in pregnancy?", "contraindication"),
        ("疗程多久？", "duration"),
        ("手卫生的要求是什么？", None),
        # 大剂量 describes a treatment; 多大剂量 asks a dose.
        ("重症患儿甲泼尼龙一般从多大剂量开始？", "dose"),
        ("这个药用什么剂量？", "dose"),
        ("这个药起始给多大量？", "dose"),
        ("流感患者符合什么条件需要住院？", "indication"),
        ("什么条件下可以出院？", "indication"),
        # A change of dose in a clause of time is the event, not what is asked.
        (
            "After starting opioids or escalating the dose, how soon should I see the patient "
            "to reassess benefits and harms?",
            "timing",
        ),
        ("What dose should be given after starting?", "dose"),
        # How often, with the visit between 多久 and 一次 (not how long).
        ("急性疼痛患者如果还需要继续用阿片类药物，多久要复诊评估一次？", "frequency"),
        ("乙肝患者多长时间需要复查肝功能一次？", "frequency"),
        ("用多久，一次多少？", "duration"),
        # To avoid something is a purpose, not a contraindication.
        ("How do I taper opioids to avoid withdrawal?", "discontinuation"),
        ("Which drugs should be avoided with methadone?", "contraindication"),
        # Which ages a disease affects is a property of the disease, not an age limit.
        ("Which age group is most affected by this pneumonia?", "age_affected"),
        ("该病多见于哪个年龄段的儿童？", "age_affected"),
        ("What age can children start this drug?", "age"),
        # A dose counted as a thing done, in a yes-or-no question, asks no amount.
        ("Can I use the same syringe to draw a second dose from a vial?", None),
        ("Can I give the drug at a dose of 5 mg?", None),
        ("Should the dose be lowered for older adults?", "dose"),
        # How much space is a distance, not a dose.
        ("How much space should be left between beds?", "value"),
        ("How much of the drug should a child get?", "dose"),
        # A choice between two doses asks which dose; one dose stated is the premise.
        ("Should I prescribe the 4 mg or the 8 mg spray?", "dose"),
        ("这个药用75mg还是150mg？", "dose"),
        ("Patients on 30 mg or more of morphine: when should it be tapered?", "discontinuation"),
        ("Starting methadone - how frequently should I see the patient?", "frequency"),
        # 能不能用 asks whether it may be used, not what must not be.
        ("伤口能不能用淡水冲洗？", None),
        ("这个药不能用于哪些人？", "contraindication"),
        # A regimen (方案) or a way (方法) asked is no formula of Chinese medicine.
        ("不可切除的这种癌一线优先推荐哪些方案？", None),
        ("用什么方法消毒？", None),
        ("风热犯卫用什么方？", "formula"),
        # A dose named as the event a time is counted from or to asks the time.
        ("末次服药后至少等多少小时再给首剂？", "duration"),
        (
            "How long after the last dose should the first dose of the new drug be given?",
            "duration",
        ),
        ("首剂给多少？", "dose"),
        # The measure named between "what" and "level" ("what serum AFP level").
        ("What serum AFP level is highly suggestive of this cancer?", "value"),
        ("Acute bleed: what systolic BP range should I lower to?", "value"),
        ("What type of mask should be worn?", None),
        ("What minimum distance between beds is recommended?", "value"),
        ("What sink-to-bed ratio is recommended for isolation rooms?", "value"),
        ("When can I restart warfarin after the bleed?", "timing"),
        ("何时可以重新开始抗凝？", "timing"),
        # The dose the patient is on, said without a number, is the premise.
        ("Can I stop opioids abruptly in a patient on long-term high dose?", "discontinuation"),
        ("What is the high dose regimen?", "dose"),
        ("诊断需要满足几条标准？", "value"),
        ("NIHSS评分几分以上可以取栓？", "value"),
        ("What systolic BP should acute ICH be lowered to?", "value"),
        ("Who should it be given to?", None),
    ],
)
def test_aspect_is_read_from_the_question(question: str, aspect: str | None) -> None:
    found = detect_aspect(question)
    assert (found.name if found else None) == aspect


def test_a_dose_stated_as_another_groups_answers_a_dose_question() -> None:
    # "比成人少吗": the guideline answers with the adults' dose, not a number.
    dose = detect_aspect("儿童被毒蛇咬伤抗蛇毒血清剂量比成人少吗？")
    assert dose is not None and dose.name == "dose"
    assert dose.stated_in("儿童患者或者体型瘦弱者，使用剂量应与成人的剂量相同；")
    assert dose.stated_in("Children receive the same dose as adults.")
    assert not dose.stated_in("剂量与疗效相关。")
    assert not dose.stated_in("成人与儿童剂量不同。")  # different, but what?


@pytest.mark.parametrize(
    ("question", "formula"),
    [
        ("流感风热犯卫用什么方？", True),
        ("新冠轻型推荐什么中成药", True),
        ("支原体肺炎痰热闭肺证方药是什么", True),
        ("Which herbal formula is recommended for influenza?", True),
        ("流感用什么药", False),  # which drug, not which formula
        ("阿片类处方要注意什么", False),  # a prescription, not a formula
    ],
)
def test_which_formula_of_chinese_medicine_is_an_aspect(question: str, formula: bool) -> None:
    found = detect_aspect(question)
    assert (found is not None and found.name == "formula") is formula
    if formula:
        assert found is not None
        assert found.stated_in("基本方药：银翘散加减。")
        assert found.stated_in("推荐中成药：清肺排毒颗粒。")
        assert not found.stated_in("症见：发病初期，发热或未发热，咽红不适。")


def test_a_gap_between_doses_is_no_length_and_days_written_d_are_one() -> None:
    course = detect_aspect("米诺环素最长用多久？")
    assert course is not None and course.name == "duration"
    # "间隔12h后应用维持量": when the next dose comes, not how long the drug is given.
    assert not course.stated_in("米诺环素：首剂4mg/（kg.次），间隔12h 后应用维持量2mg/（kg.次）。")
    assert course.stated_in("一般疗程为10d。")
    # "5-7d左右": the Chinese word after the unit letter leaves it a unit.
    assert course.stated_in("重症阿奇霉素可静脉滴注，连用5-7d左右。")


def test_a_course_of_treatment_is_not_the_diseases_own_period() -> None:
    # How long the antibiotics are given: an incubation period states no course.
    course = detect_aspect("鼠咬热疗程多长？")
    assert course is not None and course.name == "duration"
    assert not course.stated_in("念珠状链杆菌鼠咬热：潜伏期3～21天，一般为2～3天。")
    assert not course.stated_in("The incubation period is 2 to 10 days.")
    assert course.stated_in("两种病原体感染均可用抗生素治疗，总疗程14天。")
    assert course.stated_in("潜伏期3～21天，疗程14天。")
    # Asked the incubation period, it is still the answer.
    incubation = detect_aspect("鼠咬热潜伏期多长？")
    assert incubation is not None and incubation.stated_in("潜伏期3～21天，一般为2～3天。")


@pytest.mark.parametrize(
    ("question", "stated", "shown"),
    [
        ("甲泼尼龙每天多少mg/kg？", "甲泼尼龙2mg/(kg·d)，静脉滴注。", True),
        ("甲泼尼龙每天多少mg/kg？", "甲泼尼龙40mg，静脉滴注。", False),
        ("How many mg of the drug per day?", "Give 40 mg daily.", True),
        ("How many mg of the drug per day?", "Give 2 tablets daily.", False),
        # Litres asked: a share in % is no amount of water ("多少升水" showed "占比最低0.8%").
        ("医疗机构每人每天需要多少升水？", "每人每天需5～400升水。", True),
        ("医疗机构每人每天需要多少升水？", "鼠咬伤占比最低0.8%，最高达11.8%。", False),
        ("How many litres of water per patient per day?", "5–400 litres per day", True),
        # 升高 is a rise, not litres.
        ("血压需要多少升高才处理？", "收缩压≥200mmHg", True),
        # A concentration is a share or a mass per volume, not a count of basins per bed.
        ("手消毒剂中乙醇浓度是多少？", "75%乙醇较常用于灭活。", True),
        ("手消毒剂中乙醇浓度是多少？", "one hand wash basin per every 10 beds", False),
    ],
)
def test_a_dose_asked_in_a_unit_is_stated_in_it(question: str, stated: str, shown: bool) -> None:
    aspect = detect_aspect(question)
    assert aspect is not None and aspect.name in ("dose", "value")
    assert aspect.stated_in(stated) is shown


@pytest.mark.parametrize(
    ("question", "drug"),
    [
        ("What ketamine dose should I use for acute pain?", "ketamine"),
        ("纳布啡能代替阿片类用于慢性疼痛吗？", "纳布啡"),
    ],
)
def test_a_drug_the_dictionary_knows_by_another_name_is_still_a_missing_name(
    question: str, drug: str
) -> None:
    # "ketamine" is in many of CC-CEDICT's slang glosses (K粉, K仔): its Chinese name 氯胺酮
    # says it is a drug. jieba cuts 纳布啡 into 纳布 + 啡: 啡 ends a drug's name (吗啡, 丁丙诺啡).
    analysis = analyse_question(question, table=table_with(), rarity=rarity_of(SMALL_LIBRARY))
    assert drug in [t.term for t in analysis.anchors]
    assert drug in analysis.missing


def test_a_disease_the_dictionary_names_by_its_chinese_name_is_a_subject() -> None:
    """ "Scrub typhus after a field trip - doxycycline dose and duration?" showed the mycoplasma
    guideline's doxycycline dose for children: "scrub typhus" was no name, so doxycycline was
    the whole subject. Its Chinese name 恙虫病 ends as a disease's does; "complication" (并发症)
    and "chronic disease" (慢性病) are everyday words of that shape, and about a name."""
    library = ["多西环素：推荐剂量为2mg/（kg.次），q12h。", "恙虫病、鼠伤寒等。", *SMALL_LIBRARY]
    analysis = analyse_question(
        "Scrub typhus after a field trip - doxycycline dose and duration?",
        table=table_with(),
        rarity=rarity_of(library),
    )
    assert {"Scrub typhus", "doxycycline"} <= {t.term for t in analysis.anchors}
    dose = judge_responsive(analysis, library[0], context=["儿童肺炎支原体肺炎诊疗指南"])
    assert not dose.responsive
    for question in ("What complications follow it?", "Is it a chronic disease?"):
        terms = analyse_question(question, table=table_with(), rarity=rarity_of(library)).terms
        assert not [t.term for t in terms if t.anchor]


def test_a_two_letter_code_the_library_glosses_is_a_subject() -> None:
    # "MP" (肺炎支原体) is glossed by the library: not a two-letter word of English.
    glossary = TermTable()
    glossary.add("肺炎支原体", "MP")
    table = LayeredTerms((glossary, cedict_table()), clinical=1)
    rarity = rarity_of(["肺炎支原体（MP）感染后IgM抗体阳性。", *SMALL_LIBRARY])
    analysis = analyse_question("When does MP IgM become positive?", table=table, rarity=rarity)
    assert "MP" in [t.term for t in analysis.anchors]
    assert "OK" not in [t.term for t in analyse_question("Is it OK to stop?", table=table).terms]


@pytest.mark.parametrize(
    ("question", "written"),
    [
        ("Can buprenorphine be used for OUD?", "opioid use disorder"),
        ("肾功能不全的患者用Paxlovid需要调整吗？", "奈玛特韦"),
        ("TIA后多久复查？", "transient ischemic attack"),
        ("摘下防护用品后要马上做手卫生吗？", "personal protective equipment"),
        ("门诊的管制药品应该怎么存放？", "controlled substances"),
        ("What plateau pressure should be kept on ECMO?", "平台压"),
        ("When is prone positioning used?", "俯卧位"),
        ("How often is a biological indicator run on the autoclave?", "sterilizer"),
        ("HCC pt with creatinine 200 µmol/L – is TACE contraindicated?", "血肌酐"),
        ("Kid with AKI – when is CRRT started?", "急性肾损伤"),
        ("灭菌包内化学指示物多久放一次？", "chemical indicator"),
        ("Urine drug testing in chronic opioid therapy - how often?", "urine drug testing"),
        ("手消毒剂和肥皂洗手哪个更好？", "abhr"),
        ("孕妇合并阿片类物质使用障碍推荐什么治疗？", "opioid use disorder"),
    ],
)
def test_an_abbreviation_or_brand_finds_what_the_guidelines_spell_out(
    question: str, written: str
) -> None:
    # The shipped glossary pairs them: a guideline writes "opioid use disorder" and
    # "奈玛特韦片/利托那韦片", a prescriber asks "OUD" and "Paxlovid".
    library = [
        "Opioid use disorder is treated with buprenorphine.",
        "奈玛特韦 300mg 与利托那韦同服。",
        "Remove personal protective equipment and perform hand hygiene.",
        "Controlled substances are stored in a locked area.",
        "平台压≤25cmH2O，俯卧位通气每天不少于12小时。",
        "A biological indicator is used at least weekly for each sterilizer.",
        "肾功能障碍：血肌酐>176.8 μmol/L。",
        "急性肾损伤患儿可行CRRT。",
        "A chemical indicator is placed correctly in the instrument packs in every load.",
        "Clinicians should consider urine drug testing at least annually.",
        "Use an alcohol-based hand rub unless hands are visibly soiled.",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert any(written in t.forms for t in analysis.anchors), analysis.terms


@pytest.mark.parametrize("seed", range(5))
def test_a_drug_the_library_lacks_is_a_missing_anchor(seed: int) -> None:
    en, zh = fake_drug(seed)
    rarity = rarity_of(SMALL_LIBRARY)
    for question in (f"What is the adult dose of {en}?", f"{zh}的成人剂量是多少？"):
        analysis = analyse_question(question, table=table_with(), rarity=rarity)
        assert analysis.aspect is not None and analysis.aspect.name == "dose"
        names = [t.term for t in analysis.anchors]
        assert names and (en in names[0] or names[0] in zh), names
        assert analysis.missing and analysis.missing[0] == names[0]
        # Words every question uses never become the subject.
        assert not {"adult", "dose", "成人", "剂量", "患者"} & set(names)


def test_rarer_terms_weigh_more_and_translations_count_as_present() -> None:
    rarity = rarity_of(SMALL_LIBRARY)
    analysis = analyse_question(
        "oseltamivir for influenza patients", table=table_with(("奥司他韦", "oseltamivir")),
        rarity=rarity,
    )  # fmt: skip
    terms = {t.term: t for t in analysis.terms}
    # "oseltamivir" occurs only in its Chinese form in the library: present through the table.
    assert terms["oseltamivir"].in_library
    assert "奥司他韦" in terms["oseltamivir"].forms
    assert analysis.translations["zh"].startswith("奥司他韦")


def test_a_code_the_index_cuts_apart_is_held_by_its_pieces() -> None:
    """ "Does chlorhexidine reliably inactivate SARS-CoV-2?" was refused as "the library has no
    passage about SARS-CoV-2" beside a passage naming it: the index holds the code as sar, cov
    and the rarity looked for "cov2". (Asked here of hand sanitizer, a word of no name.)"""
    rarity = rarity_of(
        [
            "新型冠状病毒（以下简称新冠病毒，SARS-CoV-2）为β属冠状病毒。",
            "COVID-19 vaccination of health care personnel.",
            "Write the prescription in the record.",
        ]
    )
    assert rarity.frequency("SARS-CoV-2") == 1
    assert rarity.frequency("COVID-19") == 1
    assert rarity.frequency("IL-6") == 0
    # A phrase is still held only when every word of it is: no guideline spells it so.
    assert rarity.frequency("write out a prescription") == 0
    analysis = analyse_question(
        "Does sanitizer reliably inactivate SARS-CoV-2?", table=glossary_table(),
        rarity=rarity,
    )  # fmt: skip
    assert [(a.term, a.in_library) for a in analysis.anchors] == [("SARS-CoV-2", True)]
    assert analysis.missing == []


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("每次75mg，每日2次", True),
        ("每次1片", True),
        ("0.5 mL intramuscularly", True),
        ("疗程5天", False),
        ("血压<130/80 mmHg", False),
    ],
)
def test_dosing_sentences(text: str, dose: bool) -> None:
    assert states_dose(text) is dose


def test_a_coordinated_english_name_is_found_by_either_of_its_parts() -> None:
    assert coordinated_parts("infection prevention and control") == (
        "infection prevention",
        "infection control",
    )
    assert coordinated_parts("hand hygiene") == ()
    table = table_with(("感控", "infection prevention and control"))
    analysis = analyse_question("门诊要有几名受过感控培训的人员？", table=table, rarity=None)
    sentence = "Assure at least one individual with training in infection prevention is available."
    assert judge_responsive(analysis, sentence).responsive


def test_cedict_lines_parse_both_directions() -> None:
    lines = [
        "# comment",
        "狂犬病 狂犬病 [kuang2 quan3 bing4] /rabies/",
        "劑量 剂量 [ji4 liang4] /dosage/prescribed dose of medicine/",
        "孩子 孩子 [hai2 zi5] /child/CL:個|个[ge4]/",
        "兒童 儿童 [er2 tong2] /child/",
    ]
    table = parse_cedict(lines)
    assert table.to_english("狂犬病") == ["rabies"]
    assert table.to_chinese("Dosage") == ["剂量"]
    assert set(table.to_chinese("Child")) == {"孩子", "儿童"}
    assert table.generality("child") == 2


def test_cedict_senses_within_one_gloss_are_terms_of_their_own() -> None:
    # "/to infect; infection/": one gloss, two senses; joined, neither word would be found.
    lines = [
        "感染 感染 [gan3 ran3] /to infect; infection/(fig.) to influence/",
        "風險 风险 [feng1 xian3] /risk; hazard/",
    ]
    table = parse_cedict(lines)
    assert table.to_chinese("Infection") == ["感染"]
    assert table.to_chinese("risk") == table.to_chinese("hazard") == ["风险"]
    assert table.to_english("感染")[:2] == ["infect", "infection"]


def test_library_glosses_pair_a_term_with_its_english_name() -> None:
    text = "本病称为肺炎支原体肺炎（mycoplasma pneumoniae pneumonia，MPP），多见于儿童。"
    table = LayeredTerms((library_glosses([text]),))
    assert table.to_chinese("Mycoplasma pneumoniae pneumonia") == ["肺炎支原体肺炎"]
    assert "mpp" in table.to_english("肺炎支原体肺炎")


def test_a_code_written_before_a_glossed_chinese_term_belongs_to_it() -> None:
    text = (
        "猴咬伤还可能引起 B 病毒（B virus，BV）感染。"
        "2型糖尿病（type 2 diabetes mellitus，T2DM）患者应定期随访。"
        "检测 HBV 病毒载量（viral load）。"
        "Dexamethasone地塞米松（dexamethasone）片。"
    )
    table = LayeredTerms((library_glosses([text]),))
    # "B 病毒" is B virus; 病毒 alone is every virus and pairs with no letter's name.
    assert {"b virus", "bv"} <= set(table.to_english("B 病毒"))
    assert table.to_english("B病毒") == table.to_english("B 病毒")
    assert "b virus" not in table.to_english("病毒")
    assert "t2dm" in table.to_english("2型糖尿病")
    # A code the gloss does not hold is no part of the term.
    assert table.to_english("病毒载量") == ["viral load"]
    # A longer Latin word glued to the term is no code of it, and the gloss still pairs.
    assert table.to_english("地塞米松") == ["dexamethasone"]


def test_a_glossed_term_loses_the_clause_words_before_it() -> None:
    text = (
        "。预防乙型肝炎病毒（hepatitis B virus，HBV）感染。"
        "检测异常凝血酶原（des-gamma-carboxy prothrombin，DCP）。"
    )
    table = LayeredTerms((library_glosses([text], term_start=gloss_term_start),))
    assert "hbv" in table.to_english("乙型肝炎病毒")
    assert table.to_english("预防乙型肝炎病毒") == []
    # A word that is part of the term stays (异常凝血酶原, not 凝血酶原).
    assert "dcp" in table.to_english("异常凝血酶原")
    assert gloss_term_start("还可能引起狂犬病") == "狂犬病"
    assert gloss_term_start("抗病毒药物") == "抗病毒药物"
    # A definition's verb, which jieba tags as a noun (指, "finger"), is no part of the term.
    defined = "肺炎支原体肺炎（MPP）：指肺炎支原体（mycoplasma pneumoniae，MP）感染引起的肺部炎症。"
    glosses = LayeredTerms((library_glosses([defined], term_start=gloss_term_start),))
    assert "mp" in glosses.to_english("肺炎支原体")
    assert glosses.to_english("指肺炎支原体") == []
    assert gloss_term_start("系统性红斑狼疮") == "系统性红斑狼疮"


def test_a_disease_no_passage_writes_with_bing_is_matched_without_it() -> None:
    from assistant.questions import term_in_text

    rarity = rarity_of(["不推荐哮喘患者使用吸入剂。", "心脏病患者慎用。", "心脏超声检查。"])
    asthma = analyse_question("哮喘病人能用吸入剂吗？", table=table_with(), rarity=rarity)
    term = next(t for t in asthma.terms if t.term.startswith("哮喘"))
    assert term_in_text(term, "不推荐哮喘患者使用吸入剂。")
    # A raised measure said the spoken way round is the library's disease name.
    rarity = rarity_of(["高血压患者应限盐。", "心脏病患者慎用。", "心脏超声检查。"])
    raised = analyse_question("血压高的人能吃这个药吗？", table=table_with(), rarity=rarity)
    term = next(t for t in raised.terms if t.term == "血压高")
    assert term_in_text(term, "高血压患者应限盐。")
    # Where the library writes the disease with 病, its stem (an organ) is no form of it.
    heart = analyse_question("心脏病人能用吸入剂吗？", table=table_with(), rarity=rarity)
    term = next(t for t in heart.terms if t.term.startswith("心脏"))
    assert not term_in_text(term, "心脏超声检查。")


def test_a_dictionary_phrase_with_a_rare_word_is_a_name_the_library_must_hold() -> None:
    """ "mechanical mitral valve": the dictionary has "mitral valve" whole (二尖瓣); "valve" is
    an everyday word, "mitral" is not. A library without it refuses, naming it, rather than
    answering with another condition's INR target."""
    rarity = rarity_of(["房颤患者 INR 目标值2.0~3.0。", "机械取栓治疗。"])
    asked = analyse_question(
        "What is the target INR for a mechanical mitral valve?", table=table_with(), rarity=rarity
    )
    assert "mitral valve" in asked.missing, asked.terms
    # An everyday phrase is no name ("running water").
    plain = analyse_question("Rinse with running water?", table=table_with(), rarity=rarity)
    assert not plain.anchors, plain.terms


def test_a_name_the_library_seldom_uses_takes_its_usual_name() -> None:
    # A dictionary glossing 中风, 卒中 and 抚摩 ("to caress") all as "stroke", a rare gloss.
    dictionary = TermTable()
    for zh in ("中风", "卒中", "抚摩"):
        dictionary.add(zh, "stroke")
    dictionary.en_generality = {"stroke": 2}
    passages = [f"卒中患者第{n}条建议。" for n in range(10)] + ["中风120口诀。"]
    analysis = analyse_question(
        "中风后血压控制在多少？", table=LayeredTerms((dictionary,)), rarity=rarity_of(passages)
    )
    term = next(t for t in analysis.terms if t.term == "中风")
    assert "卒中" in term.forms
    assert "抚摩" not in term.forms  # a sense no passage uses


def test_an_aspect_named_by_a_glossary_phrase_is_still_what_is_asked() -> None:
    """The glossary pairs "incubation period" with 潜伏期: as a name it would hide the aspect,
    and a rabies answer would need no period at all."""
    rarity = rarity_of(["狂犬病潜伏期多数为1～3个月。", "狂犬病临床过程分三期。"])
    asked = analyse_question(
        "What is the incubation period of rabies?", table=glossary_table(), rarity=rarity
    )
    assert asked.aspect is not None and asked.aspect.name == "incubation"
    assert not asked.aspect.stated_in("狂犬病临床过程分三期。")


def test_an_incubation_period_is_stated_by_its_own_time_not_one_from_the_onset() -> None:
    asked = detect_aspect("这种病的潜伏期多长？")
    assert asked is not None and asked.name == "incubation"
    assert asked.stated_in("潜伏期一般为1～7天，多为2～4天。")
    assert asked.stated_in("（一）潜伏期。多数为1～3个月，极少在1周以内。")
    assert asked.stated_in("The incubation period, which varies, is usually 2-4 days.")
    # When it is contagious, counted from the onset, is no length of the period.
    assert not asked.stated_in("在潜伏期即有传染性，发病后3天内传染性最强。")
    assert not asked.stated_in(
        "Patients are contagious from the incubation period to 3 days after onset."
    )
    # The period named in one clause, another time stated in the next.
    assert not asked.stated_in("从潜伏期末到急性期都有传染性，排毒时间多为3～7天。")


def test_a_code_written_before_chinese_is_one_name_when_the_table_knows_it() -> None:
    from assistant.glossary import library_glosses
    from assistant.zh_names import gloss_term_start

    passages = ["猴咬伤还可能引起 B 病毒（B virus，BV）感染。", "病毒性脑炎的治疗。"]
    table = LayeredTerms((library_glosses(passages, term_start=gloss_term_start),))
    asked = analyse_question("预防B病毒用什么药？", table=table, rarity=rarity_of(passages))
    names = [t.term for t in asked.terms]
    assert "B 病毒" in names and "病毒" not in names, names


def test_who_the_patient_is_is_never_the_name_a_sentence_must_hold() -> None:
    rarity = rarity_of(
        [
            "妊娠女性首选阿昔洛韦。",
            "妊娠期高血压患者的降压目标。",
            "Pregnant women should get the vaccine.",
        ]
    )
    english = analyse_question(
        "Which drug is preferred for hepatitis B prophylaxis in pregnant women?",
        table=glossary_table(),
        rarity=rarity,
    )
    assert "pregnant" in [t.term for t in english.terms]
    assert "pregnant" not in [t.term for t in english.anchors]
    chinese = analyse_question("孕妇能用阿昔洛韦吗？", table=glossary_table(), rarity=rarity)
    assert [t.term for t in chinese.anchors] == ["阿昔洛韦"]
    # A disease of pregnancy keeps its name; the pregnancy is whom it is about.
    disease = analyse_question("妊娠期高血压的降压目标？", table=glossary_table(), rarity=rarity)
    assert [t.term for t in disease.anchors] == ["高血压"]


def test_candidates_the_library_holds_come_before_the_cut() -> None:
    # The dictionary's order puts senses no passage uses first; cut to four, the one the
    # library uses was lost.
    lines = [f"詞{i}詞 词{i}词 [ci2] /goal/" for i in range(6)]
    plain = LayeredTerms((parse_cedict(lines),))
    assert "词5词" not in plain.to_chinese("goal")
    library = LayeredTerms((parse_cedict(lines),), held=lambda term: term == "词5词")
    assert library.to_chinese("goal")[0] == "词5词"
    assert len(library.to_chinese("goal")) == 4


def test_an_inflected_or_british_word_is_looked_up_by_its_base_form() -> None:
    lines = [
        "沖洗 冲洗 [chong1 xi3] /to rinse/",
        "逐漸減量 逐渐减量 [zhu2 jian4 jian3 liang4] /to taper/",
        "規劃 规划 [gui1 hua4] /program/",
        "識別 识别 [shi2 bie2] /to identify/",
    ]
    table = LayeredTerms((parse_cedict(lines),))
    assert table.to_chinese("rinsed") == ["冲洗"]
    assert table.to_chinese("Tapering") == ["逐渐减量"]
    assert table.to_chinese("programme") == ["规划"]
    assert table.to_chinese("identified") == ["识别"]
    assert table.to_chinese("rinsed water") == []  # a phrase is looked up as written
    assert base_forms("assessing")[0] == "assess" and "asses" not in base_forms("assessing")
    assert base_forms("randomised")[-1] == "randomize"
    assert base_forms("used") == []  # too short to tell
    # A medical adjective no table glosses is looked up by its noun.
    lines = [
        "溶栓 溶栓 [rong2 shuan1] /thrombolysis/",
        "肝硬化 肝硬化 [gan1 ying4 hua4] /cirrhosis/",
    ]
    table = LayeredTerms((parse_cedict(lines),))
    assert table.to_chinese("thrombolytic") == ["溶栓"]
    assert table.to_chinese("cirrhotic") == ["肝硬化"]


def test_an_abbreviation_that_is_an_everyday_word_is_no_gloss() -> None:
    dose = "生物等效剂量（biological effective dose，BED）≥80Gy；"
    text = dose + "甲胎蛋白（alpha-fetoprotein，AFP）。"
    table = library_glosses([text], is_word=is_everyday_word)
    assert table.to_chinese("bed") == []
    assert table.to_chinese("biological effective dose")
    assert table.to_chinese("AFP") == ["甲胎蛋白"]
    assert library_glosses([text]).to_chinese("bed")  # without the check, "bed" is a dose


def test_untranslated_terms_are_the_library_words_no_held_translation_reaches() -> None:
    table = table_with(("洗手", "hand washing"), ("门诊", "outpatient"))
    df = {"洗手": 9, "门诊": 5, "诊疗": 7, "outpatient": 4, "surveillance": 6, "the": 50,
          "#诊疗": 7, "2016": 30, "x": 8, "监测": 2}  # fmt: skip
    gaps = untranslated_terms(table, df, held=lambda t: t in df, limit=10)
    # 洗手 → "hand washing", which no passage holds; 门诊 ↔ outpatient are both held.
    assert [g.term for g in gaps["zh"]] == ["洗手", "诊疗"]
    assert gaps["zh"][0].candidates[0] == "hand washing"
    # Stop words, numbers, n-grams, one letter and rare words (监测: 2 passages) are left out.
    assert [g.term for g in gaps["en"]] == ["surveillance"]
    assert [g.term for g in untranslated_terms(table, df, held=df.__contains__, limit=1)["zh"]] == [
        "洗手"
    ]


def test_hospital_glossary_is_validated_and_wins(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="entry 1"):
        parse_glossary({"terms": [{"zh": "只有中文"}]}, source="g.yaml")
    with pytest.raises(ValueError, match="mapping"):
        parse_glossary(["x"], source="g.yaml")
    path = tmp_path / "glossary.yaml"
    path.write_text("terms:\n  - {zh: 儿童, en: [paediatric]}\n", encoding="utf-8")
    table = LayeredTerms((load_glossary(path), cedict_table()))
    assert table.to_english("儿童")[0] == "paediatric"
    # The generic first, then the trade name a prescriber writes (达菲).
    assert load_glossary().to_chinese("oseltamivir") == ["奥司他韦", "达菲"]


def test_a_glossary_name_with_a_drug_class_is_known_without_yaowu(tmp_path: Path) -> None:
    # Chinese writes a class of drugs with or without 药物 after 类; the glossary lists one.
    path = tmp_path / "glossary.yaml"
    path.write_text(
        "terms:\n  - {zh: 苯二氮䓬类药物依赖, en: [benzodiazepine dependence]}\n", encoding="utf-8"
    )
    names = load_glossary(path)
    assert names.to_english("苯二氮䓬类依赖") == ["benzodiazepine dependence"]
    assert names.to_english("苯二氮䓬类药物依赖") == ["benzodiazepine dependence"]
    passages = ["Benzodiazepine dependence needs a slow taper.", "Opioids and benzodiazepines."]
    analysis = analyse_question(
        "苯二氮䓬类依赖的病人怎么办？",
        table=LayeredTerms((names, cedict_table())),
        rarity=rarity_of(passages),
    )
    assert analysis.anchors[0].term == "苯二氮䓬类依赖", analysis.terms
    assert "benzodiazepine dependence" in analysis.anchors[0].forms


def test_glossary_vocabulary_translates_but_names_no_subject(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocabulary entry 1"):
        parse_glossary({"vocabulary": [{"en": "taper"}]}, source="g.yaml", section="vocabulary")
    with pytest.raises(ValueError, match="lists under"):
        parse_glossary({"vocabulary": "taper"}, source="g.yaml")
    path = tmp_path / "glossary.yaml"
    path.write_text(
        "terms:\n  - {zh: 奥司他韦, en: oseltamivir}\n"
        "vocabulary:\n  - {zh: [减量, 逐渐减量], en: [taper, tapering]}\n",
        encoding="utf-8",
    )
    names, words = load_glossary(path), load_glossary(path, section="vocabulary")
    assert names.to_chinese("taper") == [] and words.to_english("减量") == ["taper", "tapering"]
    table = LayeredTerms((names, words, cedict_table()), clinical=1)
    assert table.to_chinese("tapering")[0] == "减量"
    assert not table.knows_clinical("减量") and table.knows_clinical("奥司他韦")
    passages = ["Taper opioids slowly, by 10% a month.", "奥司他韦减量使用。", "逐渐减量。"]
    analysis = analyse_question("阿片类药物怎么减量？", table=table, rarity=rarity_of(passages))
    assert "减量" not in [t.term for t in analysis.anchors], analysis.terms
    assert "taper" in analysis.translations["en"].split()
    # The shipped glossary has both lists, and they load.
    assert load_glossary(section="vocabulary").to_chinese("outpatient")


def test_per_language_lists_fuse_by_rank() -> None:
    a = [
        make_source(1, "a", doc="a", title="A", chunk=1),
        make_source(2, "b", doc="b", title="B", chunk=2),
    ]
    b = [
        make_source(1, "c", doc="c", title="C", chunk=3),
        make_source(2, "a", doc="a", title="A", chunk=1),
    ]
    fused = fuse_by_rank([a, b], weights=[1.0, 1.0])
    assert [s.doc_id for s in fused] == ["a", "c", "b"]
    # A language whose own search was judged irrelevant ranks below the other's hits.
    weighted = fuse_by_rank([a, b], weights=[1.0, 0.1])
    assert [s.doc_id for s in weighted] == ["a", "b", "c"]


def test_a_bracketed_unit_does_not_end_a_sentence() -> None:
    from assistant.citations import split_sentences

    text = "多西环素：推荐剂量为2mg/（kg.次），q12h，口服。一般疗程为10d。"
    assert split_sentences(text) == [
        "多西环素：推荐剂量为2mg/（kg.次），q12h，口服。",
        "一般疗程为10d。",
    ]


def test_an_aspect_word_inside_a_name_is_not_the_aspect() -> None:
    table = table_with(("多剂量瓶", "multidose vial"))
    analysis = analyse_question("多剂量瓶可以给两个病人用吗？", table=table, rarity=None)
    assert analysis.aspect is None
    assert analyse_question("奥司他韦剂量？", table=table, rarity=None).aspect is not None


def test_a_word_jieba_glued_onto_the_cue_is_the_cues() -> None:
    """ "急性缺血性卒中不溶栓，血压多高才需要降压？" asked no value: jieba cut "多高才" as one
    unknown word, taken for a name and blanked out with the cue inside it. A thrombolysis
    sentence with "4.5小时" was shown as the answer."""
    for question in ("急性缺血性卒中不溶栓，血压多高才需要降压？", "血小板多低才需要输注？"):
        library = ["血压持续升高至收缩压≥200mmHg，应降压治疗。", "血小板输注。", *SMALL_LIBRARY]
        analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
        assert analysis.aspect is not None and analysis.aspect.name == "value", question
        assert not any("多" in t.term for t in analysis.terms)


def test_redaction_placeholders_are_never_the_subject() -> None:
    for question in (
        "Patient ID [ID_1], phone [PHONE_1]: when to start warfarin?",
        "患者[姓名1]，电话[电话1]，华法林什么时候开始用？",
    ):
        analysis = analyse_question(question, table=table_with(), rarity=None)
        names = {t.term for t in analysis.terms}
        assert names and not {"ID", "PHONE", "姓名", "电话", "ID_1", "PHONE_1"} & names, names


def test_a_route_of_administration_is_not_a_subject() -> None:
    analysis = analyse_question("儿童口服铁剂按什么剂量补？", table=table_with(), rarity=None)
    assert "口服" not in {t.term for t in analysis.anchors}


@pytest.mark.parametrize("drug", ["amiodarone", "furosemide", "sitagliptin", "dapagliflozin"])
def test_an_english_drug_name_the_dictionaries_lack_is_still_a_name(drug: str) -> None:
    rarity = rarity_of(SMALL_LIBRARY)
    analysis = analyse_question(
        f"What is the loading dose of {drug}?", table=table_with(), rarity=rarity
    )
    assert analysis.missing == [drug]


def test_a_word_with_diacritics_and_a_hyphen_contributes_its_parts(corpus_dir: Path) -> None:
    """The CDC opioid guideline writes "opioid-naïve": the question's subject is "opioid" (and
    "naive"), found in the guideline's sentence whichever way either side spells it."""
    import re

    from pypdf import PdfReader

    pdf = corpus_dir / "en" / "cdc-2022-opioid-prescribing-guideline_rr7103a1-H.pdf"
    page = re.sub(r"\s+", " ", PdfReader(str(pdf)).pages[33].extract_text() or "")
    at = page.index("opioid-naïve patients")
    sentence = page[page.rfind(".", 0, at) + 1 : page.index(".", at) + 1].strip()
    table = glossary_table()
    rarity = rarity_of([sentence, "Hand hygiene before and after every patient contact."])
    for question in (
        "Starting dose for opioid-naïve patients?",
        "Starting dose for opioid-naive patients?",
        "Starting dose for patients who are opioid naïve?",
    ):
        analysis = analyse_question(question, table=table, rarity=rarity)
        terms = {t.term.lower(): t for t in analysis.terms}
        assert "opioid" in terms, (question, list(terms))
        assert terms["opioid"].in_library
        assert term_in_text(terms["opioid"], sentence)
    # The compound matches the guideline's hyphen and diacritics in either spelling.
    assert form_in_text("opioid naive", sentence)
    assert form_in_text("opioid-naïve", sentence.replace("naïve", "naive"))


def test_verbs_and_severity_grades_are_never_the_subject(corpus_dir: Path) -> None:
    """ "起病" (fall ill) ends like a disease name and "重型" grades any disease: neither is what
    a question is about. A disease name no dictionary knows (手足口病) still is, and is missing
    from a library that lacks it."""
    flu = (corpus_dir / "zh" / "流行性感冒诊疗方案（2025年版）.txt").read_text("utf-8")
    paragraphs = [p for p in flu.split("\n\n") if p.strip()]
    rarity = rarity_of(paragraphs)
    table = LayeredTerms((load_glossary(), library_glosses([flu]), cedict_table()), clinical=2)

    onset = analyse_question("流感患者起病后多久开始发热？", table=table, rarity=rarity)
    assert "起病" not in [t.term for t in onset.anchors]
    assert onset.anchors and onset.anchors[0].term in {"流感", "流行性感冒"}

    severe = analyse_question("重型流感患者的抗病毒疗程是多久？", table=table, rarity=rarity)
    assert "重型" not in [t.term for t in severe.terms]

    absent = analyse_question("水痘和手足口病怎么区分？", table=table, rarity=rarity)
    assert {"水痘", "手足口病"} <= set(absent.missing), absent.terms
    # A disease of a body part (糖尿病足) is a condition of its own, not the disease: a
    # library that names only the disease lacks it, whatever else the question names.
    foot = analyse_question("糖尿病足溃疡感染首选哪种抗生素？", table=table, rarity=rarity)
    assert "糖尿病足" in foot.missing, foot.terms


def test_other_language_terms_are_those_the_library_uses(corpus_dir: Path) -> None:
    """A dictionary sense no passage holds ("course" → 课程) is not searched; the drug's
    Chinese name is; a Latin abbreviation the Chinese guideline writes as is (IgM) goes along."""
    flu = (corpus_dir / "zh" / "流行性感冒诊疗方案（2025年版）.txt").read_text("utf-8")
    mp = (corpus_dir / "zh" / "儿童肺炎支原体肺炎诊疗指南（2025年版）.txt").read_text("utf-8")
    paragraphs = [p for text in (flu, mp) for p in text.split("\n\n") if p.strip()]
    rarity = rarity_of(paragraphs)
    table = LayeredTerms((load_glossary(), library_glosses([flu, mp]), cedict_table()), clinical=2)
    course = analyse_question(
        "How long is the course of oseltamivir?", table=table, rarity=rarity
    ).translations["zh"]
    assert "奥司他韦" in course
    assert "课程" not in course and "历程" not in course
    igm = analyse_question(
        "When does IgM turn positive in Mycoplasma pneumonia?", table=table, rarity=rarity
    ).translations["zh"]
    assert "IgM" in igm.split()


def test_everyday_words_of_a_chinese_question_join_the_english_bag() -> None:
    """策略 and 培训 name no subject, yet the English passage says "strategy" and "training"."""
    passages = [
        "A multimodal strategy with training of health workers improves hand hygiene.",
        "Infection prevention and control programmes need trained staff.",
        "感染防控需要培训和策略。",
    ]
    table = glossary_table()
    analysis = analyse_question("感控培训要用什么策略？", table=table, rarity=rarity_of(passages))
    assert {"培训", "策略"} <= {t.term for t in analysis.common}, analysis.terms
    bag = analysis.translations["en"].split()
    assert "strategy" in bag and "training" in bag, bag


def test_a_translation_bag_counts_one_group_per_question_term() -> None:
    """A term's alternatives (two senses the library holds) are one group: a passage holds one
    of them, and the search's lexical strength must not be divided by both."""
    passages = [
        "Taper opioids slowly; tapering by 10% a month is tolerated.",
        "Opioid therapy needs monitoring.",
        "阿片类药物减量。",
    ]
    words = TermTable()
    words.add("减量", "taper")
    words.add("减量", "tapering")
    table = LayeredTerms((load_glossary(), words, cedict_table()), clinical=1)
    # Asked how long (an aspect of its own), 减量 is a word of the question, not what it asks.
    analysis = analyse_question(
        "阿片类药物减量要多长时间？", table=table, rarity=rarity_of(passages)
    )
    bag = analysis.translations["en"].split()
    assert {"taper", "tapering", "opioid"} <= set(bag), bag
    # 阿片类药物 (opioid, opioids), 减量 (taper, tapering) and the aspect's words (duration,
    # days): three groups, six words.
    assert analysis.bag_groups == {"en": 3}, (analysis.bag_groups, bag)


def test_a_question_naming_nothing_is_not_answered_from_table_words_alone(
    corpus_dir: Path,
) -> None:
    """When the question's own search found nothing and only the term table's other-language
    words did, a question with no specific name to check the passages against is refused;
    one whose own search was relevant, or whose name the passages hold, is not."""
    from assistant.retrieval import RetrievalResult
    from assistant.service.understanding import subject_refusal

    flu = (corpus_dir / "zh" / "流行性感冒诊疗方案（2025年版）.txt").read_text("utf-8")
    paragraph = next(p for p in flu.split("\n\n") if "奥司他韦" in p)
    table = glossary_table()
    rarity = rarity_of([paragraph])
    source = Source(
        n=1,
        doc_id="flu",
        title="流行性感冒诊疗方案",
        library="hospital",
        text=paragraph,
        language="zh",
    )

    def searched(*, own_search_relevant: bool) -> RetrievalResult:
        return RetrievalResult(
            query="q",
            language="en",
            channel="hybrid",
            sources=[source],
            relevant=True,
            best_dense=None,
            best_sparse=None,
            term_coverage=0.0,
            elapsed_ms=0.0,
            reasons=[] if own_search_relevant else ["dense_below_floor"],
            languages=["en", "zh"],
            cross_lingual=True,
        )

    vague = analyse_question("How long should it last after that?", table=table, rarity=rarity)
    assert not vague.anchors
    refusal = subject_refusal(vague, searched(own_search_relevant=False))
    assert refusal is not None and refusal.reason == "no_relevant_passage"
    assert subject_refusal(vague, searched(own_search_relevant=True)) is None

    named = analyse_question("How long is oseltamivir given?", table=table, rarity=rarity)
    assert named.anchors
    assert subject_refusal(named, searched(own_search_relevant=False)) is None


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("When can anticoagulation restart after intracerebral hemorrhage?", "hemorrhage"),
        ("Is hepatectomy advised for a solitary tumour?", "hepatectomy"),
        ("How is postherpetic neuralgia treated?", "neuralgia"),
        ("What does a colonoscope need before reuse?", "colonoscope"),
        ("How soon is thrombolysis given?", "thrombolysis"),
        ("How is aspiration pneumonia treated in older adults?", "pneumonia"),
    ],
)
def test_disease_and_procedure_word_endings_make_a_name(question: str, name: str) -> None:
    """A disease, sign or procedure named by its ending is what the question is about: a
    sentence about another subject that shares the aspect is not its answer."""
    table = LayeredTerms((TermTable(), cedict_table()), clinical=1)
    analysis = analyse_question(question, table=table)
    assert any(name in t.term for t in analysis.anchors), analysis.terms


def test_everyday_words_are_no_names_in_either_script() -> None:
    """A word jieba does not know is a transliterated name, unless the dictionary knows it as
    an everyday word; a plural in -ches is folded to its word ("patches" is "patch")."""
    table = glossary_table()
    assert normalise_en("patches") == "patch" and normalise_en("boxes") == "box"
    assert normalise_en("diseases") == "disease" and normalise_en("classes") == "class"
    everyday = analyse_question("单剂量药瓶里剩下的药能给下一个病人用吗？", table=table)
    assert "下一个" not in [t.term for t in everyday.anchors], everyday.terms
    patches = analyse_question("What MME factor do fentanyl patches have?", table=table)
    assert "patches" not in [t.term for t in patches.anchors], patches.terms
    assert "fentanyl" in [t.term for t in patches.anchors]
    # What is asked of a name ("which is preferred") is no name, as 首选 is none in Chinese.
    preferred = analyse_question("Which statin is preferred after a stroke?", table=table)
    assert "preferred" not in [t.term for t in preferred.terms], preferred.terms
    # A technical word no dictionary gloss uses keeps its name (多模式策略 → "multimodal").
    words = load_glossary(section="vocabulary")
    with_words = LayeredTerms((load_glossary(), words, cedict_table()), clinical=1)
    named = analyse_question("多模式策略包括几个部分？", table=with_words)
    assert "多模式策略" in [t.term for t in named.anchors], named.terms


def test_analysis_is_no_name() -> None:
    table = LayeredTerms((TermTable(), cedict_table()), clinical=1)
    analysis = analyse_question("What does the cost analysis show?", table=table)
    assert not any("analysis" in t.term for t in analysis.anchors), analysis.terms


@pytest.mark.parametrize(
    ("question", "virus"),
    [("流感病毒加热多少度多久能灭活？", "流感病毒"), ("新冠病毒对哪些消毒剂敏感？", "新冠病毒")],
)
def test_a_virus_is_a_name(question: str, virus: str) -> None:
    """An organism is what the question is about, a virus as much as a bacterium: a sentence
    continuing one that names it ("…敏感；对紫外线和热敏感，56°C条件下30分钟可灭活") is found
    through it. What acts against a virus (抗病毒, 杀病毒) is no virus."""
    from assistant.zh_names import ZH_DISEASE_STEM

    analysis = analyse_question(question, table=glossary_table())
    assert virus in [t.term for t in analysis.anchors], analysis.terms
    assert not ZH_DISEASE_STEM.search("抗病毒") and not ZH_DISEASE_STEM.search("杀病毒")


def test_a_population_and_a_severity_grade_are_not_joined_into_a_name() -> None:
    """jieba knows neither "轻症" nor a name it could belong to: "儿童" + "轻症" is a population
    and a grade, not a disease the library lacks."""
    table = glossary_table()
    analysis = analyse_question("儿童轻症支原体肺炎用阿奇霉素吗？", table=table)
    assert "儿童轻症" not in [t.term for t in analysis.terms]
    assert "阿奇霉素" in [t.term for t in analysis.anchors]


# --- list items, lead-ins and clauses (assistant/passage_layout.py) -------------------------


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("How should the dose be adjusted for a creatinine clearance of 30 mL/min?", "renal_dose"),
        ("肾功能不全患者剂量怎么调整？", "renal_dose"),
        ("肾功能不全患者能用这个药吗？", None),
        # Dialysis in its everyday abbreviations: the usual dose is no answer for the patient.
        ("流感患者规律血透，奥司他韦剂量多少？", "renal_dose"),
        ("腹透病人用药剂量要调整吗？", "renal_dose"),
        ("ESRD on hemodialysis: oseltamivir dose?", "renal_dose"),
        ("CKD stage 4, what dose?", "renal_dose"),
        ("漏服了一次该怎么补？", "missed_dose"),
        ("What if a patient missed a dose?", "missed_dose"),
    ],
)
def test_kidney_dose_and_missed_dose_questions(question: str, aspect: str | None) -> None:
    found = detect_aspect(question)
    assert (found.name if found else None) == aspect


def test_timing_asks_when_and_an_image_s_dimensions_are_no_days() -> None:
    for question in ("Timing of adjuvant therapy after resection?", "肝癌切除术后辅助治疗的时机？"):
        asked = detect_aspect(question)
        assert asked is not None and asked.name == "timing", question
        assert asked.stated_in("术后4~8周实施的辅助治疗是降低肿瘤复发转移风险的重要手段。")
        assert not asked.stated_in("术后辅助治疗可以根据术后病理精准选择治疗人群。")
    how_long = detect_aspect("How long to anticoagulate?")
    assert how_long is not None and how_long.name == "duration"
    assert not how_long.stated_in("MRI 特殊序列（如 CE -3D- MPRAGE 或3D-T1-SPACE）可鉴别狭窄。")
    assert how_long.stated_in("抗凝治疗的疗程通常为3~6个月。")


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("巨块型肝癌是多大？", "value"),
        ("HCC size criteria for curative ablation?", "value"),
        ("How big must the lesion be?", "value"),
        ("多大的孩子可以用奥司他韦？", "age"),  # how old, not how big
        ("多大年龄可以接种？", "age"),
    ],
)
def test_how_big_asks_a_value(question: str, aspect: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == aspect


def test_a_digit_inside_a_name_states_no_value() -> None:
    target = detect_aspect("糖尿病患者糖化目标是多少？")
    assert target is not None and target.name == "value"
    assert not target.stated_in("必要时进行糖化血红蛋白（HbA1c）或口服糖耐量试验检测。")
    assert not target.stated_in("甲型流感病毒 H1N1 亚型流行。")
    assert target.stated_in("糖尿病患者推荐血糖控制目标：HbA1c<7%。")
    assert target.stated_in("CD4 计数低于200个/μL。")


def test_every_so_many_months_states_how_often_with_a_space_before_the_unit() -> None:
    how_often = detect_aspect("乙肝肝硬化病人肝癌筛查多久一次？")
    assert how_often is not None and how_often.name == "frequency"
    assert how_often.stated_in("至少每隔6 个月进行1 次肝癌监测。")
    assert how_often.stated_in("每隔3～6个月复查1次。")
    assert not how_often.stated_in("肝癌监测应长期坚持。")


@pytest.mark.parametrize(
    "question",
    [
        "When is bronchoscopic recanalization not advised?",
        "哪些情况不建议做支气管镜介入？",
        "Is tramadol not recommended in children?",
    ],
)
def test_not_advised_asks_the_contraindication(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "contraindication"
    assert found.stated_in("闭塞远端小气道走行不清者不建议行介入治疗。")
    assert not found.stated_in("可采用球囊扩张等介入方法实现气道再通。")


def test_a_count_asked_beside_another_value_is_answered_by_either() -> None:
    both = detect_aspect("腺病毒确诊患儿能不能几个人住一间？床距多少？")
    assert both is not None and both.name == "value"
    assert both.stated_in("确诊病例可以同时安置于多人房间，床间距>1米。")
    staff = detect_aspect("门诊要有几名受过培训的人员？")
    assert staff is not None and not staff.stated_in("确诊病例可以同时安置于多人房间，床间距>1米。")
    assert staff.stated_in("至少配备1名受过培训的人员。")


def test_an_energy_target_is_stated_in_calories_and_several_quantities_in_any_of_theirs() -> None:
    nutrition = "营养支持：保证热量25～30千卡/kg/日、蛋白质>1.2g/kg/日摄入。"
    virus = "新冠病毒颗粒呈圆形或椭圆形，直径60～140nm，病毒颗粒中包含4种结构蛋白。"
    for question in ("重症营养支持热量目标是多少？", "重症患者热量和蛋白质目标？"):
        target = detect_aspect(question)
        assert target is not None and target.name == "value", question
        assert target.stated_in(nutrition) and not target.stated_in(virus), question
    both = detect_aspect("血压和血糖控制目标是多少？")
    assert both is not None
    assert both.stated_in("血压<140/90 mmHg。") and both.stated_in("空腹血糖4.4~7.0 mmol/L。")
    assert not both.stated_in("病毒颗粒直径60～140nm。")


def test_a_rate_measured_on_the_patient_is_a_value_in_its_unit() -> None:
    breathing = detect_aspect("儿童流感重型，1-5岁呼吸频率多少算气促？")
    assert breathing is not None and breathing.name == "value"
    assert breathing.stated_in("1～5岁，RR≥40次/分；")
    assert not breathing.stated_in("年龄<5岁的儿童（年龄<2岁更易发生严重并发症）；")
    saturation = detect_aspect("SpO2 cutoff on room air that makes pediatric MPP severe?")
    assert saturation is not None and saturation.name == "value"
    assert saturation.stated_in("静息状态下，海平面吸空气时指脉氧饱和度≤0.93；")
    assert not saturation.stated_in("重症病例常在病程5～7天出现。")


def test_which_days_asks_a_schedule_and_a_procedure_is_no_schedule() -> None:
    # "二级暴露后狂犬疫苗按几针法接种，具体哪几天打？" read 哪几天 as how long, and a sentence on
    # antibody tests "for those surviving more than a week" answered it.
    for question in ("狂犬疫苗具体哪几天打？", "二级暴露后狂犬疫苗按几针法接种，具体哪几天打？"):
        schedule = detect_aspect(question)
        assert schedule is not None and schedule.name == "frequency", question
        assert schedule.stated_in("5针法：第0、3、7、14和28天各接种1剂。")
        assert not schedule.stated_in("适合存活一周以上者血清、脑脊液样本。")
        assert not schedule.stated_in("完成暴露后预防程序，99%以上的患者可以存活。")
        assert schedule.stated_in("按免疫程序完成全程接种。")


def test_tapering_off_in_one_word_asks_how_to_stop_and_opioids_are_named_short() -> None:
    # "术后阿片连续用了3天多不到1周，出院时怎么减停？" asked nothing and named no opioid: a stroke
    # guideline's sentence on discharge follow-up was shown.
    stop = detect_aspect("出院时怎么减停？")
    assert stop is not None and stop.name == "discontinuation"
    assert stop.stated_in("出院前应与患者讨论减停计划。")
    assert "opioid" in glossary_table().to_english("阿片")


def test_how_many_hours_in_ward_shorthand_asks_how_long() -> None:
    asked = detect_aspect("how many hrs of proper azithro first?")
    assert asked is not None and asked.name == "duration"


def test_a_rate_of_occurrence_says_not_how_often_to_act() -> None:
    asked = detect_aspect("How often should the survey be repeated?")
    assert asked is not None and asked.name == "frequency"
    assert not asked.stated_in("HAI frequency was up to 3 times higher in intensive care units.")
    assert asked.stated_in("Repeat the prevalence survey every 2 years.")
    assert asked.stated_in("Audit hand hygiene once a month.")


def test_a_kidney_dose_needs_a_stated_dose_and_a_missed_dose_its_own_words() -> None:
    renal = detect_aspect("肾功能不全时剂量怎么调整？")
    missed = detect_aspect("漏服了怎么办？")
    assert renal is not None and missed is not None
    assert not renal.stated_in("肾功能不全者要根据肾功能调整剂量。")
    assert renal.stated_in("肌酐清除率30～60mL/min者每次30mg，每日2次。")
    # A change to the usual dose, or its withdrawal, states the dose without a unit.
    assert renal.stated_in("中度肾功能损伤者应将本药减半服用。")
    assert renal.stated_in("重度肾功能损伤者不应使用。")
    english = detect_aspect("Does the dose change in moderate kidney impairment?")
    assert english is not None and english.name == "renal_dose"
    assert english.stated_in("Halve the dose in moderate renal impairment.")
    assert not english.stated_in("Renal function should be checked before treatment.")
    assert not missed.stated_in("成人剂量每次75mg，每日2次。")
    assert missed.stated_in("如漏服一次，应尽快补服，但不可一次服用双倍剂量。")


@pytest.mark.parametrize(
    "sentence",
    [
        "干混悬剂适用于2周龄以上儿童。",
        "推荐剂量：2周～8月龄，每次3.0mg/kg；",
        "children aged 6-59 months",
    ],
)
def test_an_age_is_no_duration(sentence: str) -> None:
    duration = detect_aspect("疗程多久？")
    assert duration is not None and not duration.stated_in(sentence)


@pytest.mark.parametrize("ending", ["沙班", "加群", "列净", "替尼", "司特", "格雷", "鲁肽", "沙星"])
def test_a_generic_name_jieba_cuts_apart_stays_whole_and_missing(ending: str) -> None:
    # Pieces before an INN ending join into one name, which the library does not hold.
    rng = random.Random(ending)
    zh = "".join(rng.choice(ZH_SYLLABLES) for _ in range(2)) + ending
    rarity = rarity_of(SMALL_LIBRARY)
    for question in (f"{zh}的成人剂量是多少？", f"流感患者{zh}怎么吃？", f"给{zh}的疗程"):
        analysis = analyse_question(question, table=table_with(), rarity=rarity)
        assert analysis.missing[:1] == [zh], (question, analysis.subject)


def test_a_known_word_with_a_neighbours_character_glued_on_is_no_missing_subject() -> None:
    # jieba reads "新冠人感染" as 新冠人 + 感染: 新冠 with the 人 of the next word. No guideline
    # spells it, and it is no drug the library lacks.
    rarity = rarity_of(["新冠病毒感染者在潜伏期即有传染性。", *SMALL_LIBRARY])
    analysis = analyse_question("新冠人感染后多久有传染性？", table=table_with(), rarity=rarity)
    assert "新冠人" not in analysis.missing


def test_jiebas_word_counts_are_loaded_before_first_use() -> None:
    # jieba replaces its dictionary object when it initialises: a reference taken before would
    # stay empty and every word would look unknown (a name).
    import subprocess
    import sys

    code = (
        "from assistant.questions import _is_entity\nfrom assistant.zh_names import word_counts\n"
        "from assistant.glossary import LayeredTerms, TermTable\n"
        "assert word_counts().get('剂量', 0) > 100\n"
        "assert not _is_entity('高度', LayeredTerms((TermTable(),)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("question", ["高风险人群多久查一次B超？", "多长时间复查一次？"])
def test_how_long_until_once_more_asks_a_frequency(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "frequency"


def test_a_character_before_a_name_the_table_knows_is_not_glued_to_it() -> None:
    en, zh = fake_drug(14)
    table = table_with((zh, en))
    analysis = analyse_question(f"确诊流感后{zh}的剂量是多少？", table=table, rarity=None)
    assert zh in analysis.subject and f"后{zh}" not in analysis.subject


def test_a_long_english_word_no_dictionary_knows_is_a_name_the_library_may_lack() -> None:
    # Generated, so no dictionary and no guideline holds it.
    rng = random.Random(16)
    name = "".join(rng.choice(SYLLABLES) for _ in range(3)) + "ine"
    analysis = analyse_question(
        f"How should I titrate {name} in adults?",
        table=table_with(),
        rarity=rarity_of(SMALL_LIBRARY),
    )
    assert analysis.missing == [name]
    # A verb or an adjective no gloss uses is about a name, never one.
    verb = analyse_question(
        "How should I titrate and taper an antihypertensive?",
        table=table_with(),
        rarity=rarity_of(SMALL_LIBRARY),
    )
    assert not {"titrate", "antihypertensive"} & set(verb.missing)


def test_an_unknown_prefix_makes_a_known_drug_name_a_longer_one_the_library_may_lack() -> None:
    # "<unknown>肝素" is a particular heparin: a question about it is not one about heparin.
    rng = random.Random(17)
    prefix = "".join(rng.choice(ZH_SYLLABLES) for _ in range(2))
    table = table_with(("肝素", "heparin"))
    analysis = analyse_question(
        f"{prefix}肝素的剂量是多少？", table=table, rarity=rarity_of(SMALL_LIBRARY)
    )
    assert analysis.missing[:1] == [f"{prefix}肝素"]


@pytest.mark.parametrize(
    "sentence",
    ["2019年全球疾病负担研究显示，我国每年新发卒中约394万例。", "Reported in 2022 by the CDC."],
)
def test_a_calendar_year_is_no_duration(sentence: str) -> None:
    duration = detect_aspect("多久可以恢复？")
    assert duration is not None and not duration.stated_in(sentence)
    assert duration.stated_in("一般需要3年。")


@pytest.mark.parametrize(
    "question",
    [
        "距离上次接种超过几年需要加强？",
        "伤口要冲洗多少分钟？",
        "How many weeks is it given for?",
        "手消毒剂要揉搓多少秒？",
        "How many seconds should the skin be scrubbed?",
        "术后多少个月能怀孕？",
    ],
)
def test_how_many_years_minutes_or_weeks_asks_a_duration(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "duration"


def test_a_length_in_seconds_is_stated_only_by_seconds() -> None:
    seconds = detect_aspect("手消毒剂要揉搓多少秒？")
    assert seconds is not None
    assert seconds.stated_in("揉搓双手至少15秒，直至干燥。")
    assert seconds.stated_in("Rub hands together for at least 20 seconds.")
    # Counting sinks per beds is no length of time.
    assert not seconds.stated_in("每10张床至少配备1个洗手池。")


@pytest.mark.parametrize("question", ["多少个月复查一次？", "几天换一次敷料？"])
def test_how_many_months_until_once_more_asks_a_frequency(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "frequency"


@pytest.mark.parametrize(
    "question",
    [
        "这个靶向药适用于哪些患者？",
        "哪些分期的肿瘤适合做射频消融？",
        "哪些人适合接种这种疫苗？",
        "Who should get the pneumococcal vaccine?",
        "Which patients should receive this antidote?",
        "What are the indications for thrombectomy?",
    ],
)
def test_who_or_what_a_treatment_is_for_asks_its_indication(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "indication"
    assert found.stated_in("该药适用于肝功能Child-Pugh A级的患者。")
    assert found.stated_in("Thrombectomy is recommended for patients with large-vessel occlusion.")
    # A trial's result and a grade of recommendation say nothing of whom it is for.
    assert not found.stated_in("联合治疗组ORR达到27.3%，明显高于对照组（证据等级1，推荐A）。")
    assert not found.stated_in("The response rate was 27% in the combination arm.")


@pytest.mark.parametrize(
    ("short", "full", "expected"),
    [
        ("新冠", "新型冠状病毒感染", True),
        ("丙球", "丙种球蛋白", True),
        ("密接", "密切接触者", True),
        ("流感", "流行性感冒", True),
        ("感控", "感染防控", True),
        ("新冠", "新冠病毒感染", False),  # spelled out as it is: no abbreviation
        ("冠新", "新型冠状病毒感染", False),  # out of order
        ("新病", "新型冠状病毒感染", False),  # too far apart
    ],
)
def test_a_chinese_abbreviation_keeps_characters_of_its_full_name_in_order(
    short: str, full: str, expected: bool
) -> None:
    from assistant.zh_names import abbreviates

    assert abbreviates(short, full) is expected


def test_an_abbreviation_takes_the_clinical_name_it_shortens_and_its_forms() -> None:
    table = table_with(("丙种球蛋白", "IVIG"))
    table = LayeredTerms(table.layers, clinical=1)
    analysis = analyse_question("重症肺炎丙球怎么给？", table=table, rarity=None)
    ivig = next(t for t in analysis.anchors if t.term == "丙球")
    assert "丙种球蛋白" in ivig.forms and "ivig" in ivig.forms
    # A passage that spells an abbreviation out holds it (密接 → 密切接触者).
    contacts = analyse_question("密接者多久内要用药？", table=table_with(), rarity=None)
    term = next(t for t in contacts.terms if t.term == "密接")
    assert term_in_text(term, "建议对高危的密切接触者进行暴露后药物预防。")
    assert not term_in_text(term, "建议对高危人群接种疫苗。")


@pytest.mark.parametrize("question", ["肝癌患者多久复查一次？", "术后多长时间随访一次？"])
def test_a_word_inside_the_aspects_own_phrase_is_never_the_subject(question: str) -> None:
    # The hospital glossary knows 复查/随访 (a clinical word, so a name by default); inside
    # "多久…一次" it says what is asked about the subject, and a sentence about another
    # follow-up ("治疗后1周左右复查血常规") must not answer for lacking the real subject.
    table = table_with(("复查", "reassessment"), ("随访", "follow-up"))
    table = LayeredTerms(table.layers, clinical=1)
    analysis = analyse_question(question, table=table, rarity=None)
    assert analysis.aspect is not None and analysis.aspect.name == "frequency"
    assert not {"复查", "随访"} & {t.term for t in analysis.terms}


@pytest.mark.parametrize(
    ("text", "child"),
    [("a 6-year-old with asthma", True), ("an 8-month-old infant", True),
     ("a 45-year-old man", False), ("a 17 year old", True)],
)  # fmt: skip
def test_an_age_under_eighteen_names_a_child(text: str, child: bool) -> None:
    from assistant.populations import populations

    assert ("child" in populations(text)) is child


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("What is the vaccine schedule for adults?", "frequency"),
        ("乙肝疫苗的接种程序是什么？", "frequency"),
        ("隔离到什么时候可以解除？", "duration"),
        ("什么时候可以出院？", "duration"),
    ],
)
def test_schedule_and_until_when_questions(question: str, aspect: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == aspect


def test_frequently_is_no_frequency() -> None:
    frequency = detect_aspect("What is the vaccine schedule?")
    assert frequency is not None
    assert not frequency.stated_in("The most frequently used designs are surveys.")
    assert frequency.stated_in("Give doses at 0, 1 and 6 months on a three-dose schedule.")
    assert frequency.stated_in("第0、3、7、14和28天各接种1剂。")


def test_a_hyphenated_name_holding_an_aspect_word_is_not_that_aspect() -> None:
    table = LayeredTerms(table_with(("单剂量瓶", "single-dose vial")).layers, clinical=1)
    analysis = analyse_question(
        "Can a single-dose vial be used for more than one patient?", table=table, rarity=None
    )
    assert analysis.aspect is None or analysis.aspect.name != "dose"
    assert "single dose vial" in [t.term for t in analysis.anchors]


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("多剂量药瓶开封后最多能用多少天？", "duration"),  # a vial's kind, then how long
        ("单剂量药瓶里剩下的药能给下一个病人用吗？", None),
        ("孕妇能用法维拉韦吗？", None),  # 用 then a name: no 用法 asked
        ("奥司他韦的用法？", "dose"),
        ("奥司他韦用法用量是什么", "dose"),
        ("奥司他韦吃多少？", "dose"),
        ("奥司他韦要吃多少天？", "duration"),
        ("每次用多少mg？", "dose"),
        ("多剂量疫苗每剂剂量是多少？", "dose"),
    ],
)
def test_dose_words_inside_other_words_ask_no_dose(question: str, aspect: str | None) -> None:
    found = detect_aspect(question)
    assert (found.name if found else None) == aspect


def test_seeing_the_patient_again_is_what_is_asked_never_the_subject() -> None:
    zh = analyse_question("肝癌TACE术后多久复查影像？", table=table_with(), rarity=None)
    assert "复查" not in {t.term for t in zh.terms}
    assert zh.aspect is not None and zh.aspect.name == "duration"
    en = analyse_question(
        "How soon after TACE should patients have follow-up imaging?",
        table=table_with(),
        rarity=None,
    )
    assert en.aspect is not None and en.aspect.name == "duration"
    assert not {"follow", "follow-up"} & {t.term.lower() for t in en.terms}


@pytest.mark.parametrize(
    ("question", "sentence", "stated"),
    [
        ("脑出血急性期血压要降到什么范围？", "自发性脑出血中约85%为高血压导致。", False),
        (
            "脑出血急性期血压要降到什么范围？",
            "发病后迅速启动降压并依病情调整至140~180 mmHg；",
            True,
        ),
        ("脑出血急性期血压要降到什么范围？", "建议将血压降至140/90以下。", True),
        (
            "What blood pressure target applies after stroke?",
            "Monitor blood pressure for 24 hours.",
            False,
        ),
        ("What blood pressure target applies after stroke?", "Aim for <130/80 mmHg.", True),
        # Written BP: a time of the same sentence's treatment states no blood pressure.
        ("Target BP before IV thrombolysis?", "Thrombolysis within 4.5 hours of onset.", False),
        ("Target BP before IV thrombolysis?", "Keep BP below 185/110 mmHg.", True),
        ("What LDL cholesterol target applies?", "LDL-C < 1.8 mmol/L.", True),
        ("What LDL cholesterol target applies?", "Lower LDL-C by ≥50% from baseline.", True),
        ("What LDL cholesterol target applies?", "Check lipids within 3 months.", False),
        ("几名感控人员？", "至少配备1名经过培训的人员。", True),  # no measured quantity: as before
        # A distance, asked "how far": a length, never a count of beds.
        ("How far apart should cots be?", "One patient per cot with adequate spacing.", False),
        ("How far apart should cots be?", "Keep cots at least 2 m apart.", True),
        ("How far apart should cots be?", "Spacing of 3 feet between cots.", True),
        ("病床之间的距离是多少？", "每床1名患者，保证适当间距。", False),
        ("病床之间的距离是多少？", "床间距应不小于1米。", True),
        # A unit the question names after how many: a number in it, per what it is per.
        ("How many IU/kg of immune globulin?", "Over 99% of patients survive.", False),
        ("How many IU/kg of immune globulin?", "按照20 IU/kg计算，浸润注射。", True),
        ("How many IU/kg of immune globulin?", "Give 1500 IU once.", False),
        ("多少mL/kg的液体？", "补液20ml/(kg·h)。", True),
        ("多少mL/kg的液体？", "补液500ml。", False),
        # What temperature: degrees, never another number of the same sentence's subject.
        ("What temperature is used for steam sterilization?", "Load at 121 °C.", True),
        ("What temperature is used for steam sterilization?", "Run an indicator in 1 load.", False),
    ],
)
def test_a_value_of_a_measured_quantity_is_stated_in_its_unit(
    question: str, sentence: str, stated: bool
) -> None:
    # The analysis takes the question's names out before it looks for the aspect; the unit is
    # still read from the whole question ("blood pressure" is one of its names).
    analysis = analyse_question(question, table=table_with(), rarity=None)
    assert analysis.aspect is not None and analysis.aspect.name == "value"
    assert analysis.aspect.stated_in(sentence) is stated


# What a sentence must state to answer each kind of question (one row: question, the aspect it
# asks, a sentence, whether that sentence states it).
DURATION, AIR_CHANGES = "疗程多久？", "How many air changes per hour?"
ACUTE_PAIN = "How long should an opioid prescription for acute pain last?"
OFTEN = "How often should patients on opioids be re-evaluated?"
STATED = [
    # A duration is a length in digits or words; words about a duration state none.
    (DURATION, "duration", "一般疗程为10d。", True),
    (DURATION, "duration", "用药持续三天。", True),
    (DURATION, "duration", "The course lasts three days.", True),
    (DURATION, "duration", "隔离期通常为两周。", True),
    (DURATION, "duration", "抗病毒治疗的疗程应根据病情决定。", False),
    (DURATION, "duration", "Record the duration of the visit.", False),
    (DURATION, "duration", "每日一次，口服。", False),
    # An interval says how often, never how long; beside a length it does not hide it.
    (ACUTE_PAIN, "duration", "Evaluate patients at least every 2 weeks.", False),
    (ACUTE_PAIN, "duration", "Reassess every two to four weeks.", False),
    (ACUTE_PAIN, "duration", "每隔6个月复查一次。", False),
    (ACUTE_PAIN, "duration", "用法：奈玛特韦300mg，每12小时1次，连续服用5天。", True),
    (ACUTE_PAIN, "duration", "Opioids prescribed for 3 days or less are often sufficient.", True),
    (ACUTE_PAIN, "duration", "Continue for 2 to 4 weeks, reassessing every week.", True),
    (OFTEN, "frequency", "Re-evaluate every 2 weeks.", True),
    # Asked how long a drug is used, a time counted from the end of treatment is no length;
    # asked the time after stopping, it is the answer.
    ("抗病毒药要用多少周？", "duration", "治疗终点为治疗结束后12周。", False),
    ("抗病毒药要用多少周？", "duration", "疗程12周，停药后24周复查。", True),
    (
        "How long should the antiviral be taken?",
        "duration",
        "Test 12 weeks after completion of therapy.",
        False,
    ),
    ("How long should the antiviral be taken?", "duration", "Take it for 5 days.", True),
    ("停药后多久可以怀孕？", "duration", "停药后3个月方可妊娠。", True),
    # A year or a web address states no value.
    (AIR_CHANGES, "value", "See the 2007 Guideline for Isolation Precautions.", False),
    (AIR_CHANGES, "value", "Details at http://www.cdc.gov/hicpac/2007IP/2007ip.html", False),
    (AIR_CHANGES, "value", "At least 12 air changes per hour.", True),
    # "2000 mL" is a volume, not a year; asked a rate per hour, a volume is no answer.
    ("补液量是多少？", "value", "Infuse 2000 mL over the first day.", True),
    (AIR_CHANGES, "value", "Infuse 2000 mL over the first day.", False),
    # A count asked with its measure word needs that count.
    ("门诊至少要有几名受过培训的人员？", "value", "床间距>1米。", False),
    ("门诊至少要有几名受过培训的人员？", "value", "至少配备1名经过培训的人员。", True),
    ("门诊至少要有几名受过培训的人员？", "value", "At least one trained person.", True),
    ("疫苗需要打几针？", "value", "采用5针法免疫程序。", True),
    ("疫苗需要打几针？", "value", "伤口冲洗15分钟。", False),
    ("血压要降到多少？", "value", "收缩压控制在140mmHg以下。", True),
    # A level asked by its name is answered by a level's name as well as by a number; a
    # level's name answers only a question asking a level.
    (
        "What level of disinfection do blood pressure cuffs need?",
        "value",
        "Noncritical items should undergo low- or intermediate-level disinfection.",
        True,
    ),
    (
        "What level of disinfection do blood pressure cuffs need?",
        "value",
        "Cleaning must always precede disinfection.",
        False,
    ),
    ("手术器械使用前要达到什么处理水平？", "value", "半关键器械至少高水平消毒。", True),
    ("需要哪一级防护？", "value", "进入病房应采取二级防护。", True),
    ("需要哪一级防护？", "value", "加强脑血管病二级预防。", False),  # 二级预防 is no level of it
    ("What level of LDL cholesterol is the target?", "value", "LDL-C < 1.8 mmol/L.", True),
    ("What is the LDL cholesterol target?", "value", "Use high-level disinfection.", False),
    # How high or low something goes is a level: a time or an age says when, not how high.
    ("白细胞升到多少要警惕？", "value", "多发生于病程1周左右。", False),
    ("白细胞升到多少要警惕？", "value", "通常在起病后3～5天出现。", False),
    ("白细胞升到多少要警惕？", "value", "白细胞≥15×10^9/L时需警惕。", True),
    ("白细胞升到多少要警惕？", "value", "铁蛋白升高至正常值的2～3倍。", True),
    ("How high can the level rise before treatment?", "value", "It peaks after 3 days.", False),
    ("How high can the level rise before treatment?", "value", "Treat above 5 mg/L.", True),
    ("At what systolic pressure should it be lowered?", "value", "收缩压≥200mmHg时降压。", True),
    # When in the illness a drug is used is for whom: a condition, not a clock.
    ("什么时候要用激素？", "indication", "重型病例建议使用糖皮质激素。", True),
    ("啥时候要上激素？", "indication", "糖皮质激素可致高血糖。", False),
    (
        "At what systolic pressure should it be lowered?",
        "value",
        "发病24小时内优先处理焦虑。",
        False,
    ),
]


@pytest.mark.parametrize(("question", "asked", "sentence", "stated"), STATED)  # fmt: skip
def test_what_a_sentence_must_state_to_answer(
    question: str, asked: str, sentence: str, stated: bool
) -> None:
    aspect = detect_aspect(question)
    assert aspect is not None and aspect.name == asked
    assert aspect.stated_in(sentence) is stated


@pytest.mark.parametrize(
    ("question", "examples", "kind"),
    [
        ("糖尿病、高血压等慢性病患者的目标是多少？", "糖尿病、高血压", "慢性病患者的目标是多少"),
        ("痛风这类代谢病患者能用利尿剂吗？", "痛风", "代谢病患者能用利尿剂吗"),
        ("重症患儿用甲泼尼龙这类激素用多少量？", "甲泼尼龙", "激素用多少量"),
        (
            "How often should high-risk groups such as people with gout be seen?",
            "people with gout ",
            "often should high-risk groups ",
        ),
    ],
)
def test_the_examples_of_a_class_are_read_off_the_question(
    question: str, examples: str, kind: str
) -> None:
    from assistant.questions import _example_spans

    assert _example_spans(question) == [(examples, kind)]


@pytest.mark.parametrize(
    "question", ["中等剂量的布洛芬怎么给？", "卒中的等级怎么分？", "用这种药要注意什么？"]
)
def test_words_that_only_look_like_an_example_mark_name_no_examples(question: str) -> None:
    from assistant.questions import _example_spans

    assert _example_spans(question) == []


def test_an_interval_given_as_a_range_states_how_often() -> None:
    asked = detect_aspect("多久复查一次？")
    assert asked is not None and asked.name == "frequency"
    assert asked.stated_in("高危人群每隔6~12个月复查1次。")
    assert asked.stated_in("每3～6个月随访。")


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("What is the MME conversion factor for oxycodone?", "conversion"),
        ("And for fentanyl patches, the MME factor?", "conversion"),
        ("吗啡的换算系数是多少？", "conversion"),
        ("What daily MME needs naloxone?", "dose"),
    ],
)
def test_a_conversion_factor_is_a_conversion_not_a_dose(question: str, aspect: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == aspect
    if aspect == "conversion":
        # A table row gives the factor without a dose unit.
        assert found.stated_in("Opioid Conversion factor Codeine 0.15 Oxycodone 1.5")
        # Any number said of the drug is no factor ("美沙酮换算系数" showed this with ✓), nor
        # is a citation's numbers.
        assert not found.stated_in(
            "Any clinician may administer methadone to treat acute opioid withdrawal for up to "
            "3 days ( 346)."
        )
        assert not found.stated_in("Before increasing total opioid dosage to ≥50 MME/day, pause.")


def test_the_glossary_vocabulary_round_trip_gives_synonyms_the_dictionary_does_not() -> None:
    names, vocabulary = TermTable(), TermTable()
    vocabulary.add("吗啡毫克当量", "morphine milligram equivalent")
    vocabulary.add("吗啡毫克当量", "MME")
    dictionary = TermTable()
    dictionary.add("中风", "stroke")
    dictionary.add("抚摩", "stroke")
    layers = (names, vocabulary, dictionary)
    curated = LayeredTerms(layers, clinical=1, curated=2)
    assert "morphine milligram equivalent" in curated.synonyms("MME")
    assert "抚摩" not in curated.synonyms("中风")
    # Without the vocabulary counted as curated, only the clinical layers give synonyms.
    assert LayeredTerms(layers, clinical=1).synonyms("MME") == []


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("Once a patient is on 90 MME a day, what should be reviewed?", None),
        ("A patient takes 600 mg daily; what monitoring is advised?", None),
        ("What dose above 50 MME/day needs a naloxone offer?", "dose"),
        ("布洛芬每天最多用多少mg？", "max_dose"),  # asks a dose: the most allowed
        ("How many MME is the threshold for extra caution?", "dose"),
    ],
)
def test_a_dose_the_question_states_is_its_premise_not_what_it_asks(
    question: str, aspect: str | None
) -> None:
    found = detect_aspect(question)
    assert (found.name if found else None) == aspect


@pytest.mark.parametrize(
    ("question", "codes"),
    [
        ("BCLC Ⅱb期怎么治疗？", ["IIb"]),
        ("What defines stage IIIa disease?", ["IIIa"]),
        ("哪些分期适合手术？", []),
        ("Is ICU care needed?", []),
        # A type is as often written in Arabic numerals (2型糖尿病): no stage.
        ("II型糖尿病患者的血糖目标是多少？", []),
    ],
)
def test_the_stage_a_question_names_is_read_off_it(question: str, codes: list[str]) -> None:
    from assistant.questions import stage_codes

    assert stage_codes(question) == codes


def test_a_noun_the_library_writes_without_its_suffix_is_searched_by_its_stem() -> None:
    dictionary = TermTable()
    dictionary.add("兔子", "rabbit")
    dictionary.add("日子", "day")
    held = {"兔", "兔咬伤", "日"}
    table = LayeredTerms((dictionary,), held=lambda term: term in held)
    assert table.to_chinese("rabbit")[0] == "兔"
    # The stem is offered only where the library lacks the whole word.
    held.add("日子")
    assert table.to_chinese("day") == ["日子"]
    # Without the library to ask, the dictionary's words stand as they are.
    assert LayeredTerms((dictionary,)).to_chinese("rabbit") == ["兔子"]


def test_a_clinical_word_glossed_only_inside_phrases_is_read_off_them() -> None:
    dictionary = TermTable()
    dictionary.add("二尖瓣", "mitral valve")
    dictionary.add("二尖瓣狭窄", "mitral stenosis")
    dictionary.add("惠普公司", "Hewlett Packard")
    dictionary.add("惠普", "Hewlett")
    held = {"狭窄", "颅内动脉狭窄", "公司"}
    table = LayeredTerms((dictionary,), held=lambda term: term in held)
    # 二尖瓣狭窄 less 二尖瓣 (mitral …) is 狭窄: stenosis itself, which the library writes.
    assert table.to_chinese("stenosis") == ["狭窄"]
    # An everyday word's phrases are names and idioms: nothing is read off them.
    assert table.to_chinese("Packard") == []
    # Nor is a morpheme the library does not hold offered.
    held.discard("狭窄")
    assert LayeredTerms((dictionary,), held=lambda term: term in held).to_chinese("stenosis") == []


def test_a_class_of_treatment_is_searched_by_its_stem_under_any_head() -> None:
    dictionary = TermTable()
    dictionary.add("抗凝血药", "anticoagulant")
    dictionary.add("降压药", "antihypertensive")
    held = {"抗凝血药", "抗凝血", "降压"}
    table = LayeredTerms((dictionary,), held=lambda term: term in held)
    # The guideline writes 抗凝血治疗 as well as 抗凝血药物: both are searched.
    assert table.to_chinese("anticoagulant") == ["抗凝血药", "抗凝血"]
    # A stem of two characters says too little to stand for the class.
    assert table.to_chinese("antihypertensive") == ["降压药"]


def test_a_class_written_with_lei_is_searched_by_its_stem_when_no_passage_writes_it_so() -> None:
    dictionary = TermTable()
    dictionary.add("他汀类", "statin")
    dictionary.add("第五类", "category five")
    dictionary.add("阿片类", "opiate")
    held = {"他汀", "第五", "阿片", "阿片类"}
    table = LayeredTerms((dictionary,), held=lambda term: term in held)
    # "高强度他汀": the guideline writes the class without 类.
    assert table.to_chinese("statins") == ["他汀", "他汀类"]
    # Never an ordinal, nor a stem where the library writes the class as the dictionary does.
    assert table.to_chinese("category five") == ["第五类"]
    assert table.to_chinese("opiate") == ["阿片类"]


def test_how_to_dose_without_a_number_states_a_dose() -> None:
    dose = detect_aspect("佐伐单抗的起始剂量应该怎样定？")
    assert dose is not None and dose.name == "dose"
    assert dose.stated_in("Clinicians should prescribe the lowest effective dosage.")
    assert dose.stated_in("应从小剂量开始，逐渐加量。")
    assert not dose.stated_in("Clinicians should reassess the benefits regularly.")


def test_table_words_alone_are_trusted_when_one_passage_holds_nearly_all_of_them() -> None:
    from assistant.retrieval import RetrievalResult
    from assistant.service.understanding import subject_refusal

    passage = "开封后的多剂量药瓶应在28天内用完，除非厂家另有规定。"
    dictionary = TermTable()
    for zh, en in (("开封", "opened"), ("药瓶", "vial"), ("厂家", "manufacturer")):
        dictionary.add(zh, en)
    table = LayeredTerms((dictionary, cedict_table()))
    rarity = rarity_of([passage, "手卫生很重要。", "口罩应每天更换。"])

    def searched(text: str) -> RetrievalResult:
        source = Source(n=1, doc_id="d", title="注射安全", library="l", text=text, language="zh")
        return RetrievalResult(
            query="q", language="en", channel="hybrid", sources=[source], relevant=True,
            best_dense=None, best_sparse=None, term_coverage=0.0, elapsed_ms=0.0,
            reasons=["lexical_below_floor"], languages=["en", "zh"], cross_lingual=True,
        )  # fmt: skip

    asked = analyse_question("Once a vial is opened, when must it be used up?", table=table,
                             rarity=rarity)  # fmt: skip
    assert not asked.anchors, asked.terms
    assert subject_refusal(asked, searched(passage)) is None
    # A passage sharing one of its words only is no evidence.
    refusal = subject_refusal(asked, searched("药瓶应贴标签。"))
    assert refusal is not None and refusal.reason == "no_relevant_passage"


@pytest.mark.parametrize(
    ("question", "name"),
    [("护理艰难梭菌感染的病人后怎么洗手？", "艰难梭菌"), ("鲍曼不动杆菌肺炎怎么治？", None)],
)
def test_an_organism_jieba_cuts_apart_is_one_name(question: str, name: str | None) -> None:
    from assistant.zh_names import ZH_DISEASE_STEM, cut, join_name_pieces

    words = join_name_pieces(cut(question))
    if name:
        assert name in words, words
    assert not ZH_DISEASE_STEM.search("灭菌") and not ZH_DISEASE_STEM.search("无菌")
    assert ZH_DISEASE_STEM.search("肺炎链球菌") and ZH_DISEASE_STEM.search("沙眼衣原体")


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("奈玛特韦利托那韦怎么吃？", ["奈玛特韦", "利托那韦"]),  # jieba: 奈玛特/韦利/托/那/韦
        ("法维拉韦的剂量？", ["法维拉韦"]),  # one name: 法维 is no name of its own
        ("伐昔洛韦是首选药物。", ["伐昔洛韦"]),  # jieba: 伐/昔洛/韦是
    ],
)
def test_two_drug_names_written_together_are_two_names(question: str, names: list[str]) -> None:
    from assistant.zh_names import cut, join_name_pieces

    for table in (None, table_with()):
        words = join_name_pieces(cut(question), table)
        assert all(name in words for name in names), words


@pytest.mark.parametrize(
    "question",
    [
        "布洛芬起始量一般多少？",
        "万古霉素负荷量是多少？",
        "首次量给多少？",
        "奥司他韦一次吃几粒？",
        "每天吃多少颗？",
    ],
)
def test_a_starting_or_loading_amount_asks_a_dose(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "dose"


def test_a_clinical_term_written_with_one_more_character_is_that_term() -> None:
    from assistant.zh_names import cut_known

    def clinical(zh: str, en: str) -> LayeredTerms:
        glossary = TermTable()
        glossary.add(zh, en)
        return LayeredTerms((glossary, cedict_table()), clinical=1)

    words = cut_known("多剂量药瓶开封后能用多久", clinical("多剂量瓶", "multi-dose vial"))
    assert "多剂量瓶" in words, words
    # A word of its own is left alone, and only the clinical layers are matched.
    assert "口服药物" in cut_known("口服药物怎么吃", clinical("口服物", "oral thing"))
    plain = LayeredTerms((TermTable(), cedict_table()))
    assert "多剂量瓶" not in cut_known("多剂量药瓶开封后能用多久", plain)


def test_two_characters_jieba_leaves_apart_that_the_table_knows_are_one_word() -> None:
    from assistant.zh_names import cut

    question = "缺血性卒中患者的血压目标"
    assert "卒中" not in cut(question)  # jieba: 卒 + 中 before 患者
    words = analyse_question(question, table=LayeredTerms((cedict_table(),)), rarity=None)
    assert "卒中" in [t.term for t in words.terms]
    # Characters the table does not know as a pair stay apart.
    assert "的血" not in [t.term for t in words.terms]


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("How soon after exposure should the vaccine be given?", "timing"),
        ("咬伤后多久内要打破伤风针？", "timing"),
        ("取栓的时间窗是多少？", "timing"),
        ("How long is the antiviral course?", "duration"),
        ("抗病毒疗程多久？", "duration"),
    ],
)
def test_how_soon_is_asked_apart_from_how_long(question: str, aspect: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == aspect


def test_how_soon_is_answered_by_a_window_not_by_a_course() -> None:
    asked = detect_aspect("How soon after symptom onset should the antiviral start?")
    assert asked is not None
    assert not asked.stated_in("每日2次，疗程5天。")
    assert not asked.stated_in("Treat for 5 days.")
    assert asked.stated_in("应在发病48小时内尽早开始抗病毒治疗。")
    assert asked.stated_in("Start within 48 hours of symptom onset.")
    assert asked.stated_in("Give the first dose as soon as possible.")


def test_a_word_whose_senses_the_library_lacks_is_read_as_the_head_of_a_phrase_it_holds() -> None:
    dictionary = TermTable()
    dictionary.add("等离子体", "plasma")
    dictionary.add("血浆", "blood plasma")
    dictionary.add("食盐", "table salt")
    held = {"血浆", "食盐"}
    table = LayeredTerms((dictionary,), held=lambda term: term in held)
    assert table.to_chinese("plasma")[0] == "血浆"
    assert table.to_chinese("salt") == ["食盐"]
    # A held sense of the word itself is enough; without a library nothing is added.
    held.add("等离子体")
    assert table.to_chinese("plasma") == ["等离子体"]
    assert LayeredTerms((dictionary,)).to_chinese("plasma") == ["等离子体"]


def test_every_aspect_has_a_name_for_refusals_in_both_languages() -> None:
    from assistant.aspects import ASPECTS
    from assistant.service.ask import ASPECT_NAMES

    for aspect in ASPECTS:
        for language in ("zh", "en"):
            assert aspect.name in ASPECT_NAMES[language], (aspect.name, language)


def test_a_wrong_drug_dose_is_flagged_when_the_model_wrote_it_or_nothing_else_was_found() -> None:
    from assistant.domain import AnswerMode, AnswerSentence, DroppedSentence
    from assistant.flags import load_flag_rules
    from assistant.generation import Draft
    from assistant.service.verdicts import responsiveness_flags

    analysis = analyse_question(
        "奥司他韦的成人剂量？", table=table_with(), rarity=rarity_of(SMALL_LIBRARY)
    )
    other = DroppedSentence(text=SMALL_LIBRARY[1], reason="other_subject", citations=[2])
    shown = [AnswerSentence(text=SMALL_LIBRARY[0], citations=[1], supported=True)]

    def flagged(mode: AnswerMode, sentences: list[AnswerSentence]) -> bool:
        draft = Draft(mode=mode, sentences=[], dropped=[other])
        flags = responsiveness_flags(
            draft, sentences, None, analysis=analysis, sources=[], rules=load_flag_rules()
        )
        return "wrong_subject_dose" in {f.code for f in flags}

    # The asked drug's dose shown, the next row of the table left out: the check working.
    assert not flagged(AnswerMode.EXTRACTIVE, shown)
    # The model wrote another drug's dose, or no dose of the asked drug was found: review it.
    assert flagged(AnswerMode.GENERATIVE, shown)
    assert flagged(AnswerMode.EXTRACTIVE, [])


@pytest.mark.parametrize(
    "question",
    [
        "What is the maximum daily dose of zorvamab?",
        "佐伐单抗的最大剂量是多少？",
        "佐伐单抗每天最多吃多少？",
    ],
)
def test_the_most_that_may_be_given_is_asked_apart_from_the_usual_dose(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "max_dose"
    assert found.stated_in("Do not exceed 4 g of zorvamab per day.")
    assert found.stated_in("每日最大剂量不超过4g。")
    # A usual dose, or a dose inside a combination product, is not the most allowed.
    assert not found.stated_in("The usual adult dose is 500 mg every 6 hours.")
    assert not found.stated_in("Tablets containing codeine 30 mg and zorvamab 325 mg.")
    # Asked how many days at most, the question is about a length of time.
    days = detect_aspect("药瓶开封后最多能用多少天？")
    assert days is not None and days.name == "duration"


@pytest.mark.parametrize(
    "question",
    [
        "这种疫苗几个月以上可以打？",
        "多大的孩子可以用这个药？",
        "这个药多大年龄以上才可以用？",
        "At what age should screening start?",
    ],
)
def test_from_what_age_is_answered_by_an_age_not_a_course(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "age"
    assert found.stated_in("建议所有≥6月龄且无接种禁忌的人都应接种。")
    assert found.stated_in("Screening should begin at age 45 years for adults at average risk.")
    assert found.stated_in("Children aged 5 years and older may receive it.")
    assert not found.stated_in("疗程为6个月。")
    assert not found.stated_in("The course lasts 3 months.")
    # Asked the dose for an age group, the question is a dose question.
    dose = detect_aspect("几岁以下儿童用这个药剂量是多少？")
    assert dose is not None and dose.name == "dose"


def test_a_rate_per_hour_is_stated_only_per_hour() -> None:
    rate = detect_aspect("How many air changes per hour does an isolation room need?")
    assert rate is not None and rate.name == "value"
    assert rate.stated_in("Isolation rooms require at least 12 air changes per hour.")
    assert rate.stated_in("隔离病房每小时换气12次以上。")
    # A count of another thing (beds apart, metres) is another quantity.
    assert not rate.stated_in("确诊病例可以同时安置于多人房间，床间距>1米。")


@pytest.mark.parametrize(
    "question", ["这个免疫球蛋白打在哪里？", "Where should the immunoglobulin be injected?"]
)
def test_where_it_is_given_is_answered_by_a_site_not_by_naming_the_product(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "site"
    assert found.stated_in("应在伤口周围作浸润注射，剩余剂量肌内注射。")
    assert found.stated_in("Infiltrate as much as possible around the wound.")
    assert not found.stated_in("不建议使用疫苗或免疫球蛋白来治疗已发病者。")


def test_an_english_how_often_question_searches_chinese_passages_in_their_words_for_it() -> None:
    rarity = rarity_of(["肝癌高风险人群至少每隔6个月进行1次筛查。", "肝癌的病理分型。"])
    analysis = analyse_question(
        "How often should people at risk be screened for liver cancer?",
        table=glossary_table(),
        rarity=rarity,
    )
    assert analysis.aspect is not None and analysis.aspect.name == "frequency"
    # Guidelines say how often with 每隔 ("每隔6个月"), seldom with the noun 间隔.
    assert "每隔" in analysis.translations["zh"].split()


@pytest.mark.parametrize("question", ["这个药停药要注意什么？", "How should zorvamab be stopped?"])
def test_how_to_stop_a_treatment_is_answered_by_what_says_how_to_stop_or_taper_it(
    question: str,
) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "discontinuation"
    assert found.stated_in("Clinicians should taper it gradually before discontinuation.")
    assert found.stated_in("应逐渐减量后停药，避免突然停用。")
    # Its use for another purpose says nothing of how to stop it.
    assert not found.stated_in("对躁狂、痉挛患者可用地西泮等镇静。")
    # Asked how much to reduce by, the question asks a value.
    value = detect_aspect("减量时每个月减多少？")
    assert value is not None and value.name == "value"


@pytest.mark.parametrize(
    ("text", "dose"),
    [("AFP≥400μg/L 者可选用。", False), ("D-二聚体≥5mg/L。", False), ("浓度为10mg/mL。", False),
     ("每次10mg/kg，每日1次。", True), ("每次75mg。", True)],
)  # fmt: skip
def test_a_concentration_is_a_level_not_a_dose(text: str, dose: bool) -> None:
    assert states_dose(text) is dose


def test_a_clinical_name_jieba_does_not_know_is_not_cut_with_its_neighbour() -> None:
    # jieba cuts 卒中后 as 卒 / 中后 and 卒中用 as 卒 / 中用; the glossary knows 卒中 (stroke).
    rarity = rarity_of(["卒中后抑郁应早期筛查。", "缺血性卒中患者静脉溶栓治疗。", "吞咽功能评估"])
    for question in ("卒中后吞咽障碍怎么筛查", "缺血性卒中用什么溶栓药"):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        terms = [t.term for t in asked.terms]
        # 卒中, or the glossary's 缺血性卒中 whole, never a piece glued to its neighbour.
        assert any(t.endswith("卒中") for t in terms), terms
        assert "中后" not in terms and "中用" not in terms, terms


def test_a_function_word_glued_to_a_neighbour_is_no_term() -> None:
    # "要开纳洛酮": 要开 is no piece of the drug's name; "注射时要戴": 时要 is no word at all.
    rarity = rarity_of(["Offer naloxone. 纳洛酮", "硬膜外注射时要戴口罩。", "口罩 facemask"])
    asked = analyse_question(
        "给长期用阿片类药物的患者要开纳洛酮吗", table=glossary_table(), rarity=rarity
    )
    assert "纳洛酮" in [t.term for t in asked.anchors], asked.terms
    asked = analyse_question("硬膜外注射时要戴口罩吗", table=glossary_table(), rarity=rarity)
    assert "时要" not in [t.term for t in asked.terms], asked.terms
    # jieba guesses 抗凝用 as one word: the question is about 抗凝.
    rarity = rarity_of(["无禁忌证情况下可给予治疗剂量的低分子肝素。", "（四）抗凝治疗", "新冠"])
    asked = analyse_question("新冠抗凝用什么药", table=glossary_table(), rarity=rarity)
    assert "抗凝" in [t.term for t in asked.terms], asked.terms


def test_an_adjective_is_no_name_a_refusal_may_say_is_missing() -> None:
    rarity = rarity_of(["肝细胞癌（hepatocellular carcinoma，HCC）的一线系统治疗", "全身性"])
    # A dictionary that glosses the adjective with a rare word, as CC-CEDICT does.
    adjectives = parse_cedict(["全身性 全身性 [quan2 shen1 xing4] /systemic/"])
    table = LayeredTerms((load_glossary(), adjectives, cedict_table()), clinical=1)
    asked = analyse_question(
        "What is the first-line systemic therapy for advanced hepatocellular carcinoma?",
        table=table,
        rarity=rarity,
    )
    anchors = [t.term for t in asked.anchors]
    assert "systemic" not in anchors and "advanced" not in anchors, anchors
    # A drug class written like an adjective still is one.
    asked = analyse_question("Which antiviral is used for influenza?", table=glossary_table())
    assert "antiviral" in [t.term for t in asked.terms], asked.terms


def test_characters_jieba_left_apart_before_a_bare_disease_ending_are_its_name() -> None:
    # jieba cuts 鼠咬热 into 鼠 / 咬 / 热 and 抗磷脂综合征 into 抗 / 磷脂 / 综合征: single
    # characters are no terms, and the question lost the disease it asks about.
    library = [
        "鼠咬热病原体为小螺菌或念珠状链杆菌。",
        "获得性高凝状态主要与抗磷脂综合征有关，首选华法林。",
        "儿童更容易发展成重症。",
        "大环内酯类无反应性肺炎支原体肺炎。",
        "抗生素 抗凝药 卒中",
    ]
    rarity = rarity_of(library)
    for question, name in (
        ("鼠咬热用什么抗生素", "鼠咬热"),
        ("抗磷脂综合征首选什么抗凝药", "抗磷脂综合征"),
    ):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        assert name in [t.term for t in asked.anchors], asked.terms
    # A disease named whole stays apart from what qualifies it.
    for question, whole in (
        ("哪些小孩得流感更容易发展成重症？", "重症"),
        ("无反应性支原体肺炎怎么界定", "支原体肺炎"),
    ):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        terms = [t.term for t in asked.terms]
        assert not any(t.endswith(whole) and t != whole for t in terms), terms
    # A library that does not write the whole, and a table that does not know it: the pieces
    # stay pieces (the shipped glossary names 鼠咬热, so it is read whole with it).
    asked = analyse_question(
        "鼠咬热用什么抗生素", table=table_with(), rarity=rarity_of(library[1:])
    )
    assert "鼠咬热" not in [t.term for t in asked.terms], asked.terms


def test_a_disease_named_whole_takes_no_tail_jieba_guessed_after_it() -> None:
    # 风热 (a TCM pattern) after 流感: two names, not one disease "流感风热" no passage writes.
    words = join_name_pieces(cut("流感风热犯卫用什么方"), glossary_table())
    assert "流感" in words and "流感风热" not in words, words
    # A name jieba does not know is still joined to its tail (手足 + 口病).
    assert "手足口病" in join_name_pieces(["手足", "口病"], glossary_table())


@pytest.mark.parametrize(
    ("question", "dose"),
    [
        ("HAIC FOLFOX低剂量方案奥沙利铂多少？", True),
        ("肝素负荷量用多少", True),
        ("奥沙利铂每次给多少", True),
        ("华法林INR目标多少", False),  # the INR's value, not the drug's amount
        ("奥沙利铂用多少天", False),  # a time
        ("奥沙利铂多少次", False),
    ],
)
def test_how_much_of_a_drug_asks_its_dose(question: str, dose: bool) -> None:
    library = ["奥沙利铂65mg/m2", "普通肝素负荷量75u/kg", "华法林 INR 目标值2.0~3.0", "FOLFOX HAIC"]
    asked = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert asked.aspect is not None
    assert (asked.aspect.name == "dose") is dose, asked.aspect.name


def test_a_disease_named_or_abbreviated_is_never_part_of_the_drug_after_it() -> None:
    # jieba guesses 新冠奈玛特 as one word and 新冠 + 阿兹夫定 joined like pieces of one name:
    # the question asked about no drug the library holds, and was refused.
    library = [
        "新型冠状病毒感染诊疗方案：奈玛特韦片/利托那韦片组合包装。阿兹夫定片：空腹整片吞服。",
        "新冠",
    ]
    rarity = rarity_of(library)
    for question, drug in (
        ("新冠奈玛特韦利托那韦怎么吃？", "奈玛特韦"),
        ("新冠阿兹夫定剂量？", "阿兹夫定"),
    ):
        asked = analyse_question(question, table=glossary_table(), rarity=rarity)
        anchors = [t.term for t in asked.anchors]
        assert drug in anchors and not any(t.startswith("新冠") and t != "新冠" for t in anchors)
    # 激素 (a drug-shaped ending) after the disease jieba does not know: two words.
    words = join_name_pieces(["支原体肺炎", "激素", "初始", "剂量"], glossary_table())
    assert words[:2] == ["支原体肺炎", "激素"], words


def test_a_word_the_table_knows_whole_is_never_part_of_the_drug_after_it() -> None:
    # The glossary's 猪咬伤 (an injury, no drug) before 青霉素: "猪咬伤青霉素" was read as one
    # unknown drug and the question refused as about a subject the library lacks.
    table = table_with(("猪咬伤", "pig bite"))
    assert cut_known("猪咬伤青霉素过敏用什么抗生素", table)[:2] == ["猪咬伤", "青霉素"]
    assert cut_known("蛇咬伤青霉素剂量", table)[:2] == ["蛇咬伤", "青霉素"]


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        ("肝癌TACE的禁忌证？", "contraindication"),
        ("What are the contraindications of TACE?", "contraindication"),
        ("奥司他韦的适应证？", "indication"),
        ("奥司他韦有什么副作用？", "adverse_effects"),
    ],
)
def test_the_aspect_s_own_name_is_what_is_asked_never_a_subject(question: str, aspect: str) -> None:
    # "禁忌证" was read as a subject the answer must name beside TACE: two of three names then
    # sufficed, and TACE procedure sentences answered "TACE的禁忌证".
    asked = analyse_question(question, table=glossary_table(), rarity=None)
    assert asked.aspect is not None and asked.aspect.name == aspect, asked.aspect
    names = {t.term.lower() for t in asked.terms}
    assert not names & {"禁忌证", "contraindications", "适应证", "副作用"}, names


def test_the_glossary_names_the_steroids_and_the_larynx_of_the_childrens_protocols() -> None:
    asked = analyse_question(
        "What is the prednisolone dose for laryngitis in children?", table=glossary_table()
    )
    forms = {f for t in asked.terms for f in t.forms}
    assert {"泼尼松龙", "喉炎"} <= forms, forms


@pytest.mark.parametrize(
    ("question", "injury"),
    [
        ("犬咬伤后伤口用什么消毒？", "犬咬伤"),
        ("What disinfectant is used on a dog bite wound?", "dog bite"),
        ("海蜇蜇伤怎么处理？", "海蜇蜇伤"),
    ],
)
def test_an_injury_named_by_its_cause_is_a_subject_the_answer_must_hold(
    question: str, injury: str
) -> None:
    """An injury named by what caused it (犬咬伤, "dog bite") is its chapter's subject, as a
    disease is: without it "用什么消毒" was answered by an outpatient guide's disinfection of
    instruments."""
    table = LayeredTerms(
        (
            parse_glossary(
                {
                    "vocabulary": [
                        {"zh": ["犬咬伤"], "en": ["dog bite"]},
                        {"zh": ["海蜇蜇伤"], "en": ["jellyfish sting"]},
                    ]
                },
                source="test",
                section="vocabulary",
            ),
            cedict_table(),
        )
    )
    passages = [
        "犬咬伤伤口处理：彻底冲洗后用稀碘伏消毒伤口。",
        "海蜇蜇伤后用碳酸氢钠溶液冲洗蜇伤部位。",
        "Noncritical items should undergo low- or intermediate-level disinfection.",
        "环境表面清洁消毒。",
    ]
    analysis = analyse_question(question, table=table, rarity=rarity_of(passages))
    assert injury in [a.term for a in analysis.anchors], analysis.terms
    other = judge_responsive(analysis, passages[2])
    assert not other.responsive
    # Two characters name no cause: a word about an injury, not a subject.
    words = analyse_question("咬伤怎么处理？", table=table, rarity=rarity_of(passages))
    assert "咬伤" not in [a.term for a in words.anchors]


def test_raised_intracranial_pressure_is_a_name_of_the_glossary() -> None:
    analysis = analyse_question(
        "How is raised intracranial pressure managed in intracerebral hemorrhage?",
        table=glossary_table(),
        rarity=None,
    )
    [pressure] = [a for a in analysis.anchors if "颅内压增高" in a.forms]
    assert pressure.term == "raised intracranial pressure"


def test_a_citation_s_numbers_are_no_value() -> None:
    value = detect_aspect("甲药的目标值是多少？")
    assert value is not None and value.name == "value"
    # "( 197–199)", "[456-457]": references to the literature, not a range stated.
    assert not value.stated_in("Methadone is associated with cardiac arrhythmias ( 197–199).")
    assert not value.stated_in("与索拉非尼对比，显著延长生存[456-457]。")
    assert value.stated_in("LDL-C 目标值：极高危<1.8mmol/L（70mg/dl）[12]。")


@pytest.mark.parametrize(
    ("question", "sibling"),
    [("How long to anticoagulate?", "anticoagulant"), ("When do we intubate?", "intubation")],
)
def test_a_verb_no_passage_holds_is_found_by_its_noun(question: str, sibling: str) -> None:
    """A verb the library never writes is read by its family's noun, in the library's own
    words ("anticoagulate": anticoagulant, which the glossary writes 抗凝治疗)."""
    passages = ["抗凝治疗的疗程通常为3~6个月。", "气管插管后应当加强气道管理。", "发热时多饮水。"]
    glossary = TermTable()
    glossary.add("抗凝治疗", "anticoagulant")
    glossary.add("气管插管", "intubation")
    table = LayeredTerms((glossary, cedict_table()))
    analysis = analyse_question(question, table=table, rarity=rarity_of(passages))
    [verb] = [t for t in analysis.terms if t.term == question.split()[-1].rstrip("?")]
    assert sibling in verb.forms and verb.in_library, verb


def test_a_clipped_drug_name_the_glossary_holds_whole_is_that_drug() -> None:
    """ "azithro" no passage holds: the glossary's azithromycin, a drug the question names, so a
    dose question about it is never answered with another drug's dose."""
    passages = ["阿奇霉素用法：轻症10mg/(kg.d)，qd，口服至3-5d。", "红霉素用法：每次10mg/kg。"]
    analysis = analyse_question(
        "azithro dose for kids?", table=glossary_table(), rarity=rarity_of(passages)
    )
    [drug] = [a for a in analysis.drug_anchors if a.term == "azithro"]
    assert "azithromycin" in drug.forms and "阿奇霉素" in drug.forms
    title = ["儿童肺炎支原体肺炎诊疗指南"]
    assert judge_responsive(analysis, passages[0], context=title).responsive
    assert not judge_responsive(analysis, passages[1], context=title).responsive


@pytest.mark.parametrize(
    ("question", "not_a_name"),
    [
        ("opened multidose vial in the clinic fridge — discard after how long?", "fridge"),
        ("TACE but creatinine is up — what renal cutoff makes it a contraindication?", "cutoff"),
        ("peds flu, 18 kg kiddo, oseltamivir dose?", "kiddo"),
        ("newborn — how long to observe for NOWS?", "for NOWS"),
    ],
)
def test_everyday_english_and_function_phrases_are_no_names(question: str, not_a_name: str) -> None:
    # Unknown to the dictionary's glosses, "fridge" read as a name the library lacked ("The
    # library has no passage about fridge"); "for NOWS" as the dictionary's "for now".
    words = load_glossary(section="vocabulary")
    table = LayeredTerms((load_glossary(), words, cedict_table()), clinical=1)
    analysis = analyse_question(question, table=table, rarity=rarity_of(SMALL_LIBRARY))
    assert not_a_name not in [a.term for a in analysis.anchors], analysis.anchors


def test_an_instrument_no_passage_names_is_found_by_its_procedure() -> None:
    passages = [
        "Semi-critical items (e.g., endoscopes used for upper endoscopy and colonoscopy) require "
        "high-level disinfection prior to reuse.",
        "Critical items (e.g., surgical instruments) must be sterile prior to use.",
    ]
    analysis = analyse_question(
        "What reprocessing does a colonoscope need?", table=table_with(), rarity=rarity_of(passages)
    )
    [scope] = [t for t in analysis.anchors if t.term == "colonoscope"]
    assert "colonoscopy" in scope.forms and scope.in_library
    assert judge_responsive(analysis, passages[0]).responsive
    assert not judge_responsive(analysis, passages[1]).responsive
    # Asked in the plural ("Colonoscopes … what reprocessing level do they need?").
    plural = analyse_question(
        "What reprocessing do colonoscopes need?", table=table_with(), rarity=rarity_of(passages)
    )
    [scopes] = [t for t in plural.anchors if t.term == "colonoscopes"]
    assert "colonoscopy" in scopes.forms and scopes.in_library


@pytest.mark.parametrize(
    "question",
    [
        "流感患者什么情况下需要住院？",
        "哪些情况下应该气管插管？",
        "In which situations is admission needed?",
    ],
)
def test_in_which_situation_a_step_is_taken_asks_its_indication(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "indication"
    assert found.stated_in("住院治疗标准（满足下列标准任意1条）：")
    assert found.stated_in("并有以下表现时，需及早气管插管机械通气：")
    assert not found.stated_in("对疑似病毒性肺炎的住院患者，还需行流感病毒检测。")


def test_a_drug_to_be_avoided_is_a_contraindication_stated() -> None:
    found = detect_aspect("儿童流感禁用什么退热药？")
    assert found is not None and found.name == "contraindication"
    assert found.stated_in("合理选用退热药物，儿童忌用阿司匹林或含阿司匹林及其他水杨酸制剂。")


@pytest.mark.parametrize(
    "question", ["How fast should long-term opioids be tapered?", "阿片类药物减量速度"]
)
def test_asked_how_fast_to_taper_the_sentence_gives_a_pace(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "discontinuation"
    assert found.stated_in("Tapers of 10% per month or slower are likely to be better tolerated.")
    assert found.stated_in("可每周减少原剂量的10%。")
    assert not found.stated_in(
        "This evidence includes studies on the benefits and risks of different tapering strategies."
    )
    # Asked only how to stop, the words suffice.
    how = detect_aspect("How should long-term opioids be tapered?")
    assert how is not None and how.stated_in("Clinicians should taper opioids gradually.")


@pytest.mark.parametrize(
    "question",
    [
        "阿片类镇痛药能和苯二氮䓬类一起开吗？",
        "Which drugs must not be combined with nirmatrelvir?",
        "Can opioids be prescribed concurrently with benzodiazepines?",
    ],
)
def test_two_drugs_together_is_their_interaction(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "interaction"
    assert found.stated_in(
        "Clinicians should use particular caution when prescribing opioid pain medication and "
        "benzodiazepines concurrently."
    )
    assert found.stated_in("不得与哌替啶、雷诺嗪等高度依赖CYP3A进行清除的药物联用。")
    # Either drug alone is not their use together.
    assert not found.stated_in("Benzodiazepines can cause respiratory depression.")


@pytest.mark.parametrize(
    "question",
    [
        "What is the best window for combined treatment of severe mycoplasma pneumonia?",
        "重症联合治疗的最佳窗口期是什么时候？",
        "Can oseltamivir be used with caution in pregnancy?",
    ],
)
def test_a_combined_treatment_or_a_caution_is_no_interaction(question: str) -> None:
    found = detect_aspect(question)
    assert found is None or found.name != "interaction"


def test_what_must_not_be_done_is_a_contraindication() -> None:
    found = detect_aspect("Which patients must not be given favipiravir?")
    assert found is not None and found.name == "contraindication"


@pytest.mark.parametrize(
    "question",
    [
        "流感疫苗什么时候接种？",
        "When should influenza vaccination be given?",
        "狂犬病疫苗什么时候打？",
    ],
)
def test_when_to_vaccinate_is_answered_by_a_time_of_year_not_by_who(question: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == "timing"
    assert found.stated_in("每年流感流行季节前接种。")
    assert found.stated_in("Vaccinate before the influenza season begins.")
    assert not found.stated_in("建议所有≥6月龄且无接种禁忌的人都应接种流感疫苗。")


def test_the_terms_ending_in_a_word_are_read_from_every_table_and_follow_additions() -> None:
    glossary, dictionary = TermTable(), TermTable()
    glossary.add("罗红霉素", "roxithromycin")
    dictionary.add("红霉素", "erythromycin")
    table = LayeredTerms((glossary, dictionary))
    assert table.chinese_ending_in("红霉素", longest=6) == ["罗红霉素"]
    dictionary.add("琥乙红霉素", "erythromycin ethylsuccinate")
    assert table.chinese_ending_in("红霉素", longest=6) == ["罗红霉素", "琥乙红霉素"]
    assert table.chinese_ending_in("红霉素", longest=4) == ["罗红霉素"]


def test_a_british_spelling_of_a_general_word_is_no_name() -> None:
    # "analogue" is no gloss of the dictionary, "analog" is: a word of general English, not a
    # rare name the library must hold ("nucleoside analogues" was refused as about no passage).
    assert "analog" in base_forms("analogue")
    analysis = analyse_question(
        "Which nucleoside analogues are preferred for HBV-related liver cancer?",
        table=table_with(("核苷", "nucleoside")),
        rarity=None,
    )
    assert "analogues" not in [a.term for a in analysis.anchors], analysis.terms


def test_a_drug_name_with_its_dosage_form_is_the_drug() -> None:
    """jieba glues a dosage form to a name's last syllable (阿兹夫定片 → 阿兹夫 + 定片): the
    form is a word of its own, and 用法用量 (two question words) asks the dose."""
    table = table_with()
    assert cut_known("阿兹夫定片用法用量", table)[:2] == ["阿兹夫定", "片"]
    assert cut_known("病理切片", table) == cut("病理切片")  # no drug before 片
    passages = ["2.阿兹夫定片。用法：空腹整片吞服，每次5mg，每日1次。", "奥司他韦成人每次75mg。"]
    analysis = analyse_question("阿兹夫定片用法用量？", table=table, rarity=rarity_of(passages))
    assert [a.term for a in analysis.anchors] == ["阿兹夫定"], analysis.terms
    assert analysis.aspect is not None and analysis.aspect.name == "dose"


@pytest.mark.parametrize("name", ["肾结石", "呼吸衰竭", "肝硬化", "胃溃疡"])
def test_a_stone_a_failure_a_cirrhosis_or_an_ulcer_is_a_disease_name(name: str) -> None:
    # "肾结石绞痛首选什么镇痛药？" showed oxaliplatin's infusion pain ("绞痛性质") with ✓:
    # 肾结石 was an everyday word, not the subject a sentence must name.
    analysis = analyse_question(f"{name}首选什么药？", table=table_with(), rarity=None)
    assert name in [a.term for a in analysis.anchors], analysis.terms


def test_a_dictionary_word_that_cuts_a_known_word_in_two_is_not_the_runs_word() -> None:
    # 静脉血 (venous blood, a dictionary word after the clinical 静脉) ends inside 血栓:
    # "脑静脉血栓" was read as 静脉血 + 栓.
    glossary = TermTable()
    glossary.add("静脉", "vein")
    table = LayeredTerms((glossary, cedict_table()), clinical=1)
    assert "静脉血" not in cut_known("脑静脉血栓急性期后怎么抗凝", table)
    assert "血栓" in cut_known("脑静脉血栓急性期后怎么抗凝", table)
    # A name the tables know stays whole where jieba glues its end to the next word.
    english, drug = fake_drug(3)
    named = table_with((drug, english))
    assert drug in cut_known(f"{drug}过敏的人用什么替代", named)


@pytest.mark.parametrize(
    ("question", "absent", "present"),
    [
        # 快速/禁食 (fast): a taper question was answered only where a sentence said "fast".
        ("How fast should I taper the opioids?", {"fast"}, {"opioids"}),
        # "hasn't" left "hasn", read as a name no passage holds: the question was refused.
        (
            "New mom on buprenorphine, hasn't relapsed. We've asked: is breastfeeding OK?",
            {"hasn", "ve", "We"},
            {"buprenorphine", "breastfeeding"},
        ),
        # Any sentence saying "is defined as" (of surveillance) answered the first.
        ("How is a health care-associated infection defined?", {"defined"}, {"infection"}),
        (
            "When should staff wash with soap and water rather than use hand rub?",
            {"rather than"},
            set(),
        ),
        # get's gloss 获得 stands inside 社区获得性肺炎: any sentence on community-acquired
        # pneumonia answered a question on a cannula's flow rate.
        ("What flow rate should infants with adenovirus pneumonia get?", {"get"}, {"adenovirus"}),
        (
            "Is it acceptable for two patients to share a bed during a surge?",
            {"acceptable", "two", "during"},
            {"bed", "share"},
        ),
    ],
)
def test_words_of_the_questions_frame_are_no_subject(
    question: str, absent: set[str], present: set[str]
) -> None:
    terms = {t.term for t in analyse_question(question, table=table_with(), rarity=None).terms}
    assert not absent & terms and present <= terms, terms


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("antivenom", "抗蛇毒血清"),
        ("chemoprophylaxis", "药物预防"),
        ("afebrile", "体温正常"),
        ("inhaler", "吸入喷雾剂"),
        ("post-exposure prophylaxis", "暴露后预防"),
        ("umifenovir", "阿比多尔"),
        ("lipiodol", "碘化油"),
        ("alkalinization", "碱化"),
        ("dry sweeping", "干扫"),
        ("hemoptysis", "咯血"),
        ("reperfusion", "再灌注"),
        ("recanalization", "再通"),
        ("SpO2", "血氧饱和度"),
        ("tick", "蜱"),
        ("ramucirumab", "雷莫西尤单抗"),
        ("LTOT", "长期阿片类药物治疗"),
        ("NOWS", "新生儿阿片类药物戒断综合征"),
        # Ward abbreviations and the names they stand for.
        ("HTN", "高血压"),
        ("CrCl", "肌酐清除率"),
        ("ILI", "流感样病例"),
        ("CXR", "胸片"),
        ("tPA", "阿替普酶"),
        ("abx", "抗生素"),
        ("Foleys", "导尿管"),
        ("diabetic foot", "糖尿病足"),
        # Drug and organism names as clipped on the ward.
        ("doxy", "多西环素"),
        ("dex", "地塞米松"),
        ("myco", "肺炎支原体"),
        ("amox", "阿莫西林"),
        ("lyse", "溶栓"),
        ("high fever", "高热"),
        ("chlorhexidine", "氯己定"),
    ],
)
def test_the_glossary_carries_general_clinical_words_the_dictionary_lacks(
    english: str, chinese: str
) -> None:
    # "Should children receive a reduced dose of snake antivenom?" was refused as about no
    # passage: the dictionary has no "antivenom", and the Chinese guideline says 抗蛇毒血清.
    assert chinese in glossary_table().to_chinese(english)


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("N95", "医用防护口罩"),
        ("waiting area", "候诊区"),
        ("booster", "加强针"),
        ("irrigate", "冲洗"),
        ("wound washing", "伤口清洗"),
        ("fingerstick", "采血针"),
        ("upon hire", "新入职"),
        ("kill", "灭活"),
    ],
)
def test_the_glossary_vocabulary_carries_ward_shorthand(english: str, chinese: str) -> None:
    # Searched in the other language, never a subject of its own.
    assert chinese in load_glossary(section="vocabulary").to_chinese(english)


def test_how_many_of_a_thing_or_how_close_asks_a_number() -> None:
    # "洗手池数量有啥要求" was answered by a sentence naming the isolation ward's sink, no number.
    count = detect_aspect("WHO对洗手池数量有啥要求")
    assert count is not None and count.name == "value"
    assert not count.stated_in("隔离病房应当有专用的卫生间、洗手池。")
    assert count.stated_in("WHO recommends one hand wash basin per every 10 beds.")
    # "How close" asks a distance: a count of basins per bed is no answer.
    close = detect_aspect("hand hygiene stations near toilets - how close?")
    assert close is not None and close.name == "value"
    assert close.stated_in("within 5 meters of sanitation facilities;")
    assert not close.stated_in("one hand wash basin per every 10 beds")


def test_a_single_room_isolated_states_no_interval() -> None:
    # "单间隔离" holds 间隔 (an interval) across its two words.
    often = detect_aspect("感控培训多久做一次？")
    assert often is not None and often.name == "frequency"
    assert not often.stated_in("临床疑似病例应当单间隔离，床间距>1米。")
    assert often.stated_in("两剂间隔4周。")


@pytest.mark.parametrize(
    "question",
    [
        "flu: RR cutoff for severe in a 3yo vs a 6 month old?",
        "oseltamivir dose for a 4 wk old?",
        "oseltamivir dose for a 2 month old?",
    ],
)
def test_the_patients_age_is_whom_a_question_is_about_never_its_words(question: str) -> None:
    terms = {t.term.lower() for t in analyse_question(question, table=table_with()).terms}
    assert not terms & {"old", "month", "yo", "y/o", "year"}, terms


def test_a_child_by_age_in_ward_shorthand_is_a_child() -> None:
    from assistant.populations import populations

    assert "child" in populations("3yo with influenza")
    assert "child" in populations("a 3 y/o")
    assert "child" not in populations("a 30yo adult")


def test_a_goal_asks_a_value_in_the_measures_unit() -> None:
    # "BP goal before tPA or thrombectomy?" was answered by thrombectomy criteria naming no BP.
    goal = detect_aspect("BP goal before tPA or thrombectomy?")
    assert goal is not None and goal.name == "value"
    assert goal.stated_in("静脉溶栓前血压应控制在<185/110 mmHg。")
    assert not goal.stated_in("发病时间在6小时内、NIHSS评分≥6分者行机械取栓。")


def test_which_items_asks_a_list_not_a_count() -> None:
    # "诊断标准有哪几条" asks which criteria; "几条" alone asks how many.
    listed = detect_aspect("重型的诊断标准有哪几条？")
    assert listed is None or listed.name != "value", listed
    counted = detect_aspect("诊断标准一共几条？")
    assert counted is not None and counted.name == "value"


def test_a_year_or_a_calendar_month_states_no_duration() -> None:
    # "新冠加强针和上一针要隔几个月" was answered by "…2022年10月份以来…传播优势迅速增加": a
    # month of the calendar read as a number of months.
    duration = detect_aspect("这个疗程要几个月？")
    assert duration is not None and duration.name == "duration"
    assert not duration.stated_in("2022年10月份以来，新的亚分支传播优势迅速增加。")
    assert not duration.stated_in("本指南于2022年发布。")
    for stated in ("疗程3～6个月。", "10天后复查。", "持续20年。", "治疗14天。", "2年10个月。"):
        assert duration.stated_in(stated), stated


def test_a_radiation_dose_in_gray_states_a_dose() -> None:
    # "肝癌SBRT一般给多少剂量？" was refused: Gy was no dose unit, so "SBRT 一般推荐≥30~60Gy/
    # 3~10Fx" stated no dose.
    dose = detect_aspect("这种放疗一般给多少剂量？")
    assert dose is not None and dose.name == "dose"
    assert dose.stated_in("一般推荐剂量≥30~60 Gy/3~10Fx，常规分割放射治疗剂量一般为50~75Gy。")
    assert not dose.stated_in("建议采用三维适形或调强放射治疗等技术。")


def test_a_rate_of_tapering_is_a_share_per_interval_not_any_percentage() -> None:
    rate = detect_aspect("How fast should opioids be tapered?")
    assert rate is not None and rate.name == "discontinuation"
    assert rate.stated_in("Tapers of 10% per month or slower are better tolerated.")
    assert rate.stated_in("Consider reducing the daily dosage to 50% for 2 days before stopping.")
    assert rate.stated_in("每周减少原剂量的10%。")
    # How many patients went on to long-term use says nothing of how fast to taper.
    assert not rate.stated_in(
        "Proportions of adults with new long-term use after short-term use ranged from <1% to 13%."
    )


def test_a_renal_impairment_named_in_the_question_still_asks_the_renal_dose() -> None:
    # "中度肾功能不全，奈玛特韦/利托那韦需要减量吗" was read as asking how to stop the drug:
    # 肾功能不全 is a name of the question, taken out before its aspect was looked for.
    english, drug = fake_drug(11)
    table = table_with((drug, english), ("肾功能不全", "renal insufficiency"))
    passages = [
        f"中度肾功能不全者应将{drug}减半服用。",
        "肾功能不全患者慎用。",
        f"{drug}每日一次。",
    ]
    analysis = analyse_question(
        f"中度肾功能不全的患者，{drug}需要减量吗", table=table, rarity=rarity_of(passages)
    )
    assert "肾功能不全" in [t.term for t in analysis.terms]
    assert analysis.aspect is not None and analysis.aspect.name == "renal_dose"
    assert analysis.aspect.stated_in(passages[0])


@pytest.mark.parametrize(
    ("template", "asking"),
    [
        ("{drug}每次几毫克，最长能用多少天？", {"几毫克", "最长"}),
        ("这个方案一般最多做几次，{drug}一次几片？", {"最多", "几片"}),
        ("末次服药后至少等多少小时再给首剂{drug}？", {"至少", "多少小时"}),
    ],
)
def test_words_that_ask_how_much_are_no_subject_and_no_piece_of_a_name(
    template: str, asking: set[str]
) -> None:
    # jieba knows 几毫克 from two occurrences: it was the question's rarest "name", missing
    # from every passage, and the answer a refusal. 首剂 was read as the start of the drug's
    # name (首剂丁丙诺啡), which no passage holds.
    english, drug = fake_drug(12)
    question = template.format(drug=drug)
    analysis = analyse_question(
        question,
        table=table_with((drug, english)),
        rarity=rarity_of([f"{drug}：每次5mg，每日1次，疗程至多14天。", "首剂加倍。"]),
    )
    terms = [t.term for t in analysis.terms]
    assert drug in terms, terms
    assert not any(word in term for term in terms for word in asking), terms
    assert not any(drug in term for term in terms if term != drug), terms


def test_an_english_word_no_dictionary_or_passage_knows_is_a_missing_name() -> None:
    # "How should outpatient clinics screen for Candida auris?" lost both words as
    # paraphrases and was answered from "outpatient" with a mycoplasma screening sentence.
    rarity = rarity_of(
        ["Outpatient clinics should screen patients for respiratory symptoms.", "Hand hygiene."]
    )
    table = table_with()
    for question, name in (
        ("How should outpatient clinics screen patients for Candida auris?", "Candida"),
        ("Does the outpatient guide require Tdap boosters for staff?", "Tdap"),
    ):
        analysis = analyse_question(question, table=table, rarity=rarity)
        missing = [t.term for t in analysis.anchors if not t.in_library]
        assert name in missing, analysis.terms
    # A general English word no passage holds stays a paraphrase, never a missing name.
    analysis = analyse_question(
        "How should clinics screen arriving patients?", table=table, rarity=rarity
    )
    assert all(t.in_library for t in analysis.anchors), analysis.terms


def test_each_day_says_how_often() -> None:
    # "how often should the Bowie-Dick air removal test be done?": "…is performed … each day
    # the sterilizer is used" was read as stating no frequency.
    often = detect_aspect("How often should the air removal test be done?")
    assert often is not None and often.name == "frequency"
    assert often.stated_in("An air removal test is performed each day the sterilizer is used.")
    assert not often.stated_in("An air removal test is performed in an empty sterilizer.")


def test_how_many_is_answered_by_a_bounded_count_in_words() -> None:
    # "How many trained infection prevention staff does an outpatient facility need at
    # minimum?": "At least one individual trained in infection prevention is employed…" was
    # read as stating no number.
    count = detect_aspect("How many trained staff does a clinic need at minimum?")
    assert count is not None and count.name == "value"
    assert count.stated_in("At least one individual trained in infection prevention is employed.")
    assert count.stated_in("One trained nurse per 250 beds is recommended.")
    assert not count.stated_in("One of the staff should be trained in infection prevention.")


def test_the_glossary_knows_stroke_and_paediatric_abbreviations() -> None:
    # "发病30天内的症状性颅内动脉重度狭窄，DAPT要用多久？" was refused as about "DAPT", a name
    # the library has no passage on; the stroke guideline writes 双联抗血小板治疗.
    table = glossary_table()
    for short, full in (
        ("DAPT", "双联抗血小板治疗"),
        ("AIS", "缺血性卒中"),
        ("HLH", "噬血细胞综合征"),
    ):
        assert full in table.to_chinese(short), short


@pytest.mark.parametrize(
    ("question", "glued"), [("取栓后血管完全再通，收缩压最好不要低于多少？", "取栓后")]
)
def test_a_time_word_jieba_glues_to_a_known_word_is_no_part_of_it(
    question: str, glued: str
) -> None:
    # jieba reads "取栓后" as one word; read as a name no passage holds, it refused the question.
    table = table_with(("取栓", "thrombectomy"))
    analysis = analyse_question(
        question, table=table, rarity=rarity_of(["取栓后收缩压避免低于120mmHg。", "血管再通。"])
    )
    terms = [t.term for t in analysis.terms]
    assert glued not in terms and glued[:-1] in terms, terms


_CIRCUMSTANCES_LIBRARY = [
    "Clinicians should offer naloxone when prescribing opioids to patients at risk for overdose.",
    "Oxycodone 10 mg twice a day equals 30 MME daily.",
    "Hydrocodone should be tapered by 10% per month.",
    "所有脑出血患者长期血压控制目标值<130/80 mmHg。",
    "脑血管病患者出院后应定期复诊。",
    "正在服用氯吡格雷的患者，阿司匹林剂量为每日100mg。",
    "重型流感患者不建议常规使用糖皮质激素治疗。",
    "合并其他器官功能衰竭需 ICU 监护治疗。",
    "糖皮质激素不应使用，糖皮质激素能缩短狂犬病潜伏期。",
    "流感病毒性肺炎患者应尽早抗病毒治疗。",
    "Viral encephalitis is treated supportively.",
]


@pytest.mark.parametrize(
    ("question", "context", "asked"),
    [
        (
            "Pt on 60 MME/day of oxycodone with no hx of overdose — do I still need to offer "
            "Narcan?",
            "oxycodone",
            "Narcan",
        ),
        ("Patient taking long-term oxycodone: should I offer naloxone?", "oxycodone", "naloxone"),
        ("正在服用氯吡格雷的患者，阿司匹林用多少？", "氯吡格雷", "阿司匹林"),
        ("脑出血患者出院后长期血压控制目标是多少？", "出院", "脑出血"),
        ("What blood pressure target after discharge for cerebral hemorrhage?", "discharge", ""),
        ("Severe influenza in the ICU — should we give corticosteroids routinely?", "ICU", ""),
        ("重症流感患者入住ICU后要常规用糖皮质激素吗？", "ICU", "流感"),
        ("Confirmed rabies encephalitis — any role for corticosteroids?", "encephalitis", "rabies"),
        ("流感肺炎患者要常规用糖皮质激素吗？", "肺炎", "流感"),
    ],
)
def test_the_patients_circumstances_are_no_anchor_beside_what_is_asked(
    question: str, context: str, asked: str
) -> None:
    # What the patient is on, or the point of the stay a time is counted from, frames the
    # question: the naloxone sentence need not name oxycodone, nor the target sentence 出院.
    analysis = analyse_question(
        question, table=glossary_table(), rarity=rarity_of(_CIRCUMSTANCES_LIBRARY)
    )
    anchors = [t.term for t in analysis.anchors]
    assert context not in anchors, anchors
    assert anchors and (not asked or asked in anchors), anchors


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("Been on hydrocodone for 3 years and we agreed to taper. How fast?", "hydrocodone"),
        ("正在服用氯吡格雷，要注意什么？", "氯吡格雷"),
        ("Patient on clonazepam also needs oxycodone. Is co-prescribing ok?", "clonazepam"),
        ("正在服用氯吡格雷的患者同时用阿司匹林要注意什么？", "氯吡格雷"),
        ("出院标准是什么？", None),
        ("流感患者出院需要满足什么条件？", "流感"),
        ("流感患者什么情况下需要转入ICU？", "流感"),
        ("转入ICU的指征是什么？", "ICU"),
        # An inflammation named alone, or not after the disease, is the subject itself.
        ("Which antiviral for viral encephalitis after a dog bite?", "encephalitis"),
        ("狂犬病患者出现肺炎怎么处理？", "肺炎"),
    ],
)
def test_circumstances_alone_stay_the_subject(question: str, kept: str | None) -> None:
    analysis = analyse_question(
        question, table=glossary_table(), rarity=rarity_of(_CIRCUMSTANCES_LIBRARY)
    )
    anchors = [t.term for t in analysis.anchors]
    assert kept is None or kept in anchors, anchors


@pytest.mark.parametrize("written", ["QID", "bid", "q12h", "PRN"])
def test_a_prescription_frequency_is_no_name(written: str) -> None:
    question = f"Oxycodone 5 mg {written} — how many MME per day is that?"
    analysis = analyse_question(
        question, table=glossary_table(), rarity=rarity_of(_CIRCUMSTANCES_LIBRARY)
    )
    assert written not in [t.term for t in analysis.terms]
    assert "oxycodone" in [t.term.lower() for t in analysis.anchors]


@pytest.mark.parametrize(
    "question",
    [
        "Opened multidose vial of lidocaine — how long can we keep using it?",
        "打开的利多卡因多剂量瓶能用多久？",
    ],
)
def test_a_drug_named_as_what_a_container_holds_is_no_anchor(question: str) -> None:
    library = [
        "Multi-dose vials are discarded within 28 days.",
        "多剂量瓶开启后28天内用完。",
        "Lidocaine is a local anaesthetic.",
        "利多卡因局部麻醉。",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    anchors = [t.term.lower() for t in analysis.anchors]
    assert not {"lidocaine", "利多卡因"} & set(anchors), anchors
    assert anchors, analysis.terms


@pytest.mark.parametrize(
    ("question", "written"),
    [
        ("How is rat-bite fever treated?", "鼠咬热"),
        ("Norco 5/325 four times a day: how many MME?", "hydrocodone acetaminophen"),
        ("Chronic LBP: when are opioids considered?", "low back pain"),
        ("Can Suboxone be continued in pregnancy?", "buprenorphine naloxone"),
        ("颅内静脉窦血栓，口服抗凝一般要吃多久？", "颅内静脉血栓形成"),
    ],
)
def test_a_disease_brand_or_abbreviation_of_the_glossary_is_an_anchor(
    question: str, written: str
) -> None:
    library = [
        "鼠咬热首先选静脉给予青霉素G。",
        "Hydrocodone 5 mg and acetaminophen 325 mg four times a day equals 20 MME.",
        "Opioids are not first-line therapy for low back pain.",
        "Buprenorphine/naloxone is continued during pregnancy.",
        "颅内静脉血栓形成患者抗凝治疗的疗程通常为3~6个月。",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert any(written in t.forms for t in analysis.anchors), analysis.terms


@pytest.mark.parametrize(
    "question",
    [
        "Door-to-needle target for IV thrombolysis in the NHC stroke guideline?",
        "按国家卫健委指南，静脉溶栓到院到给药时间要求多少？",
        "Per the AHA guideline, door-to-needle target for IV thrombolysis?",
    ],
)
def test_whose_guideline_the_library_never_names_is_no_subject(question: str) -> None:
    """ "per the NHC guideline" says whose guideline is meant; the library's passages never name
    the issuer, so it is no name a passage must hold (it was refused as missing "NHC")."""
    library = [
        "应遵循患者到院到给药时间不超过60分钟的原则。",
        "Door-to-needle time for IV thrombolysis should be within 60 minutes.",
        "WHO recommends hand hygiene at the point of care.",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    terms = {t.term.lower() for t in analysis.terms}
    assert not terms & {"nhc", "aha", "国家卫健委", "卫健委"}, analysis.terms
    assert analysis.anchors, analysis.terms


def test_an_issuer_the_library_names_stays_a_name() -> None:
    library = ["Hand hygiene stations are placed in all key areas.", "CDC guidance on sinks."]
    analysis = analyse_question(
        "What does CDC recommend on hand hygiene stations?",
        table=glossary_table(),
        rarity=rarity_of(library),
    )
    assert "cdc" in {t.term.lower() for t in analysis.terms}, analysis.terms


@pytest.mark.parametrize("question", ["抗蛇毒血清使用的基本原则是什么？", "抗蛇毒血清使用要点？"])
def test_the_principles_of_a_treatment_are_no_name(question: str) -> None:
    library = ["抗蛇毒血清的使用主要遵守以下三项原则：早期用药、同种专一。", "肝移植基本原则。"]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert [t.term for t in analysis.anchors] == ["抗蛇毒血清"], analysis.terms


@pytest.mark.parametrize(
    ("question", "name", "not_name"),
    [
        ("支原体肺炎想换多西环素，需要签知情同意吗？", "多西环素", "想换多西环素"),
        ("肝素过敏，能改用依诺肝素吗", "依诺肝素", "改用依诺肝素"),
    ],
)
def test_a_verb_before_a_whole_name_is_no_piece_of_it(
    question: str, name: str, not_name: str
) -> None:
    from assistant.zh_names import cut, join_name_pieces

    # The table knows the name whole, as the library's glosses do (多西环素 (doxycycline)).
    table = table_with(("多西环素", "doxycycline"), ("依诺肝素", "enoxaparin"))
    words = join_name_pieces(cut(question), table)
    assert name in words and not_name not in words, words


@pytest.mark.parametrize(
    ("question", "eponym"),
    [
        ("We have a prevacuum autoclave. How often is the Bowie-Dick test needed?", "Bowie-Dick"),
        ("Which Child-Pugh class rules out TACE?", "Child-Pugh"),
    ],
)
def test_an_eponym_is_one_name(question: str, eponym: str) -> None:
    library = [
        "An air removal test (Bowie-Dick test) is performed each day the sterilizer is used.",
        "Child-Pugh C is a contraindication to TACE.",
        "Prevacuum steam sterilizers need daily testing.",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert eponym in [t.term for t in analysis.anchors], analysis.terms
    # A compound of everyday words stays its parts ("opioid-naive": opioid, naive).
    plain = analyse_question("Is the patient opioid-naive?", table=glossary_table())
    assert "opioid-naive" not in [t.term.lower() for t in plain.terms], plain.terms


def test_prospective_and_retrospective_are_glossed_as_study_designs() -> None:
    from assistant.glossary import load_glossaries

    # The glossary's everyday vocabulary, as the service layers it (names, vocabulary, CEDICT).
    names, vocabulary = load_glossaries()
    table = LayeredTerms((names, vocabulary, cedict_table()), clinical=1, curated=2)
    analysis = analyse_question(
        "医院感染监测应该采用前瞻性还是回顾性方法？",
        table=table,
        rarity=rarity_of(["Prospective surveillance is recommended rather than retrospective."]),
    )
    forms = {f for t in analysis.terms for f in t.forms}
    assert {"prospective", "retrospective"} <= forms, analysis.terms


@pytest.mark.parametrize(
    ("question", "english"),
    [
        ("门诊没有专职感控人员，WHO建议怎么提供支持？", "infection preventionist"),
        ("每多少张床配一名感控人员？", "infection preventionist"),
        ("医院要有专职的感染防控团队吗？", "dedicated"),
    ],
)
def test_infection_control_staff_words_are_glossed(question: str, english: str) -> None:
    from assistant.glossary import load_glossaries

    names, vocabulary = load_glossaries()
    table = LayeredTerms((names, vocabulary, cedict_table()), clinical=1, curated=2)
    library = ["One full-time infection preventionist per 250 beds.", "A dedicated IPC team."]
    analysis = analyse_question(question, table=table, rarity=rarity_of(library))
    forms = {f for t in analysis.terms for f in t.forms}
    assert english in forms, analysis.terms


@pytest.mark.parametrize(
    ("question", "form"),
    [
        # Brand names a prescriber writes, for the generic the guidelines name.
        ("Vivitrol dose and how often?", "naltrexone"),
        ("Pt on OxyContin 20 mg BID, how many MME?", "oxycodone"),
        ("Dilaudid 2 mg every 4 hours, how many MME?", "hydromorphone"),
        # Abbreviations the guidelines spell out, and the Chinese the other library uses.
        ("Aneurysmal SAH before it is secured: SBP target?", "收缩压"),
        ("How should flexible endoscopes be stored after HLD?", "high level disinfection"),
        ("Suspected C. diff in an outbreak: alcohol rub or soap?", "clostridium difficile"),
        ("护理艰难梭菌感染的病人后用什么洗手？", "c difficile"),
        ("How long do influenza patients usually shed virus?", "排毒时间"),
        ("Is obesity a high-risk factor for severe COVID?", "肥胖"),
        ("Target BP before IV thrombolysis?", "血压"),
        # Chinese trade names a prescriber writes for the generic.
        ("流感患儿用达菲，剂量怎么算？", "奥司他韦"),
        ("甲强龙起始给多大量？", "甲泼尼龙"),
        ("波立维和阿司匹林双抗多久？", "氯吡格雷"),
        # A name written short: 狂犬疫苗 is the rabies vaccine, not "a vaccine" and a dog.
        ("小孩被鸡啄伤，要打狂犬疫苗吗？", "rabies vaccine"),
        ("耐多药结核患者隔离病房需要什么通风条件？", "multidrug resistant tuberculosis"),
        ("Door-to-needle time goal for IV thrombolysis?", "到院到给药时间"),
        ("静脉溶栓的DNT要求多少分钟以内？", "door to needle time"),
        ("What degree of stenosis qualifies for CEA after a TIA?", "颈动脉内膜剥脱术"),
        ("Carotid stenting or endarterectomy after TIA?", "颈动脉支架置入术"),
        ("Thrombectomy criteria for anterior circulation LVO?", "大动脉闭塞"),
        ("Opioids in a patient with untreated OSA?", "sleep apnea"),
        ("起病时WBC轻度升高要用抗生素吗？", "white blood cell"),
        ("阿片类药物初治患者起始剂量多少MME？", "naive"),
        ("灭菌器的生物指示剂多久用一次？", "sterilizer"),
        ("灭菌器的生物指示剂多久用一次？", "biological indicator"),
        ("指尖采血的采血笔能共用吗？", "lancet holder"),
        ("重症监护区床间距建议多少？", "critical care area"),
        ("接诊艰难梭菌病人后用酒精洗手液还是肥皂水？", "alcohol based hand rub"),
        ("C. diff patient: ABHR or soap and water?", "速干手消毒剂"),
    ],
)
def test_brand_names_abbreviations_and_shedding_are_glossed(question: str, form: str) -> None:
    from assistant.glossary import load_glossaries

    names, vocabulary = load_glossaries()
    table = LayeredTerms((names, vocabulary, cedict_table()), clinical=1, curated=2)
    library = ["Naltrexone 380 mg every 4 weeks.", "收缩压控制在160mmHg以内。", "排毒时间3～7天。"]
    analysis = analyse_question(question, table=table, rarity=rarity_of(library))
    forms = {f for t in analysis.terms for f in t.forms}  # English forms are normalised
    assert form in forms, analysis.terms


def test_a_name_the_library_writes_otherwise_is_searched_by_the_librarys_spelling() -> None:
    """ "glucometer": the guideline writes "blood glucose meters". The question is searched with
    the library's own spelling in its language too; a name the library writes as asked adds
    nothing."""
    library = [
        "Point-of-care testing (e.g., blood glucose meters, INR monitor).",
        "If used for more than one patient, the testing meter is cleaned after every use.",
        "Never administer medications from the same syringe to multiple patients.",
    ]
    table = glossary_table()  # 血糖仪: blood glucose meter, glucometer
    analysis = analyse_question(
        "Can we use the same glucometer on multiple patients?",
        table=table,
        rarity=rarity_of(library),
    )
    assert analysis.respelled == "blood glucose meter", analysis.terms
    asked = analyse_question(
        "Can the same syringe be used for multiple patients?",
        table=table,
        rarity=rarity_of(library),
    )
    assert asked.respelled == ""


def test_reprocessing_words_are_searched_across_languages_but_name_no_subject() -> None:
    from assistant.glossary import load_glossaries

    names, vocabulary = load_glossaries()
    table = LayeredTerms((names, vocabulary, cedict_table()), clinical=1, curated=2)
    library = [
        "Single-use devices may not be reprocessed for reuse except by registered reprocessors.",
        "Operating rooms are terminally cleaned after the last procedure of the day.",
        "Semi-critical items (e.g., endoscopes for colonoscopy) need high-level disinfection.",
    ]
    rarity = rarity_of(library)
    asked = analyse_question(
        "一次性使用的医疗器械可以再处理后重复使用吗？", table=table, rarity=rarity
    )
    assert "reprocess" in asked.translations.get("en", ""), asked.translations
    asked = analyse_question(
        "门诊手术室每天最后一台手术后需要终末清洁吗？", table=table, rarity=rarity
    )
    assert "terminally cleaned" in asked.translations.get("en", ""), asked.translations
    rooms = analyse_question(
        "隔离病房洗手池与床位的比例应为多少？",
        table=table,
        rarity=rarity_of([*library, "Minimum sink-to-bed ratio 1:1 in isolation rooms."]),
    )
    bag = rooms.translations["en"]
    assert "sink" in bag.split() and "isolation room" in bag, rooms.translations
    english = analyse_question(
        "What reprocessing does a colonoscope need?", table=table, rarity=rarity
    )
    assert "reprocessing" not in [t.term.lower() for t in english.anchors], english.terms


def test_between_is_no_subject() -> None:
    analysis = analyse_question(
        "What minimum distance between hospital beds is recommended?",
        table=glossary_table(),
        rarity=rarity_of(["Adequate spacing (1 metre) between beds.", "Hospital beds."]),
    )
    assert "between" not in [t.term.lower() for t in analysis.terms], analysis.terms


def test_when_to_restart_is_answered_by_a_time_after_the_event_only() -> None:
    """ "When can I restart warfarin after a warfarin-associated bleed?" was answered with the
    reversal agent for patients on warfarin (no time at all), with ✓."""
    timing = detect_aspect("When can I restart warfarin after an intracerebral hemorrhage?")
    assert timing is not None and timing.name == "timing"
    assert timing.stated_in("出血后4周可重新启动抗凝。")
    assert timing.stated_in("Anticoagulation may be restarted after 7 days in most patients.")
    assert not timing.stated_in("服用华法林的脑出血患者可选用凝血酶原复合物；")


def test_should_be_names_nothing() -> None:
    analysis = analyse_question(
        "隔离病房洗手池与床位的比例应为多少？",
        table=glossary_table(),
        rarity=rarity_of(["隔离病房应为单间。", "洗手池与床位。"]),
    )
    assert "应为" not in [t.term for t in analysis.terms], analysis.terms


def test_a_name_with_a_number_states_no_value() -> None:
    """ "DSM-5诊断…需要满足几条标准？" was answered with "…using DSM-5 criteria (317)": the 5 of
    the name read as a count."""
    count = detect_aspect("DSM-5诊断阿片类药物使用障碍需要满足几条标准？")
    assert count is not None and count.name == "value"
    assert not count.stated_in("Assess for opioid use disorder using DSM-5 criteria (317).")
    assert count.stated_in("At least two of 11 criteria within a 12-month period.")
    assert count.stated_in("IL-6 ≥ 40 pg/mL")


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("流感病毒用啥消毒剂管用？", "管用"),
        ("从短效阿片换成丁丙诺啡，最后一剂后要等多久？", "一剂后"),
        ("硬膜外注药时医生要戴口罩吗", "注药时"),
    ],
)
def test_a_time_word_or_a_verbal_noun_is_never_a_missing_name(question: str, word: str) -> None:
    """ "最后一剂后" is after the last dose, "注药时" while injecting, "管用" works: none is a
    name the library lacks."""
    library = [
        "流感病毒对乙醇、次氯酸钠等常用消毒剂敏感。",
        "丁丙诺啡首剂前应等待至少12小时。",
        "置管或注药时应戴口罩。",
        "口罩的使用。",
    ]
    analysis = analyse_question(question, table=glossary_table(), rarity=rarity_of(library))
    assert word not in [t.term for t in analysis.anchors], analysis.anchors
    assert word not in analysis.missing, analysis.missing


@pytest.mark.parametrize(
    "question",
    [
        "流感患儿出现哪些情况提示重症？",
        "儿童流感重型的诊断标准是什么？",
        "新冠患儿出现哪些情况算重型？",
        "腺病毒肺炎重症有哪些表现？",
        "Which signs mean a child with flu has severe disease?",
        "What counts as severe COVID in adults?",
    ],
)
def test_asking_what_makes_a_case_severe_asks_the_grades_criteria(question: str) -> None:
    severity = detect_aspect(question)
    assert severity is not None and severity.name == "severity", severity
    # Its headings say it, and a sentence defining or describing the grade does.
    for heading in ("（三）重型", "（一）重症病例的早期识别", "八、重型/危重型早期预警指标"):
        assert severity.stated_in(heading), heading
    assert severity.stated_in("符合下列表现中的任何一项，即为重症：")
    assert severity.stated_in("重症患儿一般情况差，面色苍白或发灰，精神萎靡或者烦躁。")
    # Naming the grade in passing says nothing of what makes it.
    for passing in (
        "接种新冠病毒疫苗是降低重症和死亡发生率的有效手段。",
        "少数患者可发展成重型/危重型病例。",
        "条件者应考虑收入重症监护病房。",
        "七、临床分型",
    ):
        assert not severity.stated_in(passing), passing


@pytest.mark.parametrize(
    "question",
    [
        # Who is at risk of it, what to give in it, where it is treated: no grade's criteria.
        "哪些小孩得流感更容易发展成重症？",
        "Which risk factors predict severe influenza?",
        # What warns of progressing to it: early-warning signs, not the grade's definition.
        "MPP red flags for progression to severe/critical?",
        "哪些指标提示支原体肺炎可能进展为重症？",
        "重型流感患者奥司他韦剂量多少？",
        "重症监护室的标准是什么？",
        "What are the criteria for a critical item in Spaulding's classification?",
    ],
)
def test_a_grade_named_beside_another_question_asks_no_grades_criteria(question: str) -> None:
    aspect = detect_aspect(question)
    assert aspect is None or aspect.name != "severity", (question, aspect)


@pytest.mark.parametrize(
    "question",
    [
        "Ventilated COVID pt, P/F stuck below 50 mmHg despite prone — when to consider ECMO?",
        "新冠患者PaO2/FiO2低于150 mmHg时怎么办？",
        "Is a PEEP of 5 cmH2O enough on ECMO?",
        "ECMO患儿肝素10 mg/kg/d可以吗？",
    ],
)
def test_the_unit_of_a_measured_value_is_never_a_name(question: str) -> None:
    # "below 50 mmHg": "mmHg" read as the heaviest name, and the ECMO criteria (which say
    # cmH2O, not mmHg, in their lead-in) were dropped as about something else.
    analysis = analyse_question(question, table=glossary_table(), rarity=None)
    terms = {t.term.lower() for t in analysis.terms}
    assert not terms & {"mmhg", "cmh2o", "mg", "kg", "mg/kg"}, analysis.terms
    assert {"ecmo", "fio2"} & terms, analysis.terms


def test_a_second_aspect_a_point_in_the_course_or_the_ward_of_the_staff_is_no_name() -> None:
    table = glossary_table()
    # "剂量、疗程": the duration is a second thing asked of SMPP, not a name a passage must hold.
    two = analyse_question("SMPP 预防性抗凝一般用啥？剂量、疗程？", table=table, rarity=None)
    assert [a.term for a in two.anchors] == ["SMPP"], two.terms
    # "its day-1 dose": when in the course, not what.
    day = analyse_question(
        "Which anti-flu drug is contraindicated in pregnancy, and what's its day-1 dose?",
        table=table,
        rarity=None,
    )
    assert not any(t.term.lower().startswith("day") for t in day.terms), day.terms
    # "the NICU nurses": whose watch, not what is asked about.
    ward = analyse_question(
        "How can influenza present in a neonate? Any atypical signs the NICU nurses should "
        "watch for?",
        table=table,
        rarity=None,
    )
    assert [a.term for a in ward.anchors] == ["influenza"], ward.terms
    # A target range (目标区间) asks a value; 区间 is no name.
    target = analyse_question("脑出血急性期降压，收缩压目标区间？", table=table, rarity=None)
    assert target.aspect is not None and target.aspect.name == "value"
    assert "区间" not in [t.term for t in target.terms], target.terms


def test_glossary_names_implants_surfaces_and_medications_for_oud() -> None:
    table = glossary_table()
    from assistant.glossary import load_glossary

    everyday = load_glossary(section="vocabulary")
    assert "implantable items" in everyday.zh_to_en["植入物"]
    assert "medications for opioid use disorder" in table.synonyms("MOUD")
    assert "阿片类药物使用障碍治疗药物" in table.translate("MOUD")
    assert "物体表面" in table.translate("surfaces") or "物体表面" in table.synonyms("台面")


@pytest.mark.parametrize(
    ("question", "aspect"),
    [
        # When the first follow-up falls is a time after starting, not any sentence on opioids.
        ("Started opioids for chronic pain — when should the first f/u be?", "timing"),
        ("When should the first follow-up visit be after starting opioids?", "timing"),
        ("开始阿片治疗后首次随访在什么时候？", "timing"),
        # Stepping the dose down is tapering.
        ("Took oxycodone around the clock for 5 days; how should I step down?", "discontinuation"),
        ("How do patients come off long-term opioids safely?", "discontinuation"),
        # A ratio asked (洗手池和床位的配比) is a value.
        ("洗手池和床位的配比要求？", "value"),
        ("What nurse to patient ratio is recommended?", "value"),
    ],
)
def test_follow_up_timing_stepping_down_and_ratios_are_aspects(question: str, aspect: str) -> None:
    found = detect_aspect(question)
    assert found is not None and found.name == aspect, (question, found)


def test_a_name_written_twice_is_one_name_a_sentence_must_hold() -> None:
    # "Influenza ARDS … per the flu protocol": influenza and flu are one disease, not two names.
    asked = analyse_question(
        "Influenza ARDS on HFNC — at what PaO2/FiO2 should we intubate per the flu protocol?",
        table=glossary_table(),
        rarity=None,
    )
    named = [a.term.lower() for a in asked.anchors]
    assert len({"influenza", "flu"} & set(named)) == 1, named
    workers = analyse_question(
        "Are healthcare workers among the flu vaccine priority groups?",
        table=glossary_table(),
        rarity=None,
    )
    terms = [t.term for t in workers.terms]
    assert "healthcare workers" in terms and "healthcare" not in terms, workers.terms


def test_every_grade_of_a_scale_is_asked_by_its_criteria_and_treatment_headings_are_not_them() -> (
    None
):
    from assistant.aspects import treats_a_grade

    # "什么算中度": a grade of the wasp-sting scale (轻度, 中度, 重度, 极重度) is asked too.
    for question in ("胡蜂蜇伤 什么算中度？", "What counts as mild snakebite envenomation?"):
        found = detect_aspect(question)
        assert found is not None and found.name == "severity", (question, found)
    severity = detect_aspect("胡蜂蜇伤 什么算中度？")
    assert severity is not None
    assert severity.stated_in("2.中度：（1）胡蜂蜇刺数量≥15针；")
    # What is done for a grade is no criterion of it; a classification heading is.
    assert treats_a_grade("胡蜂蜇伤诊疗规范 > 七、治疗 > （二）中度")
    assert treats_a_grade("十一、治疗 > （七）重型、危重型支持治疗")
    assert not treats_a_grade("七、临床分型 > （三）重型")
    assert not treats_a_grade("十、治疗 > （一）基本原则")


def test_a_chinese_name_followed_by_like_names_something_else() -> None:
    # "流感样症状" (influenza-like symptoms) of a B virus infection is no influenza: a flu
    # question was answered with the B virus post-exposure prophylaxis.
    assert not form_in_text("流感", "2.流感样症状、伴发热和肌痛，后续可能出现麻木。")
    assert form_in_text("流感", "流感样症状者，应排查流感。")
    assert form_in_text("流感", "流行季流感患者应隔离。")


def test_a_prefix_that_makes_another_drug_is_never_cut_off() -> None:
    # "去甲肾上腺素 起始剂量" was answered with epinephrine's (肾上腺素) dose.
    assert not form_in_text("肾上腺素", "积极补充容量后仍低血压者，可给予去甲肾上腺素等升压药。")
    assert form_in_text("肾上腺素", "立即肌内注射肾上腺素；")
    assert not form_in_text("氧氟沙星", "左氧氟沙星：6个月-5岁：8-10mg/(kg.次)")
    # In the question, without the glossary's help: the prefix stays on the drug.
    table = LayeredTerms((cedict_table(),))
    asked = analyse_question("去甲万古霉素 起始剂量？", table=table, rarity=None)
    assert "去甲" not in [t.term for t in asked.terms], asked.terms
    assert any(t.term.startswith("去甲") for t in asked.terms), asked.terms


def test_low_molecular_weight_heparin_and_prednisolone_are_other_drugs() -> None:
    assert not form_in_text("肝素", "SMPP 预防性抗凝可用低分子肝素100U/(kg.次)，qd。")
    assert not form_in_text("肝素", "常用低分子量肝素钙皮下注射：")
    assert form_in_text("肝素", "普通肝素静脉滴注。")
    assert not form_in_text("泼尼松", "口服泼尼松龙(1mg/kg)")
    assert form_in_text("泼尼松", "泼尼松每日1mg/kg口服。")
