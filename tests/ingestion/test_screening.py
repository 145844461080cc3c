"""Identifiers in fields derived from document text: title, headings, file name (issue 13 item 1).

The case notes are generated: a checksum-valid or -invalid resident ID, a mobile number, an
inpatient number and a plausible name, placed only in the title line, a heading and the file
name, while the body holds none.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.identifier_validators import resident_id_check_char
from assistant.privacy import detect_identifiers
from assistant.store import open_store
from ingestion.metadata import screen_identifiers
from ingestion.parse import parse_document
from ingestion.service import Ingestor

BODY = (
    "给予奥司他韦75mg，每日2次，疗程5天。监测体温与血氧饱和度，必要时复查胸部影像。\n\n"
    "出院后2周门诊随访，复查血常规与肝功能。\n"
)


def _case(seed: int, *, valid_check: bool) -> dict[str, str]:
    rng = random.Random(seed)
    first17 = f"110105{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 += f"{rng.randint(0, 999):03d}"
    check = resident_id_check_char(first17)
    if not valid_check:
        check = "0123456789X"[("0123456789X".index(check) + rng.randint(1, 10)) % 11]
    return {
        "name": rng.choice("王李张刘陈杨赵吴") + "".join(rng.sample("建国秀英志强丽娟海波", 2)),
        "rid": first17 + check,
        "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
        "mrn": f"ZY{rng.randint(10_000_000, 99_999_999)}",
    }


def _write_note(folder: Path, case: dict[str, str]) -> Path:
    # identifiers only in the title line, a heading and the file name
    note = folder / f"患者{case['name']}住院号{case['mrn']}出院小结.md"
    note.write_text(
        f"# 患者{case['name']}，身份证号{case['rid']}，手机{case['phone']}，住院号{case['mrn']}\n\n"
        f"## 患者{case['name']}的治疗经过\n\n{BODY}",
        encoding="utf-8",
    )
    return note


def _values(case: dict[str, str]) -> list[str]:
    return [case["name"], case["rid"], case["phone"], case["mrn"]]


@pytest.mark.parametrize(("seed", "valid_check"), [(1, True), (2, False), (3, False)])
def test_identifiers_only_in_title_heading_and_file_name_are_screened(
    tmp_path: Path, seed: int, valid_check: bool
) -> None:
    case = _case(seed, valid_check=valid_check)
    parsed = parse_document(
        _write_note(tmp_path, case), count_tokens=lambda t: len(t) // 2, chunk_tokens=200
    )
    body = "\n".join(c.text for c in parsed.chunks)
    fields = " ".join([parsed.title, parsed.path.name, *parsed.chunks[0].section_path])
    assert any(v in fields for v in _values(case))  # the fields do carry them
    assert "resident_id" not in detect_identifiers(body)  # the body alone looks clean

    screened = screen_identifiers(parsed)
    assert {"name", "resident_id", "phone", "medical_record"} <= set(screened.refusing)
    doc = screened.redacted
    shown = [doc.title, doc.issuer, doc.version, doc.doc_id, doc.path.name]
    shown += [h for c in doc.chunks for h in c.section_path] + [c.text for c in doc.chunks]
    for value in _values(case):
        assert all(value not in text for text in shown), value
    assert doc.chunks[0].text.replace(" ", "").startswith(BODY.split("\n")[0][:10])


def test_ingest_refuses_or_stores_only_redacted_fields(tmp_path: Path) -> None:
    case = _case(7, valid_check=False)
    note = _write_note(tmp_path, case)
    settings = Settings(data_dir=tmp_path / "data")
    audit = open_audit_log(settings)
    with open_store(settings) as store:
        refused = Ingestor(settings, store=store, audit=audit, actor="cli:test").ingest(
            [note], library="hospital"
        )
        assert store.count() == 0
    assert len(refused.failed) == 1 and "--redact" in refused.failed[0].error
    with open_store(settings) as store:
        report = Ingestor(settings, store=store, audit=audit, actor="cli:test", redact=True).ingest(
            [note], library="hospital"
        )
        assert report.failed == []
        payloads = [p for _, p in store.scroll()]
    assert payloads
    stored = json.dumps(payloads, ensure_ascii=False)
    dumped = json.dumps(
        [e.detail_json for e in audit.iter_events()]
        + [r.error for r in refused.failed]
        + [report.to_json()],
        ensure_ascii=False,
    )
    for value in _values(case):
        assert value not in stored, value
        assert value not in dumped, value
    assert "[姓名1]" in payloads[0]["title"] and "[姓名1]" in payloads[0]["source_file"]


def test_an_item_head_carried_to_the_next_chunk_is_screened_like_the_body(tmp_path: Path) -> None:
    import dataclasses

    case = _case(11, valid_check=True)
    note = tmp_path / "诊疗规范.md"
    note.write_text(f"# 诊疗规范\n\n## 治疗\n\n{BODY}", encoding="utf-8")
    parsed = parse_document(note, count_tokens=lambda t: len(t) // 2, chunk_tokens=200)
    head = f"1.患者{case['name']}，手机{case['phone']}"
    parsed = dataclasses.replace(
        parsed, chunks=[dataclasses.replace(c, item_head=head) for c in parsed.chunks]
    )
    screened = screen_identifiers(parsed)
    assert "phone" in screened.refusing
    heads = [c.item_head or "" for c in screened.redacted.chunks]
    assert heads and all(case["phone"] not in h and case["name"] not in h for h in heads), heads
