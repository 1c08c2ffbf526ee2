"""Background noise generators and SNR mixing.

All generators take a :class:`numpy.random.Generator` and return ``float32`` arrays of
shape ``(count, length)`` with unit RMS per row, so that the caller sets the level.

Kinds (:data:`NOISE_KINDS`):

- ``"white"``: flat spectrum.
- ``"pink"``: power falling as 1/f (-3 dB per octave).
- ``"brown"``: power falling as 1/f**2 (-6 dB per octave), rumble-like.
- ``"babble"``: 3 to 7 simultaneous "talkers", each noise shaped by a speech-like
  spectral envelope (two or three random formant bumps between 250 and 3500 Hz on a
  -6 dB/octave tilt) and gated by a random syllabic envelope of 2.5 to 6 Hz.
- ``"hum"``: recording-chain noise -- a 50 or 60 Hz mains fundamental with random
  harmonics, plus high-passed hiss at a random level below it.
"""

import numpy as np

from spikelearn.datasets.audio import SAMPLE_RATE

NOISE_KINDS = ("white", "pink", "brown", "babble", "hum")


def _normalize(x):
    rms = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True))
    return (x / np.maximum(rms, 1e-12)).astype(np.float32)


def _shaped(rng, shape, gain):
    """White Gaussian noise filtered by an amplitude response ``gain`` (rfft bins)."""
    spectrum = np.fft.rfft(rng.standard_normal(shape, dtype=np.float32), axis=-1)
    return np.fft.irfft(spectrum * gain, shape[-1], axis=-1)


def _freqs(length):
    f = np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE)
    f[0] = f[1]  # avoid the DC singularity of 1/f laws
    return f


def white(rng, count, length):
    """White Gaussian noise, float32 ``(count, length)``, unit RMS."""
    return _normalize(rng.standard_normal((count, length), dtype=np.float32))


def pink(rng, count, length):
    """Pink (1/f) noise, float32 ``(count, length)``, unit RMS."""
    gain = (1.0 / np.sqrt(_freqs(length))).astype(np.float32)
    return _normalize(_shaped(rng, (count, length), gain))


def brown(rng, count, length):
    """Brown (1/f**2) noise, high-passed at 20 Hz, float32 ``(count, length)``, unit RMS."""
    f = _freqs(length)
    gain = (1.0 / np.maximum(f, 20.0)).astype(np.float32)
    return _normalize(_shaped(rng, (count, length), gain))


def _smooth_envelope(rng, shape, rate_hz, length):
    """Positive random envelopes varying at about ``rate_hz``, ``shape + (length,)``.

    Made at a 100 Hz control rate (Gaussian-filtered noise, half-wave rectified) and
    linearly interpolated to the audio rate.
    """
    hop = SAMPLE_RATE // 100
    control = -(-length // hop) + 1
    f = np.fft.rfftfreq(control, 1.0 / 100.0)
    gain = np.exp(-0.5 * np.square(f / np.asarray(rate_hz)[..., None])).astype(np.float32)
    env = _shaped(rng, shape + (control,), gain).astype(np.float32)
    env = np.maximum(env / np.maximum(np.abs(env).max(axis=-1, keepdims=True), 1e-12), 0) ** 0.7
    w = np.arange(hop, dtype=np.float32) / hop
    up = env[..., :-1, None] * (1 - w) + env[..., 1:, None] * w
    return up.reshape(shape + (hop * (control - 1),))[..., :length]


def babble(rng, count, length):
    """Synthetic multi-talker babble, float32 ``(count, length)``, unit RMS."""
    talkers = 7
    f = np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE)
    logf = np.log(np.maximum(f, 50.0)).astype(np.float32)
    n_active = rng.integers(3, talkers + 1, size=count)
    centres = np.log(rng.uniform(250.0, 3500.0, size=(count, talkers, 3)))
    widths = rng.uniform(0.15, 0.4, size=(count, talkers, 3))
    heights = rng.uniform(0.3, 1.0, size=(count, talkers, 3))
    heights[..., 2] *= rng.random((count, talkers)) < 0.5  # 2 or 3 formants
    bumps = np.zeros((count, talkers, f.size), np.float32)
    for j in range(3):
        z = (logf - centres[..., j, None].astype(np.float32)) / widths[..., j, None]
        bumps += heights[..., j, None].astype(np.float32) * np.exp(-0.5 * np.square(z))
    gain = ((0.1 + bumps) * np.minimum(1.0, 300.0 / np.maximum(f, 1.0))).astype(np.float32)
    voices = _shaped(rng, (count, talkers, length), gain)
    voices = _normalize(voices) * _smooth_envelope(
        rng, (count, talkers), rng.uniform(2.5, 6.0, size=(count, talkers)), length
    )
    voices *= (np.arange(talkers) < n_active[:, None])[..., None]
    return _normalize(voices.sum(axis=1))


def hum(rng, count, length):
    """Mains hum with harmonics plus hiss, float32 ``(count, length)``, unit RMS."""
    t = np.arange(length, dtype=np.float32) / np.float32(SAMPLE_RATE)
    mains = rng.choice([50.0, 60.0], size=(count, 1, 1)).astype(np.float32)
    harmonics = np.arange(1, 9, dtype=np.float32)[None, :, None]
    amps = (rng.uniform(0.0, 1.0, size=(count, 8, 1)) / harmonics).astype(np.float32)
    phases = rng.uniform(0, 2 * np.pi, size=(count, 8, 1)).astype(np.float32)
    tone = (amps * np.sin(2 * np.pi * mains * harmonics * t + phases)).sum(axis=1)
    f = np.fft.rfftfreq(length, 1.0 / SAMPLE_RATE)
    hiss = _normalize(_shaped(rng, (count, length), (f > 1000.0).astype(np.float32)))
    hiss_level = 10.0 ** (rng.uniform(-25.0, -5.0, size=(count, 1)) / 20.0)
    return _normalize(_normalize(tone) + hiss_level * hiss)


_GENERATORS = {"white": white, "pink": pink, "brown": brown, "babble": babble, "hum": hum}


def make_noise(kind, rng, count, length=SAMPLE_RATE):
    """Generate ``count`` unit-RMS noise signals of one kind.

    Parameters
    ----------
    kind : {"white", "pink", "brown", "babble", "hum"}
    rng : numpy.random.Generator
    count : int
    length : int, optional
        Samples per signal (default one second at 16 kHz).

    Returns
    -------
    numpy.ndarray, float32, shape (count, length)
    """
    if kind not in _GENERATORS:
        raise ValueError(f"noise kind {kind!r} is not one of {NOISE_KINDS}")
    return _GENERATORS[kind](rng, count, length)


def mix_at_snr(signal, noise, snr_db, signal_power=None):
    """Add noise scaled to a signal-to-noise ratio.

    Parameters
    ----------
    signal : numpy.ndarray, float, shape (n, t)
    noise : numpy.ndarray, float, shape (n, t)
    snr_db : float or numpy.ndarray, shape (n,)
        Target ratio of signal power to noise power, in dB.
    signal_power : numpy.ndarray, shape (n,), optional
        Power to use for the signal (e.g. measured over the spoken part only); default:
        mean square of each row of ``signal``.

    Returns
    -------
    numpy.ndarray, float32, shape (n, t)
    """
    signal = np.asarray(signal, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float32)
    if signal_power is None:
        signal_power = np.mean(np.square(signal, dtype=np.float64), axis=-1)
    noise_power = np.maximum(np.mean(np.square(noise, dtype=np.float64), axis=-1), 1e-20)
    scale = np.sqrt(signal_power / noise_power / 10.0 ** (np.asarray(snr_db) / 10.0))
    return (signal + noise * scale[:, None].astype(np.float32)).astype(np.float32)
