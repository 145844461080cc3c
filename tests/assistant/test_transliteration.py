"""Drug names across scripts: INN stem, then sounds, strictly (issue 12).

A wrong pairing would let a question about one drug be answered with another drug's passage,
so most of these tests are about what must NOT pair.
"""

from __future__ import annotations

import pytest

from assistant.glossary import LayeredTerms, TermTable
from assistant.transliteration import NameMatcher, name_runs, score, split_english

PAIRS = [
    ("molnupiravir", "莫诺拉韦"),
    ("nirmatrelvir", "奈玛特韦"),
    ("favipiravir", "法维拉韦"),
    ("zanamivir", "扎那米韦"),
    ("ritonavir", "利托那韦"),
    ("tenofovir", "替诺福韦"),
    ("entecavir", "恩替卡韦"),
    ("acyclovir", "阿昔洛韦"),
    ("tocilizumab", "托珠单抗"),
    ("bevacizumab", "贝伐珠单抗"),
    ("tislelizumab", "替雷利珠单抗"),
    ("durvalumab", "度伐利尤单抗"),
    ("atezolizumab", "阿替利珠单抗"),
    ("camrelizumab", "卡瑞利珠单抗"),
    ("sintilimab", "信迪利单抗"),
    ("rituximab", "利妥昔单抗"),
    ("denosumab", "地舒单抗"),
    ("moxifloxacin", "莫西沙星"),
    ("doxycycline", "多西环素"),
    ("minocycline", "米诺环素"),
    ("atorvastatin", "阿托伐他汀"),
    ("rivaroxaban", "利伐沙班"),
    ("omeprazole", "奥美拉唑"),
    ("piperacillin", "哌拉西林"),
    ("lidocaine", "利多卡因"),
    # -plase 普酶 and -triptan 曲坦 are fixed endings too (the sounds still decide).
    ("tenecteplase", "替奈普酶"),
    ("sumatriptan", "舒马曲坦"),
    # Kinase and PARP inhibitors, cytidine and thymidine analogues (the sounds still decide:
    # irinotecan/伊立替康 and gemcitabine/吉西他滨 do not match, their first sounds differ).
    ("sorafenib", "索拉非尼"),
    ("donafenib", "多纳非尼"),
    ("olaparib", "奥拉帕利"),
    ("capecitabine", "卡培他滨"),
    ("azvudine", "阿兹夫定"),
    ("telbivudine", "替比夫定"),
]


@pytest.mark.parametrize(("english", "chinese"), PAIRS)
def test_an_inn_and_its_chinese_approved_name_match(english: str, chinese: str) -> None:
    assert score(english, chinese) is not None
    assert score(english.capitalize(), chinese) is not None


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("tocilizumab", "阿替利珠单抗"),  # a vowel start never transliterates a consonant start
        ("tanezumab", "托珠单抗"),  # to- is not ta-
        ("methicillin", "莫西林"),  # one shared consonant is no evidence (a piece of 阿莫西林)
        ("oseltamivir", "奥司他汀"),  # another stem
        ("oseltamivir", "奥司他"),  # no ending at all
        ("nivolumab", "贝伐珠单抗"),
        ("remdesivir", "莫诺拉韦"),
        ("insulin", "胰岛素"),  # not INN-shaped: nothing to match by sound
    ],
)
def test_names_of_other_drugs_or_stems_do_not_match(english: str, chinese: str) -> None:
    assert score(english, chinese) is None


def test_only_inn_shaped_words_are_split() -> None:
    assert split_english("Molnupiravir") == ("molnupira", "韦")
    assert split_english("vir") is None
    assert split_english("influenza") is None
    assert split_english("dose") is None


def test_runs_before_each_ending_are_collected_and_a_name_is_found_inside_a_run() -> None:
    runs = name_runs(["高风险患者口服莫诺拉韦胶囊。", "奈玛特韦片/利托那韦片组合包装", "托珠单抗"])
    assert set(runs) == {"韦", "单抗"}
    assert runs["韦"] == ["者口服莫诺拉韦", "奈玛特韦", "利托那韦"]  # up to 6 characters before
    matcher = NameMatcher(chinese_runs=runs)
    assert matcher.to_chinese("molnupiravir") == ["莫诺拉韦"]  # not 服莫诺拉韦 or 诺拉韦
    assert matcher.to_chinese("Nirmatrelvir") == ["奈玛特韦"]
    assert matcher.to_chinese("remdesivir") == []  # the library has no such name


def test_two_names_that_match_alike_pair_with_neither() -> None:
    # 托珠单抗 (tocilizumab) and 妥昔单抗 sound alike in the classes kept: an ambiguous name
    # stays unpaired, so the question is refused rather than misanswered.
    runs = {"单抗": ["使用托珠单抗", "使用妥昔单抗"]}
    assert NameMatcher(chinese_runs=runs).to_chinese("tocilizumab") == []
    assert NameMatcher(chinese_runs={"单抗": ["使用托珠单抗"]}).to_chinese("tocilizumab") == [
        "托珠单抗"
    ]
    # The library's word segmenter found 托珠 as a word and not 妥昔: the other gives way to
    # the word. Two words that tie still pair with neither.
    words = NameMatcher(chinese_runs=runs, chinese_words=frozenset({"托珠"}))
    assert words.to_chinese("tocilizumab") == ["托珠单抗"]
    both = NameMatcher(chinese_runs=runs, chinese_words=frozenset({"托珠", "妥昔"}))
    assert both.to_chinese("tocilizumab") == []


def test_a_piece_of_a_longer_name_is_never_a_name() -> None:
    # "②帕拉米韦": the text's Chinese starts at 帕, so 拉米韦 is a piece of 帕拉米韦
    # (peramivir), never the Chinese of laninamivir, whose dose the library does not give.
    assert NameMatcher(chinese_runs={"韦": ["帕拉米韦"]}).to_chinese("laninamivir") == []
    assert NameMatcher(chinese_runs={"单抗": ["利妥昔单抗"]}).to_chinese("tocilizumab") == []
    # After a word that takes a drug (用, 服), the name starts there.
    assert NameMatcher(chinese_runs={"韦": ["服莫诺拉韦"]}).to_chinese("molnupiravir") == [
        "莫诺拉韦"
    ]


def test_a_name_another_library_name_matches_better_belongs_to_that_one() -> None:
    runs = {"单抗": ["度伐利尤单抗", "替雷利珠单抗"]}
    # tuvonralimab sounds somewhat like 度伐利尤单抗, durvalumab more: the pair is durvalumab's.
    alone = NameMatcher(chinese_runs=runs)
    assert alone.to_chinese("tuvonralimab") == ["度伐利尤单抗"]
    library = NameMatcher(chinese_runs=runs, english_words=["durvalumab", "tislelizumab"])
    assert library.to_chinese("tuvonralimab") == []
    assert library.to_chinese("durvalumab") == ["度伐利尤单抗"]
    assert library.to_english("度伐利尤单抗") == ["durvalumab"]
    assert library.to_english("托珠单抗") == []  # no English name of the library sounds like it


def test_the_term_table_falls_back_to_names_only_when_no_layer_pairs_a_term() -> None:
    glossary = TermTable()
    glossary.add("奥司他韦", "oseltamivir")
    names = NameMatcher(chinese_runs={"韦": ["奥司他韦", "莫诺拉韦"]}, english_words=["tenofovir"])
    table = LayeredTerms((glossary,), clinical=1, names=names)
    assert table.to_chinese("oseltamivir") == ["奥司他韦"]
    assert table.to_chinese("molnupiravir") == ["莫诺拉韦"]
    assert table.translate("molnupiravir") == ["莫诺拉韦"]
    assert table.to_english("替诺福韦") == ["tenofovir"]
    assert LayeredTerms((glossary,), clinical=1).to_chinese("molnupiravir") == []


def test_a_name_a_table_pairs_with_another_drug_is_never_matched_by_sound() -> None:
    # famciclovir sounds enough like 伐昔洛韦 (fa-xi-luo-wei); 伐昔洛韦 is valacyclovir.
    names = NameMatcher(chinese_runs={"韦": ["预防伐昔洛韦"]})
    assert LayeredTerms((TermTable(),), names=names).to_chinese("famciclovir") == ["伐昔洛韦"]
    formulary = TermTable()
    formulary.add("伐昔洛韦", "valacyclovir")
    table = LayeredTerms((formulary,), names=names)
    assert table.to_chinese("famciclovir") == []
    assert table.to_chinese("valacyclovir") == ["伐昔洛韦"]
