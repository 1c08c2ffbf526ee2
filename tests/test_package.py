"""The package imports without TensorFlow and the CLI answers --version / --help."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

import spikelearn
from spikelearn.cli import app


def test_import_without_tensorflow(no_tensorflow):
    result = no_tensorflow(
        """
        import sys
        import spikelearn
        assert "tensorflow" not in sys.modules, "spikelearn imported tensorflow"
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            print("blocked", spikelearn.__version__)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["blocked", spikelearn.__version__]


def test_version_is_pep440_like():
    parts = spikelearn.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_cli_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"spikelearn {spikelearn.__version__}"


def test_cli_help_lists_usage():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and "--version" in result.output


def test_cli_as_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "spikelearn", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"spikelearn {spikelearn.__version__}"


def test_cli_unknown_option_is_usage_error():
    result = CliRunner().invoke(app, ["--no-such-option"])
    assert result.exit_code == 2
