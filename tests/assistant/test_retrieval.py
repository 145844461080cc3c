"""Hybrid retrieval over a small real index (Qdrant Edge, MiniLM, BM25) — issue #3 items 1, 6."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document

from assistant.config import EmbeddingSettings, Settings
from assistant.domain import Source
from assistant.embedding import (
    NGRAM_PREFIX,
    SparseEncoder,
    load_dense_embedder,
    strip_question_words,
)
from assistant.retrieval import (
    GuideCiteRetriever,
    HybridRetriever,
    collapse_near_duplicates,
    profile_key,
    profile_path,
)
from assistant.store import Hit, StorePoint, VectorStore, open_store
from eval.golden import phrase_in_text
from ingestion.documents import delete_document
from tests.factories import index_library

FLU = "zh/流行性感冒诊疗方案（2025年版）.txt"
ADENO = "zh/儿童腺病毒肺炎诊疗规范（2019年版）.txt"
RESTRICTED = "restricted-ward"
FLU_DOSE_Q = "成人流感用奥司他韦，一次吃多少，一天几次？"
WARFARIN_Q = "机械二尖瓣置换术后华法林INR目标值是多少？"
TRAINING_Q = "How often should staff repeat training?"

HAND_HYGIENE_MD = """# Hand hygiene in outpatient clinics

## When to clean hands

Perform hand hygiene before touching a patient, before aseptic procedures, after contact with
blood or body fluids, after touching a patient and after touching patient surroundings.
Alcohol-based hand rub is preferred unless hands are visibly soiled.

## Glove use

Gloves are not a substitute for hand hygiene. Remove gloves after caring for a patient and
clean hands immediately; do not wear the same pair of gloves for more than one patient.
"""


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path
) -> Iterator[tuple[Settings, VectorStore, HybridRetriever]]:
    """Two Chinese guidelines (one in a restricted library) and a short English note."""
    data_dir = tmp_path_factory.mktemp("retrieval")
    note = data_dir / "hand-hygiene.md"
    note.write_text(HAND_HYGIENE_MD, encoding="utf-8")
    cfg = Settings(data_dir=data_dir / "data")
    library = index_library(
        cfg, {"hospital": [corpus_dir / FLU, note], RESTRICTED: [corpus_dir / ADENO]}
    )
    try:
        yield (
            cfg,
            library.store,
            HybridRetriever(cfg, store=library.store, embedder=library.embedder),
        )
    finally:
        library.store.close()


# -- channel choice ------------------------------------------------------------------------------


def test_channel_follows_what_the_dense_model_covers(index) -> None:
    cfg, store, retriever = index
    assert retriever.choose_channel("zh") == "sparse"
    assert retriever.choose_channel("en") == "hybrid"
    zh = retriever.retrieve("奥司他韦成人剂量", libraries=["hospital"])
    en = retriever.retrieve("When should hands be cleaned?", libraries=["hospital"])
    assert (zh.language, zh.channel) == ("zh", "sparse")
    assert (en.language, en.channel) == ("en", "hybrid")
    # Sparse-only results carry no dense evidence; hybrid ones carry both channels' raw scores.
    assert zh.best_dense is None and zh.best_sparse is not None
    assert en.best_dense is not None and en.best_sparse is not None

    multilingual = cfg.model_copy(update={"embedding": EmbeddingSettings(languages=["zh", "en"])})
    both = HybridRetriever(multilingual, store=store, embedder=retriever.embedder)
    assert both.choose_channel("zh") == "hybrid"


# -- finding passages ----------------------------------------------------------------------------


def test_chinese_question_finds_its_passage(index) -> None:
    _, _, retriever = index
    result = retriever.retrieve(FLU_DOSE_Q, libraries=["hospital"])
    top = [s.text for s in result.sources[:5]]
    assert any(phrase_in_text("成人剂量每次75mg，每日2次", text) for text in top), top
    assert all(s.title.startswith("流行性感冒诊疗方案") for s in result.sources[:3])
    assert [s.n for s in result.sources] == list(range(1, len(result.sources) + 1))


def test_english_question_finds_its_passage(index) -> None:
    _, _, retriever = index
    result = retriever.retrieve("Can gloves replace hand hygiene?", libraries=["hospital"], k=3)
    assert "not a substitute for hand hygiene" in result.sources[0].text
    assert result.sources[0].dense_score is not None


# -- access: libraries are filtered inside the query ---------------------------------------------


def test_unreadable_library_never_appears(index) -> None:
    _, store, retriever = index
    question = "腺病毒肺炎婴幼儿上经鼻高流量，流量按多少设？"
    allowed = retriever.retrieve(question, libraries=[RESTRICTED, "hospital"], k=5)
    assert any(s.library == RESTRICTED for s in allowed.sources)
    for channel in ("sparse", "dense", "hybrid"):
        denied = retriever.retrieve(question, libraries=["hospital"], k=10, channel=channel)
        assert denied.sources, channel
        assert {s.library for s in denied.sources} == {"hospital"}, channel
        assert not any("腺病毒" in s.title for s in denied.sources)
    # What Qdrant itself returned, not a post-filter: ask the store directly for far more
    # points than the readable library holds about adenovirus.
    sparse = retriever.sparse.encode_query(question)
    raw = store.sparse_query(sparse=sparse, libraries=["hospital"], limit=200)
    assert raw and all(h.payload["library"] == "hospital" for h in raw)
    nothing = retriever.retrieve(question, libraries=[])
    assert nothing.sources == [] and not nothing.relevant and nothing.reasons == ["no_hits"]


# -- relevance -----------------------------------------------------------------------------------


def test_out_of_scope_question_is_not_relevant_in_scope_is(index) -> None:
    _, _, retriever = index
    inside = retriever.retrieve(FLU_DOSE_Q, libraries=["hospital"])
    outside = retriever.retrieve(WARFARIN_Q, libraries=["hospital"])
    assert inside.relevant, (inside.lexical_strength, inside.reasons)
    assert not outside.relevant and "lexical_below_floor" in outside.reasons
    assert inside.lexical_strength is not None and outside.lexical_strength is not None
    assert inside.lexical_strength > outside.lexical_strength
    assert inside.term_coverage > outside.term_coverage

    en_in = retriever.retrieve("When should hands be cleaned?", libraries=["hospital"])
    en_out = retriever.retrieve(
        "What is the warfarin INR target after a mechanical aortic valve replacement?",
        libraries=["hospital"],
    )
    assert en_in.relevant, (en_in.best_dense, en_in.lexical_strength, en_in.reasons)
    assert not en_out.relevant and "dense_below_floor" in en_out.reasons


def test_a_bags_strength_is_measured_against_its_groups(index) -> None:
    _, _, retriever = index
    bag = "oseltamivir 奥司他韦 influenza 流感 流行性感冒 dose 剂量 用量"
    plain = retriever.lexical_strength(bag, 20.0)
    grouped = retriever.lexical_strength(bag, 20.0, groups=3)
    assert plain is not None and grouped is not None
    n_terms = len(retriever.sparse.query_terms(bag))
    assert n_terms > 3 and grouped == pytest.approx(plain * n_terms / 3)
    # More groups than words: the words count.
    assert retriever.lexical_strength(bag, 20.0, groups=99) == pytest.approx(plain)


def test_thresholds_come_from_settings(index) -> None:
    cfg, store, retriever = index
    question = FLU_DOSE_Q
    strict = cfg.model_copy(
        update={"retrieval": cfg.retrieval.model_copy(update={"min_lexical_strength": 1e6})}
    )
    result = HybridRetriever(strict, store=store, embedder=retriever.embedder).retrieve(
        question, libraries=["hospital"]
    )
    assert result.sources and not result.relevant


# -- LangChain ------------------------------------------------------------------------------------


def test_langchain_retriever_returns_documents(index) -> None:
    _, _, retriever = index
    lc = GuideCiteRetriever(hybrid=retriever, libraries=["hospital"], k=3)
    docs = lc.invoke(FLU_DOSE_Q)
    assert 0 < len(docs) <= 3 and all(isinstance(d, Document) for d in docs)
    assert any(phrase_in_text("成人剂量每次75mg，每日2次", d.page_content) for d in docs)
    meta = docs[0].metadata
    assert meta["n"] == 1 and meta["library"] == "hospital" and meta["relevant"] is True
    assert meta["chunk_id"] and meta["title"].startswith("流行性感冒诊疗方案")
    restricted = GuideCiteRetriever(hybrid=retriever, libraries=[RESTRICTED], k=3)
    docs = restricted.invoke(FLU_DOSE_Q)
    assert docs and {d.metadata["library"] for d in docs} == {RESTRICTED}


# -- near duplicates -----------------------------------------------------------------------------


def _hit(n: int, text: str) -> Hit:
    return Hit(id=f"p{n}", score=1.0 / n, payload={"text": text})


def test_near_duplicates_collapse_to_the_better_hit() -> None:
    base = "奥司他韦成人剂量每次75mg，每日2次，疗程5天，重症患者疗程可适当延长。"
    hits = [
        _hit(1, base),
        _hit(2, base.replace("。", "；")),  # re-issued text with one character changed
        _hit(3, "扎那米韦适用于成人及7岁以上青少年，用法为每日2次，间隔12小时。"),
        _hit(4, "  " + base + "\n"),  # same passage, different whitespace
    ]
    kept = collapse_near_duplicates(hits)
    assert [h.id for h in kept] == ["p1", "p3"]


def test_retrieved_sources_have_no_near_duplicates(index) -> None:
    _, _, retriever = index
    result = retriever.retrieve("流感 奥司他韦 剂量", libraries=["hospital"], k=10)
    texts = [s.text for s in result.sources]
    assert len(collapse_near_duplicates([_hit(i + 1, t) for i, t in enumerate(texts)])) == len(
        texts
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="流感奥司他韦剂量 abc", min_size=0, max_size=30), max_size=8))
def test_collapsing_keeps_order_and_is_idempotent(texts: list[str]) -> None:
    hits = [_hit(i + 1, t) for i, t in enumerate(texts)]
    once = collapse_near_duplicates(hits)
    assert collapse_near_duplicates(once) == once
    positions = [hits.index(h) for h in once]
    assert positions == sorted(positions)
    if hits:
        assert once[0] == hits[0]  # the best hit always survives


# -- sparse encoder features the retriever relies on ---------------------------------------------


def test_bigrams_match_drug_names_jieba_cuts_differently() -> None:
    enc = SparseEncoder()
    doc = set(enc.tokenize("阿兹夫定片：空腹整片吞服，每次5mg，每日1次。"))
    query = set(enc.query_terms("阿兹夫定怎么吃？"))
    shared = query & doc
    assert NGRAM_PREFIX + "兹夫" in shared and NGRAM_PREFIX + "夫定" in shared


def test_question_words_are_removed_from_queries_only() -> None:
    enc = SparseEncoder()
    assert "怎么" not in strip_question_words("阿兹夫定怎么吃")
    assert "多少" not in "".join(enc.query_terms("胡蜂蜇伤多少针算中度？"))
    # "什么时候" (when) is one question word, not "什么" plus a topic term "时候".
    assert not {"时候", "#时候"} & set(enc.query_terms("腺病毒肺炎患儿什么时候需要住院治疗？"))
    assert "how" not in enc.query_terms(TRAINING_Q)
    assert "often" not in enc.query_terms(TRAINING_Q)
    assert {"staff", "repeat", "training"} <= set(enc.query_terms(TRAINING_Q))
    # Documents keep them: a guideline sentence is not a question.
    assert "often" in enc.tokenize("Hands are often contaminated.")


def test_context_is_indexed_with_the_passage() -> None:
    enc = SparseEncoder()
    passage = "体温正常超过24小时，可考虑出院。"
    bare = enc.encode_document(passage)
    framed = enc.encode_document(
        passage, context="新型冠状病毒感染诊疗方案 十四、住院患者的出院标准"
    )
    query = enc.encode_query("住院患者出院标准")
    overlap_bare = set(query.indices) & set(bare.indices)
    overlap_framed = set(query.indices) & set(framed.indices)
    assert overlap_bare < overlap_framed


def test_equal_scores_rank_the_same_whatever_the_write_order(tmp_path: Path) -> None:
    # Passages that tie on every channel (the same text filed twice) come back from the store
    # in its internal write order; the retriever must show the same one whatever that was.
    sparse = SparseEncoder()
    cfg = Settings(data_dir=tmp_path / "unused")
    embedder = load_dense_embedder(cfg.embedding)
    texts = [
        "Remove gloves after caring for a patient and clean hands immediately.",
        "Alcohol-based hand rub is preferred unless hands are visibly soiled.",
    ]
    vectors = embedder.embed_documents(texts)
    ids = [str(uuid.UUID(int=n)) for n in range(1, 7)]
    points = [
        StorePoint(
            id=point_id,
            dense=list(vectors[n % 2]),
            sparse=sparse.encode_document(texts[n % 2]),
            payload={
                "text": texts[n % 2],
                "doc_id": f"doc-{n}",
                "library": "hospital",
                "status": "current",
                "section_path": [],
            },
        )
        for n, point_id in enumerate(ids)
    ]
    shown = {}
    for label, order in (("forward", points), ("reverse", points[::-1])):
        store = open_store(Settings(data_dir=tmp_path / label))
        try:
            store.ensure_collection(dense_dim=embedder.dim, model_id=embedder.model_id)
            for point in order:  # one write each: the store's order follows `order`
                store.upsert([point])
            retriever = HybridRetriever(cfg, store=store, embedder=embedder)
            shown[label] = [
                [s.doc_id for s in retriever.retrieve(
                    "When should gloves be removed?", libraries=["hospital"], channel=channel
                ).sources]
                for channel in ("sparse", "dense", "hybrid")
            ]  # fmt: skip
        finally:
            store.close()
    assert shown["forward"] == shown["reverse"]
    # Among equals the lowest point id wins: doc-0 (gloves) and doc-1 (hand rub).
    assert shown["forward"][0][0] == "doc-0"


# -- recommendation grades (issue #17 §1) --------------------------------------------------------

GRADED_MD = """# 肝癌监测

## 监测间隔

肝癌中、高风险人群应至少每隔6个月进行1次肝癌监测[11]（证据等级2，推荐A）。

## 术后

术后单纯腹膜转移的患者可以考虑行积极根治性切除[503]（证据等级3，推荐C）。

# Opioids

## Naloxone

Clinicians should offer naloxone to patients at increased risk of overdose (recommendation
category: A; evidence type: 4).

## Follow-up

Clinicians should review the pain management plan with each patient at every follow-up visit.
"""


def test_a_searched_source_carries_the_grade_stored_with_its_chunk(tmp_path: Path) -> None:
    note = tmp_path / "graded.md"
    note.write_text(GRADED_MD, encoding="utf-8")
    cfg = Settings(data_dir=tmp_path / "data")
    library = index_library(cfg, {"hospital": [note]})
    try:
        retriever = HybridRetriever(cfg, store=library.store, embedder=library.embedder)
        interval = retriever.retrieve("肝癌监测 每隔6个月", libraries=["hospital"]).sources[0]
        assert "每隔6个月" in interval.text
        assert interval.grade is not None
        assert interval.grade.model_dump(mode="json") == {
            "strength": "strong",
            "certainty": "moderate",
            "original": "证据等级2，推荐A",
        }
        # The payload keeps the span of the sentence each grade belongs to.
        payloads = [p for _, p in library.store.scroll(doc_id=interval.doc_id)]
        spans = [(p["text"], g) for p in payloads for g in p.get("grade") or []]
        assert len(spans) == 3
        for text, grade in spans:
            assert text[grade["start"] : grade["end"]].endswith(("）。", ")."))
            assert grade["original"] in text[grade["start"] : grade["end"]]
        naloxone = retriever.retrieve("offer naloxone overdose", libraries=["hospital"]).sources[0]
        assert "naloxone" in naloxone.text
        assert naloxone.grade is not None
        assert (naloxone.grade.strength, naloxone.grade.certainty) == ("strong", "very_low")
        assert naloxone.grade.original == "recommendation category: A; evidence type: 4"
        follow = retriever.retrieve("pain management plan follow-up visit", libraries=["hospital"])
        top = follow.sources[0]
        assert "follow-up visit" in top.text
        assert top.grade is None
        assert top.model_dump(mode="json")["grade"] is None
    finally:
        library.store.close()


RABIES_MD = """# Rabies post-exposure prophylaxis

## Vaccine

狂犬病疫苗（rabies vaccine）: give rabies vaccine on days 0, 3, 7, 14 and 28 after exposure.
"""


def test_ingestion_stores_the_library_profile_the_query_path_reads(tmp_path: Path) -> None:
    """Term rarity, glosses and languages are built when the library changes (ingestion,
    deletion) and stored; a question reads them instead of scanning every passage."""
    hygiene, rabies = tmp_path / "hand-hygiene.md", tmp_path / "rabies.md"
    hygiene.write_text(HAND_HYGIENE_MD, encoding="utf-8")
    rabies.write_text(RABIES_MD, encoding="utf-8")
    cfg = Settings(data_dir=tmp_path / "data")
    library = index_library(cfg, {"hospital": [hygiene, rabies]})
    try:
        path = profile_path(cfg)
        stored = json.loads(path.read_text(encoding="utf-8"))
        assert stored["key"] == profile_key(library.store)
        assert stored["df"]["glove"] >= 1
        assert "rabies vaccine" in stored["glosses"]["zh_to_en"]["狂犬病疫苗"]
        assert stored["languages"] == {"hospital": ["en"]}

        # The retriever returns what is stored (a term only the stored file holds shows it).
        stored["df"]["stored-only-term"] = 7
        path.write_text(json.dumps(stored), encoding="utf-8")
        retriever = HybridRetriever(cfg, store=library.store, embedder=library.embedder)
        assert retriever.profile().rarity.df["stored-only-term"] == 7

        # Deleting a document stores the new profile; the retriever picks it up at once.
        rabies_id = next(
            str(p["doc_id"]) for _, p in library.store.scroll() if "Rabies" in str(p["title"])
        )
        delete_document(library.store, cfg, rabies_id)
        profile = retriever.profile()
        assert "stored-only-term" not in profile.rarity.df
        assert "狂犬病疫苗" not in profile.glosses.zh_to_en
        assert profile.rarity.df["glove"] >= 1

        # A stored profile for other store counts (written elsewhere) is rebuilt, not used.
        stale = json.loads(path.read_text(encoding="utf-8"))
        stale["key"]["points"] += 1
        stale["df"]["stored-only-term"] = 7
        path.write_text(json.dumps(stale), encoding="utf-8")
        fresh = HybridRetriever(cfg, store=library.store, embedder=library.embedder)
        assert "stored-only-term" not in fresh.profile().rarity.df
    finally:
        library.store.close()


def test_a_lexical_only_search_is_judged_on_its_lexical_evidence(index) -> None:
    """The term table's English words beside a Chinese question that found its passages are
    searched lexically; with no dense score to pass, they used to be judged irrelevant always,
    so the other language's passages never joined the answer."""
    _, _, retriever = index
    english = retriever._search(
        "hand hygiene gloves patient", libraries=["hospital"], k=5, channel="sparse"
    )
    assert english.relevant, english.reasons
    assert "dense_below_floor" not in english.reasons
    both = retriever.retrieve(
        "流感患者接触后怎样做手卫生？",
        libraries=["hospital"],
        k=10,
        translations={"en": "hand hygiene gloves patient"},
    )
    assert both.languages == ["zh", "en"]
    assert any(s.language == "en" for s in both.sources)


def test_languages_fuse_with_the_relevant_one_leading(index) -> None:
    """A relevant own-language search keeps its best passages first when the other language
    joins; an irrelevant one interleaves behind the other language, its best passage second
    (not after every passage of the other language)."""
    _, _, retriever = index
    own = retriever.retrieve(FLU_DOSE_Q, libraries=["hospital"])
    assert own.relevant
    joined = retriever.retrieve(
        FLU_DOSE_Q, libraries=["hospital"], translations={"en": "hand hygiene gloves patient"}
    )
    assert joined.languages == ["zh", "en"]
    lead = min(5, len(own.sources))
    assert [s.chunk_id for s in joined.sources[:lead]] == [s.chunk_id for s in own.sources[:lead]]

    question = "Which antiviral dose do adults with influenza take?"
    alone = retriever.retrieve(question, libraries=["hospital"])
    assert not alone.relevant and alone.sources
    rescued = retriever.retrieve(
        question, libraries=["hospital"], translations={"zh": "流感 奥司他韦 成人 剂量"}
    )
    assert rescued.relevant and rescued.languages == ["en", "zh"]
    assert rescued.sources[0].language == "zh"
    assert rescued.sources[1].chunk_id == alone.sources[0].chunk_id


def test_a_question_whose_subject_is_written_only_in_another_language_is_searched_there(
    index,
) -> None:
    """When the question's own search was irrelevant and none of its hits names its subject,
    they take no part: they can only push the other language's answering passages down
    (every second place)."""
    _, _, retriever = index

    def oseltamivir(source: Source) -> bool:
        return "奥司他韦" in source.text

    question = "Which antiviral dose do adults with influenza take?"
    bag = {"zh": "流感 奥司他韦 成人 剂量"}
    mixed = retriever.retrieve(question, libraries=["hospital"], translations=bag)
    assert {s.language for s in mixed.sources} == {"en", "zh"}
    elsewhere = retriever.retrieve(
        question, libraries=["hospital"], translations=bag, names_subject=oseltamivir
    )
    assert elsewhere.sources and {s.language for s in elsewhere.sources} == {"zh"}
    # An own-language search that names the subject, or is relevant, keeps its place.
    kept = retriever.retrieve(
        question, libraries=["hospital"], translations=bag, names_subject=lambda s: True
    )
    assert [s.chunk_id for s in kept.sources] == [s.chunk_id for s in mixed.sources]
    own = retriever.retrieve(FLU_DOSE_Q, libraries=["hospital"])
    relevant = retriever.retrieve(
        FLU_DOSE_Q,
        libraries=["hospital"],
        translations={"en": "hand hygiene gloves patient"},
        names_subject=lambda source: False,
    )
    assert relevant.sources[0].chunk_id == own.sources[0].chunk_id


def test_passages_naming_more_of_the_question_lead_whatever_their_language(index) -> None:
    """A relevant own-language search no longer keeps its head when the other language's
    passages name more of the question's names: a Chinese passage naming one of two drugs
    is not the answer to whether both may be prescribed together, an English one naming both
    may be. Among passages naming as many, the fused order holds."""
    _, _, retriever = index
    bag = {"en": "hand hygiene gloves patient"}
    plain = retriever.retrieve(FLU_DOSE_Q, libraries=["hospital"], k=10, translations=bag)
    assert plain.sources[0].language == "zh"
    assert any(s.language == "en" and "glove" in s.text.lower() for s in plain.sources)

    def names_gloves(source: Source) -> int:
        return int("glove" in source.text.lower())

    counted = retriever.retrieve(
        FLU_DOSE_Q, libraries=["hospital"], k=10, translations=bag, anchors_held=names_gloves
    )
    assert counted.sources[0].language == "en" and names_gloves(counted.sources[0])
    held = [names_gloves(s) for s in counted.sources]
    assert held == sorted(held, reverse=True)
    assert [s.n for s in counted.sources] == list(range(1, len(counted.sources) + 1))
    # Passages naming as many keep the fused order.
    same = retriever.retrieve(
        FLU_DOSE_Q, libraries=["hospital"], k=10, translations=bag, anchors_held=lambda s: 1
    )
    assert [s.chunk_id for s in same.sources] == [s.chunk_id for s in plain.sources]


def test_a_passage_beginning_inside_a_list_item_keeps_its_head() -> None:
    from assistant.retrieval import to_source

    payload = {"text": "只有母亲的潜在获益大于风险时，才能在妊娠期间使用。", "doc_id": "d"}
    plain = to_source(1, Hit(id="a", score=1.0, payload={**payload, "section_path": ["治疗"]}))
    assert plain.section == "治疗" and plain.item_head is None
    headed = to_source(
        1,
        Hit(
            id="b",
            score=1.0,
            payload={**payload, "section_path": ["治疗"], "item_head": "1.甲苏韦片"},
        ),
    )
    # The head is what the passage's opening sentences stand under, not a heading of its own.
    assert headed.section == "治疗" and headed.item_head == "1.甲苏韦片"
