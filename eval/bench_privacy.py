"""Redaction throughput and false-positive rate over the shipped guideline corpus (issue 4).

The corpus holds no patient data, so every identifier found in it is a false positive.
Run: ``python -m eval.bench_privacy [--show]``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from assistant.language import CJK_CHARS
from assistant.privacy import RedactionRules, find_identifiers, load_rules, redact_text

CORPUS_DIR = Path(__file__).resolve().parent / "corpus" / "guidelines"

# Sentence ends: Chinese full stops, ?!; and an English full stop before a capital or CJK.
_SENTENCE_END = re.compile(rf"(?<=[。！？；!?])|(?<=\.)\s+(?=[A-Z{CJK_CHARS}])|\n\s*\n")
_CJK_NEWLINE = re.compile(rf"(?<=[{CJK_CHARS}，、：（])\s*\n\s*(?=[{CJK_CHARS}])")


def load_corpus(corpus_dir: Path = CORPUS_DIR) -> dict[str, str]:
    """Text of every corpus document: zh/*.txt as is, the PDFs through pypdf."""
    from pypdf import PdfReader

    texts: dict[str, str] = {}
    for path in sorted(corpus_dir.glob("*/*")):
        if path.suffix == ".txt":
            texts[path.name] = path.read_text(encoding="utf-8")
        elif path.suffix == ".pdf":
            pages = PdfReader(path).pages
            texts[path.name] = "\n".join(page.extract_text() or "" for page in pages)
    return texts


def split_sentences(text: str) -> list[str]:
    """Sentences of a document, PDF line breaks inside a sentence joined."""
    sentences = []
    for piece in _SENTENCE_END.split(_CJK_NEWLINE.sub("", text)):
        sentence = " ".join(piece.split())
        if sentence:
            sentences.append(sentence)
    return sentences


@dataclass
class FalsePositives:
    """Detections in identifier-free text, per sentence and per whole document."""

    sentences: int = 0
    flagged_sentences: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    document_by_type: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Share of sentences with at least one detection."""
        return self.flagged_sentences / self.sentences if self.sentences else 0.0


def measure_false_positives(
    texts: dict[str, str], *, rules: RedactionRules | None = None
) -> FalsePositives:
    """Run detection on every sentence (question-sized) and every document (ingestion)."""
    rules = rules or load_rules()
    result = FalsePositives()
    for name, text in texts.items():
        for found in find_identifiers(text, rules=rules):
            result.document_by_type[found.type] += 1
        for sentence in split_sentences(text):
            result.sentences += 1
            found_here = find_identifiers(sentence, rules=rules)
            if found_here:
                result.flagged_sentences += 1
            for found in found_here:
                result.by_type[found.type] += 1
                result.examples.append((name, found.type, sentence[found.start : found.end]))
    return result


def measure_throughput(texts: dict[str, str], *, rules: RedactionRules | None = None) -> float:
    """Characters per second of `redact_text` over whole documents (after warm-up)."""
    rules = rules or load_rules()
    redact_text("患者张三，男。", rules=rules)  # load jieba's dictionary outside the timing
    chars = sum(len(t) for t in texts.values())
    started = time.perf_counter()
    for text in texts.values():
        redact_text(text, rules=rules)
    return chars / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    """Print throughput and false-positive figures for the shipped corpus."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--show", action="store_true", help="print each false positive")
    args = parser.parse_args(argv)
    texts = load_corpus(args.corpus)
    chars = sum(len(t) for t in texts.values())
    rate = measure_throughput(texts)
    fp = measure_false_positives(texts)
    out = sys.stdout
    out.write(f"corpus: {len(texts)} documents, {chars:,} characters, {fp.sentences:,} sentences\n")
    out.write(f"throughput: {rate:,.0f} chars/s ({rate / 1e6:.2f} M chars/s)\n")
    out.write(
        f"false-positive sentences: {fp.flagged_sentences} / {fp.sentences} ({fp.rate:.4%})\n"
    )
    for kind in load_rules().types:
        out.write(
            f"  {kind:15s} sentences-mode {fp.by_type.get(kind, 0):4d}   "
            f"whole-document {fp.document_by_type.get(kind, 0):4d}\n"
        )
    if args.show:
        for name, kind, value in fp.examples:
            out.write(f"{kind}\t{value!r}\t{name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
