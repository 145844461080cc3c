"""The plain LangChain answer chain a user would write by hand (issue 7 item 3).

retriever → numbered context → `ChatPromptTemplate` → `ChatOpenAI` (the same endpoint as ours)
→ answer text. No access control, no redaction, no verification, no audit. The retriever is
either LangChain's `QdrantVectorStore` on qdrant-client's local mode holding the same chunks
and vectors as our index (answer-quality baseline in `eval run`), or our own retriever (the
wrapper-overhead benchmark, so that only the wrapper differs).

The context uses the same `<source n="…">` blocks as our prompt, so the stand-in's scripted
responders read both requests the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from assistant.config import LLMSettings
from assistant.embedding import DenseEmbedder

PLAIN_SYSTEM = (
    "Answer the clinician's question using only the numbered sources. "
    "End each sentence with the number of the source it comes from, e.g. [1]. "
    "Answer in the language of the question."
)
PLAIN_HUMAN = "Sources:\n\n{context}\n\nQuestion: {question}"


@dataclass
class PlainAnswer:
    """What the plain chain returned: the answer text and the numbered source texts it was given."""

    text: str
    sources: dict[int, str]
    latency_ms: float


def format_context(texts: list[str]) -> str:
    """Numbered source blocks, `[n]` first line, as our prompt lays them out."""
    return "\n\n".join(
        f'<source n="{n}">\n[{n}]\n{text.strip()}\n</source>'
        for n, text in enumerate(texts, start=1)
    )


def qdrant_retriever(
    points: list[tuple[list[float], str]], *, embedder: DenseEmbedder, k: int = 5
) -> Any:
    """`QdrantVectorStore.as_retriever(k)` over qdrant-client local mode holding these vectors."""
    from eval.baselines.langchain_query import langchain_store

    return langchain_store(points, embedder=embedder).as_retriever(search_kwargs={"k": k})


class PlainAnswerChain:
    """`{context: retriever, question} | ChatPromptTemplate | ChatOpenAI | StrOutputParser`."""

    def __init__(self, retriever: Any, *, llm: LLMSettings) -> None:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_core.runnables import RunnablePassthrough
        from langchain_openai import ChatOpenAI

        if not llm.base_url.strip():
            raise ValueError("the plain chain needs an LLM endpoint (GUIDECITE_LLM__BASE_URL)")
        prompt = ChatPromptTemplate.from_messages(
            [("system", PLAIN_SYSTEM), ("human", PLAIN_HUMAN)]
        )
        model = ChatOpenAI(
            model=llm.model,
            base_url=llm.base_url.strip().rstrip("/"),
            api_key=llm.api_key,
            timeout=llm.timeout_s,
            max_retries=llm.max_retries,
            temperature=llm.temperature,
        )
        self._chain = RunnablePassthrough.assign(
            docs=lambda x: retriever.invoke(x["question"])
        ).assign(
            answer=(
                RunnablePassthrough.assign(
                    context=lambda x: format_context([d.page_content for d in x["docs"]])
                )
                | prompt
                | model
                | StrOutputParser()
            )
        )

    def answer(self, question: str) -> PlainAnswer:
        """Run the chain once; the sources are numbered in the order the prompt showed them."""
        started = time.perf_counter()
        out = self._chain.invoke({"question": question})
        elapsed = (time.perf_counter() - started) * 1000
        texts = [d.page_content for d in out["docs"]]
        return PlainAnswer(
            text=str(out["answer"]),
            sources={n: t for n, t in enumerate(texts, start=1)},
            latency_ms=elapsed,
        )
