"""The one language rule (issue #12): CJK characters and zh/en detection, in assistant.domain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.language import (
    CJK_CHAR_RE,
    CJK_CHARS,
    detect_language,
    has_cjk,
    is_credits,
    is_link_list,
    is_reference_list,
)

ROOT = Path(__file__).resolve().parents[2]
RULE_FILE = ROOT / "assistant" / "language.py"
# Files owned elsewhere during issue #12 that still spell a range; each entry must still need
# its exemption, so the list shrinks as they move to assistant.language.
NOT_YET_MIGRATED: set[str] = set()

# A CJK range spelled out: the boundary code points as escapes or hex literals, the boundary
# characters themselves in a class (`[一-龥]`), or a comparison (`"一" <= ch`).
_SPELLED_RANGE = re.compile(
    r"\\u(?:3400|4dbf|4e00|9fa5|9fff|f900|faff)|\\U0002[0-9a-f]{4}|0x(?:3400|4e00|9fff|f900)\b"
    r"|一-[\u9f00-\u9fff]|㐀-[\u4d00-\u4dbf]|豈-[\ufa00-\ufaff]|[\"'][一㐀][\"']\s*<=",
    re.IGNORECASE,
)

EXT_A = "\u3400\u4db5"  # 㐀䶵
EXT_B = "\U00020000\U0002a6a5"  # 𠀀𪚥
EXT_C_TO_H = "\U0002b740\U0002ebe0\U00031350"
COMPATIBILITY = "\uf900\ufa0e"  # 豈﨎
FULLWIDTH_PUNCTUATION = "。，、；：？！“”（）【】《》——……　～"


def spelled_ranges(path: Path) -> list[str]:
    """`file:line` of every line that writes a CJK range itself instead of using CJK_CHARS."""
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    lines = path.read_text(encoding="utf-8").splitlines()
    return [f"{rel}:{n}" for n, line in enumerate(lines, 1) if _SPELLED_RANGE.search(line)]


def source_files() -> list[Path]:
    return sorted(
        p for pkg in ("assistant", "ingestion", "ui", "eval") for p in (ROOT / pkg).rglob("*.py")
    )


@pytest.mark.parametrize("text", ["高血压", EXT_A, EXT_B, EXT_C_TO_H, COMPATIBILITY])
def test_ideographs_of_every_block_are_cjk(text: str) -> None:
    assert has_cjk(text)
    # The fragment works inside a character class, as the modules use it.
    assert re.fullmatch(f"[{CJK_CHARS}]+", text)
    assert len(CJK_CHAR_RE.findall(text)) == len(text)


@pytest.mark.parametrize("text", ["阿司匹林的剂量是多少？", "dose 剂量 mg", f"（{EXT_B}）"])
def test_text_with_one_ideograph_among_others_has_cjk(text: str) -> None:
    assert has_cjk(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "What is the loading dose of aspirin?",
        FULLWIDTH_PUNCTUATION,
        "１２ｍｇ／ｋｇ",  # full-width digits and letters
        "\u33ff\u4dc0\u4dff\ua000\u3041\uac00",  # neighbours: ㏿, hexagrams, Yi, kana, Hangul
    ],
)
def test_punctuation_latin_and_neighbouring_scripts_are_not_cjk(text: str) -> None:
    assert not has_cjk(text)
    assert CJK_CHAR_RE.search(text) is None
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("成人稳定型心绞痛患者阿司匹林的推荐剂量是多少？", "zh"),
        ("What is the recommended dose of aspirin for adults?", "en"),
        # Latin drug names and units inside a Chinese question do not make it English.
        ("阿托伐他汀 atorvastatin 每日 20 mg 可以吗", "zh"),
        ("What is the dose of 阿司匹林 for adults with stable angina?", "en"),
        # Units are no words: a Chinese target sentence full of them stays Chinese.
        ("LDL-C 目标值：极高危<1.8mmol/L（70mg/dl），高危<2.6mmol/L（100mg/dl）。", "zh"),
        ("Give 5 mg of 奥司他韦 to children twice daily", "en"),
        (f"{EXT_A}{EXT_B}", "zh"),
        (f"{FULLWIDTH_PUNCTUATION} ok", "en"),
    ],
)
def test_detect_language_weighs_characters_against_words(text: str, language: str) -> None:
    assert detect_language(text) == language


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
def test_any_unified_ideograph_text_is_chinese(text: str) -> None:
    assert has_cjk(text)
    assert detect_language(text) == "zh"


@given(st.text(alphabet=st.characters(max_codepoint=0x2FFF)))
def test_text_below_the_cjk_blocks_is_english(text: str) -> None:
    assert not has_cjk(text)
    assert detect_language(text) == "en"


def test_no_module_spells_a_cjk_range_itself() -> None:
    found = [hit for path in source_files() if path != RULE_FILE for hit in spelled_ranges(path)]
    unexpected = [hit for hit in found if hit.rsplit(":", 1)[0] not in NOT_YET_MIGRATED]
    assert unexpected == [], "use assistant.language.CJK_CHARS / has_cjk / detect_language"
    migrated = NOT_YET_MIGRATED - {hit.rsplit(":", 1)[0] for hit in found}
    assert migrated == set(), "these files use the shared rule now: drop their exemption"


@pytest.mark.parametrize(
    "line",
    [
        '_HAN = re.compile(r"[\\u4e00-\\u9fff]")',
        '_CJK = "\\u3400-\\u4dbf\\u4E00-\\u9FFF"',
        'return "\\u4e00" <= char <= "\\u9fff"',
        'any("一" <= ch <= "龥" for ch in text)',
        're.search("[一-龥]", text)',
        'r"[\\uf900-\\ufaff\\U00020000-\\U0002a6df]"',
        "0x4E00 <= ord(ch) <= 0x9FFF",
    ],
)
def test_checker_catches_a_spelled_range(tmp_path: Path, line: str) -> None:
    module = tmp_path / "module.py"
    module.write_text(f"{line}\n", encoding="utf-8")
    assert spelled_ranges(module) == [f"{module}:1"]


def test_checker_ignores_the_shared_fragment_in_use(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text('_RUN = re.compile(f"[{CJK_CHARS}]+")\nx = "第一-三"\n', encoding="utf-8")
    assert spelled_ranges(module) == []
    # ...and the rule file itself does spell it, which is why it alone is exempt.
    assert spelled_ranges(RULE_FILE) != []


def test_a_passage_mostly_of_web_addresses_is_a_link_list() -> None:
    links = (
        "❑ FDA regulations on reprocessing of single-use devices: http://www.fda.gov/Medical"
        "Devices/DeviceRegulationandGuidance/GuidanceDocuments/ucm071434 ❑ Infection "
        "Prevention during Blood Glucose Monitoring: http://www.cdc.gov/injectionsafety/"
        "blood-glucose-monitoring.html"
    )
    assert is_link_list(links)
    one = "Needles are used for one patient only (see http://www.cdc.gov/injectionsafety)."
    assert not is_link_list(one)  # one address in a sentence that says what to do
    assert not is_link_list("Needles and syringes are used for only one patient.")


def test_a_run_of_a_reference_list_is_told_from_a_passage_citing_its_sources() -> None:
    entries = (
        "doi:10.3760/cma.j.cn115610-20221024-00612. [256] Tran BV, Moris D, Markovic D, et al. "
        "Development and validation of a prognostic model. JAMA Surg. 2017;152:e171067. "
        "[257] 中华医学会肝病学分会. 肝硬化诊治指南[J]. 中华肝脏病杂志, 2019, 27(11):846-865. "
        "doi:10.3760/cma.j.issn.1007-3418.2019.11.008."
    )
    assert is_reference_list(entries)
    # A table that names where it was adapted from, and a sentence citing a study, are not.
    table = (
        "Morphine milligram equivalent doses for commonly prescribed opioids Opioid Conversion "
        "factor* Codeine 0.15 Fentanyl transdermal (in mcg/hr) 2.4 Hydrocodone 1.0 Hydromorphone "
        "5.0 Methadone 4.7 Morphine 1.0 Oxycodone 1.5 Oxymorphone 3.0 Tapentadol 0.4 Tramadol 0.2 "
        "Sources: Adapted from Von Korff M, Saunders K, Ray GT, et al. Clin J Pain 2008;24:521-7 "
        "and Nielsen S, Degenhardt L, Hoban B, Gisev N. Pharmacoepidemiol Drug Saf 2016;25:733-7."
    )
    assert not is_reference_list(table)
    assert not is_reference_list(
        "两项国际临床研究[451-452]表明，索拉非尼对晚期肝癌患者具有一定的生存获益（Llovet et al. "
        "N Engl J Med 2008;359:378）。"
    )


def test_spoken_question_words_are_read_in_their_written_form() -> None:
    from assistant.embedding import strip_question_words
    from assistant.language import written_wording

    assert written_wording("新冠病人啥时候要上激素？") == "新冠病人什么时候要上激素？"
    assert written_wording("伤口咋洗？") == "伤口怎么洗？"
    # "要不要紧" asks whether it is serious; it names nothing.
    assert "要紧" not in strip_question_words("被猫抓了要不要紧？")
    assert "啥" not in strip_question_words("啥时候用？")
    # A dog that bit is 犬 in clinical writing ("犬咬伤"); 狗 elsewhere and 狂犬 stay.
    assert written_wording("被狗咬了伤口怎么处理？") == "被犬咬了伤口怎么处理？"
    assert written_wording("狗咬伤后要打针吗？") == "犬咬伤后要打针吗？"
    assert written_wording("家里的狗要打疫苗吗？") == "家里的狗要打疫苗吗？"
    assert written_wording("狂犬病疫苗怎么打？") == "狂犬病疫苗怎么打？"


@pytest.mark.parametrize(
    ("path", "credits"),
    [
        (["Acknowledgements"], True),
        (["Front matter", "ACKNOWLEDGEMENTS"], True),
        (["Annex 2", "List of contributors"], True),
        (["致谢"], True),
        (["编写专家组成员名单"], True),
        (["Core components", "Acknowledging the patient's concerns"], False),
        (["八、预防"], False),
    ],
)
def test_acknowledgements_and_contributors_are_told_apart(path: list[str], credits: bool) -> None:
    # "Water, Sanitation and Health; Family, Women's and Children's Health" of a thanks list
    # was shown with ✓ to "How is hand, foot and mouth disease treated in children?".
    assert is_credits(path) is credits
