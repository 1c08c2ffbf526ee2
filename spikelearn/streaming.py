"""Streaming keyword spotting: the engine run on continuous audio, one 20 ms hop at a time.

Three stages, each incremental:

1. :class:`FrameExtractor` turns audio into uint8 MFCC frames every 320 samples with the
   window, mel filterbank, DCT and uint8 map of :mod:`spikelearn.datasets.features`. The
   last 49 frames of a stream are bit for bit :func:`~spikelearn.datasets.extract_features`
   of the one-second window they cover (frame ``k`` covers samples ``[320 k, 320 k + 480)``).
2. :class:`StreamingNetwork` keeps the output of every layer for the last window and, per
   hop, computes only the rows that changed (see its Notes). With ``exact=True`` (default)
   its output at every hop equals ``model.forward`` on that hop's 49-frame window bit for
   bit.
3. :class:`Stream` turns the class scores into posteriors, smooths them over a window,
   and reports a :class:`Detection` when a keyword's smoothed posterior reaches the
   threshold, then stays quiet for a refractory period.

Example
-------
>>> from spikelearn import zoo                                      # doctest: +SKIP
>>> stream = Stream(zoo.load("ds_cnn_kws"), threshold=0.6)          # doctest: +SKIP
>>> for chunk in chunks_of_float32_audio:                            # doctest: +SKIP
...     for detection in stream.push(chunk):
...         print(detection.word, detection.time_s)
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numba
import numpy as np

from spikelearn.datasets import features
from spikelearn.datasets.audio import SAMPLE_RATE
from spikelearn.errors import DataError
from spikelearn.layers import Conv2D, FullyConnected, InputData, SeparableConv2D
from spikelearn.layers.base import SpatialLayer
from spikelearn.layers.kernels import activate, depthwise_sums
from spikelearn.learning.scores import class_scores
from spikelearn.learning.training import class_bonus

#: Samples per hop (20 ms): one new MFCC frame.
HOP_SAMPLES = features.FRAME_STEP
#: Seconds per hop.
HOP_SECONDS = HOP_SAMPLES / SAMPLE_RATE


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
def _conv_rows(x, weights, bias, thresholds_t, geometry, rows, out):
    """Levels of output rows ``rows`` of a convolution of one window ``x`` (hin, win, cin)
    into ``out`` (hout, wout, cout); ``weights`` int32 (kh, kw, cin, cout)."""
    in_h, in_w, cin = x.shape
    kh, kw, _, cout = weights.shape
    sh, sw, pt, pl = geometry[0], geometry[1], geometry[2], geometry[3]
    acc = np.empty(cout, np.int32)
    for y in rows:
        for ox in range(out.shape[1]):
            acc[:] = bias
            for ky in range(kh):
                iy = y * sh - pt + ky
                if 0 <= iy < in_h:
                    for kx in range(kw):
                        ix = ox * sw - pl + kx
                        if 0 <= ix < in_w:
                            for c in range(cin):
                                v = np.int32(x[iy, ix, c])
                                if v != 0:
                                    for o in range(cout):
                                        acc[o] += v * weights[ky, kx, c, o]
            activate(acc, thresholds_t, out[y, ox])


@numba.njit(cache=True)
def _separable_rows(x, depthwise, pointwise, bias, thresholds_t, geometry, rows, out):
    """As :func:`_conv_rows` for a depthwise-separable convolution (int32 weights)."""
    cin, cout = pointwise.shape
    acc = np.empty(cout, np.int32)
    depth = np.empty(cin, np.int32)
    for y in rows:
        for ox in range(out.shape[1]):
            depth[:] = 0
            depthwise_sums(x, depthwise, y, ox, geometry, depth)
            acc[:] = bias
            for c in range(cin):
                d = depth[c]
                for o in range(cout):
                    acc[o] += d * pointwise[c, o]
            activate(acc, thresholds_t, out[y, ox])


@numba.njit(cache=True)
def _column_sums(x, kw, geometry, out_w, rows, sums):
    """``sums[iy, kx, c] = sum_ox x[iy, ox*sw - pl + kx, c]`` (valid columns) for ``rows``."""
    in_w, cin = x.shape[1], x.shape[2]
    sw, pl = geometry[1], geometry[3]
    for iy in rows:
        for kx in range(kw):
            for c in range(cin):
                sums[iy, kx, c] = 0
            for ox in range(out_w):
                ix = ox * sw - pl + kx
                if 0 <= ix < in_w:
                    for c in range(cin):
                        sums[iy, kx, c] += x[iy, ix, c]


@numba.njit(cache=True)
def _tap_sums(sums, kh, geometry, out_h, taps):
    """``taps[ky, kx, c]``: the sum over all output positions of the input under tap
    ``(ky, kx)``, from the column sums."""
    in_h = sums.shape[0]
    sh, pt = geometry[0], geometry[2]
    taps[:] = 0
    for ky in range(kh):
        for oy in range(out_h):
            iy = oy * sh - pt + ky
            if 0 <= iy < in_h:
                taps[ky] += sums[iy]


# -- incremental network --------------------------------------------------------------------------


class _RowLayer:
    """One spatial layer in streaming form: its geometry, the rows a hop recomputes, and the
    row kernel."""

    def __init__(self, layer: SpatialLayer, input_top: np.ndarray, input_bottom: np.ndarray,
                 exact: bool):
        self.layer = layer
        geometry, (self.out_h, self.out_w) = layer._window(layer.input_shape)
        self.geometry = geometry
        self.kernel_h, self.kernel_w = layer.config["kernel_size"]
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
        if isinstance(layer, SeparableConv2D):
            self.depthwise = var["depthwise"].astype(np.int32)
            self.pointwise = var["pointwise"].astype(np.int32)
            per_position = self.kernel_h * self.kernel_w * layer.input_shape[2] + (
                layer.input_shape[2] * layer.config["filters"])
        else:
            self.weights = var["weights"].astype(np.int32)
            per_position = self.weights.size
        self.row_macs = per_position * self.out_w

    def compute_rows(self, x: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
        if isinstance(self.layer, SeparableConv2D):
            _separable_rows(x, self.depthwise, self.pointwise, self.bias, self.thresholds_t,
                            self.geometry, rows, out)
        else:
            _conv_rows(x, self.weights, self.bias, self.thresholds_t, self.geometry, rows, out)

    def global_output(self, taps: np.ndarray) -> np.ndarray:
        """Output ``(1, 1, 1, filters)`` of the global-sum layer from its tap sums."""
        taps = taps.astype(np.int64)
        positions = self.out_h * self.out_w
        if isinstance(self.layer, SeparableConv2D):
            depth = np.einsum("hwc,hwc->c", taps, self.depthwise)
            total = depth @ self.pointwise + positions * self.bias.astype(np.int64)
        else:
            total = taps.reshape(-1) @ self.weights.reshape(-1, self.weights.shape[-1])
            total = total + positions * self.bias.astype(np.int64)
        total = total.astype(np.int32)  # int32 wrap-around, as the engine's accumulators
        if self.layer.activation_bits is None:
            return total.reshape(1, 1, 1, -1)
        levels = (total[None, :] >= self.thresholds_t).sum(axis=0).astype(np.uint8)
        return levels.reshape(1, 1, 1, -1)

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
    sum is computed from per-row column sums of its input (:func:`_column_sums`), so that
    layer costs a few thousand additions per hop instead of a full pass. The layers after it
    (``FullyConnected``) run through their own ``call``.
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
        self.phases = int(self.rows[0].geometry[0])
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

    def _new_state(self) -> list[np.ndarray]:
        state = []
        for row_layer in self.rows:
            layer = row_layer.layer
            if row_layer.global_sum:
                state.append(np.zeros((layer.input_shape[0], row_layer.kernel_w,
                                       layer.input_shape[2]), np.int32))
            else:
                state.append(np.zeros((row_layer.out_h, row_layer.out_w,
                                       layer.config["filters"]), np.uint8))
        return state

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
        state = self._state[phase]
        x = self._frames
        input_dirty = np.arange(x.shape[0], dtype=np.int64)
        for row_layer, buffer in zip(self.rows, state, strict=True):
            buffer[:-1] = buffer[1:]
            if row_layer.global_sum:
                rows = np.arange(x.shape[0], dtype=np.int64) if fresh else input_dirty
                _column_sums(x, row_layer.kernel_w, row_layer.geometry, row_layer.out_w, rows,
                             buffer)
                taps = np.empty((row_layer.kernel_h, row_layer.kernel_w, x.shape[2]), np.int32)
                _tap_sums(buffer, row_layer.kernel_h, row_layer.geometry, row_layer.out_h, taps)
                x = row_layer.global_output(taps)
            else:
                rows = row_layer.all_rows if fresh else row_layer.dirty
                row_layer.compute_rows(x, rows, buffer)
                input_dirty = row_layer.dirty
                x = buffer
        if not self.rows[-1].global_sum:
            x = x[None]
        for layer in self.tail:
            x = layer.call(np.ascontiguousarray(x))
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

    Parameters
    ----------
    model : spikelearn.Model
        A keyword spotter (the zoo ``ds_cnn_kws``, also after learning new words).
    smoothing : float, default 0.3
        Seconds of posteriors averaged (at least one hop).
    threshold : float, default 0.8
        Smoothed posterior that triggers a detection, in ``(0, 1]``.
    refractory_s : float, default 1.0
        No detection of any class within this many seconds after one.
    ignore : sequence of str, default ("_silence_",)
        Classes never reported.
    temperature : float, default 1.0
        Softmax temperature on the integer class scores (larger: flatter posteriors).
    words : sequence of str, optional
        Class names; default ``model.class_names``, else ``"class_<k>"``.
    num_classes : int, optional
        Default ``model.num_classes``, else ``len(words)``, else one class per output
        neuron.
    start_lag_s : float, default 0.45
        The keyword start is estimated as the detection time minus this lag (the median
        lag of the zoo model on the synthetic long recordings).
    exact : bool, default True
        :class:`StreamingNetwork` mode.
    sample_rate : int, default 16000
        Rate of the pushed audio; only 16000 is accepted.

    Raises
    ------
    ValueError
        On a bad option or a model that cannot be streamed.
    DataError
        On a sample rate other than 16000.
    """

    def __init__(self, model, *, smoothing: float = 0.3, threshold: float = 0.8,
                 refractory_s: float = 1.0, ignore=("_silence_",), temperature: float = 1.0,
                 words=None, num_classes: int | None = None, start_lag_s: float = 0.45,
                 exact: bool = True, sample_rate: int = SAMPLE_RATE):
        check_samples(np.zeros(0, np.float32), sample_rate=sample_rate)
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
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

    def reset(self) -> None:
        """Forget the audio, the posteriors and the refractory state."""
        self._frames.reset()
        self.network.reset()
        self._recent: deque[np.ndarray] = deque(maxlen=self.smoothing_hops)
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
        detections = []
        for i, row in enumerate(posteriors):
            self._recent.append(row)
            smoothed = np.mean(self._recent, axis=0)
            now = ((first_frame + i) * HOP_SAMPLES + features.FRAME_LENGTH) / SAMPLE_RATE
            candidates = np.where(self._reported, smoothed, -1.0)
            best = int(np.argmax(candidates))
            if candidates[best] >= self.threshold and now + HOP_SECONDS / 2 > self._quiet_until:
                detections.append(Detection(best, self.words[best],
                                            max(0.0, now - self.start_lag_s),
                                            float(candidates[best]), now))
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
