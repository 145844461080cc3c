"""The labelled golden question set over the shipped guideline corpus: load, validate, match."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput
from assistant.language import has_cjk

DEFAULT_GOLDEN_PATH = Path(__file__).parent / "datasets" / "golden.jsonl"
DEFAULT_CORPUS_DIR = Path(__file__).parent / "corpus" / "guidelines"
LANGUAGES = ("zh", "en")
SPLITS = ("tune", "holdout")
# Kinds of item: the strata the tune/holdout split is balanced over (with the language).
KINDS = ("same_language", "cross_lingual", "out_of_scope", "dose_probe")
# Wrong-subject probes (issue #10 item 7): out-of-scope dose questions about drugs the library
# does not hold, id `<lang>-oos-dose-NN`.
DOSE_PROBE_MARK = "-oos-dose-"

_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "question": (str,),
    "language": (str,),
    "expected_doc": (str, type(None)),
    "answer_phrase": (str, type(None)),
    "out_of_scope": (bool,),
    "cross_lingual": (bool,),
    "topic": (str,),
    "subject": (list,),
    "split": (str,),
}
_WHITESPACE = re.compile(r"\s+")
# PDF text layers carry soft hyphens and zero-width marks at line breaks; they are invisible
# to a reader, so they must not decide whether a phrase "appears" in a source.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# "opi-\noid" in a PDF text layer is one word split at a line end.
_HYPHEN_BREAK = re.compile(r"[-\u2010\u2011]\s*\n\s*")


@dataclass(frozen=True)
class GoldenItem:
    """One labelled question: in scope (expected document + answer phrase) or out of scope."""

    id: str
    question: str
    language: str
    expected_doc: str | None
    answer_phrase: str | None
    out_of_scope: bool
    cross_lingual: bool
    topic: str
    # Evaluation labels only (metrics, never the product): the item's subject names in both
    # languages (drug, disease, procedure), and which half of the set it belongs to.
    subject: tuple[str, ...] = ()
    split: str = "tune"

    @property
    def in_scope(self) -> bool:
        """True when the corpus answers the question."""
        return not self.out_of_scope

    @property
    def kind(self) -> str:
        """`same_language`, `cross_lingual`, `out_of_scope` or `dose_probe` (see KINDS)."""
        if self.out_of_scope:
            return "dose_probe" if DOSE_PROBE_MARK in self.id else "out_of_scope"
        return "cross_lingual" if self.cross_lingual else "same_language"


def normalise_for_match(text: str) -> str:
    """NFKC-normalise, drop all whitespace and invisible marks, lower-case."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    # NFKC again at the end: dropping a space (or lower-casing) can leave a combining mark
    # next to a letter it composes with ("H¨" -> "h\u0308" -> "\u1e27").
    return unicodedata.normalize("NFKC", _WHITESPACE.sub("", text).lower())


def phrase_in_text(phrase: str, text: str) -> bool:
    """Whether `phrase` occurs in `text` after normalisation (also across hyphenated line ends)."""
    needle = normalise_for_match(phrase)
    if not needle:
        return False
    if needle in normalise_for_match(text):
        return True
    return needle in normalise_for_match(_HYPHEN_BREAK.sub("", text))


def load_golden(path: Path | None = None) -> list[GoldenItem]:
    """Read and validate the golden JSONL file (default: the one shipped beside this module)."""
    source = path or DEFAULT_GOLDEN_PATH
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read golden dataset {source}: {exc}") from exc
    items: list[GoldenItem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{source}:{number}: not valid JSON ({exc.msg})") from exc
        items.append(_parse_item(record, where=f"{source}:{number}"))
    problems = validate_golden(items)
    if problems:
        raise InvalidInput(f"{source}: " + "; ".join(problems))
    return items


def _parse_item(record: Any, *, where: str) -> GoldenItem:
    if not isinstance(record, dict):
        raise InvalidInput(f"{where}: each line must be a JSON object")
    missing = sorted(set(_FIELDS) - set(record))
    extra = sorted(set(record) - set(_FIELDS))
    if missing or extra:
        raise InvalidInput(f"{where}: missing fields {missing}, unknown fields {extra}")
    for name, types in _FIELDS.items():
        if not isinstance(record[name], types):
            raise InvalidInput(f"{where}: field {name!r} has type {type(record[name]).__name__}")
    if not all(isinstance(name, str) for name in record["subject"]):
        raise InvalidInput(f"{where}: field 'subject' must be a list of strings")
    return GoldenItem(**{**record, "subject": tuple(record["subject"])})


def validate_golden(items: Sequence[GoldenItem]) -> list[str]:
    """Consistency problems in a golden set (empty when it is well formed)."""
    problems: list[str] = []
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            problems.append(f"duplicate id {item.id}")
        seen.add(item.id)
        if item.language not in LANGUAGES:
            problems.append(f"{item.id}: language must be one of {LANGUAGES}")
        if not item.question.strip() or not item.topic.strip():
            problems.append(f"{item.id}: empty question or topic")
        if item.out_of_scope:
            if item.expected_doc is not None or item.answer_phrase is not None:
                problems.append(f"{item.id}: out-of-scope item must have null doc and phrase")
            if item.cross_lingual:
                problems.append(f"{item.id}: out-of-scope item cannot be cross-lingual")
        elif not item.expected_doc or not item.answer_phrase:
            problems.append(f"{item.id}: in-scope item needs expected_doc and answer_phrase")
        if item.split not in SPLITS:
            problems.append(f"{item.id}: split must be one of {SPLITS}")
        names = [name for name in item.subject if name.strip()]
        if len(names) != len(item.subject) or not names:
            problems.append(f"{item.id}: subject needs one or more non-empty names")
        elif not any(has_cjk(n) for n in names) or all(has_cjk(n) for n in names):
            problems.append(f"{item.id}: subject needs names in both languages (zh and en)")
    return problems


def _split_order(item_id: str) -> str:
    return hashlib.sha256(item_id.encode("utf-8")).hexdigest()


def assign_splits(items: Sequence[GoldenItem], *, labelled: dict[str, str]) -> dict[str, str]:
    """Deterministic tune/holdout labels, balanced within each language x kind stratum.

    Items in `labelled` keep their split (a label never moves once thresholds were tuned on
    it); the others, in order of the SHA-256 of their id, each go to the half of their stratum
    that is smaller at that point (`tune` on a tie). A new set splits every stratum to within
    one item; adding items later keeps that balance.
    """
    splits: dict[str, str] = {}
    counts: Counter[tuple[str, str, str]] = Counter()
    for item in items:
        if item.id in labelled:
            splits[item.id] = labelled[item.id]
            counts[(item.language, item.kind, labelled[item.id])] += 1
    for item in sorted(
        (i for i in items if i.id not in labelled), key=lambda i: _split_order(i.id)
    ):
        tune, holdout = (counts[(item.language, item.kind, s)] for s in SPLITS)
        split = "tune" if tune <= holdout else "holdout"
        splits[item.id] = split
        counts[(item.language, item.kind, split)] += 1
    return splits


def split_imbalance(items: Sequence[GoldenItem]) -> dict[tuple[str, str], int]:
    """Per language x kind stratum, |tune - holdout| where it exceeds one item."""
    counts: Counter[tuple[str, str, str]] = Counter((i.language, i.kind, i.split) for i in items)
    strata = {(i.language, i.kind) for i in items}
    gaps = {s: abs(counts[(*s, "tune")] - counts[(*s, "holdout")]) for s in strata}
    return {s: gap for s, gap in sorted(gaps.items()) if gap > 1}


def find_document(name: str, corpus_dir: Path | None = None) -> Path | None:
    """The corpus file called `name` (searched in every language folder), if present."""
    root = corpus_dir or DEFAULT_CORPUS_DIR
    # Compare names rather than globbing: guideline titles may contain glob metacharacters.
    matches = sorted(p for p in root.rglob("*") if p.name == name and p.is_file())
    return matches[0] if matches else None


def document_language(name: str, corpus_dir: Path | None = None) -> str | None:
    """The language folder (`zh` or `en`) holding corpus document `name`, if any."""
    path = find_document(name, corpus_dir)
    if path is None or path.parent.name not in LANGUAGES:
        return None
    return path.parent.name


def read_document_text(path: Path) -> str:
    """The full text of a corpus document: UTF-8 text, or a PDF's page texts joined."""
    if path.suffix.lower() == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    return path.read_text(encoding="utf-8")


def check_answer_phrases(
    items: Iterable[GoldenItem],
    *,
    corpus_dir: Path | None = None,
    cache: dict[str, str] | None = None,
) -> list[str]:
    """In-scope items whose document is missing or does not contain the answer phrase.

    `cache` maps document names to their text; pass one dict to reuse extracted PDFs.
    """
    texts = cache if cache is not None else {}
    problems: list[str] = []
    for item in items:
        if item.out_of_scope or item.expected_doc is None or item.answer_phrase is None:
            continue
        if item.expected_doc not in texts:
            path = find_document(item.expected_doc, corpus_dir)
            if path is None:
                problems.append(f"{item.id}: document {item.expected_doc!r} not in corpus")
                continue
            texts[item.expected_doc] = read_document_text(path)
        if not phrase_in_text(item.answer_phrase, texts[item.expected_doc]):
            problems.append(f"{item.id}: phrase {item.answer_phrase!r} not in {item.expected_doc}")
    return problems
