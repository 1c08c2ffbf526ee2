"""C export of the zoo keyword spotter: footprint, instruction count and energy estimate.

Measures, on this machine:

* flash (``const`` weights, biases/thresholds, initial learning state) and RAM
  (``sizeof(slm_state_t)``: activations + learning state) of ``export_c`` for ``ds_cnn_kws``;
* instructions per inference (``slm_forward``), per learning step (``slm_learn``) and per
  ``slm_add_class`` with ``valgrind --tool=callgrind`` on the harness built with
  ``gcc -std=c99 -O2`` (x86-64; also ``-fno-tree-vectorize``, a scalar build closer to an MCU);
* the energy estimate (:mod:`spikelearn.energy`) at 50 inferences/s on the demo's held-out
  features, for both shipped profiles, and the Cortex-M4 figure from the measured scalar
  instruction count (1 cycle per instruction assumed);
* how sparsity and weight bit width move the accelerator estimate: event-driven (measured)
  versus dense (every MAC), and the separable layers' weights at 8 / 4 / 2 bits (same
  statistics; the weights are only clipped, so this is a cost what-if, not an accuracy claim).

Run::

    python benchmarks/export.py [--samples 500] [--inferences 10] [--rate 50]

Writes ``benchmarks/results/export.json`` (path printed) and prints rich tables.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from spikelearn import Model, zoo
from spikelearn.energy import PROFILES, energy_from_cycles, estimate
from spikelearn.export import STRICT_FLAGS, Harness, export_c
from spikelearn.layers.base import weight_range

RESULTS = Path(__file__).parent / "results" / "export.json"
FALLBACK = Path("/tmp/zoo/full")


def load_zoo():
    """The zoo model and its held-out features (the lead's training folder as a fallback)."""
    try:
        return zoo.load("ds_cnn_kws"), zoo.load_demo_data("ds_cnn_kws")["old_features"], "zoo"
    except FileNotFoundError:
        with np.load(FALLBACK / "ds_cnn_kws_demo.npz") as data:
            features = data["old_features"]
        return Model(FALLBACK / "ds_cnn_kws.slm"), features, str(FALLBACK)


def callgrind(harness, function):
    """Instructions executed inside ``function`` (inclusive) for the queued commands."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        harness.run(prefix=("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            f"--toggle-collect={function}"))
        totals = re.search(r"^(?:totals|summary):\s+(\d+)", out.read_text(), re.MULTILINE)
        return int(totals.group(1))


def instruction_counts(model, x, inferences, flags, folder):
    """Instructions per slm_forward, slm_learn and slm_add_class of one build."""
    export_c(model, folder, harness=True)
    harness = Harness(folder, flags=flags)
    counts = {}
    harness.init()
    harness.forward(x[:inferences])
    counts["forward"] = callgrind(harness, "slm_forward") / inferences
    harness.init()
    harness.add_class()
    counts["add_class"] = callgrind(harness, "slm_add_class")
    classes = model.num_classes
    harness.init()
    harness.add_class()
    harness.learn(x[:inferences], np.full(inferences, classes))
    counts["learn"] = callgrind(harness, "slm_learn") / inferences
    return counts


def with_weight_bits(model, bits):
    """A copy whose separable layers declare ``bits``-bit weights (values clipped)."""
    variant = copy.deepcopy(model)
    low, high = weight_range(bits)
    for layer in variant.layers:
        if type(layer).__name__ == "SeparableConv2D":
            layer.config["weight_bits"] = bits
            for name in ("depthwise", "pointwise"):
                layer.variables[name] = np.clip(layer.variables[name], low, high).astype(np.int8)
    return variant


def sweep(model, statistics, rate):
    """Accelerator estimate: event-driven vs dense, and separable weight bit widths."""
    dense = copy.deepcopy(statistics)
    for stats in dense["layers"].values():
        stats.update(synaptic_ops=float(stats["dense_macs"]), input_sparsity=0.0,
                     output_sparsity=0.0)
    rows = []
    for label, variant, stats in (
            ("event-driven, 4-bit separable weights (shipped)", model, statistics),
            ("dense (no zero skipping), 4-bit", model, dense),
            ("event-driven, 8-bit separable weights", with_weight_bits(model, 8), statistics),
            ("event-driven, 2-bit separable weights", with_weight_bits(model, 2), statistics)):
        result = estimate(variant, stats, "accelerator-22nm", rate=rate)
        rows.append({"variant": label, "synaptic_ops": sum(
            layer["synaptic_ops"] for layer in stats["layers"].values()),
            "dynamic_nj": result["dynamic_nj"], "static_uw": result["static_uw"],
            "average_power_uw": result["average_power_uw"]})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500, help="inputs for the statistics")
    parser.add_argument("--inferences", type=int, default=10, help="inferences under callgrind")
    parser.add_argument("--rate", type=float, default=50.0, help="inferences per second")
    args = parser.parse_args()
    console = Console()
    model, features, source = load_zoo()
    x = np.ascontiguousarray(features[:args.samples])
    results = {"model": "ds_cnn_kws", "source": source, "rate": args.rate,
               "machine": platform.platform(), "compiler": subprocess.run(
                   ["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        results["footprint"] = export_c(model, Path(tmp) / "c")["footprint"]
        if shutil.which("valgrind"):
            results["instructions"] = {
                "O2": instruction_counts(model, x, args.inferences, STRICT_FLAGS, Path(tmp) / "a"),
                "O2_scalar": instruction_counts(model, x, args.inferences,
                                                (*STRICT_FLAGS, "-fno-tree-vectorize"),
                                                Path(tmp) / "b")}
    statistics = model.statistics(x)
    results["synaptic_ops"] = statistics["synaptic_ops"]
    results["dense_macs"] = statistics["dense_macs"]
    results["energy"] = {name: {key: value for key, value in
                                estimate(model, statistics, name, rate=args.rate).items()}
                         for name in PROFILES}
    if "instructions" in results:
        scalar = results["instructions"]["O2_scalar"]["forward"]
        results["energy"]["cortex-m4-measured"] = {
            "instructions_per_inference": scalar,
            **energy_from_cycles(scalar, "cortex-m4", rate=args.rate)}
    results["sweep"] = sweep(model, statistics, args.rate)

    flash, ram = results["footprint"]["flash"], results["footprint"]["ram"]
    table = Table(title=f"ds_cnn_kws C export ({source})")
    table.add_column("what")
    table.add_column("bytes", justify="right")
    for key in ("weights", "biases_thresholds", "learning", "total"):
        table.add_row(f"flash: {key}", f"{flash[key]:,}")
    for key in ("activations", "learning_state", "total"):
        table.add_row(f"RAM: {key}", f"{ram[key]:,}")
    console.print(table)
    if "instructions" in results:
        table = Table(title="instructions (callgrind, x86-64)")
        table.add_column("build")
        for key in ("forward", "learn", "add_class"):
            table.add_column(key, justify="right")
        for build, counts in results["instructions"].items():
            table.add_row(build, *(f"{counts[key]:,.0f}" for key in ("forward", "learn",
                                                                     "add_class")))
        console.print(table)
    table = Table(title=f"energy at {args.rate:g} inferences/s")
    table.add_column("profile")
    table.add_column("nJ / inference", justify="right")
    table.add_column("average uW", justify="right")
    for name, values in results["energy"].items():
        table.add_row(name, f"{values['energy_per_inference_nj']:,.1f}",
                      f"{values['average_power_uw']:,.2f}")
    console.print(table)
    table = Table(title="accelerator-22nm: sparsity and bit width")
    for column in ("variant", "synaptic ops", "dynamic nJ", "average uW"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in results["sweep"]:
        table.add_row(row["variant"], f"{row['synaptic_ops']:,.0f}", f"{row['dynamic_nj']:,.1f}",
                      f"{row['average_power_uw']:,.2f}")
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
