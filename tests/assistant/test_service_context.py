"""Question cleaning: whole terminal escape sequences are stripped, not just their ESC byte."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.service.ask import clean_question, visible_text

RNG = random.Random(20260611)


def _sgr() -> str:
    codes = ";".join(str(RNG.choice([0, 1, 4, 7, *range(30, 38), *range(90, 98)])) for _ in "ab")
    return f"\x1b[{codes}m"


def _generated_sequences() -> list[str]:
    """Escape sequences of every family, with generated parameters."""
    n = RNG.randint(1, 80)
    title = "".join(RNG.choice("abcxyz 患者标题") for _ in range(RNG.randint(1, 12)))
    return [
        _sgr(),  # colours (the probe's "[31m")
        f"\x1b[{n}A",  # cursor up
        f"\x1b[{n};{n + 1}H",  # cursor position
        "\x1b[2J",  # erase screen
        "\x1b[?25l",  # hide cursor (private parameter)
        f"\x9b{n}m",  # 8-bit CSI
        f"\x1b]0;{title}\x07",  # window title, BEL-terminated OSC
        f"\x1b]2;{title}\x1b\\",  # window title, ST-terminated OSC
        f"\x9d0;{title}\x9c",  # 8-bit OSC and ST
        f"\x1bPq#{n};2;0;0;0\x1b\\",  # DCS (sixel)
        f"\x1b_{title}\x1b\\",  # APC
        "\x1b(B",  # designate character set
        "\x1b7",  # save cursor
        "\x1bc",  # reset
    ]


@pytest.mark.parametrize("sequence", _generated_sequences())
def test_whole_escape_sequences_are_stripped(sequence: str) -> None:
    question = f"流感{sequence}患者的{sequence}奥司他韦剂量？"
    assert clean_question(question, max_chars=100) == "流感患者的奥司他韦剂量？"


def test_hyperlink_keeps_its_visible_text_only() -> None:
    link = f"https://example.org/{RNG.randrange(10**6)}"
    question = f"dose of \x1b]8;;{link}\x1b\\oseltamivir\x1b]8;;\x1b\\ in adults?"
    assert visible_text(question) == "dose of oseltamivir in adults?"


def test_invisible_character_inside_a_sequence_does_not_leave_its_tail() -> None:
    assert visible_text("流感\x1b\u200b[31m剂量") == "流感剂量"


def test_brackets_without_escape_are_kept() -> None:
    question = "Is [31m] a valid code (CSI [0m)?"
    assert visible_text(question) == question


_ESCAPES = st.sampled_from(["\x1b", "\x9b", "\x9d", "\x07", "\x9c", "\\", "[", "]", ";", "m"])
_TEXT = st.text(
    alphabet=st.one_of(_ESCAPES, st.sampled_from(list("流感剂量 0123456789?PX^_(B"))),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT)
def test_visible_text_is_idempotent_and_escape_free(text: str) -> None:
    cleaned = visible_text(text)
    assert "\x1b" not in cleaned and "\x9b" not in cleaned and "\x9d" not in cleaned
    assert visible_text(cleaned) == cleaned
