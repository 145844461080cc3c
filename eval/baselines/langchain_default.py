"""What a user would write by hand: LangChain splitter + MiniLM + QdrantVectorStore (issue #2).

This is the comparison baseline for the benchmarks, deliberately without our cleaning,
section-aware chunking, sparse channel, versions or access control.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class BaselineRun:
    """Counts and stage timings of one baseline ingestion."""

    pages: int
    chunks: int
    parse_s: float
    embed_upsert_s: float
    model_load_s: float
    store: Any


def load_texts(files: list[Path]) -> tuple[list[tuple[str, dict[str, Any]]], int]:
    """Raw text per page (PDF via pypdf) or per file (UTF-8 text), as a user would load it."""
    from pypdf import PdfReader

    docs: list[tuple[str, dict[str, Any]]] = []
    pages = 0
    for path in files:
        if path.suffix.lower() == ".pdf":
            reader = PdfReader(str(path))
            for number, page in enumerate(reader.pages, start=1):
                docs.append((page.extract_text() or "", {"source": path.name, "page": number}))
                pages += 1
        else:
            docs.append((path.read_text(encoding="utf-8"), {"source": path.name}))
    return docs, pages


def build_default_index(
    files: list[Path], *, model_path: str, location: str = ":memory:"
) -> BaselineRun:
    """RecursiveCharacterTextSplitter(500) → HuggingFaceEmbeddings(MiniLM) → QdrantVectorStore."""
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_qdrant import QdrantVectorStore
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    raw, pages = load_texts(files)
    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    chunks = splitter.split_documents([Document(page_content=t, metadata=m) for t, m in raw])
    parsed = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model_path)
    loaded = time.perf_counter()
    store = QdrantVectorStore.from_documents(
        chunks, embeddings, location=location, collection_name="baseline"
    )
    done = time.perf_counter()
    return BaselineRun(
        pages=pages,
        chunks=len(chunks),
        parse_s=parsed - started,
        embed_upsert_s=done - parsed,
        model_load_s=loaded - parsed,
        store=store,
    )
