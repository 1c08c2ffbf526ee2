"""Random integer variables for the engine tests' models (shared by several test files)."""

from __future__ import annotations

import numpy as np


def randomize_layer(layer, rng, *, bias=None, thresholds=(0, 60)):
    """Give ``layer`` random in-range weights, biases and sorted thresholds.

    Parameters
    ----------
    layer : spikelearn.layers layer, built
    rng : numpy.random.Generator
    bias : int or None
        Biases drawn from ``[-bias, bias]``; None leaves them as built (zeros).
    thresholds : (int, int)
        Thresholds drawn from ``[low, high)`` and sorted along each channel.
    """
    for name, spec in layer.variable_specs().items():
        if name in ("weights", "depthwise", "pointwise"):
            layer.set_variable(name, rng.integers(spec.low, spec.high + 1, spec.shape))
        elif name == "bias" and bias is not None:
            layer.set_variable(name, rng.integers(-bias, bias + 1, spec.shape))
        elif name == "thresholds":
            layer.set_variable(name, np.sort(rng.integers(*thresholds, spec.shape), axis=1))
    return layer


def randomize_model(model, rng, **options):
    """:func:`randomize_layer` on every layer of ``model`` (in order); returns ``model``."""
    for layer in model.layers:
        randomize_layer(layer, rng, **options)
    return model
