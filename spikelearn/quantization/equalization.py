"""Cross-layer equalization of a separable convolution's two kernels, before quantization.

A separable convolution is ``pointwise(depthwise(x))`` with nothing in between, so dividing
depthwise channel ``c`` by ``s[c] > 0`` and multiplying pointwise input row ``c`` by
``s[c]`` leaves the float function unchanged. The engine quantizes the depthwise kernel per
tensor (its sums go to the pointwise kernel without being requantized), so a channel whose
kernel is small next to the largest one uses only a few of the 4-bit levels. Equalization
picks ``s[c] = sqrt(r_d[c] / r_p[c])``, where ``r_d[c]`` is the largest magnitude of the
channel's depthwise kernel and ``r_p[c]`` that of its pointwise row; both become
``sqrt(r_d[c] * r_p[c])`` (the rule of Nagel et al., 2019, "Data-free quantization through
weight equalization and bias correction"), which balances the depthwise levels against the
pointwise ones.
"""

from __future__ import annotations

import numpy as np


def equalization_scales(depthwise: np.ndarray, pointwise: np.ndarray) -> np.ndarray:
    """Per-channel scales ``s`` of :func:`equalize_separable`.

    Parameters
    ----------
    depthwise : numpy.ndarray, float, shape (kh, kw, channels, 1)
        Depthwise kernel of a Keras ``SeparableConv2D`` (depth multiplier 1).
    pointwise : numpy.ndarray, float, shape (1, 1, channels, filters)
        Its pointwise kernel.

    Returns
    -------
    numpy.ndarray, float64, shape (channels,)
        ``sqrt(r_d / r_p)``; 1 for a channel whose depthwise kernel or pointwise row is
        all zeros (nothing to balance).

    Raises
    ------
    ValueError
        If the shapes are not those of one separable convolution with depth multiplier 1.
    """
    depthwise, pointwise = np.asarray(depthwise), np.asarray(pointwise)
    if depthwise.ndim != 4 or depthwise.shape[3] != 1:
        raise ValueError(f"depthwise kernel must have shape (kh, kw, channels, 1), "
                         f"got {depthwise.shape}")
    channels = depthwise.shape[2]
    if pointwise.shape[:3] != (1, 1, channels) or pointwise.ndim != 4:
        raise ValueError(f"pointwise kernel must have shape (1, 1, {channels}, filters) for a "
                         f"depthwise kernel of {channels} channels, got {pointwise.shape}")
    depthwise_range = np.max(np.abs(depthwise), axis=(0, 1, 3)).astype(np.float64)
    pointwise_range = np.max(np.abs(pointwise), axis=(0, 1, 3)).astype(np.float64)
    scales = np.ones(channels)
    both = (depthwise_range > 0) & (pointwise_range > 0)
    scales[both] = np.sqrt(depthwise_range[both] / pointwise_range[both])
    return scales


def equalize_separable(depthwise: np.ndarray, pointwise: np.ndarray) -> tuple:
    """Equalized copies of a separable convolution's kernels (same float function).

    Parameters
    ----------
    depthwise, pointwise : numpy.ndarray
        As in :func:`equalization_scales`.

    Returns
    -------
    depthwise, pointwise : numpy.ndarray
        ``depthwise / s`` and ``pointwise * s`` per channel, in the input dtypes.
    """
    scales = equalization_scales(depthwise, pointwise)
    depthwise = (depthwise / scales[None, None, :, None]).astype(depthwise.dtype)
    pointwise = (pointwise * scales[None, None, :, None]).astype(pointwise.dtype)
    return depthwise, pointwise
