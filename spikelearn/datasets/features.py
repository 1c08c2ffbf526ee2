"""MFCC features: one second of 16 kHz audio -> 49 frames x 10 coefficients.

The float pipeline reproduces TensorFlow's ``tf.signal`` recipe exactly:

1. frames of 480 samples (30 ms) every 320 samples (20 ms), no end padding -> 49
   frames; periodic Hann window; 512-point real FFT; magnitude;
2. 40 triangular mel bands between 20 and 4000 Hz on the HTK mel scale
   ``mel = 1127 ln(1 + f / 700)`` (``tf.signal.linear_to_mel_weight_matrix``, DC bin
   zeroed);
3. ``log(mel + 1e-6)``;
4. DCT-II scaled by ``1 / sqrt(2 * 40)`` as ``tf.signal.mfccs_from_log_mel_spectrograms``
   does (orthonormal for every coefficient but the first, which is sqrt(2) larger);
   the first 10 coefficients are kept.

The engine takes uint8: :func:`quantize_mfcc` maps coefficient ``k`` by the fixed
affine map ``q = clip(round((c - MFCC_OFFSET[k]) * MFCC_SCALE[k]), 0, 255)``. The
constants are part of this module (they never change with the data). They were
read once from a 20-speaker synthetic corpus (1,440 clips, every noise kind and
level): the 0.5th to 99.5th percentile range of each coefficient, widened by
roughly 10 % on each side, spans 0..255. Coefficient 0 (overall log energy) covers
about 90 nepers so that both quiet noise and loud speech stay inside the range.
"""

import numpy as np

from spikelearn.datasets.audio import SAMPLE_RATE, check_clips

FRAME_LENGTH = 480
FRAME_STEP = 320
FFT_LENGTH = 512
NUM_MEL_BINS = 40
LOWER_EDGE_HZ = 20.0
UPPER_EDGE_HZ = 4000.0
LOG_OFFSET = 1e-6
NUM_MFCC = 10
NUM_FRAMES = 1 + (SAMPLE_RATE - FRAME_LENGTH) // FRAME_STEP  # 49
#: Shape of the engine's input for one clip.
FEATURE_SHAPE = (NUM_FRAMES, NUM_MFCC, 1)

#: Affine map float MFCC -> uint8, per coefficient (see module docstring).
MFCC_OFFSET = np.array([-70.0, -10.0, -8.0, -9.0, -8.0, -8.0, -7.0, -6.0, -5.0, -5.0], np.float32)
MFCC_SCALE = np.array([2.8, 11.5, 12.5, 12.0, 18.0, 19.0, 21.0, 23.0, 23.0, 28.0], np.float32)


def _hz_to_mel(f):
    return 1127.0 * np.log1p(np.asarray(f, np.float64) / 700.0)


def mel_weight_matrix(
    num_mel_bins=NUM_MEL_BINS,
    num_spectrogram_bins=FFT_LENGTH // 2 + 1,
    sample_rate=SAMPLE_RATE,
    lower_edge_hertz=LOWER_EDGE_HZ,
    upper_edge_hertz=UPPER_EDGE_HZ,
):
    """Triangular mel filterbank, as ``tf.signal.linear_to_mel_weight_matrix``.

    Returns
    -------
    numpy.ndarray, float32, shape (num_spectrogram_bins, num_mel_bins)
    """
    freqs = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    mel = _hz_to_mel(freqs)[:, None]
    edges = np.linspace(
        _hz_to_mel(lower_edge_hertz), _hz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    weights = np.maximum(
        0.0, np.minimum((mel - lower) / (centre - lower), (upper - mel) / (upper - centre))
    )
    return np.vstack([np.zeros((1, num_mel_bins)), weights]).astype(np.float32)


def _dct_matrix(n=NUM_MEL_BINS, keep=NUM_MFCC):
    k = np.arange(keep)[None, :]
    i = np.arange(n)[:, None]
    return (np.cos(np.pi * k * (2 * i + 1) / (2 * n)) * np.sqrt(2.0 / n)).astype(np.float32)


_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / FRAME_LENGTH)).astype(
    np.float32
)
_MEL = mel_weight_matrix()
_DCT = _dct_matrix()


def mfcc(clips, *, sample_rate=SAMPLE_RATE, batch_size=1024):
    """Float MFCCs of one-second clips.

    Parameters
    ----------
    clips : array_like, float, shape (n, 16000) or (16000,)
        Mono audio at 16 kHz in ``[-1, 1]``.
    sample_rate : int, optional
        Sample rate of ``clips``; anything but 16000 is an error.
    batch_size : int, optional
        Clips transformed at once (bounds memory).

    Returns
    -------
    numpy.ndarray, float32, shape (n, 49, 10)

    Raises
    ------
    DataError
        Wrong sample rate, clip length, a channel axis, or non-finite samples.
    """
    x = check_clips(clips, sample_rate=sample_rate)
    out = np.empty((x.shape[0], NUM_FRAMES, NUM_MFCC), np.float32)
    for start in range(0, x.shape[0], batch_size):
        chunk = x[start : start + batch_size]
        frames = np.lib.stride_tricks.sliding_window_view(chunk, FRAME_LENGTH, axis=1)
        frames = frames[:, ::FRAME_STEP] * _WINDOW
        magnitude = np.abs(np.fft.rfft(frames, FFT_LENGTH, axis=-1))
        log_mel = np.log(magnitude @ _MEL + np.float32(LOG_OFFSET))
        out[start : start + batch_size] = log_mel @ _DCT
    return out


def quantize_mfcc(coefficients):
    """Map float MFCCs to the engine's uint8 input with the fixed affine map.

    Parameters
    ----------
    coefficients : numpy.ndarray, float, shape (n, 49, 10)

    Returns
    -------
    numpy.ndarray, uint8, shape (n, 49, 10, 1)
    """
    c = np.asarray(coefficients, np.float32)
    if c.ndim != 3 or c.shape[1:] != (NUM_FRAMES, NUM_MFCC):
        raise ValueError(f"expected MFCCs of shape (n, {NUM_FRAMES}, {NUM_MFCC}), got {c.shape}")
    q = np.rint((c - MFCC_OFFSET) * MFCC_SCALE)
    return np.clip(q, 0, 255).astype(np.uint8)[..., None]


def dequantize_mfcc(features):
    """Approximate inverse of :func:`quantize_mfcc`.

    Parameters
    ----------
    features : numpy.ndarray, uint8, shape (n, 49, 10, 1)

    Returns
    -------
    numpy.ndarray, float32, shape (n, 49, 10)
    """
    return (np.asarray(features, np.float32)[..., 0] / MFCC_SCALE + MFCC_OFFSET).astype(np.float32)


def extract_features(clips, *, sample_rate=SAMPLE_RATE, batch_size=1024):
    """Clips -> engine input: uint8 MFCCs ``(n, 49, 10, 1)``.

    Parameters
    ----------
    clips : array_like, float, shape (n, 16000) or (16000,)
    sample_rate : int, optional
    batch_size : int, optional

    Returns
    -------
    numpy.ndarray, uint8, shape (n, 49, 10, 1)

    Examples
    --------
    >>> import numpy as np
    >>> extract_features(np.zeros((2, 16000), np.float32)).shape
    (2, 49, 10, 1)
    """
    return quantize_mfcc(mfcc(clips, sample_rate=sample_rate, batch_size=batch_size))
