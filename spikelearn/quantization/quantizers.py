"""Quantizers with straight-through gradients.

Each quantizer is a function (:func:`quantize_weights`, :func:`quantize_activation`) with a
serializable class twin (:class:`WeightQuantizer`, :class:`ActivationQuantizer`), registered
with Keras under the package name ``"spikelearn"`` so that ``.h5`` files load with plain
``keras.models.load_model`` once :mod:`spikelearn.quantization` is imported.

Integer semantics (what the converter reproduces exactly):

- weights, ``b`` bits, symmetric: ``scale = max|w| / (2**(b-1) - 1)`` (per tensor or per
  output channel; with ``clip="mse"`` the fraction of it in :data:`CLIP_FRACTIONS` with the
  smallest squared error), ``level = clip(round(w / scale), -(2**(b-1)-1), 2**(b-1)-1)``;
- activations, ``b`` bits, unsigned: ``L = 2**b - 1``,
  ``level = clip(floor(x / step + 1/2), 0, L)``; ``b = 1`` is a spike, ``x >= step / 2``.
  Activation quantizers output the integer **levels** (as floats), not ``level * step``: the
  next layer then computes on integers exactly, and its kernel absorbs the step.
"""

from __future__ import annotations

import keras
from keras import ops

#: Weight bit widths the symmetric quantizer supports.
WEIGHT_BITS = (2, 4, 8)
#: Activation bit widths the unsigned quantizer supports.
ACTIVATION_BITS = (1, 2, 4, 8)
#: Smallest activation step the layers use (a trainable step is clamped to it).
MIN_STEP = 1e-6
#: How a weight scale is chosen: ``"max"`` (no weight clipped) or ``"mse"``.
WEIGHT_CLIPS = ("max", "mse")
#: Fractions of ``max|w|`` that ``clip="mse"`` tries as the largest level's value.
CLIP_FRACTIONS = tuple(0.5 + 0.025 * i for i in range(21))


def _check_bits(bits: int, allowed: tuple[int, ...], what: str) -> int:
    if isinstance(bits, bool) or int(bits) != bits or int(bits) not in allowed:
        raise ValueError(f"{what} bits must be one of {allowed}, got {bits!r}")
    return int(bits)


def max_weight_level(bits: int) -> int:
    """Largest weight level ``2**(bits-1) - 1`` of a symmetric ``bits``-bit quantizer."""
    return 2 ** (_check_bits(bits, WEIGHT_BITS, "weight") - 1) - 1


def max_activation_level(bits: int) -> int:
    """Largest activation level ``L = 2**bits - 1`` of an unsigned ``bits``-bit quantizer."""
    return 2 ** _check_bits(bits, ACTIVATION_BITS, "activation") - 1


def _round_half_away(x):
    return ops.sign(x) * ops.floor(ops.abs(x) + 0.5)


def _round_ste(x):
    """``round(x)`` forward (half away from zero), identity gradient."""
    return x + ops.stop_gradient(_round_half_away(x) - x)


def _check_clip(clip: str) -> str:
    if clip not in WEIGHT_CLIPS:
        raise ValueError(f"weight clip must be one of {WEIGHT_CLIPS}, got {clip!r}")
    return clip


def _mse_scale(w, max_abs, max_level: int, axes):
    """The scale ``f * max_abs / max_level``, ``f`` in :data:`CLIP_FRACTIONS`, of least
    squared error ``sum((q(w) - w)**2)`` over ``axes`` (all axes when ``axes`` is None);
    ties go to the larger ``f``."""
    best_scale, best_error = None, None
    for fraction in reversed(CLIP_FRACTIONS):
        scale = ops.maximum(max_abs * fraction, 1e-12) / max_level
        quantized = ops.clip(_round_half_away(w / scale), -max_level, max_level) * scale
        error = ops.sum(ops.square(quantized - w), axis=axes, keepdims=axes is not None)
        if best_scale is None:
            best_scale, best_error = scale, error
        else:
            better = error < best_error
            best_scale = ops.where(better, scale, best_scale)
            best_error = ops.where(better, error, best_error)
    return best_scale


def weight_levels_and_scale(w, bits: int = 4, per_channel: bool = False, channel_axes=(-1,),
                            clip: str = "max"):
    """Integer levels and scale of a weight tensor, with a straight-through gradient.

    Parameters
    ----------
    w : tensor, float32, any shape
        Float weights.
    bits : {2, 4, 8}
        Bit width; levels lie in ``[-(2**(bits-1)-1), 2**(bits-1)-1]``.
    per_channel : bool
        One scale per output channel (the ``channel_axes`` of ``w``) instead of one per tensor.
    channel_axes : tuple of int
        Axes of ``w`` that index output channels (``(-1,)`` for Conv2D and Dense kernels,
        ``(2, 3)`` for a DepthwiseConv2D kernel).
    clip : {"max", "mse"}
        ``"max"``: the largest level stands for ``max|w|``, so no weight is clipped.
        ``"mse"``: it stands for the fraction ``f * max|w|`` (``f`` in
        :data:`CLIP_FRACTIONS`, 0.5 to 1) that gives the least squared error
        ``sum((levels * scale - w)**2)``; finer levels, the largest weights clipped.

    Returns
    -------
    levels : tensor, float32, shape of ``w``
        Integer-valued levels; ``d levels / d w = 1 / scale`` where not clipped, else 0
        (straight through).
    scale : tensor, float32, broadcastable to ``w``
        ``f * max|w| / (2**(bits-1)-1)`` over the reduced axes (no gradient).
    """
    max_level = max_weight_level(bits)
    _check_clip(clip)
    w = ops.convert_to_tensor(w, dtype="float32")
    axes = None
    if per_channel:
        channel = {a % len(w.shape) for a in channel_axes}
        axes = tuple(a for a in range(len(w.shape)) if a not in channel)
        max_abs = ops.max(ops.abs(w), axis=axes, keepdims=True) if axes else ops.abs(w)
    else:
        max_abs = ops.max(ops.abs(w))
    if clip == "mse" and axes != ():
        scale = ops.stop_gradient(_mse_scale(w, max_abs, max_level, axes))
    else:
        scale = ops.stop_gradient(ops.maximum(max_abs, 1e-12) / max_level)
    levels = ops.clip(_round_ste(w / scale), -max_level, max_level)
    return levels, scale


def quantize_weights(w, bits: int = 4, per_channel: bool = False, channel_axes=(-1,),
                     clip: str = "max"):
    """Symmetric ``bits``-bit fake quantization of weights, ``levels * scale``.

    The gradient is the identity (straight-through estimator ``w + stop_gradient(q(w) - w)``).
    See :func:`weight_levels_and_scale` for the parameters.

    Returns
    -------
    tensor, float32, shape of ``w``
        The quantized weights.

    Examples
    --------
    >>> import numpy as np
    >>> np.asarray(quantize_weights(np.array([0.7, -0.1, 0.35]), bits=2)).tolist()
    [0.699999988079071, -0.0, 0.699999988079071]
    """
    levels, scale = weight_levels_and_scale(w, bits, per_channel, channel_axes, clip)
    return levels * scale


def quantize_activation(x, bits: int = 4, step=1.0):
    """Unsigned ``bits``-bit activation levels with a clipped straight-through gradient.

    ``level = clip(floor(x / step + 1/2), 0, 2**bits - 1)``. The gradient with respect to
    ``x`` is ``1 / step`` where ``0 < x / step < L`` and 0 elsewhere; with respect to ``step``
    it is ``-x / step**2`` inside and 0 outside.

    Parameters
    ----------
    x : tensor, float32, any shape
        Pre-activations.
    bits : {1, 2, 4, 8}
        Bit width (1: a spike where ``x >= step / 2``).
    step : float or scalar tensor
        Quantization step (> 0), in units of ``x``.

    Returns
    -------
    tensor, float32, shape of ``x``
        Integer-valued levels in ``[0, 2**bits - 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> np.asarray(quantize_activation(np.array([-1.0, 0.4, 0.5, 2.0]), bits=1)).tolist()
    [0.0, 0.0, 1.0, 1.0]
    """
    max_level = max_activation_level(bits)
    x = ops.convert_to_tensor(x, dtype="float32")
    scaled = ops.clip(x / step, 0.0, float(max_level))
    levels = ops.clip(ops.floor(x / step + 0.5), 0.0, float(max_level))
    return scaled + ops.stop_gradient(levels - scaled)


@keras.saving.register_keras_serializable(package="spikelearn")
class WeightQuantizer:
    """Serializable twin of :func:`quantize_weights`.

    Parameters
    ----------
    bits : {2, 4, 8}
        Bit width.
    per_channel : bool
        One scale per output channel instead of one per tensor.
    clip : {"max", "mse"}
        How the scale is chosen (see :func:`weight_levels_and_scale`).
    """

    def __init__(self, bits: int = 4, per_channel: bool = False, clip: str = "max"):
        self.bits = _check_bits(bits, WEIGHT_BITS, "weight")
        self.per_channel = bool(per_channel)
        self.clip = _check_clip(clip)

    def __call__(self, w, channel_axes=(-1,)):
        return quantize_weights(w, self.bits, self.per_channel, channel_axes, self.clip)

    def levels_and_scale(self, w, channel_axes=(-1,)):
        """Levels and scale of ``w``; see :func:`weight_levels_and_scale`."""
        return weight_levels_and_scale(w, self.bits, self.per_channel, channel_axes, self.clip)

    def get_config(self) -> dict:
        return {"bits": self.bits, "per_channel": self.per_channel, "clip": self.clip}

    @classmethod
    def from_config(cls, config: dict) -> WeightQuantizer:
        return cls(**config)

    def __repr__(self) -> str:
        return (f"WeightQuantizer(bits={self.bits}, per_channel={self.per_channel}, "
                f"clip={self.clip!r})")


@keras.saving.register_keras_serializable(package="spikelearn")
class ActivationQuantizer:
    """Serializable twin of :func:`quantize_activation` with a fixed step.

    Parameters
    ----------
    bits : {1, 2, 4, 8}
        Bit width.
    step : float
        Quantization step (> 0).
    """

    def __init__(self, bits: int = 4, step: float = 1.0):
        self.bits = _check_bits(bits, ACTIVATION_BITS, "activation")
        if not step > 0:
            raise ValueError(f"activation step must be > 0, got {step!r}")
        self.step = float(step)

    def __call__(self, x):
        return quantize_activation(x, self.bits, self.step)

    def get_config(self) -> dict:
        return {"bits": self.bits, "step": self.step}

    @classmethod
    def from_config(cls, config: dict) -> ActivationQuantizer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"ActivationQuantizer(bits={self.bits}, step={self.step})"


def get_weight_quantizer(identifier) -> WeightQuantizer | None:
    """A :class:`WeightQuantizer` from an instance, a config dict, an int (bits) or None."""
    if identifier is None or isinstance(identifier, WeightQuantizer):
        return identifier
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        return WeightQuantizer(identifier)
    if isinstance(identifier, dict):
        if "class_name" in identifier:
            return keras.saving.deserialize_keras_object(identifier)
        return WeightQuantizer(**identifier)
    raise TypeError(f"cannot interpret {identifier!r} as a weight quantizer")
