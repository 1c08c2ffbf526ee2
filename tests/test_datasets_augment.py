"""Augmentation: determinism, shapes, and that each perturbation does what it says."""

import numpy as np
import pytest

from spikelearn.datasets import augment
from spikelearn.datasets.augment import active_power, time_stretch
from spikelearn.errors import DataError


def _word_like(n=4, seed=0):
    """Clips with a 440 Hz burst in the middle half, float32 (n, 16000)."""
    t = np.arange(16000) / 16000
    burst = 0.3 * np.sin(2 * np.pi * 440 * t) * (np.abs(t - 0.5) < 0.25)
    gains = np.random.default_rng(seed).uniform(0.5, 1.0, size=(n, 1))
    return (gains * burst).astype(np.float32)


def test_shapes_order_and_determinism():
    x = _word_like(4)
    a = augment(x, n=40, seed=3)
    assert a.shape == (160, 16000) and a.dtype == np.float32
    assert np.array_equal(a, augment(x, n=40, seed=3))
    assert not np.array_equal(a, augment(x, n=40, seed=4))
    # clip-major: without perturbations every variant equals its source clip
    plain = augment(x, n=3, seed=0, shift_ms=0, snr_db=None, speed=None)
    assert np.array_equal(plain, np.repeat(x, 3, axis=0))


def test_shift_moves_and_zero_fills():
    x = _word_like(1)
    out = augment(x, n=20, seed=1, shift_ms=100, snr_db=None, speed=None)
    onsets = np.argmax(np.abs(out) > 1e-6, axis=1)
    original = np.argmax(np.abs(x[0]) > 1e-6)
    assert np.all(np.abs(onsets - original) <= 1600) and len(set(onsets.tolist())) > 5


def test_noise_at_requested_snr():
    x = _word_like(2)
    out = augment(x, n=10, seed=0, shift_ms=0, speed=None, snr_db=(10.0, 10.0))
    noise = out - np.repeat(x, 10, axis=0)
    snr = 10 * np.log10(active_power(np.repeat(x, 10, axis=0)) / np.mean(noise**2, axis=1))
    np.testing.assert_allclose(snr, 10.0, atol=1e-3)


def test_noise_from_recordings():
    recordings = [np.random.default_rng(0).standard_normal(50000).astype(np.float32)]
    out = augment(_word_like(1), n=5, seed=0, noise=recordings, snr_db=(0, 5))
    assert out.shape == (5, 16000)
    with pytest.raises(ValueError, match="at least 16000"):
        augment(_word_like(1), n=2, noise=[np.zeros(100)])


def _peak_hz(segment):
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size)))
    return np.argmax(spectrum) * 16000 / segment.size


def test_speed_and_pitch_change_the_tone():
    x = _word_like(1)
    fast = augment(x, n=1, seed=0, shift_ms=0, snr_db=None, speed=(1.25, 1.25))
    assert _peak_hz(fast[0, 6000:10000]) == pytest.approx(550, abs=8)
    burst = np.flatnonzero(np.abs(fast[0]) > 1e-3)
    assert burst.size == pytest.approx(8000 / 1.25, rel=0.03)
    up = augment(x, n=1, seed=0, shift_ms=0, snr_db=None, speed=None, pitch_semitones=(3, 3))
    assert _peak_hz(up[0, 6000:10000]) == pytest.approx(440 * 2 ** (3 / 12), abs=8)
    loud = np.flatnonzero(np.abs(up[0]) > 0.05)
    assert loud[-1] - loud[0] == pytest.approx(8000, rel=0.05)  # duration kept
    assert time_stretch(x[0], 0.5).shape == (32000,)


def test_bad_input():
    with pytest.raises(DataError, match="16000"):
        augment(np.zeros((2, 8000), np.float32))
    with pytest.raises(ValueError, match="n must"):
        augment(_word_like(1), n=0)
