"""Shared pytest fixtures and helpers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

#: Python source that makes ``import tensorflow`` (and keras) fail, as on a device
#: where only the runtime dependencies are installed.
BLOCK_TENSORFLOW = textwrap.dedent(
    """
    import sys

    class _BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"tensorflow", "keras", "tf_keras"}:
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, _BlockTensorFlow())
    """
)


def run_without_tensorflow(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter where TensorFlow cannot be imported."""
    return subprocess.run(
        [sys.executable, "-c", BLOCK_TENSORFLOW + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def no_tensorflow():
    """The :func:`run_without_tensorflow` helper, as a fixture."""
    return run_without_tensorflow
