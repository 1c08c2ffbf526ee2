"""Calibration of a converted model's spike thresholds on data, before its learning layer.

A 1-bit layer spikes where its integer potential reaches its threshold. After conversion the
thresholds are those the quantized Keras model trained with its dense classifier; a learning
layer that replaces that classifier learns the spikes by competitive plasticity and never
trained with them, so how often the extractor spikes is a free setting of the engine.
:func:`offset_spike_thresholds` moves every channel's threshold by a multiple of the spread
of its potentials on a set of samples (host-side numpy; the engine stays integer-only).
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from spikelearn.model import Model

#: Samples computed at once by :func:`layer_potentials`.
BATCH_SIZE = 4096


def layer_potentials(model: Model, x: np.ndarray, layer: str | int = -1, *,
                     batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The potentials a layer compares with its thresholds (after its pooling, if any).

    Parameters
    ----------
    model : spikelearn.Model
    x : numpy.ndarray of uint8, shape (n,) + model.input_shape
    layer : str or int, default -1
        Name or index of a layer with activation levels.
    batch_size : int, default 4096
        Samples computed at once (bounds the memory of the layer inputs).

    Returns
    -------
    numpy.ndarray of int32, shape (n,) + layer.output_shape

    Raises
    ------
    ValueError
        A bad input batch (see :meth:`spikelearn.Model.check_input`), an unknown layer, a
        layer without activation levels (its output already is its potentials) or one that
        max-pools them.
    """
    x = model.check_input(x)
    index = model.layers.index(model.get_layer(layer))
    target = model.layers[index]
    if target.activation_bits is None:
        raise ValueError(f"layer {target.name!r} has no activation: its outputs are its "
                         "potentials (use Model.forward)")
    if target.config.get("pool") == "max":
        raise ValueError(f"layer {target.name!r} max-pools its activation levels, so no "
                         "potential stands for its output")
    twin = type(target).from_config({**target.get_config(), "activation_bits": None})
    twin.build(target.input_shape)
    for name in twin.variables:
        twin.set_variable(name, target.get_variable(name))
    out = np.empty((len(x), *target.output_shape), np.int32)
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        inputs = batch if index == 0 else model.forward(batch, until=index - 1)
        out[start:start + batch_size] = twin.call(np.ascontiguousarray(inputs))
    return out


def offset_spike_thresholds(model: Model, x: np.ndarray, offset: float,
                            layer: str | int = -1) -> np.ndarray:
    """Move each channel's threshold of a 1-bit layer by ``offset`` standard deviations of
    that channel's potentials on ``x``, in place.

    ``threshold[c] += round(offset * std(potentials[..., c]))``: a negative ``offset`` makes
    the layer spike more often, a positive one less; 0 changes nothing. Do it before the
    layers after it learn (a learning layer compiled and fitted afterwards sees the new
    spikes).

    Parameters
    ----------
    model : spikelearn.Model
    x : numpy.ndarray of uint8, shape (n,) + model.input_shape
        Calibration samples, n >= 1 (for example the training samples of the learning layer).
    offset : float
        In standard deviations of the potentials.
    layer : str or int, default -1
        A layer with 1-bit activations, for example the last one of a feature extractor.

    Returns
    -------
    numpy.ndarray of int32, shape (channels, 1)
        The new thresholds (also stored in the layer).

    Raises
    ------
    ValueError
        ``offset`` not a finite number, no samples, a layer whose activations are not 1-bit,
        or a bad input batch.
    """
    if not isinstance(offset, Real) or isinstance(offset, bool) or not np.isfinite(offset):
        raise ValueError(f"offset must be a finite number, got {offset!r}")
    target = model.get_layer(layer)
    if target.activation_bits != 1:
        raise ValueError(f"offset_spike_thresholds needs a layer with 1-bit activations; "
                         f"layer {target.name!r} has activation_bits {target.activation_bits}")
    if isinstance(x, np.ndarray) and x.ndim and len(x) == 0:
        raise ValueError("offset_spike_thresholds needs at least one calibration sample")
    potentials = layer_potentials(model, x, layer)
    spread = potentials.reshape(-1, potentials.shape[-1]).astype(np.float64).std(axis=0)
    moved = target.get_variable("thresholds").astype(np.int64) + np.round(
        offset * spread).astype(np.int64)[:, None]
    info = np.iinfo(np.int32)
    target.set_variable("thresholds", np.clip(moved, info.min, info.max))
    return target.get_variable("thresholds")
