"""The ``spikelearn`` command line (typer + rich).

Exit codes: 0 success, 1 user error (a message, no traceback unless ``--debug``),
2 usage error (bad option or argument).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

import spikelearn
from spikelearn.errors import SpikelearnError

app = typer.Typer(
    name="spikelearn",
    help="Convert quantized Keras models to a spiking integer engine that learns on the device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

err_console = Console(stderr=True)

#: Errors that are the user's to fix: printed as one line, exit code 1.
USER_ERRORS = (SpikelearnError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spikelearn {spikelearn.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
) -> None:
    """spikelearn: open neuromorphic edge learning.

    Example: ``spikelearn --version``
    """
    ctx.obj = {"debug": debug}


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so that user errors print a message and exit with code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            ctx = click_context()
            if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {error}", highlight=False)
            raise typer.Exit(code=1) from None

    return wrapper


def click_context() -> Any:
    """The active click context, or None outside a command."""
    import click

    return click.get_current_context(silent=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
