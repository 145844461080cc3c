"""Signed checkpoints of the audit chain head, kept in an append-only file outside the database.

A hash chain alone does not stop someone who can rewrite every row (issue 4). The same signed
statement about the head is also kept in the database on every append (table ``audit_head``,
issue 13); the file is the copy outside the database, and the witness the copy off the host.
Each checkpoint line is HMAC-SHA256-signed with a key that is never stored in the database, so
a chain rewritten consistently no longer matches the signed head, and a forged line fails its
HMAC.

Line format (one JSON object per line)::

    {"kind": "head"|"purge", "id": 1200, "hash": "<64 hex>", "count": 1200,
     "ts": "2025-01-01T00:00:00.000000Z", "hmac": "<64 hex>"}

``hmac = HMAC-SHA256(key, f"{id}|{hash}|{count}|{kind}")``. For ``head`` lines ``count`` is the
number of events appended since genesis up to ``id`` (ids are dense, so it equals ``id``); for
``purge`` lines it is the number of rows that purge removed and ``id``/``hash`` are those of the
last removed row (the anchor the remaining chain starts from). ``kind`` is signed so a routine
head checkpoint cannot be passed off as a purge anchor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.config import Settings

logger = logging.getLogger(__name__)

CheckpointKind = Literal["head", "purge"]
KEY_BYTES = 32


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement about the chain: row `id` had hash `hash`."""

    kind: CheckpointKind
    id: int
    hash: str
    count: int
    ts: str


@dataclass(frozen=True)
class CheckpointProblem:
    """A line of the checkpoint file that is not a validly signed checkpoint."""

    line_no: int
    id: int | None
    reason: str


def sign_checkpoint(key: bytes, checkpoint: Checkpoint) -> str:
    """HMAC-SHA256 hex of `id|hash|count|kind`."""
    message = f"{checkpoint.id}|{checkpoint.hash}|{checkpoint.count}|{checkpoint.kind}"
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).hexdigest()


def append_checkpoint(path: Path, *, key: bytes, checkpoint: Checkpoint) -> dict[str, Any]:
    """Append one signed line with O_APPEND and fsync it; returns the record written.

    Raises OSError on failure.
    """
    record = {
        "kind": checkpoint.kind,
        "id": checkpoint.id,
        "hash": checkpoint.hash,
        "count": checkpoint.count,
        "ts": checkpoint.ts,
        "hmac": sign_checkpoint(key, checkpoint),
    }
    line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write() of a short line under O_APPEND: concurrent writers never interleave bytes.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write to checkpoint file {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def read_checkpoints(path: Path, *, key: bytes) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
    """All validly signed checkpoints in the file, and every line that is not one."""
    good: list[Checkpoint] = []
    bad: list[CheckpointProblem] = []
    if not path.exists():
        return good, bad
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            checkpoint, problem = _parse_line(raw, line_no=line_no, key=key)
            if checkpoint is not None:
                good.append(checkpoint)
            if problem is not None:
                bad.append(problem)
    return good, bad


def _parse_line(
    raw: bytes, *, line_no: int, key: bytes
) -> tuple[Checkpoint | None, CheckpointProblem | None]:
    try:
        record = json.loads(raw)
        checkpoint = Checkpoint(
            kind=record["kind"],
            id=int(record["id"]),
            hash=str(record["hash"]),
            count=int(record["count"]),
            ts=str(record["ts"]),
        )
        signature = str(record["hmac"])
    except (ValueError, KeyError, TypeError):
        return None, CheckpointProblem(line_no, None, f"checkpoint line {line_no} is unreadable")
    if checkpoint.kind not in ("head", "purge"):
        return None, CheckpointProblem(
            line_no, checkpoint.id, f"checkpoint line {line_no} has unknown kind"
        )
    if not hmac.compare_digest(signature, sign_checkpoint(key, checkpoint)):
        return None, CheckpointProblem(
            line_no,
            checkpoint.id,
            f"checkpoint line {line_no} (id {checkpoint.id}) has an invalid HMAC: forged or "
            "signed with another key",
        )
    return checkpoint, None


def deployment_key(settings: Settings) -> bytes:
    """The deployment's root key: GUIDECITE_AUDIT__CHECKPOINT_KEY, else DATA_DIR's key file.

    It signs the audit checkpoints and, through a derived sub-key, seals TOTP seeds. Raises
    OSError when the key file cannot be read or created; callers say what that stops.
    """
    secret = settings.audit.checkpoint_key.get_secret_value()
    if secret:
        return secret.encode("utf-8")
    return load_or_create_key(settings.data_dir / "audit-checkpoint.key")


def load_or_create_key(path: Path) -> bytes:
    """The checkpoint key from `path`, creating a random one with mode 0600 on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    try:
        os.write(fd, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("created audit checkpoint key %s", path)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(50):
        text = path.read_text(encoding="ascii").strip()
        if text:
            break
        time.sleep(0.01)
    else:
        raise OSError(f"audit checkpoint key file {path} is empty")
    if path.stat().st_mode & 0o077:
        logger.warning("audit checkpoint key %s is readable by group/others; chmod 600 it", path)
    try:
        return bytes.fromhex(text)
    except ValueError:
        return text.encode("utf-8")
