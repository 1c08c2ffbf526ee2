"""Seeded data augmentation of one-second clips.

Each variant of a clip gets, in this order: an optional speed change (resampling:
tempo and pitch together, like Kaldi's speed perturbation), an optional pitch shift
(phase-vocoder time stretch then resampling: pitch only), a random time shift with
zero fill, and background noise at a random SNR. The SNR is measured against the
clip's *active* power: the mean power of its 20 ms frames within 30 dB of the loudest
one, so that a short word in a long silence is not under-estimated.
"""

import numpy as np

from spikelearn.datasets.audio import CLIP_SAMPLES, SAMPLE_RATE, check_clips
from spikelearn.datasets.noise import NOISE_KINDS, make_noise, mix_at_snr
from spikelearn.datasets.resample import resample_length


def augment(
    clips,
    n=40,
    seed=0,
    *,
    shift_ms=100.0,
    snr_db=(5.0, 30.0),
    noise=None,
    speed=(0.9, 1.1),
    pitch_semitones=None,
):
    """Make ``n`` randomly perturbed variants of every clip.

    Parameters
    ----------
    clips : array_like, float32, shape (m, 16000)
        Mono one-second clips at 16 kHz.
    n : int, optional
        Variants per clip.
    seed : int, optional
    shift_ms : float, optional
        Maximum time shift either way, in milliseconds (0 disables).
    snr_db : tuple of 2 floats or None, optional
        Range of the signal-to-noise ratio in dB; None adds no noise.
    noise : array_like, float, shape (k, t) with t >= 16000, or list of 1-D arrays, optional
        Background recordings (e.g. Speech Commands' ``_background_noise_``) from which
        random one-second windows are taken. Default: synthetic noise of every kind in
        :data:`spikelearn.datasets.noise.NOISE_KINDS`.
    speed : tuple of 2 floats or None, optional
        Range of the speed factor (>1 is faster); None keeps the speed.
    pitch_semitones : tuple of 2 floats or None, optional
        Range of the pitch shift in semitones at constant tempo; None (default) keeps
        the pitch.

    Returns
    -------
    numpy.ndarray, float32, shape (m * n, 16000)
        Clip-major: row ``i * n + j`` is variant ``j`` of clip ``i`` (so the labels are
        ``numpy.repeat(labels, n)``).

    Examples
    --------
    >>> import numpy as np
    >>> augment(np.zeros((4, 16000), np.float32), n=3, seed=0).shape
    (12, 16000)
    """
    x = check_clips(clips)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    out = np.repeat(x, n, axis=0)
    rows = out.shape[0]
    if speed is not None:
        factors = rng.uniform(*speed, size=rows)
        for i in range(rows):
            out[i] = _centre(resample_length(out[i], round(CLIP_SAMPLES / factors[i])))
    if pitch_semitones is not None:
        ratios = 2.0 ** (rng.uniform(*pitch_semitones, size=rows) / 12.0)
        for i in range(rows):
            stretched = time_stretch(out[i], 1.0 / ratios[i])
            out[i] = _centre(resample_length(stretched, CLIP_SAMPLES))
    if shift_ms:
        limit = int(shift_ms * SAMPLE_RATE / 1000)
        shifts = rng.integers(-limit, limit + 1, size=rows)
        for i in np.flatnonzero(shifts):
            out[i] = np.roll(out[i], shifts[i])
            if shifts[i] > 0:
                out[i, : shifts[i]] = 0
            else:
                out[i, shifts[i] :] = 0
    if snr_db is not None:
        snr = rng.uniform(*snr_db, size=rows)
        out = mix_at_snr(out, _noise(rng, noise, rows), snr, active_power(out))
    return out


def active_power(clips, frame=320, range_db=30.0):
    """Mean power of the frames within ``range_db`` of each clip's loudest frame.

    Parameters
    ----------
    clips : numpy.ndarray, float, shape (n, t)

    Returns
    -------
    numpy.ndarray, float64, shape (n,)
    """
    t = clips.shape[1] // frame * frame
    power = np.mean(np.square(clips[:, :t], dtype=np.float64).reshape(len(clips), -1, frame), 2)
    loud = power >= power.max(axis=1, keepdims=True) * 10.0 ** (-range_db / 10.0)
    return (power * loud).sum(axis=1) / np.maximum(loud.sum(axis=1), 1)


def time_stretch(signal, rate, n_fft=512, hop=128):
    """Phase-vocoder time stretch (duration divided by ``rate``, pitch kept).

    Parameters
    ----------
    signal : numpy.ndarray, float, shape (t,)
    rate : float
        > 1 shortens, < 1 lengthens.

    Returns
    -------
    numpy.ndarray, float32, shape (about t / rate,)
    """
    window = np.hanning(n_fft + 1)[:-1]
    padded = np.pad(signal.astype(np.float64), (n_fft, n_fft))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * window
    spec = np.fft.rfft(frames, axis=1)
    steps = np.arange(0.0, spec.shape[0] - 1, rate)
    expected = 2 * np.pi * hop * np.arange(spec.shape[1]) / n_fft
    left = steps.astype(int)
    frac = (steps - left)[:, None]
    mag = (1 - frac) * np.abs(spec[left]) + frac * np.abs(spec[left + 1])
    delta = np.angle(spec[left + 1]) - np.angle(spec[left]) - expected
    delta -= 2 * np.pi * np.round(delta / (2 * np.pi))
    phase = np.angle(spec[0]) + np.cumsum(
        np.vstack([np.zeros_like(expected), (expected + delta)[:-1]]), axis=0
    )
    frames_out = np.fft.irfft(mag * np.exp(1j * phase), n_fft, axis=1) * window
    length = (len(steps) - 1) * hop + n_fft
    out = np.zeros(length)
    norm = np.zeros(length)
    for k, f in enumerate(frames_out):
        out[k * hop : k * hop + n_fft] += f
        norm[k * hop : k * hop + n_fft] += window**2
    out = out / np.maximum(norm, 1e-3)
    return out[n_fft : n_fft + round(signal.size / rate)].astype(np.float32)


def _centre(signal):
    """Centre-crop or centre-pad to one clip length."""
    d = signal.size - CLIP_SAMPLES
    if d >= 0:
        return signal[d // 2 : d // 2 + CLIP_SAMPLES]
    return np.pad(signal, (-d // 2, -d - (-d // 2)))


def _noise(rng, recordings, rows):
    if recordings is None:
        kinds = rng.integers(len(NOISE_KINDS), size=rows)
        noise = np.empty((rows, CLIP_SAMPLES), np.float32)
        for k, kind in enumerate(NOISE_KINDS):
            sel = np.flatnonzero(kinds == k)
            noise[sel] = make_noise(kind, rng, sel.size)
        return noise
    recordings = [np.asarray(r, np.float32).ravel() for r in recordings]
    if not recordings or min(r.size for r in recordings) < CLIP_SAMPLES:
        raise ValueError(f"every noise recording must hold at least {CLIP_SAMPLES} samples")
    which = rng.integers(len(recordings), size=rows)
    starts = rng.random(rows)
    noise = np.empty((rows, CLIP_SAMPLES), np.float32)
    for i in range(rows):
        r = recordings[which[i]]
        s = int(starts[i] * (r.size - CLIP_SAMPLES + 1))
        noise[i] = r[s : s + CLIP_SAMPLES]
    return noise
