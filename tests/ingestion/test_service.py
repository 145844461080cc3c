"""Ingestion end to end: real files, real Qdrant Edge store, real MiniLM (issue #2)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.embedding import SparseEncoder, load_dense_embedder
from assistant.errors import AccessDenied
from assistant.store import open_store
from ingestion.documents import delete_document, list_documents, show_document
from ingestion.service import Ingestor

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"


def corpus_files(corpus_dir: Path) -> list[Path]:
    return [p for p in sorted(corpus_dir.rglob("*")) if p.suffix in {".pdf", ".txt"}]


def ingest(settings: Settings, paths: list[Path], *, library: str = "hospital", **kwargs):
    store = open_store(settings)
    try:
        return Ingestor(settings, store=store).ingest(paths, library=library, **kwargs)
    finally:
        store.close()


@pytest.fixture(scope="module")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path):
    """The whole shipped corpus ingested once for this module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus"))
    report = ingest(settings, corpus_files(corpus_dir))
    return settings, report


@pytest.mark.slow
def test_whole_corpus_ingests_with_pages_and_sections(corpus_settings) -> None:
    settings, report = corpus_settings
    assert report.failed == []
    assert len(report.documents) == 10
    assert {d.language for d in report.documents} == {"zh", "en"}
    assert sum(d.language == "zh" for d in report.documents) == 7
    assert report.chunks_added == sum(d.chunks for d in report.documents) > 500

    with open_store(settings) as store:
        payloads = [p for _, p in store.scroll(status="current")]
    assert len(payloads) == report.chunks_added
    pdf_chunks = [p for p in payloads if p["source_file"].endswith(".pdf")]
    assert pdf_chunks and all(p["page_start"] and p["page_end"] for p in pdf_chunks)
    assert all(p["page_start"] <= p["page_end"] for p in pdf_chunks)
    zh_sections = {s for p in payloads if p["language"] == "zh" for s in p["section_path"]}
    assert any(s.startswith("一、") for s in zh_sections), sorted(zh_sections)[:20]
    en_paths = [p["section_path"] for p in payloads if p["language"] == "en"]
    assert sum(1 for path in en_paths if path) > len(en_paths) / 2
    opioid = [p for p in pdf_chunks if "opioid" in p["source_file"]]
    assert any(p["page_label"] for p in opioid), "CDC printed page labels (i, ii, 1…) expected"


@pytest.mark.slow
def test_reingesting_unchanged_corpus_adds_nothing(corpus_settings, corpus_dir: Path) -> None:
    settings, first = corpus_settings
    again = ingest(settings, corpus_files(corpus_dir))
    assert again.chunks_added == 0
    assert again.chunks_unchanged == first.chunks_added
    with open_store(settings) as store:
        assert store.count() == first.chunks_added
    listed = list_documents_of(settings)
    assert sorted(d.doc_id for d in listed) == sorted(d.doc_id for d in first.documents)


def list_documents_of(settings: Settings):
    with open_store(settings) as store:
        return list_documents(store)


def test_modified_copy_supersedes_and_delete_removes(tmp_path: Path, corpus_dir: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    original = tmp_path / "in" / Path(FLU).name
    original.parent.mkdir()
    shutil.copyfile(corpus_dir / FLU, original)
    first = ingest(settings, [original])
    doc = first.documents[0]
    assert doc.status == "current" and doc.chunks > 5

    original.write_text(
        original.read_text(encoding="utf-8") + "\n十、附则\n本方案自印发之日起施行。\n",
        encoding="utf-8",
    )
    second = ingest(settings, [original])
    assert second.chunks_added == second.documents[0].chunks
    new_sha = second.documents[0].content_sha256
    assert new_sha != doc.content_sha256

    versions = list_documents_of(settings)
    assert [(v.doc_id, v.status) for v in versions] == [
        (doc.doc_id, "current"),
        (doc.doc_id, "superseded"),
    ]
    with open_store(settings) as store:
        current = store.scroll(doc_id=doc.doc_id, status="current")
        assert {p["content_sha256"] for _, p in current} == {new_sha}
        embedder = load_dense_embedder(settings.embedding)
        hits = store.hybrid_query(
            dense=embedder.embed_query("流感 奥司他韦"),
            sparse=SparseEncoder().encode_query("流感 奥司他韦"),
            libraries=["hospital"],
            limit=10,
        )
        assert hits and {h.payload["content_sha256"] for h in hits} == {new_sha}
        version, chunks = show_document(store, doc.doc_id)
        assert version.content_sha256 == new_sha
        assert [c["chunk_index"] for c in chunks] == list(range(len(chunks)))
        assert "本方案自印发之日起施行" in "".join(c["text"] for c in chunks)

        removed = delete_document(store, settings, doc.doc_id)
        assert removed == doc.chunks + second.documents[0].chunks
        assert store.count(doc_id=doc.doc_id) == 0
    assert not (settings.originals_dir / doc.doc_id).exists()


def test_crash_between_batches_leaves_nothing_visible_and_rerun_completes(
    tmp_path: Path, corpus_dir: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", ingest={"upsert_batch": 8})
    path = corpus_dir / FLU

    class Crash(Exception):
        pass

    def crash_after_first_batch(done: int) -> None:
        raise Crash(done)

    with pytest.raises(Crash):
        ingest(settings, [path], after_batch=crash_after_first_batch)
    with open_store(settings) as store:
        assert store.count(status="current") == 0
        assert store.count(status="pending") == 8
        embedder = load_dense_embedder(settings.embedding)
        hits = store.hybrid_query(
            dense=embedder.embed_query("流感"),
            sparse=SparseEncoder().encode_query("流感"),
            libraries=["hospital"],
        )
        assert hits == []
    assert list_documents_of(settings) == []

    report = ingest(settings, [path])
    total = report.documents[0].chunks
    with open_store(settings) as store:
        assert store.count(status="current") == total
        assert store.count(status="pending") == 0
        assert store.count() == total


@pytest.mark.slow
def test_kill_9_mid_document_then_rerun_is_complete(tmp_path: Path, corpus_dir: Path) -> None:
    data_dir = tmp_path / "data"
    path = corpus_dir / FLU
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from assistant.config import Settings
        from assistant.store import open_store
        from ingestion.service import Ingestor
        settings = Settings(data_dir=Path({str(data_dir)!r}), ingest={{"upsert_batch": 8}})
        store = open_store(settings)
        def die(done):
            os.kill(os.getpid(), signal.SIGKILL)
        Ingestor(settings, store=store).ingest([Path({str(path)!r})], library="hospital",
                                               after_batch=die)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    settings = Settings(data_dir=data_dir)
    with open_store(settings) as store:
        assert store.count(status="current") == 0
    report = ingest(settings, [path])
    assert report.failed == []
    total = report.documents[0].chunks
    with open_store(settings) as store:
        assert store.count(status="current") == total == store.count()


def write_bad_files(folder: Path) -> dict[str, str]:
    """Each bad input and a fragment of the error it must produce."""
    from pypdf import PdfWriter

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage \x00\x01")
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    with (folder / "encrypted.pdf").open("wb") as fh:
        writer.write(fh)
    blank = PdfWriter()
    blank.add_blank_page(width=200, height=200)
    with (folder / "scanned.pdf").open("wb") as fh:
        blank.write(fh)
    (folder / "notes.xyz").write_text("hello", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 20)
    return {
        "empty.txt": "empty",
        "corrupt.pdf": "pdf",
        "encrypted.pdf": "encrypt",
        "scanned.pdf": "OCR",
        "notes.xyz": "unsupported",
        "binary.txt": "decode",
    }


def test_each_bad_file_fails_alone_and_store_is_unchanged(tmp_path: Path, corpus_dir: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    good = corpus_dir / FLU
    first = ingest(settings, [good])
    with open_store(settings) as store:
        before = sorted(pid for pid, _ in store.scroll())

    bad_dir = tmp_path / "bad"
    expected = write_bad_files(bad_dir)
    bad_paths = sorted(bad_dir.iterdir())
    report = ingest(settings, [*bad_paths, good])
    errors = {Path(f.path).name: f.error for f in report.failed}
    assert set(errors) == set(expected)
    for name, fragment in expected.items():
        assert fragment.lower() in errors[name].lower(), (name, errors[name])
    assert report.chunks_unchanged == first.chunks_added
    with open_store(settings) as store:
        assert sorted(pid for pid, _ in store.scroll()) == before

    big = Settings(data_dir=tmp_path / "data", ingest={"max_file_mb": 0.001})
    oversize = ingest(big, [good])
    assert "GUIDECITE_INGEST__MAX_FILE_MB" in oversize.failed[0].error


CASE_NOTE = (
    "一、病例示例\n患者王建国，男，58岁，身份证号11010519491231002X，住院号ZY2024001234，"
    "因发热3天入院。给予奥司他韦75mg，每日2次，疗程5天。\n"
)


def test_document_with_patient_identifiers_is_refused_or_redacted(tmp_path: Path) -> None:
    from assistant.audit.log import open_audit_log

    settings = Settings(data_dir=tmp_path / "data")
    note = tmp_path / "病例讨论（2024年版）.txt"
    note.write_text(CASE_NOTE * 3, encoding="utf-8")
    audit = open_audit_log(settings)
    with open_store(settings) as store:
        refused = Ingestor(settings, store=store, audit=audit, actor="cli:test").ingest(
            [note], library="hospital"
        )
        assert store.count() == 0
    assert len(refused.failed) == 1
    error = refused.failed[0].error
    assert "resident_id: 1" in error and "medical_record: 1" in error and "--redact" in error
    assert "11010519491231002X" not in error and "王建国" not in error

    with open_store(settings) as store:
        report = Ingestor(settings, store=store, audit=audit, actor="cli:test", redact=True).ingest(
            [note], library="hospital"
        )
        assert report.failed == []
        stored = " ".join(p["text"] for _, p in store.scroll())
    assert "11010519491231002X" not in stored and "王建国" not in stored
    assert "ZY2024001234" not in stored and "奥司他韦75mg" in stored.replace(" ", "")
    # The unredacted original is not kept.
    assert not (settings.originals_dir / report.documents[0].doc_id).exists()

    events = list(audit.iter_events())
    assert [(e.action, e.outcome) for e in events] == [("ingest", "failed"), ("ingest", "ok")]
    assert events[1].detail_json["redacted"] == {"medical_record": 1, "name": 1, "resident_id": 1}
    dumped = json.dumps([e.detail_json for e in events], ensure_ascii=False)
    assert "11010519491231002X" not in dumped and "王建国" not in dumped
    assert audit.verify().ok


# ---- ingestion and deletion by a person (issue #9 item 3) ---------------

CARDIO_GUIDE = """\
# Atrial Fibrillation Anticoagulation Protocol

## Scoring

Use the CHA2DS2-VASc score to decide on anticoagulation for atrial fibrillation patients.
Offer an oral anticoagulant when the score is two or more in men or three or more in women.
"""


@pytest.fixture
def person_world(tmp_path: Path):
    """Casbin with cardiology/oncology libraries, a cardiology dept_admin, and an audit log."""
    from assistant.access import AccessControl
    from assistant.audit.log import open_audit_log
    from assistant.domain import Principal, Role

    settings = Settings(data_dir=tmp_path / "data")
    access = AccessControl.open(settings)
    access.seed_defaults()
    access.assign_role(user="card.admin", role=Role.DEPT_ADMIN, department="cardiology")
    access.assign_library(library="cardiology", department="cardiology")
    access.assign_library(library="oncology", department="oncology")
    admin = Principal(user="card.admin", role=Role.DEPT_ADMIN, department="cardiology", via="web")
    return settings, access, open_audit_log(settings), admin


def test_sidecar_naming_another_library_is_denied_for_that_file_only(
    tmp_path: Path, person_world
) -> None:
    from ingestion.as_principal import ingest_as_principal

    settings, access, audit, admin = person_world
    docs = tmp_path / "docs"
    docs.mkdir()
    own = docs / "af.md"
    own.write_text(CARDIO_GUIDE, encoding="utf-8")
    smuggled = docs / "onc.md"
    smuggled.write_text(CARDIO_GUIDE.replace("Atrial", "Oncology Atrial"), encoding="utf-8")
    (docs / "onc.md.meta.yaml").write_text("library: oncology\n", encoding="utf-8")
    with open_store(settings) as store:
        ingestor = Ingestor(settings, store=store, audit=audit)
        report = ingest_as_principal(
            admin, [own, smuggled], library="cardiology", ingestor=ingestor, access=access
        )
        assert [Path(f.path).name for f in report.failed] == ["onc.md"]
        assert "not granted to your department" in report.failed[0].error
        assert store.count(library="oncology") == 0
        assert store.count(library="cardiology", status="current") == report.chunks_added > 0
    outcomes = [(e.object, e.outcome, e.actor) for e in audit.iter_events()]
    assert outcomes == [
        ("library:cardiology", "ok", "card.admin"),
        ("library:oncology", "denied", "card.admin"),
    ]


def test_superseding_a_document_of_another_library_is_denied(tmp_path: Path, person_world) -> None:
    from ingestion.as_principal import delete_document_as_principal, ingest_as_principal

    settings, access, audit, admin = person_world
    first = tmp_path / "v1" / "af.md"
    first.parent.mkdir()
    first.write_text(CARDIO_GUIDE, encoding="utf-8")
    second = tmp_path / "v2" / "af.md"
    second.parent.mkdir()
    second.write_text(CARDIO_GUIDE + "\nReview the score every year.\n", encoding="utf-8")
    with open_store(settings) as store:
        # The same title (= doc_id) already lives in oncology, ingested by the operator.
        operator = Ingestor(settings, store=store, audit=audit, actor="cli:root")
        original = operator.ingest([first], library="oncology")
        doc_id = original.documents[0].doc_id
        ingestor = Ingestor(settings, store=store, audit=audit)
        report = ingest_as_principal(
            admin, [second], library="cardiology", ingestor=ingestor, access=access
        )
        assert [Path(f.path).name for f in report.failed] == ["af.md"]
        assert store.count(doc_id=doc_id, status="current") == original.chunks_added
        assert store.count(library="cardiology") == 0
        with pytest.raises(AccessDenied):
            delete_document_as_principal(
                admin, doc_id, store=store, settings=settings, access=access, audit=audit
            )
        assert store.count(doc_id=doc_id) == original.chunks_added
        # Unchanged re-ingestion by an allowed person is still recorded under their name.
        own = tmp_path / "own.md"
        own.write_text(CARDIO_GUIDE.replace("Protocol", "Checklist"), encoding="utf-8")
        ingest_as_principal(admin, [own], library="cardiology", ingestor=ingestor, access=access)
        ingest_as_principal(admin, [own], library="cardiology", ingestor=ingestor, access=access)
    events = [(e.actor, e.action, e.object, e.outcome) for e in audit.iter_events()]
    assert events == [
        ("cli:root", "ingest", "library:oncology", "ok"),
        ("card.admin", "ingest", "library:oncology", "denied"),
        ("card.admin", "document_delete", "library:oncology", "denied"),
        ("card.admin", "ingest", "library:cardiology", "ok"),
        ("card.admin", "ingest", "library:cardiology", "unchanged"),
    ]
    assert audit.verify().ok
