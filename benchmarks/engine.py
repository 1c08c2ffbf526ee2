"""Throughput of the integer engine against float32 Keras on the DS-CNN keyword-spotting shape.

Builds the reference DS-CNN (uint8 49x10x1 MFCC input -> InputConv2D 5x5/2, 64 filters, 8-bit
weights, 4-bit activations -> four SeparableConv2D 3x3 64 with 4-bit weights and activations,
the last one 1-bit with global-average pooling -> FullyConnected without activation) with
random weights and thresholds calibrated to a target activation sparsity, then times
``Model.forward`` and, in the same run, the same architecture in float32 Keras
``predict(batch_size=500)``, timing both alternately so that they see the same machine load.

Run::

    python benchmarks/engine.py [--samples 4000] [--sparsity 0.65] [--units 35] [--seed 0]

Writes ``benchmarks/results/engine.json`` (path printed) and prints a rich table.
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

from spikelearn import FullyConnected, InputConv2D, Model, SeparableConv2D, evaluate_sparsity

RESULTS = Path(__file__).parent / "results" / "engine.json"
INPUT_SHAPE = (49, 10, 1)


def ds_cnn_layers(units: int) -> list:
    """The DS-CNN KWS layer stack of the engine."""
    return [
        InputConv2D(INPUT_SHAPE, 64, 5, strides=2, weight_bits=8, activation_bits=4),
        SeparableConv2D(64, 3, weight_bits=4, activation_bits=4),
        SeparableConv2D(64, 3, weight_bits=4, activation_bits=4),
        SeparableConv2D(64, 3, weight_bits=4, activation_bits=4),
        SeparableConv2D(64, 3, weight_bits=4, activation_bits=1, pool="global_avg"),
        FullyConnected(units, weight_bits=4, activation_bits=None),
    ]


def random_input(n: int, rng: np.random.Generator) -> np.ndarray:
    """MFCC-like uint8 features: smooth in time, a per-coefficient offset, some noise."""
    base = rng.normal(128, 30, (n, 1, INPUT_SHAPE[1], 1))
    drift = np.cumsum(rng.normal(0, 6, (n, *INPUT_SHAPE)), axis=1)
    return np.clip(base + drift, 0, 255).astype(np.uint8)


def calibrated_model(units: int, sparsity: float, x: np.ndarray, rng) -> Model:
    """Random weights; thresholds put ``sparsity`` of each channel's outputs at level 0 on ``x``
    and spread the other levels evenly up to the 99th percentile of the potential."""
    model = Model()
    levels = x
    for layer in ds_cnn_layers(units):
        model.add(layer)
        for name, spec in layer.variable_specs().items():
            if spec.dtype == np.int8:
                layer.set_variable(name, rng.integers(spec.low, spec.high + 1, spec.shape))
        if layer.activation_bits is not None:
            probe = type(layer).from_config({**layer.get_config(), "activation_bits": None})
            probe.build(layer.input_shape)
            for name, array in layer.variables.items():
                if name != "thresholds":
                    probe.set_variable(name, array)
            potentials = probe.call(levels).reshape(-1, layer.config["filters"])
            low = np.quantile(potentials, sparsity, axis=0)
            high = np.quantile(potentials, 0.99, axis=0)
            count = 2**layer.activation_bits - 1
            step = np.maximum((high - low) / count, 1)
            thresholds = np.ceil(low[:, None] + step[:, None] * np.arange(count)) + 1
            layer.set_variable("thresholds", thresholds.astype(np.int64))
        levels = layer.call(levels)
    return model


def keras_model(units: int):
    """The same architecture in float32 Keras (ReLU activations, global average pooling)."""
    import keras

    layers = [keras.Input(INPUT_SHAPE),
              keras.layers.Conv2D(64, 5, strides=2, padding="same", activation="relu")]
    for _ in range(4):
        layers.append(keras.layers.SeparableConv2D(64, 3, padding="same", activation="relu"))
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(units)]
    return keras.Sequential(layers)


def throughputs(runs: dict, n: int, repeats: int = 5) -> dict:
    """Best samples/s of each ``runs[name]()`` over ``repeats`` timed calls.

    The calls are interleaved (one of each per round, after one warm-up call each), so that
    every backend sees the same load on a shared machine.
    """
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: n / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--sparsity", type=float, default=0.65)
    parser.add_argument("--units", type=int, default=35)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-keras", action="store_true", help="time the engine only")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    x = random_input(args.samples, rng)
    model = calibrated_model(args.units, args.sparsity, x[:512], rng)
    runs = {"engine": lambda: model.forward(x)}
    if not args.no_keras:
        net = keras_model(args.units)
        xf = x.astype(np.float32)
        runs["keras"] = lambda: net.predict(xf, batch_size=500, verbose=0)
    rates = throughputs(runs, args.samples)
    engine, keras_rate = rates["engine"], rates.get("keras")
    sparsity = evaluate_sparsity(model, x[:1000])

    result = {
        "engine_samples_per_s": engine,
        "keras_float32_samples_per_s": keras_rate,
        "ratio": engine / keras_rate if keras_rate else None,
        "samples": args.samples,
        "target_sparsity": args.sparsity,
        "output_sparsity": sparsity,
        "dense_macs_per_sample": sum(layer.macs() for layer in model.layers),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))

    table = Table(title="DS-CNN KWS inference throughput")
    table.add_column("backend")
    table.add_column("samples/s", justify="right")
    table.add_row("spikelearn integer engine (forward)", f"{engine:,.0f}")
    if keras_rate:
        table.add_row("Keras float32 predict(batch_size=500)", f"{keras_rate:,.0f}")
        table.add_row("ratio engine / Keras", f"{engine / keras_rate:.2f}")
    console = Console(width=100)
    console.print(table)
    console.print("output sparsity per layer: "
                  + ", ".join(f"{name} {value:.2f}" for name, value in sparsity.items()))
    console.print(f"results written to {RESULTS}")


if __name__ == "__main__":
    main()
