"""A per-layer table of a :class:`spikelearn.Model`: shapes, parameters, bits, memory, MACs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from spikelearn.model import Model

COLUMNS = ("layer", "output shape", "kernel shape", "parameters", "weight bits",
           "activation bits", "memory (kbit)", "MACs")


def _kernel_shape(layer) -> str:
    shapes = [layer.variables[key].shape for key in ("weights", "depthwise", "pointwise")
              if key in layer.variables]
    return " + ".join("x".join(map(str, shape)) for shape in shapes) or "-"


def summary_rows(model: Model) -> list[dict[str, Any]]:
    """One dict per layer plus a final ``"total"`` row.

    Memory counts weights at their bit width and biases and thresholds at 32 bits, in kbit
    (1000 bits). MACs are dense multiply-accumulates per sample.
    """
    rows = []
    for layer in model.layers:
        count = layer.parameter_count()
        bits = layer.config.get("weight_bits")
        memory = count["weights"] * (bits or 0) + 32 * count["other"]
        rows.append({
            "layer": f"{layer.name} ({type(layer).__name__})",
            "output shape": tuple(layer.output_shape),
            "kernel shape": _kernel_shape(layer),
            "parameters": count["weights"] + count["other"],
            "weight bits": bits,
            "activation bits": layer.activation_bits,
            "memory (kbit)": memory / 1000,
            "MACs": layer.macs(),
        })
    rows.append({
        "layer": "total", "output shape": tuple(model.output_shape), "kernel shape": "",
        "parameters": sum(row["parameters"] for row in rows), "weight bits": None,
        "activation bits": None, "memory (kbit)": sum(row["memory (kbit)"] for row in rows),
        "MACs": sum(row["MACs"] for row in rows),
    })
    return rows


def summary(model: Model, console: Console | None = None) -> Table:
    """Print the layer table of ``model`` with rich and return it.

    Parameters
    ----------
    model : spikelearn.Model
    console : rich.console.Console, optional
        Where to print (default: standard output; 130 columns when it is not a terminal).

    Returns
    -------
    rich.table.Table
    """
    table = Table(title="spikelearn model")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column == "layer",
                         justify="left" if column in ("layer", "kernel shape") else "right")
    rows = summary_rows(model)
    for i, row in enumerate(rows):
        cells = []
        for column in COLUMNS:
            value = row[column]
            if column == "activation bits" and value is None and i < len(rows) - 1:
                value = "int32"
            if isinstance(value, float):
                value = f"{value:.1f}"
            elif isinstance(value, int) and column in ("parameters", "MACs"):
                value = f"{value:,}"
            cells.append("" if value is None else str(value))
        table.add_row(*cells, end_section=i == len(rows) - 2)
    if console is None:
        console = Console()
        if not console.is_terminal:  # files and notebooks: do not squeeze into 80 columns
            console = Console(width=130)
    console.print(table)
    return table
