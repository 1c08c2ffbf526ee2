"""Activation sparsity and synaptic-operation counts of a :class:`spikelearn.Model`.

Everything is gathered from one forward pass: each layer's input and output batches are
observed as they are computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from spikelearn.model import Model


def model_statistics(model: Model, x: np.ndarray, *, batch_size: int = 1024) -> dict[str, Any]:
    """Per-layer sparsity and operations of ``model`` on ``x``.

    Parameters
    ----------
    model : spikelearn.Model
    x : numpy.ndarray of uint8, shape (n,) + model.input_shape
    batch_size : int, default 1024

    Returns
    -------
    dict
        ``"layers"``: dict layer name -> dict with ``input_sparsity`` and ``output_sparsity``
        (fraction of zero elements), ``synaptic_ops`` (mean per sample: operations of the input
        events, see :meth:`spikelearn.layers.Layer.synaptic_ops`), ``dense_macs`` (per sample)
        and ``ops_ratio`` (synaptic_ops / dense_macs, 0 when no MACs);
        ``"avg_spikes_to_last_layer"``: mean number of nonzero levels per sample fed to the last
        layer; ``"synaptic_ops"`` and ``"dense_macs"``: model totals per sample.
    """
    layers = model.layers
    zeros_in = np.zeros(len(layers), np.int64)
    zeros_out = np.zeros(len(layers), np.int64)
    ops = np.zeros(len(layers), np.int64)
    n = len(x)

    def observe(index, layer_input, layer_output):
        zeros_in[index] += layer_input.size - np.count_nonzero(layer_input)
        zeros_out[index] += layer_output.size - np.count_nonzero(layer_output)
        ops[index] += int(layers[index].synaptic_ops(layer_input).sum())

    model._run(x, batch_size=batch_size, observe=observe)
    per_layer = {}
    for index, layer in enumerate(layers):
        macs = layer.macs()
        synaptic = ops[index] / n if n else 0.0
        per_layer[layer.name] = {
            "input_sparsity": float(zeros_in[index] / max(n * np.prod(layer.input_shape), 1)),
            "output_sparsity": float(zeros_out[index] / max(n * np.prod(layer.output_shape), 1)),
            "synaptic_ops": float(synaptic),
            "dense_macs": int(macs),
            "ops_ratio": float(synaptic / macs) if macs else 0.0,
        }
    last = layers[-1]
    spikes = np.prod(last.input_shape) * (1 - per_layer[last.name]["input_sparsity"])
    return {
        "layers": per_layer,
        "avg_spikes_to_last_layer": float(spikes),
        "synaptic_ops": float(sum(stats["synaptic_ops"] for stats in per_layer.values())),
        "dense_macs": int(sum(stats["dense_macs"] for stats in per_layer.values())),
    }


def evaluate_sparsity(model: Model, x: np.ndarray, *, batch_size: int = 1024) -> dict[str, float]:
    """Output sparsity (fraction of zero levels) of each layer of ``model`` on ``x``.

    Parameters
    ----------
    model : spikelearn.Model
    x : numpy.ndarray of uint8, shape (n,) + model.input_shape

    Returns
    -------
    dict of str to float
        Layer name -> fraction of zero elements in its output.
    """
    layers = model.layers
    zeros = np.zeros(len(layers), np.int64)

    def observe(index, layer_input, layer_output):
        zeros[index] += layer_output.size - np.count_nonzero(layer_output)

    model._run(x, batch_size=batch_size, observe=observe)
    return {layer.name: float(zeros[i] / max(len(x) * np.prod(layer.output_shape), 1))
            for i, layer in enumerate(layers)}
