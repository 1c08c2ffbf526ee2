"""Float DS-CNN versus quantization-aware training (8/4/4 bits, 1-bit spikes out of the features).

Scores a run of the zoo recipe (:func:`spikelearn.zoo.training.train`: float training ->
``quantize`` with calibration -> QAT -> ``convert``) on the recipe's held-out test speakers:

- float Keras accuracy (recorded by the recipe run: the float model is not kept),
- quantized Keras accuracy and converted engine accuracy (recomputed here from the files),
- the QAT loss in points (target: at most 2), Keras/engine class agreement and the
  layer-by-layer agreement of activation levels (:func:`spikelearn.converter.compare_layers`).

Run::

    python benchmarks/qat.py --recipe-output spikelearn/zoo/pretrained   # the shipped run
    python benchmarks/qat.py --speakers 60 --epochs 8 --qat-epochs 4      # a new, smaller run

The second form first runs the recipe at that scale into a temporary folder (needs
espeak-ng and TensorFlow). Prints a rich table and writes ``benchmarks/results/qat.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def score(folder: Path) -> dict:
    """Accuracy and agreement figures of the recipe files in ``folder``."""
    import keras

    import spikelearn
    import spikelearn.quantization  # noqa: F401  (registers the quantized layers)
    from spikelearn.converter import compare_layers
    from spikelearn.datasets import extract_features, make_corpus

    figures = json.loads((folder / "ds_cnn_kws.json").read_text())
    recipe = figures["recipe"]
    test = make_corpus(recipe["num_speakers"], recipe["repetitions"], recipe["seed"],
                       words=figures["words"]).get_split("test")
    x_test, y_test = extract_features(test.audio), test.labels
    quantized = keras.models.load_model(folder / "ds_cnn_kws.h5")
    engine = spikelearn.convert(quantized)
    keras_classes = quantized.predict(x_test.astype(np.float32), batch_size=500,
                                      verbose=0).argmax(axis=1)
    engine_classes = engine.predict_classes(x_test)
    layers = compare_layers(quantized, engine, x_test)
    float_accuracy = figures["accuracy"]["float_test"]
    quantized_accuracy = float(np.mean(keras_classes == y_test))
    return {
        "recipe": recipe,
        "test_samples": int(len(y_test)),
        "float_test": float_accuracy,
        "quantized_keras_test": quantized_accuracy,
        "converted_engine_test": float(np.mean(engine_classes == y_test)),
        "qat_loss_points": round(100 * (float_accuracy - quantized_accuracy), 2),
        "class_agreement": float(np.mean(engine_classes == keras_classes)),
        "layers": [{key: row[key] for key in ("layer", "keras_layer", "agreement")}
                   for row in layers],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe-output", type=Path,
                        help="folder of a finished recipe run (ds_cnn_kws.h5 and .json)")
    parser.add_argument("--speakers", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--qat-epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    console = Console()
    folder = args.recipe_output
    if folder is None:
        from spikelearn.zoo.training import RecipeConfig, train

        config = replace(RecipeConfig(), num_speakers=args.speakers, float_epochs=args.epochs,
                         qat_epochs=args.qat_epochs, seed=args.seed)
        folder = Path(tempfile.mkdtemp(prefix="spikelearn-qat-"))
        train(folder, config)
    report = score(folder)

    table = Table(title=f"QAT on {report['test_samples']} test clips "
                        f"({report['recipe']['num_speakers']} speakers)")
    table.add_column("stage")
    table.add_column("test accuracy", justify="right")
    for key, label in (("float_test", "float Keras"),
                       ("quantized_keras_test", "quantized Keras (8/4/4, 1-bit spikes)"),
                       ("converted_engine_test", "converted integer engine")):
        table.add_row(label, f"{100 * report[key]:.2f} %")
    table.add_row("QAT loss", f"{report['qat_loss_points']:.2f} points")
    table.add_row("Keras / engine class agreement", f"{100 * report['class_agreement']:.2f} %")
    for row in report["layers"]:
        table.add_row(f"levels equal, {row['layer']}", f"{100 * row['agreement']:.3f} %")
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "qat.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {path}")


if __name__ == "__main__":
    main()
