"""Where guidelines differ: two passages stating different values for one question (#17 §3).

Two sentences conflict when they come from different guidelines (different `doc_id`), both
answer the question — its subject (drug, disease) in the sentence or what it stands under, and
its aspect stated in the sentence (`judge_responsive`) —, name the same populations (child,
adult, pregnancy) and the same qualifiers (prophylaxis, loading, maintenance, maximum), and
each states a value of the aspect's kind that the other does not, in a comparable unit
(normalised by `extract_quantities`; 0.3 g = 300 mg). Requiring a difference *both ways* keeps
a sentence that only adds a value (a maximum, a second weight band) from reading as a conflict.

Deterministic, zh and en, no model: an answer with a conflict says so and shows both sides
instead of choosing one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from assistant.citations import split_sentences
from assistant.domain import ConflictSide, GuidelineConflict, Source
from assistant.generation import CONTEXT_SENTENCES
from assistant.populations import populations
from assistant.quantities import Quantity, extract_quantities, quantity_supported
from assistant.questions import QuestionAnalysis
from assistant.responsiveness import judge_responsive

__all__ = ["NUMERIC_ASPECTS", "find_conflicts"]

# Aspects whose answer is a number; the others (contraindication, adverse effects) are words.
NUMERIC_ASPECTS: Final[frozenset[str]] = frozenset(
    {"dose", "duration", "frequency", "incubation", "value"}
)
_DOSE_NUMERATORS: Final[frozenset[str]] = frozenset(
    {"ng", "ug", "mg", "g", "ml", "l", "ul", "iu", "mmol", "umol", "meq", "mme", "dose"}
)
_TIME_UNITS: Final[frozenset[str]] = frozenset({"year", "month", "week", "day", "hour", "min"})
_MASS: Final[frozenset[str]] = frozenset({"ng", "ug", "mg", "g", "kg"})
_VOLUME: Final[frozenset[str]] = frozenset({"ul", "ml", "dl", "l"})
# An age (1 岁, 2 周龄, 8 years old) says who, not how long; a year above this is a date.
_AGE_RE: Final[re.Pattern[str]] = re.compile(r"岁|龄|old|of age", re.IGNORECASE)
_FIRST_DATE_YEAR: Final[int] = 1900
# A dose for prophylaxis is not a treatment dose; a loading dose not a maintenance one.
_QUALIFIERS: Final[dict[str, re.Pattern[str]]] = {
    "prophylaxis": re.compile(r"预防|prophyla|post-?exposure|pre-?exposure", re.IGNORECASE),
    "loading": re.compile(r"负荷|首剂|首次|loading|first dose|initial dose", re.IGNORECASE),
    "maintenance": re.compile(r"维持|maintenance", re.IGNORECASE),
    "maximum": re.compile(r"最大|上限|极量|maximum|\bmax\b", re.IGNORECASE),
}


class _Claim:
    """One sentence of one source answering the question, with the values it states."""

    __slots__ = ("populations", "qualifiers", "quantities", "sentence", "source")

    def __init__(self, source: Source, sentence: str, quantities: list[Quantity]) -> None:
        self.source = source
        self.sentence = sentence
        self.quantities = quantities
        self.populations = frozenset(populations(sentence))
        self.qualifiers = frozenset(
            name for name, pattern in _QUALIFIERS.items() if pattern.search(sentence)
        )


def _of_aspect(q: Quantity, aspect: str) -> bool:
    """Whether a quantity is a value of the aspect's kind (a dose, a time …)."""
    if q.unit is None:
        return False
    numerator = q.unit.partition("/")[0]
    if numerator == "year" and q.low >= _FIRST_DATE_YEAR:
        return False  # 2025年版: a date
    if numerator in _TIME_UNITS and _AGE_RE.search(q.raw):
        return False
    if aspect == "dose":
        return numerator in _DOSE_NUMERATORS
    if aspect in ("duration", "incubation"):
        return q.unit in _TIME_UNITS
    if aspect == "frequency":
        return numerator in _TIME_UNITS or numerator == "times"
    return True  # value: any number with a unit


def _comparable(a: str | None, b: str | None) -> bool:
    """Same unit, or the same kind (mass, volume) over the same denominator."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    a_num, _, a_den = a.partition("/")
    b_num, _, b_den = b.partition("/")
    return a_den == b_den and any(a_num in f and b_num in f for f in (_MASS, _VOLUME))


def _unmatched(mine: Sequence[Quantity], theirs: Sequence[Quantity]) -> list[Quantity]:
    """My values the other sentence does not state, where it states a comparable one."""
    missing = []
    for q in mine:
        comparable = [t for t in theirs if _comparable(q.unit, t.unit)]
        if comparable and not quantity_supported(q, comparable):
            missing.append(q)
    return missing


def _claims(analysis: QuestionAnalysis, source: Source, aspect: str) -> list[_Claim]:
    sentences = [s.strip() for s in split_sentences(source.text) if s.strip()]
    claims = []
    for index, sentence in enumerate(sentences):
        context = [
            *sentences[max(0, index - CONTEXT_SENTENCES) : index],
            source.section,
            source.title,
        ]
        if not judge_responsive(analysis, sentence, context=context).responsive:
            continue
        values = [q for q in extract_quantities(sentence) if _of_aspect(q, aspect)]
        if values:
            claims.append(_Claim(source, sentence, values))
    return claims


def _side(claim: _Claim, quantity: Quantity) -> ConflictSide:
    source = claim.source
    return ConflictSide(
        n=source.n,
        doc_id=source.doc_id,
        title=source.title,
        version=source.version,
        section=source.section,
        sentence=claim.sentence,
        quantity=quantity.raw,
        grade=source.grade,
        **_dated(source),
    )


def _dated(source: Source) -> dict[str, Any]:
    """The guideline's effective date when its metadata states one, else its ingestion day."""
    if source.effective_date is not None:
        return {"dated": source.effective_date.isoformat(), "date_kind": "effective"}
    if source.ingested_at is not None:
        return {"dated": source.ingested_at.date().isoformat(), "date_kind": "ingested"}
    return {}


def find_conflicts(
    analysis: QuestionAnalysis, sources: Sequence[Source]
) -> list[GuidelineConflict]:
    """Pairs of sentences from different guidelines stating different values for the
    question's subject, aspect and population (one conflict per pair of sentences)."""
    aspect = analysis.aspect.name if analysis.aspect else None
    if aspect not in NUMERIC_ASPECTS or not analysis.terms:
        return []
    claims = [c for s in sources for c in _claims(analysis, s, aspect)]
    conflicts: list[GuidelineConflict] = []
    seen: set[tuple[str, str]] = set()
    for i, first in enumerate(claims):
        for second in claims[i + 1 :]:
            if first.source.doc_id == second.source.doc_id:
                continue
            if (first.populations, first.qualifiers) != (second.populations, second.qualifiers):
                continue
            key = (first.sentence, second.sentence)
            if key in seen:
                continue
            ours = _unmatched(first.quantities, second.quantities)
            theirs = _unmatched(second.quantities, first.quantities)
            if not (ours and theirs):
                continue
            seen.add(key)
            other = next((t for t in theirs if _comparable(ours[0].unit, t.unit)), theirs[0])
            conflicts.append(
                GuidelineConflict(
                    subject=analysis.subject,
                    aspect=aspect,
                    population=sorted(first.populations),
                    sides=[_side(first, ours[0]), _side(second, other)],
                )
            )
    return conflicts
