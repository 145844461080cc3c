"""The department needs report: topics by clinical subject in both languages, guideline gaps by
the subject the library lacks, weekly trends, exports, redacted text only (issue 6 item 5, #16)."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.audit.log import open_audit_log
from assistant.config import Settings, get_settings
from assistant.domain import AnswerMode, Principal, Role
from assistant.service.ask import answer_question
from assistant.service.context import Context, open_context
from assistant.service.feedback import record_feedback
from assistant.service.needs import build_needs_report, report_csv, summarise_gaps
from tests.factories import index_library, open_access

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
DOCTOR = Principal(user="card.doc", role=Role.DOCTOR, department="cardiology")

# GB 11643: the 18th character of a resident ID is a checksum of the first 17.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(rng: random.Random) -> str:
    """A checksum-valid resident ID (Beijing Dongcheng, born 1960-1999)."""
    body = (
        f"110101{rng.randint(1960, 1999)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        f"{rng.randint(0, 999):03d}"
    )
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def mobile(rng: random.Random) -> str:
    return f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Iterator[dict[str, Any]]:
    """One real library (the influenza guideline) that every department may read."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("needs"))
    library = index_library(settings, {"hospital": [corpus_dir / FLU]})
    store, embedder = library.store, library.embedder
    access = open_access(settings, roles=[DOCTOR], libraries={"cardiology": "cardiology"})
    yield {"settings": settings, "store": store, "embedder": embedder, "access": access}
    store.close()


def make_ctx(world: dict[str, Any], tmp_path: Path) -> Context:
    settings: Settings = world["settings"]
    return Context(
        settings=settings,
        store=world["store"],
        embedder=world["embedder"],
        access=world["access"],
        audit=open_audit_log(settings.model_copy(update={"data_dir": tmp_path / "audit"})),
    )


def seeded_questions(rng: random.Random) -> dict[str, list[str]]:
    """Questions in both languages on a covered drug and disease and on an uncovered drug."""
    ids = [resident_id(rng) for _ in range(2)]
    phones = [mobile(rng) for _ in range(2)]
    return {
        "covered": [
            "成人流感患者奥司他韦剂量多少？",
            "What is the oseltamivir dose for influenza in adults?",
            "流感的潜伏期是多久？",
            "What is the incubation period of influenza?",
        ],
        "uncovered": [
            "华法林的起始剂量是多少？",
            "What is the starting dose of warfarin?",
            f"患者身份证号{ids[0]}，电话{phones[0]}，华法林剂量？",
            f"Patient ID {ids[1]}, phone {phones[1]}: when to start warfarin?",
        ],
        "identifiers": [*ids, *phones],
    }


def test_report_names_subjects_in_both_languages_and_the_gaps(world, tmp_path: Path) -> None:
    ctx = make_ctx(world, tmp_path)
    seeded = seeded_questions(random.Random(20240611))
    answers = {q: answer_question(DOCTOR, q, ctx=ctx) for q in seeded["covered"]}
    assert all(a.mode != AnswerMode.REFUSED for a in answers.values()), answers
    for q in seeded["uncovered"]:
        assert answer_question(DOCTOR, q, ctx=ctx).mode == AnswerMode.REFUSED
    for q in seeded["covered"][:2]:  # the oseltamivir answers get 👎
        record_feedback(DOCTOR, answer_id=answers[q].answer_id, helpful=False, ctx=ctx)

    report = build_needs_report(ctx, "cli:test", department="cardiology", table=ctx.term_table())

    topics = {t["key"]: t for t in report["topics"]}
    assert set(topics) == {"oseltamivir", "influenza", "warfarin"}
    influenza = topics["influenza"]
    assert influenza["count"] == 2 and {"流感", "influenza"} <= set(influenza["names"])
    assert influenza["subject"] == "流感 / influenza"
    assert {"奥司他韦", "oseltamivir"} <= set(topics["oseltamivir"]["names"])
    assert topics["warfarin"]["count"] == 4 and topics["warfarin"]["refused"] == 4
    # Every question of the report period falls in a week of the trend.
    assert sum(p["count"] for t in report["topics"] for p in t["trend"]) == 8
    [gap] = report["gaps"]
    assert gap["key"] == "warfarin" and gap["kind"] == "not_in_library"
    assert {"华法林", "warfarin"} <= set(gap["missing"]) and gap["count"] == 4
    assert gap["first_asked"] <= gap["last_asked"]
    [weak] = report["failing"]
    assert weak["key"] == "oseltamivir" and weak["not_helpful"] == 2
    lines = list(summarise_gaps(report))
    assert lines[0].startswith("no passage on 华法林 / warfarin: 4 question(s)")

    # Only redacted question text: the generated identifiers appear nowhere, in any export.
    exported = [json.dumps(report, ensure_ascii=False), report_csv(report), *lines]
    for identifier in seeded["identifiers"]:
        assert all(identifier not in text for text in exported), identifier
    assert any("[身份证号" in e for e in gap["examples"]) or len(gap["examples"]) == 3
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert [r["section"] for r in rows].count("topic") == 3
    assert any(r["section"] == "gap:not_in_library" and "warfarin" in r["names"] for r in rows)
    assert [e.action for e in ctx.audit.iter_events()][-1] == "report_needs"


def test_old_events_are_analysed_and_generic_words_are_no_topic() -> None:
    ctx = open_context(get_settings())
    ctx.access.seed_defaults()
    ctx.access.assign_library(library="cardiology", department="cardiology")

    def ask(question: str, *, mode: str, department: str = "cardiology") -> None:
        # Events from before #10: no subject, aspect or refusal recorded.
        ctx.audit.append_event(
            actor="dr", role="doctor", department=department, session_id="s", action="ask",
            object="library:hospital", outcome=mode,
            detail={"question": question, "mode": mode, "flags": [],
                    "sources": [{"library": "hospital"}]},
        )  # fmt: skip

    ask("房颤患者如何抗凝？", mode="refused")
    ask("How to anticoagulate atrial fibrillation?", mode="refused")
    ask("二甲双胍首选剂量？", mode="extractive")
    ask("剂量怎么算？", mode="extractive")
    ask("When should I start?", mode="extractive")
    ask("化疗方案？", mode="refused", department="oncology")
    ctx.audit.append_event(
        actor="dr", role="doctor", department="cardiology", session_id="s", action="feedback",
        object="answer:x", outcome="not_helpful", detail={},
    )  # fmt: skip
    report = build_needs_report(ctx, "cli:test", department="cardiology")
    assert report["questions"] == 5
    topics = {t["key"]: t for t in report["topics"]}
    assert set(topics) == {"atrial fibrillation", "metformin"}
    assert {"房颤", "atrial fibrillation"} <= set(topics["atrial fibrillation"]["names"])
    assert report["without_subject"]["count"] == 2
    [gap] = report["gaps"]
    assert gap["key"] == "atrial fibrillation" and gap["count"] == 2
    assert report["feedback"] == {"count": 1, "rate": 0.2, "helpful": 0, "not_helpful": 1}
    assert report["libraries"] == {
        "available": ["cardiology", "hospital"],
        "never_used": ["cardiology"],
    }
    assert "化疗方案？" not in str(report)  # another department's questions stay out
    assert [e.action for e in ctx.audit.iter_events()][-1] == "report_needs"
