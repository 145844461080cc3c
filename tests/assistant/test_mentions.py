"""Whether a name is mentioned in a text (assistant/mentions.py)."""

import pytest

from assistant.mentions import drug_shaped, form_in_text, without_names


def test_a_phrase_name_matches_with_words_set_between_its_own_in_one_sentence() -> None:
    assert form_in_text("single dose vial", "Never use single-dose or single-use vials twice.")
    assert form_in_text("single dose vial", "E. Single dose (single-use) medication vials")
    assert not form_in_text("single dose vial", "For a single patient. The dose in each vial")


def test_an_acronym_glued_to_another_in_chinese_text_is_found() -> None:
    assert form_in_text("DNA", "无论是否可以检测出 HBVDNA，均应治疗。")
    assert form_in_text("RNA", "HCVRNA 阳性者")
    # Inside an English word, or glued to lower-case letters, it is no acronym.
    assert not form_in_text("DNA", "DNase treatment")
    assert not form_in_text("HBV", "HBVx protein")
    assert not form_in_text("DNA", "RADNAX was used")


@pytest.mark.parametrize(
    ("name", "shaped"),
    [
        ("索拉非尼", True), ("瑞戈非尼", True), ("奥拉帕利", True), ("奥沙利铂", True),
        ("多柔比星", True), ("多西他赛", True), ("伊立替康", True), ("sorafenib", True),
        ("olaparib", True), ("palbociclib", True), ("irinotecan", True), ("吞咽", False),
        ("阿替普酶", True), ("替奈普酶", True), ("尿激酶", True), ("alteplase", True),
        ("nib", False), ("screening", False),
    ],
)  # fmt: skip
def test_kinase_inhibitors_platins_and_other_cancer_drugs_have_a_drugs_shape(
    name: str, shaped: bool
) -> None:
    assert drug_shaped(name) is shaped


def test_a_compound_written_as_one_word_is_the_phrase() -> None:
    # A PDF's text layer writes "long-term" as "longterm" and "follow-up" as "followup".
    assert form_in_text("long term", "For patients who have taken opioids longterm (≥1 year)")
    assert form_in_text("follow up", "Schedule followup within 1 week.")
    assert not form_in_text("long term", "The long and the short of the term.")


@pytest.mark.parametrize(
    ("form", "text", "found"),
    [
        ("multidose vial", "Multi-dose vials are dated when first opened.", True),
        ("multidose", "Use a multi-dose vial for one patient.", True),
        ("multidose vial", "Single-dose vials are discarded.", False),
    ],
)
def test_a_compound_the_question_writes_as_one_word_is_found_hyphenated(
    form: str, text: str, found: bool
) -> None:
    assert form_in_text(form, text) is found


def test_another_names_blanking_keeps_positions() -> None:
    text = "罗红霉素用法：红霉素另述"
    blanked = without_names(["罗红霉素"], text)
    assert len(blanked) == len(text)
    assert "罗红霉素" not in blanked
    assert blanked.index("红霉素") == text.index("红霉素另述")
