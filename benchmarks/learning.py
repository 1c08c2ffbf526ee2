"""Speed and few-shot accuracy of the competitive plasticity rule.

Measures, on this machine:

* learning-layer throughput (256 binary inputs, 500 neurons, 10 classes, num_weights 60, the
  reference engine's published shape): ``Model.fit`` and the bare numba kernel, inference with
  ``Model.forward`` and with the bit-packed kernel, in samples/s;
* the edge case: learning 480 samples in one ``fit`` call and in 480 single-sample calls;
* the whole network: the DS-CNN keyword-spotting feature extractor of ``benchmarks/engine.py``
  followed by the learning layer (``Model.fit`` samples/s, and the share of the extractor);
* few-shot accuracy on synthetic clustered binary data (10 classes x 2 modes, noisy copies of
  random prototypes) against a nearest-class-mean head (scikit-learn ``NearestCentroid``) on
  the same spikes, with and without ``recruit``, for dense (20 %) and sparse (3 %) spikes,
  and the abstain answer (``abstain_margin``, default 2): coverage and accuracy on the
  answered samples.

Run::

    python benchmarks/learning.py [--samples 20000] [--repeats 5] [--abstain-margin 2]
                                  [--skip-network]

Writes ``benchmarks/results/learning.json`` (path printed) and prints rich tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from spikelearn.layers import FullyConnected, InputData
from spikelearn.learning import Competitive, choose_num_weights, kernels
from spikelearn.learning.baseline import clustered_spikes, nearest_centroid_accuracy
from spikelearn.learning.training import learning_layer
from spikelearn.model import Model

RESULTS = Path(__file__).parent / "results" / "learning.json"
INPUTS, UNITS, NUM_WEIGHTS, CLASSES = 256, 500, 60, 10


def _best_time(function, repeats=3):
    """Shortest wall time of ``repeats`` calls (the first call compiles and is not counted)."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def _fit_time(learn, repeats=3):
    """Shortest wall time of ``learn(model)`` on a freshly compiled model (compile not timed)."""
    times = []
    for _ in range(repeats + 1):  # the first call compiles the kernels
        model = _learning_model()
        start = time.perf_counter()
        learn(model)
        times.append(time.perf_counter() - start)
    return min(times[1:])


def _learning_model(seed=0, **options):
    model = Model([InputData((1, 1, INPUTS), input_bits=1),
                   FullyConnected(UNITS, weight_bits=1)])
    model.compile(Competitive(NUM_WEIGHTS, CLASSES, seed=seed, **options))
    return model


def layer_throughput(samples):
    """Samples/s of fit and inference of the learning layer alone."""
    x, y, _, _ = clustered_spikes(CLASSES, samples // CLASSES, 0, input_size=INPUTS, seed=0)
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    x4 = x.reshape(-1, 1, 1, INPUTS)

    fit_s = _fit_time(lambda model: model.fit(x4, y))
    layer = learning_layer(_learning_model())
    packed_x = kernels.pack_bits(x)
    masks = kernels.pack_bits(layer.variables["weights"].T)

    schedule = Competitive(NUM_WEIGHTS, CLASSES).schedule()

    def kernel_fit():
        state = {name: layer.variables[name].copy() for name in ("vigilance", "budget", "wins",
                                                                 "rng_counter")}
        kernels.fit(packed_x, y, masks.copy(), state["vigilance"], state["budget"],
                    state["wins"], state["rng_counter"], np.uint64(0), UNITS // CLASSES,
                    schedule["decrement"], schedule["min_budget"], schedule["vigilance_cap"],
                    False, np.zeros((0, 0), np.int32), INPUTS)  # rewire="sample"

    trained = _learning_model()
    trained.fit(x4, y)
    return {
        "samples": len(y),
        "model_fit_samples_per_s": len(y) / fit_s,
        "kernel_fit_samples_per_s": len(y) / _best_time(kernel_fit),
        "model_forward_samples_per_s": len(y) / _best_time(lambda: trained.forward(x4)),
        "packed_potentials_samples_per_s":
            len(y) / _best_time(lambda: kernels.potentials(kernels.pack_bits(x), masks)),
    }


def edge_fit():
    """Milliseconds to learn 480 samples in one call and in 480 single-sample calls."""
    x, y, _, _ = clustered_spikes(CLASSES, 48, 0, input_size=INPUTS, seed=1)
    x4 = x.reshape(-1, 1, 1, INPUTS)

    def single_calls(model):
        for i in range(len(y)):
            model.fit(x4[i:i + 1], int(y[i]))

    return {"one_call_ms": 1e3 * _fit_time(lambda model: model.fit(x4, y)),
            "single_sample_calls_ms": 1e3 * _fit_time(single_calls),
            "compile_ms": 1e3 * _best_time(_learning_model)}


def network_throughput(samples):
    """Samples/s of ``Model.fit`` through the DS-CNN extractor + the learning layer."""
    from engine import calibrated_model, random_input  # benchmarks/engine.py

    rng = np.random.default_rng(0)
    x = random_input(samples, rng)
    model = calibrated_model(35, 0.65, x[:500], rng)
    model.pop_layer()
    model.add(FullyConnected(UNITS, weight_bits=1))
    spikes = model.forward(x[:500], until=-2).reshape(500, -1)
    model.compile(Competitive(choose_num_weights(spikes), CLASSES, seed=0))
    y = rng.integers(0, CLASSES, samples)
    extract_s = _best_time(lambda: model.forward(x, until=-2), repeats=2)
    fit_s = _best_time(lambda: model.fit(x, y), repeats=2)
    return {"samples": samples, "fit_samples_per_s": samples / fit_s,
            "extractor_share": extract_s / fit_s, "num_weights": int(learning_layer(model)
                                                                   .config["learning"]
                                                                   ["num_weights"])}


def _rule_scores(train, test, *, recruit, seed, abstain_margin, per_class):
    """Accuracy of the rule, and with abstain: coverage and accuracy on the answered."""
    (x_train, y_train), (x_test, y_test) = train, test
    model = Model([InputData((1, 1, INPUTS), input_bits=1),
                   FullyConnected(CLASSES * per_class, weight_bits=1)])
    model.compile(Competitive(choose_num_weights(x_train), CLASSES, recruit=recruit, seed=seed))
    model.fit(x_train.reshape(-1, 1, 1, INPUTS), y_train)
    test4 = x_test.reshape(-1, 1, 1, INPUTS)
    answer = model.predict_classes(test4, CLASSES, abstain_margin=abstain_margin)
    covered = answer >= 0
    return {"accuracy": model.evaluate(test4, y_test, CLASSES),
            "coverage": float(covered.mean()),
            "answered_accuracy": float((answer == y_test)[covered].mean()) if covered.any()
            else 0.0}


def few_shot(repeats, abstain_margin, shots=(1, 2, 3, 5, 10), densities=(0.2, 0.03),
             per_class=5):
    """Mean test accuracy over ``repeats`` data seeds, per density and shot count."""
    rows = []
    for density in densities:
        for shot in shots:
            scores = {key: [] for key in ("ncm", "rule", "rule_recruit", "abstain_coverage",
                                          "abstain_accuracy")}
            for seed in range(repeats):
                x_train, y_train, x_test, y_test = clustered_spikes(
                    CLASSES, shot, 50, input_size=INPUTS, density=density, seed=seed)
                order = np.random.default_rng(seed).permutation(len(y_train))
                train, test = (x_train[order], y_train[order]), (x_test, y_test)
                scores["ncm"].append(nearest_centroid_accuracy(*train, *test))
                options = {"seed": seed, "abstain_margin": abstain_margin,
                           "per_class": per_class}
                scores["rule"].append(
                    _rule_scores(train, test, recruit=False, **options)["accuracy"])
                recruited = _rule_scores(train, test, recruit=True, **options)
                scores["rule_recruit"].append(recruited["accuracy"])
                scores["abstain_coverage"].append(recruited["coverage"])
                scores["abstain_accuracy"].append(recruited["answered_accuracy"])
            rows.append({"density": density, "shots": shot,
                         **{key: float(np.mean(value)) for key, value in scores.items()}})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5, help="data seeds per few-shot cell")
    parser.add_argument("--abstain-margin", type=int, default=2)
    parser.add_argument("--skip-network", action="store_true",
                        help="skip the DS-CNN whole-network measurement")
    args = parser.parse_args()
    console = Console()
    results = {"layer": layer_throughput(args.samples), "edge_480": edge_fit()}
    if not args.skip_network:
        results["network"] = network_throughput(min(args.samples, 4000))
    results["few_shot"] = few_shot(args.repeats, args.abstain_margin)
    results.update(abstain_margin=args.abstain_margin, cpus=os.cpu_count(),
                   machine=platform.machine())

    speed = Table(title=f"Learning layer {INPUTS} inputs x {UNITS} neurons, num_weights "
                        f"{NUM_WEIGHTS} (reference CPU: 47k fit/s, 125k inference/s)")
    speed.add_column("measure")
    speed.add_column("value", justify="right")
    for key, value in results["layer"].items():
        speed.add_row(key, f"{value:,.0f}")
    for key, value in results["edge_480"].items():
        speed.add_row(f"edge 480 samples: {key}", f"{value:.1f}")
    for key, value in results.get("network", {}).items():
        speed.add_row(f"DS-CNN + learning layer: {key}", f"{value:,.2f}")
    console.print(speed)

    accuracy = Table(title=f"Few-shot accuracy, {CLASSES} classes x 2 modes, {INPUTS} inputs, "
                           f"5 neurons/class, mean of {args.repeats} seeds")
    for column in ("density", "shots", "NCM", "rule", "rule + recruit",
                   f"coverage (margin {args.abstain_margin})", "accuracy if answered"):
        accuracy.add_column(column, justify="right")
    for row in results["few_shot"]:
        accuracy.add_row(f"{row['density']:.2f}", str(row["shots"]),
                         *(f"{row[key]:.3f}" for key in ("ncm", "rule", "rule_recruit",
                                                        "abstain_coverage", "abstain_accuracy")))
    console.print(accuracy)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
