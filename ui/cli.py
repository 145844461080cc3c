"""The `guidecite` command (Typer). Heavy imports stay inside commands so `--help` is instant."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from assistant.config import Settings
from assistant.errors import GuideCiteError

if TYPE_CHECKING:
    from assistant.store import VectorStore

logger = logging.getLogger("guidecite.cli")

app = typer.Typer(
    name="guidecite",
    help="GuideCite: clinical-guideline answers in which every sentence cites its source.",
    no_args_is_help=True,
    add_completion=False,
)
docs_app = typer.Typer(help="List, inspect and delete ingested documents.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Performance benchmarks (reported, not asserted).", no_args_is_help=True
)
audit_app = typer.Typer(help="Verify, export and purge the audit trail.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
app.add_typer(audit_app, name="audit")
app.add_typer(bench_app, name="bench")

P = ParamSpec("P")
R = TypeVar("R")


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


@contextmanager
def opened_store(settings: Settings) -> Iterator[VectorStore]:
    """Open the configured vector store for one command and close it afterwards."""
    from assistant.store import open_store

    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    """GuideCite command line."""
    from ui.cli_db import guard_schema

    guard_schema(ctx)  # issue 13: only `db upgrade`, init, serve and demo change the schema
    # Models are never downloaded at run time; keep library progress bars off the terminal.
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
    ):
        os.environ.setdefault(key, value)
    configure_logging(verbose=verbose)


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


# Register the command modules (they import `app` objects from here).
from ui import cli_admin as _cli_admin  # noqa: E402,F401
from ui import cli_ask as _cli_ask  # noqa: E402,F401
from ui import cli_db as _cli_db  # noqa: E402,F401
from ui import cli_eval as _cli_eval  # noqa: E402,F401
from ui import cli_ingest as _cli_ingest  # noqa: E402,F401
from ui import cli_ops as _cli_ops  # noqa: E402,F401
from ui import cli_reindex as _cli_reindex  # noqa: E402,F401
from ui import cli_risk as _cli_risk  # noqa: E402,F401
from ui import cli_serve as _cli_serve  # noqa: E402,F401
