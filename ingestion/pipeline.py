"""The pipeline version recorded with every document version (issue #13).

A chunking or cleaning fix must reach documents ingested before it. Each stored chunk carries
the versions of the stages that made it; a document whose record differs from what this
installation would produce is *stale*, listed so by `guidecite docs list` and rebuilt from its
stored original by `guidecite reindex`.

Bump a stage's version whenever a change alters what it produces for an unchanged file.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from assistant.config import Settings
from assistant.embedding import covers_language

# ingestion/loaders.py + metadata.py: text, pages, outline headings, title/version detection.
PARSER_VERSION = "2"
# ingestion/normalize.py: running headers, page numbers, NFKC, line joining (3: circled list
# numbers ①–⑳ survive NFKC instead of turning into digits glued to the item's first word).
CLEANER_VERSION = "3"
# ingestion/sections.py + chunking.py + grades.py (2: a wrapped numbered English recommendation
# stays in its passage, "7. Dedicate multidose vials…"; 3: each chunk carries the recommendation
# grades it states, issue #17 §1; 4: a grade the splitter cut from its recommendation, opening
# the next chunk as WHO writes it after the full stop, goes back onto the recommendation's chunk;
# 5: the numbered lines of a list a lead-in opens ("…标准（满足下列标准任意 1 条）：") are items,
# never headings that cut the list from its lead-in; 6: the same, for numbered lines after a
# lead-in at any depth; 7: a chunk beginning inside a list item keeps the item's head).
CHUNKER_VERSION = "7"
# Which chunks of a language the dense model covers get a dense vector (1: all but those under a
# bibliography heading, "References" / 参考文献, which stay lexical only).
DENSE_SCOPE_VERSION = "1"
FIELDS = (
    "parser",
    "cleaner",
    "chunker",
    "embedding_model",
    "embedding_backend",
    "dense",
    "dense_scope",
)


class EmbedderInfo(Protocol):
    """What the pipeline record needs to know about the dense embedder."""

    @property
    def model_id(self) -> str: ...

    @property
    def backend(self) -> str: ...


def current_pipeline(
    settings: Settings, embedder: EmbedderInfo, *, language: str
) -> dict[str, Any]:
    """The pipeline this installation runs for a document in `language`."""
    ingest = settings.ingest
    return {
        "parser": PARSER_VERSION,
        "cleaner": CLEANER_VERSION,
        "chunker": f"{CHUNKER_VERSION}/{ingest.chunk_tokens}+{ingest.chunk_overlap_tokens}",
        "embedding_model": embedder.model_id,
        "embedding_backend": embedder.backend,
        "dense": covers_language(settings.embedding.languages, language),
        "dense_scope": DENSE_SCOPE_VERSION,
    }


def pipeline_key(pipeline: dict[str, Any]) -> str:
    """A short stable fingerprint of a pipeline record (part of the point ids)."""
    canonical = json.dumps({k: pipeline.get(k) for k in FIELDS}, sort_keys=True)
    return hashlib.blake2b(canonical.encode(), digest_size=6).hexdigest()


def stale_reasons(stored: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    """What differs between a stored record and the current pipeline (empty: up to date)."""
    if not stored:
        return ["pipeline not recorded (ingested before versions were kept)"]
    reasons = []
    for name in FIELDS:
        if stored.get(name) != current.get(name):
            if name == "dense":
                reasons.append(
                    "dense vectors: the model now covers this language"
                    if current.get(name)
                    else "dense vectors: the model no longer covers this language"
                )
            else:
                reasons.append(f"{name}: {stored.get(name)} → {current.get(name)}")
    return reasons
