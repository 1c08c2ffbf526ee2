"""Numba kernels of the integer engine.

Every kernel takes the layer input as a C-contiguous ``uint8`` array ``(n, h, w, c)`` and
processes samples in parallel (``prange``), with int32 accumulators vectorised over output
channels (channels innermost and contiguous). Weights come as int16 where every product is
known to fit 16 bits (then products are computed 16 bits wide, twice the lanes) and as int32
otherwise, so each kernel has at most two compiled signatures.

A kernel writes either activation levels into ``levels`` (``uint8``) or raw potentials into
``potentials`` (``int32``): the caller passes the array it wants filled and an empty
``(0, 0, 0, 0)`` array for the other one. Thresholds are passed transposed, ``thresholds_t``
of shape ``(L, cout)``, so that the threshold count runs over contiguous channels.

``geometry`` is an int64 array ``(stride_h, stride_w, pad_top, pad_left, out_h, out_w)`` where
``out_h, out_w`` are the convolution output sizes (before any pooling).

Dense versus event-driven, measured with ``benchmarks/engine.py`` on the DS-CNN keyword
spotting shape (one core, 1024 samples): all convolutions compute :data:`BLOCK` output
positions at a time so that each weight row is loaded once for several accumulators, which
made them 1.2x (input convolution) to 1.4x (separable) faster than per-position loops that
skip each zero input. Within a block, :func:`conv2d` is event-driven (a weight row is skipped
when its inputs in the block are all zero: measured neutral on the dense 8-bit input, kept
for the sparse spike maps of deeper Conv2D layers); :func:`separable_conv2d` is dense,
because its pointwise stage runs on depthwise sums that are almost never zero and dropping
the test made it 1.15x faster.
:func:`fully_connected`, whose input is a short vector of spikes, skips each zero input.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange


def _jit(**options):
    """``numba.njit`` with on-disk caching when a cache directory is writable.

    A read-only install without a writable user cache makes numba refuse ``cache=True`` at
    decoration time; the kernels then compile in memory instead.
    """

    def decorate(function):
        try:
            return numba.njit(cache=True, **options)(function)
        except RuntimeError:  # no usable cache locator
            return numba.njit(cache=False, **options)(function)

    return decorate


@_jit(inline="always")
def _write(acc, thresholds_t, levels, potentials, s, oy, ox):
    """Write one output position: threshold-count levels, or the raw potentials.

    ``level[o] = #{k : acc[o] >= thresholds_t[k, o]}``.
    """
    cout = acc.shape[0]
    if levels.shape[0] == 0:
        for o in range(cout):
            potentials[s, oy, ox, o] = acc[o]
        return
    out = levels[s, oy, ox]
    out[:] = 0
    for k in range(thresholds_t.shape[0]):
        for o in range(cout):
            out[o] += acc[o] >= thresholds_t[k, o]


#: Output positions computed together: each weight row loaded once feeds BLOCK accumulators.
BLOCK = 4


@_jit(inline="always")
def _emit_block(acc, p0, geometry, global_sum, total, thresholds_t, levels, potentials, s):
    """Write (or add to ``total``) the valid positions of a block of accumulators."""
    out_h, out_w = geometry[4], geometry[5]
    for j in range(BLOCK):
        p = p0 + j
        if p < out_h * out_w:
            if global_sum:
                total += acc[j]
            else:
                _write(acc[j], thresholds_t, levels, potentials, s, p // out_w, p % out_w)


@_jit(inline="always")
def _accumulate(acc, v0, v1, v2, v3, row, narrow):
    """``acc[j] += v_j * row`` for the four positions of a block.

    With ``narrow`` every product is known to fit int16 (checked by the caller from the
    weights and the input maximum), which lets the products be computed 16 bits wide.
    """
    if narrow:
        for o in range(row.shape[0]):
            w = row[o]
            acc[0, o] += np.int16(v0 * w)
            acc[1, o] += np.int16(v1 * w)
            acc[2, o] += np.int16(v2 * w)
            acc[3, o] += np.int16(v3 * w)
    else:
        for o in range(row.shape[0]):
            w = row[o]
            acc[0, o] += v0 * w
            acc[1, o] += v1 * w
            acc[2, o] += v2 * w
            acc[3, o] += v3 * w


@_jit(inline="always")
def _block_matmul(rows, p0, weights, acc, narrow, skip_zeros):
    """``acc[j] += rows[p0 + j] @ weights`` for the :data:`BLOCK` rows of a block.

    With ``skip_zeros`` (event-driven), reduction steps whose four block inputs are all zero
    are skipped.
    """
    for k in range(weights.shape[0]):
        v0, v1, v2, v3 = rows[p0, k], rows[p0 + 1, k], rows[p0 + 2, k], rows[p0 + 3, k]
        if not skip_zeros or v0 != 0 or v1 != 0 or v2 != 0 or v3 != 0:
            _accumulate(acc, v0, v1, v2, v3, weights[k], narrow)


@_jit(parallel=True)
def conv2d(x, weights, bias, thresholds_t, geometry, global_sum, levels, potentials):
    """Direct 2-D convolution with fused activation or global sum; event-driven.

    Per sample, the receptive fields are gathered into int16 rows (``kh * kw * cin`` levels
    per output position), then multiplied by the weights in blocks of :data:`BLOCK` positions
    with int16 products (levels <= 255 times weights <= 127 always fit) and int32
    accumulators. Weight rows whose four block inputs are all zero are skipped (zero
    skipping, see the module notes).

    Parameters
    ----------
    x : uint8 (n, h, w, cin)
    weights : int16 (kh, kw, cin, cout)
    bias : int32 (cout,)
    thresholds_t : int32 (L, cout)
    geometry : int64 (6,)
    global_sum : bool
        Sum the potentials over all output positions before the activation; the output is then
        ``(n, 1, 1, cout)``.
    levels : uint8 (n, oh, ow, cout) or empty
    potentials : int32 (n, oh, ow, cout) or empty
    """
    n, in_h, in_w, _ = x.shape
    kh, kw, cin, cout = weights.shape
    taps = kh * kw * cin
    matrix = weights.reshape(taps, cout)
    sh, sw, pt, pl, out_h, out_w = geometry
    positions = out_h * out_w
    for s in prange(n):
        rows = np.zeros((_blocks(positions) * BLOCK, taps), np.int16)
        for p in range(positions):
            oy, ox = p // out_w, p % out_w
            for ky in range(kh):
                iy = oy * sh - pt + ky
                if 0 <= iy < in_h:
                    for kx in range(kw):
                        ix = ox * sw - pl + kx
                        if 0 <= ix < in_w:
                            start = (ky * kw + kx) * cin
                            for c in range(cin):
                                rows[p, start + c] = x[s, iy, ix, c]
        acc = np.empty((BLOCK, cout), np.int32)
        total = np.zeros(cout, np.int32)
        for p0 in range(0, positions, BLOCK):
            for j in range(BLOCK):
                acc[j] = bias
            _block_matmul(rows, p0, matrix, acc, True, True)
            _emit_block(acc, p0, geometry, global_sum, total, thresholds_t, levels, potentials, s)
        if global_sum:
            _write(total, thresholds_t, levels, potentials, s, 0, 0)


@_jit(inline="always")
def _blocks(positions):
    return (positions + BLOCK - 1) // BLOCK


@_jit(parallel=True)
def separable_conv2d(x, depthwise, pointwise, bias, thresholds_t, geometry, global_sum, narrow,
                     levels, potentials):
    """Depthwise then pointwise convolution with fused activation or global sum; dense.

    The depthwise sums ``D`` (not requantized) of all output positions of a sample are
    computed first, vectorised over channels; the pointwise stage then multiplies ``D`` by the
    pointwise weights in blocks of :data:`BLOCK` positions, densely: ``D`` is nonzero unless
    a whole window is silent (see the module notes).

    Parameters
    ----------
    x : uint8 (n, h, w, cin)
    depthwise : int16 or int32 (kh, kw, cin)
    pointwise : int16 or int32 (cin, cout), same dtype as ``depthwise``
    bias : int32 (cout,)
    thresholds_t : int32 (L, cout)
    geometry : int64 (6,)
    global_sum : bool
    narrow : bool
        Every depthwise sum and every product ``D * pointwise`` fits int16 (then the weights
        are int16, ``D`` is held in int16 and products are computed 16 bits wide).
    levels : uint8 (n, oh, ow, cout) or empty
    potentials : int32 (n, oh, ow, cout) or empty
    """
    n, in_h, in_w, _ = x.shape
    kh, kw, cin = depthwise.shape
    cout = pointwise.shape[1]
    sh, sw, pt, pl, out_h, out_w = geometry
    positions = out_h * out_w
    for s in prange(n):
        depth = np.zeros((_blocks(positions) * BLOCK, cin), depthwise.dtype)
        for oy in range(out_h):
            for ox in range(out_w):
                row = depth[oy * out_w + ox]
                for ky in range(kh):
                    iy = oy * sh - pt + ky
                    if 0 <= iy < in_h:
                        for kx in range(kw):
                            ix = ox * sw - pl + kx
                            if 0 <= ix < in_w:
                                for c in range(cin):
                                    row[c] += x[s, iy, ix, c] * depthwise[ky, kx, c]
        acc = np.empty((BLOCK, cout), np.int32)
        total = np.zeros(cout, np.int32)
        for p0 in range(0, positions, BLOCK):
            for j in range(BLOCK):
                acc[j] = bias
            _block_matmul(depth, p0, pointwise, acc, narrow, False)
            _emit_block(acc, p0, geometry, global_sum, total, thresholds_t, levels, potentials, s)
        if global_sum:
            _write(total, thresholds_t, levels, potentials, s, 0, 0)


@_jit(parallel=True)
def fully_connected(x, weights, bias, thresholds_t, levels, potentials):
    """Fully connected layer on flattened inputs; event-driven (zero inputs skipped).

    Parameters
    ----------
    x : uint8 (n, n_in)
    weights : int32 (n_in, units)
    bias : int32 (units,)
    thresholds_t : int32 (L, units)
    levels : uint8 (n, 1, 1, units) or empty
    potentials : int32 (n, 1, 1, units) or empty
    """
    n, n_in = x.shape
    units = weights.shape[1]
    for s in prange(n):
        acc = bias.copy()
        for i in range(n_in):
            v = np.int32(x[s, i])
            if v != 0:
                for o in range(units):
                    acc[o] += v * weights[i, o]
        _write(acc, thresholds_t, levels, potentials, s, 0, 0)


@_jit(parallel=True)
def max_pool2d(x, pool, geometry):
    """Max pooling of activation levels; padded positions never win.

    Parameters
    ----------
    x : uint8 (n, h, w, c)
    pool : int64 (2,)
        Pool height and width.
    geometry : int64 (6,)
        Pool strides, leading padding and output size.

    Returns
    -------
    uint8 (n, out_h, out_w, c)
    """
    n, in_h, in_w, channels = x.shape
    sh, sw, pt, pl, out_h, out_w = geometry
    out = np.zeros((n, out_h, out_w, channels), np.uint8)
    for s in prange(n):
        for oy in range(out_h):
            for ox in range(out_w):
                for ky in range(pool[0]):
                    iy = oy * sh - pt + ky
                    if iy < 0 or iy >= in_h:
                        continue
                    for kx in range(pool[1]):
                        ix = ox * sw - pl + kx
                        if ix < 0 or ix >= in_w:
                            continue
                        for c in range(channels):
                            out[s, oy, ox, c] = max(out[s, oy, ox, c], x[s, iy, ix, c])
    return out
