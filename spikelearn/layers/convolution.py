"""Standard convolutions: :class:`Conv2D` and the model-input :class:`InputConv2D`."""

from __future__ import annotations

import numpy as np

from spikelearn.layers import kernels
from spikelearn.layers.base import (
    INT32_MAX,
    INT32_MIN,
    SpatialLayer,
    VariableSpec,
    check_input_bits,
    check_input_shape,
    weight_range,
)


class Conv2D(SpatialLayer):
    """2-D convolution of activation levels with integer weights.

    ``P[y, x, o] = sum_{ky, kx, c} weights[ky, kx, c, o] * a[y*s + ky - pad, x*s + kx - pad, c]
    + bias[o]`` in int32; with ``activation_bits = b`` the output level is the number of the
    ``2**b - 1`` thresholds of channel ``o`` that ``P`` reaches.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int or (int, int)
    strides : int or (int, int), default 1
    padding : {'same', 'valid'}, default 'same'
        TensorFlow semantics.
    weight_bits : {1, 2, 4, 8}, default 4
    activation_bits : {1, 2, 4, 8} or None, default 4
        None: int32 potential output (last layer only).
    pool : {'none', 'max', 'global_avg'}, default 'none'
    pool_size, pool_stride : int or (int, int)
        Max pooling window and stride (stride defaults to the window).
    pool_padding : {'valid', 'same'}, default 'valid'
    name : str, optional

    Notes
    -----
    Variables: ``weights`` int8 ``(kh, kw, cin, filters)``, ``bias`` int32 ``(filters,)``,
    ``thresholds`` int32 ``(filters, 2**activation_bits - 1)``. The kernel is event-driven:
    weight rows that meet only zero input levels are skipped (see
    :func:`spikelearn.layers.kernels.conv2d`).
    """

    def variable_specs(self):
        self._require_built()
        (kh, kw), cout = self.config["kernel_size"], self.config["filters"]
        low, high = weight_range(self.config["weight_bits"])
        return {
            "weights": VariableSpec((kh, kw, self.input_shape[2], cout), np.int8, low, high),
            "bias": VariableSpec((cout,), np.int32, INT32_MIN, INT32_MAX),
            **self._threshold_spec(cout),
        }

    def _kernel(self, x, geometry, global_sum, levels, potentials):
        kernels.conv2d(x, self.variables["weights"].astype(np.int16), self.variables["bias"],
                       self._thresholds_t(self.config["filters"]), geometry, global_sum, levels,
                       potentials)

    def macs(self):
        kh, kw = self.config["kernel_size"]
        return self._conv_positions() * kh * kw * self.input_shape[2] * self.config["filters"]

    def synaptic_ops(self, x):
        covering = self._positions_covering() * self.config["filters"]
        return np.einsum("nhwc,hw->n", x != 0, covering)

class InputConv2D(Conv2D):
    """First layer of a model: a :class:`Conv2D` applied to the uint8 model input.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(h, w, c)`` of the model input.
    filters, kernel_size
        As :class:`Conv2D`.
    input_bits : int, default 8
        Input values must be ``<= 2**input_bits - 1``.
    weight_bits : {1, 2, 4, 8}, default 8
    **options
        ``strides``, ``padding``, ``activation_bits``, ``pool``, ... as :class:`Conv2D`.
    """

    is_input_layer = True

    def __init__(self, input_shape, filters, kernel_size, *, strides=1, padding="same",
                 input_bits=8, weight_bits=8, activation_bits=4, pool="none", pool_size=2,
                 pool_stride=None, pool_padding="valid", name=None):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         weight_bits=weight_bits, activation_bits=activation_bits, pool=pool,
                         pool_size=pool_size, pool_stride=pool_stride, pool_padding=pool_padding,
                         name=name)
        self.config.update(input_shape=check_input_shape(input_shape, name),
                           input_bits=check_input_bits(input_bits, name))
