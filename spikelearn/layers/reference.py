"""Plain numpy reference of every engine layer, used by the tests only.

Written for clarity, not speed: explicit zero padding, one tensor contraction per kernel
tap, int64 arithmetic checked to fit int32, and the activation computed literally as
``level[o] = #{k : P[o] >= thresholds[o, k]}``.
"""

from __future__ import annotations

import numpy as np

from spikelearn.layers.base import Layer


def activate(potentials: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """uint8 levels: the number of thresholds of each channel that the potential reaches.

    Parameters
    ----------
    potentials : integer (..., c)
    thresholds : int32 (c, L)
    """
    return (potentials[..., None] >= thresholds).sum(axis=-1).astype(np.uint8)


def _geometry(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int]:
    """Output size and leading padding, written out from the TensorFlow documentation."""
    if padding == "valid":
        return (size - kernel) // stride + 1, 0
    out = -(-size // stride)
    pad_total = max((out - 1) * stride + kernel - size, 0)
    return out, pad_total // 2


def pad_windows(x: np.ndarray, kernel, strides, padding: str, fill=0):
    """Yield ``(ky, kx, window)`` with ``window[n, oy, ox, c] = x_padded[n, oy*sh + ky, ox*sw +
    kx, c]`` for every kernel tap; the padding holds ``fill``."""
    (kh, kw), (sh, sw) = kernel, strides
    out_h, top = _geometry(x.shape[1], kh, sh, padding)
    out_w, left = _geometry(x.shape[2], kw, sw, padding)
    padded = np.full((x.shape[0], x.shape[1] + top + kh, x.shape[2] + left + kw, x.shape[3]),
                     fill, dtype=np.int64)
    padded[:, top:top + x.shape[1], left:left + x.shape[2]] = x
    for ky in range(kh):
        for kx in range(kw):
            rows = slice(ky, ky + (out_h - 1) * sh + 1, sh)
            cols = slice(kx, kx + (out_w - 1) * sw + 1, sw)
            yield ky, kx, padded[:, rows, cols]


def _finish(layer: Layer, potentials: np.ndarray) -> np.ndarray:
    """Global sum, activation and max pooling of int64 potentials ``(n, oh, ow, c)``."""
    cfg = layer.config
    if cfg.get("pool") == "global_avg":
        potentials = potentials.sum(axis=(1, 2), keepdims=True)
    if np.any(potentials < np.iinfo(np.int32).min) or np.any(potentials > np.iinfo(np.int32).max):
        raise OverflowError(f"layer {layer.name!r}: potentials overflow int32")
    if layer.activation_bits is None:
        return potentials.astype(np.int32)
    levels = activate(potentials, layer.variables["thresholds"])
    if cfg.get("pool") == "max":
        windows = pad_windows(levels, cfg["pool_size"], cfg["pool_stride"] or cfg["pool_size"],
                              cfg["pool_padding"], fill=-1)
        levels = np.max([window for _, _, window in windows], axis=0).astype(np.uint8)
    return levels


def reference_call(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Compute ``layer`` on ``x`` (uint8 ``(n,) + layer.input_shape``) with numpy only."""
    kind = type(layer).__name__
    cfg, var = layer.config, layer.variables
    if kind == "InputData":
        return x
    if kind == "FullyConnected":
        flat = x.reshape(x.shape[0], -1).astype(np.int64)
        potentials = flat @ var["weights"].astype(np.int64) + var["bias"]
        return _finish(layer, potentials[:, None, None, :])
    windows = pad_windows(x, cfg["kernel_size"], cfg["strides"], cfg["padding"])
    if kind in ("InputConv2D", "Conv2D"):
        weights = var["weights"].astype(np.int64)
        potentials = sum(np.tensordot(window, weights[ky, kx], axes=([3], [0]))
                         for ky, kx, window in windows)
    elif kind == "SeparableConv2D":
        depthwise = var["depthwise"].astype(np.int64)
        depth = sum(window * depthwise[ky, kx] for ky, kx, window in windows)
        potentials = np.tensordot(depth, var["pointwise"].astype(np.int64), axes=([3], [0]))
    else:
        raise TypeError(f"no reference for layer type {kind}")
    return _finish(layer, potentials + var["bias"])
