"""Thin wrapper around the ``espeak-ng`` command-line text-to-speech engine.

Many words are spoken in one process call: they are sent as SSML, each word in its
own ``<prosody>`` element (per-utterance rate and pitch jitter) and followed by a
500 ms ``<break/>``; the output is cut back into words at those pauses. If the cut
does not give exactly one piece per word (it always did in our tests), the words are
spoken again one call each.
"""

import io
import os
import re
import shutil
import subprocess
import wave
from xml.sax.saxutils import escape

import numpy as np

from spikelearn.errors import DataError, MissingDependencyError

#: Environment variable naming the espeak-ng executable (default: ``espeak-ng`` on PATH).
ESPEAK_ENV = "SPIKELEARN_ESPEAK"
#: Sample rate of espeak-ng's output, in Hz.
ESPEAK_RATE = 22050

_BREAK_MS = 500
_MIN_GAP_S = 0.25  # pauses longer than this separate words (in-word gaps are < 0.07 s)
_FRAME = 110  # 5 ms analysis frames at 22050 Hz
_MARGIN = 2 * _FRAME  # kept around each word


def find_espeak():
    """Return the path of the espeak-ng executable.

    Returns
    -------
    str

    Raises
    ------
    MissingDependencyError
        espeak-ng is not installed (or ``$SPIKELEARN_ESPEAK`` names no executable).
    """
    name = os.environ.get(ESPEAK_ENV) or "espeak-ng"
    path = shutil.which(name)
    if path is None:
        raise MissingDependencyError(
            f"the synthetic corpus needs the espeak-ng text-to-speech engine, but {name!r} "
            "was not found; install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu; "
            f"or `make system-deps`), or set ${ESPEAK_ENV} to its path"
        )
    return path


def espeak_version(path=None):
    """Return the version string of espeak-ng (e.g. ``"1.51"``)."""
    out = subprocess.run(
        [path or find_espeak(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match.group(1) if match else out.strip()


def _run(path, voice, speed, pitch, ssml):
    proc = subprocess.run(
        [path, "-m", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", ssml],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise DataError(
            f"espeak-ng failed for voice {voice!r} (exit {proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    with wave.open(io.BytesIO(proc.stdout)) as f:  # header length is bogus on --stdout
        data = f.readframes(2**31 - 1)
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0


def _word_ssml(word, rate, pitch):
    return f'<prosody rate="{rate:.0f}%" pitch="{pitch:+.0f}%">{escape(word)}</prosody>'


def _active_spans(audio):
    """(start, stop) sample spans of sound separated by pauses longer than _MIN_GAP_S."""
    n_frames = max(1, audio.size // _FRAME)
    frames = np.abs(audio[: n_frames * _FRAME]).reshape(n_frames, _FRAME).max(axis=1)
    active = np.flatnonzero(frames > 0.01 * max(frames.max(), 1e-9))
    if active.size == 0:
        return []
    gaps = np.flatnonzero(np.diff(active) * _FRAME > _MIN_GAP_S * ESPEAK_RATE)
    starts = np.concatenate([[active[0]], active[gaps + 1]]) * _FRAME
    stops = (np.concatenate([active[gaps], [active[-1]]]) + 1) * _FRAME
    pairs = zip(starts, stops, strict=True)
    return [(max(0, a - _MARGIN), min(audio.size, b + _MARGIN)) for a, b in pairs]


def speak_words(words, voice, speed, pitch, rates, pitches, path=None):
    """Speak several words with one voice; return one waveform per word.

    Parameters
    ----------
    words : list of str
    voice : str
        espeak-ng ``-v`` argument, e.g. ``"en-gb-scotland+f2"``.
    speed : int
        Words per minute (espeak-ng ``-s``).
    pitch : int
        Base pitch 0..99 (espeak-ng ``-p``).
    rates, pitches : sequence of float
        Per-word SSML prosody: rate in percent of ``speed`` and pitch change in percent.
    path : str, optional
        espeak-ng executable (default: :func:`find_espeak`).

    Returns
    -------
    list of numpy.ndarray, float32, shape (t_i,)
        Trimmed waveforms at :data:`ESPEAK_RATE` Hz, one per word.
    """
    path = path or find_espeak()
    pieces = [_word_ssml(w, r, p) for w, r, p in zip(words, rates, pitches, strict=True)]
    ssml = "<speak>" + "".join(f'{p}<break time="{_BREAK_MS}ms"/>' for p in pieces) + "</speak>"
    audio = _run(path, voice, speed, pitch, ssml)
    spans = _active_spans(audio)
    if len(spans) != len(words):
        spans, audios = [], []
        for piece in pieces:
            one = _run(path, voice, speed, pitch, f"<speak>{piece}</speak>")
            found = _active_spans(one) or [(0, one.size)]
            audios.append(one[found[0][0] : found[-1][1]])
        return audios
    return [audio[a:b] for a, b in spans]
