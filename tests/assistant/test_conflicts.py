"""Where guidelines differ (issue #17 §3): pairs of passages from different guidelines stating
different values for the question's subject, aspect and population."""

from __future__ import annotations

import pytest

from assistant.conflicts import find_conflicts
from assistant.domain import Grade, Source, Strength
from assistant.glossary import LayeredTerms, TermTable, cedict_table
from assistant.questions import QuestionAnalysis, analyse_question

# Shipped passage: 流行性感冒诊疗方案（2025年版）, 奥司他韦.
FLU_ZH = (
    "①奥司他韦：奥司他韦胶囊／颗粒剂适用于１岁及以上儿童及成人。成人剂量每次 75mg，每日 2 次。"
    "1 岁及以上年龄儿童推荐剂量：体重≤15kg，每次 30mg；15kg＜体重≤23kg，每次 45mg；"
    "23kg＜体重≤40kg 者，每次 60mg；＞40kg 者，每次 75mg。上述均为每日 2 次，疗程 5 天。"
)
FLU_EN = (
    "Oseltamivir is recommended for adults with influenza. "
    "For adults, the dose of oseltamivir is 75 mg twice daily for 5 days."
)


def table() -> LayeredTerms:
    glossary = TermTable()
    glossary.add("奥司他韦", "oseltamivir")
    glossary.add("扎那米韦", "zanamivir")
    return LayeredTerms((glossary, cedict_table()))


def ask(question: str) -> QuestionAnalysis:
    return analyse_question(question, table=table(), rarity=None)


def source(n: int, doc_id: str, text: str, *, title: str = "", grade: Grade | None = None):
    return Source(
        n=n,
        doc_id=doc_id,
        title=title or doc_id,
        version="2025",
        library="hospital",
        text=text,
        grade=grade,
    )


def test_a_changed_chinese_dose_in_another_guideline_is_a_conflict() -> None:
    grade = Grade(strength=Strength.STRONG, original="推荐A")
    sources = [
        source(1, "flu-2025", FLU_ZH, title="流行性感冒诊疗方案"),
        source(2, "flu-other", FLU_ZH.replace("每次 75mg，每日", "每次 150mg，每日"), grade=grade),
    ]
    conflicts = find_conflicts(ask("成人奥司他韦的剂量是多少？"), sources)
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict.subject == ["奥司他韦"]
    assert (conflict.aspect, conflict.population) == ("dose", ["adult"])
    first, second = conflict.sides
    assert (first.n, first.doc_id, first.title, first.quantity) == (
        1,
        "flu-2025",
        "流行性感冒诊疗方案",
        "75mg",
    )
    assert (second.doc_id, second.quantity, second.grade) == ("flu-other", "150mg", grade)
    assert "150mg" in second.sentence and "75mg" in first.sentence
    assert first.version == "2025"


def test_a_changed_english_duration_is_a_conflict() -> None:
    sources = [
        source(1, "cdc", FLU_EN),
        source(2, "who", FLU_EN.replace("for 5 days", "for 10 days")),
    ]
    conflicts = find_conflicts(ask("How long should adults take oseltamivir?"), sources)
    assert [(c.aspect, [s.quantity for s in c.sides]) for c in conflicts] == [
        ("duration", ["5 days", "10 days"])
    ]


@pytest.mark.parametrize(
    ("question", "other"),
    [
        # the same value, written another way (0.075 g = 75 mg)
        ("成人奥司他韦的剂量是多少？", FLU_ZH.replace("每次 75mg，每日", "每次 0.075g，每日")),
        # the same passage
        ("成人奥司他韦的剂量是多少？", FLU_ZH),
        # the other guideline only adds a value (a maximum) to the same one
        (
            "What is the oseltamivir dose for adults?",
            FLU_EN.replace("5 days.", "5 days, 150 mg maximum per day."),
        ),
    ],
)
def test_agreeing_guidelines_are_no_conflict(question: str, other: str) -> None:
    base = FLU_EN if question.isascii() else FLU_ZH
    sources = [source(1, "a", base), source(2, "b", other)]
    assert find_conflicts(ask(question), sources) == []


def test_the_same_guideline_never_conflicts_with_itself() -> None:
    changed = FLU_ZH.replace("每次 75mg，每日", "每次 150mg，每日")
    sources = [source(1, "flu", FLU_ZH), source(2, "flu", changed)]
    assert find_conflicts(ask("成人奥司他韦的剂量是多少？"), sources) == []


def test_different_populations_are_no_conflict() -> None:
    adult = "奥司他韦：成人剂量每次 75mg，每日 2 次。"
    child = "奥司他韦：儿童剂量每次 30mg，每日 2 次。"
    sources = [source(1, "a", adult), source(2, "b", child)]
    assert find_conflicts(ask("奥司他韦的剂量是多少？"), sources) == []
    en = [
        source(1, "a", "For adults, the oseltamivir dose is 75 mg twice daily."),
        source(2, "b", "For children, the oseltamivir dose is 30 mg twice daily."),
    ]
    assert find_conflicts(ask("What is the oseltamivir dose?"), en) == []


def test_different_drugs_are_no_conflict() -> None:
    sources = [
        source(1, "a", "奥司他韦：成人剂量每次 75mg，每日 2 次。"),
        source(2, "b", "扎那米韦：成人剂量每次 10mg，每日 2 次。"),
    ]
    assert find_conflicts(ask("成人奥司他韦的剂量是多少？"), sources) == []


def test_different_aspects_are_no_conflict() -> None:
    # One guideline differs in the duration; a dose question compares doses only.
    sources = [
        source(1, "a", FLU_EN),
        source(2, "b", FLU_EN.replace("for 5 days", "for 10 days")),
    ]
    assert find_conflicts(ask("What is the oseltamivir dose for adults?"), sources) == []


def test_a_question_without_a_numeric_aspect_finds_none() -> None:
    sources = [
        source(1, "a", "奥司他韦禁用于对本品过敏者，成人剂量每次 75mg。"),
        source(2, "b", "奥司他韦禁用于对本品过敏者，成人剂量每次 150mg。"),
    ]
    assert find_conflicts(ask("奥司他韦有哪些禁忌？"), sources) == []
