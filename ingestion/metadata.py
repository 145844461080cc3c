"""Document metadata: title, issuer, version, dates, language, doc_id, and the sidecar file."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from assistant.errors import IngestionError
from assistant.language import CJK_CHAR_RE, CJK_CHARS, has_cjk
from assistant.privacy import RedactionRules, screen_document
from ingestion.normalize import normalize_text

if TYPE_CHECKING:  # parse.py imports this module
    from ingestion.parse import ParsedDocument

SIDECAR_SUFFIX = ".meta.yaml"
SIDECAR_FIELDS = frozenset(
    {
        "doc_id",
        "title",
        "issuer",
        "version",
        "effective_date",
        "language",
        "library",
        "privacy_reviewed",
    }
)

_ZH_VERSION = re.compile(
    r"[（(]\s*((?:\d{4}\s*年\s*版)|(?:试行)?第[一二三四五六七八九十\d]+版)\s*[）)]?"
)
_EN_VERSION = re.compile(
    r"(?:\bVersion\s+|(?<![A-Za-z])v)(\d+(?:\.\d+){0,3})(?![\d.]*\d)", re.IGNORECASE
)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_ZH_ISSUERS = [
    (re.compile(r"国家卫生健康委|国家卫健委|国家卫生健康委员会"), "国家卫生健康委员会"),
    (re.compile(r"国家卫生和计划生育委员会|国家卫生计生委"), "国家卫生和计划生育委员会"),
]
_EN_ISSUERS = [
    ("CDC", re.compile(r"Centers for Disease Control and Prevention|\bCDC\b")),
    ("WHO", re.compile(r"World Health Organization|\bWHO\b")),
    ("NICE", re.compile(r"National Institute for Health and Care Excellence|\bNICE\b")),
]
# PDF /Title values that name an office or a tool rather than the document.
_JUNK_TITLE = re.compile(
    r"^(?:国家卫生健康委员会(?:办公厅)?|untitled|microsoft word.*|document\d*|.{0,3})$",
    re.IGNORECASE,
)
_ZH_EFFECTIVE = re.compile(r"自?(\d{4})年(\d{1,2})月(\d{1,2})日起?(?:施行|实施|执行|生效)")
_EN_EFFECTIVE = re.compile(
    r"effective(?:\s+(?:as\s+of|from|on))?\s+([A-Z][a-z]+\s+\d{1,2},\s+\d{4}|\d{4}-\d{2}-\d{2})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DocumentMetadata:
    """Fields inferred from a document (and overridden by its sidecar)."""

    doc_id: str
    title: str
    issuer: str
    version: str
    effective_date: date | None
    language: Literal["zh", "en"]


def detect_document_language(text: str) -> Literal["zh", "en"]:
    """zh when CJK ideographs make up a fair share of a whole document's letters, else en.

    Documents, unlike questions (`assistant.language.detect_language`), quote long English
    references and drug names; a per-letter share of 0.2 still separates them cleanly.
    """
    cjk = len(CJK_CHAR_RE.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk / (cjk + latin) >= 0.2 else "en"


def parse_version(*texts: str) -> str:
    """`（2025年版）` → 2025年版, `试行第十版`, `Version 2.3` → 2.3, else a year, else ''.

    Texts are tried in order (title, file name, opening text); an explicit version label in any
    of them beats a bare year.
    """
    compact = [normalize_text(text) for text in texts]
    for text in compact:
        if match := _ZH_VERSION.search(text):
            return re.sub(r"\s+", "", match.group(1))
        if match := _EN_VERSION.search(text):
            return match.group(1)
    for text in compact:
        if match := _YEAR.search(text):
            return match.group(1)
    return ""


def strip_version(title: str) -> str:
    """The title without its version label: what stays the same across versions."""
    title = _ZH_VERSION.sub("", normalize_text(title))
    title = _EN_VERSION.sub("", title)
    title = re.sub(r"[\s,，:：;—–-]*(?:19|20)\d{2}\s*$", "", title)
    return title.strip(" ,，:：;—–-_")


def make_doc_id(title: str) -> str:
    """Stable slug from the title without its version (shared by all versions of a guideline)."""
    base = strip_version(title)
    # Kana (U+3040–30FF) and Hangul (U+AC00–D7AF) titles have no readable ASCII slug either.
    if re.search(rf"[\u3040-\u30ff{CJK_CHARS}\uac00-\ud7af]", base):
        digest = hashlib.sha256(re.sub(r"\s+", "", base).encode("utf-8")).hexdigest()[:8]
        return f"zh-{digest}"
    # Dashes and accents fold to ASCII so an English title keeps a readable slug.
    folded = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    ascii_slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(ascii_slug) > 60:
        ascii_slug = ascii_slug[:60].rsplit("-", 1)[0]
    return ascii_slug or "document"


def detect_issuer(text: str, *, language: str, author: str = "") -> str:
    """Issuing body named in the document (or its PDF author), '' when it says none."""
    if language == "zh":
        for pattern, name in _ZH_ISSUERS:
            if pattern.search(text) or pattern.search(author):
                return name
        return ""
    for name, pattern in _EN_ISSUERS:
        if pattern.search(author):
            return name
    counts = {name: len(pattern.findall(text)) for name, pattern in _EN_ISSUERS}
    best = max(counts, key=lambda name: counts[name])
    return best if counts[best] else ""


def detect_effective_date(text: str) -> date | None:
    """A date the text says the guideline takes effect from (施行/实施/effective), else None."""
    if match := _ZH_EFFECTIVE.search(text):
        year, month, day = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None
    if match := _EN_EFFECTIVE.search(text):
        for fmt in ("%B %d, %Y", "%Y-%m-%d"):
            try:
                return datetime.strptime(match.group(1), fmt).date()
            except ValueError:
                continue
    return None


def _title_like_stem(path: Path) -> str:
    """The file name as a title when it reads like one (Chinese, or words with spaces)."""
    stem = path.name
    for suffix in (path.suffix, ""):
        if suffix and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    stem = normalize_text(stem)
    if has_cjk(stem):
        # Drop download-site tags after the version bracket: 脑血管病防治指南（2024年版）_NHC.
        return re.sub(r"(?<=[）)])[_\-\s][A-Za-z0-9_\-]+$", "", stem)
    if " " in stem.strip() and len(stem.split()) >= 3:
        return stem.strip()
    return ""


def infer_title(*, path: Path, info_title: str, first_heading: str, first_lines: list[str]) -> str:
    """Best title: PDF/DOCX/HTML metadata, a Chinese or worded file name, first heading, text."""
    info_title = normalize_text(info_title)
    if info_title and not _JUNK_TITLE.match(info_title):
        return info_title
    if stem := _title_like_stem(path):
        return stem
    if first_heading:
        return first_heading
    title = ""
    for line in first_lines[:4]:
        if line in {"附件", "附录"} or re.fullmatch(r"[\d\s]+", line):
            continue
        candidate = f"{title} {line}".strip() if title else line
        if len(candidate) > 200:
            break
        title = candidate
        if re.search(r"[。.!?！？]$", line):
            break
    return title or path.stem


def read_sidecar(path: Path) -> dict[str, Any]:
    """Fields from `<file>.meta.yaml` next to the file ({} when there is none)."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    try:
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        raise IngestionError(
            f"{sidecar}: invalid YAML: {exc}",
            user_message=f"{sidecar.name}: the metadata sidecar is not valid YAML ({exc}); "
            "fix or remove it.",
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _sidecar_error(sidecar, "it must be a mapping of field: value")
    unknown = sorted(set(map(str, data)) - SIDECAR_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(SIDECAR_FIELDS))
        raise _sidecar_error(sidecar, f"unknown field(s) {', '.join(unknown)}; allowed: {allowed}")
    return {str(key): _check_field(sidecar, str(key), value) for key, value in data.items()}


def _check_field(sidecar: Path, key: str, value: Any) -> Any:
    if key == "privacy_reviewed":
        # A compliance reviewer's attestation that the persons and contact details named in
        # the document (authors, contributors) are not patients (ingestion/service.py).
        if not isinstance(value, bool):
            raise _sidecar_error(sidecar, "privacy_reviewed must be true or false")
        return value
    if key == "effective_date":
        if value is None or isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as exc:
            raise _sidecar_error(sidecar, f"effective_date {value!r} is not YYYY-MM-DD") from exc
    if key == "language" and value not in ("zh", "en"):
        raise _sidecar_error(sidecar, f"language must be zh or en, not {value!r}")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _sidecar_error(sidecar, f"{key} must be text, not {type(value).__name__}")
    text = str(value).strip()
    if key in {"doc_id", "title", "library"} and not text:
        raise _sidecar_error(sidecar, f"{key} must not be empty")
    if key in {"doc_id", "library"} and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", text):
        raise _sidecar_error(sidecar, f"{key} {text!r} may use only letters, digits, . _ -")
    return text


def _sidecar_error(sidecar: Path, why: str) -> IngestionError:
    return IngestionError(
        f"{sidecar}: {why}", user_message=f"{sidecar.name}: invalid metadata sidecar: {why}."
    )


@dataclass(frozen=True)
class ScreenedDocument:
    """A parsed document with every text-derived field redacted, and what was found in it."""

    redacted: ParsedDocument
    found: dict[str, int]  # distinct identifiers per type, body and fields together
    refusing: dict[str, int]  # those that refuse the document (patient data)


def screen_identifiers(
    parsed: ParsedDocument, *, rules: RedactionRules | None = None
) -> ScreenedDocument:
    """Screen a parsed document for patient identifiers: body, title, headings, page labels,
    file name, issuer, version and doc_id in one pass (issue 13 item 1).

    A field holding an identifier counts like the body: it refuses the document, or, redacted,
    it carries the same placeholder as the body. A doc_id made from a redacted title is made
    again from the redacted title.
    """
    headings = list(dict.fromkeys(h for c in parsed.chunks for h in c.section_path))
    labels = list(dict.fromkeys(c.page_label for c in parsed.chunks if c.page_label))
    # A list item's head carried to the chunk after it is body text: screened like the body.
    item_heads = list(dict.fromkeys(c.item_head for c in parsed.chunks if c.item_head))
    fields = [parsed.title, parsed.issuer, parsed.version, parsed.doc_id, parsed.path.name]
    texts = [*fields, *headings, *labels, *item_heads, *(c.text for c in parsed.chunks)]
    screening = screen_document(
        texts,
        rules=rules,
        language=parsed.language,
        reviewed=parsed.overrides.get("privacy_reviewed") is True,
    )
    if not screening.found:
        return ScreenedDocument(redacted=parsed, found={}, refusing={})
    out = iter(screening.texts)
    title, issuer, version, doc_id, file_name = (next(out) for _ in fields)
    heading_of = {h: next(out) for h in headings}
    label_of = {label: next(out) for label in labels}
    head_of = {head: next(out) for head in item_heads}
    chunks = [
        dataclasses.replace(
            chunk,
            text=next(out),
            section_path=[heading_of[h] for h in chunk.section_path],
            page_label=label_of[chunk.page_label] if chunk.page_label else chunk.page_label,
            item_head=head_of[chunk.item_head] if chunk.item_head else chunk.item_head,
        )
        for chunk in parsed.chunks
    ]
    if doc_id != parsed.doc_id:
        doc_id = make_doc_id(doc_id)
    elif title != parsed.title and "doc_id" not in parsed.overrides:
        doc_id = make_doc_id(strip_version(title) or title)
    redacted = dataclasses.replace(
        parsed,
        title=title,
        issuer=issuer,
        version=version,
        doc_id=doc_id,
        # The name shown and stored (source_file, audit) is the redacted one.
        path=parsed.path.with_name(file_name),
        chunks=chunks,
    )
    return ScreenedDocument(redacted=redacted, found=screening.found, refusing=screening.refusing)
