"""The quantity normaliser: formatting variants agree, different doses and units never do."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.quantities import Quantity, extract_quantities, quantity_supported

FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")
# canonical unit -> spellings that must all normalise to it
UNIT_SPELLINGS: dict[str, list[str]] = {
    "ug": ["μg", "µg", "ug", "mcg", "微克"],
    "mg": ["mg", "毫克", "milligrams"],
    "g": ["g", "克"],
    "kg": ["kg", "千克", "公斤"],
    "ml": ["ml", "mL", "毫升"],
    "l": ["L", "升"],
    "iu": ["IU", "国际单位", "U", "单位"],
    "mmol/l": ["mmol/L", "mmol/l", "毫摩尔/升"],
    "%": ["%", "％", " percent"],
    "year": ["岁", " years old", " yr", "年"],
    "day": ["天", "日", " days"],
    "week": ["周", " weeks"],
    "month": ["个月", " months"],
    "hour": ["小时", " h", " hours"],
    "min": ["分钟", " min", " minutes"],
    "times": ["次", " times"],
    "mg/kg": ["mg/kg", "毫克/千克"],
    "mg/kg/day": ["mg/(kg·d)", "mg/kg/d", "mg/kg/day", "mg·kg⁻¹·d⁻¹", "mg/kg per day"],
}
RANGE_SEPARATORS = ["~", "～", "至", "-", "–", " to ", " ~ ", "〜"]


def only(text: str) -> Quantity:
    found = extract_quantities(text)
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize(
    "text",
    ["1~7天", "1～7 天", "1至7天", "1-7 days", "1 to 7 days", "1–7天", "１～７天", "1 ~ 7日"],
)
def test_range_spellings_are_one_range_of_days(text: str) -> None:
    assert only(text) == Quantity(1, 7, "day", "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三天", Quantity(3, 3, "day", "")),
        ("十四天", Quantity(14, 14, "day", "")),
        ("两周", Quantity(2, 2, "week", "")),
        ("百分之五", Quantity(5, 5, "%", "")),
        ("百分之二十五", Quantity(25, 25, "%", "")),
        ("二十。", Quantity(20, 20, None, "")),
        ("三个月", Quantity(3, 3, "month", "")),
        ("半小时", Quantity(0.5, 0.5, "hour", "")),
        ("seven days", Quantity(7, 7, "day", "")),
        ("a 5-day course", Quantity(5, 5, "day", "")),
        ("twice", Quantity(2, 2, "times", "")),
        ("10,000 IU", Quantity(10000, 10000, "iu", "")),
        ("80万单位", Quantity(800000, 800000, "iu", "")),
        ("4×10⁹/L", Quantity(4e9, 4e9, "/l", "")),
        ("2025年版", Quantity(2025, 2025, "year", "")),
        ("体温≥38.5℃", Quantity(38.5, 38.5, "celsius", "", ">=")),
    ],
)
def test_words_and_symbols_normalise(text: str, expected: Quantity) -> None:
    assert only(text) == expected


@pytest.mark.parametrize(
    "text", ["≥5天", ">=5 days", "不少于5天", "at least 5 days", "5天以上", "５ days or more"]
)
def test_lower_bounds_normalise(text: str) -> None:
    assert only(text) == Quantity(5, 5, "day", "", ">=")


@pytest.mark.parametrize(
    "text",
    ["一般为", "十二指肠溃疡", "十分重要", "H1N1 与 H3N2", "IL-6 升高", "COVID-19", "one of"],
)
def test_words_and_identifiers_are_not_quantities(text: str) -> None:
    assert extract_quantities(text) == []


def test_raw_keeps_the_original_text() -> None:
    found = extract_quantities("成人每次75mg，疗程三天，见表２。")
    assert [q.raw for q in found] == ["75mg", "三天", "２"]


def test_chinese_list_comma_is_not_a_thousands_separator() -> None:
    assert [q.low for q in extract_quantities("分别为 100，200，300")] == [100, 200, 300]


def test_daily_frequency_is_not_one_day() -> None:
    assert extract_quantities("一日三次") == [Quantity(3, 3, "times", "")]
    assert extract_quantities("1 日 2 次") == extract_quantities("每日 2 次")


def test_two_units_across_a_dash_are_two_quantities() -> None:
    assert extract_quantities("2 周～8 月龄") == [
        Quantity(2, 2, "week", ""),
        Quantity(8, 8, "month", ""),
    ]


def test_dose_must_match_value_and_unit() -> None:
    source = extract_quantities("每次 300 μg，最大剂量 5 mg")
    assert not quantity_supported(only("300 mg"), source)
    assert not quantity_supported(only("5 μg"), source)
    assert quantity_supported(only("300微克"), source)
    assert quantity_supported(only("5毫克"), source)


def test_value_inside_a_source_range_counts_only_at_its_bounds() -> None:
    source = extract_quantities("每次 10～20 mg")
    assert quantity_supported(only("10 mg"), source)
    assert quantity_supported(only("20毫克"), source)
    assert not quantity_supported(only("15 mg"), source)
    assert quantity_supported(only("10 to 20 mg"), source)
    assert not quantity_supported(only("10-30 mg"), source)


def test_range_built_from_two_stated_bounds_is_supported() -> None:
    source = extract_quantities("15kg＜体重≤23kg，每次 45mg")
    assert quantity_supported(only("15～23 kg"), source)
    assert not quantity_supported(only("15～25 kg"), source)


def test_bare_number_needs_the_number_and_mass_converts() -> None:
    source = extract_quantities("每次 0.3 g，共 2 剂")
    assert quantity_supported(only("300 mg"), source)
    assert quantity_supported(only("表 2"), source)
    assert not quantity_supported(only("表 3"), source)
    assert not quantity_supported(only("0.3 kg"), source)


def test_opposite_bounds_do_not_support_each_other() -> None:
    assert not quantity_supported(only("≥5天"), extract_quantities("5天以内"))
    assert quantity_supported(only("5天"), extract_quantities("至少5天"))
    assert quantity_supported(only("超过12小时"), extract_quantities("每天应大于 12 小时"))


# --- properties ------------------------------------------------------------------------------

values = st.one_of(
    st.integers(min_value=1, max_value=99_999).map(float),
    st.decimals(min_value="0.1", max_value="999.9", places=1).map(float),
)


def spell(value: float, *, full_width: bool, thousands: bool) -> str:
    text = str(int(value)) if value.is_integer() else f"{value:.1f}"
    if thousands and value.is_integer() and value >= 1000:
        text = f"{int(value):,}"
    return text.translate(FULL_WIDTH) if full_width else text


@settings(max_examples=150, deadline=None)
@given(
    value=values,
    unit=st.sampled_from(sorted(UNIT_SPELLINGS)),
    data=st.data(),
    full_width=st.booleans(),
    thousands=st.booleans(),
    space=st.sampled_from(["", " "]),
)
def test_spellings_of_one_quantity_compare_equal(
    value: float, unit: str, data: st.DataObject, full_width: bool, thousands: bool, space: str
) -> None:
    first = data.draw(st.sampled_from(UNIT_SPELLINGS[unit]))
    second = data.draw(st.sampled_from(UNIT_SPELLINGS[unit]))
    a = only(f"剂量 {spell(value, full_width=full_width, thousands=thousands)}{space}{first}")
    b = only(f"dose {spell(value, full_width=False, thousands=False)} {second.strip()}")
    assert a == b
    assert a.unit == unit
    assert quantity_supported(a, [b])


@settings(max_examples=100, deadline=None)
@given(
    low=st.integers(min_value=1, max_value=500),
    width=st.integers(min_value=1, max_value=500),
    unit=st.sampled_from(["day", "mg", "%", "week", "hour"]),
    data=st.data(),
)
def test_range_spellings_compare_equal(
    low: int, width: int, unit: str, data: st.DataObject
) -> None:
    sep_a = data.draw(st.sampled_from(RANGE_SEPARATORS))
    sep_b = data.draw(st.sampled_from(RANGE_SEPARATORS))
    alias = data.draw(st.sampled_from(UNIT_SPELLINGS[unit]))
    a = only(f"为 {low}{sep_a}{low + width}{alias}")
    b = only(f"of {low}{sep_b}{low + width} {UNIT_SPELLINGS[unit][-1].strip()}")
    assert a == b == Quantity(low, low + width, unit, "")


@settings(max_examples=150, deadline=None)
@given(
    value=values,
    other=values,
    unit=st.sampled_from(["mg", "ug", "day", "%", "mg/kg/day", "iu"]),
)
def test_different_magnitudes_are_not_supported(value: float, other: float, unit: str) -> None:
    if value == other:
        return
    claim = only(f"{spell(value, full_width=False, thousands=False)} {UNIT_SPELLINGS[unit][0]}")
    source = only(f"{spell(other, full_width=False, thousands=False)} {UNIT_SPELLINGS[unit][0]}")
    assert claim != source
    assert not quantity_supported(claim, [source])


UNRELATED_UNITS = ["mg", "ug", "ml", "day", "week", "%", "iu", "mg/kg", "mg/kg/day", "times"]


@settings(max_examples=150, deadline=None)
@given(
    value=values,
    units=st.lists(st.sampled_from(UNRELATED_UNITS), min_size=2, max_size=2, unique=True),
)
def test_same_number_in_another_unit_is_not_supported(value: float, units: list[str]) -> None:
    number = spell(value, full_width=False, thousands=False)
    claim = only(f"{number} {UNIT_SPELLINGS[units[0]][0]}")
    source = only(f"{number} {UNIT_SPELLINGS[units[1]][0]}")
    assert claim != source
    assert not quantity_supported(claim, [source])


CN_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """Write 1..9999 the way guidelines do (十四, 二十, 一百零五)."""
    out, zero = "", False
    for scale, name in ((1000, "千"), (100, "百"), (10, "十")):
        digit = n // scale % 10
        if digit:
            if zero:
                out += "零"
            out += ("" if (scale == 10 and n < 20) else CN_DIGITS[digit]) + name
            zero = False
        elif out:
            zero = True
    if n % 10:
        out += ("零" if zero else "") + CN_DIGITS[n % 10]
    return out


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=1, max_value=9999), unit=st.sampled_from(["天", "周", "岁", "次"]))
def test_chinese_numerals_equal_arabic(n: int, unit: str) -> None:
    assert only(f"共{chinese_numeral(n)}{unit}") == only(f"共 {n} {unit}")
