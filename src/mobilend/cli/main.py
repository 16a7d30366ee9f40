"""The `mobilend` command: one Typer app, each feature's commands in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="mobilend",
    help="mobilend — open-source mobile micro-lending platform.",
    no_args_is_help=True,
    add_completion=False,
)

# Each feature module registers its commands on `app` (or adds a sub-app) when imported.
from mobilend.cli import commands  # noqa: E402,F401

if __name__ == "__main__":
    app()
