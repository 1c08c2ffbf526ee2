"""Deployment commands: ``cost`` (energy and power estimate) and ``export`` (C99)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from spikelearn.cli._common import (
    JSON_OPTION,
    QUIET_OPTION,
    Report,
    key_value_table,
    load_model,
    user_errors,
)
from spikelearn.errors import DataError


@user_errors
def cost_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    data: str = typer.Option(..., "--data", "-d", help=(
        "Representative inputs: an .npz with 'x' (or 'features') uint8 of the model's input "
        "shape; labels are not needed.")),
    profile: str = typer.Option("accelerator-22nm", "--profile", "-p", help=(
        "Device profile: accelerator-22nm or cortex-m4 (see spikelearn.energy).")),
    rate: float = typer.Option(50.0, "--rate", help="Inferences per second (50: 20 ms hops)."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Estimate energy per inference and average power from the engine's own statistics.

    Example: ``spikelearn cost kws.slm --data test.npz --profile cortex-m4 --rate 50``
    """
    from spikelearn.energy import estimate, get_profile
    from spikelearn.export import footprint

    engine = load_model(model)
    device = get_profile(profile)
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {data}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x = arrays["x"] if "x" in arrays.files else arrays.get("features")
    except (OSError, ValueError, AttributeError) as error:
        raise DataError(f"{path} is not an .npz file of features ({error})") from None
    if x is None:
        raise DataError(f"{path} needs an array 'x' (or 'features')")
    report = Report(json_output, quiet)
    result = estimate(engine, engine.statistics(engine.check_input(x)), device, rate=rate)
    result["footprint"] = footprint(engine)
    report.json(result)
    table = Table(title=f"{Path(model).name} on {device.name}, {len(x)} inputs, {rate:g}/s")
    for column in ("layer", "synaptic ops", "ops pJ", "memory pJ", "neuron pJ", "total nJ"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for name, values in result["layers"].items():
        table.add_row(name, f"{values['synaptic_ops']:,.0f}", f"{values['ops_pj']:,.0f}",
                      f"{values['memory_pj']:,.0f}", f"{values['neuron_pj']:,.0f}",
                      f"{values['total_pj'] / 1e3:,.2f}")
    report.table(table)
    report.line(f"{result['energy_per_inference_nj']:,.1f} nJ per inference, "
                f"{result['average_power_uw']:,.2f} uW average at {rate:g} inferences/s "
                f"(static {result['static_uw']:.3f} uW); estimate, see 'spikelearn.energy'")


@user_errors
def export_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    c_dir: str = typer.Option(..., "--c", help="Folder for the C99 export (slm_model.h/.c)."),
    extra_classes: int = typer.Option(8, "--extra-classes", min=0, help=(
        "Classes slm_add_class may add on the device (sizes the RAM state).")),
    harness: bool = typer.Option(False, "--harness", help="Also write the test harness C file."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Export a model to dependency-free C99 and print its flash and RAM footprint.

    Example: ``spikelearn export kws.slm --c out/``
    """
    from spikelearn.export import export_c

    result = export_c(load_model(model), c_dir, extra_classes=extra_classes, harness=harness)
    report = Report(json_output, quiet)
    files = [str(result[key]) for key in ("header", "source", "harness") if key in result]
    report.json({"files": files, "footprint": result["footprint"]})
    flash, ram = result["footprint"]["flash"], result["footprint"]["ram"]
    report.table(key_value_table(f"C export of {Path(model).name}", {
        "flash bytes": {key: flash[key] for key in ("weights", "biases_thresholds", "learning",
                                                    "total")},
        "RAM bytes": {key: ram[key] for key in ("activations", "learning_state", "total")}}))
    report.line(f"wrote {', '.join(files)}")
