"""List items, their heads and lead-ins (assistant/passage_layout.py; issue #10 item 3)."""

from __future__ import annotations

from assistant.passage_layout import (
    clauses_before,
    introduces_a_list,
    is_lead_in,
    layout,
    marker_kind,
    numbered_entries,
)

# The shape of Chinese guideline text: numbered items under a lead-in, a drug's item running
# over several sentences, clauses joined by semicolons.
PASSAGE = """（1）抗病毒药物。
①甲药：胶囊适用于成人。成人剂量每次 50mg，每日 2 次。
儿童推荐剂量：体重≤15kg，每次 20mg；
15kg＜体重≤30kg，每次 30mg；
上述均为每日 2 次，疗程 7 天。
②乙药：成人一次 200mg。
2.出院标准（满足下列全部条件）：
（1）体温正常 3 天以上。
（2）症状明显好转。
3.居家隔离。"""


def test_marker_kinds_and_lead_ins() -> None:
    assert marker_kind("（1）抗病毒药物。") == "paren"
    assert marker_kind("①甲药：胶囊适用于成人。") == "circled"
    assert marker_kind("2.出院标准：") == "number"
    assert marker_kind("2.5 mg daily.") is None
    assert marker_kind("• Offer naloxone.") == "bullet"
    assert is_lead_in("出院标准（满足下列全部条件）：") and is_lead_in("include the following:")
    assert not is_lead_in("①甲药：胶囊适用于成人。")


def test_a_sentence_stands_under_the_head_of_its_list_item() -> None:
    structure = layout(PASSAGE)
    sentences = list(structure.sentences)
    course = sentences.index("上述均为每日 2 次，疗程 7 天。")
    item = sentences.index("①甲药：胶囊适用于成人。")
    assert item in structure.heads[course]
    # The next item's sentences stand under their own item, not the one before.
    other = sentences.index("②乙药：成人一次 200mg。")
    assert item not in structure.heads[other]


def test_a_lead_in_introduces_its_items_and_they_stand_under_it() -> None:
    structure = layout(PASSAGE)
    sentences = list(structure.sentences)
    lead = sentences.index("2.出院标准（满足下列全部条件）：")
    items = [sentences[i] for i in structure.items[lead]]
    assert items == ["（1）体温正常 3 天以上。", "（2）症状明显好转。"]
    assert lead in structure.heads[sentences.index("（2）症状明显好转。")]
    # A colon inside an item ("儿童推荐剂量：…") opens no list of items.
    assert structure.items[sentences.index("儿童推荐剂量：体重≤15kg，每次 20mg；")] == ()


def test_a_lead_in_whose_list_the_passage_does_not_hold_has_no_items() -> None:
    structure = layout("诊断标准如下。\n住院标准（满足下列任意1条）：")
    assert structure.items[-1] == ()


def test_clauses_before_reach_back_over_semicolons_only() -> None:
    sentences = list(layout(PASSAGE).sentences)
    second = sentences.index("15kg＜体重≤30kg，每次 30mg；")
    assert clauses_before(sentences, second) == ["儿童推荐剂量：体重≤15kg，每次 20mg；"]
    first = sentences.index("儿童推荐剂量：体重≤15kg，每次 20mg；")
    assert clauses_before(sentences, first) == []


def test_an_item_that_is_a_lead_in_takes_its_own_list_along() -> None:
    text = (
        "Key recommendations for hand hygiene:\n"
        "1. Key situations where hand hygiene should be performed include:\n"
        "a. Before contact with a patient.\nb. Before an aseptic task.\nc. After contact.\n"
        "2. Use soap and water when hands are visibly soiled.\n"
        "Key recommendations for injection safety:\n"
    )
    structure = layout(text)
    assert structure.sentences[2] == "a. Before contact with a patient."
    assert structure.items[0] == (1, 2, 3, 4, 5)
    assert structure.items[1] == (2, 3, 4)
    assert structure.heads[3] == (1,)


def test_lettered_items_inline_or_on_lines_are_sentences_of_their_own() -> None:
    from assistant.citations import split_sentences
    from assistant.generation import clean_shown

    inline = "Situations include: a. Before contact with a patient. b. Before an aseptic task."
    assert split_sentences(inline) == [
        "Situations include: a. Before contact with a patient.",
        "b. Before an aseptic task.",
    ]
    assert split_sentences("a. First.\nb. Second.") == ["a. First.", "b. Second."]
    assert split_sentences("Take vitamin A. Then rest.") == ["Take vitamin A.", "Then rest."]
    assert clean_shown("b. Before an aseptic task.") == "Before an aseptic task."
    assert clean_shown("E. coli causes it.") == "E. coli causes it."


def test_numbered_entries_are_marked_and_an_age_before_a_label_is_no_mark() -> None:
    passage = (
        "①奥司他韦：胶囊适用于1岁及以上儿童。1岁以下儿童推荐剂量：2周～8月龄，每次3.0mg/kg；"
        "1岁及以上年龄儿童推荐剂量：体重≤15kg，每次30mg。②帕拉米韦：成人300mg。"
    )
    # "1岁以下儿童推荐剂量：" labels rows inside the 奥司他韦 entry; it is no sibling of it.
    assert numbered_entries(passage) == frozenset({"奥司他韦", "帕拉米韦"})
    assert numbered_entries("（1）成人：75mg。（2）儿童：2mg/kg。3.老年人：同成人。") == frozenset(
        {"成人", "儿童", "老年人"}
    )


def test_a_sentence_speaking_of_the_list_after_it_introduces_that_list() -> None:
    """ "…伴有以下至少一项中毒表现的患者需使用抗蛇毒血清。" ends in a full stop; the list it speaks
    of follows under "中毒表现：". Asked when antivenom is needed, it was shown without its
    signs (and the signs, standing under a lead-in that states nothing, were dropped)."""
    text = (
        "抗蛇毒血清使用指征：伴有以下至少一项中毒表现的患者需使用抗蛇毒血清。"
        "中毒表现：①咬伤48小时内局部肿胀超过咬伤肢体一半；②肿胀快速进展。"
    )
    structure = layout(text)
    assert structure.items[0] == (1, 2, 3), structure
    assert 0 in structure.heads[2] and 0 in structure.heads[3]
    assert introduces_a_list(structure.sentences[0])
    # Its own marked items right after it ("…并符合以下之一，应尽早考虑评估实施ECMO。①…；②…").
    direct = layout(
        "并符合以下之一，应尽早考虑评估实施ECMO。①氧合指数＜50mmHg超过3小时；②pH＜7.25。"
    )
    assert direct.items[0] == (1, 2), direct
    # A sentence that speaks of no list after it introduces nothing.
    plain = layout("患者需使用抗蛇毒血清。中毒表现：①局部肿胀；②肿胀快速进展。")
    assert plain.items[0] == ()
    assert not introduces_a_list("患者需使用抗蛇毒血清。")
