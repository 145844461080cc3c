"""Backup → wipe → restore of the embedded deployment (issue 8 item 5).

Real components throughout: Qdrant Edge in DATA_DIR, SQLite, the packaged MiniLM, the audit log
with its checkpoint file and key, and the CLI driven through Typer's CliRunner.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.db import shared_engine
from assistant.embedding import DenseEmbedder, load_dense_embedder
from assistant.errors import InvalidInput, StoreLocked
from assistant.retrieval import HybridRetriever
from assistant.service.backup import (
    MANIFEST,
    BackupError,
    backup_data_dir,
    file_sha256,
    restore_data_dir,
    verify_backup,
)
from assistant.store import open_store
from ingestion.documents import document_json, list_documents
from ingestion.service import Ingestor
from ui.cli import app

SEPSIS = Path(__file__).resolve().parents[1] / "ingestion" / "files" / "sepsis-bundle.md"
QUESTION = "When should antibiotics be given in sepsis?"

runner = CliRunner()


@pytest.fixture(scope="module")
def embedder() -> DenseEmbedder:
    return load_dense_embedder(Settings().embedding)


def populate(settings: Settings, embedder: DenseEmbedder) -> None:
    """One ingested document plus a few audit events, signed up to the head."""
    audit = open_audit_log(settings)
    with open_store(settings) as store:
        report = Ingestor(
            settings, store=store, embedder=embedder, audit=audit, actor="cli:test"
        ).ingest([SEPSIS], library="hospital")
    assert report.failed == [] and report.chunks_added > 0
    for n in range(3):
        audit.append_event(
            actor="dr.wang",
            role="doctor",
            department="cardiology",
            session_id=f"s-{n}",
            action="ask",
            object="library:hospital",
            outcome="answered",
            detail={"question": f"redacted question {n}"},
        )
    assert audit.write_checkpoint() is not None


def state_of(settings: Settings, embedder: DenseEmbedder) -> dict[str, Any]:
    """Documents, search results and the audit chain as plain data."""
    with open_store(settings) as store:
        docs = [document_json(d) for d in list_documents(store)]
        result = HybridRetriever(settings, store=store, embedder=embedder).retrieve(
            QUESTION, libraries=sorted({d["library"] for d in docs})
        )
    log = open_audit_log(settings)
    return {
        "docs": docs,
        "hits": [(s.doc_id, s.section, s.text, round(s.score, 6)) for s in result.sources],
        "verify": log.verify().model_dump(),
        "events": [(e.id, e.action, e.actor, e.hash) for e in log.iter_events()],
    }


def wipe(settings: Settings) -> None:
    # This process's pooled SQLite connections would still read the deleted file.
    shared_engine(settings.sqlalchemy_url).dispose()
    shutil.rmtree(settings.data_dir)


def test_backup_wipe_restore_gives_same_documents_search_and_audit(
    _data_dir: Path, tmp_path: Path, embedder: DenseEmbedder
) -> None:
    settings = Settings()
    populate(settings, embedder)
    before = state_of(settings, embedder)
    assert before["docs"] and before["hits"], "the fixture must find something to compare"
    assert before["verify"]["ok"] is True and len(before["events"]) >= 4

    target = tmp_path / "backup"
    report = backup_data_dir(settings, target)
    assert report.components == [
        "audit_checkpoints",
        "audit_key",
        "sqlite",
        "qdrant_edge",
        "originals",
    ]
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["collection"]["model_id"] == embedder.model_id
    for entry in manifest["files"]:
        assert file_sha256(target / entry["path"]) == entry["sha256"]
    assert {"guidecite.db", "audit-checkpoint.key", "audit-checkpoints.jsonl"} <= {
        e["path"] for e in manifest["files"]
    }
    assert any(e["path"].startswith("originals/") for e in manifest["files"])
    # The SQLite copy is one self-contained file, not a WAL pair.
    assert not (target / "guidecite.db-wal").exists()
    assert stat.S_IMODE(target.stat().st_mode) == 0o700

    wipe(settings)
    restored = restore_data_dir(settings, target)
    assert sorted(restored.components) == sorted(report.components)
    assert stat.S_IMODE((settings.data_dir / "audit-checkpoint.key").stat().st_mode) == 0o600

    after = state_of(settings, embedder)
    assert after == before


def test_cli_backup_refuses_overwrite_and_restore_needs_force(
    _data_dir: Path, tmp_path: Path, embedder: DenseEmbedder
) -> None:
    settings = Settings()
    populate(settings, embedder)
    target = tmp_path / "nightly"

    result = runner.invoke(app, ["backup", str(target), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert "qdrant_edge" in summary["components"] and summary["files"] >= 5

    again = runner.invoke(app, ["backup", str(target)])
    assert again.exit_code == 2
    assert "not empty" in again.stderr

    refused = runner.invoke(app, ["restore", str(target)])
    assert refused.exit_code == 2
    assert "--force" in refused.stderr and str(settings.data_dir) in refused.stderr

    # Make the live data differ, then replace it with the backup.
    shared_engine(settings.sqlalchemy_url).dispose()
    (settings.data_dir / "audit-checkpoints.jsonl").write_text("garbage\n", encoding="utf-8")
    forced = runner.invoke(app, ["restore", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "checksums verified" in forced.stdout
    assert open_audit_log(settings).verify().ok is True

    listed = runner.invoke(app, ["docs", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    # The file's .meta.yaml places it in library "icu".
    assert [(d["doc_id"], d["library"]) for d in json.loads(listed.stdout)] == [
        ("sepsis-bundle", "icu")
    ]


def test_restore_verifies_checksums_before_touching_data_dir(
    _data_dir: Path, tmp_path: Path
) -> None:
    settings = Settings()
    (settings.data_dir / "originals" / "doc").mkdir(parents=True)
    (settings.data_dir / "originals" / "doc" / "a.md").write_text("# Guideline", encoding="utf-8")
    open_audit_log(settings).write_checkpoint()  # creates the database and the key
    target = tmp_path / "backup"
    backup_data_dir(settings, target)
    original = next(p for p in (target / "originals").rglob("*") if p.is_file())
    original.write_bytes(original.read_bytes() + b"\nsomeone was here\n")
    (target / "stray.txt").write_text("x", encoding="utf-8")

    wipe(settings)
    with pytest.raises(BackupError) as caught:
        restore_data_dir(settings, target)
    message = caught.value.user_message
    assert "checksum mismatch: originals/" in message and "not in manifest: stray.txt" in message
    assert not settings.data_dir.exists(), "nothing may be written when verification fails"

    (target / MANIFEST).unlink()
    with pytest.raises(BackupError) as missing:
        verify_backup(target)
    assert "is not a GuideCite backup" in missing.value.user_message


def test_backup_names_the_process_holding_the_store(_data_dir: Path, tmp_path: Path) -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True)
    target = tmp_path / "backup"
    with open_store(settings):
        with pytest.raises(StoreLocked) as caught:
            backup_data_dir(settings, target)
        result = runner.invoke(app, ["backup", str(target)])
    message = caught.value.user_message
    assert f"PID {os.getpid()}" in message and "Stop that process" in message
    assert result.exit_code == 4 and f"PID {os.getpid()}" in result.stderr
    assert not target.exists(), "a refused backup leaves no half-written folder"
    # Once the holder is gone the same command succeeds.
    assert backup_data_dir(settings, target).directory == target


def test_restore_refuses_while_store_held(_data_dir: Path, tmp_path: Path) -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "originals").mkdir()
    (settings.data_dir / "originals" / "a.txt").write_text("guideline", encoding="utf-8")
    target = tmp_path / "backup"
    backup_data_dir(settings, target)
    with open_store(settings), pytest.raises(StoreLocked, match="held by"):
        restore_data_dir(settings, target, force=True)
    assert (settings.data_dir / "originals" / "a.txt").read_text(encoding="utf-8") == "guideline"


def test_server_deployments_point_to_pg_dump_and_snapshots(_data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(
        qdrant_url="http://127.0.0.1:1",
        database_url="postgresql+psycopg://guidecite@127.0.0.1:1/guidecite",
    )
    (settings.data_dir / "originals" / "doc").mkdir(parents=True)
    (settings.data_dir / "originals" / "doc" / "x.pdf").write_bytes(b"%PDF-1.4 test")
    report = backup_data_dir(settings, tmp_path / "backup")
    assert report.components == ["originals"]
    notes = " ".join(report.notes)
    assert "pg_dump" in notes and "snapshot" in notes

    with pytest.raises(InvalidInput, match="not an empty folder"):
        backup_data_dir(settings, tmp_path / "backup")
