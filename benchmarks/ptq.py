"""Post-training quantization of one float DS-CNN: how the weight scales are chosen.

Quantizes a float model of the zoo recipe with the recipe's bits (8 / 4 / 4 / 1) and
activation calibration, without any QAT, for each weight clip
(:data:`spikelearn.quantization.quantizers.WEIGHT_CLIPS`: ``max`` clips no weight, ``mse``
takes the least squared error) with and without equalization of the separable
convolutions, and scores every model on the recipe's validation speakers as quantized and
again after :func:`spikelearn.zoo.training.reestimate_batch_norm` (as the recipe does after
QAT). Compares starting points of QAT in minutes instead of a QAT run (about 40 min) each.

Reads a features file of the recipe (``spikelearn zoo train ds_cnn_kws --stage features``,
at any scale: the recipe settings it records are used) and a float model; when the float
model file does not exist yet, trains it with the recipe
(:func:`spikelearn.zoo.training.train_float`, seed ``seed``; about 40 min on 2 cores at the
shipped scale) and saves it there, so later runs reuse it. Needs Keras. Prints a rich table
and writes ``benchmarks/results/ptq.json``::

    python benchmarks/ptq.py --features zoo/ds_cnn_kws_features.npz --float-model float.keras
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

RESULTS = Path(__file__).with_name("results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, required=True,
                        help="features file of the recipe's 'features' stage")
    parser.add_argument("--float-model", type=Path, required=True,
                        help=".keras float model (trained and saved there if absent)")
    parser.add_argument("--reestimation-samples", type=int, default=51_200,
                        help="training samples for the batch normalization statistics")
    args = parser.parse_args()
    if not args.features.is_file():
        raise SystemExit(f"no features file at {args.features}; make it with "
                         "'spikelearn zoo train ds_cnn_kws --stage features'")
    if args.reestimation_samples < 1:
        raise SystemExit("--reestimation-samples must be at least 1")

    import keras

    from spikelearn.quantization import quantize
    from spikelearn.quantization.quantizers import WEIGHT_CLIPS
    from spikelearn.zoo.training import (
        QUANTIZATION_BITS,
        RecipeConfig,
        keras_accuracy,
        load_features,
        reestimate_batch_norm,
        seed_everything,
        train_float,
    )

    console = Console()
    config = replace(RecipeConfig(), **_recorded_settings(args.features))
    arrays = load_features(args.features, config)
    validation = arrays["x_val"], arrays["y_val"]
    x_reestimate = arrays["x_fit"][:args.reestimation_samples]
    rows = []
    with Progress(console=console) as bar:
        if args.float_model.is_file():
            float_model = keras.models.load_model(args.float_model)
        else:
            seed_everything(config.seed)
            float_model, _ = train_float(config, arrays, bar)
            float_model.save(args.float_model)
            console.print(f"trained and saved {args.float_model}")
        float_accuracy = keras_accuracy(float_model, *validation)
        for clip in WEIGHT_CLIPS:
            for equalize in (False, True):
                t0 = time.perf_counter()
                quantized = quantize(float_model, *QUANTIZATION_BITS,
                                     calibration_data=arrays["x_train"][:2000],
                                     equalize=equalize, weight_clip=clip)
                as_quantized = keras_accuracy(quantized, *validation)
                reestimate_batch_norm(quantized, x_reestimate, batch_size=config.batch_size,
                                      progress=bar)
                rows.append({"weight_clip": clip, "equalize": equalize,
                             "validation": as_quantized,
                             "validation_reestimated": keras_accuracy(quantized, *validation),
                             "seconds": round(time.perf_counter() - t0, 1)})

    table = Table(title=f"Quantized without QAT ({'/'.join(map(str, QUANTIZATION_BITS))} "
                        f"bits): {len(validation[1])} validation clips; float model "
                        f"{100 * float_accuracy:.2f} %")
    for column in ("weight clip", "equalized", "validation",
                   f"statistics re-estimated ({len(x_reestimate)} samples)"):
        table.add_column(column, justify="left" if column == "weight clip" else "right")
    for row in rows:
        table.add_row(row["weight_clip"], "yes" if row["equalize"] else "no",
                      f"{100 * row['validation']:.2f} %",
                      f"{100 * row['validation_reestimated']:.2f} %")
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "ptq.json"
    report = {"recipe": asdict(config), "bits": list(QUANTIZATION_BITS),
              "float_model": str(args.float_model), "float_validation": float_accuracy,
              "validation_samples": int(len(validation[1])),
              "reestimation_samples": int(len(x_reestimate)), "settings": rows}
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {path}")


def _recorded_settings(path: Path) -> dict:
    """The recipe settings a features file was made with (empty when it records none:
    :func:`~spikelearn.zoo.training.load_features` then says what is wrong with it)."""
    try:
        with np.load(path) as stored:
            return json.loads(str(stored["config"]))
    except (ValueError, KeyError, OSError, TypeError, AttributeError):
        return {}


if __name__ == "__main__":
    main()
