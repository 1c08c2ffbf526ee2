"""The ``zoo`` commands: list, inspect and retrain pretrained models."""

from __future__ import annotations

import importlib.util
import time
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from spikelearn.cli._common import (
    CACHE_OPTION,
    JSON_OPTION,
    QUIET_OPTION,
    Report,
    key_value_table,
    user_errors,
)
from spikelearn.errors import MissingDependencyError
from spikelearn.zoo.training import QAT_WEIGHT_CLIPS, RecipeConfig

#: The recipe defaults, shown in the help of ``zoo train``.
DEFAULTS = RecipeConfig()

#: The choices of ``--weight-clip``.
WeightClip = StrEnum("WeightClip", {clip: clip for clip in QAT_WEIGHT_CLIPS})

zoo_app = typer.Typer(help="The model zoo: list, inspect and retrain pretrained models.",
                      no_args_is_help=True)


@zoo_app.command("list")
@user_errors
def zoo_list_command(json_output: bool = JSON_OPTION) -> None:
    """List the zoo models and where their pretrained files come from.

    The "installed" column says "shipped" (inside the package), "downloaded" (in the data
    folder), "download on first use" (hosted, see spikelearn.zoo.register) or "missing".
    No request is made.

    Example: ``spikelearn zoo list``
    """
    from spikelearn import zoo

    rows = []
    for name in zoo.list_models():
        status = zoo.status(name)
        rows.append({"name": name, "description": zoo.MODELS[name],
                     "installed": status in ("shipped", "downloaded"), "status": status})
    report = Report(json_output, quiet=False)
    report.json(rows)
    table = Table(title="spikelearn model zoo")
    for column in ("name", "installed", "description"):
        table.add_column(column, no_wrap=column in ("name", "installed"))
    for row in rows:
        table.add_row(row["name"], row["status"], row["description"])
    report.table(table)


@zoo_app.command("info")
@user_errors
def zoo_info_command(
    name: str = typer.Argument(..., help="Zoo model name (see 'spikelearn zoo list')."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Print how a zoo model was made: recipe settings, words and measured figures.

    Example: ``spikelearn zoo info ds_cnn_kws``
    """
    from spikelearn import zoo

    document = zoo.info(name)
    report = Report(json_output, quiet=False)
    report.json(document)
    report.table(key_value_table(f"{name}: {zoo.MODELS[name]}", document))


def _positive(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be > 0, got {value:g}")
    return value


def _momentum(value: float | None) -> float | None:
    if value is not None and not 0 <= value < 1:
        raise typer.BadParameter(f"must be in [0, 1), got {value:g}")
    return value


@zoo_app.command("train")
@user_errors
def zoo_train_command(
    name: str = typer.Argument(..., help="Zoo model name (see 'spikelearn zoo list')."),
    output: str = typer.Option(None, "-o", "--output",
                               help="Folder for the model files (default: ./NAME)."),
    speakers: int = typer.Option(None, "--speakers", min=3,
                                 help=f"Synthetic speakers (default {DEFAULTS.num_speakers})."),
    repetitions: int = typer.Option(
        None, min=1, help=f"Clips per speaker and word (default {DEFAULTS.repetitions})."),
    float_epochs: int = typer.Option(
        None, min=1, help=f"Float training epochs (default {DEFAULTS.float_epochs})."),
    qat_epochs: int = typer.Option(
        None, min=1, help=f"Quantization-aware epochs (default {DEFAULTS.qat_epochs})."),
    qat_learning_rate: float = typer.Option(
        None, callback=_positive,
        help=f"Peak learning rate of quantization-aware training "
             f"(default {DEFAULTS.qat_learning_rate:g})."),
    distillation_weight: float = typer.Option(
        None, min=0.0, max=1.0,
        help="Weight of the float model's softened outputs in the QAT loss (knowledge "
             f"distillation; default {DEFAULTS.distillation_weight:g}: labels only)."),
    frozen_bn_epochs: int = typer.Option(
        None, min=0, help="Last QAT epochs with the batch normalization frozen "
                          f"(default {DEFAULTS.qat_frozen_bn_epochs})."),
    weight_average: float = typer.Option(
        None, callback=_momentum,
        help="Momentum of a moving average of the weights during QAT, kept at the end "
             f"(default {DEFAULTS.qat_weight_average:g}; 0: the last weights)."),
    bn_reestimation: bool = typer.Option(
        None, "--bn-reestimation/--no-bn-reestimation",
        help="Re-estimate the batch normalization statistics after QAT with the final "
             f"weights (default {'on' if DEFAULTS.qat_bn_reestimation else 'off'})."),
    qat_runs: int = typer.Option(
        None, min=1, help="Quantization-aware runs from the float model (seeds seed+1, "
                          "seed+2, ...) whose weights are averaged "
                          f"(default {DEFAULTS.qat_runs})."),
    equalize: bool = typer.Option(
        None, "--equalize/--no-equalize",
        help="Equalize the separable convolutions' depthwise channels against their "
             "pointwise rows before quantizing (default "
             f"{'on' if DEFAULTS.qat_equalization else 'off'})."),
    weight_clip: WeightClip = typer.Option(
        None,
        help="How the weight quantizers choose their scales: 'max' clips no weight, "
             f"'mse' the least squared error (default {DEFAULTS.qat_weight_clip})."),
    seed: int = typer.Option(
        None, help=f"Seed of the corpus and the training (default {DEFAULTS.seed})."),
    augmented_copies: int = typer.Option(
        None, min=0, help="Augmented copies of every training clip "
                          f"(default {DEFAULTS.augmented_copies})."),
    recording_copies: int = typer.Option(
        None, min=0, help="Copies of every training clip as a long recording holds it "
                          f"(default {DEFAULTS.recording_copies})."),
    filters: int = typer.Option(
        None, min=1, help=f"Channels of every convolution (default {DEFAULTS.filters})."),
    stage: str = typer.Option(
        "all", help="Run one stage: 'features' (corpus and MFCCs, writes NAME_features.npz; "
                    "needs espeak-ng), 'keras' (float training and QAT from that file; any "
                    "Keras backend, no corpus), 'engine' (convert, learning layer, demo set; "
                    "from NAME.h5), or 'all'."),
    features: str = typer.Option(
        None, help="Features file of the 'features' and 'keras' stages "
                   "(default: OUTPUT/NAME_features.npz)."),
    cache_dir: str = CACHE_OPTION,
    workers: int = typer.Option(
        None, min=1, help="Worker processes of the corpus and of the augmented copies "
                          "(default: all CPUs; the copies take about 6 GB each and run in "
                          "no more than the free memory holds)."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Retrain a zoo model with its recipe (needs Keras and espeak-ng).

    Writes NAME.h5 (quantized Keras), NAME.slm (engine), NAME.json (figures) and
    NAME_demo.npz into the output folder. The stages can also run one by one, on different
    machines ('--stage keras' needs no corpus and runs on any Keras backend); the shipped
    files were made stage by stage on 2 CPU cores (see the README).

    Example: ``spikelearn zoo train ds_cnn_kws -o my_zoo --speakers 60 --float-epochs 8``
    """
    from spikelearn import zoo

    if name not in zoo.MODELS:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(zoo.list_models())}")
    if stage != "features" and importlib.util.find_spec("keras") is None:
        raise MissingDependencyError(f"'zoo train --stage {stage}' needs Keras; install it "
                                     "with pip install 'spikelearn[keras]'")
    from spikelearn.zoo.training import train

    settings = {"num_speakers": speakers, "repetitions": repetitions,
                "float_epochs": float_epochs, "qat_epochs": qat_epochs,
                "qat_learning_rate": qat_learning_rate, "seed": seed,
                "distillation_weight": distillation_weight,
                "qat_frozen_bn_epochs": frozen_bn_epochs,
                "qat_weight_average": weight_average,
                "qat_bn_reestimation": bn_reestimation, "qat_runs": qat_runs,
                "qat_equalization": equalize, "qat_weight_clip": weight_clip and weight_clip.value,
                "augmented_copies": augmented_copies, "recording_copies": recording_copies,
                "filters": filters}
    given = {key: value for key, value in settings.items() if value is not None}
    # The engine stage reads the recorded recipe unless settings are given.
    config = None if stage == "engine" and not given else RecipeConfig(**given)
    report = Report(json_output, quiet)
    out_dir = Path(output or name)
    started = time.perf_counter()
    figures = train(out_dir, config, cache_dir=cache_dir, workers=workers,
                    progress=report.show_progress, stage=stage, features=features)
    report.json({"output": str(out_dir), "figures": figures})
    shown = {"accuracy": figures["accuracy"]} if "accuracy" in figures else figures
    report.table(key_value_table(f"{name} {stage} stage done in "
                                  f"{time.perf_counter() - started:.0f} s -> {out_dir}", shown))
