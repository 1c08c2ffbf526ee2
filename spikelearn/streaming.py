"""Streaming keyword spotting: the engine run on continuous audio, one 20 ms hop at a time.

Three stages, each incremental:

1. :class:`FrameExtractor` turns audio into uint8 MFCC frames every 320 samples with the
   window, mel filterbank, DCT and uint8 map of :mod:`spikelearn.datasets.features`. The
   last 49 frames of a stream are bit for bit :func:`~spikelearn.datasets.extract_features`
   of the one-second window they cover (frame ``k`` covers samples ``[320 k, 320 k + 480)``).
2. :class:`StreamingNetwork` keeps the output of every layer for the last window and, per
   hop, computes only the rows that changed (see its Notes). With ``exact=True`` (its
   default) its output at every hop equals ``model.forward`` on that hop's 49-frame window
   bit for bit; ``exact=False`` also keeps the rows near the window's start from earlier
   windows, for about 60 % of the exact mode's work.
3. :class:`Stream` turns the class scores into posteriors, smooths them over a window,
   and reports a :class:`Detection` when a keyword's smoothed posterior reaches the
   threshold, then stays quiet for a refractory period. It streams with ``exact=False`` by
   default: on the synthetic long recordings it detects as well as the exact mode (see
   the streaming guide).

Example
-------
>>> from spikelearn import zoo                                      # doctest: +SKIP
>>> stream = Stream(zoo.load("ds_cnn_kws"), threshold=0.6)          # doctest: +SKIP
>>> for chunk in chunks_of_float32_audio:                            # doctest: +SKIP
...     for detection in stream.push(chunk):
...         print(detection.word, detection.time_s)

:func:`listen_file` streams a WAV file and :func:`listen_microphone` an input device (with the
optional ``sounddevice`` package).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numba
import numpy as np
from numba.typed import List

from spikelearn.datasets import features
from spikelearn.datasets.audio import SAMPLE_RATE
from spikelearn.errors import DataError, MissingDependencyError
from spikelearn.layers import Conv2D, FullyConnected, InputData, SeparableConv2D
from spikelearn.layers.base import SpatialLayer
from spikelearn.layers.kernels import (
    BLOCK,
    activate,
    block_matmul,
    depthwise_sums,
    fully_connected,
)
from spikelearn.learning.scores import class_scores
from spikelearn.learning.training import class_bonus

#: Samples per hop (20 ms): one new MFCC frame.
HOP_SAMPLES = features.FRAME_STEP
#: Seconds per hop.
HOP_SECONDS = HOP_SAMPLES / SAMPLE_RATE
#: Default smoothing (seconds), threshold and softmax temperature of :class:`Stream`, chosen
#: on the validation long recording (see the streaming guide).
SMOOTHING_S = 0.5
THRESHOLD = 0.8
TEMPERATURE = 0.75


#: Default ``start_lag_s`` of :class:`Stream`: ``START_LAG_BASE_S + START_LAG_PER_SMOOTHING *
#: smoothing`` seconds (see :func:`start_lag`).
START_LAG_BASE_S = 0.17
START_LAG_PER_SMOOTHING = 0.8


def start_lag(smoothing: float) -> float:
    """Seconds from a keyword's start to its detection with ``smoothing`` seconds of
    smoothing: a line through the zoo model's median lags on the validation long recording
    (see the streaming guide)."""
    return START_LAG_BASE_S + START_LAG_PER_SMOOTHING * smoothing


# -- incremental MFCC -----------------------------------------------------------------------------


class FrameExtractor:
    """Incremental MFCC: audio chunks in, uint8 frames out (one per 320 new samples).

    Exactly :func:`spikelearn.datasets.features.mfcc` and ``quantize_mfcc`` applied frame by
    frame: same float32 window, FFT, mel and DCT products (one-row products are computed as
    two-row products, because BLAS evaluates a single row by a different summation order).

    Attributes
    ----------
    frames_emitted : int
        Frames produced since the last :meth:`reset`; frame ``k`` covers samples
        ``[320 k, 320 k + 480)`` of the stream.
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget all audio."""
        self._pending = np.zeros(0, np.float32)
        self.frames_emitted = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Add audio; return the frames it completes.

        Parameters
        ----------
        samples : numpy.ndarray, float32, shape (t,)
            Validated mono 16 kHz audio (see :func:`check_samples`).

        Returns
        -------
        numpy.ndarray, uint8, shape (k, 10)
        """
        audio = np.concatenate([self._pending, samples])
        count = max(0, (audio.size - features.FRAME_LENGTH) // HOP_SAMPLES + 1)
        self._pending = audio[count * HOP_SAMPLES:]
        if count == 0:
            return np.zeros((0, features.NUM_MFCC), np.uint8)
        frames = np.lib.stride_tricks.sliding_window_view(audio, features.FRAME_LENGTH)
        frames = frames[: count * HOP_SAMPLES : HOP_SAMPLES] * features._WINDOW
        if count == 1:
            frames = np.concatenate([frames, frames])
        magnitude = np.abs(np.fft.rfft(frames, features.FFT_LENGTH, axis=-1))
        log_mel = np.log(magnitude @ features._MEL + np.float32(features.LOG_OFFSET))
        coefficients = (log_mel @ features._DCT)[:count]
        self.frames_emitted += count
        q = np.rint((coefficients - features.MFCC_OFFSET) * features.MFCC_SCALE)
        return np.clip(q, 0, 255).astype(np.uint8)


def check_samples(samples, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Validate a chunk of streamed audio and return it as float32 ``(t,)``.

    Raises
    ------
    DataError
        A sample rate other than 16000, a non-float dtype (int16 PCM must be divided by
        32768 first), not one-dimensional, or non-finite samples.
    """
    if sample_rate != SAMPLE_RATE:
        raise DataError(f"streamed audio must be sampled at {SAMPLE_RATE} Hz, got {sample_rate}"
                        " (resample it with spikelearn.datasets.resample)")
    x = np.asarray(samples)
    if x.dtype.kind != "f":
        raise DataError(f"streamed samples must be float audio in [-1, 1], got dtype {x.dtype}"
                        " (divide int16 PCM by 32768)")
    if x.ndim != 1:
        raise DataError(f"streamed samples must be a mono 1-D array, got shape {x.shape}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise DataError("streamed samples contain NaN or infinite values")
    return x


# -- row kernels ----------------------------------------------------------------------------------


@numba.njit(cache=True)
def _rows_output(gathered, positions, weights, bias, thresholds_t, skip_zeros, rows, out):
    """Levels of ``gathered[p] @ weights + bias`` for ``p < positions`` into
    ``out[rows[p // out_w], p % out_w]``, :data:`~spikelearn.layers.kernels.BLOCK` positions at
    a time like the engine's kernels (``gathered`` int32 with rows up to a whole block)."""
    out_w, cout = out.shape[1], weights.shape[1]
    acc = np.empty((BLOCK, cout), np.int32)
    for p0 in range(0, positions, BLOCK):
        for j in range(BLOCK):
            acc[j] = bias
        block_matmul(gathered, p0, weights, acc, False, skip_zeros)
        for j in range(min(BLOCK, positions - p0)):
            p = p0 + j
            activate(acc[j], thresholds_t, out[rows[p // out_w], p % out_w])


@numba.njit(cache=True)
def _conv_rows(x, matrix, kernel, bias, thresholds_t, geometry, rows, out, gathered):
    """Levels of output rows ``rows`` of a convolution of one window ``x`` (hin, win, cin)
    into ``out`` (hout, wout, cout); ``matrix`` int32 (kh * kw * cin, cout), ``kernel`` the
    ``(kh, kw)``, ``gathered`` int32 scratch for the receptive fields."""
    in_h, in_w, cin = x.shape
    kh, kw = kernel[0], kernel[1]
    sh, sw, pt, pl = geometry[0], geometry[1], geometry[2], geometry[3]
    out_w = out.shape[1]
    positions = rows.size * out_w
    gathered[:positions] = 0
    for r in range(rows.size):
        for ox in range(out_w):
            p = r * out_w + ox
            for ky in range(kh):
                iy = rows[r] * sh - pt + ky
                if 0 <= iy < in_h:
                    for kx in range(kw):
                        ix = ox * sw - pl + kx
                        if 0 <= ix < in_w:
                            start = (ky * kw + kx) * cin
                            for c in range(cin):
                                gathered[p, start + c] = x[iy, ix, c]
    _rows_output(gathered, positions, matrix, bias, thresholds_t, True, rows, out)


@numba.njit(cache=True)
def _separable_rows(x, depthwise, pointwise, bias, thresholds_t, geometry, rows, out, depth):
    """As :func:`_conv_rows` for a depthwise-separable convolution (int32 weights; ``depth``
    int32 scratch for the depthwise sums)."""
    out_w = out.shape[1]
    positions = rows.size * out_w
    depth[:positions] = 0
    for r in range(rows.size):
        for ox in range(out_w):
            depthwise_sums(x, depthwise, rows[r], ox, geometry, depth[r * out_w + ox])
    _rows_output(depth, positions, pointwise, bias, thresholds_t, False, rows, out)


@numba.njit(cache=True)
def _hop_rows(x, buffers, matrices, depthwises, biases, thresholds, geometries, kernels, rows,
              scratches):
    """One hop through the row layers of a phase, in order: shift layer ``i``'s output
    ``buffers[i]`` (hout, wout, cout) up by one row, then recompute its rows ``rows[i]`` from
    the layer below (``x``, the frames window, for the first). Layer ``i`` is separable when
    ``depthwises[i]`` is not empty (see :func:`_conv_rows` and :func:`_separable_rows` for the
    other arguments, one typed-list entry per layer)."""
    for i in range(len(buffers)):
        out = buffers[i]
        flat, step = out.reshape(-1), np.uint64(out.shape[1] * out.shape[2])
        for k in range(np.uint64(flat.size) - step):  # unsigned: no wraparound checks
            flat[k] = flat[k + step]
        if depthwises[i].size:
            _separable_rows(x, depthwises[i], matrices[i], biases[i], thresholds[i],
                            geometries[i], rows[i], out, scratches[i])
        else:
            _conv_rows(x, matrices[i], kernels[i], biases[i], thresholds[i], geometries[i],
                       rows[i], out, scratches[i])
        x = out


@numba.njit(cache=True)
def _global_taps(x, rows, geometry, out_h, out_w, sums, taps):
    """Refresh the column sums ``sums[iy, kx, c] = sum_ox x[iy, ox*sw - pl + kx, c]`` (valid
    columns) of input rows ``rows``, then fill ``taps[ky, kx, c]``: the sum over all output
    positions of the input under tap ``(ky, kx)``."""
    in_h, in_w, cin = x.shape
    kh, kw = taps.shape[0], taps.shape[1]
    sh, sw, pt, pl = geometry[0], geometry[1], geometry[2], geometry[3]
    for iy in rows:
        for kx in range(kw):
            row = sums[iy, kx]
            row[:] = 0
            for ox in range(out_w):
                ix = ox * sw - pl + kx
                if 0 <= ix < in_w:
                    for c in range(cin):
                        row[c] += x[iy, ix, c]
    taps[:] = 0
    for ky in range(kh):
        for oy in range(out_h):
            iy = oy * sh - pt + ky
            if 0 <= iy < in_h:
                for kx in range(kw):
                    for c in range(cin):
                        taps[ky, kx, c] += sums[iy, kx, c]


@numba.njit(cache=True)
def _global_output(taps, depthwise, matrix, bias, positions, thresholds_t, levels, potentials):
    """The global-sum layer's output from its tap sums: the potentials summed over its
    ``positions`` output positions (int32, wrapping like the engine's accumulators), then
    their levels into ``levels`` (cout,) or the potentials into ``potentials`` (the other one
    empty). Separable when ``depthwise`` (kh, kw, cin) is not empty, ``matrix`` then the
    pointwise (cin, cout); otherwise ``matrix`` is the convolution's (kh * kw * cin, cout)."""
    kh, kw, cin = taps.shape
    total = np.empty(matrix.shape[1], np.int32)
    for o in range(total.size):
        total[o] = positions * bias[o]
    for c in range(cin):
        if depthwise.size:
            d = 0
            for ky in range(kh):
                for kx in range(kw):
                    d += taps[ky, kx, c] * depthwise[ky, kx, c]
            for o in range(total.size):
                total[o] += d * matrix[c, o]
        else:
            for ky in range(kh):
                for kx in range(kw):
                    t = taps[ky, kx, c]
                    k = (ky * kw + kx) * cin + c
                    for o in range(total.size):
                        total[o] += t * matrix[k, o]
    if levels.size:
        activate(total, thresholds_t, levels)
    else:
        potentials[:] = total


# -- incremental network --------------------------------------------------------------------------


class _RowLayer:
    """One spatial layer in streaming form: its geometry, the rows a hop recomputes, and its
    weights as the row kernels take them (int32, ``matrix`` (taps or cin, cout))."""

    def __init__(self, layer: SpatialLayer, input_top: np.ndarray, input_bottom: np.ndarray,
                 exact: bool):
        self.layer = layer
        geometry, (self.out_h, self.out_w) = layer._window(layer.input_shape)
        self.geometry = geometry
        self.kernel_h, self.kernel_w = layer.config["kernel_size"]
        self.kernel = np.array([self.kernel_h, self.kernel_w], np.int64)
        self.global_sum = layer.config["pool"] == "global_avg"
        in_h = layer.input_shape[0]
        sh, pt = int(geometry[0]), int(geometry[2])
        # top[y] / bottom[y]: output row y depends on padding before / after the window
        self.top = np.zeros(self.out_h, bool)
        self.bottom = np.zeros(self.out_h, bool)
        for y in range(self.out_h):
            taps = y * sh - pt + np.arange(self.kernel_h)
            inside = taps[(taps >= 0) & (taps < in_h)]
            self.top[y] = (taps < 0).any() or input_top[inside].any()
            self.bottom[y] = (taps >= in_h).any() or input_bottom[inside].any()
        stale = self.bottom | (self.top if exact else False)
        # row y after a shift holds the previous row y + 1: stale if either saw padding
        self.dirty = np.flatnonzero(stale | np.append(stale[1:], True)).astype(np.int64)
        self.all_rows = np.arange(self.out_h, dtype=np.int64)
        var = layer.variables
        self.bias = var["bias"]
        self.thresholds_t = layer._thresholds_t(layer.config["filters"])
        cin, cout = layer.input_shape[2], layer.config["filters"]
        if isinstance(layer, SeparableConv2D):
            self.depthwise = var["depthwise"].astype(np.int32)
            self.matrix = var["pointwise"].astype(np.int32)
            per_position = self.kernel_h * self.kernel_w * cin + cin * cout
        else:
            self.depthwise = np.zeros((0, 0, 0), np.int32)
            self.matrix = var["weights"].astype(np.int32).reshape(-1, cout)
            per_position = self.matrix.size
        self.row_macs = per_position * self.out_w
        # scratch of the row kernels: receptive fields or depthwise sums of every position
        blocks = 0 if self.global_sum else -(-self.out_h * self.out_w // BLOCK)
        self.scratch = np.zeros((blocks * BLOCK, self.matrix.shape[0]), np.int32)

    def global_output(self, x: np.ndarray, rows: np.ndarray, sums: np.ndarray) -> np.ndarray:
        """Output ``(1, 1, 1, filters)`` of the global-sum layer on window ``x``, refreshing
        the column sums ``sums`` of its input rows ``rows`` first."""
        cin = x.shape[2]
        taps = np.empty((self.kernel_h, self.kernel_w, cin), np.int32)
        _global_taps(x, rows, self.geometry, self.out_h, self.out_w, sums, taps)
        levels, potentials = self.layer._outputs(1, self.layer.output_shape)
        _global_output(taps, self.depthwise, self.matrix, self.bias, self.out_h * self.out_w,
                       self.thresholds_t, levels.reshape(-1), potentials.reshape(-1))
        return potentials if self.layer.activation_bits is None else levels

    def global_macs(self) -> int:
        """Operations of the global-sum stage per hop (column sums of the dirty input rows,
        tap sums, and the final contraction)."""
        cin, cout = self.layer.input_shape[2], self.layer.config["filters"]
        contraction = self.kernel_h * self.kernel_w * cin * (
            1 if isinstance(self.layer, SeparableConv2D) else cout)
        if isinstance(self.layer, SeparableConv2D):
            contraction += cin * cout
        return self.kernel_h * self.out_h * self.kernel_w * cin + contraction


class StreamingNetwork:
    """The engine evaluated incrementally on a stream of MFCC frames.

    Parameters
    ----------
    model : spikelearn.Model
        Input layer (``InputConv2D``, or ``InputData`` then ``Conv2D``), then convolutions
        (``Conv2D`` / ``SeparableConv2D``, pool ``'none'``, time stride 1 after the first),
        ending in one with ``pool='global_avg'`` or followed by ``FullyConnected`` layers.
    exact : bool, default True
        See Notes.

    Notes
    -----
    A hop adds one frame and moves the window by one frame. Because the first convolution
    has time stride ``s`` (2 for the DS-CNN), windows ``s`` hops apart see the same output
    rows shifted by one, so the network keeps ``s`` *phases*, each holding every layer's
    output for its last window. A hop shifts its phase's rows by one and recomputes only the
    *dirty* rows: the newest one and those whose receptive field (through all the layers
    below) reaches the window's zero padding.

    - ``exact=True``: rows that touch the padding at either end are recomputed, so the
      output equals ``model.forward`` on the hop's window bit for bit (tested). For the
      DS-CNN this is 3 + 5 + 7 + 9 rows of the 25 of the first four layers, and the
      column sums of 9 input rows for the global-sum layer: 22 % of the operations of a
      full-window pass.
    - ``exact=False``: rows near the *start* of the window keep the values computed when
      they were inside earlier windows, i.e. with the real preceding audio instead of zero
      padding (only the first window of each phase is padded at its start). The output then
      equals the model applied to all frames since the phase's first window with the global
      sum taken over the last window's rows (tested); 14 % of a full-window pass.

    The global average pool of the last convolution is linear before its activation: its
    sum is computed from per-row column sums of its input (:func:`_global_taps`), so that
    layer costs a few thousand additions per hop instead of a full pass. The layers after it
    (``FullyConnected``) run the engine's kernel.

    One hop of the row layers is a single numba call (:func:`_hop_rows`), which computes
    :data:`~spikelearn.layers.kernels.BLOCK` positions at a time like the engine. The weights
    are read when the network is built: build a new one (or a new :class:`Stream`) after the
    model learns.
    """

    def __init__(self, model, *, exact: bool = True):
        layers = list(model.layers)
        if layers and isinstance(layers[0], InputData):
            layers = layers[1:]
        self.window = model.input_shape
        self.exact = bool(exact)
        self.rows: list[_RowLayer] = []
        top = bottom = np.zeros(self.window[0], bool)
        split = next((i for i, layer in enumerate(layers) if isinstance(layer, FullyConnected)),
                     len(layers))
        for layer in layers[:split]:
            if not isinstance(layer, (Conv2D, SeparableConv2D)) or layer.config["pool"] == "max":
                raise ValueError(f"layer {layer.name!r}: streaming supports Conv2D and "
                                 "SeparableConv2D with pool 'none' or 'global_avg' then "
                                 f"FullyConnected layers, got {type(layer).__name__} with "
                                 f"pool {layer.config.get('pool')!r}")
            if self.rows and layer.config["strides"][0] != 1:
                raise ValueError(f"layer {layer.name!r}: streaming needs time stride 1 after the "
                                 f"first layer, got {layer.config['strides'][0]}")
            if self.rows and self.rows[-1].global_sum:
                raise ValueError(f"layer {layer.name!r} follows a global_avg layer; only "
                                 "FullyConnected layers may")
            if layer.activation_bits is None and layer.config["pool"] != "global_avg":
                raise ValueError(f"layer {layer.name!r}: a convolution without activation must "
                                 "have pool='global_avg' to be streamed")
            row_layer = _RowLayer(layer, top, bottom, self.exact)
            self.rows.append(row_layer)
            top, bottom = row_layer.top, row_layer.bottom
        if not self.rows:
            raise ValueError("streaming needs a model starting with a convolution")
        self.tail = layers[split:]
        for layer in self.tail:
            if not isinstance(layer, FullyConnected):
                raise ValueError(f"layer {layer.name!r}: only FullyConnected layers may follow "
                                 f"the first FullyConnected one, got {type(layer).__name__}")
        # weights, bias and transposed thresholds of the tail, as its kernel takes them
        self._tail_variables = [(layer.variables["weights"].astype(np.int32),
                                 layer.variables["bias"].copy(),
                                 layer._thresholds_t(layer.config["units"]))
                                for layer in self.tail]
        self.phases = int(self.rows[0].geometry[0])
        self._row_layers = [r for r in self.rows if not r.global_sum]
        self._global = self.rows[-1] if self.rows[-1].global_sum else None
        if self._row_layers:
            self._kernel_args = tuple(List([getattr(r, name) for r in self._row_layers])
                                      for name in ("matrix", "depthwise", "bias", "thresholds_t",
                                                   "geometry", "kernel"))
            self._steady_rows = List([r.dirty for r in self._row_layers])
            self._fresh_rows = List([r.all_rows for r in self._row_layers])
            self._scratch = List([r.scratch for r in self._row_layers])
        if self._global is not None:
            # input rows whose column sums a hop refreshes: all of them for the frames window
            self._global_fresh = np.arange(self._global.layer.input_shape[0], dtype=np.int64)
            self._global_steady = (self._row_layers[-1].dirty if self._row_layers
                                   else self._global_fresh)
        self.reset()

    def reset(self) -> None:
        """Forget all frames."""
        self._frames = np.zeros(self.window, np.uint8)
        self._count = 0
        self._state: list[list[np.ndarray] | None] = [None] * self.phases

    @property
    def frames_seen(self) -> int:
        """Frames pushed since the last :meth:`reset`."""
        return self._count

    def _new_state(self) -> tuple:
        """A phase's state: every row layer's output (typed list) and the column sums of the
        global-sum layer's input (or None)."""
        buffers = List([np.zeros((r.out_h, r.out_w, r.layer.config["filters"]), np.uint8)
                        for r in self._row_layers]) if self._row_layers else None
        sums = None
        if self._global is not None:
            layer = self._global.layer
            sums = np.zeros((layer.input_shape[0], self._global.kernel_w, layer.input_shape[2]),
                            np.int32)
        return buffers, sums

    def push(self, frames: np.ndarray) -> np.ndarray:
        """Add MFCC frames; return the network output of every complete window they end.

        Parameters
        ----------
        frames : numpy.ndarray, uint8, shape (k, w) or (k, w, c)
            New frames (``w, c`` of the model input).

        Returns
        -------
        numpy.ndarray, shape (m,) + output_shape, uint8 or int32
            One output per frame that completes a window (``m = k`` once the first
            ``h - 1`` frames are in), in order.
        """
        frames = np.asarray(frames).reshape(-1, *self.window[1:])
        outputs = []
        for frame in frames:
            self._frames[:-1] = self._frames[1:]
            self._frames[-1] = frame
            self._count += 1
            if self._count >= self.window[0]:
                outputs.append(self._hop())
        if not outputs:
            return np.zeros((0,) + tuple(self._output_shape()), self._output_dtype())
        return np.concatenate(outputs)

    def _output_shape(self):
        return (self.tail[-1] if self.tail else self.rows[-1].layer).output_shape

    def _output_dtype(self):
        last = self.tail[-1] if self.tail else self.rows[-1].layer
        return np.uint8 if last.activation_bits is not None else np.int32

    def _hop(self) -> np.ndarray:
        phase = self._count % self.phases
        fresh = self._state[phase] is None
        if fresh:
            self._state[phase] = self._new_state()
        buffers, sums = self._state[phase]
        x = self._frames
        if buffers is not None:
            matrices, depthwises, biases, thresholds, geometries, kernels = self._kernel_args
            _hop_rows(x, buffers, matrices, depthwises, biases, thresholds, geometries, kernels,
                      self._fresh_rows if fresh else self._steady_rows, self._scratch)
            x = buffers[-1]
        if self._global is not None:
            sums[:-1] = sums[1:]
            x = self._global.global_output(x, self._global_fresh if fresh else self._global_steady,
                                           sums)
        else:
            x = x[None]
        for layer, (weights, bias, thresholds_t) in zip(self.tail, self._tail_variables,
                                                         strict=True):
            levels, potentials = layer._outputs(1, layer.output_shape)
            fully_connected(x.reshape(1, -1), weights, bias, thresholds_t, levels, potentials)
            x = potentials if layer.activation_bits is None else levels
        return x

    def hop_macs(self) -> int:
        """Multiply-accumulates (and global-sum additions) of one steady-state hop."""
        total = 0
        for i, row_layer in enumerate(self.rows):
            if row_layer.global_sum:
                cin = row_layer.layer.input_shape[2]
                dirty = self.rows[i - 1].dirty.size if i else row_layer.layer.input_shape[0]
                total += dirty * row_layer.kernel_w * row_layer.out_w * cin
                total += row_layer.global_macs()
            else:
                total += row_layer.dirty.size * row_layer.row_macs
        return total + sum(layer.macs() for layer in self.tail)

    def hop_fractions(self) -> dict[str, float]:
        """Per convolution, the fraction of its output rows one steady-state hop recomputes
        (global-sum layers: of its input rows whose column sums are refreshed)."""
        out = {}
        for i, row_layer in enumerate(self.rows):
            if row_layer.global_sum:
                dirty = self.rows[i - 1].dirty.size if i else row_layer.layer.input_shape[0]
                out[row_layer.layer.name] = dirty / row_layer.layer.input_shape[0]
            else:
                out[row_layer.layer.name] = row_layer.dirty.size / row_layer.out_h
        return out


# -- detection ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    """A keyword found in the stream.

    Attributes
    ----------
    class_index : int
        Class of the model.
    word : str
        Its name (``model.class_names`` or the ``words`` given to :class:`Stream`).
    time_s : float
        Estimated start of the keyword, seconds from the start of the stream.
    score : float
        Smoothed posterior that crossed the threshold, in ``[0, 1]``.
    detected_s : float
        Stream time at which the detection was made (end of the hop's window).
    """

    class_index: int
    word: str
    time_s: float
    score: float
    detected_s: float

    def to_dict(self) -> dict:
        """JSON-serialisable fields."""
        return asdict(self)


class Stream:
    """Keyword spotting on continuous audio.

    Per 20 ms hop: one MFCC frame, one incremental evaluation of the network on the last
    second (:class:`StreamingNetwork`), class scores (of the model's
    :attr:`~spikelearn.Model.score_neurons` best neurons of each class and the
    :attr:`~spikelearn.Model.new_class_bonus`, like :meth:`spikelearn.Model.class_scores`),
    posteriors ``softmax(scores /
    temperature)``, a moving average over ``smoothing`` seconds, and a detection of the best
    class not in ``ignore`` when its smoothed posterior reaches ``threshold`` outside the
    refractory period of the previous detection.

    The stream reads the model's weights and readout when it is created: create a new one
    after the model learns.

    Parameters
    ----------
    model : spikelearn.Model
        A keyword spotter (the zoo ``ds_cnn_kws``, also after learning new words).
    smoothing : float, default 0.5 (``SMOOTHING_S``)
        Seconds of posteriors averaged (at least one hop).
    threshold : float, default 0.8 (``THRESHOLD``)
        Smoothed posterior that triggers a detection, in ``(0, 1]``.
    refractory_s : float, default 1.0
        No detection of any class within this many seconds after one.
    ignore : sequence of str, default ("_silence_",)
        Classes never reported.
    temperature : float, default 0.75 (``TEMPERATURE``)
        Softmax temperature on the integer class scores (larger: flatter posteriors).
    words : sequence of str, optional
        Class names; default ``model.class_names``, else ``"class_<k>"``.
    num_classes : int, optional
        Default ``model.num_classes``, else ``len(words)``, else one class per output
        neuron.
    start_lag_s : float, optional
        The keyword start is estimated as the detection time minus this lag; default
        :func:`start_lag` of ``smoothing`` (the zoo model's median lag on the validation long
        recording).
    exact : bool, default False
        :class:`StreamingNetwork` mode: the default keeps the rows of earlier windows (the
        cheaper mode, as accurate on the synthetic long recordings, see the streaming
        guide); ``True`` makes every hop's network output equal ``model.forward`` on its
        window.
    sample_rate : int, default 16000
        Rate of the pushed audio; only 16000 is accepted.

    Raises
    ------
    ValueError
        On a bad option or a model that cannot be streamed.
    DataError
        On a sample rate other than 16000.
    """

    def __init__(self, model, *, smoothing: float = SMOOTHING_S, threshold: float = THRESHOLD,
                 refractory_s: float = 1.0, ignore=("_silence_",),
                 temperature: float = TEMPERATURE,
                 words=None, num_classes: int | None = None, start_lag_s: float | None = None,
                 exact: bool = False, sample_rate: int = SAMPLE_RATE):
        check_samples(np.zeros(0, np.float32), sample_rate=sample_rate)
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
        if start_lag_s is None and smoothing >= 0:
            start_lag_s = start_lag(smoothing)
        for what, value in (("smoothing", smoothing), ("refractory_s", refractory_s),
                            ("start_lag_s", start_lag_s)):
            if not value >= 0:
                raise ValueError(f"{what} must be >= 0 seconds, got {value!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.network = StreamingNetwork(model, exact=exact)
        units = int(np.prod(self.network._output_shape()))
        num_classes = (num_classes or getattr(model, "num_classes", None)
                       or (len(words) if words else units))
        if units % num_classes:
            raise ValueError(f"num_classes must divide the {units} output neurons, got "
                             f"{num_classes}")
        words = list(words or getattr(model, "class_names", None) or
                     [f"class_{k}" for k in range(num_classes)])
        if len(words) != num_classes:
            raise ValueError(f"got {len(words)} words for {num_classes} classes")
        self.words = words
        self.num_classes = num_classes
        compiled = getattr(model, "num_classes", None)
        self.score_neurons = model.score_neurons if num_classes == compiled else 1
        self.bonus = class_bonus(model) if num_classes == compiled else None
        self.smoothing_hops = max(1, round(smoothing / HOP_SECONDS))
        self.threshold = float(threshold)
        self.refractory_s = float(refractory_s)
        self.temperature = float(temperature)
        self.start_lag_s = float(start_lag_s)
        self.sample_rate = sample_rate
        self._reported = np.array([w not in set(ignore) for w in words])
        self._frames = FrameExtractor()
        self.reset()

    @property
    def reported(self) -> np.ndarray:
        """bool, shape (num_classes,): the classes a detection may name (not in ``ignore``)."""
        return self._reported.copy()

    def reset(self) -> None:
        """Forget the audio, the posteriors and the refractory state."""
        self._frames.reset()
        self.network.reset()
        self._recent = np.zeros((0, self.num_classes))  # the last smoothing_hops - 1 rows
        self._quiet_until = -np.inf

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Class scores ``(m, num_classes)`` of network outputs ``(m, 1, 1, units)``, as
        :meth:`spikelearn.Model.class_scores` computes them."""
        flat = outputs.reshape(len(outputs), -1)
        return class_scores(flat, self.num_classes, self.score_neurons,
                            self.bonus)[0].astype(np.float64)

    def posteriors(self, scores: np.ndarray) -> np.ndarray:
        """``softmax(scores / temperature)`` per row."""
        z = scores / self.temperature
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def push(self, samples) -> list[Detection]:
        """Add audio and return the keywords detected in the hops it completes.

        Parameters
        ----------
        samples : numpy.ndarray, float, shape (t,)
            Mono 16 kHz audio in ``[-1, 1]``, any length.

        Returns
        -------
        list of Detection

        Raises
        ------
        DataError
            Non-float, not 1-D, or non-finite samples.
        """
        x = check_samples(samples, sample_rate=self.sample_rate)
        outputs = self.network.push(self._frames.push(x))
        if not len(outputs):
            return []
        first = self.network.frames_seen - len(outputs)  # frames before the first new window
        return self.detect(self.posteriors(self.scores(outputs)), first)

    def smooth(self, posteriors: np.ndarray) -> np.ndarray:
        """Moving average over ``smoothing`` seconds of a run of posteriors, continuing the
        rows of earlier calls (the first rows of a stream average fewer hops).

        Parameters
        ----------
        posteriors : numpy.ndarray, float, shape (m, num_classes)
            One row per hop, in order.

        Returns
        -------
        numpy.ndarray, float64, shape (m, num_classes)

        Raises
        ------
        ValueError
            If ``posteriors`` is not a 2-D array of ``num_classes`` columns.
        """
        posteriors = np.asarray(posteriors, dtype=np.float64)
        if posteriors.ndim != 2 or posteriors.shape[1] != self.num_classes:
            raise ValueError(f"posteriors must have shape (m, {self.num_classes}), got "
                             f"{posteriors.shape}")
        rows = np.concatenate([self._recent, posteriors])
        ends = np.arange(len(self._recent), len(rows)) + 1  # moving average of rows [start, end)
        starts = np.maximum(0, ends - self.smoothing_hops)
        totals = np.concatenate([np.zeros((1, rows.shape[1])), np.cumsum(rows, axis=0)])
        self._recent = rows[len(rows) - self.smoothing_hops + 1:]
        return (totals[ends] - totals[starts]) / (ends - starts)[:, None]

    def detect(self, posteriors: np.ndarray, first_frame: int) -> list[Detection]:
        """Smoothing, threshold and refractory period on a run of posteriors.

        Parameters
        ----------
        posteriors : numpy.ndarray, float, shape (m, num_classes)
            One row per hop, in order.
        first_frame : int
            Frames of the stream before the first row's last frame: row ``i`` is the window
            ending with frame ``first_frame + i``, at ``(320 (first_frame + i) + 480) / 16000``
            seconds.

        Returns
        -------
        list of Detection
        """
        smoothed = self.smooth(posteriors)
        candidates = np.where(self._reported, smoothed, -1.0)
        best = candidates.argmax(axis=1)
        scores = candidates[np.arange(len(best)), best]
        detections = []
        for i in np.flatnonzero(scores >= self.threshold):
            now = ((first_frame + i) * HOP_SAMPLES + features.FRAME_LENGTH) / SAMPLE_RATE
            if now + HOP_SECONDS / 2 > self._quiet_until:
                detections.append(Detection(int(best[i]), self.words[best[i]],
                                            max(0.0, now - self.start_lag_s), float(scores[i]),
                                            now))
                self._quiet_until = now + self.refractory_s
        return detections


def listen_file(model, path, *, chunk_s: float = 0.5, **options) -> list[Detection]:
    """Spot keywords in a WAV file, streamed in chunks.

    Parameters
    ----------
    model : spikelearn.Model
    path : str or path-like
        16-bit PCM WAV at 16 kHz (several channels are averaged).
    chunk_s : float, default 0.5
        Seconds of audio pushed at a time (does not change the result).
    **options
        :class:`Stream` options (``threshold``, ``smoothing``, ``refractory_s``, ...).

    Returns
    -------
    list of Detection

    Raises
    ------
    DataError
        Unreadable file or a sample rate other than 16 kHz.
    """
    from spikelearn.datasets.audio import load_wav

    audio, rate = load_wav(path)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    stream = Stream(model, sample_rate=rate, **options)
    step = max(1, int(chunk_s * SAMPLE_RATE))
    detections = []
    for start in range(0, audio.size, step):
        detections += stream.push(audio[start:start + step])
    return detections


def listen_microphone(model, *, seconds: float | None = None, chunk_s: float = 0.5,
                      device=None, **options):
    """Spot keywords live in audio from an input device, as it is recorded.

    Needs the optional ``sounddevice`` package (``pip install sounddevice``, which needs the
    PortAudio library). The device is opened at 16 kHz mono, float32.

    Parameters
    ----------
    model : spikelearn.Model
    seconds : float, optional
        Stop after this much audio; default: listen until the caller stops iterating (or
        Ctrl-C).
    chunk_s : float, default 0.5
        Seconds of audio read and pushed at a time.
    device : int or str, optional
        ``sounddevice`` input device (default: the system's default input).
    **options
        :class:`Stream` options.

    Yields
    ------
    Detection
        As soon as the hop that makes it has been processed.

    Raises
    ------
    MissingDependencyError
        Without ``sounddevice`` or PortAudio.

    Warns
    -----
    RuntimeWarning
        Once, if the device reported lost input (the stream fell behind).
    """
    try:
        import sounddevice
    except (ImportError, OSError) as error:  # OSError: sounddevice present, PortAudio absent
        raise MissingDependencyError(
            "listening to a microphone needs the optional sounddevice package and PortAudio: "
            f"pip install sounddevice ({error})") from error
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    if not chunk_s > 0:
        raise ValueError(f"chunk_s must be > 0, got {chunk_s!r}")
    stream = Stream(model, **options)
    block = max(1, int(chunk_s * SAMPLE_RATE))
    remaining = None if seconds is None else int(seconds * SAMPLE_RATE)
    warned = False
    with sounddevice.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                 blocksize=block, device=device) as source:
        while remaining is None or remaining > 0:
            count = block if remaining is None else min(block, remaining)
            data, overflowed = source.read(count)
            if overflowed and not warned:
                warnings.warn("the input device dropped audio (the stream fell behind)",
                              RuntimeWarning, stacklevel=2)
                warned = True
            if remaining is not None:
                remaining -= count
            yield from stream.push(np.asarray(data, np.float32).reshape(-1))
