"""Clip format checks and 16-bit PCM WAV input/output (stdlib :mod:`wave`).

Every audio array in :mod:`spikelearn.datasets` is a batch of clips: ``float32``
``(n, 16000)`` -- one second of mono audio at 16 kHz, full scale ``[-1, 1]``.
"""

import wave
from pathlib import Path

import numpy as np

from spikelearn.errors import DataError

#: Sample rate of every clip, in Hz.
SAMPLE_RATE = 16000
#: Samples per clip (one second).
CLIP_SAMPLES = 16000


def check_clips(clips, *, sample_rate=SAMPLE_RATE, name="clips"):
    """Validate a batch of clips and return it as float32 ``(n, 16000)``.

    Parameters
    ----------
    clips : array_like, shape (n, 16000) or (16000,)
        Mono audio at 16 kHz, one second per clip. A single 1-D clip is accepted and
        returned as a batch of one.
    sample_rate : int, optional
        The sample rate the caller claims for ``clips``; must be 16000.
    name : str, optional
        Name used in error messages.

    Returns
    -------
    numpy.ndarray, float32, shape (n, 16000)

    Raises
    ------
    DataError
        Wrong sample rate, wrong clip length, a channel axis (stereo) or non-finite values.
    """
    if sample_rate != SAMPLE_RATE:
        raise DataError(
            f"{name}: sample rate {sample_rate} Hz is not supported; resample to "
            f"{SAMPLE_RATE} Hz first"
        )
    x = np.asarray(clips)
    if x.ndim == 1:
        x = x[None, :]
    channel_axis = (x.ndim == 3 and min(x.shape[1:]) <= 8) or (
        x.ndim == 2 and x.shape[0] == CLIP_SAMPLES and x.shape[1] <= 8
    )
    if channel_axis:
        raise DataError(
            f"{name}: got shape {x.shape}, which has a channel axis; clips must be mono "
            f"(n, {CLIP_SAMPLES}) -- average or pick one channel first"
        )
    if x.ndim != 2:
        raise DataError(f"{name}: expected shape (n, {CLIP_SAMPLES}), got {x.shape}")
    if x.shape[1] != CLIP_SAMPLES:
        raise DataError(
            f"{name}: clips must be exactly {CLIP_SAMPLES} samples (1 s at {SAMPLE_RATE} Hz), "
            f"got {x.shape[1]} (shape {x.shape}); pad or trim with fit_length()"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{name}: expected float audio in [-1, 1], got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise DataError(f"{name}: contains NaN or infinite samples")
    return x


def fit_length(audio, length=CLIP_SAMPLES):
    """Zero-pad (at the end) or trim a 1-D signal to ``length`` samples.

    Parameters
    ----------
    audio : numpy.ndarray, shape (t,)
    length : int, optional

    Returns
    -------
    numpy.ndarray, float32, shape (length,)
    """
    out = np.zeros(length, np.float32)
    n = min(length, audio.shape[0])
    out[:n] = audio[:n]
    return out


def load_wav(path):
    """Read a 16-bit PCM WAV file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    audio : numpy.ndarray, float32, shape (t,) for mono or (t, channels)
        Samples scaled to ``[-1, 1)`` (int16 / 32768).
    sample_rate : int

    Raises
    ------
    DataError
        Missing file, not a WAV file, or not 16-bit PCM.
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            if width != 2:
                raise DataError(
                    f"{path}: {8 * width}-bit samples; only 16-bit PCM WAV is supported"
                )
            data = f.readframes(f.getnframes())
    except FileNotFoundError as err:
        raise DataError(f"{path}: no such file") from err
    except (wave.Error, EOFError) as err:
        raise DataError(f"{path}: not a readable PCM WAV file ({err})") from err
    audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        audio = audio[: audio.size - audio.size % channels].reshape(-1, channels)
    return audio, rate


def save_wav(path, audio, sample_rate=SAMPLE_RATE):
    """Write float audio as a 16-bit PCM WAV file.

    Parameters
    ----------
    path : str or path-like
    audio : array_like, float, shape (t,) or (t, channels)
        Samples in ``[-1, 1]``; values outside are clipped.
    sample_rate : int, optional

    Raises
    ------
    DataError
        Audio is not 1-D or 2-D, or contains NaN / infinite samples.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim not in (1, 2) or not np.isfinite(x).all():
        raise DataError(
            f"save_wav: audio must be finite with shape (t,) or (t, channels), got {x.shape}"
        )
    pcm = to_pcm16(x)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1 if x.ndim == 1 else x.shape[1])
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.astype("<i2").tobytes())


def to_pcm16(audio):
    """Round float audio in ``[-1, 1]`` to int16 (clipping outside values).

    Parameters
    ----------
    audio : numpy.ndarray, float

    Returns
    -------
    numpy.ndarray, int16, same shape
    """
    return np.clip(np.rint(np.asarray(audio) * 32768.0), -32768, 32767).astype(np.int16)
