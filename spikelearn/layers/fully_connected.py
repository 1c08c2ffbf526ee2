"""The :class:`FullyConnected` layer (also the on-device learning layer)."""

from __future__ import annotations

import numpy as np

from spikelearn.layers import kernels
from spikelearn.layers.base import (
    INT32_MAX,
    INT32_MIN,
    SUPPORTED_ACTIVATION_BITS,
    SUPPORTED_WEIGHT_BITS,
    Layer,
    VariableSpec,
    check_choice,
    weight_range,
)


class FullyConnected(Layer):
    """Dense layer on the flattened (NHWC order, like Keras ``Flatten``) input levels.

    ``P[o] = sum_i weights[i, o] * a[i] + bias[o]`` (int32); output ``(1, 1, units)``.

    Parameters
    ----------
    units : int
    weight_bits : {1, 2, 4, 8}, default 4
        1: unsigned ``{0, 1}`` connection masks (the learning layer's format).
    activation_bits : {1, 2, 4, 8} or None, default None
        None: int32 potential output (last layer only).
    name : str, optional

    Notes
    -----
    Variables: ``weights`` int8 ``(n_in, units)``, ``bias`` int32 ``(units,)``,
    ``thresholds`` int32 ``(units, 2**activation_bits - 1)`` when activated, and
    ``output_scale`` float32 ``(units,)`` used only by :meth:`spikelearn.Model.predict`.
    Zero inputs are skipped (event-driven, see
    :func:`spikelearn.layers.kernels.fully_connected`).
    """

    def __init__(self, units, *, weight_bits=4, activation_bits=None, name=None):
        super().__init__(name=name)
        shown = name or type(self).__name__
        if int(units) != units or units < 1:
            raise ValueError(f"layer {shown!r}: units must be a positive int, got {units!r}")
        check_choice(weight_bits, SUPPORTED_WEIGHT_BITS, "weight_bits", shown)
        if activation_bits is not None:
            check_choice(activation_bits, SUPPORTED_ACTIVATION_BITS, "activation_bits", shown)
        self.config.update(units=int(units), weight_bits=weight_bits,
                           activation_bits=activation_bits)

    def variable_specs(self):
        self._require_built()
        units = self.config["units"]
        low, high = weight_range(self.config["weight_bits"])
        return {
            "weights": VariableSpec((int(np.prod(self.input_shape)), units), np.int8, low, high),
            "bias": VariableSpec((units,), np.int32, INT32_MIN, INT32_MAX),
            **self._threshold_spec(units),
            "output_scale": VariableSpec((units,), np.float32),
        }

    def _output_shape(self, input_shape):
        return (1, 1, self.config["units"])

    def call(self, x):
        self._require_built()
        units = self.config["units"]
        levels, potentials = self._outputs(x.shape[0], self.output_shape)
        weights = self.variables["weights"].astype(np.int32)
        kernels.fully_connected(x.reshape(x.shape[0], -1), weights, self.variables["bias"],
                                self._thresholds_t(units), levels, potentials)
        return potentials if self.activation_bits is None else levels

    def macs(self):
        return int(np.prod(self.input_shape)) * self.config["units"]

    def synaptic_ops(self, x):
        return np.count_nonzero(x.reshape(x.shape[0], -1), axis=1) * self.config["units"]
