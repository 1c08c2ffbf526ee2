"""Shared pieces of the command line: output (:class:`Report`), user-error handling, options,
and the model, audio and feature helpers the commands use."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from spikelearn.errors import DataError, SpikelearnError

if TYPE_CHECKING:
    from rich.progress import Progress

    from spikelearn.model import Model

err_console = Console(stderr=True)

#: Errors that are the user's to fix: printed as one line, exit code 1.
USER_ERRORS = (SpikelearnError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)

#: Clips turned into features (and samples scored) per progress-bar step.
CHUNK = 256

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on standard output.")
QUIET_OPTION = typer.Option(False, "--quiet", "-q",
                            help="No progress bars or notes (standard error); only the result.")
CACHE_OPTION = typer.Option(None, "--cache-dir", help=(
    "Data folder (default: $SPIKELEARN_DATA or the user cache, e.g. ~/.cache/spikelearn)."))


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
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
            raise typer.Exit(code=1) from None

    return wrapper


def click_context() -> Any:
    """The active click context, or None outside a command."""
    try:
        import click
    except ImportError:  # typer >= 0.20 vendors click as typer._click
        from typer._click import globals as click

    return click.get_current_context(silent=True)


class Report:
    """Where a command writes: rich tables (stdout), notes and progress (stderr), or JSON.

    Parameters
    ----------
    json_output : bool
        Print only :meth:`json` documents on stdout (no tables, no notes).
    quiet : bool
        Hide notes and progress bars.
    """

    def __init__(self, json_output: bool, quiet: bool):
        self.json_output = json_output
        self.quiet = quiet
        width = None if sys.stdout.isatty() else 120
        self.console = Console(quiet=json_output, width=width)

    def table(self, table: Table) -> None:
        """Print a result table (not with ``--json``)."""
        self.console.print(table)

    def line(self, message: str) -> None:
        """Print a result line on stdout (not with ``--json``)."""
        self.console.print(message, highlight=False)

    def note(self, message: str) -> None:
        """Print a note on stderr (not with ``--quiet`` or ``--json``)."""
        if not (self.quiet or self.json_output):
            err_console.print(message, highlight=False)

    def json(self, document: Any) -> None:
        """Print ``document`` as JSON on stdout (only with ``--json``)."""
        if self.json_output:
            typer.echo(json.dumps(document, indent=2, default=_json_default))

    @property
    def show_progress(self) -> bool:
        """Whether progress bars show (not with ``--quiet`` or ``--json``: the library bars
        print on stdout)."""
        return not (self.quiet or self.json_output)

    def status(self, message: str) -> contextlib.AbstractContextManager:
        """A spinner with ``message`` on stderr while the block runs (as :meth:`progress`)."""
        if self.show_progress and err_console.is_terminal:
            return err_console.status(message)
        return contextlib.nullcontext()

    def progress(self) -> Progress:
        """A rich progress display on stderr (see :attr:`show_progress`; terminals only)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err_console,
                        disable=not (self.show_progress and err_console.is_terminal),
                        transient=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def load_model(path: str) -> Model:
    """Load a ``.slm`` model file (a missing path or a folder is a clear user error)."""
    from spikelearn.model import Model

    if not Path(path).is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return Model(path)


def read_clip(path: str | Path) -> np.ndarray:
    """Read one 16 kHz mono 16-bit WAV file as a 1 s clip.

    Shorter recordings are zero-padded at the end, longer ones trimmed to 1 s.

    Returns
    -------
    numpy.ndarray, float32, shape (16000,)

    Raises
    ------
    DataError
        Missing file, not a 16-bit PCM WAV file, not mono, or not 16 kHz.
    """
    from spikelearn.datasets import SAMPLE_RATE, fit_length, load_wav

    try:
        with open(path, "rb") as file:
            riff = file.read(12)
    except OSError as error:
        raise DataError(f"cannot read audio file {path}: {error.strerror}") from None
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise DataError(f"{path} is not a WAV file (no RIFF/WAVE header)")
    audio, rate = load_wav(path)
    if audio.ndim != 1:
        raise DataError(f"{path}: {audio.shape[1]} channels; clips must be mono (mix down to "
                        "one channel first)")
    if rate != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {rate} Hz; clips must be {SAMPLE_RATE} Hz "
                        "(resample first)")
    return fit_length(audio)


def featurize(count: int, clips: Callable[[int, int], np.ndarray], report: Report,
              description: str) -> np.ndarray:
    """MFCC features of ``count`` clips, ``clips(start, stop)`` giving float32 (k, 16000).

    Returns
    -------
    numpy.ndarray, uint8, shape (count, 49, 10, 1)
    """
    from spikelearn.datasets import FEATURE_SHAPE, extract_features

    out = np.empty((count, *FEATURE_SHAPE), np.uint8)
    with report.progress() as progress:
        task = progress.add_task(description, total=count)
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            out[start:stop] = extract_features(clips(start, stop))
            progress.advance(task, stop - start)
    return out


def featurize_files(paths: Sequence[Path], report: Report) -> np.ndarray:
    """MFCC features of WAV files (see :func:`read_clip`), uint8 (n, 49, 10, 1)."""
    return featurize(len(paths), lambda a, b: np.stack([read_clip(p) for p in paths[a:b]]),
                     report, "reading audio, MFCC")


def _flatten(document: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in document.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            rows.append((prefix + key, ", ".join(map(str, value))))
        else:
            rows.append((prefix + key, str(value)))
    return rows


def key_value_table(title: str, document: dict) -> Table:
    """A two-column (key, value) table of ``document``; nested keys are dotted."""
    table = Table(title=title)
    table.add_column("key", no_wrap=True)
    table.add_column("value")
    for key, value in _flatten(document):
        table.add_row(key, value)
    return table
