"""The `guidecite` command (Typer): the root app, its callback, and the registration of every
command module. Each module holds one command group and offers `register(app)`; none imports
`app`, so imports point one way. Heavy imports stay inside commands so `--help` is instant."""

from __future__ import annotations

import os
from typing import Protocol

import typer

from ui.cli import (
    ask,
    audit,
    backup,
    bench,
    conversations,
    db,
    gates,
    ingest,
    libraries,
    metrics,
    models,
    reindex,
    report,
    review,
    roles,
    setup,
    users,
)
from ui.cli import eval as eval_commands
from ui.cli.common import configure_logging

app = typer.Typer(
    name="guidecite",
    help="GuideCite: clinical-guideline answers in which every sentence cites its source.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    """GuideCite command line."""
    db.guard_schema(ctx)  # issue 13: only `db upgrade`, init, serve and demo change the schema
    # Models are never downloaded at run time; keep library progress bars off the terminal.
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TRANSFORMERS_VERBOSITY", "error"),
    ):
        os.environ.setdefault(key, value)
    configure_logging(verbose=verbose)


class CommandGroup(Protocol):
    """A module of this package: `register` adds its commands or its sub-Typer to the app."""

    def register(self, app: typer.Typer) -> None: ...


# Registered in the order of DESIGN.md §6, which is the order `guidecite --help` lists them.
COMMAND_MODULES: tuple[CommandGroup, ...] = (
    setup,
    ingest,
    ask,
    users,
    roles,
    audit,
    conversations,
    libraries,
    review,
    gates,
    report,
    backup,
    eval_commands,
    bench,
    db,
    reindex,
    metrics,
    models,
)
for module in COMMAND_MODULES:
    module.register(app)
