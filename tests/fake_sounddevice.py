"""A stand-in for the optional ``sounddevice`` module (tests put it in ``sys.modules``)."""

import types

import numpy as np


def fake_sounddevice(audio, *, overflowed=False):
    """A module whose input device plays ``audio`` (float, 16 kHz) then silence; every read
    reports ``overflowed``."""

    class InputStream:
        def __init__(self, *, samplerate, channels, dtype, blocksize, device):
            assert (samplerate, channels, dtype) == (16000, 1, "float32")
            assert blocksize > 0
            self.position = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, frames):
            chunk = np.zeros(frames, np.float32)
            played = audio[self.position:self.position + frames]
            chunk[:len(played)] = played
            self.position += frames
            return chunk[:, None], overflowed

    return types.SimpleNamespace(InputStream=InputStream)
