"""Metadata: versions, stable doc ids, language, issuer, dates and the sidecar file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.errors import IngestionError
from ingestion.metadata import (
    detect_document_language,
    detect_effective_date,
    detect_issuer,
    make_doc_id,
    parse_version,
    read_sidecar,
    strip_version,
)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("流行性感冒诊疗方案（2025年版）", "2025年版"),
        ("儿童肺炎支原体肺炎诊疗指南（2025 年版）", "2025年版"),
        ("新型冠状病毒感染诊疗方案（试行第十版）", "试行第十版"),
        ("Guide to Infection Prevention, Version 2.3 - September 2016", "2.3"),
        ("cdc-guide-to-infection-prevention-outpatient-settings-v2.3-2016", "2.3"),
        ("CDC Clinical Practice Guideline for Prescribing Opioids — United States, 2022", "2022"),
        ("Sepsis bundle", ""),
    ],
)
def test_parse_version(text: str, version: str) -> None:
    assert parse_version(text) == version


def test_explicit_version_in_a_later_text_beats_a_year_in_the_title() -> None:
    assert parse_version("Hand hygiene 2016", "Version 3.1") == "3.1"


def test_doc_id_shared_by_versions_of_one_guideline_and_stable() -> None:
    a = make_doc_id("流行性感冒诊疗方案（2025年版）")
    b = make_doc_id("流行性感冒诊疗方案（2020 年版）")
    assert a == b == make_doc_id("流行性感冒诊疗方案")
    assert a.startswith("zh-") and len(a) == 11 and a.isascii()
    assert make_doc_id("新型冠状病毒感染诊疗方案（试行第十版）") == make_doc_id(
        "新型冠状病毒感染诊疗方案（试行第九版）"
    )
    assert make_doc_id("儿童腺病毒肺炎诊疗规范") != a


def test_english_doc_id_is_a_readable_slug_without_year() -> None:
    title = "CDC Clinical Practice Guideline for Prescribing Opioids for Pain — United States, 2022"
    assert make_doc_id(title) == "cdc-clinical-practice-guideline-for-prescribing-opioids-for"
    assert make_doc_id(title.replace("2022", "2016")) == make_doc_id(title)
    assert strip_version("Outpatient Guide Version 2.3") == "Outpatient Guide"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("流感病毒属于正黏病毒科（Orthomyxoviridae），HA 和 NA 是主要抗原。", "zh"),
        ("Clinicians should maximize use of nonopioid therapies.", "en"),
        ("Opioids (阿片类药物) are effective for acute pain in selected patients.", "en"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_document_language(text) == language


def test_detect_issuer() -> None:
    assert detect_issuer("国家卫健委组织专家制定", language="zh") == "国家卫生健康委员会"
    assert detect_issuer("我们组织专家制定", language="zh") == ""
    text = "World Health Organization guidance. Staff from the CDC contributed. WHO recommends."
    assert detect_issuer(text, language="en") == "WHO"
    assert (
        detect_issuer("", language="en", author="Centers for Disease Control and Prevention")
        == "CDC"
    )


def test_detect_effective_date() -> None:
    assert detect_effective_date("本规范自2024年3月1日起施行。") == date(2024, 3, 1)
    assert detect_effective_date("This guidance is effective as of January 5, 2023.") == date(
        2023, 1, 5
    )
    assert detect_effective_date("2021 年 7 月 印发") is None


def test_sidecar_fields_are_read_and_checked(tmp_path: Path) -> None:
    doc = tmp_path / "guide.pdf"
    doc.write_bytes(b"x")
    assert read_sidecar(doc) == {}
    (tmp_path / "guide.pdf.meta.yaml").write_text(
        "doc_id: flu-2025\nlibrary: cardiology\neffective_date: 2025-01-15\nlanguage: zh\n",
        encoding="utf-8",
    )
    assert read_sidecar(doc) == {
        "doc_id": "flu-2025",
        "library": "cardiology",
        "effective_date": date(2025, 1, 15),
        "language": "zh",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title: [unclosed", "not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("colour: blue\n", "unknown field(s) colour"),
        ("language: fr\n", "language must be zh or en"),
        ("effective_date: soon\n", "not YYYY-MM-DD"),
        ("library: 'bad name!'\n", "may use only letters"),
    ],
)
def test_invalid_sidecar_names_itself(tmp_path: Path, content: str, message: str) -> None:
    doc = tmp_path / "guide.pdf"
    doc.write_bytes(b"x")
    (tmp_path / "guide.pdf.meta.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(IngestionError) as info:
        read_sidecar(doc)
    assert "guide.pdf.meta.yaml" in info.value.user_message
    assert message in info.value.user_message
