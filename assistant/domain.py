"""All data shapes that cross module boundaries (DESIGN.md §2, §4)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Namespace for point ids: UUIDv5 of (doc_id, content_sha256, chunk_index) — DESIGN.md §4.
POINT_NAMESPACE = uuid.UUID("8f6b0d7e-3c1a-5b9e-9a51-6f2d4c0e7a11")

Language = Literal["zh", "en"]

# The department of a hospital-wide role, grant or account (Casbin's domain wildcard).
HOSPITAL_WIDE = "*"


class Role(StrEnum):
    """Roles of DESIGN.md §3."""

    DOCTOR = "doctor"
    DEPT_ADMIN = "dept_admin"
    QUALITY_REVIEWER = "quality_reviewer"
    COMPLIANCE_OFFICER = "compliance_officer"
    SYSADMIN = "sysadmin"


class DocumentStatus(StrEnum):
    """Lifecycle of a document version in the index."""

    PENDING = "pending"  # being written; never searched (crash safety, issue #2)
    CURRENT = "current"
    SUPERSEDED = "superseded"


class AnswerMode(StrEnum):
    """How an answer was produced."""

    GENERATIVE = "generative"
    EXTRACTIVE = "extractive"
    REFUSED = "refused"
    DENIED = "denied"


class Principal(BaseModel):
    """The authenticated user: from login, never from the request."""

    model_config = ConfigDict(frozen=True)

    user: str
    role: Role
    department: str
    session_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    via: str | None = Field(default=None, description="Operator account for CLI actions.")


class Library(BaseModel):
    """An access-controlled set of guideline documents."""

    name: str
    description: str = ""


class DocumentVersion(BaseModel):
    """One ingested version of a guideline document."""

    doc_id: str
    title: str
    issuer: str = ""
    version: str = ""
    effective_date: date | None = None
    language: Language
    library: str
    status: DocumentStatus = DocumentStatus.CURRENT
    content_sha256: str
    source_file: str
    pages: int | None = None
    chunks: int = 0
    ingested_at: datetime | None = None


def version_from_payload(payload: dict[str, Any]) -> DocumentVersion:
    """Rebuild a DocumentVersion from any of its points' payload."""
    effective = payload.get("effective_date")
    ingested = payload.get("ingested_at")
    return DocumentVersion(
        doc_id=payload["doc_id"],
        title=payload.get("title", ""),
        issuer=payload.get("issuer", ""),
        version=payload.get("version", ""),
        effective_date=date.fromisoformat(effective) if effective else None,
        language=payload.get("language", "en"),
        library=payload.get("library", ""),
        status=DocumentStatus(payload.get("status", "current")),
        content_sha256=payload.get("content_sha256", ""),
        source_file=payload.get("source_file", ""),
        pages=payload.get("doc_pages"),
        chunks=int(payload.get("doc_chunks") or 0),
        ingested_at=datetime.fromisoformat(ingested) if ingested else None,
    )


class Chunk(BaseModel):
    """One indexed passage of a document version."""

    doc_id: str
    content_sha256: str
    chunk_index: int
    text: str
    section_path: list[str] = Field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    page_label: str | None = None
    # The head of the list item the passage begins inside of, when that head stands in the
    # passage before ("1.奈玛特韦片/利托那韦片组合包装"): what its first sentences are about.
    item_head: str | None = None

    @property
    def point_id(self) -> str:
        """Deterministic Qdrant point id (DESIGN.md §4)."""
        key = f"{self.doc_id}\x1f{self.content_sha256}\x1f{self.chunk_index}"
        return str(uuid.uuid5(POINT_NAMESPACE, key))


class Strength(StrEnum):
    """Normalised recommendation strength (issue #17 §1; mapping in assistant/grades.py)."""

    STRONG = "strong"
    CONDITIONAL = "conditional"  # GRADE's weak/conditional, CDC category B, ESC Class IIa/IIb
    AGAINST = "against"  # a recommendation not to do something (ESC/AHA Class III)


class Certainty(StrEnum):
    """Normalised certainty of evidence, on GRADE's four levels (issue #17 §1)."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    VERY_LOW = "very_low"


class Grade(BaseModel):
    """The grade a guideline states for a recommendation, normalised beside its own wording.

    Either field is null when the stated grade does not give it (a CDC category without an
    evidence type); `original` keeps the source's wording and scale ("证据等级3，推荐C").
    `start`/`end` are the character span in the chunk text of the sentence the grade belongs to.
    """

    strength: Strength | None = None
    certainty: Certainty | None = None
    original: str
    start: int | None = Field(default=None, exclude=True)
    end: int | None = Field(default=None, exclude=True)


class Source(BaseModel):
    """A retrieved chunk shown to the model as [n]."""

    n: int
    doc_id: str
    title: str
    version: str = ""
    section: str = ""
    page: int | None = None
    page_label: str | None = None
    library: str
    text: str
    score: float = 0.0
    # The first grade the chunk states (issue #17 §1); null when it states none.
    grade: Grade | None = None
    chunk_id: str = Field(default="", exclude=True)
    language: Language | None = Field(default=None, exclude=True)
    dense_score: float | None = Field(default=None, exclude=True)
    sparse_score: float | None = Field(default=None, exclude=True)
    chunk_index: int | None = Field(default=None, exclude=True)
    # The head of the list item the passage begins inside of (the item's first sentences
    # stand under it; the items after it in the passage do not).
    item_head: str | None = Field(default=None, exclude=True)
    # The document's effective (published) date from its metadata, and when it was ingested.
    effective_date: date | None = Field(default=None, exclude=True)
    ingested_at: datetime | None = Field(default=None, exclude=True)


# ---- a cited passage in its context (issue 16 item 5) -------------------------------------


class PassageBlock(BaseModel):
    """One stored chunk of a document, as shown around a cited passage, in document order.

    `text` is the chunk without the words it repeats from the block before it (chunks overlap),
    except for the cited block, which is shown whole. `spans` are the character ranges of `text`
    the citing sentences rest on (the highlighting); only the cited block has any.
    """

    chunk_index: int
    text: str
    section: str = ""
    page: int | None = None
    page_label: str | None = None
    cited: bool = False
    spans: list[tuple[int, int]] = Field(default_factory=list)


class PassageContext(BaseModel):
    """A cited passage with the chunks before and after it in its own document version."""

    doc_id: str
    title: str
    version: str = ""
    library: str
    section: str = ""
    blocks: list[PassageBlock]


class OriginalFile(BaseModel):
    """A document version's stored original and the name it was ingested under."""

    path: Path
    name: str


class ConflictSide(BaseModel):
    """One guideline's statement in a conflict: its source, sentence, value, grade and date.

    `dated` is the guideline's effective (published) date when its metadata states one
    (`date_kind` "effective"), else the day it was ingested ("ingested"); ISO `YYYY-MM-DD`.
    """

    n: int
    doc_id: str
    title: str
    version: str = ""
    section: str = ""
    sentence: str
    quantity: str
    grade: Grade | None = None
    dated: str | None = None
    date_kind: Literal["effective", "ingested"] | None = None


class GuidelineConflict(BaseModel):
    """Two guidelines stating different values for one subject, aspect and population (#17 §3).

    `population` is what both sentences name (child, adult, pregnancy; empty when neither
    names one); `sides` are the two statements, each from a different document.
    """

    subject: list[str]
    aspect: str
    population: list[str] = Field(default_factory=list)
    sides: list[ConflictSide]


class AnswerSentence(BaseModel):
    """One answer sentence with its citations and both verdicts (issue #10 item 1).

    `faithful`: the cited passage supports it (numbers, doses and units match); `responsive`: it
    is about the question's subject and aspect. `supported` is their conjunction, kept for
    readers of the wave-1 shape; only supported sentences are shown as verified.
    """

    text: str
    citations: list[int] = Field(default_factory=list)
    supported: bool = False
    support_score: float = 0.0
    faithful: bool = False
    responsive: bool = False
    language: Language | None = Field(
        default=None, description="Language of the sentence when it differs from the question's."
    )


class DroppedSentence(BaseModel):
    """A candidate sentence that was not shown, and why (issue #10 item 1)."""

    text: str
    reason: str
    citations: list[int] = Field(default_factory=list)


class Refusal(BaseModel):
    """Why an answer is a refusal and which of the question's terms the library lacks."""

    reason: str
    missing: list[str] = Field(default_factory=list)


class Flag(BaseModel):
    """A risk flag raised on an answer or request."""

    code: str
    detail: str = ""
    severity: Literal["high", "medium", "info"] | None = Field(default=None, exclude=True)


class Redaction(BaseModel):
    """How many identifiers of one type were removed (never the values)."""

    type: str
    count: int


class Answer(BaseModel):
    """The answer shape shared by `guidecite ask --json` and the UI (DESIGN.md §4)."""

    answer_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    session_id: str
    mode: AnswerMode
    sentences: list[AnswerSentence] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    redactions: list[Redaction] = Field(default_factory=list)
    audit_event_id: int | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    dropped: list[DroppedSentence] = Field(default_factory=list)
    refusal: Refusal | None = None
    related: list[Source] = Field(
        default_factory=list, description="Nearest passages of a refusal: reading, not an answer."
    )
    subject: list[str] = Field(default_factory=list, description="The question's subject terms.")
    conflicts: list[GuidelineConflict] = Field(
        default_factory=list,
        description="Guidelines behind the answer that state different values (issue #17 §3).",
    )
    aspect: str | None = Field(default=None, description="What the question asks about them.")
    searched_for: str | None = Field(default=None, exclude=True)
    message: str | None = Field(default=None, exclude=True)


# ---- what changed between two editions of a guideline (issue #17 §2) -----------------------
# Computed by `ingestion.diff`; shared by `guidecite docs diff` and the Library page.

ChangeKind = Literal["added", "removed", "changed", "moved"]
SectionStatus = Literal["added", "removed", "changed", "renamed"]


class QuantityChange(BaseModel):
    """A number, dose or duration as the old text wrote it and as the new one does."""

    model_config = ConfigDict(frozen=True)

    before: str | None
    after: str | None

    def label(self) -> str:
        """`75mg → 150mg`; a side that has none is `—`."""
        return f"{self.before or '—'} → {self.after or '—'}"


class GradeChange(BaseModel):
    """A recommendation grade as the old text stated it and as the new one does (issue 17 §1),
    in the guideline's own wording with its normalised strength and certainty."""

    model_config = ConfigDict(frozen=True)

    before: Grade | None
    after: Grade | None

    def label(self) -> str:
        """`证据等级1，推荐A (strong, high) → 证据等级2，推荐B (conditional, moderate)`."""
        return f"{_grade_label(self.before)} → {_grade_label(self.after)}"

    def to_json(self) -> dict[str, Any]:
        """Both sides as `{original, strength, certainty}` (null where the text states none)."""
        return {"before": _grade_json(self.before), "after": _grade_json(self.after)}


def _grade_label(grade: Grade | None) -> str:
    if grade is None:
        return "—"
    normalised = ", ".join(str(v) for v in (grade.strength, grade.certainty) if v is not None)
    return f"{grade.original} ({normalised})" if normalised else grade.original


def _grade_json(grade: Grade | None) -> dict[str, Any] | None:
    if grade is None:
        return None
    return {
        "original": grade.original,
        "strength": str(grade.strength) if grade.strength else None,
        "certainty": str(grade.certainty) if grade.certainty else None,
    }


class Change(BaseModel):
    """One added, removed, changed or moved run of sentences within a section."""

    model_config = ConfigDict(frozen=True)

    kind: ChangeKind
    before: str = ""
    after: str = ""
    moved_from: list[str] | None = None
    quantities: list[QuantityChange] = Field(default_factory=list)
    grades: list[GradeChange] = Field(default_factory=list)
    inline: str = ""

    def to_json(self) -> dict[str, Any]:
        """The change as `docs diff --json` prints it."""
        return {
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "moved_from": self.moved_from,
            "quantities": [{"before": q.before, "after": q.after} for q in self.quantities],
            "grades": [g.to_json() for g in self.grades],
            "inline": self.inline,
        }


class SectionDiff(BaseModel):
    """The changes inside one section (`path` is where it is now, or was when removed)."""

    model_config = ConfigDict(frozen=True)

    path: list[str]
    status: SectionStatus
    previous_path: list[str] | None
    changes: list[Change]

    def to_json(self) -> dict[str, Any]:
        """The section as `docs diff --json` prints it."""
        return {
            "section": self.path,
            "status": self.status,
            "previous_section": self.previous_path,
            "changes": [c.to_json() for c in self.changes],
        }


class DocumentDiff(BaseModel):
    """Everything that differs between two versions of one document, section by section."""

    model_config = ConfigDict(frozen=True)

    before: DocumentVersion
    after: DocumentVersion
    sections: list[SectionDiff]

    @property
    def changes(self) -> list[Change]:
        """Every change, in section order."""
        return [c for s in self.sections for c in s.changes]

    def summary(self) -> dict[str, int]:
        """How many changes of each kind."""
        counts = dict.fromkeys(("added", "removed", "changed", "moved"), 0)
        for change in self.changes:
            counts[change.kind] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        """One JSON document for `docs diff --json`."""
        return {
            "doc_id": self.after.doc_id,
            "title": self.after.title,
            "from": version_json(self.before),
            "to": version_json(self.after),
            "summary": self.summary(),
            "sections": [s.to_json() for s in self.sections],
        }


def version_json(version: DocumentVersion) -> dict[str, Any]:
    """The fields that tell two versions of a document apart."""
    return {
        "version": version.version,
        "status": str(version.status),
        "content_sha256": version.content_sha256,
        "effective_date": version.effective_date.isoformat() if version.effective_date else None,
        "ingested_at": version.ingested_at.isoformat() if version.ingested_at else None,
        "chunks": version.chunks,
    }


class GuidelineUpdate(BaseModel):
    """A new edition that superseded an earlier one (issue #17 §2, the Monitoring page).

    `updated_at` is when the new edition was ingested; `marked` counts the review items of the
    reader's scope flagged `guideline_updated` because their answers cite the old edition.
    """

    library: str
    doc_id: str
    title: str
    superseded: str
    current: str
    updated_at: datetime | None = None
    effective_date: date | None = None
    marked: int = 0


class AuditAction(StrEnum):
    """The `action` column of every audit event: the one vocabulary (DESIGN.md §4).

    Values are what the trail has always stored (old rows stay readable), hence `export` for
    an audit export.
    """

    # answering
    ASK = "ask"
    SEARCH = "search"
    FEEDBACK = "feedback"
    ANSWER_EXPORT = "answer_export"  # one answer as Markdown or PDF (issue 16 item 4)
    PASSAGE_VIEW = "passage_view"  # a cited passage shown in its context (issue 16 item 5)
    # sign-in and the web session
    LOGIN = "login"
    LOGOUT = "logout"
    SESSION = "session"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 (an audit action name)
    PAGE_OPEN = "page_open"
    # administration
    INIT = "init"
    USER_ADD = "user_add"
    USER_DISABLE = "user_disable"
    TOTP_ENROL = "totp_enrol"
    ROLE_GRANT = "role_grant"
    ROLE_REVOKE = "role_revoke"
    LIBRARY_GRANT = "library_grant"
    LIBRARY_REVOKE = "library_revoke"
    # the library
    INGEST = "ingest"
    DOCUMENT_DELETE = "document_delete"
    DOCUMENT_DIFF = "document_diff"  # a refused "what changed" (issue #17 §2); reads are not rows
    # new edition: review items citing the one it superseded marked `guideline_updated`
    GUIDELINE_UPDATE_MARKED = "guideline_update_marked"
    # the audit trail
    AUDIT_VERIFY = "audit_verify"
    AUDIT_EXPORT = "export"
    AUDIT_PURGE = "audit_purge"
    AUDIT_STATS = "audit_stats"
    # oversight
    REVIEW_LIST = "review_list"
    REVIEW_VIEW = "review_view"
    REVIEW_TAKE = "review_take"
    REVIEW_ASSIGN = "review_assign"
    REVIEW_RESOLVE = "review_resolve"
    REVIEW_EXPORT = "review_export"
    GATE_APPROVE = "gate_approve"
    REPORT_NEEDS = "report_needs"
    # conversations kept for their owner (issue 16 item 1)
    CONVERSATION_OPEN = "conversation_open"
    CONVERSATION_APPEND = "conversation_append"
    CONVERSATION_RENAME = "conversation_rename"
    CONVERSATION_DELETE = "conversation_delete"
    CONVERSATION_PURGE = "conversation_purge"


# ---- object names: the `object` of Casbin requests and audit rows, spelled only here --------


def library_object(library: str) -> str:
    """Casbin/audit object of a library."""
    return f"library:{library}"


def libraries_object(libraries: list[str] | tuple[str, ...]) -> str:
    """Audit object of an action over several libraries (`library:none` for none)."""
    return ",".join(library_object(name) for name in libraries) or "library:none"


def roles_object(department: str) -> str:
    """Casbin/audit object of role changes in a department."""
    return f"roles:{department}"


def audit_object(department: str | None) -> str:
    """Casbin/audit object of a department's audit trail (`audit:*` = hospital-wide)."""
    return f"audit:{department or HOSPITAL_WIDE}"


def review_object(department: str) -> str:
    """Casbin/audit object of a department's review queue."""
    return f"review:{department}"


def gates_object(department: str) -> str:
    """Casbin/audit object of a department's ethics approvals."""
    return f"gates:{department}"


def document_object(doc_id: str) -> str:
    """Audit object of a document (every version of it)."""
    return f"document:{doc_id}"


def user_object(name: str) -> str:
    """Audit object of an account."""
    return f"user:{name}"


def answer_object(answer_id: str) -> str:
    """Audit object of one answer (feedback on it, its export)."""
    return f"answer:{answer_id}"


def conversation_object(conversation_id: str) -> str:
    """Audit object of one stored conversation (its id is the audit session id of its turns)."""
    return f"conversation:{conversation_id}"


def monitoring_object(department: str) -> str:
    """Casbin/audit object of a department's monitoring figures and reports."""
    return f"monitoring:{department}"


def page_object(page: str) -> str:
    """Casbin/audit object of a page of the web app."""
    return f"page:{page}"


def app_object(channel: str) -> str:
    """Audit object of a sign-in channel (`app:web`, `app:cli`, `app:sso`)."""
    return f"app:{channel}"


class AuditEvent(BaseModel):
    """One row of the hash-chained audit trail (DESIGN.md §4)."""

    id: int | None = None
    ts_utc: datetime
    actor: str
    role: str
    department: str
    session_id: str
    action: str
    object: str
    outcome: str
    detail_json: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""


class VerifyResult(BaseModel):
    """Outcome of checking the audit chain (`guidecite audit verify --json` prints this)."""

    ok: bool
    events: int
    first_bad_id: int | None = None
    reason: str | None = None
    # The newest row covered by a signature (database head or checkpoint file), and how many
    # rows follow it unsigned — normally 0, since every append signs the head (issue 13).
    signed_head_id: int | None = None
    beyond_signed_head: int = 0


class ReviewItem(BaseModel):
    """A flagged answer awaiting quality review."""

    id: int | None = None
    answer_id: str
    audit_event_id: int | None = None
    department: str
    status: Literal["open", "in_review", "resolved"] = "open"
    flags: list[str] = Field(default_factory=list)
    assignee: str | None = None
    disposition: str | None = None
    comment: str | None = None
    created_at: datetime | None = None
    # What the reviewer needs, copied from the `ask` audit event (issue 6 item 2).
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    asked_by: str | None = None
    question: str = ""
    mode: str = ""
    sentences: list[AnswerSentence] = Field(default_factory=list)
    sources: list[dict[str, Any]] = Field(default_factory=list)
    verification: dict[str, Any] = Field(default_factory=dict)
    flag_details: list[Flag] = Field(default_factory=list)
    feedback: list[dict[str, Any]] = Field(default_factory=list)


class Conversation(BaseModel):
    """A chat conversation kept for its owner (issue 16 item 1).

    `id` is the audit session id of its `ask` rows, so its audit trail is found by it.
    """

    id: str
    owner: str
    department: str
    title: str
    created_at: datetime
    updated_at: datetime
    turns: int = 0
    guideline_updated: bool = Field(
        default=False, description="An answer in it cites a guideline version since superseded."
    )


class ConversationTurn(BaseModel):
    """One question of a conversation, as recorded (placeholders, never identifiers), and its
    answer."""

    conversation_id: str
    position: int
    question: str
    answer: Answer
    asked_at: datetime
    guideline_updates: list[str] = Field(
        default_factory=list,
        description="Superseded guideline versions the answer cites: `title: old → new` each.",
    )
    helpful: bool | None = Field(
        default=None, description="The owner's 👍 (true) or 👎 (false) on the answer, once given."
    )


class GateApproval(BaseModel):
    """An ethics committee's approval of generative answers for one department (issue 6)."""

    id: int | None = None
    department: str
    reference: str
    committee: str = "伦理委员会 / Ethics Committee"
    approved_by: str
    approved_on: date
    expires_on: date
    libraries: list[str] = Field(
        default_factory=list, description="Libraries in scope; empty = all the department reads."
    )
    recorded_by: str = ""
    recorded_at: datetime | None = None


class Alert(BaseModel):
    """An early-warning alert raised when a monitoring threshold is crossed (issue 6)."""

    code: str
    severity: Literal["high", "medium", "info"] = "medium"
    message: str
    window: str = ""
    value: float = 0.0
    threshold: float = 0.0
    subject: str = ""
