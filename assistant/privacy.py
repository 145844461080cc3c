"""Patient-identifier detection and redaction; rules from policies/redaction.yaml (issue 4).

Runs before retrieval, the model, the audit and any log (DESIGN.md §1 step 2), and over every
document at ingestion. Nothing here logs, stores or returns a detected value: results carry
the redacted text, per-type counts, or spans into the caller's own text.

Placeholder scheme: zh text gets ``[<zh prefix><n>]`` (``[姓名1]``, ``[电话2]``), en text gets
``[<EN PREFIX>_<n>]`` (``[NAME_1]``, ``[ID_1]``); n numbers the distinct values of one type in
order of first appearance, and the same value always gets the same placeholder within a text.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.domain import Redaction
from assistant.errors import ConfigError
from assistant.identifier_validators import VALIDATORS, Span, Validator
from assistant.language import detect_language

logger = logging.getLogger(__name__)

_ASCII_WORD = re.compile(r"[0-9A-Za-z]")


@dataclass(frozen=True)
class Rule:
    """One identifier rule compiled from the YAML file."""

    type: str
    prefix_zh: str
    prefix_en: str
    patterns: tuple[re.Pattern[str], ...]
    validators: tuple[Validator, ...] = ()
    normalize: Callable[[str], str] = str
    allow: tuple[re.Pattern[str], ...] = ()
    propagate: bool = False
    anchors: tuple[str, ...] = ()
    window: Span | None = None


@dataclass(frozen=True)
class RedactionRules:
    """The ordered rule set; earlier rules win where matches overlap."""

    rules: tuple[Rule, ...]
    source: str
    # Types that do not stop a document from being ingested (authors' names and contact
    # addresses in published guidelines are not patient data); questions redact them anyway.
    document_exempt_types: frozenset[str] = frozenset()
    # Contributor and acknowledgement sections of published guidelines: headings that open one,
    # the contact types found there that are not patient data, and how far (characters) a list
    # may run between two of its entries (issue 13 item 7).
    contributor_types: frozenset[str] = frozenset()
    contributor_headings: re.Pattern[str] | None = None
    contributor_reach: int = 400

    @property
    def types(self) -> tuple[str, ...]:
        """Identifier types in rule order, without repeats."""
        return tuple(dict.fromkeys(rule.type for rule in self.rules))


@dataclass(frozen=True)
class Detection:
    """Where an identifier of a type sits in the caller's text (no value is kept)."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and how many distinct identifiers of each type it replaced."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of distinct identifiers replaced, all types together."""
        return sum(self.counts.values())

    def as_redactions(self) -> list[Redaction]:
        """The counts as domain `Redaction` rows for an Answer or audit event."""
        return [Redaction(type=kind, count=n) for kind, n in self.counts.items()]


_NORMALIZERS: dict[str, Callable[[str], str]] = {
    "exact": str.strip,
    "casefold": lambda v: v.strip().casefold(),
    "alnum": lambda v: re.sub(r"[^0-9A-Za-z]", "", v).upper(),
}


# --- loading -------------------------------------------------------------------------------


def _rule_from(raw: Any, *, index: int, source: str) -> Rule:
    where = f"{source}: rule {index + 1}"
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where} is not a mapping")
    kind = raw.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{where} has no 'type'")
    where = f"{where} ({kind})"
    placeholder = raw.get("placeholder")
    if not isinstance(placeholder, Mapping) or not all(
        isinstance(placeholder.get(k), str) and placeholder.get(k) for k in ("zh", "en")
    ):
        raise ValueError(f"{where}: 'placeholder' needs non-empty 'zh' and 'en' prefixes")
    patterns = raw.get("patterns")
    if not isinstance(patterns, list) or not patterns:
        raise ValueError(f"{where}: 'patterns' must be a non-empty list")
    options = raw.get("options") or {}
    if not isinstance(options, Mapping):
        raise ValueError(f"{where}: 'options' must be a mapping")
    names = raw.get("validators") or []
    unknown = [n for n in names if n not in VALIDATORS]
    if unknown:
        raise ValueError(f"{where}: unknown validator(s) {unknown}; known: {sorted(VALIDATORS)}")
    normalize = raw.get("normalize", "exact")
    if normalize not in _NORMALIZERS:
        raise ValueError(f"{where}: unknown normalize {normalize!r}; known: {sorted(_NORMALIZERS)}")

    def compile_all(key: str) -> tuple[re.Pattern[str], ...]:
        compiled = []
        for pattern in raw.get(key) or []:
            try:
                compiled.append(re.compile(str(pattern)))
            except re.error as exc:
                raise ValueError(f"{where}: bad regular expression in '{key}': {exc}") from exc
        return tuple(compiled)

    anchors = raw.get("anchors") or []
    window = raw.get("window")
    if not isinstance(anchors, list) or not all(isinstance(a, str) and a for a in anchors):
        raise ValueError(f"{where}: 'anchors' must be a list of non-empty strings")
    if window is not None and not (
        isinstance(window, list)
        and len(window) == 2
        and all(isinstance(n, int) and n >= 0 for n in window)
    ):
        raise ValueError(f"{where}: 'window' must be [chars before, chars after]")
    return Rule(
        type=kind,
        prefix_zh=placeholder["zh"],
        prefix_en=placeholder["en"],
        patterns=compile_all("patterns"),
        validators=tuple(VALIDATORS[n](options) for n in names),
        normalize=_NORMALIZERS[normalize],
        allow=compile_all("allow"),
        propagate=bool(raw.get("propagate", False)),
        anchors=tuple(anchors),
        window=(window[0], window[1]) if window else None,
    )


def parse_rules(text: str, *, source: str) -> RedactionRules:
    """Build rules from YAML text; ConfigError names `source` and what is wrong."""
    try:
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
            raise ValueError(f"{source}: expected a mapping with a 'rules' list")
        rules = tuple(
            _rule_from(raw, index=i, source=source) for i, raw in enumerate(data["rules"])
        )
        exempt = data.get("document_exempt_types") or []
        if not isinstance(exempt, list) or not all(isinstance(t, str) for t in exempt):
            raise ValueError(f"{source}: document_exempt_types must be a list of type names")
        contributors = _contributors_from(data.get("contributors") or {}, source=source)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        message = str(exc) if source in str(exc) else f"{source}: {exc}"
        raise ConfigError(
            f"Invalid redaction rules: {message}",
            user_message=f"The redaction rules file {source} is invalid: {message}",
        ) from exc
    if not rules:
        raise ConfigError(
            f"Invalid redaction rules: {source} defines no rules",
            user_message=f"The redaction rules file {source} defines no rules.",
        )
    return RedactionRules(
        rules=rules,
        source=source,
        document_exempt_types=frozenset(exempt),
        contributor_types=contributors[0],
        contributor_headings=contributors[1],
        contributor_reach=contributors[2],
    )


def _contributors_from(
    raw: Any, *, source: str
) -> tuple[frozenset[str], re.Pattern[str] | None, int]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: 'contributors' must be a mapping")
    types = raw.get("types") or []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ValueError(f"{source}: contributors.types must be a list of type names")
    headings = raw.get("headings")
    try:
        pattern = re.compile(str(headings)) if headings else None
    except re.error as exc:
        raise ValueError(
            f"{source}: bad regular expression in contributors.headings: {exc}"
        ) from exc
    reach = raw.get("reach", 400)
    if not isinstance(reach, int) or reach < 0:
        raise ValueError(f"{source}: contributors.reach must be a number of characters")
    return frozenset(types), pattern, reach


@functools.lru_cache(maxsize=1)
def _default_rules() -> RedactionRules:
    resource = importlib.resources.files("policies").joinpath("redaction.yaml")
    try:
        text = resource.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read policies/redaction.yaml: {exc}",
            user_message="The redaction rules (policies/redaction.yaml) are missing.",
        ) from exc
    rules = parse_rules(text, source=str(resource))
    logger.info("Loaded %d redaction rules from %s", len(rules.rules), resource)
    return rules


def load_rules(path: Path | None = None) -> RedactionRules:
    """Rules from `path`, or the cached default policies/redaction.yaml."""
    if path is None:
        return _default_rules()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot read redaction rules {path}: {exc}",
            user_message=f"The redaction rules file {path} cannot be read: {exc}",
        ) from exc
    return parse_rules(text, source=str(path))


# --- detection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    type: str
    key: str  # normalised value: same key, same placeholder
    priority: int


def _regions(text: str, rule: Rule) -> list[Span]:
    """Where the rule's patterns must run: the whole text, nothing, or windows at anchors."""
    if not rule.anchors:
        return [(0, len(text))]
    if rule.window is None:
        return [(0, len(text))] if any(a in text for a in rule.anchors) else []
    before, after = rule.window
    spans: list[Span] = []
    for anchor in rule.anchors:
        at = text.find(anchor)
        while at >= 0:
            spans.append((max(0, at - before), min(len(text), at + len(anchor) + after)))
            at = text.find(anchor, at + 1)
    merged: list[Span] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _matches(pattern: re.Pattern[str], text: str, regions: list[Span]) -> Iterator[re.Match[str]]:
    for lo, hi in regions:
        for match in pattern.finditer(text, lo, hi):
            if match.end() == hi < len(text):
                # the window cut it short: look-aheads must see the real text after it
                full = pattern.match(text, match.start())
                if full is None:
                    continue
                match = full
            yield match


def _candidates(text: str, rules: RedactionRules) -> list[_Hit]:
    hits: list[_Hit] = []
    for priority, rule in enumerate(rules.rules):
        regions = _regions(text, rule)
        for pattern in rule.patterns if regions else ():
            has_value = "value" in pattern.groupindex
            for match in _matches(pattern, text, regions):
                span: Span | None = match.span("value") if has_value else match.span()
                if span is None or span[0] < 0 or span[0] == span[1]:
                    continue
                for validate in rule.validators:
                    span = validate(match, *span)
                    if span is None:
                        break
                if span is None:
                    continue
                value = text[span[0] : span[1]]
                if any(allowed.fullmatch(value) for allowed in rule.allow):
                    continue
                hits.append(_Hit(span[0], span[1], rule.type, rule.normalize(value), priority))
    return hits


def _overlaps(taken: list[Span], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in taken)


def _propagated(text: str, hit: _Hit, taken: list[Span]) -> list[_Hit]:
    """Other occurrences of a found value (a name repeated without its cue)."""
    value = text[hit.start : hit.end]
    ascii_edges = bool(_ASCII_WORD.match(value[0])), bool(_ASCII_WORD.match(value[-1]))
    found = []
    at = text.find(value)
    while at >= 0:
        end = at + len(value)
        bounded = not (
            (ascii_edges[0] and at > 0 and _ASCII_WORD.match(text[at - 1]))
            or (ascii_edges[1] and end < len(text) and _ASCII_WORD.match(text[end]))
        )
        if bounded and not _overlaps(taken, at, end):
            found.append(_Hit(at, end, hit.type, hit.key, hit.priority))
            taken.append((at, end))
        at = text.find(value, at + 1)
    return found


def _prefixes(rules: RedactionRules) -> tuple[str, ...]:
    return tuple(sorted({p for r in rules.rules for p in (r.prefix_zh, r.prefix_en)}))


@functools.lru_cache(maxsize=8)
def _placeholder_re(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\[(?:" + "|".join(map(re.escape, prefixes)) + r")\d+\]")


def _resolve(text: str, rules: RedactionRules) -> list[_Hit]:
    """Non-overlapping hits in text order: earlier rules, then longer matches, win."""
    chosen: list[_Hit] = []
    # Placeholders of an earlier redaction ("住院号[病历号1]") are not identifiers: without this,
    # a label inside a placeholder name (病历号) would be found again with its number.
    taken: list[Span] = [m.span() for m in _placeholder_re(_prefixes(rules)).finditer(text)]
    for hit in sorted(_candidates(text, rules), key=lambda h: (h.priority, h.start - h.end)):
        if not _overlaps(taken, hit.start, hit.end):
            chosen.append(hit)
            taken.append((hit.start, hit.end))
    propagating = {i for i, rule in enumerate(rules.rules) if rule.propagate}
    for hit in list(chosen):
        if hit.priority in propagating:
            chosen.extend(_propagated(text, hit, taken))
    return sorted(chosen, key=lambda h: h.start)


def find_identifiers(text: str, *, rules: RedactionRules | None = None) -> list[Detection]:
    """Spans of the identifiers in `text`, in text order (for highlighting and measurement)."""
    return [Detection(h.type, h.start, h.end) for h in _resolve(text, rules or load_rules())]


def _distinct_counts(hits: Sequence[_Hit]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, _key in dict.fromkeys((h.type, h.key) for h in hits):
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def detect_identifiers(text: str, *, rules: RedactionRules | None = None) -> dict[str, int]:
    """Distinct identifiers per type in `text` (counts only, e.g. to refuse a document)."""
    return _distinct_counts(_resolve(text, rules or load_rules()))


def _placeholders(
    hits: Sequence[_Hit], rules: RedactionRules, *, zh: bool
) -> dict[tuple[str, str], str]:
    prefixes: dict[str, str] = {}
    for rule in rules.rules:
        prefixes.setdefault(rule.type, rule.prefix_zh if zh else rule.prefix_en)
    numbers: dict[str, int] = {}
    placeholders: dict[tuple[str, str], str] = {}
    for hit in hits:
        slot = (hit.type, hit.key)
        if slot not in placeholders:
            numbers[hit.type] = numbers.get(hit.type, 0) + 1
            n = numbers[hit.type]
            prefix = prefixes[hit.type]
            placeholders[slot] = f"[{prefix}{n}]" if zh else f"[{prefix}_{n}]"
    return placeholders


def _replaced(
    text: str, hits: Sequence[_Hit], placeholders: Mapping[tuple[str, str], str], *, offset: int = 0
) -> str:
    """`text` (which starts at `offset` of the text the hits were found in) with hits replaced."""
    parts: list[str] = []
    at = 0
    for hit in hits:
        start, end = max(hit.start - offset, 0), min(hit.end - offset, len(text))
        if end <= 0 or start >= len(text) or start < at:
            continue
        parts.append(text[at:start])
        parts.append(placeholders[(hit.type, hit.key)])  # also each part of a value cut in two
        at = end
    parts.append(text[at:])
    return "".join(parts)


def redact_text(
    text: str, *, rules: RedactionRules | None = None, language: str | None = None
) -> RedactionResult:
    """Replace every identifier in `text` with a typed, numbered placeholder."""
    rules = rules or load_rules()
    hits = _resolve(text, rules)
    if not hits:
        return RedactionResult(text=text, counts={})
    zh = (language or detect_language(text[:4000])).lower().startswith("zh")
    placeholders = _placeholders(hits, rules, zh=zh)
    return RedactionResult(text=_replaced(text, hits, placeholders), counts=_distinct_counts(hits))


# --- documents (ingestion) -------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentScreening:
    """A document's identifiers and its texts redacted (issue 13 items 1 and 7).

    `texts` are the caller's texts in the same order, redacted with one numbering across them
    all; `found` counts every distinct identifier; `refusing` only those that make ingestion
    refuse the document (not an exempt type, not a contributor's contact details).
    """

    texts: list[str]
    found: dict[str, int]
    refusing: dict[str, int]


def _contributor_slots(
    text: str, hits: Sequence[_Hit], rules: RedactionRules
) -> set[tuple[str, str]]:
    """Values listed under a contributor heading (专家组成员, Acknowledgements, …): the list runs
    from the heading for as long as contact details follow each other within `reach`."""
    if rules.contributor_headings is None or not rules.contributor_types:
        return set()
    slots: set[tuple[str, str]] = set()
    for heading in rules.contributor_headings.finditer(text):
        reach_to = heading.end() + rules.contributor_reach
        for hit in hits:
            if hit.start < heading.end():
                continue
            if hit.start > reach_to:
                break
            if hit.type in rules.contributor_types:
                slots.add((hit.type, hit.key))
                reach_to = hit.end + rules.contributor_reach
    return slots


def screen_document(
    texts: Sequence[str],
    *,
    rules: RedactionRules | None = None,
    language: str | None = None,
    reviewed: bool = False,
) -> DocumentScreening:
    """Find identifiers in all texts of one document at once (body, title, headings, page labels,
    file name…) and redact every one of them the same way.

    One pass over the joined texts: a name found in the body is redacted in a heading too, and
    a value repeated across texts counts once. `reviewed` (a sidecar's privacy_reviewed) exempts
    the contributor types document-wide; ID, card, record and birth-date numbers never are.
    """
    rules = rules or load_rules()
    joined = "\n".join(texts)
    hits = _resolve(joined, rules)
    if not hits:
        return DocumentScreening(texts=list(texts), found={}, refusing={})
    exempt = set(rules.document_exempt_types)
    if reviewed:
        exempt |= rules.contributor_types
    contributors = _contributor_slots(joined, hits, rules)
    refusing = [h for h in hits if h.type not in exempt and (h.type, h.key) not in contributors]
    zh = (language or detect_language(joined[:4000])).lower().startswith("zh")
    placeholders = _placeholders(hits, rules, zh=zh)
    redacted: list[str] = []
    offset = 0
    for text in texts:
        inside = [h for h in hits if h.start < offset + len(text) and h.end > offset]
        redacted.append(_replaced(text, inside, placeholders, offset=offset) if inside else text)
        offset += len(text) + 1
    return DocumentScreening(
        texts=redacted, found=_distinct_counts(hits), refusing=_distinct_counts(refusing)
    )
