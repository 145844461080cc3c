"""A section the chunker cut between the sentence choosing its drug and that drug's dose
(issue #10): the dose is answered with the sentence naming the drug, through the real index
(Qdrant Edge, the shipped embedding model) and the whole answer path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.domain import AnswerMode, Principal, Role
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.service.understanding import precede_drugless_passages, understand_question
from tests.factories import (
    GuidelineWorld,
    answer_context,
    fake_drug,
    guideline_world,
)

DOCTOR = Principal(user="ward.doc", role=Role.DOCTOR, department="paediatrics")
_, DRUG = fake_drug(41)
_, OTHER = fake_drug(42)
# The steroid section of a guideline: its first paragraph chooses the drug, its second (long
# enough that the chunker starts a new chunk there) gives the dose without naming it.
GUIDELINE = f"""某病诊疗指南（2026年版）
一、概述
某病是儿童常见的呼吸道感染性疾病，多数为轻症，少数进展为重症，可遗留后遗症。
二、治疗
（一）一般治疗
注意休息，保持呼吸道通畅，必要时给予氧疗，维持水电解质平衡，监测生命体征和血氧饱和度。
（二）糖皮质激素治疗
糖皮质激素对于控制病情、降低后遗症发生非常重要，不应过早和过晚使用，使用的窗口期较窄，多在病程第五至第七天，初始剂量要足，疗效指标不仅是短期内体温正常，更重要的是肺部影像学好转吸收，避免或减轻后遗症发生。使用指征：轻症不推荐，用于重症和危重症，一般选择{DRUG}。在应用糖皮质激素时，需关注并及时处理混合感染、黏液栓及胸腔积液等并发症。
初始剂量：多为2mg/(kg.d)左右。整叶高密度均匀一致实变者可适当增加初始剂量。糖皮质激素应用后需每日评价疗效，若应用24小时体温下降不明显，应考虑是否存在混合感染、是否未完全清理黏液栓、未及时引流胸腔积液、诊断有误等。除外上述情况后，需考虑剂量不足。减量和疗程：若起始剂量能控制病情者，疗程7天左右，激素减量要缓慢，过快可引起反复。
（三）支气管镜治疗
有黏液栓阻塞者可及早行支气管镜检查和治疗，术后观察病情变化。
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuidelineWorld]:
    with guideline_world(
        tmp_path_factory, {"某病诊疗指南（2026年版）.txt": GUIDELINE}, roles=[DOCTOR]
    ) as made:
        yield made


@pytest.fixture
def ctx(world: GuidelineWorld, tmp_path: Path) -> Context:
    return answer_context(world, tmp_path)


def test_the_chunk_naming_the_drug_comes_before_its_dose_in_the_answer(ctx: Context) -> None:
    question = f"{DRUG}的初始剂量是多少？"
    analysis = understand_question(ctx, question, libraries=["hospital"])
    found = ctx.retriever.retrieve("初始剂量 2mg/(kg.d)", libraries=["hospital"])
    dose = [s for s in found.sources if "初始剂量：多为" in s.text]
    # The premise: the chunker cut the section there, so the dose chunk never names the drug.
    assert dose and DRUG not in dose[0].text, [s.text[:40] for s in found.sources]
    more = precede_drugless_passages(ctx, analysis, replace(found, sources=dose[:1]))
    assert [s.n for s in more.sources] == [1, 2]
    before = more.sources[1]
    assert (before.doc_id, before.chunk_index) == (dose[0].doc_id, (dose[0].chunk_index or 0) - 1)
    assert DRUG in before.text and before.section == dose[0].section
    # Through the whole path: the dose is shown, read with the sentence naming its drug.
    answer = answer_question(DOCTOR, question, ctx=ctx)
    texts = [s.text for s in answer.sentences]
    assert answer.mode == AnswerMode.EXTRACTIVE, answer
    at = texts.index("初始剂量：多为2mg/(kg.d)左右。")
    assert DRUG in texts[at - 1] and all(s.faithful and s.responsive for s in answer.sentences)


def test_a_dose_under_a_class_is_no_dose_of_another_drug_of_the_class(ctx: Context) -> None:
    # The section is about corticosteroids and chooses one; another steroid's dose is not stated.
    answer = answer_question(DOCTOR, f"{OTHER}的初始剂量是多少？", ctx=ctx)
    assert answer.mode == AnswerMode.REFUSED, answer
    assert not any("2mg/(kg.d)" in s.text for s in answer.sentences)
    # A passage naming the drug is not read back: it needs nothing before it.
    analysis = understand_question(ctx, f"{DRUG}的初始剂量是多少？", libraries=["hospital"])
    found = ctx.retriever.retrieve(DRUG, libraries=["hospital"])
    naming = replace(found, sources=[s for s in found.sources if DRUG in s.text][:1])
    assert naming.sources and precede_drugless_passages(ctx, analysis, naming) is naming
