"""The review queue of flagged answers and its lifecycle (issue 6 item 2).

open → in_review (a reviewer takes or is assigned the item) → resolved with a disposition and a
comment; a reviewer may resolve straight from open. Every transition writes one audit event
(`review_take`, `review_assign`, `review_resolve`, `review_export`), denials
included; an item is opened by the audited `ask` (a high flag) or `feedback` (👎) event
that caused it. Reviewers see only departments where they hold `read` on `review:<dept>` (Casbin).

Items copy what the reviewer needs from the `ask` audit event (redacted question, sentences with
their verification, sources, flags) so the queue never needs the index or the model. Items
resolved `incorrect` or `guideline_gap` export as a JSONL regression set.

"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from assistant.config import Settings
from assistant.db import Migration, apply_migrations, shared_engine
from assistant.domain import AnswerSentence, AuditEvent, Flag, ReviewItem
from assistant.errors import InvalidInput
from assistant.language import has_cjk

Status = Literal["open", "in_review", "resolved"]
DISPOSITIONS = ("correct", "incorrect", "guideline_gap", "needs_escalation")
REGRESSION_DISPOSITIONS = ("incorrect", "guideline_gap")
# What the regression set expects the assistant to do next time (issue 6 item 2).
EXPECTED_BEHAVIOUR = {
    "incorrect": "answer_correctly",
    "guideline_gap": "refuse_until_guideline_added",
}

_metadata = MetaData()
review_items = Table(
    "review_items",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(64), nullable=False, unique=True),
    Column("audit_event_id", Integer, nullable=True),
    Column("department", String(64), nullable=False, index=True),
    Column("status", String(16), nullable=False, index=True),
    Column("flags_json", Text, nullable=False),
    Column("assignee", String(128), nullable=True),
    Column("disposition", String(32), nullable=True),
    Column("comment", Text, nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("resolved_at", String(40), nullable=True),
    Column("resolved_by", String(128), nullable=True),
    Column("asked_by", String(128), nullable=True),
    Column("detail_json", Text, nullable=False),
)
# answer_id → its `ask` audit event, so feedback finds the answer without scanning the chain.
answer_refs = Table(
    "answer_refs",
    _metadata,
    Column("answer_id", String(64), primary_key=True),
    Column("audit_event_id", Integer, nullable=False),
    Column("actor", String(128), nullable=False),
    Column("department", String(64), nullable=False),
    Column("ts_utc", String(40), nullable=False),
)


def _create_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[review_items, answer_refs])


MIGRATIONS = (Migration(1, "review_items and answer_refs tables", _create_tables),)


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class ReviewQueue:
    """The review items and answer references of one database."""

    def __init__(self, engine: Engine) -> None:
        apply_migrations(engine, component="review", migrations=MIGRATIONS)
        self._engine = engine

    @classmethod
    def open(cls, settings: Settings) -> ReviewQueue:
        """The queue on the configured database (tables created on first use)."""
        return cls(shared_engine(settings.sqlalchemy_url))

    # ---- answer references ----------------------------------------------------------------

    def remember_answer(
        self, *, answer_id: str, audit_event_id: int, actor: str, department: str, ts: datetime
    ) -> None:
        """Note which audit event holds an answer (for feedback)."""
        with self._engine.begin() as conn:
            conn.execute(
                answer_refs.insert().values(
                    answer_id=answer_id,
                    audit_event_id=audit_event_id,
                    actor=actor,
                    department=department,
                    ts_utc=_ts(ts),
                )
            )

    def answer_ref(self, answer_id: str) -> dict[str, Any] | None:
        """The audit event id, asker, department and time of an answer, if known."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(answer_refs).where(answer_refs.c.answer_id == answer_id)
            ).first()
        if row is None:
            return None
        ref = dict(row._mapping)
        ref["ts_utc"] = _parse(ref["ts_utc"])
        return ref

    # ---- items ------------------------------------------------------------------------------

    def insert(self, item: ReviewItem) -> ReviewItem | None:
        """Store a new item; None when the answer already has one."""
        values = _to_row(item)
        values.pop("id", None)
        try:
            with self._engine.begin() as conn:
                result = conn.execute(review_items.insert().values(**values))
        except IntegrityError:
            return None
        key = result.inserted_primary_key
        assert key is not None  # an INSERT always reports its key
        return item.model_copy(update={"id": int(key[0])})

    def save(self, item: ReviewItem) -> None:
        """Write back an existing item."""
        values = _to_row(item)
        item_id = values.pop("id")
        with self._engine.begin() as conn:
            conn.execute(update(review_items).where(review_items.c.id == item_id).values(**values))

    def get(self, item_id: int) -> ReviewItem | None:
        """One item by id."""
        with self._engine.connect() as conn:
            row = conn.execute(select(review_items).where(review_items.c.id == item_id)).first()
        return _to_item(row._mapping) if row is not None else None

    def by_answer(self, answer_id: str) -> ReviewItem | None:
        """The item of an answer, if one was opened."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(review_items).where(review_items.c.answer_id == answer_id)
            ).first()
        return _to_item(row._mapping) if row is not None else None

    def query(
        self,
        *,
        departments: Iterable[str],
        status: str | None = None,
        flag: str | None = None,
        since: datetime | None = None,
    ) -> list[ReviewItem]:
        """Items of the given departments, newest first, filtered."""
        stmt = select(review_items).where(review_items.c.department.in_(list(departments)))
        if status is not None:
            stmt = stmt.where(review_items.c.status == status)
        if since is not None:
            stmt = stmt.where(review_items.c.created_at >= _ts(since))
        with self._engine.connect() as conn:
            rows = conn.execute(stmt.order_by(review_items.c.id.desc())).all()
        items = [_to_item(row._mapping) for row in rows]
        return [i for i in items if flag is None or flag in i.flags]

    def departments(self) -> list[str]:
        """Departments that have any item."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(review_items.c.department).distinct()).all()
        return sorted(str(r[0]) for r in rows)


_DETAIL_FIELDS = (
    "question",
    "mode",
    "sentences",
    "sources",
    "verification",
    "flag_details",
    "feedback",
)


def _to_row(item: ReviewItem) -> dict[str, Any]:
    detail = item.model_dump(mode="json", include=set(_DETAIL_FIELDS))
    # Flag.severity is excluded from dumps; the reviewer's page shows it, so keep it here.
    detail["flag_details"] = [{**f.model_dump(), "severity": f.severity} for f in item.flag_details]
    return {
        "id": item.id,
        "answer_id": item.answer_id,
        "audit_event_id": item.audit_event_id,
        "department": item.department,
        "status": item.status,
        "flags_json": json.dumps(item.flags),
        "assignee": item.assignee,
        "disposition": item.disposition,
        "comment": item.comment,
        "created_at": _ts(item.created_at),
        "updated_at": _ts(item.updated_at or item.created_at),
        "resolved_at": _ts(item.resolved_at),
        "resolved_by": item.resolved_by,
        "asked_by": item.asked_by,
        "detail_json": json.dumps(detail, ensure_ascii=False),
    }


def _to_item(row: Any) -> ReviewItem:
    detail = json.loads(row["detail_json"])
    return ReviewItem(
        id=int(row["id"]),
        answer_id=row["answer_id"],
        audit_event_id=row["audit_event_id"],
        department=row["department"],
        status=row["status"],
        flags=json.loads(row["flags_json"]),
        assignee=row["assignee"],
        disposition=row["disposition"],
        comment=row["comment"],
        created_at=_parse(row["created_at"]),
        updated_at=_parse(row["updated_at"]),
        resolved_at=_parse(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        asked_by=row["asked_by"],
        **detail,
    )


def item_from_ask_event(event: AuditEvent, *, flags: Sequence[Flag]) -> ReviewItem:
    """A new open item holding what the reviewer needs from an `ask` audit event."""
    detail = event.detail_json
    sentences = [AnswerSentence(**s) for s in detail.get("sentences") or []]
    recorded = [Flag(**{k: f.get(k, "") for k in ("code", "detail")}) for f in detail["flags"]]
    by_code = {f.code: f for f in recorded}
    for flag in flags:
        by_code[flag.code] = flag
    now = _now()
    return ReviewItem(
        answer_id=str(detail["answer_id"]),
        audit_event_id=event.id,
        department=event.department,
        status="open",
        flags=list(by_code),
        created_at=now,
        updated_at=now,
        asked_by=event.actor,
        question=str(detail.get("question", "")),
        mode=str(detail.get("mode", "")),
        sentences=sentences,
        sources=list(detail.get("sources") or []),
        verification={
            "supported": sum(1 for s in sentences if s.supported),
            "total": len(sentences),
            "relevance": detail.get("relevance"),
            "llm_error": detail.get("llm_error"),
            "policy": detail.get("policy"),
            # Issue #10: what was not shown and why, and what a refusal said was missing.
            "dropped": list(detail.get("dropped") or []),
            "refusal": detail.get("refusal"),
            "subject": list(detail.get("subject") or []),
            "aspect": detail.get("aspect"),
        },
        flag_details=list(by_code.values()),
    )


def regression_record(item: ReviewItem) -> dict[str, Any]:
    """One JSONL line of the regression set for a resolved item."""
    language = "zh" if has_cjk(item.question) else "en"
    return {
        "id": f"review-{item.id}",
        "question": item.question,
        "language": language,
        "expected_behaviour": EXPECTED_BEHAVIOUR.get(item.disposition or "", "review"),
        "disposition": item.disposition,
        "reviewer_comment": item.comment or "",
        "department": item.department,
        "answer_id": item.answer_id,
        "flags": item.flags,
        "sources": [
            {k: s.get(k) for k in ("doc_id", "title", "version", "section", "page", "library")}
            for s in item.sources
        ],
    }


def load_regression(path: Path) -> list[dict[str, Any]]:
    """Read a regression JSONL file back (what the evaluation harness consumes)."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        missing = {"id", "question", "language", "expected_behaviour", "sources"} - set(record)
        if missing:
            raise InvalidInput(f"{path}:{number}: missing fields {sorted(missing)}")
        records.append(record)
    return records
