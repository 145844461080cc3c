"""DATA_DIR on disk: owner-only, whoever created it and under whatever umask (issue #11 item 4).

DATA_DIR holds the SQLite database (password hashes, sealed TOTP seeds, the audit trail), the
audit checkpoint key, the Qdrant Edge shard and the original guideline files. Nothing in it is
for other accounts of the machine, so the process umask is set to 077 before anything is
created — that covers files written by Qdrant Edge, SQLite (its -wal and -shm files) and the
libraries we do not control — and an existing DATA_DIR with group or other bits is tightened
once per process, with a warning saying so.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

logger = logging.getLogger(__name__)

OWNER_ONLY_UMASK = 0o077
_LOOSE = 0o077
_done: set[Path] = set()
_lock = threading.Lock()


def secure_data_dir(data_dir: Path) -> int:
    """Set the owner-only umask and tighten `data_dir` (once per process); returns how many
    entries had group/other permissions removed."""
    os.umask(OWNER_ONLY_UMASK)
    key = data_dir.absolute()
    with _lock:
        if key in _done:
            return 0
        _done.add(key)
    tightened = tighten_tree(data_dir)
    if tightened:
        logger.warning(
            "GUIDECITE_DATA_DIR %s was readable by other accounts: %d file(s) and folder(s) "
            "made owner-only (0700/0600)",
            data_dir,
            tightened,
        )
    return tightened


def tighten_tree(root: Path) -> int:
    """Remove group and other permissions from `root` and everything under it (symlinks are
    neither followed nor changed); returns how many entries changed."""
    if not root.is_dir() or root.is_symlink():
        return 0
    changed = int(_tighten(root))
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            changed += _tighten(Path(folder) / name)
    return changed


def _tighten(path: Path) -> bool:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & _LOOSE:
            return False
        path.chmod(stat.S_IMODE(mode) & ~_LOOSE)
    except OSError as exc:  # not ours, or gone meanwhile: say so, do not stop the start
        logger.warning("cannot make %s owner-only: %s", path, exc)
        return False
    return True
