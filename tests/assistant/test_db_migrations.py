"""Migrations applied by several threads at once (issue 9 load: the first questions of several
sessions open the review queue lazily, together)."""

from __future__ import annotations

import threading
from pathlib import Path

from assistant.config import Settings
from assistant.review import ReviewQueue


def test_threads_opening_a_fresh_database_together_all_succeed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_queue() -> None:
        barrier.wait()
        try:
            ReviewQueue.open(settings)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_queue) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
