"""Dense embedder (packaged MiniLM) and BM25 sparse encoder (jieba for Chinese)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.config import EmbeddingSettings
from assistant.embedding import (
    BM25_AVGDL,
    DenseEmbedder,
    SparseEncoder,
    SparseVec,
    load_dense_embedder,
    packaged_model_path,
    term_id,
)

ZH_DOC = "儿童肺炎支原体肺炎的诊断主要依据临床表现和实验室检查，大环内酯类抗菌药物是首选治疗。"
EN_DOC = "Hand hygiene is the most important measure to prevent infections in outpatient settings."


@pytest.fixture(scope="module")
def encoder() -> SparseEncoder:
    return SparseEncoder()


@pytest.fixture(scope="module")
def embedder() -> DenseEmbedder:
    return load_dense_embedder(EmbeddingSettings())


# -- sparse ------------------------------------------------------------------------------------


def test_chinese_tokens_are_words_without_stop_words(encoder: SparseEncoder) -> None:
    terms = encoder.tokenize(ZH_DOC)
    assert {"肺炎", "支原体", "儿童", "诊断", "临床表现", "内酯", "抗菌"} <= set(terms)
    assert "的" not in terms and "和" not in terms
    assert "，" not in terms and "。" not in terms


def test_search_mode_emits_subwords_of_compounds(encoder: SparseEncoder) -> None:
    plain = SparseEncoder(search_mode=False).tokenize("肺炎支原体感染")
    search = encoder.tokenize("肺炎支原体感染")
    assert "肺炎" in search and "支原体" in search
    assert len(search) >= len(plain)


def test_english_tokens_are_lowercased_stemmed_and_filtered(encoder: SparseEncoder) -> None:
    terms = encoder.tokenize(EN_DOC)
    assert terms == [
        "hand",
        "hygiene",
        "important",
        "measure",
        "prevent",
        "infection",
        "outpatient",
        "setting",
    ]


def test_nfkc_folds_full_width_text(encoder: SparseEncoder) -> None:
    assert encoder.tokenize("ＣＯＶＩＤ－１９患儿") == encoder.tokenize("COVID-19患儿")
    assert "covid" in encoder.tokenize("ＣＯＶＩＤ－１９")


def test_bm25_document_weights(encoder: SparseEncoder) -> None:
    once = encoder.encode_document("hygiene")
    assert once.indices == (term_id("hygiene"),)
    dl = 1
    expected = 2.2 / (1 + 1.2 * (1 - 0.75 + 0.75 * dl / BM25_AVGDL))
    assert once.values[0] == pytest.approx(expected)
    twice = encoder.encode_document("hygiene hygiene")
    assert twice.values[0] > once.values[0]
    padded = encoder.encode_document("hygiene " + " ".join(f"word{i}" for i in range(300)))
    weight = dict(zip(padded.indices, padded.values, strict=True))[term_id("hygiene")]
    assert weight < once.values[0]  # long documents are length-normalised down


def test_query_weights_are_one_per_unique_term(encoder: SparseEncoder) -> None:
    vec = encoder.encode_query("肺炎 肺炎 支原体 the")
    assert set(vec.values) == {1.0}
    assert len(vec.indices) == len(set(vec.indices)) == len(set(encoder.tokenize("肺炎 支原体")))
    assert not encoder.encode_query("的 the ，")


def test_term_ids_are_stable_across_processes(encoder: SparseEncoder) -> None:
    script = (
        "import json, sys\n"
        "from assistant.embedding import SparseEncoder\n"
        "v = SparseEncoder().encode_document(sys.argv[1])\n"
        "print(json.dumps([v.indices, v.values]))\n"
    )
    text = ZH_DOC + " " + EN_DOC
    result = subprocess.run(
        [sys.executable, "-c", script, text],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    indices, values = json.loads(result.stdout)
    here = encoder.encode_document(text)
    assert tuple(indices) == here.indices
    assert values == pytest.approx(list(here.values))
    assert result.stderr == ""  # jieba's start-up chatter is silenced
    assert term_id("肺炎") == 0x7FFFFFFF & int.from_bytes(
        __import__("hashlib").blake2b("肺炎".encode(), digest_size=4).digest(), "big"
    )


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from("肺炎支原体儿童的和 abcdeHygiene，。0123"), max_size=80))
def test_sparse_vectors_are_well_formed(text: str) -> None:
    enc = SparseEncoder()
    for vec in (enc.encode_document(text), enc.encode_query(text)):
        assert isinstance(vec, SparseVec)
        assert list(vec.indices) == sorted(set(vec.indices))
        assert len(vec.indices) == len(vec.values)
        assert all(0 <= i < 2**31 for i in vec.indices)
        assert all(v > 0 and math.isfinite(v) for v in vec.values)
    assert bool(enc.encode_document(text)) == bool(enc.tokenize(text))


def test_importing_embedding_is_light() -> None:
    script = (
        "import sys, assistant.embedding, assistant.store\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers', 'jieba')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# -- dense -------------------------------------------------------------------------------------


def test_packaged_model_metadata(embedder: DenseEmbedder) -> None:
    assert embedder.dim == 384
    assert embedder.max_tokens == 256
    assert embedder.model_id == "all-MiniLM-L6-v2:384"
    assert str(embedder.model_path) == packaged_model_path()
    assert load_dense_embedder(EmbeddingSettings()) is embedder  # one model per process


def test_count_tokens_matches_the_model_tokenizer(embedder: DenseEmbedder) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(packaged_model_path())
    for text in (EN_DOC, ZH_DOC, "COVID-19: 5 mg/kg q12h", ""):
        expected = len(reference(text, add_special_tokens=False)["input_ids"])
        assert embedder.count_tokens(text) == expected
    assert embedder.count_tokens_batch([EN_DOC, ""]) == [embedder.count_tokens(EN_DOC), 0]


def test_embeddings_are_normalised_and_order_is_kept(embedder: DenseEmbedder) -> None:
    texts = [
        "fever",
        EN_DOC * 3,
        ZH_DOC,
        "Opioids should not be first-line therapy for chronic pain.",
        "x " * 400,  # longer than the window: truncated, still embedded
        EN_DOC,
    ]
    small_batches = DenseEmbedder(batch_size=2)
    batched = small_batches.embed_documents(texts)
    assert len(batched) == len(texts)
    for text, vec in zip(texts, batched, strict=True):
        assert len(vec) == 384
        assert math.isclose(math.sqrt(sum(v * v for v in vec)), 1.0, abs_tol=1e-5)
        single = embedder.embed_query(text)
        assert max(abs(a - b) for a, b in zip(vec, single, strict=True)) < 1e-5
    assert embedder.embed_documents([]) == []


def test_dense_similarity_is_meaningful(embedder: DenseEmbedder) -> None:
    query = embedder.embed_query("How do we stop infections spreading in clinics?")
    docs = embedder.embed_documents([EN_DOC, "Opioid dose tapering schedules for chronic pain."])
    scores = [sum(a * b for a, b in zip(query, d, strict=True)) for d in docs]
    assert scores[0] > scores[1] + 0.1


def test_onnx_backend_matches_torch() -> None:
    pytest.importorskip("onnxscript")  # the exporter's dependency; optional extra
    onnx, torch = DenseEmbedder(backend="onnx"), DenseEmbedder(backend="torch")
    texts = [EN_DOC, ZH_DOC, "fever", "x " * 400]  # the last is truncated the same way
    for a, b in zip(onnx.embed_documents(texts), torch.embed_documents(texts), strict=True):
        assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.9999
    query = "How do we stop infections spreading in clinics?"
    a, b = onnx.embed_query(query), torch.embed_query(query)
    assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.9999


def test_onnx_runs_a_long_batch_in_small_runs_with_the_same_vectors() -> None:
    # Issue 15: onnxruntime gets ROWS_PER_RUN texts per call (its arena keeps the largest
    # call's activations); a batch longer than that gives each text its own vector. Texts run
    # in order of length, so a batch given longest first, with a short one among them, comes
    # back in the order given.
    pytest.importorskip("onnxscript")
    from assistant.embedding_onnx import ROWS_PER_RUN

    embedder = DenseEmbedder(backend="onnx")
    texts = [f"{EN_DOC} {'fever ' * i}" for i in range(ROWS_PER_RUN * 2 + 3)][::-1]
    texts = [*texts[:5], "fever", *texts[5:], ZH_DOC]
    batched = embedder.embed_documents(texts)
    assert len(batched) == len(texts)
    for text, vec in zip(texts, batched, strict=True):
        single = embedder.embed_query(text)
        assert max(abs(a - b) for a, b in zip(vec, single, strict=True)) < 1e-5
    assert batched[0] != batched[1]
