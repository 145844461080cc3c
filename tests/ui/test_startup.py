"""The web app's process-wide context is opened once, in the background, from server start
(issue 16 item 6); a failed start is tried again on the next request."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings, get_settings
from ui.state import _Startup


def test_one_context_per_configuration_opened_once_in_the_background() -> None:
    startup = _Startup()
    first = startup.begin(get_settings())
    assert startup.begin(get_settings()) is first
    context = first.result(timeout=120)
    try:
        assert context.settings.data_dir == get_settings().data_dir
    finally:
        context.close()


def test_a_failed_start_is_reported_to_the_waiter_and_tried_again(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the data directory should be", encoding="utf-8")
    settings = Settings(data_dir=blocked)
    startup = _Startup()
    failed = startup.begin(settings)
    with pytest.raises(Exception):  # noqa: B017 (whatever the store raises, the waiter gets it)
        failed.result(timeout=120)
    assert startup.begin(settings) is not failed
