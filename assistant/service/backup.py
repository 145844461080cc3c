"""Backup and restore of the embedded deployment's DATA_DIR (issue 8, DESIGN.md §6).

A backup folder holds, next to a `manifest.json` with a SHA-256 per file:

- `qdrant/`: the Qdrant Edge shard, copied while this process holds the store lock, so no other
  process can write it meanwhile (the store is single-process; a running app must be stopped);
- `guidecite.db`: the SQLite database, copied with SQLite's online backup API (a consistent
  snapshot even while other processes write to it);
- `audit-checkpoints.jsonl` and `audit-checkpoint.key`: the signed chain heads and their key
  (also the root of the key that seals TOTP seeds in the database, `assistant.accounts`);
- `originals/`: the ingested original files.

Server deployments back up with the servers' own tools (pg_dump, Qdrant snapshots —
docs/deploy.md); for them the matching parts are skipped and the reason recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from assistant.config import Settings
from assistant.data_dir import tighten_tree
from assistant.errors import GuideCiteError, InvalidInput, StoreLocked
from assistant.store import read_lock_holder

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "guidecite-backup/1"
QDRANT_DIR = "qdrant"
DATABASE_FILE = "guidecite.db"
CHECKPOINTS_FILE = "audit-checkpoints.jsonl"
KEY_FILE = "audit-checkpoint.key"
ORIGINALS_DIR = "originals"
# Files in DATA_DIR that belong to no component: a process lock, SQLite's sidecar files.
TRANSIENT = frozenset({"qdrant.lock"})
_CHUNK = 1 << 20
PG_DUMP_NOTE = (
    "The database is PostgreSQL: back it up with pg_dump (docs/deploy.md, 'PostgreSQL backups')."
)
QDRANT_SNAPSHOT_NOTE = (
    "Vectors live on a Qdrant server: back them up with Qdrant's snapshot API "
    "(docs/deploy.md, 'Qdrant snapshots')."
)
ENV_KEY_NOTE = (
    "The audit checkpoint key comes from GUIDECITE_AUDIT__CHECKPOINT_KEY and is not in the "
    "backup: keep it in your secret store; without it the audit chain cannot be verified and "
    "the TOTP seeds it seals cannot be read (users then re-enrol: guidecite users enrol-totp)."
)


class BackupError(GuideCiteError):
    """A backup could not be made, or a backup folder is incomplete or altered."""

    exit_code = 2


@dataclass
class BackupReport:
    """What a backup or restore did."""

    directory: Path
    components: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-ready dict."""
        return {
            "directory": str(self.directory),
            "components": self.components,
            "files": self.files,
            "bytes": self.bytes,
            "notes": self.notes,
        }


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite database file in use, or None when the database is a server."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _store_locked_message(settings: Settings, *, doing: str) -> StoreLocked:
    from assistant.store_edge import describe_lock_holder

    holder = read_lock_holder(settings) or {}
    pid = holder.get("pid") if isinstance(holder.get("pid"), int) else "PID"
    who = describe_lock_holder(holder)
    return StoreLocked(
        f"embedded store at {settings.qdrant_path} held by {who}",
        user_message=(
            f"Cannot {doing}: the embedded vector store ({settings.qdrant_path}) is held by "
            f"{who}. Stop that process (e.g. the web app: "
            f"systemctl stop guidecite, or kill {pid}) and run the command again, or run it "
            "later when the app is stopped."
        ),
    )


@contextlib.contextmanager
def _held_store_lock(settings: Settings, *, doing: str) -> Iterator[None]:
    """Hold the embedded store's lock (same flock protocol as store_edge) without opening it."""
    from assistant.store_edge import open_lock_file, write_lock_holder

    path = settings.data_dir / "qdrant.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_lock_file(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _store_locked_message(settings, doing=doing) from None
        # Name ourselves (PID and program, never arguments), so whoever is refused meanwhile
        # learns who holds the store.
        write_lock_holder(handle)
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _iter_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            yield path


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=False, ignore=shutil.ignore_patterns("*.part"))


def _backup_sqlite(source: Path, target: Path) -> None:
    # The online backup API copies a consistent snapshot page by page while other connections
    # keep writing (https://sqlite.org/backup.html); a file copy could catch a torn WAL.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # One self-contained file: no -wal/-shm needed to read it back.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()


def _prepare_target(target: Path) -> None:
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(
            f"backup target {target} is not an empty folder",
            user_message=f"The backup folder {target} already exists and is not empty; "
            "choose a new folder (backups are never overwritten).",
        )
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The folder holds the audit key and patient-free but confidential guidelines.
    target.chmod(0o700)


def backup_data_dir(settings: Settings, target: Path) -> BackupReport:
    """Copy DATA_DIR's components into the empty folder `target` and write a manifest."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        raise InvalidInput(
            f"{data_dir} does not exist",
            user_message=f"Nothing to back up: GUIDECITE_DATA_DIR ({data_dir}) does not exist.",
        )
    report = BackupReport(directory=target)
    if settings.qdrant_url:
        report.notes.append(QDRANT_SNAPSHOT_NOTE)
    with contextlib.ExitStack() as stack:
        if not settings.qdrant_url:
            stack.enter_context(
                _held_store_lock(settings, doing="back up the embedded vector store")
            )
        _prepare_target(target)
        # Checkpoints before the database: every signed head then names a row the database
        # copy holds (an append landing in between only adds rows past the last checkpoint).
        checkpoints = data_dir / CHECKPOINTS_FILE
        if checkpoints.is_file():
            shutil.copyfile(checkpoints, target / CHECKPOINTS_FILE)
            report.components.append("audit_checkpoints")
        if settings.audit.checkpoint_key.get_secret_value():
            report.notes.append(ENV_KEY_NOTE)
        elif (data_dir / KEY_FILE).is_file():
            shutil.copyfile(data_dir / KEY_FILE, target / KEY_FILE)
            (target / KEY_FILE).chmod(0o600)
            report.components.append("audit_key")
        database = sqlite_path(settings)
        if database is None:
            report.notes.append(PG_DUMP_NOTE)
        elif database.is_file():
            _backup_sqlite(database, target / DATABASE_FILE)
            report.components.append("sqlite")
        if not settings.qdrant_url and (settings.qdrant_path / "edge_config.json").is_file():
            _copy_tree(settings.qdrant_path, target / QDRANT_DIR)
            report.components.append("qdrant_edge")
        if settings.originals_dir.is_dir():
            _copy_tree(settings.originals_dir, target / ORIGINALS_DIR)
            report.components.append("originals")
    _write_manifest(settings, target=target, report=report)
    logger.info("backup of %s written to %s: %s", data_dir, target, report.components)
    return report


def _package_version() -> str:
    try:
        return version("guidecite")
    except PackageNotFoundError:
        return "unknown"


def _write_manifest(settings: Settings, *, target: Path, report: BackupReport) -> None:
    files = []
    for path in _iter_files(target):
        size = path.stat().st_size
        files.append(
            {
                "path": path.relative_to(target).as_posix(),
                "sha256": file_sha256(path),
                "bytes": size,
            }
        )
        report.files += 1
        report.bytes += size
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "guidecite_version": _package_version(),
        "source_data_dir": str(settings.data_dir.resolve()),
        "collection": _read_collection_meta(target / QDRANT_DIR),
        "components": report.components,
        "notes": report.notes,
        "files": files,
    }
    (target / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def _read_collection_meta(shard: Path) -> dict[str, Any]:
    try:
        data = json.loads((shard / "guidecite.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup folder (BackupError if missing or not ours)."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(
            f"{source / MANIFEST} not found",
            user_message=f"{source} is not a GuideCite backup (no {MANIFEST}).",
        ) from exc
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"{source / MANIFEST} unreadable: {exc}",
            user_message=f"The backup manifest {source / MANIFEST} is unreadable: {exc}",
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"{source} has an unknown backup format",
            user_message=f"{source / MANIFEST} is not a {FORMAT} manifest.",
        )
    return manifest


def verify_backup(source: Path) -> dict[str, Any]:
    """Check every file against the manifest; returns the manifest or raises BackupError."""
    manifest = read_manifest(source)
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest.get("files", []):
        rel = str(entry["path"])
        # A manifest naming ../ paths would make restore write outside DATA_DIR.
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise BackupError(f"unsafe path {rel!r} in manifest", user_message=f"Unsafe path {rel}")
        listed[rel] = entry
    present = {path.relative_to(source).as_posix() for path in _iter_files(source)}
    problems = [f"missing: {rel}" for rel in sorted(set(listed) - present)]
    problems += [f"not in manifest: {rel}" for rel in sorted(present - set(listed))]
    for rel in sorted(set(listed) & present):
        if file_sha256(source / rel) != listed[rel]["sha256"]:
            problems.append(f"checksum mismatch: {rel}")
    if problems:
        shown = "; ".join(problems[:5]) + (
            f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        )
        raise BackupError(
            f"backup {source} does not verify: {shown}",
            user_message=f"The backup in {source} is incomplete or altered, so nothing was "
            f"restored: {shown}",
        )
    return manifest


def _has_content(data_dir: Path) -> bool:
    if not data_dir.exists():
        return False
    return any(entry.name not in TRANSIENT for entry in data_dir.iterdir())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def restore_data_dir(settings: Settings, source: Path, *, force: bool = False) -> BackupReport:
    """Restore a verified backup into DATA_DIR; refuses a DATA_DIR with content unless forced."""
    manifest = verify_backup(source)
    components = list(manifest.get("components", []))
    database = sqlite_path(settings)
    if "sqlite" in components and database is None:
        raise InvalidInput(
            "backup holds a SQLite database but GUIDECITE_DATABASE_URL is a server",
            user_message="This backup holds a SQLite database, but GUIDECITE_DATABASE_URL "
            "points at a database server; unset it to restore the embedded deployment.",
        )
    if "qdrant_edge" in components and settings.qdrant_url:
        raise InvalidInput(
            "backup holds a Qdrant Edge shard but GUIDECITE_QDRANT_URL is set",
            user_message="This backup holds the embedded vector store, but GUIDECITE_QDRANT_URL "
            "points at a Qdrant server; unset it to restore the embedded deployment.",
        )
    data_dir = settings.data_dir
    if _has_content(data_dir) and not force:
        raise InvalidInput(
            f"{data_dir} is not empty",
            user_message=f"GUIDECITE_DATA_DIR ({data_dir}) already holds data; restoring would "
            "overwrite it. Use --force to replace it, or point GUIDECITE_DATA_DIR at an empty "
            "folder.",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if not settings.qdrant_url:
            stack.enter_context(_held_store_lock(settings, doing="restore"))
        report = BackupReport(directory=data_dir, notes=list(manifest.get("notes", [])))
        targets = {
            "qdrant_edge": (QDRANT_DIR, settings.qdrant_path),
            "originals": (ORIGINALS_DIR, settings.originals_dir),
            "audit_checkpoints": (CHECKPOINTS_FILE, data_dir / CHECKPOINTS_FILE),
            "audit_key": (KEY_FILE, data_dir / KEY_FILE),
        }
        if database is not None:
            targets["sqlite"] = (DATABASE_FILE, database)
        if force:
            # Replace means replace: no component of the old DATA_DIR may survive next to the
            # restored ones (e.g. old checkpoints against a restored database).
            for _name, destination in targets.values():
                _remove(destination)
            if database is not None:
                _remove_sqlite_sidecars(database)
        for component in components:
            if component not in targets:
                continue
            name, destination = targets[component]
            _replace(source / name, destination, sqlite=component == "sqlite")
            report.components.append(component)
        if "audit_key" in report.components:
            (data_dir / KEY_FILE).chmod(0o600)
        # Copies keep the backup's modes; DATA_DIR stays owner-only whatever they were.
        tighten_tree(data_dir)
        report.files = len(manifest.get("files", []))
        report.bytes = sum(int(entry["bytes"]) for entry in manifest.get("files", []))
    logger.info("restored %s into %s: %s", source, data_dir, report.components)
    return report


def _remove_sqlite_sidecars(database: Path) -> None:
    # A stale WAL from the replaced database would be replayed into the restored one.
    for suffix in ("-wal", "-shm", "-journal"):
        _remove(database.with_name(database.name + suffix))


def _replace(source: Path, destination: Path, *, sqlite: bool) -> None:
    _remove(destination)
    if sqlite:
        _remove_sqlite_sidecars(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        _copy_tree(source, destination)
    else:
        tmp = destination.with_name(destination.name + ".restoring")
        shutil.copyfile(source, tmp)
        os.replace(tmp, destination)
