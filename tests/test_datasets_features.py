"""MFCC features, their uint8 map, and the clip / WAV checks."""

import wave

import numpy as np
import pytest

from spikelearn.datasets import (
    FEATURE_SHAPE,
    check_clips,
    dequantize_mfcc,
    extract_features,
    load_wav,
    mfcc,
    quantize_mfcc,
    save_wav,
)
from spikelearn.datasets.features import mel_weight_matrix
from spikelearn.errors import DataError


def _clips(n=6, seed=0):
    """Tones, chirps and noise at several levels, float32 (n, 16000)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    rows = [
        rng.uniform(0.01, 0.5) * np.sin(2 * np.pi * (rng.uniform(100, 3000) + 500 * t) * t)
        + rng.uniform(1e-4, 0.05) * rng.standard_normal(16000)
        for _ in range(n)
    ]
    return np.asarray(rows, np.float32)


def test_mfcc_matches_tf_signal():
    tf = pytest.importorskip("tensorflow")
    x = _clips(8)
    stft = tf.signal.stft(
        x, 480, 320, fft_length=512, window_fn=tf.signal.hann_window, pad_end=False
    )
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0)
    log_mel = tf.math.log(tf.tensordot(tf.abs(stft), mel, 1) + 1e-6)
    expected = tf.signal.mfccs_from_log_mel_spectrograms(log_mel)[..., :10].numpy()
    np.testing.assert_allclose(mel_weight_matrix(), mel.numpy(), atol=1e-5)
    got = mfcc(x)
    assert got.shape == (8, 49, 10) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=2e-3, rtol=1e-4)


def test_features_shape_dtype_and_affine_map():
    x = _clips(5)
    features = extract_features(x)
    assert features.shape == (5,) + FEATURE_SHAPE and features.dtype == np.uint8
    assert np.array_equal(features, quantize_mfcc(mfcc(x)))
    # inside the range the map inverts to within half a step
    coefficients = mfcc(x)
    back = dequantize_mfcc(features)
    inside = (features[..., 0] > 0) & (features[..., 0] < 255)
    step = 1 / np.broadcast_to(
        np.float32([2.8, 11.5, 12.5, 12, 18, 19, 21, 23, 23, 28]), back.shape
    )
    assert np.all(np.abs(back - coefficients)[inside] <= 0.5 * step[inside] + 1e-4)
    assert inside.mean() > 0.9


def test_batching_does_not_change_results():
    x = _clips(7)
    np.testing.assert_array_equal(mfcc(x, batch_size=3), mfcc(x))
    np.testing.assert_array_equal(extract_features(x[0]), extract_features(x[:1]))


def test_clear_errors_for_bad_audio():
    x = _clips(2)
    with pytest.raises(DataError, match="sample rate 8000"):
        mfcc(x, sample_rate=8000)
    with pytest.raises(DataError, match="exactly 16000 samples"):
        mfcc(x[:, :8000])
    with pytest.raises(DataError, match="channel axis"):
        mfcc(np.stack([x, x], axis=-1))  # (n, 16000, 2)
    with pytest.raises(DataError, match="channel axis"):
        extract_features(np.stack([x[0], x[1]], axis=1))  # one stereo clip (16000, 2)
    with pytest.raises(DataError, match="dtype int16"):
        check_clips((x * 1000).astype(np.int16))
    with pytest.raises(DataError, match="NaN"):
        check_clips(np.full((1, 16000), np.nan, np.float32))
    with pytest.raises(ValueError, match="shape"):
        quantize_mfcc(np.zeros((2, 10, 49)))


def test_wav_round_trip_and_errors(tmp_path):
    x = _clips(1)[0]
    save_wav(tmp_path / "a.wav", x)
    y, rate = load_wav(tmp_path / "a.wav")
    assert rate == 16000 and y.dtype == np.float32 and y.shape == (16000,)
    assert np.abs(y - x).max() <= 1 / 32768
    save_wav(tmp_path / "s.wav", np.stack([x, -x], axis=1), sample_rate=8000)
    stereo, rate = load_wav(tmp_path / "s.wav")
    assert rate == 8000 and stereo.shape == (16000, 2)

    with pytest.raises(DataError, match="no such file"):
        load_wav(tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav at all")
    with pytest.raises(DataError, match="not a readable"):
        load_wav(tmp_path / "junk.wav")
    with wave.open(str(tmp_path / "8bit.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(1)
        f.setframerate(16000)
        f.writeframes(bytes(100))
    with pytest.raises(DataError, match="8-bit"):
        load_wav(tmp_path / "8bit.wav")
    with pytest.raises(DataError, match="finite"):
        save_wav(tmp_path / "nan.wav", np.array([np.nan]))
