"""Dense vectors only where the model covers the language, pipeline versions, stale documents,
`guidecite reindex`, skipped files and quiet library logging (issues #13, #16 item 5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.config import get_settings
from assistant.embedding import load_dense_embedder
from assistant.store import VectorStore, open_store
from ingestion import pipeline
from ui.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

ZH = """流行性感冒诊疗方案（测试版）

一、治疗
（一）抗病毒治疗
奥司他韦成人剂量为每次75毫克，每日2次，疗程5天。重症患者可适当延长疗程。

二、预防
接种流感疫苗是预防流行性感冒最有效的手段，推荐每年接种。
"""
EN = """Hand Hygiene Guideline (test edition)

1. Indications
Perform hand hygiene before touching a patient and after body fluid exposure risk.

2. Technique
Rub hands with alcohol-based handrub for 20 to 30 seconds until dry.
"""


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "flu-zh.txt").write_text(ZH, encoding="utf-8")
    (folder / "hand-hygiene.txt").write_text(EN, encoding="utf-8")
    return folder


def current_payloads(store: VectorStore, language: str) -> list[dict]:
    return [p for _, p in store.scroll(status="current") if p["language"] == language]


def dense_hit_languages(store: VectorStore) -> set[str]:
    embedder = load_dense_embedder(get_settings().embedding)
    hits = store.dense_query(
        dense=embedder.embed_query("flu hand hygiene 流感"), libraries=["hospital"], limit=50
    )
    return {h.payload["language"] for h in hits}


def test_only_covered_languages_are_embedded_and_reindex_dense_adds_them(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital", "--json"])
    assert result.exit_code == 0, result.output
    with open_store(get_settings()) as store:
        zh, en = current_payloads(store, "zh"), current_payloads(store, "en")
        assert zh and en
        assert all(p["pipeline"]["dense"] is False for p in zh)
        assert all(p["pipeline"]["dense"] is True for p in en)
        assert set(en[0]["pipeline"]) == set(pipeline.FIELDS)
        assert en[0]["pipeline"]["embedding_model"] == "all-MiniLM-L6-v2:384"
        # The zh chunks have no dense vector: the dense channel never returns them.
        assert dense_hit_languages(store) == {"en"}
        zh_ids = {pid for pid, p in store.scroll(status="current") if p["language"] == "zh"}

    # A model that covers Chinese (here: declared so) makes the zh document stale.
    monkeypatch.setenv("GUIDECITE_EMBEDDING__LANGUAGES", '["zh","en"]')
    listed = json.loads(runner.invoke(app, ["docs", "list", "--json"]).stdout)
    stale = {d["language"]: d["stale"] for d in listed}
    assert stale["en"] == []
    assert stale["zh"] == ["dense vectors: the model now covers this language"]

    result = runner.invoke(app, ["reindex", "--dense", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [d["language"] for d in report["documents"]] == ["zh"]
    with open_store(get_settings()) as store:
        zh = current_payloads(store, "zh")
        assert all(p["pipeline"]["dense"] is True for p in zh)
        assert dense_hit_languages(store) == {"zh", "en"}
        new_ids = {pid for pid, p in store.scroll() if p["language"] == "zh"}
        assert new_ids and not new_ids & zh_ids  # old chunks replaced, not duplicated
        assert store.count(doc_id=zh[0]["doc_id"]) == len(zh_ids)


EN_WITH_REFERENCES = """Catheter Care Guideline (test edition)

1. Insertion
Use maximal sterile barrier precautions when inserting a central venous catheter.

2. Maintenance
Replace transparent dressings on central venous catheters at least every 7 days.

3. References
Smith J, Lee K. Chlorhexidine bathing and central line infections. Crit Care Med. 2015;43:100.
Brown A. Sterile barrier precautions during catheter insertion: a trial. JAMA. 2012;307:55.
"""


def test_chunks_of_a_reference_list_get_no_dense_vector_but_stay_searchable(
    tmp_path: Path,
) -> None:
    # Issue 15: a bibliography cites other papers; embedding it cost a third of the English
    # embedding time and let paper titles crowd the dense channel. Lexical search still finds it.
    folder = tmp_path / "refs"
    folder.mkdir()
    (folder / "catheter.txt").write_text(EN_WITH_REFERENCES, encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(folder), "--library", "hospital", "--json"])
    assert result.exit_code == 0, result.output
    with open_store(get_settings()) as store:
        payloads = current_payloads(store, "en")
        sections = {p["section_path"][0] for p in payloads if p["section_path"]}
        assert "3. References" in sections and len(sections) >= 2
        assert all(p["pipeline"]["dense_scope"] == pipeline.DENSE_SCOPE_VERSION for p in payloads)
        embedder = load_dense_embedder(get_settings().embedding)
        hits = store.dense_query(
            dense=embedder.embed_query("chlorhexidine bathing central line infections"),
            libraries=["hospital"],
            limit=50,
        )
        dense_sections = {h.payload["section_path"][0] for h in hits if h.payload["section_path"]}
        assert dense_sections and "3. References" not in dense_sections
        from assistant.retrieval import HybridRetriever

        retriever = HybridRetriever(get_settings(), store=store, embedder=embedder)
        found = retriever.retrieve(
            "chlorhexidine bathing", libraries=["hospital"], channel="sparse"
        )
        assert any(s.section == "3. References" for s in found.sources)


def test_stale_documents_listed_and_rebuilt_atomically(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["ingest", str(corpus), "--library", "hospital"]).exit_code == 0
    listed = runner.invoke(app, ["docs", "list"])
    assert "stale" not in listed.stdout

    # An upgrade that changes the chunker: every document is now stale.
    before = pipeline.CHUNKER_VERSION
    monkeypatch.setattr(pipeline, "CHUNKER_VERSION", "99")
    listed = runner.invoke(app, ["docs", "list"])
    assert listed.stdout.count(f"[stale: chunker: {before}/200+32 → 99/200+32]") == 2
    assert "2 stale document(s)" in listed.stdout and "guidecite reindex --stale" in listed.stdout

    # While a document's new chunks are written, its old chunks stay current (searchable).
    seen: list[tuple[int, int]] = []
    from assistant.store_edge import EdgeStore

    original_upsert = EdgeStore.upsert

    def watching_upsert(self: EdgeStore, points) -> None:  # type: ignore[no-untyped-def]
        doc_id = points[0].payload["doc_id"]
        seen.append((self.count(doc_id=doc_id, status="current"), len(points)))
        original_upsert(self, points)

    monkeypatch.setattr(EdgeStore, "upsert", watching_upsert)
    result = runner.invoke(app, ["reindex", "--stale"])
    assert result.exit_code == 0, result.output
    assert "2 document(s), " in result.stdout
    assert seen and all(current == written for current, written in seen)
    with open_store(get_settings()) as store:
        payloads = [p for _, p in store.scroll()]
    assert {p["status"] for p in payloads} == {"current"}
    assert {p["pipeline"]["chunker"] for p in payloads} == {"99/200+32"}
    assert "stale" not in runner.invoke(app, ["docs", "list"]).stdout
    again = runner.invoke(app, ["reindex", "--stale"])
    assert "Nothing to reindex" in again.stdout


def test_reingesting_an_unchanged_file_after_an_upgrade_rebuilds_it(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["ingest", str(corpus), "--library", "hospital"]).exit_code == 0
    assert (
        "0 chunk(s) added"
        in runner.invoke(app, ["ingest", str(corpus), "--library", "hospital"]).stdout
    )
    monkeypatch.setattr(pipeline, "CLEANER_VERSION", "99")
    result = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital", "--json"])
    data = json.loads(result.stdout)
    assert data["chunks_added"] > 0 and data["chunks_unchanged"] == 0
    with open_store(get_settings()) as store:
        payloads = [p for _, p in store.scroll()]
    assert len(payloads) == data["chunks_added"]  # old-pipeline chunks removed
    assert {p["pipeline"]["cleaner"] for p in payloads} == {"99"}


def test_folder_lists_unsupported_files_as_skipped(corpus: Path) -> None:
    (corpus / "tool.exe").write_bytes(b"MZ\x90\x00")
    (corpus / "notes").write_text("no extension", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [Path(s["path"]).name for s in data["skipped"]] == ["notes", "tool.exe"]
    assert "unsupported file type .exe" in data["skipped"][1]["reason"]
    assert ".pdf" in data["skipped"][1]["reason"]
    assert len(data["documents"]) == 2
    text = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital"])
    assert f"skipped {corpus / 'tool.exe'}: unsupported file type .exe" in text.stdout
    assert "2 skipped" in text.stdout


def test_progress_bar_reports_chunks_per_second_on_stderr_only(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDECITE_PROGRESS", "1")
    result = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital", "--json"])
    assert result.exit_code == 0
    json.loads(result.stdout)  # stdout is exactly one JSON document
    assert "chunks/s" not in result.stdout
    other = corpus.parent / "other.txt"
    other.write_text(EN.replace("Hand Hygiene", "Glove Use"), encoding="utf-8")
    text = runner.invoke(app, ["ingest", str(other), "--library", "hospital"])
    assert "chunks/s" in text.stderr and "chunks/s" not in text.stdout
    assert "other.txt" in text.stderr


def test_reindex_without_stored_original_says_why(corpus: Path) -> None:
    assert runner.invoke(app, ["ingest", str(corpus), "--library", "hospital"]).exit_code == 0
    settings = get_settings()
    for original in settings.originals_dir.rglob("*.txt"):
        original.unlink()
    result = runner.invoke(app, ["reindex", "--json"])
    assert result.exit_code == 1
    failed = json.loads(result.stdout)["failed"]
    assert len(failed) == 2 and all("no stored original" in f["error"] for f in failed)
    with open_store(settings) as store:  # nothing lost
        assert store.count(status="current") > 0


SCRIPT = """
import typer.main
from ui.cli import app
typer.main.get_command(app).main(args=["docs", "list"], standalone_mode=False)
import jieba
jieba.lcut("流行性感冒的治疗")
"""


@pytest.mark.parametrize("level", ["", "DEBUG"])
def test_library_start_up_chatter_stays_off_stderr(level: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUIDECITE_")}
    env["GUIDECITE_DATA_DIR"] = str(tmp_path / "data")
    if level:
        env["GUIDECITE_LOG_LEVEL"] = level
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    if level:
        assert "prefix dict" in out.stderr  # asked for: shown
    else:
        assert "prefix dict" not in out.stderr and "DEBUG" not in out.stderr, out.stderr


def test_demo_on_an_existing_data_dir_says_what_is_stale(
    corpus: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A library built with torch vectors, then the default backend (onnx-int8) configured:
    # `guidecite demo` (make demo) names each stale document and the command that rebuilds it.
    from ui.cli.setup import _say_stale

    monkeypatch.setenv("GUIDECITE_EMBEDDING__BACKEND", "torch")
    result = runner.invoke(app, ["ingest", str(corpus), "--library", "hospital", "--json"])
    assert result.exit_code == 0, result.output
    _say_stale()
    assert "stale" not in capsys.readouterr().out
    monkeypatch.delenv("GUIDECITE_EMBEDDING__BACKEND")
    _say_stale()
    out = capsys.readouterr().out
    assert out.count("stale: hospital/") == 2
    assert "embedding_backend: torch → onnx-int8" in out
    assert "2 stale document(s)" in out and "guidecite reindex --stale" in out
