"""The ``spikelearn`` command line (typer + rich).

Results print as rich tables on standard output; ``--json`` prints them as JSON instead;
progress bars and notes go to standard error and ``--quiet`` hides them.

Exit codes: 0 success, 1 user error (a message, no traceback unless ``--debug``),
2 usage error (bad option or argument).

The root app, its options and the command table live here; the commands live in one module per
concept (:mod:`~spikelearn.cli.models`, :mod:`~spikelearn.cli.demo`,
:mod:`~spikelearn.cli.deploy`, :mod:`~spikelearn.cli.listen`, and the ``data`` and ``zoo``
sub-apps in :mod:`~spikelearn.cli.data` and :mod:`~spikelearn.cli.zoo`), the shared helpers in
:mod:`~spikelearn.cli._common`. Heavy modules (TensorFlow, the engine) are imported inside the
commands, so ``import spikelearn.cli`` and ``spikelearn --version`` stay fast.
"""

from __future__ import annotations

import sys

import typer

import spikelearn
from spikelearn.cli._common import (
    CACHE_OPTION,
    CHUNK,
    JSON_OPTION,
    QUIET_OPTION,
    USER_ERRORS,
    Report,
    click_context,
    err_console,
    featurize,
    featurize_files,
    load_model,
    read_clip,
    user_errors,
)
from spikelearn.cli.data import Mode, Split, data_app, speech_commands_command, synth_command
from spikelearn.cli.demo import demo_command
from spikelearn.cli.deploy import cost_command, export_command
from spikelearn.cli.listen import listen_command
from spikelearn.cli.models import (
    class_scores,
    convert_command,
    evaluate_command,
    learn_command,
    predict_command,
    summary_command,
)
from spikelearn.cli.zoo import zoo_app, zoo_info_command, zoo_list_command, zoo_train_command

__all__ = [
    "CACHE_OPTION", "CHUNK", "JSON_OPTION", "QUIET_OPTION", "USER_ERRORS", "Mode", "Report",
    "Split", "app", "class_scores", "click_context", "convert_command", "cost_command",
    "data_app", "demo_command", "err_console", "evaluate_command", "export_command", "featurize",
    "featurize_files", "learn_command", "listen_command", "load_model", "main",
    "predict_command", "read_clip", "speech_commands_command", "summary_command",
    "synth_command", "user_errors", "zoo_app", "zoo_info_command", "zoo_list_command",
    "zoo_train_command",
]

app = typer.Typer(
    name="spikelearn",
    help="Convert quantized Keras models to a spiking integer engine that learns on the device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data_app, name="data")
app.add_typer(zoo_app, name="zoo")

# The top-level commands, in ``--help`` order.
app.command("convert")(convert_command)
app.command("summary")(summary_command)
app.command("evaluate")(evaluate_command)
app.command("predict")(predict_command)
app.command("learn")(learn_command)
app.command("demo")(demo_command)
app.command("cost")(cost_command)
app.command("export")(export_command)
app.command("listen")(listen_command)


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


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
