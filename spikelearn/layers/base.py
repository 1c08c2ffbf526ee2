"""Common machinery of the engine layers: configuration, variables, geometry.

A layer is a plain object holding a JSON-serialisable ``config`` dict and a ``variables`` dict
of integer numpy arrays. :meth:`Layer.build` is called by :class:`spikelearn.Model` with the
shape of the layer's input; it allocates zero weights and biases and the default thresholds
``thresholds[o, k] = k + 1``.
"""

from __future__ import annotations

import copy
import inspect
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikelearn.layers import kernels

SUPPORTED_WEIGHT_BITS = (1, 2, 4, 8)
SUPPORTED_ACTIVATION_BITS = (1, 2, 4, 8)
INT32_MIN, INT32_MAX = int(np.iinfo(np.int32).min), int(np.iinfo(np.int32).max)
EMPTY_LEVELS = np.zeros((0, 0, 0, 0), np.uint8)
EMPTY_POTENTIALS = np.zeros((0, 0, 0, 0), np.int32)


@dataclass(frozen=True)
class VariableSpec:
    """What a layer variable must look like: shape, dtype and inclusive value range."""

    shape: tuple[int, ...]
    dtype: type
    low: float | None = None
    high: float | None = None
    monotonic: bool = False  # non-decreasing along axis 1 (thresholds)


def weight_range(bits: int) -> tuple[int, int]:
    """Inclusive integer range of ``bits``-bit weights.

    Signed symmetric ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` for ``b >= 2``; ``{0, 1}`` for ``b = 1``.
    """
    if bits == 1:
        return 0, 1
    high = 2 ** (bits - 1) - 1
    return -high, high


def pair(value: Any, what: str, layer: str) -> list[int]:
    """Return ``value`` (int or pair of ints, all >= 1) as a two-element list."""
    values = [value, value] if np.ndim(value) == 0 else list(value)
    if len(values) != 2 or any(int(v) != v or int(v) < 1 for v in values):
        raise ValueError(f"layer {layer!r}: {what} must be a positive int or a pair, got {value!r}")
    return [int(v) for v in values]


def check_choice(value: Any, choices: tuple, what: str, layer: str) -> None:
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"layer {layer!r}: {what} must be one of {choices}, got {value!r}")


def input_max(x: np.ndarray) -> int:
    """Largest level of a uint8 batch (0 when empty)."""
    return int(x.max()) if x.size else 0


def fits_int16(bound: int) -> bool:
    """Whether integers bounded in magnitude by ``bound`` fit int16 (narrow kernel path)."""
    return int(bound) <= np.iinfo(np.int16).max


def check_input_shape(shape: Any, layer: str | None) -> list[int]:
    """Return a model input shape ``(h, w, c)`` as a list of positive ints."""
    values = list(np.atleast_1d(shape))
    if len(values) != 3 or any(int(v) != v or v < 1 for v in values):
        raise ValueError(f"layer {layer or 'input'!r}: input_shape must be (h, w, c) with "
                         f"positive ints, got {shape!r}")
    return [int(v) for v in values]


def check_input_bits(bits: Any, layer: str | None) -> int:
    """Return ``input_bits`` as an int in 1..8."""
    if int(bits) != bits or not 1 <= bits <= 8:
        raise ValueError(f"layer {layer or 'input'!r}: input_bits must be an int in 1..8, got "
                         f"{bits!r}")
    return int(bits)


def window_geometry(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Output size and leading padding of a sliding window, TensorFlow semantics.

    ``'same'``: ``out = ceil(size / stride)``, ``pad_total = max((out - 1) * stride + kernel -
    size, 0)``, leading padding ``pad_total // 2``. ``'valid'``: ``out = (size - kernel) //
    stride + 1``, no padding.
    """
    if padding == "same":
        out = math.ceil(size / stride)
        return out, max((out - 1) * stride + kernel - size, 0) // 2
    return (size - kernel) // stride + 1, 0


class Layer:
    """Base class of the engine layers.

    Attributes
    ----------
    config : dict
        JSON-serialisable constructor arguments, including ``"name"``.
    variables : dict of str to numpy.ndarray
        Integer weights, biases, thresholds (and any learning state).
    input_shape, output_shape : tuple of int or None
        ``(h, w, c)`` once built.
    """

    #: True for layers that take the model input (first layer of a model).
    is_input_layer = False

    def __init__(self, *, name: str | None = None):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"layer name must be a non-empty string, got {name!r}")
        self.config: dict[str, Any] = {"name": name}
        self.variables: dict[str, np.ndarray] = {}
        self.input_shape: tuple[int, int, int] | None = None
        self.output_shape: tuple[int, int, int] | None = None

    # -- configuration ------------------------------------------------------------------------
    @property
    def name(self) -> str | None:
        """The layer name (set by :meth:`spikelearn.Model.add` when not given)."""
        return self.config["name"]

    @property
    def activation_bits(self) -> int | None:
        """Bits of the output activation levels, or None for int32 potential outputs."""
        return self.config.get("activation_bits")

    def get_config(self) -> dict[str, Any]:
        """Return a deep copy of the configuration."""
        return copy.deepcopy(self.config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Build an (unbuilt) layer from :meth:`get_config` output.

        Keys that are not constructor arguments (e.g. ``"learning"``) are kept in ``config``.
        """
        accepted = inspect.signature(cls.__init__).parameters
        layer = cls(**{key: value for key, value in config.items() if key in accepted})
        layer.config.update(copy.deepcopy(config))
        return layer

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, output_shape={self.output_shape})"

    # -- building and variables ---------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Set the input shape, compute the output shape and allocate default variables.

        Parameters
        ----------
        input_shape : tuple of int
            ``(h, w, c)`` of the layer input.

        Raises
        ------
        ValueError
            If the input shape is not three positive ints or too small for the layer.
        """
        shape = tuple(int(v) for v in input_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"layer {self.name!r}: input shape must be (h, w, c) with positive "
                             f"sizes, got {tuple(input_shape)}")
        self.input_shape = shape
        self.output_shape = self._output_shape(shape)
        self.variables = {}
        for key, spec in self.variable_specs().items():
            if key == "thresholds":
                levels = np.arange(1, spec.shape[1] + 1, dtype=np.int32)
                self.variables[key] = np.tile(levels, (spec.shape[0], 1))
            elif key == "output_scale":
                self.variables[key] = np.ones(spec.shape, spec.dtype)
            else:
                self.variables[key] = np.zeros(spec.shape, spec.dtype)

    def variable_specs(self) -> dict[str, VariableSpec]:
        """Expected shape, dtype and range of each variable of the built layer."""
        raise NotImplementedError

    def _output_shape(self, input_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        raise NotImplementedError

    def _threshold_spec(self, channels: int) -> dict[str, VariableSpec]:
        bits = self.activation_bits
        if bits is None:
            return {}
        return {"thresholds": VariableSpec((channels, 2**bits - 1), np.int32, INT32_MIN,
                                           INT32_MAX, monotonic=True)}

    def _require_built(self) -> None:
        if self.input_shape is None:
            raise ValueError(f"layer {self.name!r} is not built; add it to a Model first")

    def get_variable(self, name: str) -> np.ndarray:
        """Return the variable ``name`` (the stored array, not a copy)."""
        if name not in self.variables:
            raise ValueError(f"layer {self.name!r} has no variable {name!r}; it has "
                             f"{sorted(self.variables)}")
        return self.variables[name]

    def set_variable(self, name: str, value: Any) -> None:
        """Validate and store a copy of ``value`` as variable ``name``.

        Integer variables accept any integer (or bool) array whose values fit; it is stored
        with the documented dtype. Float variables accept any real array.

        Raises
        ------
        ValueError
            Naming the layer, the variable and what was expected versus received: unknown
            variable, wrong dtype kind, wrong shape, values out of range, or thresholds that
            decrease along axis 1.
        """
        self._require_built()
        specs = self.variable_specs()
        if name not in specs:
            raise ValueError(f"layer {self.name!r} has no variable {name!r}; expected one of "
                             f"{sorted(specs)}")
        spec = specs[name]
        array = np.asarray(value)
        where = f"layer {self.name!r}, variable {name!r}"
        integer = np.issubdtype(spec.dtype, np.integer)
        if (integer and array.dtype.kind not in "iub") or array.dtype.kind not in "iubf":
            raise ValueError(f"{where}: expected {np.dtype(spec.dtype).name} values, got dtype "
                             f"{array.dtype}")
        if array.shape != spec.shape:
            raise ValueError(f"{where}: expected shape {spec.shape}, got {array.shape}")
        if array.size and spec.low is not None:
            low, high = array.min(), array.max()
            if low < spec.low or high > spec.high:
                raise ValueError(f"{where}: values must lie in [{spec.low}, {spec.high}], got "
                                 f"[{low}, {high}]")
        if spec.monotonic and array.size and np.any(np.diff(array.astype(np.int64), axis=1) < 0):
            raise ValueError(f"{where}: thresholds must be non-decreasing along axis 1")
        self.variables[name] = np.array(array, dtype=spec.dtype, order="C")

    # -- computation --------------------------------------------------------------------------
    def call(self, x: np.ndarray) -> np.ndarray:
        """Compute the layer on a batch.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape, C-contiguous

        Returns
        -------
        numpy.ndarray
            uint8 levels ``(n,) + output_shape``, or int32 potentials without activation.
        """
        raise NotImplementedError

    def _outputs(self, n: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Allocate the output of a kernel call: (levels, potentials), one of them empty."""
        if self.activation_bits is None:
            return EMPTY_LEVELS, np.empty((n, *shape), np.int32)
        return np.empty((n, *shape), np.uint8), EMPTY_POTENTIALS

    def _thresholds_t(self, channels: int) -> np.ndarray:
        if self.activation_bits is None:
            return np.zeros((0, channels), np.int32)
        return np.ascontiguousarray(self.variables["thresholds"].T)

    def macs(self) -> int:
        """Dense multiply-accumulate operations per sample."""
        raise NotImplementedError

    def synaptic_ops(self, x: np.ndarray) -> np.ndarray:
        """Synaptic operations an event-driven engine performs on each sample of ``x``.

        Each nonzero input element (an event) costs one operation per weight it meets.

        Parameters
        ----------
        x : numpy.ndarray of uint8, shape (n,) + input_shape

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
        """
        raise NotImplementedError

    def parameter_count(self) -> dict[str, int]:
        """Number of weights (``"weights"``) and of biases and thresholds (``"other"``)."""
        count = {"weights": 0, "other": 0}
        for key, array in self.variables.items():
            if key in ("weights", "depthwise", "pointwise"):
                count["weights"] += int(array.size)
            elif key in ("bias", "thresholds"):
                count["other"] += int(array.size)
        return count


class SpatialLayer(Layer):
    """Base of the convolutional layers: kernel window, strides, padding and pooling.

    Pooling (``pool``): ``'none'``; ``'max'`` over the activation levels after the activation
    (``pool_size``, ``pool_stride`` defaulting to ``pool_size``, ``pool_padding`` with TF
    semantics, padded positions never win); ``'global_avg'``: the potentials are summed over
    all spatial positions before the activation, output ``(1, 1, filters)``. The parameters
    are those of :class:`~spikelearn.layers.Conv2D`.
    """

    def __init__(self, filters, kernel_size, *, strides=1, padding="same", weight_bits=4,
                 activation_bits=4, pool="none", pool_size=2, pool_stride=None,
                 pool_padding="valid", name=None):
        super().__init__(name=name)
        shown = name or type(self).__name__
        if int(filters) != filters or filters < 1:
            raise ValueError(f"layer {shown!r}: filters must be a positive int, got {filters!r}")
        check_choice(padding, ("same", "valid"), "padding", shown)
        check_choice(pool, ("none", "max", "global_avg"), "pool", shown)
        check_choice(pool_padding, ("same", "valid"), "pool_padding", shown)
        if activation_bits is not None:
            check_choice(activation_bits, SUPPORTED_ACTIVATION_BITS, "activation_bits", shown)
        if pool == "max" and activation_bits is None:
            raise ValueError(f"layer {shown!r}: pool='max' applies to activation levels and "
                             "needs activation_bits")
        self.config.update(
            filters=int(filters), kernel_size=pair(kernel_size, "kernel_size", shown),
            strides=pair(strides, "strides", shown), padding=padding,
            activation_bits=activation_bits, pool=pool,
            pool_size=pair(pool_size, "pool_size", shown),
            pool_stride=None if pool_stride is None else pair(pool_stride, "pool_stride", shown),
            pool_padding=pool_padding)
        check_choice(weight_bits, SUPPORTED_WEIGHT_BITS, "weight_bits", shown)
        self.config["weight_bits"] = weight_bits

    def _window(self, input_shape) -> tuple[np.ndarray, tuple[int, int]]:
        """Convolution geometry array (see :mod:`spikelearn.layers.kernels`) and output size."""
        cfg = self.config
        return self._geometry(input_shape, cfg["kernel_size"], cfg["strides"], "padding",
                              "input", "kernel")

    def _pool_window(self, size) -> tuple[np.ndarray, tuple[int, int]]:
        """Max-pooling geometry array and output size for a convolution output ``size``."""
        cfg = self.config
        return self._geometry(size, cfg["pool_size"], cfg["pool_stride"] or cfg["pool_size"],
                              "pool_padding", "output", "pool window")

    def _geometry(self, size, window, strides, padding_key, what, window_name):
        """``(stride_h, stride_w, pad_top, pad_left, out_h, out_w)`` and ``(out_h, out_w)`` of
        a sliding ``window`` over ``size`` with the padding option ``config[padding_key]``."""
        (kh, kw), (sh, sw) = window, strides
        padding = self.config[padding_key]
        out_h, pad_top = window_geometry(size[0], kh, sh, padding)
        out_w, pad_left = window_geometry(size[1], kw, sw, padding)
        if out_h < 1 or out_w < 1:
            raise ValueError(f"layer {self.name!r}: {what} {tuple(size)} is smaller than the "
                             f"{window_name} {(kh, kw)} with {padding_key} 'valid'")
        return np.array([sh, sw, pad_top, pad_left, out_h, out_w], np.int64), (out_h, out_w)

    def _output_shape(self, input_shape):
        _, size = self._window(input_shape)
        if self.config["pool"] == "global_avg":
            size = (1, 1)
        elif self.config["pool"] == "max":
            _, size = self._pool_window(size)
        return (*size, self.config["filters"])

    def call(self, x):
        self._require_built()
        geometry, size = self._window(self.input_shape)
        global_sum = self.config["pool"] == "global_avg"
        levels, potentials = self._outputs(x.shape[0], (1, 1) + self.output_shape[2:]
                                           if global_sum else (*size, self.config["filters"]))
        self._kernel(x, geometry, global_sum, levels, potentials)
        if self.config["pool"] == "max":
            pool_geometry, _ = self._pool_window(size)
            return kernels.max_pool2d(levels, np.array(self.config["pool_size"], np.int64),
                                      pool_geometry)
        return potentials if self.activation_bits is None else levels

    def _kernel(self, x, geometry, global_sum, levels, potentials) -> None:
        raise NotImplementedError

    def _positions_covering(self) -> np.ndarray:
        """int64 (h, w): number of output positions whose window contains each input position."""
        geometry, (out_h, out_w) = self._window(self.input_shape)
        (kh, kw), (sh, sw, pad_top, pad_left) = self.config["kernel_size"], geometry[:4]
        counts = np.zeros(self.input_shape[:2], np.int64)
        for oy in range(out_h):
            for ox in range(out_w):
                y0, x0 = oy * sh - pad_top, ox * sw - pad_left
                counts[max(y0, 0):y0 + kh, max(x0, 0):x0 + kw] += 1
        return counts

    def _conv_positions(self) -> int:
        _, (out_h, out_w) = self._window(self.input_shape)
        return out_h * out_w
