"""What every `guidecite` command shares (DESIGN.md §6): the operator's name, one JSON document
on stdout, errors on stderr with their exit code, logging on stderr, the store and context a
command opens, and the dates and help texts of its options."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from assistant.config import get_settings
from assistant.errors import GuideCiteError, InvalidInput

if TYPE_CHECKING:
    from assistant.service.context import Context

logger = logging.getLogger("guidecite.cli")

P = ParamSpec("P")
R = TypeVar("R")

DEPT_HELP = "Department (`*` = hospital-wide)."
BY_HELP = "The account whose permissions apply (audited with the OS operator)."


def operator_name() -> str:
    """Who runs an operator command on this machine (audited as cli:<os-user>)."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry in some containers
        return "cli:unknown"


def emit_json(data: Any) -> None:
    """Print one JSON document on stdout (DESIGN.md §6)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def fail(message: str, *, code: int) -> typer.Exit:
    """Write a message to stderr and return the Exit to raise."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn GuideCiteError into its user message on stderr and the exit code of DESIGN.md §6."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except GuideCiteError as exc:
            raise fail(f"error: {exc.user_message}", code=exc.exit_code) from exc
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            raise fail("interrupted", code=130) from None
        except Exception as exc:
            logger.exception("internal error")
            raise fail(f"internal error: {type(exc).__name__}: {exc}", code=1) from exc

    return wrapper


# Libraries whose start-up and progress chatter ("Building prefix dict…", HTTP request lines,
# pypdf's recoverable-error notes) stays off stderr unless asked for (issue #16 item 5).
QUIET_LIBRARIES = ("jieba", "transformers", "sentence_transformers", "httpx", "httpcore", "pypdf")


def configure_logging(*, verbose: bool) -> None:
    """Our loggers at INFO with --verbose, else WARNING; libraries at WARNING unless
    GUIDECITE_LOG_LEVEL names a level (it then applies to everything)."""
    explicit = os.environ.get("GUIDECITE_LOG_LEVEL", "").strip().upper()
    if explicit and explicit not in logging.getLevelNamesMapping():
        raise fail(
            f"error: GUIDECITE_LOG_LEVEL={explicit} is not a level "
            "(DEBUG, INFO, WARNING, ERROR, CRITICAL).",
            code=2,
        )
    level = explicit or ("INFO" if verbose else "WARNING")
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger().setLevel(level)
    for name in QUIET_LIBRARIES:
        library_logger = logging.getLogger(name)
        library_logger.setLevel(level if explicit else logging.WARNING)
        # jieba sets its logger to DEBUG with its own stderr handler when it is imported, after
        # this runs: a filter on the logger outlasts that.
        for old in [f for f in library_logger.filters if isinstance(f, MinimumLevel)]:
            library_logger.removeFilter(old)
        library_logger.addFilter(
            MinimumLevel(logging.getLevelName(level) if explicit else logging.WARNING)
        )


class MinimumLevel(logging.Filter):
    """Drop records below a level, whatever level the library later sets on its logger."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level


def open_context() -> Context:
    """The command's one Context on the configured settings (store and model opened lazily)."""
    from assistant.service.context import open_context

    return open_context(get_settings())


@contextmanager
def opened_context() -> Iterator[Context]:
    """`open_context()` for one command, closed afterwards (the embedded store is released)."""
    ctx = open_context()
    try:
        yield ctx
    finally:
        ctx.close()


def parse_when(value: str, *, option: str) -> datetime:
    """A date (YYYY-MM-DD) or ISO datetime; naive values are UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"bad {option} value {value!r}",
            user_message=f"{option} takes a date such as 2025-01-31 or 2025-01-31T08:00:00Z.",
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def parse_day(value: str, *, option: str) -> date:
    """A calendar date YYYY-MM-DD."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"bad {option} {value!r}", user_message=f"{option} takes a date such as 2026-12-31."
        ) from exc
