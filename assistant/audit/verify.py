"""Checking the audit chain: row links, row hashes, signed checkpoints and purge anchors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from assistant.audit.chain import GENESIS_HASH, row_hash
from assistant.audit.checkpoints import Checkpoint, CheckpointProblem
from assistant.domain import VerifyResult

# Column order of the rows `verify_chain` reads (the table's column order).
ROW_COLUMNS = (
    "id",
    "ts_utc",
    "actor",
    "role",
    "department",
    "session_id",
    "action",
    "object",
    "outcome",
    "detail_json",
    "prev_hash",
    "hash",
)


def verify_chain(
    rows: Iterable[Sequence[Any]],
    *,
    anchor: tuple[int, str] | None,
    checkpoints: Sequence[Checkpoint],
    problems: Sequence[CheckpointProblem],
    checkpoint_every: int,
    head: Checkpoint | None = None,
    file_required: bool = False,
    file_present: bool = True,
) -> VerifyResult:
    """Recompute the chain over `rows` (ascending id, starting after `anchor`) and check it.

    `head` is the validly signed head from the database (None when the table holds none);
    `checkpoints` the validly signed lines of the file. With `file_required` (one node holds
    every line: SQLite) a missing, emptied or shortened file is a failure too.
    """
    if problems:
        first = problems[0]
        return VerifyResult(ok=False, events=0, first_bad_id=first.id, reason=first.reason)
    start_id, prev = anchor if anchor is not None else (0, GENESIS_HASH)
    if anchor is not None and not any(
        c.kind == "purge" and c.id == anchor[0] and c.hash == anchor[1] for c in checkpoints
    ):
        return VerifyResult(
            ok=False,
            events=0,
            first_bad_id=anchor[0],
            reason=f"the purge anchor at row {anchor[0]} has no matching signed purge checkpoint: "
            "rows were removed outside a purge",
        )
    signed: dict[int, set[str]] = {}
    for checkpoint in checkpoints:
        if checkpoint.kind == "head" and checkpoint.id > start_id:
            signed.setdefault(checkpoint.id, set()).add(checkpoint.hash)
    last_signed = start_id
    if head is not None:
        if head.id < start_id or (head.id == start_id and head.hash != prev):
            return _bad(
                0,
                head.id,
                f"the signed head in the database (row {head.id}) does not match the purge "
                f"anchor at row {start_id}: the head or the anchor was replaced",
            )
        if head.id > start_id:
            signed.setdefault(head.id, set()).add(head.hash)

    events = 0
    last_id = start_id
    for row in rows:
        row_id = int(row[0])
        if row_id != last_id + 1:
            return _bad(
                events,
                last_id + 1,
                f"row {last_id + 1} is missing (deleted): the chain jumps from row {last_id} "
                f"to row {row_id}",
            )
        if row[10] != prev:
            return _bad(
                events,
                row_id,
                f"row {row_id} does not link to row {last_id} (prev_hash differs): a row was "
                "reordered, replaced or removed",
            )
        computed = row_hash(prev, row)
        if computed != row[11]:
            return _bad(events, row_id, f"row {row_id} does not match its hash: the row was edited")
        expected = signed.get(row_id)
        if expected is not None:
            if expected != {row[11]}:
                return _bad(
                    events,
                    row_id,
                    f"row {row_id} does not match its signed checkpoint: the chain was rewritten "
                    f"somewhere in rows {last_signed + 1}..{row_id}",
                )
            last_signed = row_id
        prev = row[11]
        last_id = row_id
        events += 1

    beyond = [checkpoint_id for checkpoint_id in signed if checkpoint_id > last_id]
    if beyond:
        return _bad(
            events,
            last_id + 1,
            f"a signed checkpoint names row {max(beyond)} but the chain ends at row {last_id}: "
            "rows were removed from the end",
        )
    if last_id > 0 and head is None:
        return _bad(
            events,
            None,
            f"the chain holds rows up to {last_id} but the database has no signed head "
            "(table audit_head): the head was deleted, or rows were written outside GuideCite",
        )
    if file_required and last_id > 0:
        problem = _file_problem(
            checkpoints,
            head_id=head.id if head is not None else last_id,
            every=checkpoint_every,
            present=file_present,
        )
        if problem is not None:
            return _bad(events, None, problem)
    return VerifyResult(
        ok=True,
        events=events,
        signed_head_id=last_signed if last_signed > 0 else None,
        beyond_signed_head=last_id - last_signed,
    )


def _file_problem(
    checkpoints: Sequence[Checkpoint], *, head_id: int, every: int, present: bool
) -> str | None:
    """Why the checkpoint file cannot be the complete copy of a chain whose head is `head_id`."""
    if not present:
        return (
            f"the checkpoint file is missing or empty although the chain reaches row {head_id}: "
            "it was deleted, emptied or belongs to another installation"
        )
    # A line is written for the chain's first event and whenever a multiple of `every` is passed.
    required = max(1, head_id // every * every)
    newest = max((c.id for c in checkpoints), default=0)
    if newest < required:
        return (
            f"the checkpoint file ends at row {newest} but a line for row {required} or later "
            f"must exist (one is written every {every} events): lines were removed from its end, "
            "or a checkpoint write failed (see the log)"
        )
    return None


def _bad(events: int, first_bad_id: int | None, reason: str) -> VerifyResult:
    return VerifyResult(ok=False, events=events, first_bad_id=first_bad_id, reason=reason)
