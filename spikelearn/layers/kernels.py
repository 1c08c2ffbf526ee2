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
    if levels.shape[0] == 0:
        for o in range(acc.shape[0]):
            potentials[s, oy, ox, o] = acc[o]
    else:
        activate(acc, thresholds_t, levels[s, oy, ox])


@_jit(inline="always")
def activate(acc, thresholds_t, out):
    """Threshold-count activation ``out[o] = #{k : acc[o] >= thresholds_t[k, o]}``.

    Parameters
    ----------
    acc : int32 (cout,)
    thresholds_t : int32 (L, cout)
    out : uint8 (cout,)
    """
    out[:] = 0
    for k in range(thresholds_t.shape[0]):
        for o in range(acc.shape[0]):
            out[o] += acc[o] >= thresholds_t[k, o]


@_jit(inline="always")
def depthwise_sums(x, depthwise, oy, ox, geometry, out):
    """Add the depthwise sums of output position ``(oy, ox)`` to ``out``.

    ``out[c] += sum_{ky, kx} x[oy*sh - pt + ky, ox*sw - pl + kx, c] * depthwise[ky, kx, c]``
    over the taps inside the input.

    Parameters
    ----------
    x : uint8 (h, w, cin)
        One sample.
    depthwise : int16 or int32 (kh, kw, cin)
    oy, ox : int
    geometry : int64 (6,)
    out : integer (cin,)
    """
    in_h, in_w, cin = x.shape
    kh, kw = depthwise.shape[0], depthwise.shape[1]
    y0, x0 = oy * geometry[0] - geometry[2], ox * geometry[1] - geometry[3]
    for ky in range(kh):
        iy = y0 + ky
        if 0 <= iy < in_h:
            for kx in range(kw):
                ix = x0 + kx
                if 0 <= ix < in_w:
                    for c in range(cin):
                        out[c] += x[iy, ix, c] * depthwise[ky, kx, c]


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
def block_matmul(rows, p0, weights, acc, narrow, skip_zeros):
    """``acc[j] += rows[p0 + j] @ weights`` for the :data:`BLOCK` rows of a block.

    With ``skip_zeros`` (event-driven), reduction steps whose four block inputs are all zero
    are skipped.
    """
    for k in range(weights.shape[0]):
        v0, v1, v2, v3 = rows[p0, k], rows[p0 + 1, k], rows[p0 + 2, k], rows[p0 + 3, k]
        if not skip_zeros or v0 != 0 or v1 != 0 or v2 != 0 or v3 != 0:
            _accumulate(acc, v0, v1, v2, v3, weights[k], narrow)


@_jit(inline="always")
def _blocked_output(rows, weights, bias, narrow, skip_zeros, geometry, global_sum, thresholds_t,
                    levels, potentials, s):
    """Potentials ``rows[p] @ weights + bias`` of every output position of sample ``s``,
    :data:`BLOCK` positions at a time, then :func:`_write` (after the sum over positions for
    a global sum)."""
    cout = weights.shape[1]
    acc = np.empty((BLOCK, cout), np.int32)
    total = np.zeros(cout, np.int32)
    for p0 in range(0, geometry[4] * geometry[5], BLOCK):
        for j in range(BLOCK):
            acc[j] = bias
        block_matmul(rows, p0, weights, acc, narrow, skip_zeros)
        _emit_block(acc, p0, geometry, global_sum, total, thresholds_t, levels, potentials, s)
    if global_sum:
        _write(total, thresholds_t, levels, potentials, s, 0, 0)


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
        _blocked_output(rows, matrix, bias, True, True, geometry, global_sum, thresholds_t,
                        levels, potentials, s)


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
    n = x.shape[0]
    cin = depthwise.shape[2]
    out_h, out_w = geometry[4], geometry[5]
    for s in prange(n):
        sample = x[s]
        depth = np.zeros((_blocks(out_h * out_w) * BLOCK, cin), depthwise.dtype)
        for oy in range(out_h):
            for ox in range(out_w):
                depthwise_sums(sample, depthwise, oy, ox, geometry, depth[oy * out_w + ox])
        _blocked_output(depth, pointwise, bias, narrow, False, geometry, global_sum,
                        thresholds_t, levels, potentials, s)


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


#: Columns of a :func:`fused_forward` plan row (one row per layer).
PLAN_FIELDS = ("kind", "in_h", "in_w", "cin", "out_h", "out_w", "cout", "kh", "kw", "sh", "sw",
               "pad_top", "pad_left", "global_sum", "levels", "weights", "depthwise", "bias",
               "thresholds", "spacing", "irregular", "narrow")
#: Layer kinds of a plan row: identity (``InputData``), convolution, separable, fully connected.
IDENTITY, CONV, SEPARABLE, DENSE = 0, 1, 2, 3
#: Largest magnitude of an integer sum that float32 holds exactly (every partial sum of a
#: dot product of integers bounded by this is an exact float32, in any summation order).
FLOAT32_EXACT = 2**24


@_jit(inline="always")
def _gather(kind, row, src, dw, gin):
    """Fill ``gin`` (positions, taps) float32 with the GEMM input of one layer and one sample.

    Convolution: the zero-padded receptive field of each output position (im2col);
    separable: the depthwise sums (exact integers); dense: the flattened input.

    Indices are unsigned (``numpy.uint64``) so that numba emits no negative-index wraparound,
    which kept the inner loops from vectorising. Measured per sample on the zoo DS-CNN, one
    thread, against loops over per-position slices: im2col 11 -> 4 us, the depthwise sums of
    a separable layer 10 -> 6 us.
    """
    in_h, in_w, cin, out_h, out_w = row[1], row[2], row[3], row[4], row[5]
    kh, kw, sh, sw, pt, pl = row[7], row[8], row[9], row[10], row[11], row[12]
    if kind == DENSE:
        for i in range(in_h * in_w * cin):
            gin[i] = src[i]
        return
    width = kh * kw * cin if kind == CONV else cin  # GEMM input columns per position
    gin[:out_h * out_w * width] = 0
    for oy in range(out_h):
        for ky in range(kh):
            iy = oy * sh - pt + ky
            if iy < 0 or iy >= in_h:
                continue
            for ox in range(out_w):
                x0 = ox * sw - pl
                k0, k1 = max(0, -x0), min(kw, in_w - x0)  # taps inside the input
                if k1 <= k0:
                    continue
                if kind == CONV:  # taps k0..k1 of this kernel row: one contiguous run
                    out = np.uint64((((oy * out_w + ox) * kh + ky) * kw + k0) * cin)
                    at = np.uint64((iy * in_w + x0 + k0) * cin)
                    for j in range(np.uint64((k1 - k0) * cin)):
                        gin[out + j] = src[at + j]
                    continue
                out = np.uint64((oy * out_w + ox) * cin)
                for kx in range(k0, k1):
                    at = np.uint64((iy * in_w + x0 + kx) * cin)
                    tap = np.uint64((ky * kw + kx) * cin)
                    for c in range(np.uint64(cin)):
                        gin[out + c] += np.float32(src[at + c]) * dw[tap + c]


@_jit(inline="always")
def _finish(row, gout, bias, thresholds_t, spacing, narrow, pot, dst_levels, dst_potentials):
    """Integer potentials ``int32(gout) + bias`` (summed over positions for a global sum;
    for a separable layer with a global sum, the potentials already in ``pot``), then the
    threshold-count levels into ``dst_levels`` or the potentials into ``dst_potentials``.

    ``spacing`` (used when the plan's ``spacing`` offset is not negative) holds the
    multipliers, starts and steps of :func:`_spaced_levels` (cout each), then the plan's
    ``irregular`` channels whose thresholds have no closed form: levels are computed in
    closed form for every channel, then counted again for those channels.

    ``narrow`` (used when the plan's ``narrow`` offset is not negative, a layer without a
    global sum) holds the same closed form in float32, ``bias, M, A, D`` (cout each),
    exact for every reachable potential (see ``spikelearn.model._narrow_spacing``): twice
    the SIMD lanes of the float64 form and no int32 round trip.
    """
    cout, count = row[6], row[14]
    positions = row[4] * row[5]
    if row[0] == SEPARABLE and row[13]:  # pot already holds the sum (_separable_global_sum)
        _emit(row, pot[:cout], thresholds_t, spacing, dst_levels, dst_potentials)
        return
    if row[21] >= 0:
        top = np.float32(count)
        for p in range(positions):
            base = p * cout
            level = dst_levels[base:base + cout]
            for o in range(cout):
                quotient = ((gout[base + o] + narrow[o]) * narrow[cout + o]
                            - narrow[2 * cout + o]) / narrow[3 * cout + o]
                level[o] = np.uint8(min(max(np.floor(quotient) + np.float32(1.0),
                                            np.float32(0.0)), top))
            for j in range(row[20]):
                o = np.int64(spacing[3 * cout + j])
                potential = np.int32(gout[base + o]) + bias[o]
                level[o] = 0
                for k in range(count):
                    level[o] += potential >= thresholds_t[k * cout + o]
        return
    if row[13]:
        pot[:cout] = 0
        for p in range(positions):
            for o in range(cout):
                pot[o] += np.int32(gout[p * cout + o]) + bias[o]
        _emit(row, pot[:cout], thresholds_t, spacing, dst_levels, dst_potentials)
        return
    for p in range(positions):
        base = p * cout
        for o in range(cout):
            pot[o] = np.int32(gout[base + o]) + bias[o]
        _emit(row, pot[:cout], thresholds_t, spacing, dst_levels[base:base + cout],
              dst_potentials[base:base + cout])


@_jit(inline="always")
def _emit(row, pot, thresholds_t, spacing, level, potential):
    """Write one output position of potentials ``pot`` (int32, cout): the threshold-count
    levels into ``level`` (closed form for the regular channels, see :func:`_finish`), or
    ``pot`` itself into ``potential`` for a layer without activation."""
    cout, count = row[6], row[14]
    if count == 0:
        potential[:cout] = pot
    elif row[19] < 0:
        _count_levels(pot, thresholds_t, count, level[:cout])
    else:
        _spaced_levels(pot, spacing[:cout], spacing[cout:2 * cout], spacing[2 * cout:3 * cout],
                       count, level[:cout])
        for j in range(row[20]):
            o = np.int64(spacing[3 * cout + j])
            level[o] = 0
            for k in range(count):
                level[o] += pot[o] >= thresholds_t[k * cout + o]


@_jit(inline="always")
def _separable_global_sum(row, src, coverage, pointwise, bias, wide, pot):
    """Potentials of a separable layer with a global sum, without its positions.

    The sum over output positions is linear before the activation:
    ``sum_p (D[p] @ pointwise + bias) = (sum_{y, x} a[y, x] * coverage[y, x]) @ pointwise
    + positions * bias``, where ``coverage[y, x, c]`` adds up the depthwise weights that read
    input ``(y, x)`` (see ``SeparableConv2D.depthwise_coverage``). Computed in float64, exact:
    the plan checks that every sum stays below ``2**31``.

    Parameters
    ----------
    row : int64 (len(PLAN_FIELDS),)
    src : uint8 (h * w * cin,)
    coverage : float32 (h * w * cin,)
    pointwise : float32 (cin * cout,)
    bias : int32 (cout,)
    wide : float64 (>= cin + cout,)
        Scratch space.
    pot : int32 (>= cout,)
        Receives the potentials.
    """
    in_h, in_w, cin, cout = row[1], row[2], row[3], row[6]
    sums, total = wide[:cin], wide[cin:cin + cout]
    sums[:] = 0
    for q in range(in_h * in_w):
        levels, weights = src[q * cin:(q + 1) * cin], coverage[q * cin:(q + 1) * cin]
        for c in range(cin):
            sums[c] += np.float64(levels[c]) * weights[c]
    for o in range(cout):
        total[o] = np.float64(row[4] * row[5]) * bias[o]
    for c in range(cin):
        if sums[c] != 0:
            weights = pointwise[c * cout:(c + 1) * cout]
            for o in range(cout):
                total[o] += sums[c] * weights[o]
    for o in range(cout):
        pot[o] = np.int32(total[o])


@_jit(inline="always")
def _count_levels(pot, thresholds_t, count, level):
    """``level[o] = #{k : pot[o] >= thresholds_t[k * cout + o]}`` for all channels."""
    cout = pot.shape[0]
    level[:] = 0
    for k in range(count):
        for o in range(cout):
            level[o] += pot[o] >= thresholds_t[k * cout + o]


@_jit(inline="always")
def _spaced_levels(pot, multiplier, start, step, count, level):
    """Closed-form levels of the thresholds ``ceil((start[o] + k * step[o]) / multiplier[o])``:
    ``clip(floor((multiplier * pot - start) / step) + 1, 0, count)``.

    ``multiplier``, ``start`` and ``step`` are float64 holding integers, with
    ``|multiplier * pot - start| < 2**53``: the numerator is then exact and the floor of its
    float64 quotient too (a quotient ``q + r / step``, ``0 < r < step``, stays at least
    ``1 / step`` below ``q + 1``, far more than the rounding error ``|q| * 2**-53``; integer
    quotients are exact). Unlike integer division, this vectorises.
    """
    top = np.float64(count)
    for o in range(pot.shape[0]):
        quotient = (np.float64(pot[o]) * multiplier[o] - start[o]) / step[o]
        level[o] = np.uint8(min(max(np.floor(quotient) + 1.0, 0.0), top))


# No zero-division checks (they stop vectorising); fused multiply-adds are exact here, as
# every product and sum is an integer float32 or float64 holds exactly.
@_jit(parallel=True, error_model="numpy", fastmath={"contract"})
def fused_forward(x, plan, floats, ints, spacings, sizes, chunks, levels, potentials):
    """Run a whole stack of layers on each sample, the samples spread over threads.

    Each thread takes ``chunks`` contiguous runs of samples and computes every layer of a
    sample before the next sample, in thread-local buffers that stay in cache. Every layer is
    one float32 GEMM (``numpy.dot``, BLAS) of exact integers: the caller only builds a plan
    when every partial sum is bounded by :data:`FLOAT32_EXACT`, so the results equal the int32
    arithmetic of the layer kernels bit for bit. A separable layer with a global sum skips its
    positions instead (:func:`_separable_global_sum`, float64). With the unsigned indices of
    :func:`_gather`, this made the zoo DS-CNN's feature extractor 1.4x faster (median of five
    alternating runs of 6,000 samples on two threads: 19,400 -> 27,100 samples/s). The caller
    limits BLAS to one thread (the worker threads are numba's). Measured on the DS-CNN:
    batching 2 to 8 samples per GEMM is slower than one sample's 125-row GEMM, whose buffers
    stay in the L1/L2 caches.

    Parameters
    ----------
    x : uint8 (n, size_in)
        Flattened model inputs.
    plan : int64 (layers, len(PLAN_FIELDS))
        One row per layer, see :data:`PLAN_FIELDS` (offsets index ``floats`` and ``ints``).
    floats : float32 (m,)
        GEMM weights ``(taps, cout)``, depthwise weights ``(kh, kw, cin)`` (a separable layer
        with a global sum: its depthwise coverage ``(h, w, cin)`` instead) and float32
        closed-form activations (see :func:`_finish`) of all layers.
    ints : int32 (k,)
        Biases and transposed thresholds ``(L, cout)`` of all layers.
    spacings : float64 (j,)
        Closed-form threshold spacings of the layers that have one (see :func:`_finish`).
    sizes : int64 (3,)
        Largest layer activation, GEMM input and GEMM output sizes (buffer sizes).
    chunks : int
        Number of sample runs (a few per thread balances a loaded machine).
    levels : uint8 (n, size_out) or empty
    potentials : int32 (n, size_out) or empty
    """
    n = x.shape[0]
    last = plan.shape[0] - 1
    for chunk in prange(chunks):
        buffers = np.zeros((2, sizes[0]), np.uint8)
        gin = np.zeros(sizes[1], np.float32)
        gout = np.zeros(sizes[2], np.float32)
        pot = np.zeros(plan[:, 6].max(), np.int32)
        wide = np.zeros(plan[:, 3].max() + plan[:, 6].max(), np.float64)
        empty_levels = buffers[0, :0]
        empty_potentials = pot[:0]
        for s in range(chunk * n // chunks, (chunk + 1) * n // chunks):
            buffers[0, :x.shape[1]] = x[s]
            current = 0
            for i in range(plan.shape[0]):
                row = plan[i]
                kind = row[0]
                src = buffers[current]
                if kind == IDENTITY:
                    if i == last:
                        levels[s] = src[:levels.shape[1]]
                    continue
                taps = row[7] * row[8] * row[3] if kind == CONV else row[3]
                positions = 1 if kind == DENSE else row[4] * row[5]
                if kind == DENSE:
                    taps = row[1] * row[2] * row[3]
                cout = row[6]
                if kind == SEPARABLE and row[13]:
                    _separable_global_sum(row, src, floats[row[16]:], floats[row[15]:],
                                          ints[row[17]:], wide, pot)
                else:
                    _gather(kind, row, src, floats[row[16]:], gin)
                    weights = floats[row[15]:row[15] + taps * cout].reshape(taps, cout)
                    np.dot(gin[:positions * taps].reshape(positions, taps), weights,
                           gout[:positions * cout].reshape(positions, cout))
                thresholds_t = ints[row[18]:row[18] + row[14] * cout]
                if i == last:
                    out_levels = levels[s] if levels.shape[0] else empty_levels
                    out_potentials = potentials[s] if potentials.shape[0] else empty_potentials
                    _finish(row, gout, ints[row[17]:], thresholds_t, spacings[row[19]:],
                            floats[row[21]:], pot, out_levels, out_potentials)
                else:
                    _finish(row, gout, ints[row[17]:], thresholds_t, spacings[row[19]:],
                            floats[row[21]:], pot, buffers[1 - current], empty_potentials)
                    current = 1 - current
