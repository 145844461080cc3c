"""Stored chat conversations: their tables, migrations and queries (issue 16 item 1).

A conversation belongs to one person; its id is the audit session id of its `ask` rows. Each turn
keeps the question as recorded (identifiers already replaced by placeholders, as in the audit
trail) and the Answer as JSON (guideline text and redacted data only). The guideline versions
each answer cites are indexed, so a superseded version finds the turns resting on it (issue 17).
Deleting hides a conversation (a flag); only the retention purge removes rows, and never audit
rows. Who may do what is checked by `assistant.service.conversations`, not here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)

from assistant.config import Settings
from assistant.db import Migration, apply_migrations, shared_engine
from assistant.domain import Answer, Conversation, ConversationTurn

TITLE_CHARS = 60

_metadata = MetaData()
conversations = Table(
    "conversations",
    _metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("department", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False, index=True),
    Column("deleted", Boolean, nullable=False, default=False),
    Index("ix_conversations_owner_updated", "owner", "updated_at"),
)
conversation_turns = Table(
    "conversation_turns",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "conversation_id",
        String(64),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("position", Integer, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer_id", String(64), nullable=False),
    Column("answer_json", Text, nullable=False),
    Column("asked_at", String(40), nullable=False),
    # JSON list of "title: old → new" notes, one per superseded version the answer cites.
    Column("guideline_updates", Text, nullable=False, default="[]"),
    # 👍 (true) / 👎 (false) once given, so a reopened answer does not ask again.
    Column("helpful", Boolean, nullable=True),
    Index("ix_conversation_turns_answer", "answer_id"),
)
# The guideline versions each turn's answer cites (issue 17: marking on supersession).
conversation_citations = Table(
    "conversation_citations",
    _metadata,
    Column(
        "turn_id",
        Integer,
        ForeignKey("conversation_turns.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("doc_id", String(255), nullable=False),
    Column("version", String(255), nullable=False),
    Index("ix_conversation_citations_doc", "doc_id", "version"),
)


def _create_tables(conn: Connection) -> None:
    _metadata.create_all(conn, tables=[conversations, conversation_turns, conversation_citations])


MIGRATIONS = (
    Migration(1, "conversations, their turns and the guideline versions cited", _create_tables),
)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def make_title(question: str) -> str:
    """A conversation's default title: its first question as recorded, on one line, shortened."""
    line = " ".join(question.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


class ConversationStore:
    """The conversations of one database."""

    def __init__(self, engine: Engine) -> None:
        apply_migrations(engine, component="conversations", migrations=MIGRATIONS)
        self._engine = engine

    @classmethod
    def open(cls, settings: Settings) -> ConversationStore:
        """The store on the configured database (tables created on first use)."""
        return cls(shared_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size))

    def get(self, conversation_id: str) -> tuple[Conversation, bool] | None:
        """A conversation and whether it is deleted, if it exists."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(conversations).where(conversations.c.id == conversation_id)
            ).first()
            if row is None:
                return None
            found = self._with_counts(conn, [row._mapping])[0]
        return found, bool(row._mapping["deleted"])

    def owned_by(self, owner: str, *, limit: int = 200) -> list[Conversation]:
        """The owner's conversations that are not deleted, most recently used first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(conversations)
                .where(conversations.c.owner == owner, conversations.c.deleted.is_(False))
                .order_by(conversations.c.updated_at.desc(), conversations.c.id)
                .limit(limit)
            ).all()
            return self._with_counts(conn, [r._mapping for r in rows])

    def _with_counts(self, conn: Connection, rows: list[Any]) -> list[Conversation]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        counts: dict[str, int] = dict(
            conn.execute(
                select(conversation_turns.c.conversation_id, func.count())
                .where(conversation_turns.c.conversation_id.in_(ids))
                .group_by(conversation_turns.c.conversation_id)
            ).all()
        )
        updated = {
            r[0]
            for r in conn.execute(
                select(conversation_turns.c.conversation_id)
                .where(
                    conversation_turns.c.conversation_id.in_(ids),
                    conversation_turns.c.guideline_updates != "[]",
                )
                .distinct()
            ).all()
        }
        return [
            Conversation(
                id=r["id"],
                owner=r["owner"],
                department=r["department"],
                title=r["title"],
                created_at=datetime.fromisoformat(r["created_at"]),
                updated_at=datetime.fromisoformat(r["updated_at"]),
                turns=int(counts.get(r["id"], 0)),
                guideline_updated=r["id"] in updated,
            )
            for r in rows
        ]

    def turns(self, conversation_id: str) -> list[ConversationTurn]:
        """The turns of a conversation, in the order they were asked."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(conversation_turns)
                .where(conversation_turns.c.conversation_id == conversation_id)
                .order_by(conversation_turns.c.position)
            ).all()
        return [
            ConversationTurn(
                conversation_id=r.conversation_id,
                position=r.position,
                question=r.question,
                answer=Answer.model_validate_json(r.answer_json),
                asked_at=datetime.fromisoformat(r.asked_at),
                guideline_updates=json.loads(r.guideline_updates),
                helpful=r.helpful,
            )
            for r in rows
        ]

    def append(
        self,
        *,
        conversation_id: str,
        owner: str,
        department: str,
        question: str,
        answer: Answer,
        at: datetime,
    ) -> ConversationTurn:
        """Add a turn, creating the conversation (titled by this question) if it is new."""
        stamp = _ts(at)
        with self._engine.begin() as conn:
            exists = conn.execute(
                select(conversations.c.id).where(conversations.c.id == conversation_id)
            ).first()
            if exists is None:
                conn.execute(
                    conversations.insert().values(
                        id=conversation_id,
                        owner=owner,
                        department=department,
                        title=make_title(question),
                        created_at=stamp,
                        updated_at=stamp,
                        deleted=False,
                    )
                )
            else:
                conn.execute(
                    update(conversations)
                    .where(conversations.c.id == conversation_id)
                    .values(updated_at=stamp)
                )
            position = conn.execute(
                select(func.coalesce(func.max(conversation_turns.c.position), 0)).where(
                    conversation_turns.c.conversation_id == conversation_id
                )
            ).scalar_one()
            result = conn.execute(
                conversation_turns.insert().values(
                    conversation_id=conversation_id,
                    position=int(position) + 1,
                    question=question,
                    answer_id=answer.answer_id,
                    answer_json=answer.model_dump_json(),
                    asked_at=stamp,
                    guideline_updates="[]",
                )
            )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT always reports its key
            cited = {(s.doc_id, s.version) for s in answer.sources}
            if cited:
                conn.execute(
                    conversation_citations.insert(),
                    [{"turn_id": int(key[0]), "doc_id": d, "version": v} for d, v in cited],
                )
        return ConversationTurn(
            conversation_id=conversation_id,
            position=int(position) + 1,
            question=question,
            answer=answer,
            asked_at=datetime.fromisoformat(stamp),
        )

    def note_feedback(self, *, owner: str, answer_id: str, helpful: bool) -> bool:
        """Note 👍/👎 on the owner's stored turn of an answer; False when there is none."""
        mine = select(conversations.c.id).where(conversations.c.owner == owner)
        with self._engine.begin() as conn:
            result = conn.execute(
                update(conversation_turns)
                .where(
                    conversation_turns.c.answer_id == answer_id,
                    conversation_turns.c.conversation_id.in_(mine),
                )
                .values(helpful=helpful)
            )
        return bool(result.rowcount)

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        with self._engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(title=title)
            )

    def hide(self, conversation_id: str) -> None:
        """Mark a conversation deleted: it is no longer listed or opened; rows stay."""
        with self._engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(deleted=True)
            )

    def mark_cited_version(self, *, doc_id: str, version: str, note: str) -> list[str]:
        """Note `note` on every turn whose answer cites (doc_id, version); returns the ids of the
        conversations marked (a turn already noted so is left alone)."""
        marked: set[str] = set()
        with self._engine.begin() as conn:
            rows = conn.execute(
                select(
                    conversation_turns.c.id,
                    conversation_turns.c.conversation_id,
                    conversation_turns.c.guideline_updates,
                )
                .join(
                    conversation_citations,
                    conversation_citations.c.turn_id == conversation_turns.c.id,
                )
                .where(
                    conversation_citations.c.doc_id == doc_id,
                    conversation_citations.c.version == version,
                )
            ).all()
            for turn_id, conversation_id, notes_json in rows:
                notes = json.loads(notes_json)
                if note in notes:
                    continue
                conn.execute(
                    update(conversation_turns)
                    .where(conversation_turns.c.id == turn_id)
                    .values(guideline_updates=json.dumps([*notes, note], ensure_ascii=False))
                )
                marked.add(str(conversation_id))
        return sorted(marked)

    def purge_before(self, cutoff: datetime) -> int:
        """Remove every conversation last used before `cutoff` (deleted or not), with its turns;
        returns how many."""
        stamp = _ts(cutoff)
        with self._engine.begin() as conn:
            old = select(conversations.c.id).where(conversations.c.updated_at < stamp)
            turns = select(conversation_turns.c.id).where(
                conversation_turns.c.conversation_id.in_(old)
            )
            conn.execute(
                delete(conversation_citations).where(conversation_citations.c.turn_id.in_(turns))
            )
            conn.execute(
                delete(conversation_turns).where(conversation_turns.c.conversation_id.in_(old))
            )
            result = conn.execute(delete(conversations).where(conversations.c.updated_at < stamp))
        return int(result.rowcount or 0)
