"""DATA_DIR is owner-only: created so under a permissive umask, tightened when found loose."""

from __future__ import annotations

import logging
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.access import AccessControl
from assistant.accounts import Accounts
from assistant.audit.log import open_audit_log
from assistant.config import Settings, get_settings
from assistant.domain import Role
from assistant.embedding import SparseVec
from assistant.service.backup import backup_data_dir, restore_data_dir
from assistant.store import StorePoint
from assistant.store_edge import EdgeStore

DIM = 4


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The umask a careless shell or service unit leaves (022), restored afterwards."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def loose_entries(root: Path) -> list[str]:
    """Every entry under `root` (root included) that group or others may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {stat.filemode(mode)}")
    return found


def populate(settings: Settings) -> None:
    """Every kind of file GuideCite writes in DATA_DIR, through the real components."""
    access = AccessControl.open(settings)
    access.seed_defaults()
    accounts = Accounts.open(settings, access=access)
    accounts.add_user("ops", role=Role.SYSADMIN, department="*", password="p" * 16)
    accounts.enrol_totp("ops")
    open_audit_log(settings).append_event(
        actor="cli:test",
        role="operator",
        department="*",
        session_id=uuid.uuid4().hex,
        action="init",
        object="system",
        outcome="ok",
    )
    with EdgeStore(settings=settings) as store:  # Qdrant Edge's own files, and the lock
        store.ensure_collection(dense_dim=DIM, model_id=f"test:{DIM}")
        store.upsert(
            [
                StorePoint(
                    id=str(uuid.uuid4()),
                    dense=[1.0, 0.0, 0.0, 0.0],
                    sparse=SparseVec((1,), (1.0,)),
                    payload={"library": "hospital", "doc_id": "d", "status": "current"},
                )
            ]
        )
    originals = settings.originals_dir / "d"
    originals.mkdir(parents=True)
    (originals / "guideline.txt").write_text("Hand hygiene.", encoding="utf-8")


def test_everything_in_a_new_data_dir_is_owner_only_under_a_permissive_umask(
    permissive_umask: None, _data_dir: Path
) -> None:
    assert not _data_dir.exists()
    settings = get_settings()  # every entry point starts here
    populate(settings)
    assert {p.name for p in _data_dir.iterdir()} >= {
        "guidecite.db",
        "audit-checkpoint.key",
        "qdrant",
        "qdrant.lock",
        "originals",
    }
    assert len(list(settings.qdrant_path.rglob("*"))) > 3  # Qdrant Edge wrote its own files
    assert loose_entries(_data_dir) == []
    assert stat.S_IMODE(_data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((_data_dir / "guidecite.db").stat().st_mode) == 0o600


def test_an_existing_loose_data_dir_is_tightened_at_start_and_said_so(
    _data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nested = _data_dir / "originals" / "doc"
    nested.mkdir(parents=True)
    files = [_data_dir / "guidecite.db", nested / "a.txt", _data_dir / "audit-checkpoint.key"]
    for path in files:
        path.write_bytes(os.urandom(16))
        path.chmod(0o644)
    (_data_dir / "link").symlink_to("/etc/hostname")
    for folder in (_data_dir, _data_dir / "originals", nested):
        folder.chmod(0o755)
    assert len(loose_entries(_data_dir)) == 6
    caplog.set_level(logging.WARNING, logger="assistant.data_dir")
    get_settings()
    assert loose_entries(_data_dir) == []
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
    assert stat.S_IMODE(Path("/etc/hostname").stat().st_mode) & 0o004  # links not followed
    [warning] = [r for r in caplog.records if r.name == "assistant.data_dir"]
    assert "6 file(s) and folder(s) made owner-only" in warning.getMessage()
    assert str(_data_dir) in warning.getMessage()


def test_restore_leaves_data_dir_owner_only_whatever_the_backups_modes(
    permissive_umask: None, _data_dir: Path, tmp_path: Path
) -> None:
    settings = get_settings()
    populate(settings)
    backup = tmp_path / "backup"
    backup_data_dir(settings, backup)
    for path in backup.rglob("*"):  # e.g. copied around by a tool that ignores modes
        path.chmod(0o755 if path.is_dir() else 0o644)
    target = Settings(data_dir=tmp_path / "restored")
    restore_data_dir(target, backup)
    assert loose_entries(target.data_dir) == []
