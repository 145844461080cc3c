"""Where guidelines differ, in the UI (issue #17 §3): the notice and both sides side by side —
value, source (title, version, section), grade badge and the guideline's date — in zh and en.

Two guidelines are copies of the shipped influenza guideline's oseltamivir paragraph with the
adult dose changed in one (75 mg → 150 mg); one states its effective date in a sidecar, the
other none (its side shows the day it was added to the library, labelled so).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.config import Settings
from assistant.domain import AnswerMode, Role
from tests.factories import index_library, open_access, open_accounts
from ui.render import escape_markdown

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
PASSWORD = "correct horse battery staple"
TIMEOUT = 180
FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ADULT_DOSE = "成人剂量每次 75mg，每日 2 次。"
QUESTION = "成人流感患者奥司他韦的剂量是多少？"

pytestmark = pytest.mark.slow


# ---- the side-by-side block, drawn from a constructed answer ------------------------------------


def _render_conflict() -> None:
    import streamlit as st

    from assistant.domain import (
        Answer,
        AnswerMode,
        Certainty,
        ConflictSide,
        Grade,
        GuidelineConflict,
        Strength,
    )
    from ui.render import render_answer

    grade = Grade(strength=Strength.STRONG, certainty=Certainty.MODERATE, original="推荐A")
    answer = Answer(
        session_id="s",
        mode=AnswerMode.EXTRACTIVE,
        conflicts=[
            GuidelineConflict(
                subject=["奥司他韦"],
                aspect="dose",
                population=["adult"],
                sides=[
                    ConflictSide(n=1, doc_id="a", title="Flu guideline", version="2025",
                                 section="Antivirals", sentence="Adults: 75 mg twice daily.",
                                 quantity="75 mg", grade=grade, dated="2025-01-15",
                                 date_kind="effective"),
                    ConflictSide(n=2, doc_id="b", title="Consensus [x](http://e.x)",
                                 sentence="Adults: 150 mg twice daily.", quantity="150 mg",
                                 dated="2026-12-03", date_kind="ingested"),
                ],
            )
        ],
    )  # fmt: skip
    render_answer(answer, lang=st.session_state.get("lang", "en"), original=lambda s: None, key="k")


def _block(at: AppTest) -> tuple[list[str], list[str]]:
    """(markdown of the first column, markdown of the second) of the conflict's columns."""
    first, second = at.columns
    return [m.value for m in first.markdown], [m.value for m in second.markdown]


def test_a_conflict_is_a_notice_and_two_columns_in_english_and_chinese() -> None:
    at = AppTest.from_function(_render_conflict).run()
    assert not at.exception, at.exception
    markdown = [m.value for m in at.markdown]
    assert "**⚠ Guidelines differ**" in markdown
    assert [w.value for w in at.warning] == [
        escape_markdown(
            "These guidelines state different values for the dose of 奥司他韦. This answer does "
            "not choose between them: compare the sources and use clinical judgement."
        )
    ]
    assert "Population\\: adults" in [c.value for c in at.caption]
    [left], [right] = _block(at)
    e = escape_markdown
    assert left.split("  \n") == [
        f"**{e('[1] Flu guideline · version 2025')}**",
        f":red-badge[{e('Value')}\\: {e('75 mg')}]",
        e("section: Antivirals"),
        ":green-badge[Strong] :gray-badge[Certainty Moderate] As stated\\: 推荐A",
        e("Effective/published: 2025-01-15"),
        f"> {e('Adults: 75 mg twice daily.')}",
    ]
    right_lines = right.split("  \n")
    # The other guideline's title is untrusted text: escaped, no live link.
    assert right_lines[0] == f"**{e('[2] Consensus [x](http://e.x)')}**"
    assert "\u200b" in right_lines[0]
    assert right_lines[1:] == [
        f":red-badge[{e('Value')}\\: {e('150 mg')}]",
        f":gray-badge[{e('No grade stated')}]",
        e("Added to the library: 2026-12-03 (the guideline states no date)"),
        f"> {e('Adults: 150 mg twice daily.')}",
    ]

    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    assert "**⚠ 指南之间存在分歧**" in [m.value for m in at.markdown]
    assert "适用人群：成人" in [c.value for c in at.caption]
    assert [w.value for w in at.warning] == [
        "以下指南对奥司他韦的剂量给出了不同的数值。本回答不替您选择其一，请对照原文并结合临床判断。"
    ]
    [left], [right] = _block(at)
    assert ":green-badge[强推荐] :gray-badge[证据确定性 中] 原文：推荐A" in left
    assert escape_markdown("生效/发布日期：2025-01-15") in left
    assert ":red-badge[数值\\: 75 mg]" in left
    assert escape_markdown("入库日期：2026-12-03（指南未注明发布日期）") in right
    assert ":gray-badge[未注明推荐等级]" in right


# ---- end to end: the Chat page over two real guidelines --------------------------------------


@pytest.fixture(scope="module")
def conflict_dir(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("conflicts-app")
    text = (corpus_dir / FLU).read_text(encoding="utf-8")
    start = text.index("①奥司他韦")
    passage = text[start : text.index("②帕拉米韦", start)]
    assert ADULT_DOSE in passage
    first = root / "流感抗病毒治疗指南（2025年版）.txt"
    second = root / "季节性流感用药共识（2024年版）.txt"
    first.write_text(f"流感抗病毒治疗指南\n\n抗病毒治疗\n\n{passage}", encoding="utf-8")
    first.with_name(first.name + ".meta.yaml").write_text(
        "effective_date: 2025-01-15\n", encoding="utf-8"
    )
    changed = passage.replace(ADULT_DOSE, "成人剂量每次 150mg，每日 2 次。")
    second.write_text(f"季节性流感用药共识\n\n抗病毒治疗\n\n{changed}", encoding="utf-8")
    settings = Settings(data_dir=root / "data")
    index_library(settings, {"hospital": [first, second]}).store.close()  # the app opens it
    accounts = open_accounts(settings, access=open_access(settings))
    accounts.add_user("dr.li", role=Role.DOCTOR, department="cardiology", password=PASSWORD)
    return settings.data_dir


def test_chat_answer_shows_both_guidelines_side_by_side_with_their_dates(
    conflict_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDECITE_DATA_DIR", str(conflict_dir))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.session_state["gc_lang"] = "en"
    at.text_input(key="gc_username").set_value("dr.li")
    at.text_input(key="gc_password").set_value(PASSWORD)
    at = at.button[-1].click().run()
    at.chat_input(key="gc_question").set_value(QUESTION).run()
    assert not at.exception, at.exception
    answer = at.session_state["gc_history"][-1][1]
    assert answer.mode == AnswerMode.EXTRACTIVE and answer.conflicts
    conflict = answer.conflicts[0]
    by_title = {side.title: side for side in conflict.sides}
    assert set(by_title) == {"流感抗病毒治疗指南", "季节性流感用药共识"}
    dated = by_title["流感抗病毒治疗指南"]
    assert (dated.dated, dated.date_kind) == ("2025-01-15", "effective")
    undated = by_title["季节性流感用药共识"]
    today = datetime.now(UTC).date().isoformat()
    assert (undated.dated, undated.date_kind) == (today, "ingested")
    reply = at.chat_message[-1]
    assert "**⚠ Guidelines differ**" in [m.value for m in reply.markdown]
    columns = [" ".join(m.value for m in c.markdown) for c in reply.columns]
    assert len(columns) >= 2
    values = {side.quantity for side in conflict.sides}
    for side, column in zip(conflict.sides, columns[:2], strict=True):
        assert escape_markdown(f"[{side.n}] {side.title}") in column
        assert f":red-badge[Value\\: {escape_markdown(side.quantity)}]" in column
        assert all(v not in column for v in values - {side.quantity})
    both = " ".join(columns)
    assert escape_markdown("Effective/published: 2025-01-15") in both
    assert escape_markdown(f"Added to the library: {today} (the guideline states") in both

    at.session_state["gc_lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    reply = at.chat_message[-1]
    assert "**⚠ 指南之间存在分歧**" in [m.value for m in reply.markdown]
    assert any(w.value.startswith("以下指南对") for w in reply.warning)
    columns = " ".join(m.value for c in reply.columns for m in c.markdown)
    assert escape_markdown("生效/发布日期：2025-01-15") in columns
    assert escape_markdown(f"入库日期：{today}") in columns
