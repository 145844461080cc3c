"""The evaluation harness: dataset → cached index → answers → metrics.json (issue 7).

Every question goes through the real `answer_question` (access, redaction, gate, retrieval,
generation or the extractive path, verification, flags, audit) as an eval user, and through
the three retrieval channels on their own. Generation uses the configured LLM endpoint when
`GUIDECITE_LLM__BASE_URL` is set; otherwise answers are extractive; `standin-faithful` and
`standin-unfaithful` run against the SGLang stand-in with scripted answers (eval/scripted.py).
`generation` in the result (and in report.md) says which. When answers are generated, the plain
LangChain chain answers the same items too (eval/chain_compare.py, `details.answer_comparison`).

Definitions (all rates in [0, 1]):
- retrieval: per channel (sparse, dense, and hybrid = ours, the retriever's language-aware
  choice), the rank of the first source that is gold — for `golden`, a source containing the
  answer phrase; for `pubmedqa`/`medquad`/`regression`, a source from the gold document.
- citation precision: share of shown citations `[n]` (answer sentences of non-refused answers)
  whose source supports the sentence — the verifier's `supported` for that sentence, or, for
  items with a gold label, the cited source being gold. `details.gold_citation_precision` counts
  only the gold test.
- citation recall: share of answer sentences with at least one citation and verified support.
- refusal: an answer of mode `refused` counts as a refusal; out-of-scope items should be refused.
- leaks.identifiers: identifiers of `phi` probes found verbatim in the answer JSON or in its audit
  row, plus identifiers that detection finds again in the audit row's redacted question.
- leaks.restricted_chunks: sources shown from a library the asking user may not read.

Answer quality (issue #10 item 7; a sentence is *shown* when its answer is neither refused nor
denied and the verifier marked it `supported` — faithful and responsive):
- answer_hit: in-scope items with an answer phrase that were answered (not refused), the share
  whose phrase appears (`phrase_in_text`) in a shown sentence or across consecutive shown
  sentences; `answer_hit_same_language` restricts it to same-language items and
  `answer_hit_incl_refused` counts refused in-scope items as misses.
- offtopic_sentence_rate: shown sentences of in-scope items with a known gold document that
  cite a source from another document, over all those shown sentences.
- wrong_subject_doses: shown dosing sentences (a number with a dose unit: mg, g, µg, ng, mL,
  IU/U, MME and their Chinese names, or a count of 片/粒/支/丸/袋/贴/tablets/capsules; not a
  concentration such as mg/dL) that name none of the item's `subject` labels
  (case-insensitive), neither themselves nor in a shown sentence before them from the same
  source with no other drug named between (the composer shows "奥司他韦：…" before "成人剂量每次
  75mg"); for out-of-scope items every shown dosing sentence counts. A count.
- same_language_recall@5, cross_lingual_recall@5: hybrid recall@5 over same-language and over
  cross-lingual in-scope items (`retrieval` keeps recall over all of them, as before).
- refusal.in_scope_wrongly_refused: in-scope items answered with a refusal, over in-scope items.
`by_split` repeats every block for the golden set's `tune` and `holdout` halves (thresholds are
tuned on one and reported on the other).
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from assistant.access import AccessControl
from assistant.audit.log import open_audit_log
from assistant.config import Settings
from assistant.domain import Answer, AnswerMode, AnswerSentence, Principal, Role, Source
from assistant.embedding import DenseEmbedder, load_dense_embedder
from assistant.errors import GuideCiteError
from assistant.gates import GateRegistry
from assistant.llm import ChatModel
from assistant.privacy import detect_identifiers
from assistant.quantities import extract_quantities
from assistant.retrieval import Channel
from assistant.service.ask import answer_question
from assistant.service.context import Context
from assistant.service.understanding import anchors_held, names_subject, understand_question
from assistant.store import open_store
from assistant.zh_names import names_in
from eval.chain_compare import ChainRow, compare, run_plain_chain
from eval.corpora import (
    DEFAULT_CACHE_DIR,
    RESTRICTED_DEPARTMENT,
    RESTRICTED_LIBRARY,
    Corpus,
    build_index,
    load_dataset,
)
from eval.golden import SPLITS, normalise_for_match, phrase_in_text
from eval.items import EvalItem
from eval.retrieval_eval import CHANNELS, ItemResult, refusal_metrics, retrieval_metrics
from eval.scripted import GENERATION_CHOICES, SCRIPTED_MODES, ScriptedMode, scripted_standin
from ingestion.documents import list_documents

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
EVAL_DEPARTMENT = "eval"
PRINCIPALS = {
    "doctor": Principal(user="eval.doctor", role=Role.DOCTOR, department=EVAL_DEPARTMENT),
    "outsider": Principal(user="eval.outsider", role=Role.DOCTOR, department="cardiology"),
}
# Issue #10: a "dosing sentence" is a number with a dose unit. Units are the canonical ones of
# assistant.quantities; a volume in the denominator makes it a concentration (mg/dL, ng/mL).
_DOSE_UNITS = frozenset({"mg", "g", "ug", "ng", "ml", "iu", "mme"})
_CONCENTRATION = frozenset({"l", "dl", "ml", "ul"})
# Counted dose forms that assistant.quantities reads as bare numbers.
_DOSE_COUNT = re.compile(
    r"\d+(?:\.\d+)?\s*(?:片|粒|支(?!气)|丸|袋|贴|tablets?\b|capsules?\b|puffs?\b)", re.IGNORECASE
)
_NOT_SHOWN = frozenset({str(AnswerMode.REFUSED), str(AnswerMode.DENIED)})


@dataclass
class AnswerRow:
    """What one question's answer showed, measured against its labels."""

    id: str
    language: str
    out_of_scope: bool
    mode: str
    cross_lingual: bool = False
    citations: int = 0
    supported_citations: int = 0
    gold_citations: int = 0
    sentences: int = 0
    supported_sentences: int = 0
    cited_sentences: int = 0
    verified_citations: int = 0  # citations in sentences the verifier marked supported
    identifier_leaks: int = 0
    restricted_chunks: int = 0
    latency_ms: float = 0.0
    error: str | None = None
    shown_sentences: int = 0
    answer_hit: bool | None = None  # None: no answer phrase to look for, or out of scope
    offtopic_scored: int = 0  # shown sentences of an item whose gold document is known
    offtopic_sentences: int = 0
    dosing_sentences: int = 0  # shown dosing sentences
    wrong_subject_doses: int = 0


@dataclass
class EvalRun:
    """Per-item rows of one dataset run and how they were produced."""

    dataset: str
    items: list[EvalItem]
    retrieval_rows: list[ItemResult]
    answer_rows: list[AnswerRow]
    generation: str
    index_dir: str
    index_build_s: float
    extra: dict[str, Any] = field(default_factory=dict)


def is_gold(item: EvalItem, source: Source) -> bool:
    """Whether a source answers the item: it holds the answer phrase or is a gold document."""
    if item.answer_phrase is not None:
        return phrase_in_text(item.answer_phrase, source.text)
    return source.doc_id in item.gold_doc_ids


def _has_gold(item: EvalItem) -> bool:
    return item.in_scope and (item.answer_phrase is not None or bool(item.gold_doc_ids))


def grant_eval_users(access: AccessControl) -> None:
    """Seed the policy and the eval users: a doctor, and an outsider to the restricted library."""
    access.seed_defaults()
    access.assign_role(user="eval.doctor", role=Role.DOCTOR, department=EVAL_DEPARTMENT)
    access.assign_role(user="eval.outsider", role=Role.DOCTOR, department="cardiology")
    access.assign_library(library=RESTRICTED_LIBRARY, department=RESTRICTED_DEPARTMENT)


def open_eval_gate(settings: Settings) -> None:
    """Record an ethics approval for the eval departments, so answers may be generative."""
    # Generative answers need a current ethics approval for the asking departments (issue 6).
    registry = GateRegistry.open(settings)
    for department in {p.department for p in PRINCIPALS.values()}:
        registry.record(
            department=department,
            reference="EVAL-HARNESS",
            approved_by="eval",
            approved_on=date(2000, 1, 1),
            expires_on=date(2099, 1, 1),
        )


# The retriever's own choice without the term table's translations (the wave-1 query path).
UNTRANSLATED = "hybrid_untranslated"


def retrieval_rows(
    ctx: Context, item: EvalItem, *, libraries: list[str], k: int = 10
) -> list[ItemResult]:
    """The item on each channel (sparse alone, dense alone, ours), ranked against its gold.

    `hybrid` is what the product runs: the retriever's language-aware choice (RRF of dense and
    sparse where the dense model covers the question's language, lexical alone otherwise), not
    RRF forced onto every language — with the English MiniLM that would score Chinese questions
    through a model that cannot read them (eval/retrieval_eval.py measures both).
    """
    rows = []
    # The product's query path: the question plus its term-table translations (issue #10),
    # without a model here so the figure measures the table, not a translation.
    analysis = understand_question(ctx, item.question, libraries=libraries)
    for channel in (*CHANNELS, UNTRANSLATED):
        hybrid = channel in ("hybrid", UNTRANSLATED)
        result = ctx.retriever.retrieve(
            item.question,
            libraries=libraries,
            k=k,
            channel=None if hybrid else cast(Channel, channel),
            translations=analysis.translations if channel == "hybrid" else None,
            bag_groups=analysis.bag_groups,
            names_subject=names_subject(analysis),
            anchors_held=anchors_held(analysis),
        )
        rank = next((s.n for s in result.sources if is_gold(item, s)), None)
        rows.append(ItemResult.of(item, result, channel=channel, rank=rank))
    return rows


def shown_sentences(answer: Answer) -> list[AnswerSentence]:
    """What a doctor sees: the supported sentences of an answer that is not a refusal."""
    if str(answer.mode) in _NOT_SHOWN:
        return []
    return [s for s in answer.sentences if s.supported]


def is_dosing_sentence(text: str) -> bool:
    """Whether `text` states a dose: a number with a dose unit (issue #10 item 2)."""
    for quantity in extract_quantities(text):
        if quantity.unit is None:
            continue
        numerator, *denominators = quantity.unit.split("/")
        if numerator in _DOSE_UNITS and not _CONCENTRATION.intersection(denominators):
            return True
    return bool(_DOSE_COUNT.search(text))


def mentions_subject(text: str, subject: list[str]) -> bool:
    """Whether `text` names any of the subject names (case- and width-insensitive)."""
    haystack = normalise_for_match(text)
    return any(
        needle and needle in haystack for needle in (normalise_for_match(n) for n in subject)
    )


def count_wrong_subject_doses(item: EvalItem, shown: list[AnswerSentence]) -> int:
    """Shown dosing sentences about another subject (every one, for an out-of-scope item).

    A dosing sentence that names no subject is read under the shown sentence before it from
    the same source ("奥司他韦：…。" then "成人剂量每次75mg，每日2次。"): when one of them names
    the item's subject, with no other drug named between, a reader knows whose dose it is.
    """
    subject: list[str] = item.extra.get("subject") or []
    if item.in_scope and not subject:
        return 0  # nothing to compare with: the item carries no subject label
    count = 0
    for index, sentence in enumerate(shown):
        if not is_dosing_sentence(sentence.text):
            continue
        if item.out_of_scope:
            count += 1
            continue
        if mentions_subject(sentence.text, subject):
            continue
        if _names_another(sentence.text, subject) or not _read_under_subject(
            shown[:index], sentence, subject
        ):
            count += 1
    return count


def _names_another(text: str, subject: list[str]) -> bool:
    return any(not mentions_subject(name, subject) for name in names_in(text))


def _read_under_subject(
    before: list[AnswerSentence], sentence: AnswerSentence, subject: list[str]
) -> bool:
    """Whether an earlier shown sentence from the same source names the subject, with no
    sentence naming another drug between them (the answer reads as one passage)."""
    for earlier in reversed(before):
        if not set(earlier.citations) & set(sentence.citations):
            return False
        if mentions_subject(earlier.text, subject):
            return True
        if _names_another(earlier.text, subject):
            return False
    return False


def find_answer_hit(item: EvalItem, shown: list[AnswerSentence]) -> bool:
    """Whether the item's answer phrase appears in a shown sentence (or across adjacent ones)."""
    phrase = item.answer_phrase
    if phrase is None:
        return False
    texts = [s.text for s in shown]
    return any(phrase_in_text(phrase, t) for t in texts) or phrase_in_text(phrase, "".join(texts))


def count_offtopic(
    shown: list[AnswerSentence], sources: list[Source], *, gold_docs: frozenset[str]
) -> int:
    """Shown sentences citing a source whose document is not a gold document."""
    doc_of = {s.n: s.doc_id for s in sources}
    return sum(1 for s in shown if any(doc_of.get(n) not in gold_docs for n in s.citations))


def score_answer(
    item: EvalItem,
    answer: Answer,
    *,
    gold_docs: frozenset[str] = frozenset(),
    readable: list[str] | None = None,
    latency_ms: float = 0.0,
    identifier_leaks: int = 0,
) -> AnswerRow:
    """The row for one answer: citations, what was shown, and the issue #10 measures."""
    row = AnswerRow(
        id=item.id,
        language=item.language,
        out_of_scope=item.out_of_scope,
        mode=str(answer.mode),
        cross_lingual=item.cross_lingual,
        latency_ms=latency_ms,
        restricted_chunks=sum(
            1 for s in answer.sources if readable is not None and s.library not in readable
        ),
        identifier_leaks=identifier_leaks,
    )
    shown = shown_sentences(answer)
    row.shown_sentences = len(shown)
    row.dosing_sentences = sum(1 for s in shown if is_dosing_sentence(s.text))
    row.wrong_subject_doses = count_wrong_subject_doses(item, shown)
    if item.in_scope and item.answer_phrase is not None:
        row.answer_hit = find_answer_hit(item, shown)
    if item.in_scope and gold_docs:
        row.offtopic_scored = len(shown)
        row.offtopic_sentences = count_offtopic(shown, answer.sources, gold_docs=gold_docs)
    if answer.mode == AnswerMode.REFUSED:
        return row
    by_n = {s.n: s for s in answer.sources}
    for sentence in answer.sentences:
        row.sentences += 1
        row.supported_sentences += int(bool(sentence.citations) and sentence.supported)
        row.cited_sentences += int(bool(sentence.citations))
        row.verified_citations += len(sentence.citations) if sentence.supported else 0
        for n in sentence.citations:
            source = by_n.get(n)
            gold = source is not None and _has_gold(item) and is_gold(item, source)
            row.citations += 1
            row.gold_citations += int(gold)
            row.supported_citations += int(sentence.supported or gold)
    return row


def _identifier_leaks(ctx: Context, item: EvalItem, answer: Answer) -> int:
    identifiers: list[str] = item.extra.get("identifiers", [])
    if not identifiers:
        return 0
    shown = answer.model_dump_json()
    stored = ""
    question = ""
    if answer.audit_event_id is not None:
        for event in ctx.audit.iter_events(actions={"ask"}):
            if event.id == answer.audit_event_id:
                stored = json.dumps(event.model_dump(mode="json"), ensure_ascii=False)
                question = str(event.detail_json.get("question", ""))
    found = sum(1 for ident in identifiers if ident in shown or ident in stored)
    return found + sum(detect_identifiers(question).values())


def answer_row(
    ctx: Context,
    item: EvalItem,
    *,
    principal: Principal,
    readable: list[str],
    gold_docs: frozenset[str] = frozenset(),
) -> AnswerRow:
    """Ask the item through the full service path and score what was shown."""
    started = time.perf_counter()
    try:
        answer = answer_question(principal, item.question, ctx=ctx)
    except GuideCiteError as exc:
        return AnswerRow(
            id=item.id,
            language=item.language,
            out_of_scope=item.out_of_scope,
            mode="error",
            cross_lingual=item.cross_lingual,
            error=type(exc).__name__,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
    return score_answer(
        item,
        answer,
        gold_docs=gold_docs,
        readable=readable,
        latency_ms=(time.perf_counter() - started) * 1000,
        identifier_leaks=_identifier_leaks(ctx, item, answer),
    )


def gold_documents(item: EvalItem, doc_ids: dict[str, str]) -> frozenset[str]:
    """The doc_ids that answer an item: its labelled ones and its expected file's, if indexed."""
    expected = item.extra.get("expected_doc")
    found = {doc_ids[expected]} if expected in doc_ids else set()
    return frozenset({*item.gold_doc_ids, *found})


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _ratio(num: float, den: float) -> float | None:
    # None (JSON null) when nothing was counted: 0 or 1 would claim a result there is none of.
    return round(num / den, 4) if den else None


def _block(retrieval: list[ItemResult], answers: list[AnswerRow]) -> dict[str, Any]:
    """The metrics.json keys (less dataset and by_language) over some rows."""
    channels = {}
    for channel in CHANNELS:
        metrics = retrieval_metrics([r for r in retrieval if r.channel == channel])
        metrics.pop("n", None)
        channels[channel] = metrics or dict.fromkeys(
            ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")
        )
    answered = [a for a in answers if a.mode != "error"]
    refusal = refusal_metrics(
        [
            ItemResult(
                id=a.id,
                language=a.language,
                channel="answer",
                out_of_scope=a.out_of_scope,
                cross_lingual=False,
                rank=None,
                relevant=a.mode != str(AnswerMode.REFUSED),
                best_dense=None,
                best_sparse=None,
                term_coverage=0.0,
                elapsed_ms=a.latency_ms,
            )
            for a in answered
        ]
    )
    refused = sum(1 for a in answered if a.mode == str(AnswerMode.REFUSED))
    in_scope = [a for a in answered if not a.out_of_scope]
    latencies = [a.latency_ms for a in answered]
    hybrid = [r for r in retrieval if r.channel == "hybrid"]

    def recall_at_5(rows: list[ItemResult]) -> float | None:
        return retrieval_metrics(rows).get("recall@5")

    def hit_rate(rows: list[AnswerRow]) -> float | None:
        scored = [a for a in rows if a.answer_hit is not None]
        return _ratio(sum(1 for a in scored if a.answer_hit), len(scored))

    shown_in_scope = [a for a in in_scope if a.mode != str(AnswerMode.REFUSED)]
    return {
        "n_items": len(answers),
        "retrieval": channels,
        "citations": {
            "precision": _ratio(
                sum(a.supported_citations for a in answers), sum(a.citations for a in answers)
            ),
            "recall": _ratio(
                sum(a.supported_sentences for a in answers), sum(a.sentences for a in answers)
            ),
        },
        "refusal": {
            "precision": _ratio(refusal["refused_out_of_scope"], refused),
            "recall": _ratio(refusal["refused_out_of_scope"], refusal["out_of_scope"]),
            "in_scope_wrongly_refused": _ratio(refusal["wrongly_refused"], len(in_scope)),
        },
        "answer_hit": hit_rate(shown_in_scope),
        "answer_hit_same_language": hit_rate([a for a in shown_in_scope if not a.cross_lingual]),
        "answer_hit_incl_refused": hit_rate(in_scope),
        "offtopic_sentence_rate": _ratio(
            sum(a.offtopic_sentences for a in answers), sum(a.offtopic_scored for a in answers)
        ),
        "wrong_subject_doses": sum(a.wrong_subject_doses for a in answers),
        "same_language_recall@5": recall_at_5([r for r in hybrid if not r.cross_lingual]),
        "cross_lingual_recall@5": recall_at_5([r for r in hybrid if r.cross_lingual]),
        # The same question without the term table's translations: what the table adds.
        "cross_lingual_recall@5_without_table": recall_at_5(
            [r for r in retrieval if r.channel == UNTRANSLATED and r.cross_lingual]
        ),
        "leaks": {
            "identifiers": sum(a.identifier_leaks for a in answers),
            "restricted_chunks": sum(a.restricted_chunks for a in answers),
        },
        "latency_ms": {
            "p50": round(_percentile(latencies, 0.5), 2) if latencies else None,
            "p95": round(_percentile(latencies, 0.95), 2) if latencies else None,
        },
    }


def _by_language(retrieval: list[ItemResult], answers: list[AnswerRow]) -> dict[str, Any]:
    return {
        lang: _block(
            [r for r in retrieval if r.language == lang],
            [a for a in answers if a.language == lang],
        )
        for lang in ("zh", "en")
    }


def compute_metrics(run: EvalRun) -> dict[str, Any]:
    """metrics.json for one run, in the schema of issues 7 and #10 (all rates in [0, 1]).

    `by_split` holds the same blocks (with `by_language`) for each half of a dataset whose
    items carry a `split` label (golden: `tune`, `holdout`); it is empty for the others.
    """
    metrics: dict[str, Any] = {"dataset": run.dataset}
    metrics.update(_block(run.retrieval_rows, run.answer_rows))
    metrics["by_language"] = _by_language(run.retrieval_rows, run.answer_rows)
    split_of = {item.id: item.extra.get("split") for item in run.items}
    metrics["by_split"] = {}
    for split in SPLITS:
        retrieval = [r for r in run.retrieval_rows if split_of.get(r.id) == split]
        answers = [a for a in run.answer_rows if split_of.get(a.id) == split]
        if answers or retrieval:
            metrics["by_split"][split] = {
                **_block(retrieval, answers),
                "by_language": _by_language(retrieval, answers),
            }
    return metrics


def details(run: EvalRun) -> dict[str, Any]:
    """Diagnostics beside metrics.json: how answers were made, gold precision, errors, index."""
    answers = run.answer_rows
    modes: dict[str, int] = {}
    for a in answers:
        modes[a.mode] = modes.get(a.mode, 0) + 1
    cross = [r for r in run.retrieval_rows if r.cross_lingual]
    return {
        "dataset": run.dataset,
        "generation": run.generation,
        "modes": modes,
        "gold_citation_precision": _ratio(
            sum(a.gold_citations for a in answers if not a.out_of_scope),
            sum(a.citations for a in answers if not a.out_of_scope),
        ),
        "errors": [a.id for a in answers if a.error],
        "index_dir": run.index_dir,
        "index_build_s": round(run.index_build_s, 1),
        "cross_lingual_hybrid": retrieval_metrics([r for r in cross if r.channel == "hybrid"]),
        **run.extra,
    }


def run_dataset(
    name: str,
    *,
    settings: Settings,
    limit: int | None = None,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    embedder: DenseEmbedder | None = None,
    regression_path: Path | None = None,
    progress: ProgressFn | None = None,
    generation: str = "configured",
) -> EvalRun:
    """Index the dataset's corpus (cached), ask every question, return per-item rows."""
    corpus, items = load_dataset(name, limit=limit, regression_path=regression_path)
    return run_items(
        name,
        corpus=corpus,
        items=items,
        settings=settings,
        cache_dir=cache_dir,
        embedder=embedder,
        progress=progress,
        generation=generation,
    )


def as_chain_row(row: AnswerRow) -> ChainRow:
    """Our answer's counts in the shape the plain-chain comparison uses (verifier only)."""
    return ChainRow(
        id=row.id,
        language=row.language,
        out_of_scope=row.out_of_scope,
        answered=row.mode not in (str(AnswerMode.REFUSED), "error"),
        sentences=row.sentences,
        cited_sentences=row.cited_sentences,
        supported_sentences=row.supported_sentences,
        citations=row.citations,
        supported_citations=row.verified_citations,
        latency_ms=row.latency_ms,
    )


def run_items(
    name: str,
    *,
    corpus: Corpus,
    items: list[EvalItem],
    settings: Settings,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    embedder: DenseEmbedder | None = None,
    progress: ProgressFn | None = None,
    generation: str = "configured",
    unfaithful_share: float = 0.5,
) -> EvalRun:
    """Index `corpus` (cached) and ask `items` through the service; the CI slice uses this.

    `generation`: `configured` uses `GUIDECITE_LLM__BASE_URL` when set (extractive otherwise);
    `standin-faithful` / `standin-unfaithful` start the SGLang stand-in scripted that way
    (eval/scripted.py) and point the run at it, whatever is configured; `unfaithful_share` is
    the share of sentences the unfaithful script falsifies.
    """
    if generation not in GENERATION_CHOICES:
        raise ValueError(
            f"unknown generation {generation!r}; choose from {', '.join(GENERATION_CHOICES)}"
        )
    mode = generation.removeprefix("standin-")
    label = f"llm:{settings.llm.model}" if settings.llm.base_url else "extractive"
    with ExitStack() as stack:
        if mode in SCRIPTED_MODES:
            server = stack.enter_context(
                scripted_standin(cast(ScriptedMode, mode), share=unfaithful_share)
            )
            llm = settings.llm.model_copy(
                update={"base_url": server.base_url, "max_retries": 0, "timeout_s": 30.0}
            )
            settings, label = settings.model_copy(update={"llm": llm}), generation
        return _run_items(
            name,
            corpus=corpus,
            items=items,
            settings=settings,
            cache_dir=cache_dir,
            embedder=embedder,
            progress=progress,
            label=label,
        )


def _run_items(
    name: str,
    *,
    corpus: Corpus,
    items: list[EvalItem],
    settings: Settings,
    cache_dir: Path,
    embedder: DenseEmbedder | None,
    progress: ProgressFn | None,
    label: str,
) -> EvalRun:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = embedder or load_dense_embedder(settings.embedding)
    started = time.perf_counter()
    index_dir = build_index(corpus, settings=settings, embedder=embedder, cache_dir=cache_dir)
    build_s = time.perf_counter() - started
    chat = ChatModel(settings.llm) if settings.llm.base_url else None
    with tempfile.TemporaryDirectory(prefix="guidecite-eval-") as tmp:
        # The audit, access and gate tables of a run are throwaway; only the index is cached.
        run_settings = settings.model_copy(
            update={"data_dir": Path(tmp), "database_url": f"sqlite:///{Path(tmp) / 'eval.db'}"}
        )
        store = open_store(settings.model_copy(update={"data_dir": index_dir}))
        access = AccessControl.open(run_settings)
        grant_eval_users(access)
        if chat is not None:
            open_eval_gate(run_settings)
        # Gold documents by file name, so a cited source is judged by the document it came from.
        doc_ids = {v.source_file: v.doc_id for v in list_documents(store)}
        ctx = Context(
            settings=run_settings,
            store=store,
            embedder=embedder,
            access=access,
            audit=open_audit_log(run_settings),
            chat=chat,
        )
        retrieval: list[ItemResult] = []
        answers: list[AnswerRow] = []
        try:
            for index, item in enumerate(items):
                if progress:
                    progress(name, index, len(items))
                principal = PRINCIPALS[item.asker]
                readable = access.readable_libraries(principal)
                if _has_gold(item) or (item.out_of_scope and item.dataset == "golden"):
                    retrieval += retrieval_rows(ctx, item, libraries=readable)
                answers.append(
                    answer_row(
                        ctx,
                        item,
                        principal=principal,
                        readable=readable,
                        gold_docs=gold_documents(item, doc_ids),
                    )
                )
            # The plain chain answers the same items over the same chunks (issue 7 item 3).
            plain = (
                run_plain_chain(
                    items,
                    store=store,
                    embedder=embedder,
                    llm=run_settings.llm,
                    similarity=ctx.similarity,
                    k=run_settings.retrieval.top_k,
                )
                if chat is not None
                else None
            )
        finally:
            ctx.close()
    return EvalRun(
        dataset=name,
        items=items,
        retrieval_rows=retrieval,
        answer_rows=answers,
        generation=label,
        index_dir=str(index_dir),
        index_build_s=build_s,
        extra={
            "answer_comparison": compare(
                [as_chain_row(a) for a in answers], plain, generation=label
            )
        },
    )
