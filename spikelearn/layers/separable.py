"""Depthwise-separable convolution: :class:`SeparableConv2D`."""

from __future__ import annotations

import numpy as np

from spikelearn.layers import kernels
from spikelearn.layers.base import (
    INT32_MAX,
    INT32_MIN,
    SpatialLayer,
    VariableSpec,
    fits_int16,
    input_max,
    weight_range,
)


class SeparableConv2D(SpatialLayer):
    """Depthwise convolution (multiplier 1) followed by a pointwise convolution.

    ``D[y, x, c] = sum_{ky, kx} depthwise[ky, kx, c] * a[y*s + ky - pad, x*s + kx - pad, c]``
    (int32, not requantized), then ``P[y, x, o] = sum_c pointwise[c, o] * D[y, x, c] + bias[o]``
    and the threshold-count activation of :class:`~spikelearn.layers.Conv2D`.

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int or (int, int), default 3
    strides, padding, activation_bits, pool, pool_size, pool_stride, pool_padding, name
        As :class:`~spikelearn.layers.Conv2D`.
    weight_bits : {1, 2, 4, 8}, default 4
        Bits of both the depthwise and the pointwise weights.

    Notes
    -----
    Variables: ``depthwise`` int8 ``(kh, kw, cin)``, ``pointwise`` int8 ``(cin, filters)``,
    ``bias`` int32 ``(filters,)``, ``thresholds`` int32 ``(filters, 2**activation_bits - 1)``.
    The kernel is dense: the pointwise stage runs on depthwise sums, which are almost never
    zero (see :func:`spikelearn.layers.kernels.separable_conv2d`).
    """

    def __init__(self, filters, kernel_size=3, *, strides=1, padding="same", weight_bits=4,
                 activation_bits=4, pool="none", pool_size=2, pool_stride=None,
                 pool_padding="valid", name=None):
        super().__init__(filters, kernel_size, strides=strides, padding=padding,
                         weight_bits=weight_bits, activation_bits=activation_bits, pool=pool,
                         pool_size=pool_size, pool_stride=pool_stride, pool_padding=pool_padding,
                         name=name)

    def variable_specs(self):
        self._require_built()
        (kh, kw), cout = self.config["kernel_size"], self.config["filters"]
        cin = self.input_shape[2]
        low, high = weight_range(self.config["weight_bits"])
        return {
            "depthwise": VariableSpec((kh, kw, cin), np.int8, low, high),
            "pointwise": VariableSpec((cin, cout), np.int8, low, high),
            "bias": VariableSpec((cout,), np.int32, INT32_MIN, INT32_MAX),
            **self._threshold_spec(cout),
        }

    def _kernel(self, x, geometry, global_sum, levels, potentials):
        depthwise = self.variables["depthwise"].astype(np.int32)
        pointwise = self.variables["pointwise"].astype(np.int32)
        depth_bound = input_max(x) * np.abs(depthwise).sum(axis=(0, 1))  # (cin,)
        narrow = fits_int16(depth_bound.max(initial=0)) and fits_int16(
            (depth_bound * np.abs(pointwise).max(axis=1, initial=0)).max(initial=0))
        dtype = np.int16 if narrow else np.int32
        kernels.separable_conv2d(
            x, depthwise.astype(dtype), pointwise.astype(dtype), self.variables["bias"],
            self._thresholds_t(self.config["filters"]), geometry, global_sum, narrow, levels,
            potentials)

    def depthwise_coverage(self) -> np.ndarray:
        """int64 (h, w, cin): the depthwise weights that read each input position, added up
        over every output position, so that ``sum_{y, x} D[y, x, c]`` equals
        ``sum_{y, x} a[y, x, c] * coverage[y, x, c]``."""
        geometry, (out_h, out_w) = self._window(self.input_shape)
        (kh, kw), (sh, sw, pad_top, pad_left) = self.config["kernel_size"], geometry[:4]
        in_h, in_w, _ = self.input_shape
        depthwise = self.variables["depthwise"].astype(np.int64)
        coverage = np.zeros(self.input_shape, np.int64)
        for ky in range(kh):
            rows = np.arange(out_h) * sh - pad_top + ky
            rows = rows[(rows >= 0) & (rows < in_h)]
            for kx in range(kw):
                cols = np.arange(out_w) * sw - pad_left + kx
                cols = cols[(cols >= 0) & (cols < in_w)]
                coverage[np.ix_(rows, cols)] += depthwise[ky, kx]
        return coverage

    def macs(self):
        kh, kw = self.config["kernel_size"]
        cin = self.input_shape[2]
        return self._conv_positions() * cin * (kh * kw + self.config["filters"])

    def synaptic_ops(self, x):
        """Depthwise operations of the input events plus pointwise operations of the active
        windows (a depthwise sum with at least one event in its window) times ``filters``."""
        events = x != 0
        depthwise = np.einsum("nhwc,hw->n", events, self._positions_covering())
        geometry, (out_h, out_w) = self._window(self.input_shape)
        (kh, kw), (sh, sw, pad_top, pad_left) = self.config["kernel_size"], geometry[:4]
        padded = np.pad(events, ((0, 0), (pad_top, kh), (pad_left, kw), (0, 0)))
        active = np.zeros((x.shape[0], out_h, out_w, x.shape[3]), bool)
        for ky in range(kh):
            for kx in range(kw):
                active |= padded[:, ky:ky + out_h * sh:sh, kx:kx + out_w * sw:sw]
        return depthwise + active.sum(axis=(1, 2, 3)) * self.config["filters"]
