"""Prepare the embedding model ahead of first use (`guidecite models prepare`, issue 15).

The onnx backends run a model exported from the packaged weights; exporting takes a minute or
two on a CPU, so `make install` runs this once and every later process finds the export in the
cache folder (nothing is downloaded: the export is built from the installed weights).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings


@dataclass(frozen=True)
class PreparedModel:
    """What `prepare_embedding_model` found or built."""

    backend: str
    model_path: str
    export_path: str | None  # the ONNX file (None for torch or an embeddings server)
    seconds: float
    note: str


def prepare_embedding_model(settings: Settings, *, backend: str = "") -> PreparedModel:
    """Export (and quantise) the configured model for an onnx backend once; a no-op otherwise."""
    from assistant.embedding import DenseEmbedder, default_cache_dir

    chosen = backend or settings.embedding.backend
    started = time.perf_counter()
    if settings.embedding.base_url:
        return PreparedModel(
            backend=chosen,
            model_path=settings.embedding.base_url,
            export_path=None,
            seconds=0.0,
            note="embeddings come from a server (GUIDECITE_EMBEDDING__BASE_URL): nothing to do",
        )
    embedder = DenseEmbedder(settings.embedding.model or None, backend=chosen)
    if chosen == "torch":
        return PreparedModel(
            backend=chosen,
            model_path=str(embedder.model_path),
            export_path=None,
            seconds=0.0,
            note="the torch backend reads the installed weights directly: nothing to do",
        )
    from assistant.embedding_onnx import ensure_export

    cache = default_cache_dir()
    exported: Path = ensure_export(
        embedder.model_path, cache_dir=cache, quantized=chosen == "onnx-int8"
    )
    return PreparedModel(
        backend=chosen,
        model_path=str(embedder.model_path),
        export_path=str(exported),
        seconds=round(time.perf_counter() - started, 2),
        note=f"ONNX export ready (cached under {cache})",
    )
