"""Where guidelines differ, end to end (issue #17 §3): two guidelines in one library, copies of
a shipped passage with one dose changed, real Qdrant Edge, MiniLM, SQLite audit and Casbin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.audit.log import open_audit_log
from assistant.citations import split_sentences
from assistant.config import LLMSettings, Settings
from assistant.domain import AnswerMode, ConflictSide, GuidelineConflict, Principal, Role
from assistant.gates import GateRegistry
from assistant.llm import ChatModel
from assistant.prompts import system_prompt
from assistant.service.ask import answer_question, conflict_message
from assistant.service.context import Context
from tests.factories import index_library, open_access
from tests.fakes.sglang import json_completion, read_sources

DOCTOR = Principal(user="ward.doc", role=Role.DOCTOR, department="cardiology")
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ADULT_DOSE = "成人剂量每次 75mg，每日 2 次。"


def _oseltamivir_passage(corpus_dir: Path) -> str:
    """The shipped 奥司他韦 paragraph of the flu guideline, up to 帕拉米韦."""
    text = (corpus_dir / FLU).read_text(encoding="utf-8")
    start = text.index("①奥司他韦")
    passage = text[start : text.index("②帕拉米韦", start)]
    assert ADULT_DOSE in passage
    return passage


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("conflicts")
    passage = _oseltamivir_passage(corpus_dir)
    first = root / "流感抗病毒治疗指南（2025年版）.txt"
    second = root / "季节性流感用药共识（2024年版）.txt"
    first.write_text(f"流感抗病毒治疗指南\n\n抗病毒治疗\n\n{passage}", encoding="utf-8")
    changed = passage.replace(ADULT_DOSE, "成人剂量每次 150mg，每日 2 次。")
    second.write_text(f"季节性流感用药共识\n\n抗病毒治疗\n\n{changed}", encoding="utf-8")
    settings = Settings(data_dir=root / "data")
    library = index_library(settings, {"hospital": [first, second]})
    access = open_access(settings, roles=[DOCTOR])
    yield {
        "settings": settings,
        "store": library.store,
        "embedder": library.embedder,
        "access": access,
    }
    library.store.close()


def test_two_guidelines_stating_different_doses_are_shown_side_by_side_and_flagged(
    world: dict[str, Any], tmp_path: Path
) -> None:
    settings: Settings = world["settings"]
    ctx = Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings.model_copy(update={"data_dir": tmp_path / "audit"})),
    )
    answer = answer_question(DOCTOR, "成人流感患者奥司他韦的剂量是多少？", ctx=ctx)
    assert answer.mode == AnswerMode.EXTRACTIVE
    assert len(answer.conflicts) >= 1
    conflict = answer.conflicts[0]
    assert (conflict.aspect, conflict.population) == ("dose", ["adult"])
    sides = {side.quantity.replace(" ", "") for side in conflict.sides}
    assert sides == {"75mg", "150mg"}
    assert len({side.doc_id for side in conflict.sides}) == 2
    # Both passages are among the shown sources, under their numbers.
    shown = {s.n: s for s in answer.sources}
    for side in conflict.sides:
        assert shown[side.n].doc_id == side.doc_id
        assert side.sentence.replace(" ", "") in shown[side.n].text.replace(" ", "")
    # The answer says so instead of choosing one side, and goes to review.
    assert answer.message is not None
    assert answer.message.startswith("两部指南对此给出的数值不同，请对照原文")
    assert "150mg" in answer.message.replace(" ", "") and "75mg" in answer.message.replace(" ", "")
    flag = next(f for f in answer.flags if f.code == "guideline_conflict")
    assert flag.severity == "high"
    assert answer.model_dump(mode="json")["conflicts"][0]["sides"][0]["doc_id"]
    events = list(ctx.audit.iter_events())
    assert [e.action for e in events] == ["ask"]
    recorded = events[0].detail_json
    assert recorded["conflicts"] == [c.model_dump(mode="json") for c in answer.conflicts]
    assert "guideline_conflict" in {f["code"] for f in recorded["flags"]}
    item = ctx.review_queue().by_answer(answer.answer_id)
    assert item is not None and "guideline_conflict" in item.flags


def test_the_conflict_message_names_both_sides_in_the_question_language() -> None:
    conflict = GuidelineConflict(
        subject=["oseltamivir"],
        aspect="dose",
        population=["adult"],
        sides=[
            ConflictSide(n=1, doc_id="a", title="Flu guideline", version="2025", sentence="s",
                         quantity="75 mg"),
            ConflictSide(n=3, doc_id="b", title="Other consensus", sentence="t",
                         quantity="150 mg"),
        ],
    )  # fmt: skip
    assert conflict_message([conflict], language="en") == (
        "Two guidelines state different values for this; compare the sources: "
        "[1] Flu guideline (2025): 75 mg / [3] Other consensus: 150 mg"
    )
    assert conflict_message([conflict], language="zh") == (
        "两部指南对此给出的数值不同，请对照原文："
        "[1] Flu guideline (2025): 75 mg / [3] Other consensus: 150 mg"
    )


# ---- with the model (issue #17: the prompt asks to report disagreement; the verifier checks) --


def _one_side(request: dict[str, Any]):
    """A model that ignores the rule and states only the 150 mg guideline's dose."""
    for n, body in read_sources(request).items():
        for sentence in split_sentences(body):
            if "150mg" in sentence.replace(" ", ""):
                text = sentence if "奥司他韦" in sentence else f"奥司他韦{sentence}"
                said = [{"text": text, "citations": [n]}]
                return json_completion({"sentences": said, "insufficient_evidence": False})
    raise AssertionError("no 150 mg source was given")


def test_a_model_that_picks_one_side_still_gets_the_notice_and_the_flag(
    world: dict[str, Any], tmp_path: Path, sglang_server
) -> None:
    # Audit, gates and the review queue of this test's own; the indexed store is shared.
    settings = world["settings"].model_copy(update={"data_dir": tmp_path / "own"})
    GateRegistry.open(settings).record(
        department="cardiology",
        reference="IRB-CONFLICT-1",
        approved_by="ethics.chair",
        approved_on=date(2000, 1, 1),
        expires_on=date(2099, 1, 1),
    )
    ctx = Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings),
        chat=ChatModel(LLMSettings(base_url=sglang_server.base_url, timeout_s=5, max_retries=0)),
    )
    sglang_server.responder = _one_side
    answer = answer_question(DOCTOR, "成人流感患者奥司他韦的剂量是多少？", ctx=ctx)
    # The prompt asked for both sides and for grades kept with their statements.
    request = next(r for r in sglang_server.requests if read_sources(r))
    system = request["messages"][0]["content"]
    assert "不要只选其一" in system and "保留该等级" in system
    assert answer.mode == AnswerMode.GENERATIVE, answer.flags
    # The model's one-sided sentence is faithful to its source, so it is shown...
    assert [s.text.replace(" ", "") for s in answer.sentences if s.supported]
    cited = {n for s in answer.sentences for n in s.citations}
    shown = {s.n: s for s in answer.sources}
    assert all("150mg" in shown[n].text.replace(" ", "") for n in cited)
    # ...but the answer still names both values, carries both passages and goes to review.
    assert answer.conflicts
    sides = {side.quantity.replace(" ", "") for side in answer.conflicts[0].sides}
    assert sides == {"75mg", "150mg"}
    assert all(side.n in shown for side in answer.conflicts[0].sides)
    assert answer.message is not None and answer.message.startswith("两部指南对此给出的数值不同")
    flag = next(f for f in answer.flags if f.code == "guideline_conflict")
    assert flag.severity == "high" and "the answer cites one side only" in flag.detail
    assert ctx.review_queue().by_answer(answer.answer_id) is not None


def test_the_prompt_asks_to_keep_grades_and_report_disagreement_in_both_languages() -> None:
    en, zh = system_prompt("en"), system_prompt("zh")
    assert "keep that grade with the statement" in en
    assert "do not choose one" in en and "say that the guidelines differ" in en
    assert "保留该等级" in zh and "说明各指南之间存在分歧" in zh
