"""The query side of the hand-written baseline: LangChain QdrantVectorStore on qdrant-client's
local mode, holding given vectors, searched with our embedder (issue 7 benchmarks)."""

from __future__ import annotations

import uuid
from typing import Any

from assistant.embedding import DenseEmbedder


def langchain_store(
    points: list[tuple[list[float], str]], *, embedder: DenseEmbedder, location: str = ":memory:"
) -> Any:
    """A LangChain QdrantVectorStore over qdrant-client local mode holding these vectors."""
    from langchain_core.embeddings import Embeddings
    from langchain_qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient
    from qdrant_client.models import Distance, PointStruct, VectorParams

    class _Ours(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text)

    client = QdrantClient(location=location)
    dim = len(points[0][0])
    client.create_collection(
        "baseline", vectors_config=VectorParams(size=dim, distance=Distance.COSINE)
    )
    batch = [
        PointStruct(id=str(uuid.uuid4()), vector=v, payload={"page_content": t, "metadata": {}})
        for v, t in points
    ]
    for start in range(0, len(batch), 1000):
        client.upsert("baseline", points=batch[start : start + 1000])
    return QdrantVectorStore(client=client, collection_name="baseline", embedding=_Ours())
