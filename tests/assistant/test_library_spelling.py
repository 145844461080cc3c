"""A name the library writes otherwise in the question's own language (issue #10): "glucometer"
is searched as the guideline's "blood glucose meters" even when a passage in the other
language already holds the name (血糖仪), through the real index (Qdrant Edge, the shipped
embedding model) and the second search for a missing name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.domain import Principal, Role
from assistant.service.context import Context
from assistant.service.understanding import search_for_subject, understand_question
from tests.factories import (
    GuidelineWorld,
    answer_context,
    guideline_world,
)

DOCTOR = Principal(user="clinic.doc", role=Role.DOCTOR, department="outpatient")
METER = (
    "If used for more than one patient, blood glucose meters are cleaned and disinfected after "
    "every use according to the manufacturer's instructions."
)
# Passages on other point-of-care devices sharing the question's other words (same, multiple
# patients, clinic), which the question's own wording ranks first.
DISTRACTORS = [
    f"{n}. {thing.title()} safety\nNever use the same {thing} for multiple patients in the "
    f"clinic, even if the {thing} looks clean. The same {thing} used on multiple patients has "
    f"spread hepatitis B, hepatitis C and HIV in outpatient clinics. Clinic staff are trained "
    f"in the safe handling of each {thing}, and the clinic audits how each {thing} is used, "
    f"stored and discarded, and reports every breach to the infection prevention lead."
    for n, thing in enumerate(
        ["insulin pen", "lancing device", "blood pressure cuff", "thermometer",
         "pulse oximeter", "test strip container", "nebulizer", "finger-stick device"],
        start=1,
    )
]  # fmt: skip
GUIDE = "\n\n".join(
    ["Outpatient infection prevention guide", *DISTRACTORS, f"9. Point-of-care testing\n{METER}"]
)
SELF_CARE = (
    "脑血管病自我管理指南\n\n通过家庭自备的血压计、血糖仪等设备进行自测，记录在个人健康日志中。"
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GuidelineWorld]:
    with guideline_world(
        tmp_path_factory,
        {"outpatient-guide.txt": GUIDE, "脑血管病自我管理指南.txt": SELF_CARE},
        roles=[DOCTOR],
    ) as made:
        yield made


@pytest.fixture
def ctx(world: GuidelineWorld, tmp_path: Path) -> Context:
    return answer_context(world, tmp_path)


def test_a_name_written_otherwise_is_searched_by_the_librarys_spelling(ctx: Context) -> None:
    question = "Can we use the same glucometer on multiple patients in the clinic?"
    analysis = understand_question(ctx, question, libraries=["hospital"])
    assert "blood glucose meter" in analysis.respelled
    # What the first search left: other devices' passages and the Chinese one naming 血糖仪,
    # which holds the name in the other language.
    plain = ctx.retriever.retrieve(question, libraries=["hospital"])
    chinese = ctx.retriever.retrieve("血糖仪 自测", libraries=["hospital"]).sources[:1]
    assert chinese and "血糖仪" in chinese[0].text
    kept = [s for s in plain.sources if "glucose meters" not in s.text][:4] + chinese
    first = replace(plain, sources=[s.model_copy(update={"n": n}) for n, s in enumerate(kept, 1)])
    found = search_for_subject(ctx, analysis, first, libraries=["hospital"])
    assert any("blood glucose meters" in s.text for s in found.sources), found.sources
