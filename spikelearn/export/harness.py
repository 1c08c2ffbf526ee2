"""Compile a C export with its test harness and drive it from Python.

:class:`Harness` builds ``slm_harness.c`` + ``slm_model.c`` with a C compiler and runs command
batches (see the protocol at the top of ``spikelearn/export/c/slm_harness.c``) so that the C
engine can be compared with the Python engine, and profiled with ``valgrind``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from spikelearn.errors import MissingDependencyError
from spikelearn.export.c_export import SOURCE

#: Compiler flags of the checks: strict C99, every warning an error.
STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2")


def find_compiler(name="gcc"):
    """Path of the C compiler ``name``.

    Raises
    ------
    MissingDependencyError
        If it is not on the PATH.
    """
    path = shutil.which(name)
    if path is None:
        raise MissingDependencyError(f"the C compiler {name!r} is not on the PATH; install it "
                                     f"(e.g. apt-get install gcc) to compile the C export")
    return path


class Harness:
    """A compiled C export with its harness, driven by command batches.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder written by ``export_c(model, out_dir, harness=True)``.
    compiler : str, default "gcc"
    flags : sequence of str, default :data:`STRICT_FLAGS`

    Raises
    ------
    MissingDependencyError
        No compiler.
    RuntimeError
        The export does not compile (the compiler's messages are included).
    """

    def __init__(self, out_dir, *, compiler="gcc", flags=STRICT_FLAGS, executable="slm_harness"):
        self.out_dir = Path(out_dir)
        self.executable = self.out_dir / executable
        command = [find_compiler(compiler), *flags, "-o", str(self.executable),
                   str(self.out_dir / "slm_harness.c"), str(self.out_dir / SOURCE)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"compiling the C export failed ({' '.join(command)}):\n"
                               f"{done.stderr}")
        self.commands = bytearray()

    # -- building a batch ---------------------------------------------------------------------
    def init(self):
        """Queue ``slm_init``."""
        self.commands += b"I"

    def forward(self, x):
        """Queue ``slm_forward`` for each sample of ``x`` (uint8 (n, h, w, c))."""
        for sample in np.ascontiguousarray(x, np.uint8):
            self.commands += b"F" + sample.tobytes()

    def predict_class(self, x):
        """Queue ``slm_predict_class`` for each sample of ``x``."""
        for sample in np.ascontiguousarray(x, np.uint8):
            self.commands += b"P" + sample.tobytes()

    def learn(self, x, labels):
        """Queue ``slm_learn`` for each sample and label."""
        for sample, label in zip(np.ascontiguousarray(x, np.uint8), labels, strict=True):
            self.commands += b"L" + np.int32(label).tobytes() + sample.tobytes()

    def add_class(self):
        """Queue ``slm_add_class``."""
        self.commands += b"A"

    def dump_state(self):
        """Queue a dump of the learning state."""
        self.commands += b"S"

    def state_size(self):
        """Queue ``sizeof(slm_state_t)``."""
        self.commands += b"M"

    # -- running --------------------------------------------------------------------------------
    def run(self, *, prefix=()):
        """Run the queued commands (then clear them) and return the raw answers.

        Parameters
        ----------
        prefix : sequence of str
            A wrapper command, e.g. ``("valgrind", "--tool=callgrind", ...)``.

        Returns
        -------
        Reader
            Parses the answers in command order.
        """
        with tempfile.TemporaryDirectory() as tmp:
            commands, answers = Path(tmp) / "commands.bin", Path(tmp) / "answers.bin"
            commands.write_bytes(bytes(self.commands))
            self.commands = bytearray()
            done = subprocess.run([*prefix, str(self.executable), str(commands), str(answers)],
                                  capture_output=True, text=True, env={**os.environ})
            if done.returncode != 0:
                raise RuntimeError(f"the C harness failed ({done.returncode}): {done.stderr}")
            self.last_stderr = done.stderr
            return Reader(answers.read_bytes())


class Reader:
    """Sequential parser of harness answers (little-endian)."""

    def __init__(self, data):
        self.data = data
        self.offset = 0

    def _take(self, dtype, count):
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += values.nbytes
        return values

    def int32(self):
        """One int32 answer (class, return code, size)."""
        return int(self._take("<i4", 1)[0])

    def forward(self):
        """int32 values of one ``slm_forward`` (None for a rejected input)."""
        count = self.int32()
        return None if count < 0 else self._take("<i4", count).copy()

    def state(self, mask_words, input_size):
        """One learning-state dump as the Python variables.

        Returns
        -------
        dict
            ``weights`` int8 (input_size, units), ``vigilance`` / ``budget`` int32, ``wins`` int64
            (units,), ``rng_counter`` int64 (1,), ``num_classes`` int, and with
            ``rewire="frequent"`` ``activity`` int32 (input_size, units).
        """
        units, classes = self.int32(), self.int32()
        rng_counter = self._take("<u8", 1).astype(np.int64)
        masks = self._take("<u4", units * mask_words).reshape(units, mask_words)
        bits = np.unpackbits(masks.astype("<u4").view(np.uint8).reshape(units, -1), axis=1,
                             bitorder="little")[:, :input_size]
        state = {
            "weights": np.ascontiguousarray(bits.T, np.int8),
            "vigilance": self._take("<i4", units).copy(),
            "budget": self._take("<i4", units).copy(),
            "wins": self._take("<u4", units).astype(np.int64),
            "rng_counter": rng_counter,
            "num_classes": classes,
        }
        rows = self.int32()
        if rows:
            activity = self._take("<i4", rows * input_size).reshape(rows, input_size)
            state["activity"] = np.ascontiguousarray(activity.T)
        return state
