"""A warm restart of QAT: one more quantization-aware training cycle for a quantized DS-CNN.

Loads a quantized Keras model of the zoo recipe (default: the shipped ``ds_cnn_kws.h5``,
itself the recipe's QAT with weight average and re-estimated batch normalization) and
runs :func:`spikelearn.zoo.training.restart_qat` on it: ``--epochs`` more epochs of QAT
from ``--learning-rate`` with cosine decay, the recipe's weight average and batch
normalization re-estimation, batches in the order of ``--seed``. Scores the model before
and after on the recipe's validation speakers (and reports the test speakers) and saves
the restarted model with the recipe's figures (``ds_cnn_kws.h5`` and ``ds_cnn_kws.json``
in ``--output``), so that ``spikelearn.zoo.training.rebuild_engine`` can convert it and
fit its learning layer.

Reads a features file of the recipe (``spikelearn zoo train ds_cnn_kws --stage features``,
made with the corpus settings of the model's recipe). Needs Keras.
Prints a rich table and writes ``benchmarks/results/qat_restart.json``::

    python benchmarks/qat_restart.py --features zoo/ds_cnn_kws_features.npz \\
        --output restarted [--model path/to/ds_cnn_kws.h5] [--epochs 8] \\
        [--learning-rate 6.4e-3] [--seed 1001]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

RESULTS = Path(__file__).with_name("results")
SHIPPED = Path(__file__).parents[1] / "spikelearn" / "zoo" / "pretrained" / "ds_cnn_kws.h5"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, required=True,
                        help="features file of the recipe's 'features' stage")
    parser.add_argument("--output", type=Path, required=True,
                        help="folder for the restarted ds_cnn_kws.h5 and ds_cnn_kws.json")
    parser.add_argument("--model", type=Path, default=SHIPPED,
                        help="quantized Keras model (.h5) with its ds_cnn_kws.json beside it")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=6.4e-3)
    parser.add_argument("--seed", type=int, default=1001, help="seed of the batch order")
    args = parser.parse_args()
    figures_path = args.model.with_suffix(".json")
    for path, what in ((args.features, "features file"), (args.model, "model"),
                       (figures_path, "figures file of the model")):
        if not path.is_file():
            raise SystemExit(f"no {what} at {path}")
    if args.epochs < 1 or not args.learning_rate > 0:
        raise SystemExit("--epochs must be at least 1 and --learning-rate above 0")

    import keras

    import spikelearn.quantization  # noqa: F401  (registers the quantized layers)
    from spikelearn.zoo.training import (
        RecipeConfig,
        keras_accuracy,
        load_features,
        restart_qat,
        seed_everything,
    )

    console = Console()
    figures = json.loads(figures_path.read_text())
    config = RecipeConfig(**figures["recipe"])
    try:  # refuses features made with other corpus settings than the model's
        arrays = load_features(args.features, config)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    seed_everything(args.seed)  # before loading: the dropout layer draws its seed then
    model = keras.models.load_model(args.model)
    splits = {"validation": (arrays["x_val"], arrays["y_val"]),
              "test": (arrays["x_test"], arrays["y_test"])}
    before = {name: keras_accuracy(model, *data) for name, data in splits.items()}
    t0 = time.perf_counter()
    with Progress(console=console) as bar:
        history = restart_qat(model, config, arrays, bar, epochs=args.epochs,
                              learning_rate=args.learning_rate)
    seconds = time.perf_counter() - t0
    after = {name: keras_accuracy(model, *data) for name, data in splits.items()}

    args.output.mkdir(parents=True, exist_ok=True)
    model.save(args.output / "ds_cnn_kws.h5", include_optimizer=False)
    restart = {"model": str(args.model), "epochs": args.epochs,
               "learning_rate": args.learning_rate, "seed": args.seed,
               "history": history, "seconds": round(seconds, 1)}
    # The engine figures are those of the model before; rebuild_engine measures them anew.
    figures["accuracy"] = {"float_test": figures["accuracy"]["float_test"],
                           "quantized_keras_test": round(after["test"], 4)}
    figures["history"]["qat_restart"] = restart
    (args.output / "ds_cnn_kws.json").write_text(json.dumps(figures, indent=2) + "\n")

    table = Table(title=f"QAT restart: {args.epochs} epochs from {args.learning_rate:g}, "
                        f"seed {args.seed} ({seconds / 60:.1f} min)")
    for column in ("quantized Keras model", *splits):
        table.add_column(column, justify="left" if column.startswith("q") else "right")
    for name, scores in (("before (" + args.model.name + ")", before), ("after", after)):
        table.add_row(name, *(f"{100 * scores[split]:.2f} %" for split in splits))
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "qat_restart.json"
    report = {"recipe": asdict(config), **restart, "before": before, "after": after,
              "output": str(args.output)}
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {args.output / 'ds_cnn_kws.h5'} and {path}")


if __name__ == "__main__":
    main()
