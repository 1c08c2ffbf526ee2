"""Band-limited FFT resampling (numpy only).

The signal's spectrum is truncated (downsampling) or zero-extended (upsampling) and
inverted at the new length: an ideal low-pass filter at the lower of the two Nyquist
frequencies. Signals are zero-padded before the transform so that the circular
wrap-around of the FFT cannot leak the end of a signal into its start.
"""

from math import ceil, gcd

import numpy as np

_GUARD = 256  # zero samples appended before transforming (wrap-around guard)


def resample_length(x, num):
    """Resample along the last axis to exactly ``num`` samples.

    Parameters
    ----------
    x : numpy.ndarray, float, shape (..., t)
    num : int
        Output length; the time span is kept, so the rate changes by ``num / t``.

    Returns
    -------
    numpy.ndarray, float32, shape (..., num)
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    if num == n:
        return x.copy()
    spectrum = np.fft.rfft(x, axis=-1)
    out = np.zeros(x.shape[:-1] + (num // 2 + 1,), dtype=spectrum.dtype)
    keep = min(n, num) // 2 + 1
    out[..., :keep] = spectrum[..., :keep]
    if min(n, num) % 2 == 0:
        out[..., keep - 1] = 0  # the shared Nyquist bin is ambiguous: drop it
    return (np.fft.irfft(out, num, axis=-1) * (num / n)).astype(np.float32)


def resample(x, orig_rate, target_rate):
    """Change the sample rate of signals along the last axis.

    Parameters
    ----------
    x : numpy.ndarray, float, shape (..., t)
    orig_rate, target_rate : int
        Sample rates in Hz (e.g. 22050 -> 16000).

    Returns
    -------
    numpy.ndarray, float32, shape (..., ceil(t * target_rate / orig_rate))

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros(22050, np.float32), 22050, 16000).shape
    (16000,)
    """
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[-1]
    g = gcd(int(orig_rate), int(target_rate))
    up, down = target_rate // g, orig_rate // g
    out_len = ceil(n * up / down)
    # pad to a whole number of `down` blocks (exact output length) plus a guard
    padded = ceil((n + _GUARD) / down) * down
    x = np.concatenate([x, np.zeros(x.shape[:-1] + (padded - n,), np.float32)], axis=-1)
    return resample_length(x, padded // down * up)[..., :out_len]
