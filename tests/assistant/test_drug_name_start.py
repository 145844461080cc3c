"""A drug name jieba cut at its first character, asked about a population the guideline
covers by another word (issue #10): "育龄女性可能怀孕，流感能用法维拉韦吗？" through the real
index (Qdrant Edge, the shipped embedding model) and the extractive answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.domain import AnswerMode, Principal, Role
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.service.understanding import understand_question
from assistant.zh_names import take_back_name_starts
from tests.factories import GuidelineWorld, answer_context, guideline_world

DOCTOR = Principal(user="flu.doc", role=Role.DOCTOR, department="respiratory")
FLU = """流行性感冒诊疗方案

七、抗病毒治疗

（一）神经氨酸酶抑制剂

①奥司他韦：成人剂量每次75mg，每日2次，疗程5天。

②扎那米韦：适用于成人及7岁以上儿童，每次10mg，每日2次。

（二）RNA聚合酶抑制剂

①法维拉韦：适用于成人新型或再次流行的流感的治疗，但仅限于其他抗流感病毒药物治疗无效或效果不佳时使用。孕妇或可能怀孕的妇女禁用，哺乳期妇女使用时应暂停哺乳。用法：口服，第1天，每次1600mg，每日2次；第2～5天，每次600mg，每日2次。

②玛巴洛沙韦：适用于5岁及以上人群，单次口服。
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuidelineWorld]:
    with guideline_world(tmp_path_factory, {"流行性感冒诊疗方案.txt": FLU}, roles=[DOCTOR]) as made:
        yield made


@pytest.fixture
def ctx(world: GuidelineWorld, tmp_path: Path) -> Context:
    return answer_context(world, tmp_path)


def test_the_name_takes_back_its_first_character(ctx: Context) -> None:
    # jieba cuts "能用法维拉韦吗" as 用法 + 维拉 + 韦: 用法 (usage) made it a dose question about
    # 维拉韦, a name the guideline never writes on its own.
    analysis = understand_question(ctx, "流感能用法维拉韦吗？", libraries=["hospital"])
    assert "法维拉韦" in [t.term for t in analysis.anchors]
    assert analysis.aspect is None
    # A name the library writes on its own keeps it: 口服 + 阿奇霉素 stay apart.
    alone = {"阿奇霉素", "法维拉韦"}.__contains__
    assert take_back_name_starts(["口服", "阿奇霉素"], alone, lambda w: False) == [
        "口服",
        "阿奇霉素",
    ]
    assert take_back_name_starts(["能", "用法", "维拉韦"], alone, lambda w: False) == [
        "能",
        "用",
        "法维拉韦",
    ]


def test_women_who_may_become_pregnant_are_answered_by_what_it_says_of_them(
    ctx: Context,
) -> None:
    answer = answer_question(DOCTOR, "育龄女性可能怀孕，流感能用法维拉韦吗？", ctx=ctx)
    assert answer.mode == AnswerMode.EXTRACTIVE, answer.refusal
    shown = [s.text for s in answer.sentences if s.supported]
    assert any("可能怀孕的妇女禁用" in s for s in shown), shown
    assert not any("奥司他韦" in s or "玛巴洛沙韦" in s for s in shown), shown
