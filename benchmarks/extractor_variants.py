"""Is the extractor's weakness on recordings a matter of width or of training data?

The zoo spotter classifies the long recordings' aligned windows 2 to 3 points worse than
their clips (see ``streaming.py``), and changes to the learning layer do not help (see
``streaming_learning.py``). Each variant here trains the recipe's float DS-CNN from scratch
for ``--epochs`` (cosine decay over them; the recipe's learning rate, batch size and seed)
on a features file of the recipe (``spikelearn zoo train ds_cnn_kws -o DIR --stage
features``):

- ``recipe``: 64 filters, the recipe's training samples;
- ``wide``: ``--wide-filters`` filters, the same samples;
- ``recording_copies``: 64 filters, the recipe's samples plus one copy of the training clips
  as a recording holds them (the word's cut at its place over the recordings' background,
  :func:`~spikelearn.datasets.long_recordings.as_recorded`; what the recipe's
  ``recording_copies`` adds).

Scores, float Keras accuracy on the validation speakers: the clips as they are, the clips
with the recordings' background added, and the cut over the background (what a recording's
window aligned with the clip holds).

Run::

    python benchmarks/extractor_variants.py FEATURES [--epochs 10] [--wide-filters 96]
                                            [--variants recipe wide recording_copies]

Writes ``benchmarks/results/extractor_variants.json`` and prints a rich table. Needs Keras
and the recipe's corpus (made from the cache, or with espeak-ng).
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
from streaming import recipe_corpus
from streaming_learning import noisy_features

from spikelearn.datasets import extract_features
from spikelearn.datasets.long_recordings import as_recorded

RESULTS = Path(__file__).parent / "results" / "extractor_variants.json"
VARIANTS = ("recipe", "wide", "recording_copies")


def recording_features(split, seed):
    """MFCCs of the clips of ``split`` as a recording holds them: cut, over background."""
    return extract_features(as_recorded(split.audio, split.clip_info["offset"],
                                        split.clip_info["length"], seed=seed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("features", help="features file of the recipe (--stage features)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--wide-filters", type=int, default=96)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    if args.epochs < 1 or args.wide_filters < 1:
        raise SystemExit("--epochs and --wide-filters must be >= 1")

    from spikelearn.zoo.training import (
        RecipeConfig,
        keras_accuracy,
        load_features,
        seed_everything,
        train_float,
    )

    console = Console()
    config = replace(RecipeConfig(), float_epochs=args.epochs)
    arrays = load_features(args.features, config)
    corpus = recipe_corpus()
    train_set, val_set = corpus.get_split("train"), corpus.get_split("validation")
    if not (np.array_equal(val_set.labels, arrays["y_val"])
            and np.array_equal(train_set.labels, arrays["y_train"])):
        raise SystemExit(f"{args.features} was not made from the zoo recipe's corpus")
    scored = {"clips": arrays["x_val"],
              "clips + background": noisy_features(val_set.audio, 0),
              "cut + background": recording_features(val_set, 0)}
    rows = []
    with Progress(console=console) as bar:
        for name in args.variants:
            data, variant = arrays, config
            if name == "wide":
                variant = replace(config, filters=args.wide_filters)
            if name == "recording_copies":
                x = np.concatenate([arrays["x_fit"], recording_features(train_set, 1000)])
                y = np.concatenate([arrays["y_fit"], arrays["y_train"]])
                order = np.random.default_rng(config.seed).permutation(len(y))
                data = {**arrays, "x_fit": x[order], "y_fit": y[order]}
            seed_everything(config.seed)
            started = time.perf_counter()
            model, _ = train_float(variant, data, bar)
            rows.append({"variant": name, "filters": variant.filters,
                         "fit_samples": int(len(data["y_fit"])),
                         "train_minutes": round((time.perf_counter() - started) / 60, 1),
                         **{key: keras_accuracy(model, x, arrays["y_val"])
                            for key, x in scored.items()}})

    table = Table(title=f"Float DS-CNN, {args.epochs} epochs from scratch: validation "
                        f"accuracy ({len(arrays['y_val'])} clips)")
    for column in ("variant", "filters", "training samples", *scored, "training"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in rows:
        table.add_row(row["variant"], str(row["filters"]), str(row["fit_samples"]),
                      *(f"{100 * row[key]:.2f} %" for key in scored),
                      f"{row['train_minutes']:.1f} min")
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"epochs": args.epochs, "recipe": asdict(config),
                                   "validation_clips": int(len(arrays["y_val"])),
                                   "variants": rows}, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
