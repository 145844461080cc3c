"""Risk-flag rules: which flags an answer carries, and how severe each is (issue 6 item 1).

Thresholds, term lists and severities are data in `policies/flags.yaml`, overridable per
department; this module only applies them. A `high` flag opens a review item (see
`assistant/review.py`); `medium` and `info` flags are counted by monitoring and shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from assistant.domain import AnswerMode, Flag, Source
from assistant.errors import ConfigError
from assistant.generation import Draft
from assistant.language import has_cjk
from assistant.privacy import RedactionResult
from assistant.retrieval import RetrievalResult

Severity = Literal["high", "medium", "info"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "info")
FLAG_CODES = (
    "unsupported_sentence",
    "no_evidence",
    "low_retrieval_score",
    "high_risk_topic",
    "phi_detected",
    "llm_error",
    "negative_feedback",
    "injection_suspected",
    "access_denied",
    "gate_closed",
    # Issue 17 §2: the guideline an unresolved review item cites has a newer edition.
    "guideline_updated",
    # Issue 17 §3: the guidelines behind an answer state different values for its question.
    "guideline_conflict",
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class LowRetrieval:
    """Below these, an answered question rests on weak evidence."""

    min_term_coverage: float = 0.6
    min_dense_score: float = 0.45
    min_sparse_score: float = 8.0
    # Length-normalised BM25 (assistant/retrieval.py); refusal happens below 0.124, so a
    # margin above it marks answers resting on thin lexical evidence.
    min_lexical_strength: float = 0.18


@dataclass(frozen=True)
class FlagRules:
    """The flag policy for one department."""

    severities: Mapping[str, Severity]
    low_retrieval: LowRetrieval
    high_risk_terms: Mapping[str, tuple[str, ...]]
    injection_patterns: tuple[re.Pattern[str], ...]
    departments: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def severity(self, code: str) -> Severity:
        """The severity of a flag code (unknown codes are `medium`)."""
        return self.severities.get(code, "medium")

    def for_department(self, department: str) -> FlagRules:
        """These rules with the department's overrides applied."""
        override = self.departments.get(department)
        if not override:
            return self
        return parse_flag_rules(_merge(self.raw, override), source=f"departments.{department}")


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    merged.pop("departments", None)
    return merged


def parse_flag_rules(data: Mapping[str, Any], *, source: str = "flags.yaml") -> FlagRules:
    """Validate a parsed flags.yaml mapping into FlagRules (ConfigError names the problem)."""
    try:
        severities: dict[str, Severity] = {}
        for code, value in dict(data.get("severities") or {}).items():
            if value not in SEVERITIES:
                raise ValueError(f"severity of {code} must be one of {SEVERITIES}, not {value!r}")
            severities[str(code)] = cast(Severity, value)
        low = LowRetrieval(**dict(data.get("low_retrieval") or {}))
        terms: dict[str, tuple[str, ...]] = {}
        for category, langs in dict(data.get("high_risk_terms") or {}).items():
            words = [str(w).lower() for lang in dict(langs).values() for w in lang or []]
            terms[str(category)] = tuple(w for w in words if w)
        patterns = tuple(
            re.compile(str(p), re.IGNORECASE) for p in data.get("injection_patterns") or []
        )
        departments = {str(k): dict(v) for k, v in dict(data.get("departments") or {}).items()}
    except (TypeError, ValueError, re.error) as exc:
        raise ConfigError(
            f"invalid flag rules in {source}: {exc}",
            user_message=f"The flag rules ({source}) are invalid: {exc}",
        ) from exc
    return FlagRules(
        severities=severities,
        low_retrieval=low,
        high_risk_terms=terms,
        injection_patterns=patterns,
        departments=departments,
        raw=dict(data),
    )


@lru_cache(maxsize=1)
def _default_rules() -> FlagRules:
    text = files("policies").joinpath("flags.yaml").read_text(encoding="utf-8")
    return parse_flag_rules(yaml.safe_load(text) or {}, source="policies/flags.yaml")


def load_flag_rules(path: Path | None = None) -> FlagRules:
    """Rules from `path`, or the cached default policies/flags.yaml."""
    if path is None:
        return _default_rules()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read flag rules {path}: {exc}",
            user_message=f"The flag rules file {path} cannot be read: {exc}",
        ) from exc
    return parse_flag_rules(data, source=str(path))


def make_flag(code: str, detail: str = "", *, rules: FlagRules | None = None) -> Flag:
    """A Flag with the severity the rules give its code."""
    return Flag(code=code, detail=detail, severity=(rules or load_flag_rules()).severity(code))


def apply_severities(flags: Iterable[Flag], *, rules: FlagRules) -> list[Flag]:
    """The flags with severities from the rules (department overrides included)."""
    return [f.model_copy(update={"severity": rules.severity(f.code)}) for f in flags]


def is_high(flags: Iterable[Flag]) -> bool:
    """Whether any flag is high severity (such an answer gets a review item)."""
    return any(f.severity == "high" for f in flags)


def detect_injection(text: str, *, rules: FlagRules) -> str | None:
    """The first instruction-like phrase in `text`, or None."""
    collapsed = _SPACES.sub(" ", text)
    for pattern in rules.injection_patterns:
        match = pattern.search(collapsed)
        if match:
            return match.group(0)
    return None


def detect_high_risk(text: str, *, rules: FlagRules) -> list[str]:
    """The high-risk topic categories whose terms occur in `text`, in policy order."""
    lowered = text.lower()
    found: list[str] = []
    for category, terms in rules.high_risk_terms.items():
        if any(_term_in(term, lowered) for term in terms):
            found.append(category)
    return found


def _term_in(term: str, lowered: str) -> bool:
    if has_cjk(term):
        return term in lowered
    # English terms match at a word start, so "dose" does not fire inside "glucosedose".
    return re.search(rf"(?<![a-z]){re.escape(term)}", lowered) is not None


def low_retrieval_detail(retrieval: RetrievalResult, *, rules: FlagRules) -> str | None:
    """Why the evidence of an answered question is weak, or None when it is strong enough."""
    cfg = rules.low_retrieval
    weak: list[str] = []
    if retrieval.term_coverage < cfg.min_term_coverage:
        weak.append(f"term_coverage={retrieval.term_coverage:.2f}<{cfg.min_term_coverage}")
    dense_ok = retrieval.best_dense is not None and retrieval.best_dense >= cfg.min_dense_score
    if retrieval.lexical_strength is not None:
        sparse_ok = retrieval.lexical_strength >= cfg.min_lexical_strength
    else:
        sparse_ok = (
            retrieval.best_sparse is not None and retrieval.best_sparse >= cfg.min_sparse_score
        )
    if retrieval.channel != "sparse" and not dense_ok and not sparse_ok:
        weak.append(f"best_dense={_fmt(retrieval.best_dense)}<{cfg.min_dense_score}")
    if retrieval.channel == "sparse" and not sparse_ok:
        if retrieval.lexical_strength is not None:
            weak.append(
                f"lexical_strength={retrieval.lexical_strength:.3f}<{cfg.min_lexical_strength}"
            )
        else:
            weak.append(f"best_sparse={_fmt(retrieval.best_sparse)}<{cfg.min_sparse_score}")
    return ", ".join(weak) or None


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def compute_flags(
    *,
    question: str,
    redaction: RedactionResult,
    draft: Draft,
    retrieval: RetrievalResult,
    cited: Sequence[Source],
    gate_reason: str | None,
    rules: FlagRules,
) -> list[Flag]:
    """Every rule-based flag of one answer (the verifier adds `unsupported_sentence` itself)."""
    flags: list[Flag] = []

    def add(code: str, detail: str) -> None:
        flags.append(make_flag(code, detail, rules=rules))

    if draft.mode == AnswerMode.REFUSED:
        reason = (
            "insufficient_evidence" if draft.insufficient_evidence else ",".join(retrieval.reasons)
        )
        add("no_evidence", reason)
    elif retrieval.sources:
        weak = low_retrieval_detail(retrieval, rules=rules)
        if weak:
            add("low_retrieval_score", weak)
    if draft.error_code:
        add("llm_error", draft.error_code)
    if gate_reason:
        add("gate_closed", gate_reason)
    if redaction.total:
        add("phi_detected", ", ".join(f"{k}={v}" for k, v in sorted(redaction.counts.items())))
    topics = detect_high_risk(question, rules=rules)
    if topics:
        add("high_risk_topic", ",".join(topics))
    injected = detect_injection(question, rules=rules)
    if injected:
        add("injection_suspected", f"question: {injected[:80]}")
    else:
        for source in cited:
            injected = detect_injection(source.text, rules=rules)
            if injected:
                add("injection_suspected", f"source [{source.n}] {source.doc_id}: {injected[:80]}")
                break
    return flags


def cited_sources(sources: Sequence[Source], citations: Iterable[int]) -> list[Source]:
    """The sources an answer's sentences cite (all given sources when nothing is cited)."""
    wanted = set(citations)
    chosen = [s for s in sources if s.n in wanted]
    return chosen or list(sources)
