"""Where the QAT loss comes from: one float DS-CNN, quantization-aware training at several
bit widths and learning rates.

Runs the zoo recipe's features and float training once at a chosen (small) scale, then
:func:`spikelearn.zoo.training.train_quantized` from that same float model for each setting
and scores every model on the recipe's validation speakers. A setting is four bit widths
(input-layer weights, other weights, activations, spikes out of the feature extractor) and
optionally ``@`` a QAT learning rate (default: the recipe's ``qat_learning_rate``). The
recipe's bits are 8,4,4,1; raising one width at a time shows what each costs.

Needs espeak-ng and Keras. Prints a rich table and writes
``benchmarks/results/qat_ablation.json``::

    python benchmarks/qat_ablation.py [--speakers 250] [--augmented-copies 1]
                                  [--float-epochs 20] [--qat-epochs 10]
                                  [--setting 8,4,4,1 --setting 8,4,4,1@3.2e-3 ...]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

RESULTS = Path(__file__).with_name("results")
#: Settings compared by default: the recipe's bits at the earlier recipe's QAT learning rate
#: (8e-4), one width raised at a time, and the recipe's bits at two higher learning rates.
DEFAULT_SETTINGS = ("8,4,4,1@8e-4", "8,4,4,4@8e-4", "8,8,4,1@8e-4", "8,4,4,1@3.2e-3",
                    "8,4,4,1@6.4e-3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=250)
    parser.add_argument("--augmented-copies", type=int, default=1)
    parser.add_argument("--float-epochs", type=int, default=20)
    parser.add_argument("--qat-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--setting", action="append", default=None, metavar="I,W,A,S[@LR]",
                        help="bits of input weights, weights, activations, spikes, and "
                             "optionally a QAT learning rate (repeatable)")
    args = parser.parse_args()
    settings = [_parse_setting(text) for text in (args.setting or DEFAULT_SETTINGS)]

    from spikelearn.zoo.training import (
        RecipeConfig,
        keras_accuracy,
        recipe_features,
        seed_everything,
        train_float,
        train_quantized,
    )

    console = Console()
    config = replace(RecipeConfig(), num_speakers=args.speakers, seed=args.seed,
                     augmented_copies=args.augmented_copies, float_epochs=args.float_epochs,
                     qat_epochs=args.qat_epochs)
    started = time.perf_counter()
    arrays = recipe_features(config)
    features_s = time.perf_counter() - started
    validation = arrays["x_val"], arrays["y_val"]
    rows = []
    with Progress(console=console) as bar:
        seed_everything(config.seed)
        float_model, _ = train_float(config, arrays, bar)
        float_accuracy = keras_accuracy(float_model, *validation)
        for bits, learning_rate in settings:
            seed_everything(config.seed + 1)  # every setting starts from the same state
            t0 = time.perf_counter()
            qat_config = replace(config, qat_learning_rate=learning_rate or
                                 config.qat_learning_rate)
            quantized, history = train_quantized(float_model, qat_config, arrays, bar,
                                                 bits=bits)
            accuracy = keras_accuracy(quantized, *validation)
            rows.append({"bits": list(bits), "qat_learning_rate": qat_config.qat_learning_rate,
                         "validation": accuracy,
                         "loss_points": round(100 * (float_accuracy - accuracy), 2),
                         "last_train_accuracy": history["accuracy"][-1],
                         "qat_s": round(time.perf_counter() - t0, 1)})

    table = Table(title=f"QAT settings from one float model: {len(arrays['y_val'])} "
                        f"validation clips, {len(arrays['y_fit'])} training samples")
    for column in ("weights in / weights / activations / spikes", "QAT learning rate",
                   "validation", "QAT loss", "train accuracy (last epoch)"):
        table.add_column(column, justify="left" if column.startswith("weights") else "right")
    table.add_row("float", "", f"{100 * float_accuracy:.2f} %", "", "")
    for row in rows:
        table.add_row(" / ".join(map(str, row["bits"])), f"{row['qat_learning_rate']:g}",
                      f"{100 * row['validation']:.2f} %",
                      f"{row['loss_points']:.2f} points",
                      f"{100 * row['last_train_accuracy']:.2f} %")
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "qat_ablation.json"
    report = {"recipe": asdict(config), "features_s": round(features_s, 1),
              "validation_samples": int(len(arrays["y_val"])),
              "fit_samples": int(len(arrays["y_fit"])),
              "float_validation": float_accuracy, "settings": rows}
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {path}")


def _parse_setting(text: str) -> tuple[tuple[int, int, int, int], float | None]:
    """``"8,4,4,1@3.2e-3"`` -> ``((8, 4, 4, 1), 0.0032)``; without ``@``, no learning rate."""
    bits_text, _, rate_text = text.partition("@")
    try:
        bits = tuple(int(part) for part in bits_text.split(","))
        learning_rate = float(rate_text) if rate_text else None
    except ValueError:
        bits, learning_rate = (), None
    if len(bits) != 4 or (learning_rate is not None and not learning_rate > 0):
        raise SystemExit(f"--setting expects four bit widths and an optional positive "
                         f"learning rate, such as 8,4,4,1@3.2e-3; got {text!r}")
    return bits, learning_rate


if __name__ == "__main__":
    main()
