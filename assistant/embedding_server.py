"""Dense embeddings from an OpenAI-compatible `/v1/embeddings` endpoint (issue #13).

GUIDECITE_EMBEDDING__BASE_URL (e.g. SGLang or TEI serving bge-m3 on the GPU node) replaces the
in-process model: texts are sent in batches of GUIDECITE_EMBEDDING__BATCH_SIZE with a timeout,
and an unreachable or failing endpoint is a ModelCallError naming the URL. Chunk sizes are
still counted locally, with the tokenizer of GUIDECITE_EMBEDDING__MODEL when it is a local
directory, else the packaged MiniLM's (word pieces are close enough to size chunks).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import httpx

from assistant.config import EmbeddingSettings
from assistant.embedding import DenseEmbedder, packaged_model_path
from assistant.errors import ModelCallError

logger = logging.getLogger(__name__)

BACKEND = "server"


class ServerEmbedder(DenseEmbedder):
    """A DenseEmbedder whose vectors come from an OpenAI-compatible embeddings endpoint.

    The local model directory serves only its tokenizer (to size chunks), never its weights.
    """

    def __init__(self, settings: EmbeddingSettings, *, client: httpx.Client | None = None) -> None:
        local = Path(settings.model) if settings.model else None
        tokenizer_dir = local if local and local.is_dir() else Path(packaged_model_path())
        super().__init__(str(tokenizer_dir), batch_size=settings.batch_size)
        self.backend = BACKEND
        self.base_url = settings.base_url.rstrip("/")
        self.served_model = settings.model if settings.model and not local_is_dir(local) else ""
        self.served_model = self.served_model or settings.server_model or "default"
        self.timeout_s = settings.timeout_s
        key = settings.api_key.get_secret_value()
        self._client = client or httpx.Client(
            timeout=settings.timeout_s,
            headers={"Authorization": f"Bearer {key}"} if key else {},
        )

    @property
    def dim(self) -> int:
        """Vector size, asked of the endpoint once."""
        if self._dim is None:
            self._dim = len(self._post(["dimension probe"])[0])
        return self._dim

    @property
    def model_id(self) -> str:
        """The served model's name and vector size (stored with the collection)."""
        return f"{self.served_model}:{self.dim}"

    def _encode(self, texts: list[str]) -> list[list[float]]:
        return self._post(texts)

    def _post(self, texts: list[str]) -> list[list[float]]:
        url = f"{self.base_url}/embeddings"
        try:
            response = self._client.post(url, json={"model": self.served_model, "input": texts})
        except httpx.TimeoutException as exc:
            raise self._error(f"no answer within {self.timeout_s:g} s") from exc
        except httpx.TransportError as exc:
            raise self._error(f"unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise self._error(f"HTTP {response.status_code}", retryable=response.status_code >= 500)
        try:
            rows: list[dict[str, Any]] = sorted(
                response.json()["data"], key=lambda row: int(row.get("index", 0))
            )
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise self._error("answered without an OpenAI embeddings body") from exc
        if len(vectors) != len(texts):
            raise self._error(f"returned {len(vectors)} vectors for {len(texts)} texts")
        return [_normalised(v) for v in vectors]

    def _error(self, why: str, *, retryable: bool = True) -> ModelCallError:
        return ModelCallError(
            code="embedding_error",
            message=f"embedding endpoint {self.base_url}: {why}",
            user_message=f"The embedding server at {self.base_url} failed: {why}. Start it, or "
            "unset GUIDECITE_EMBEDDING__BASE_URL to embed with the local model.",
            retryable=retryable,
        )


def local_is_dir(path: Path | None) -> bool:
    """Whether GUIDECITE_EMBEDDING__MODEL names a local directory (a tokenizer to use)."""
    return path is not None and path.is_dir()


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector
