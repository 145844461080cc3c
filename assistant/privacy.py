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
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from assistant.domain import CJK_CHARS, Redaction, detect_language, has_cjk
from assistant.errors import ConfigError

logger = logging.getLogger(__name__)

Span = tuple[int, int]
# A validator sees the rule's match and the candidate span; it returns the (possibly narrowed)
# span to replace, or None when the candidate is not an identifier.
Validator = Callable[["re.Match[str]", int, int], Span | None]
ValidatorFactory = Callable[[Mapping[str, Any]], Validator]

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


# --- validators (checksums live in code; the YAML refers to them by name) --------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes: the first two digits of a resident ID.
_ID_PROVINCES = frozenset(
    (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50)
).union((51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91))


def resident_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a PRC resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def is_resident_id(value: str) -> bool:
    """True for an 18-digit ID with a valid checksum or a 15-digit legacy ID, both with a real
    birth date and region."""
    value = value.upper()
    if len(value) not in (15, 18) or not value[:17].isdigit():
        return False
    if int(value[:2]) not in _ID_PROVINCES:
        return False
    if len(value) == 18:
        if value[17] != resident_id_check_char(value[:17]):
            return False
        born = _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    else:
        if not value.isdigit():
            return False
        born = _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return born is not None and born <= date.today()


def _id_birth_date(value: str) -> date | None:
    if len(value) == 18:
        born = _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    else:
        born = _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    return born if born is not None and date(1880, 1, 1) <= born <= date.today() else None


def looks_like_resident_id(value: str) -> bool:
    """True for a number shaped like a PRC resident ID, whatever its check character.

    A typo does not make an identifier less identifying (issue 13 item 2): a region code and a
    real birth date are the shape; a valid check character raises confidence (either of the two
    then suffices), a wrong one never vetoes.
    """
    value = value.upper()
    if len(value) not in (15, 18) or not value[:17].isdigit():
        return False
    if len(value) == 15 and not value.isdigit():
        return False
    region = int(value[:2]) in _ID_PROVINCES
    born = _id_birth_date(value) is not None
    if len(value) == 18 and value[17] == resident_id_check_char(value[:17]):
        return region or born
    return region and born


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812 Luhn check over a string of digits."""
    if not digits.isdigit() or len(set(digits)) == 1:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Card lengths of the major networks (UnionPay 16-19, Visa/Mastercard 16) and their first digits.
_CARD_SHAPES = frozenset({16, 19})
_CARD_FIRST_DIGITS = frozenset("3456")


def looks_like_card_number(value: str) -> bool:
    """True for a Luhn-valid 13-19 digit number, or a 16/19-digit one starting like a card.

    The Luhn digit raises confidence (any length 13-19 then counts); a card-shaped number
    with a wrong check digit is still a card number with a typo (issue 13 item 2).
    """
    digits = re.sub(r"\D", "", value)
    if len(set(digits)) <= 1 or not 13 <= len(digits) <= 19:
        return False
    if luhn_valid(digits):
        return True
    return len(digits) in _CARD_SHAPES and digits[0] in _CARD_FIRST_DIGITS


def is_us_ssn(value: str) -> bool:
    """True unless the SSN falls in a range the SSA never issues."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 9:
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES, 1)}


def is_birth_date(value: str) -> bool:
    """True for a real calendar date between 1880 and today (ambiguous D/M orders accepted)."""
    numbers = [int(n) for n in re.findall(r"\d+", value)]
    years = [n for n in numbers if n >= 1000]
    if len(years) != 1 or not 1880 <= years[0] <= date.today().year:
        return False
    year = years[0]
    rest = [n for n in numbers if n < 1000]
    month_word = re.search(r"[A-Za-z]{3,}", value)
    if month_word:
        rest = [_MONTHS.get(month_word.group(0)[:3].lower(), 0), *rest]
    if len(rest) == 1:  # year and month only (出生年月)
        return 1 <= rest[0] <= 12
    if len(rest) != 2:
        return False
    a, b = rest
    orders = [(a, b)] if month_word or numbers[0] >= 1000 else [(a, b), (b, a)]
    return any(_real_date(year, m, d) is not None for m, d in orders)


def _check(predicate: Callable[[str], bool]) -> ValidatorFactory:
    def factory(_options: Mapping[str, Any]) -> Validator:
        def validate(match: re.Match[str], start: int, end: int) -> Span | None:
            return (start, end) if predicate(match.string[start:end]) else None

        return validate

    return factory


def _pos_tokens(text: str) -> list[tuple[str, str]]:
    # Imported on first use: jieba builds its dictionary (~1.5 s) only when a name cue appears.
    import jieba.posseg as posseg

    return [(pair.word, pair.flag) for pair in posseg.cut(text)]


def _in_dictionary(word: str) -> bool:
    import jieba

    return bool(jieba.dt.FREQ.get(word))


# jieba flags that may open a name when it splits the surname from the given name
_SURNAME_FLAGS = frozenset({"nr", "nrt", "nrfg", "n", "ns", "ng", "nz", "x"})
# jieba flags a given name is never made of (prepositions, conjunctions, particles, adverbs)
_NOT_GIVEN_NAME_FLAGS = frozenset({"p", "c", "u", "uj", "ul", "uz", "ud", "ug", "uv", "d", "y"})


# The cue words of the Chinese name rule (policies/redaction.yaml): a name led by one is a
# patient's in a case note.
_CUE_BEFORE = re.compile("患者|病人|病员|患儿|家属|伤者|产妇|孕妇")


def _tokens_from(match: re.Match[str], start: int) -> list[tuple[str, str]]:
    """jieba tokens of a short window from `start` (cut without the cue, which jieba would
    sometimes fuse with the name: 家属于涛 -> 家/属于/涛)."""
    return _pos_tokens(match.string[start : start + 8])


def _all_cjk(word: str) -> bool:
    return all(has_cjk(ch) for ch in word)


def _word_frequency(word: str) -> int:
    import jieba

    return int(jieba.dt.FREQ.get(word) or 0)


def _zh_cue_name(options: Mapping[str, Any]) -> Validator:
    surnames = frozenset(str(options.get("surnames", "")).replace(" ", ""))
    compounds = tuple(str(s) for s in options.get("compound_surnames", ()))
    not_names = frozenset(str(w) for w in options.get("not_names", ()))
    name_end = re.compile(str(options.get("name_ends", r"[\s，,。.、；;：:（(]")))
    # A word this frequent in jieba's dictionary is prose, not a given name ("患者时应当…": 应当),
    # unless a patient is plainly there (issue 13 item 7).
    common = int(options.get("common_word_frequency", 1000))
    nearby = re.compile(str(options.get("patient_context", r"\d{7,}")))
    before, after = options.get("patient_context_window", [40, 40])
    case_header = re.compile(str(options.get("case_header", r"[，,、\s]*(?:[男女]|\d{1,3}\s*岁)")))
    # Surname characters that after a cue are far more often grammar (患者时…, 患者和家属,
    # 患者于…): a name starting with one needs a patient plainly there.
    prose_surnames = frozenset(str(options.get("prose_surnames", "")).replace(" ", ""))
    # Drug names open with surname characters too (华法林, 万古霉素, 丁丙诺啡).
    drug_endings = str(options.get("drug_endings", "霉素"))
    drug = re.compile(f"[{CJK_CHARS}]{{0,3}}?(?:{drug_endings})")

    def ordinary(word: str) -> bool:
        return _word_frequency(word) >= common

    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        candidate = match.string[start:end]
        if candidate[:2] in compounds:
            surname_len = 2
        elif candidate[0] in surnames:
            surname_len = 1
        else:
            return None  # "患者应…", "患者的…": cue words are mostly followed by grammar
        tokens = _tokens_from(match, start)
        if not tokens or tokens[0][0] in not_names:
            return None
        text = match.string

        def patient_beside(stop: int) -> bool:
            # A case header ("患者王某，男，45岁") or an identifier within reach. A colon after
            # the cue alone is not one: guidelines write "妊娠患者：应多学科评估…".
            return bool(case_header.match(text, stop, min(len(text), stop + 12))) or bool(
                nearby.search(text, max(0, start - before), min(len(text), stop + after))
            )

        for given_len in (1, 2):
            # "患者和平，男，45岁", "患者：甘平，": a case header settles it, whatever jieba
            # makes of the words
            stop = start + surname_len + given_len
            if stop <= end and (
                case_header.match(text, stop, min(len(text), stop + 12))
                or (
                    (stop == len(text) or name_end.match(text, stop))
                    and text[max(0, start - 1) : start] in (":", "：")
                )
            ):
                return (start, stop)
        if candidate[0] in prose_surnames or drug.match(text, start + surname_len):
            # only as its own clause beside an identifier: "患者时明，身份证号…"
            for given_len in (1, 2):
                stop = start + surname_len + given_len
                if (
                    stop <= end
                    and (stop == len(text) or name_end.match(text, stop))
                    and patient_beside(stop)
                ):
                    return (start, stop)
            return None
        word, flag = tokens[0]
        if _CUE_BEFORE.search(text, match.start(), start):
            # "患者方军，身份证号…": after a cue, a surname-led clause of 2–4 characters beside an
            # identifier is a name, whatever jieba's dictionary holds (方军 and 古诗 are words).
            clause = re.match(f"[{CJK_CHARS}]{{2,4}}", text[start:])
            stop = start + len(clause.group()) if clause else start
            if (
                clause
                and stop - start <= surname_len + 2  # a given name has one or two characters
                and (stop == len(text) or name_end.match(text, stop))
                # 高热 is an adjective, not a name; a lone surname's own tag says nothing (屈: v)
                and (len(word) <= surname_len or flag[:1] not in ("a", "v", "d", "m"))
                and patient_beside(stop)
            ):
                return (start, stop)
        if patient_beside(min(end, start + surname_len + 2)):
            # an identifier beside it settles it too ("患者甘平出现发热，身份证号…"), unless
            # the words are common nouns or adjectives ("床号12，高热，")
            given = tokens[1][0] if len(tokens) > 1 else ""
            if len(word) == surname_len and 1 <= len(given) <= 2 and _all_cjk(given):
                if not ordinary(given):
                    return (start, start + surname_len + len(given))
            elif (
                2 <= len(word) <= 4
                and _all_cjk(word)
                and (flag[:2] in ("nr", "ns", "nz") or not _in_dictionary(word))
            ):
                return (start, start + len(word))
        nr_word = flag.startswith("nr") and 2 <= len(word) <= 4 and _all_cjk(word)
        # a word jieba's HMM made up (not in its dictionary) after a surname is typically a name
        new_word = 2 <= len(word) <= 4 and _all_cjk(word) and not _in_dictionary(word)
        # jieba split the surname off an unfamiliar given name: 王/明天, 钱/多多, 包/志海
        surname_split = len(word) == surname_len and (
            flag in _SURNAME_FLAGS
            or (len(tokens) > 1 and _all_cjk(tokens[1][0]) and not _in_dictionary(tokens[1][0]))
        )
        if not (nr_word or new_word or surname_split):
            return None  # the surname character opens an ordinary word: 高热, 黄疸
        for given_len in (1, 2):
            # case-note form: surname, one or two given-name characters, then a clause break
            stop = start + surname_len + given_len
            if stop <= end and (stop == len(text) or name_end.match(text, stop)):
                if ordinary(text[start:stop]) and not patient_beside(stop):
                    continue  # "保持患者安静，": a common word in the name's slot
                return (start, stop)
        if nr_word:
            return (start, start + len(word))
        if new_word and len(word) > surname_len + 1:
            # a longer made-up word is as often a drug (患者华法林剂量) as a name: needs a patient
            stop = start + len(word)
            return (start, stop) if patient_beside(stop) else None
        if new_word:
            return (start, start + len(word))
        if len(tokens) > 1:
            given, given_flag = tokens[1]
            if 1 <= len(given) <= 2 and _all_cjk(given) and given_flag not in _NOT_GIVEN_NAME_FLAGS:
                stop = start + surname_len + len(given)
                if len(given) == 1 or not ordinary(given) or patient_beside(stop):
                    return (start, stop)
        return None

    return validate


def _zh_labelled_name(_options: Mapping[str, Any]) -> Validator:
    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        tokens = _tokens_from(match, start)
        if not tokens or not _all_cjk(tokens[0][0]):
            return None
        length = len(tokens[0][0])
        if length == 1 and len(tokens) > 1 and _all_cjk(tokens[1][0]):
            length += len(tokens[1][0])
        return (start, start + length) if 2 <= length <= 4 else (start, end)

    return validate


def _en_name(options: Mapping[str, Any]) -> Validator:
    not_names = frozenset(str(w).casefold() for w in options.get("not_names", ()))

    def validate(match: re.Match[str], start: int, end: int) -> Span | None:
        words = list(re.finditer(r"\S+", match.string[start:end]))
        kept = 0
        for word in words:
            if word.group(0).casefold() in not_names:
                break
            kept += 1
        if kept == 0:
            return None
        return (start, start + words[kept - 1].end())

    return validate


VALIDATORS: dict[str, ValidatorFactory] = {
    "prc_resident_id": _check(looks_like_resident_id),
    "card_number": _check(looks_like_card_number),
    "luhn": _check(lambda v: luhn_valid(re.sub(r"\D", "", v))),
    "us_ssn": _check(is_us_ssn),
    "birth_date": _check(is_birth_date),
    "zh_person_name": _zh_cue_name,
    "zh_labelled_name": _zh_labelled_name,
    "en_person_name": _en_name,
}

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
