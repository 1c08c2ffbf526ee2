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
    try:
        import click
    except ImportError:  # typer >= 0.20 vendors click as typer._click
        from typer._click import globals as click

    return click.get_current_context(silent=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


@app.command("convert")
@user_errors
def convert_command(
    model: str = typer.Argument(..., help="Quantized Keras model file (.h5 or .keras)."),
    output: str = typer.Option(
        None, "-o", "--output", help="Output model file (default: the input with .slm)."
    ),
) -> None:
    """Convert a quantized Keras model to a spikelearn model file and print its summary.

    Example: ``spikelearn convert kws.h5 -o kws.slm``
    """
    from pathlib import Path

    from spikelearn.converter import convert
    from spikelearn.summary import summary

    source = Path(model)
    if not source.is_file():
        raise FileNotFoundError(f"no such Keras model file: {model}")
    engine_model = convert(source)
    summary(engine_model)
    destination = Path(output) if output else source.with_suffix(".slm")
    engine_model.save(destination)
    typer.echo(f"wrote {destination}")


@app.command("summary")
@user_errors
def summary_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
) -> None:
    """Print the layer table of a spikelearn model file.

    Example: ``spikelearn summary kws.slm``
    """
    from spikelearn.model import Model
    from spikelearn.summary import summary

    summary(Model(model))


@app.command("demo")
@user_errors
def demo_command(
    shots: int = typer.Option(4, min=1, help="Utterances of each new word to learn from."),
    augmentations: int = typer.Option(40, min=0, help="Augmented variants per utterance."),
    speaker: int = typer.Option(None, help="Learner speaker id (default: the first)."),
    seed: int = typer.Option(0, help="Seed of the augmentation."),
    plot: str = typer.Option(None, help="Save the new-word confusion matrix to this image."),
    json_output: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result table."),
) -> None:
    """Learn three new keywords on the pretrained zoo model and report accuracy.

    The shipped ds_cnn_kws engine scores its 33 preset classes on held-out speakers, then
    learns 'backward', 'follow' and 'forward' from a few utterances of one speaker and is
    scored again on old and new words. Offline: no download, no TensorFlow.

    Example: ``spikelearn demo --shots 4 --plot confusion.png``
    """
    import json

    from rich.table import Table

    from spikelearn import zoo
    from spikelearn.demo import plot_confusion, run_demo

    console = Console(quiet=json_output)
    if not quiet:
        model = zoo.load("ds_cnn_kws")
        console.print(f"[bold]ds_cnn_kws[/]: {zoo.MODELS['ds_cnn_kws']}")
        if not json_output:
            model.summary()
    with console.status("learning the new words on the device..."):
        figures = run_demo(shots=shots, augmentations=augmentations, speaker=speaker, seed=seed)
    if plot:
        plot_confusion(figures, plot)
    if json_output:
        typer.echo(json.dumps(figures, indent=2))
        return
    table = Table(title=f"Edge learning of {', '.join(figures['new_words'])} "
                        f"({shots} utterances x {augmentations} augmentations, "
                        f"speaker {figures['speaker']})")
    table.add_column("what")
    table.add_column("accuracy", justify="right")
    table.add_column("samples", justify="right")
    table.add_row("old classes, before", f"{100 * figures['old_accuracy_before']:.2f} %",
                  str(figures["old_test_samples"]))
    table.add_row("old classes, after", f"{100 * figures['old_accuracy_after']:.2f} %",
                  str(figures["old_test_samples"]))
    table.add_row("new words, same speaker", f"{100 * figures['new_accuracy_same_speaker']:.2f} %",
                  str(figures["new_test_same_speaker"]))
    table.add_row("new words, other speakers",
                  f"{100 * figures['new_accuracy_other_speakers']:.2f} %",
                  str(figures["new_test_other_speakers"]))
    console.print(table)
    console.print(f"learned {figures['num_samples']} samples in "
                  f"{1000 * figures['learn_seconds']:.1f} ms "
                  f"(+ {1000 * figures['featurize_seconds']:.0f} ms augmentation and MFCC)")
    if plot:
        console.print(f"wrote {plot}")
