"""Evaluation datasets and the cached index of each one's corpus (issue 7 items 1 and 5).

Every dataset resolves to a corpus (files and passages to ingest) and a list of questions. The
index of a corpus is built once under `eval/.cache/<key>`, keyed by the corpus content and the
settings that shape the index, never in the user's DATA_DIR, so an evaluation runs on a fresh
clone and a second run reuses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.config import Settings
from assistant.embedding import DenseEmbedder
from assistant.store import open_store
from eval.datasets.medquad import load_medquad
from eval.datasets.pubmedqa import load_pubmedqa
from eval.golden import DEFAULT_CORPUS_DIR, load_golden
from eval.items import EvalItem, Passage, read_jsonl
from ingestion.metadata import SIDECAR_SUFFIX
from ingestion.pipeline import (
    CHUNKER_VERSION,
    CLEANER_VERSION,
    DENSE_SCOPE_VERSION,
    PARSER_VERSION,
)
from ingestion.service import Ingestor, iter_input_files

logger = logging.getLogger(__name__)

DATASETS_DIR = Path(__file__).parent / "datasets"
DEFAULT_CACHE_DIR = Path(__file__).parent / ".cache"
DATASET_NAMES = ("golden", "pubmedqa", "medquad", "phi", "authz", "regression")
RESTRICTED_LIBRARY = "oncology-internal"
RESTRICTED_DEPARTMENT = "oncology"
_READY = "READY"


@dataclass
class Corpus:
    """What one evaluation index holds: guideline files and/or generated passages."""

    name: str
    files: list[Path] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)

    def fingerprint(self, settings: Settings) -> str:
        """A key that changes with the corpus content or the settings that shape the index."""
        digest = hashlib.sha256(self.name.encode())
        for path in self.files:
            digest.update(path.name.encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        for passage in self.passages:
            digest.update(json.dumps(passage.__dict__, sort_keys=True).encode())
        shaping = {
            "embedding": settings.embedding.model_dump(mode="json"),
            "ingest": settings.ingest.model_dump(mode="json"),
            # A parser, cleaner or chunker fix changes the passages: the cached index is stale.
            "pipeline": [PARSER_VERSION, CLEANER_VERSION, CHUNKER_VERSION, DENSE_SCOPE_VERSION],
        }
        digest.update(json.dumps(shaping, sort_keys=True, default=str).encode())
        return f"{self.name}-{digest.hexdigest()[:16]}"


def guideline_corpus() -> Corpus:
    """The shipped guidelines (library `hospital`) plus the restricted library for `authz`."""
    files = [
        p for p in iter_input_files([DEFAULT_CORPUS_DIR]) if p.suffix.lower() in {".pdf", ".txt"}
    ]
    passages = [
        Passage(
            doc_id=r["restricted_doc_id"],
            title=r["restricted_doc_id"],
            text=r["restricted_text"],
            language=r["language"],
            library=RESTRICTED_LIBRARY,
        )
        for r in read_jsonl(DATASETS_DIR / "authz.jsonl")
    ]
    return Corpus(name="guidelines", files=sorted(files), passages=passages)


def golden_items(*, limit: int | None = None) -> list[EvalItem]:
    """The golden questions, gold = a cited source containing the answer phrase."""
    items = [
        EvalItem(
            id=g.id,
            question=g.question,
            language=g.language,
            dataset="golden",
            answer_phrase=g.answer_phrase,
            out_of_scope=g.out_of_scope,
            cross_lingual=g.cross_lingual,
            extra={
                "expected_doc": g.expected_doc,
                "topic": g.topic,
                "subject": list(g.subject),
                "split": g.split,
                "kind": g.kind,
            },
        )
        for g in load_golden()
    ]
    return items[:limit]


def phi_items(*, limit: int | None = None) -> list[EvalItem]:
    """Identifier probes: questions carrying identifiers that must never come back out."""
    return [
        EvalItem(
            id=r["id"],
            question=r["question"],
            language=r["language"],
            dataset="phi",
            extra={"identifiers": r["identifiers"], "source": r["source"]},
        )
        for r in read_jsonl(DATASETS_DIR / "phi.jsonl")
    ][:limit]


def authz_items(*, limit: int | None = None) -> list[EvalItem]:
    """Questions only the restricted library answers, asked by a user who may not read it."""
    return [
        EvalItem(
            id=r["id"],
            question=r["question"],
            language=r["language"],
            dataset="authz",
            asker="outsider",
            extra={"restricted_doc_id": r["restricted_doc_id"]},
        )
        for r in read_jsonl(DATASETS_DIR / "authz.jsonl")
    ][:limit]


def regression_items(path: Path | None, *, limit: int | None = None) -> list[EvalItem]:
    """Items the review queue exported (`review export-regression`); none when no file."""
    from assistant.review import load_regression

    source = path or DATASETS_DIR / "regression.jsonl"
    if not source.is_file():
        return []
    items = []
    for r in load_regression(source):
        refuse = str(r["expected_behaviour"]).startswith("refuse")
        docs = () if refuse else tuple(s["doc_id"] for s in r["sources"] if s.get("doc_id"))
        items.append(
            EvalItem(
                id=str(r["id"]),
                question=r["question"],
                language=r["language"],
                dataset="regression",
                gold_doc_ids=docs,
                out_of_scope=refuse,
                extra={"expected_behaviour": r["expected_behaviour"]},
            )
        )
    return items[:limit]


def load_dataset(
    name: str, *, limit: int | None = None, regression_path: Path | None = None
) -> tuple[Corpus, list[EvalItem]]:
    """The corpus to index and the questions to ask for one dataset name."""
    if name == "pubmedqa":
        passages, items = load_pubmedqa(limit=limit)
        return Corpus(name="pubmedqa", passages=passages), items
    if name == "medquad":
        passages, items = load_medquad(limit=limit)
        return Corpus(name="medquad", passages=passages), items
    loaders = {
        "golden": golden_items,
        "phi": phi_items,
        "authz": authz_items,
    }
    if name == "regression":
        return guideline_corpus(), regression_items(regression_path, limit=limit)
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASET_NAMES)}")
    return guideline_corpus(), loaders[name](limit=limit)


def _write_passages(passages: list[Passage], folder: Path) -> dict[str, list[Path]]:
    by_library: dict[str, list[Path]] = {}
    for passage in passages:
        path = folder / f"{passage.doc_id}.txt"
        path.write_text(passage.text, encoding="utf-8")
        meta = {
            "doc_id": passage.doc_id,
            "title": passage.title,
            "language": passage.language,
            "library": passage.library,
            # Published abstracts and consumer-health pages, not patient records.
            "privacy_reviewed": True,
        }
        Path(str(path) + SIDECAR_SUFFIX).write_text(
            yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8"
        )
        by_library.setdefault(passage.library, []).append(path)
    return by_library


def build_index(
    corpus: Corpus,
    *,
    settings: Settings,
    embedder: DenseEmbedder,
    cache_dir: Path = DEFAULT_CACHE_DIR,
) -> Path:
    """The data dir holding this corpus's index, built on first use and reused after."""
    target = cache_dir / corpus.fingerprint(settings)
    if (target / _READY).is_file():
        return target
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    index_settings = settings.model_copy(update={"data_dir": building, "database_url": ""})
    store = open_store(index_settings)
    try:
        ingestor = Ingestor(index_settings, store=store, embedder=embedder, actor="eval:harness")
        failed = []
        if corpus.files:
            failed += ingestor.ingest(corpus.files, library="hospital").failed
        staging = building / "passages"
        staging.mkdir()
        for library, paths in _write_passages(corpus.passages, staging).items():
            failed += ingestor.ingest(paths, library=library).failed
        if failed:
            logger.warning("eval index %s: %d files failed to ingest", corpus.name, len(failed))
        (building / _READY).write_text(
            json.dumps({"failed": [f.path for f in failed]}), encoding="utf-8"
        )
    finally:
        store.close()
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return target
