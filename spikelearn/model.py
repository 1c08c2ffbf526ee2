"""The integer spiking :class:`Model`: a stack of engine layers."""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numba
import numpy as np

from spikelearn.layers import Layer, kernels
from spikelearn.layers.base import INT32_MAX

#: Fewer samples than this per thread run on fewer threads: waking a worker thread costs more
#: than it saves (a single-sample forward is ~100x slower on two threads on a busy machine).
MIN_SAMPLES_PER_THREAD = 16


@contextmanager
def _threads_for(samples: int) -> Iterator[None]:
    """Limit numba's threads for a batch of ``samples`` (restored on exit)."""
    available = numba.get_num_threads()
    numba.set_num_threads(max(1, min(available, samples // MIN_SAMPLES_PER_THREAD)))
    try:
        yield
    finally:
        numba.set_num_threads(available)


#: Largest fraction of a layer's channels with irregular thresholds for which the fused kernel
#: still computes the levels in closed form (and counts those channels one by one).
_MAX_IRREGULAR = 0.25
#: Largest denominator ``M`` of a closed-form threshold spacing (the converter's need <= 16).
_MAX_DENOMINATOR = 32


def _threshold_spacing(thresholds: np.ndarray) -> np.ndarray | None:
    """Closed-form activation data of :func:`spikelearn.layers.kernels.fused_forward`.

    A channel is regular when ``thresholds[o, k] = ceil((A[o] + k * D[o]) / M[o])`` for
    integers ``1 <= M[o] <= _MAX_DENOMINATOR`` and ``D[o] >= 1``: evenly spaced thresholds
    (``M = 1``) and the ceilings of a fractional spacing that the converter produces. As a
    potential ``P`` is an integer, ``P >= ceil(x)`` iff ``P >= x``, so its level is
    ``clip(floor((M * P - A) / D) + 1, 0, L)``. For each ``M`` the feasible ``D`` form an
    interval (from every pair of thresholds), and then the feasible ``A`` too (Helly).

    Returns float64 ``(M, A, D, irregular channel indices)`` concatenated (``M = A = 0,
    D = 1`` for the irregular channels, all exact integers below ``2**53``), or None (count
    every channel) when more than :data:`_MAX_IRREGULAR` of the channels are irregular.

    Parameters
    ----------
    thresholds : int32 (cout, L)
    """
    t = thresholds.astype(np.int64)
    cout, count = t.shape
    j, k = np.triu_indices(count, 1)
    diff, gap = (t[:, k] - t[:, j])[None], (k - j)[None, None]
    denominator, step = np.zeros(cout, np.int64), np.ones(cout, np.int64)
    for low in range(1, _MAX_DENOMINATOR + 1, 8):  # 8 denominators at a time, smallest first
        m = np.arange(low, low + 8)[:, None, None]  # (M, cout, pairs)
        d_low = (-(-(m * (diff - 1) + 1) // gap)).max(axis=2, initial=1)
        d_high = ((m * (diff + 1) - 1) // gap).min(axis=2, initial=2**40)
        feasible = (d_low <= d_high) & (denominator == 0)
        new = feasible.any(axis=0)
        first = feasible.argmax(axis=0)[new]
        denominator[new], step[new] = low + first, d_low[first, np.flatnonzero(new)]
        if denominator.all():
            break
    regular = denominator > 0
    start = (denominator[:, None] * (t - 1) + 1 - np.arange(count) * step[:, None]).max(axis=1)
    irregular = np.flatnonzero(~regular)
    if len(irregular) > _MAX_IRREGULAR * cout:
        return None
    return np.concatenate([denominator, np.where(regular, start, 0), step,
                           irregular]).astype(np.float64)


def _narrow_spacing(spacing: np.ndarray, bias: np.ndarray, reach: np.ndarray) -> np.ndarray | None:
    """float32 ``(bias, M, A, D)`` (4 * cout) for the float32 closed form of
    :func:`spikelearn.layers.kernels.fused_forward`, or None when it could be inexact.

    With every potential ``|P| <= |bias| + reach`` and ``|M P - A| + D < 2**23``, the float32
    sums and products are exact integers and the correctly rounded quotient
    ``(M P - A) / D`` floors to the exact integer quotient (as in ``_spaced_levels``).
    """
    multiplier, start, step = spacing.reshape(3, -1)
    largest = np.abs(bias.astype(np.float64)) + reach
    if (multiplier * largest + np.abs(start) + step).max(initial=0) >= 2.0**23:
        return None
    return np.concatenate([bias, multiplier, start, step]).astype(np.float32)


def _fused_plan(layers: list[Layer], input_bits: int) -> tuple | None:
    """Plan of :func:`spikelearn.layers.kernels.fused_forward` for ``layers``, or None.

    None (run layer by layer) when a layer has max pooling or is of another type, or when a
    float32 GEMM could be inexact: every partial sum must stay below
    :data:`~spikelearn.layers.kernels.FLOAT32_EXACT`, checked from the largest input level of
    each layer (``2**bits - 1`` of the previous activation) and the weight magnitudes.
    """
    from spikelearn.layers import Conv2D, FullyConnected, InputData, SeparableConv2D

    rows, floats, ints, spacings, offset, int_offset, spacing_offset = [], [], [], [], 0, 0, 0
    top = 2**input_bits - 1
    sizes = [int(np.prod(layers[0].input_shape)), 1, 1]
    for layer in layers:
        cfg, var = layer.config, layer.variables
        in_h, in_w, cin = layer.input_shape
        row = dict.fromkeys(kernels.PLAN_FIELDS, 0)
        row.update(in_h=in_h, in_w=in_w, cin=cin)
        if isinstance(layer, InputData):
            rows.append(row)
            continue
        if isinstance(layer, Conv2D | SeparableConv2D):
            if cfg["pool"] == "max":
                return None
            geometry, (out_h, out_w) = layer._window(layer.input_shape)
            (kh, kw), cout = cfg["kernel_size"], cfg["filters"]
            row.update(out_h=out_h, out_w=out_w, cout=cout, kh=kh, kw=kw,
                       sh=geometry[0], sw=geometry[1], pad_top=geometry[2],
                       pad_left=geometry[3], global_sum=int(cfg["pool"] == "global_avg"))
        elif isinstance(layer, FullyConnected):
            cout = cfg["units"]
            row.update(out_h=1, out_w=1, cout=cout)
        else:
            return None
        positions = row["out_h"] * row["out_w"]
        if isinstance(layer, SeparableConv2D):
            # the depthwise weights, or their coverage for a global sum without positions
            depthwise = layer.depthwise_coverage() if row["global_sum"] else \
                var["depthwise"].astype(np.int64)
            bound = top * np.abs(depthwise).sum(axis=(0, 1))  # (cin,) depthwise sums
            gemm = var["pointwise"].astype(np.int64)
            row.update(kind=kernels.SEPARABLE, depthwise=offset)
            floats.append(depthwise.astype(np.float32).ravel())
            offset += depthwise.size
        else:
            gemm = var["weights"].astype(np.int64).reshape(-1, cout)
            bound = np.full(len(gemm), top)
            row["kind"] = kernels.DENSE if isinstance(layer, FullyConnected) else kernels.CONV
        reach = bound @ np.abs(gemm)  # (cout,) largest |GEMM output| of each channel
        if row["kind"] == kernels.SEPARABLE and row["global_sum"]:  # float64, then int32
            reach = reach + positions * np.abs(var["bias"].astype(np.int64))
            limit = INT32_MAX
        else:
            limit = kernels.FLOAT32_EXACT
        if max(int(bound.max(initial=0)), int(reach.max(initial=0))) > limit:
            return None
        taps = len(gemm)
        row.update(weights=offset, bias=int_offset)
        floats.append(gemm.astype(np.float32).ravel())
        offset += gemm.size
        ints.append(var["bias"])
        int_offset += cout
        row.update(spacing=-1, narrow=-1)
        if layer.activation_bits is not None:
            thresholds_t = var["thresholds"].T.ravel()
            row.update(levels=thresholds_t.size // cout, thresholds=int_offset)
            ints.append(thresholds_t)
            int_offset += thresholds_t.size
            spacing = _threshold_spacing(var["thresholds"])
            if spacing is not None:
                row.update(spacing=spacing_offset, irregular=len(spacing) - 3 * cout)
                spacings.append(spacing)
                spacing_offset += len(spacing)
                narrow = _narrow_spacing(spacing[:3 * cout], var["bias"], reach)
                if narrow is not None and not row["global_sum"]:
                    row["narrow"] = offset
                    floats.append(narrow)
                    offset += narrow.size
            top = 2**layer.activation_bits - 1
        sizes = [max(sizes[0], int(np.prod(layer.output_shape))),
                 max(sizes[1], positions * taps), max(sizes[2], positions * cout)]
        rows.append(row)
    plan = np.array([[row[field] for field in kernels.PLAN_FIELDS] for row in rows], np.int64)
    concat = np.concatenate
    return (plan, concat(floats or [np.zeros(0)]).astype(np.float32),
            concat(ints or [np.zeros(0)]).astype(np.int32),
            concat(spacings or [np.zeros(0)]).astype(np.float64), np.array(sizes, np.int64))


#: Fused plans kept by :func:`_cached_plan` (e.g. a model's feature extractor for ``fit``
#: and the whole model, for a few models).
_PLAN_CACHE_SIZE = 8
_plans: dict[bytes, tuple | None] = {}


def _cached_plan(layers: list[Layer], input_bits: int) -> tuple | None:
    """:func:`_fused_plan`, cached under a digest of the layers' configs and arrays: any
    change, in place or not, makes a new plan, and equal layers (a model loaded twice, a
    copy) share one."""
    key = _digest(layers)
    if key not in _plans:
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        _plans[key] = _fused_plan(layers, input_bits)
    return _plans[key]


def _digest(layers: list[Layer]) -> bytes:
    """BLAKE2b digest of the types, shapes, configs and arrays of ``layers``."""
    digest = hashlib.blake2b(digest_size=16)
    for layer in layers:
        digest.update(repr((type(layer).__name__, layer.input_shape, layer.config)).encode())
        for name in sorted(layer.variables):
            value = np.ascontiguousarray(layer.variables[name])
            digest.update(repr((name, value.dtype.str, value.shape)).encode())
            digest.update(value.data)
    return digest.digest()


def _run_fused(plan: tuple, x: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (uint8 levels or int32 potentials, ``(n, h, w, c)``) from the model input
    ``x`` with :func:`spikelearn.layers.kernels.fused_forward`."""
    n = len(x)
    if n == 0:
        return
    flat = out.reshape(n, -1)
    empty_levels, empty_potentials = np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.int32)
    levels, potentials = (flat, empty_potentials) if out.dtype == np.uint8 else \
        (empty_levels, flat)
    chunks = min(n, 4 * numba.get_num_threads())
    with _blas_threads().limit(limits=1, user_api="blas"):  # numba's threads run the GEMMs
        kernels.fused_forward(x.reshape(n, -1), *plan, chunks, levels, potentials)


@functools.cache
def _blas_threads():
    """The process's ``threadpoolctl`` controller (found once: finding BLAS costs ~1 ms)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class Model:
    """A sequential integer spiking network.

    Parameters
    ----------
    layers : list of Layer, or str or os.PathLike, optional
        Layers to :meth:`add` in order (the first one an input layer: ``InputData`` or
        ``InputConv2D``), or the path of a ``.slm`` model file to load.

    Examples
    --------
    >>> import numpy as np
    >>> from spikelearn import Model, InputData, FullyConnected
    >>> model = Model([InputData((1, 1, 3), input_bits=1), FullyConnected(2, weight_bits=1)])
    >>> model.get_layer(-1).set_variable("weights", np.array([[1, 0], [1, 1], [0, 1]]))
    >>> model.forward(np.array([[[[1, 1, 0]]]], np.uint8)).ravel().tolist()
    [2, 1]
    """

    def __init__(self, layers: Iterable[Layer] | str | os.PathLike | None = None):
        self._layers: list[Layer] = []
        self._class_names: list[str] | None = None
        if isinstance(layers, str | os.PathLike):
            from spikelearn.errors import ModelFileError
            from spikelearn.model_file import read_model_file

            path = layers
            layers, class_names = read_model_file(path)
            try:
                for layer in layers:
                    self.add(layer)
            except ValueError as error:
                raise ModelFileError(f"{os.fspath(path)!r} holds an invalid model: {error}") \
                    from error
            self._class_names = class_names
            return
        for layer in layers or ():
            self.add(layer)

    # -- structure ----------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """The layers, first to last (a new list; the layers themselves are shared)."""
        return list(self._layers)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(h, w, c)`` of the model input."""
        self._require_layers()
        return self._layers[0].input_shape

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(h, w, c)`` of the last layer's output."""
        self._require_layers()
        return self._layers[-1].output_shape

    @property
    def input_bits(self) -> int:
        """Bits of the model input values."""
        self._require_layers()
        return self._layers[0].config["input_bits"]

    def add(self, layer: Layer) -> None:
        """Append ``layer`` and build it on the current output shape.

        A layer without a name is named ``<class>_<index>``.

        Raises
        ------
        TypeError
            If ``layer`` is not an engine layer.
        ValueError
            If an input layer is not first, the first layer is not an input layer, the
            previous layer has no activation (only the last layer may output potentials),
            the name is taken, or the input shape does not fit the layer.
        """
        if not isinstance(layer, Layer):
            raise TypeError(f"Model.add expects a spikelearn layer, got {type(layer).__name__}")
        kind = type(layer).__name__
        if not self._layers and not layer.is_input_layer:
            raise ValueError(f"the first layer must be InputData or InputConv2D, got {kind}")
        if self._layers and layer.is_input_layer:
            raise ValueError(f"{kind} is an input layer and must be the first layer; the model "
                             f"already has {len(self._layers)}")
        if self._layers and self._layers[-1].activation_bits is None:
            raise ValueError(f"layer {self._layers[-1].name!r} has no activation (int32 "
                             f"potentials); only the last layer may lack one, cannot add {kind}")
        name = layer.name or f"{_snake(kind)}_{len(self._layers)}"
        if name in (existing.name for existing in self._layers):
            raise ValueError(f"a layer named {name!r} is already in the model")
        if layer.is_input_layer:
            input_shape = tuple(layer.config["input_shape"])
        else:
            input_shape = self._layers[-1].output_shape
        if layer.input_shape is not None and tuple(layer.input_shape) != input_shape:
            raise ValueError(f"layer {name!r} was built for input {layer.input_shape}, the "
                             f"model gives {input_shape}")
        layer.config["name"] = name
        if layer.input_shape is None:
            layer.build(input_shape)
        self._layers.append(layer)

    def pop_layer(self) -> Layer:
        """Remove and return the last layer."""
        self._require_layers()
        return self._layers.pop()

    def get_layer(self, key: str | int) -> Layer:
        """Return a layer by name or by index (negative indices count from the end).

        Raises
        ------
        ValueError
            If no layer has that name or index.
        """
        return self._layers[self._index(key)]

    def _index(self, key: str | int) -> int:
        if isinstance(key, str):
            for index, layer in enumerate(self._layers):
                if layer.name == key:
                    return index
            raise ValueError(f"no layer named {key!r}; layers are "
                             f"{[layer.name for layer in self._layers]}")
        if isinstance(key, int | np.integer) and not isinstance(key, bool):
            if -len(self._layers) <= key < len(self._layers):
                return int(key) % len(self._layers)
            raise ValueError(f"layer index {key} out of range for {len(self._layers)} layers")
        raise TypeError(f"a layer is selected by name or index, got {type(key).__name__}")

    def _require_layers(self) -> None:
        if not self._layers:
            raise ValueError("the model has no layers")

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        return f"Model({[layer.name for layer in self._layers]})"

    # -- inference ----------------------------------------------------------------------------
    def check_input(self, x: Any) -> np.ndarray:
        """Validate a model input batch and return it C-contiguous.

        Raises
        ------
        ValueError
            If ``x`` is not uint8, its shape is not ``(n,) + input_shape``, or a value exceeds
            ``2**input_bits - 1``; the message names the expected and the received.
        """
        self._require_layers()
        if not isinstance(x, np.ndarray) or x.dtype != np.uint8:
            got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
            raise ValueError(f"model input must be a uint8 numpy array, got {got}")
        if x.ndim != 4 or x.shape[1:] != tuple(self.input_shape):
            expected = ", ".join(map(str, self.input_shape))
            raise ValueError(f"model input must have shape (n, {expected}), got {x.shape}")
        limit = 2**self.input_bits - 1
        if limit < 255 and x.size and int(x.max()) > limit:
            raise ValueError(f"model input values must be <= {limit} (input_bits="
                             f"{self.input_bits}), got a maximum of {int(x.max())}")
        return np.ascontiguousarray(x)

    def forward(self, x: np.ndarray, *, until: str | int | None = None,
                batch_size: int = 1024) -> np.ndarray:
        """Run the integer engine.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape
        until : str or int, optional
            Stop after this layer (name or index, inclusive) and return its output; e.g.
            ``until=-2`` gives the levels fed to the last layer. Default: the last layer.
        batch_size : int, default 1024
            Samples computed at once (bounds the memory of intermediate outputs). Samples
            of a batch are spread over numba's threads (``numba.set_num_threads``); small
            batches use fewer threads (:data:`MIN_SAMPLES_PER_THREAD`).

        Returns
        -------
        numpy.ndarray, shape (n, h, w, c)
            uint8 activation levels, or int32 potentials if the layer has no activation.
        """
        return self._run(x, until=until, batch_size=batch_size)

    def _run(self, x: np.ndarray, *, until: str | int | None = None, batch_size: int = 1024,
             observe: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
        """Forward pass in batches; ``observe(index, layer_input, layer_output)`` per layer."""
        x = self.check_input(x)
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        stop = len(self._layers) if until is None else self._index(until) + 1
        last = self._layers[stop - 1]
        dtype = np.uint8 if last.activation_bits is not None else np.int32
        out = np.empty((x.shape[0], *last.output_shape), dtype)
        plan = None if observe is not None else self._plan(stop)
        for start in range(0, x.shape[0], batch_size):
            levels = x[start:start + batch_size]
            with _threads_for(len(levels)):
                if plan is not None:
                    _run_fused(plan, levels, out[start:start + batch_size])
                    continue
                for index, layer in enumerate(self._layers[:stop]):
                    result = layer.call(levels)
                    if observe is not None:
                        observe(index, levels, result)
                    levels = result
            out[start:start + batch_size] = levels
        return out

    def _plan(self, stop: int) -> tuple | None:
        """The fused plan of the first ``stop`` layers (cached, see :func:`_cached_plan`)."""
        return _cached_plan(self._layers[:stop], self.input_bits)

    def predict(self, x: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
        """Float outputs: the last layer's potentials times its ``output_scale`` (when it has
        one), else its levels as float.

        Returns
        -------
        numpy.ndarray of float32, shape (n, h, w, c)
        """
        out = self.forward(x, batch_size=batch_size).astype(np.float32)
        scale = self._layers[-1].variables.get("output_scale")
        if scale is not None and self._layers[-1].activation_bits is None:
            out *= scale
        return out

    @property
    def num_classes(self) -> int | None:
        """Classes of the compiled learning layer (None when the model is not compiled)."""
        if not self._layers:
            return None
        learning = self._layers[-1].config.get("learning")
        if learning is None or "num_classes" not in learning:
            return None
        return int(learning["num_classes"])

    @property
    def score_neurons(self) -> int:
        """Neurons per class that a class score averages: the compiled rule's
        ``score_neurons`` (see :class:`~spikelearn.learning.Competitive`), else 1.

        Settable on a compiled model (saved with it); learning does not depend on it.

        Raises
        ------
        NotCompiledError
            When set on a model that is not compiled.
        LearningError
            When set outside ``[1, neurons per class]``.
        """
        return self._readout_option("score_neurons", 1)

    @score_neurons.setter
    def score_neurons(self, value: int) -> None:
        from spikelearn.learning.training import set_readout_option

        set_readout_option(self, "score_neurons", value)

    @property
    def new_class_bonus(self) -> int:
        """The compiled rule's ``new_class_bonus`` (see
        :class:`~spikelearn.learning.Competitive`), else 0: added to the summed
        ``score_neurons`` best potentials of each class added by :meth:`add_classes`.
        Settable like :attr:`score_neurons`, to an integer >= 0 (else ``LearningError``).
        """
        return self._readout_option("new_class_bonus", 0)

    @new_class_bonus.setter
    def new_class_bonus(self, value: int) -> None:
        from spikelearn.learning.training import set_readout_option

        set_readout_option(self, "new_class_bonus", value)

    def _readout_option(self, name: str, default: int) -> int:
        """A readout option of the compiled rule; ``default`` when not compiled (or a file
        written before the option existed)."""
        if self.num_classes is None:
            return default
        return int(self._layers[-1].config["learning"].get(name, default))

    @property
    def class_names(self) -> list[str] | None:
        """Name of each class (e.g. its keyword), saved in the model file; None when unnamed.

        Setting it requires one distinct non-empty string per class: :attr:`num_classes` of a
        compiled model, else one per output neuron. After :meth:`add_classes` the list is
        short by the new classes until it is set again with their names appended.

        Raises
        ------
        ValueError
            If a name is not a non-empty string, names repeat, or the count is wrong.
        """
        return None if self._class_names is None else list(self._class_names)

    @class_names.setter
    def class_names(self, names: Iterable[str] | None) -> None:
        if names is None:
            self._class_names = None
            return
        names = list(names)
        bad = [name for name in names if not isinstance(name, str) or not name]
        if bad:
            raise ValueError(f"class names must be non-empty strings, got {bad[0]!r}")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"class names must be distinct; repeated: {repeated}")
        expected = self.num_classes or int(np.prod(self.output_shape))
        if len(names) != expected:
            raise ValueError(f"the model has {expected} classes, got {len(names)} class names")
        self._class_names = names

    def class_scores(self, x: np.ndarray, num_classes: int | None = None, *,
                     score_neurons: int | None = None, batch_size: int = 1024) -> np.ndarray:
        """Score of every class: the mean :meth:`predict` output of its ``score_neurons`` most
        excited neurons (``1``: the maximum over the class's neurons), plus
        ``new_class_bonus / score_neurons`` for the classes added by :meth:`add_classes`.

        ``num_classes`` as in :meth:`predict_classes`; ``score_neurons`` defaults to the
        compiled rule's (:class:`~spikelearn.learning.Competitive`), else 1. The bonus applies
        to the compiled classes only (not with another ``num_classes``).

        Returns
        -------
        numpy.ndarray of float32, shape (n, num_classes)
        """
        return self._class_scores(x, num_classes, score_neurons, batch_size)[0]

    def _class_scores(self, x, num_classes, score_neurons, batch_size):
        """Class scores and best neuron outputs, see :func:`spikelearn.learning.scores`."""
        from spikelearn.learning.scores import class_scores
        from spikelearn.learning.training import class_bonus

        outputs = self.predict(x, batch_size=batch_size).reshape(len(x), -1)
        compiled = self.num_classes
        own = compiled is not None and num_classes in (None, compiled)
        if score_neurons is None:
            score_neurons = self.score_neurons if own else 1
        if num_classes is None:
            num_classes = compiled or outputs.shape[1]
        return class_scores(outputs, num_classes, score_neurons,
                            class_bonus(self) if own else None)

    def predict_classes(self, x: np.ndarray, num_classes: int | None = None, *,
                        score_neurons: int | None = None, batch_size: int = 1024,
                        abstain_margin: float | None = None) -> np.ndarray:
        """Predicted class of each sample.

        ``num_classes`` defaults to the compiled learning layer's classes (:attr:`num_classes`);
        on a model that is not compiled, the default scores each output neuron as a class.
        With ``num_classes``, class ``k`` owns the contiguous neurons
        ``[k * npc, (k + 1) * npc)``, ``npc = units // num_classes``, and its score is the
        mean output of its ``score_neurons`` most excited neurons (see :meth:`class_scores`;
        ``1``: the maximum). The best score wins; among equal scores the class with the higher
        best neuron output, then the lowest class index. With ``abstain_margin`` (a number
        >= 0) the answer is ``-1`` when the best score is <= 0 or beats the runner-up by less
        than the margin (see :func:`spikelearn.learning.scores.argmax_or_abstain`).

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
        """
        from spikelearn.learning.scores import argmax_or_abstain

        scores, maxima = self._class_scores(x, num_classes, score_neurons, batch_size)
        return argmax_or_abstain(scores, abstain_margin, tie_break=maxima)

    def evaluate(self, x: np.ndarray, y: np.ndarray, num_classes: int | None = None, *,
                 score_neurons: int | None = None, batch_size: int = 1024) -> float:
        """Accuracy of :meth:`predict_classes` against integer labels ``y`` of shape (n,)."""
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise ValueError(f"labels must have shape ({len(x)},), got {y.shape}")
        predicted = self.predict_classes(x, num_classes, score_neurons=score_neurons,
                                         batch_size=batch_size)
        return float(np.mean(predicted == y)) if len(y) else 0.0

    # -- on-device learning (see spikelearn.learning) -----------------------------------------
    def compile(self, optimizer: Any) -> None:
        """Make the last layer learnable with a :class:`spikelearn.learning.Competitive` rule.

        The last layer must be a ``FullyConnected`` with ``weight_bits=1`` fed by 1-bit spikes,
        with ``units`` a multiple of ``num_classes``. Its weights are overwritten: each neuron
        gets ``num_weights`` connections at seeded random distinct inputs; bias 0. The options
        (and the seed actually used) are stored in the layer config; ``optimizer`` itself is
        not modified.

        Raises
        ------
        TypeError
            If ``optimizer`` is not a ``Competitive``.
        LearningError
            If the layer or an option breaks a rule above, or the model is already compiled.
        """
        from spikelearn.learning.training import compile_model

        compile_model(self, optimizer)

    def fit(self, x: np.ndarray, y: Any) -> Model:
        """Learn samples one after the other with the compiled rule.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape
            Model inputs; the layers before the last one compute the spikes it learns from.
        y : int or array_like of int, shape (n,)
            Class of each sample, in ``[0, num_classes)``; ``-1`` = unlabelled (every neuron
            competes). A scalar applies to all samples. Checked before anything is learned.

        Returns
        -------
        Model
            ``self``. (Use :func:`spikelearn.learning.training.fit_model` for the potentials
            each sample saw before its update.)

        Raises
        ------
        NotCompiledError
            If :meth:`compile` was not called.
        TypeError, ValueError
            Bad inputs or labels; the model is left untouched.
        """
        from spikelearn.learning.training import fit_model

        fit_model(self, x, y)
        return self

    def add_classes(self, num_classes: int) -> None:
        """Append ``num_classes`` classes of fresh neurons to the compiled last layer.

        Each new class gets ``units // num_classes`` neurons with seeded fresh masks, full
        plasticity and zero vigilance; learned neurons stay bit-identical.

        Raises
        ------
        NotCompiledError
            If :meth:`compile` was not called.
        ValueError
            If ``num_classes`` is not an integer >= 1.
        """
        from spikelearn.learning.training import add_classes

        add_classes(self, num_classes)

    # -- reporting and persistence ------------------------------------------------------------
    def summary(self) -> None:
        """Print a table of the layers (see :func:`spikelearn.summary.summary`)."""
        from spikelearn.summary import summary

        summary(self)

    def statistics(self, x: np.ndarray, *, batch_size: int = 1024) -> dict[str, Any]:
        """Per-layer sparsity and synaptic operations (see
        :func:`spikelearn.statistics.model_statistics`)."""
        from spikelearn.statistics import model_statistics

        return model_statistics(self, x, batch_size=batch_size)

    def save(self, path: str | os.PathLike) -> None:
        """Write the model (and its :attr:`class_names`) to a ``.slm`` file, atomically (see
        :mod:`spikelearn.model_file`)."""
        from spikelearn.model_file import save_layers

        self._require_layers()
        save_layers(self._layers, path, class_names=self._class_names)


def _snake(name: str) -> str:
    """``SeparableConv2D`` -> ``separable_conv2d``."""
    out = ""
    for i, char in enumerate(name):
        if char.isupper() and i and name[i - 1].islower():
            out += "_"
        out += char.lower()
    return out
