"""Is the learning layer the limit? Refit the zoo model's learning layer offline in several
ways and score the 33 old classes on the validation speakers, over several mask seeds.

The zoo model's feature extractor (its layers before the learning layer) turns the recipe's
clips into binary spikes once; each variant then compiles a fresh 33 x 15-neuron learning
layer (``Competitive``, the recipe's options unless overridden) for every ``--seeds`` mask
seed, fits it on the training spikes and reads the validation spikes out with the recipe's
``score_neurons``. The recipe's own setting is always the first row; the others show the
difference of their mean to it. A variant is comma-separated ``KEY=VALUE`` pairs:
``Competitive`` options (``num_weights=28``, ``learning_competition=0.3``,
``plasticity_decay=0.1``, ``score_neurons=7``, ...), ``data=fit`` (fit on the training clips
and their augmented copies, what Keras trains on, instead of the training clips alone),
``epochs=N`` (passes over the data) and ``spike_threshold_offset=X`` (the extractor's spike
thresholds moved by X more standard deviations of their potentials on the training clips,
:func:`spikelearn.calibration.offset_spike_thresholds`, and ``num_weights`` chosen again
from the new spikes with ``choose_num_weights`` unless the variant sets it).

Needs the recipe's features file (``spikelearn zoo train ds_cnn_kws -o zoo --stage
features``, about 20 minutes on 2 cores). Prints a rich table and writes
``benchmarks/results/offline_fit_grid.json``::

    python benchmarks/offline_fit_grid.py --features zoo/ds_cnn_kws_features.npz
                                         [--seeds 0 1 2] [--variant data=fit --variant ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from edge_learning import _parse_option
from rich.console import Console
from rich.progress import track
from rich.table import Table

from spikelearn import zoo
from spikelearn.calibration import offset_spike_thresholds
from spikelearn.learning import Competitive, choose_num_weights
from spikelearn.learning.scores import argmax_or_abstain, class_scores
from spikelearn.zoo.training import RecipeConfig, load_features

RESULTS = Path(__file__).with_name("results")
DEFAULT_VARIANTS = ("data=fit", "epochs=2", "num_weights=22", "num_weights=28",
                    "learning_competition=0.1", "learning_competition=0.3",
                    "plasticity_decay=0.1", "min_plasticity=0.3", "score_neurons=7")


def parse_variant(text: str) -> dict:
    """``"data=fit,epochs=2"`` -> ``{"data": "fit", "epochs": 2}``; exits on a bad
    ``data``, ``epochs`` or ``spike_threshold_offset`` before any work."""
    variant = dict(_parse_option(part) for part in text.split(",") if part)
    if variant.get("data", "train") not in ("train", "fit"):
        raise SystemExit(f"data must be 'train' or 'fit', got {variant['data']!r}")
    epochs = variant.get("epochs", 1)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise SystemExit(f"epochs must be an integer >= 1, got {epochs!r}")
    offset = variant.get("spike_threshold_offset", 0.0)
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not np.isfinite(offset):
        raise SystemExit(f"spike_threshold_offset must be a finite number, got {offset!r}")
    return variant


class ExtractorSpikes:
    """Binary spikes (uint8 ``(n, 64)``) of the zoo model's feature extractor on the
    recipe's ``x_<key>`` arrays, per spike-threshold offset (relative to the shipped
    thresholds), computed when first asked for."""

    def __init__(self, arrays: dict):
        self.arrays, self._spikes = arrays, {}

    def __call__(self, offset: float, key: str) -> np.ndarray:
        if (offset, key) not in self._spikes:
            extractor = zoo.load("ds_cnn_kws")
            extractor.pop_layer()
            if offset:
                offset_spike_thresholds(extractor, self.arrays["x_train"], offset)
            x = self.arrays[f"x_{key}"]
            self._spikes[offset, key] = extractor.forward(x).reshape(len(x), -1)
        return self._spikes[offset, key]


def validation_accuracy(spikes: dict, labels: dict, rule_options: dict, neurons_per_class: int,
                        data: str, epochs: int) -> float:
    """Old-class accuracy on ``spikes["val"]`` (uint8 (n, inputs)) of a learning layer of
    ``neurons_per_class`` neurons per class compiled with ``rule_options`` and fitted
    ``epochs`` times on ``spikes[data]``."""
    rule = Competitive(**rule_options)
    units = rule_options["num_classes"] * neurons_per_class
    state = rule.initial_state(spikes["val"].shape[1], units)
    for _ in range(epochs):
        rule.learn(state, spikes[data], labels[data])
    potentials = spikes["val"].astype(np.int32) @ state["weights"].astype(np.int32)
    scores, maxima = class_scores(potentials, rule.num_classes, rule.score_neurons)
    return float(np.mean(argmax_or_abstain(scores, tie_break=maxima) == labels["val"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True,
                        help="the recipe's ds_cnn_kws_features.npz (zoo train --stage features)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variant", action="append", default=None, metavar="KEY=VALUE,...")
    args = parser.parse_args()
    variants = [parse_variant(text) for text in (args.variant or DEFAULT_VARIANTS)]

    meta = zoo.info("ds_cnn_kws")
    recipe = meta["recipe"]
    arrays = load_features(args.features, RecipeConfig(**recipe))
    extractor_spikes = ExtractorSpikes(arrays)
    labels = {key: arrays[f"y_{key}"] for key in ("fit", "train", "val")}
    base = {"num_weights": meta["num_weights"], "num_classes": len(meta["words"]),
            **{key: recipe[key] for key in ("learning_competition", "rewire", "score_neurons")}}

    rows = []
    for variant in [{}, *variants]:
        options = {**base, **{k: v for k, v in variant.items()
                              if k not in ("data", "epochs", "spike_threshold_offset")}}
        data, epochs = variant.get("data", "train"), variant.get("epochs", 1)
        offset = variant.get("spike_threshold_offset", 0.0)
        spikes = {key: extractor_spikes(offset, key) for key in {data, "val"}}
        if offset and "num_weights" not in variant:
            options["num_weights"] = choose_num_weights(extractor_spikes(offset, "train"))
        accuracies = [validation_accuracy(spikes, labels, {**options, "seed": seed},
                                          recipe["neurons_per_class"], data, epochs)
                      for seed in track(args.seeds, description=f"variant {variant or 'recipe'}")]
        rows.append({"variant": variant, "num_weights": options["num_weights"],
                     "validation_accuracy": accuracies,
                     "mean": float(np.mean(accuracies))})

    table = Table(title=f"Learning layer refitted offline: old classes, validation speakers, "
                        f"mask seeds {args.seeds}")
    for column in ("variant", "num_weights", "per seed", "mean", "vs recipe"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(",".join(f"{k}={v}" for k, v in row["variant"].items()) or "recipe",
                      str(row["num_weights"]),
                      " ".join(f"{100 * a:.2f}" for a in row["validation_accuracy"]),
                      f"{100 * row['mean']:.2f} %",
                      f"{100 * (row['mean'] - rows[0]['mean']):+.2f}")
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "offline_fit_grid.json"
    path.write_text(json.dumps({"seeds": args.seeds, "recipe_options": base, "rows": rows},
                               indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
