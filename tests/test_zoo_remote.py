"""Zoo entries with hosted files: register, download once with a pinned hash, reuse offline.

The payload is the shipped ``ds_cnn_kws`` engine, served on 127.0.0.1 as ``team_kws``.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from loopback import serve_folder
from typer.testing import CliRunner

from spikelearn import zoo
from spikelearn.cli import app
from spikelearn.errors import DataError

NAME = "team_kws"
#: A URL nothing answers (the discard port); only used where no request may be made.
NOWHERE = "http://127.0.0.1:9"


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def zoo_dir(monkeypatch, tmp_path):
    """Private MODELS / REMOTE and data dir; returns the folder downloads go to."""
    monkeypatch.setattr(zoo, "MODELS", dict(zoo.MODELS))
    monkeypatch.setattr(zoo, "REMOTE", {})
    monkeypatch.setenv("SPIKELEARN_DATA", str(tmp_path / "data"))
    return tmp_path / "data" / zoo.CACHE_FOLDER


@pytest.fixture
def www(tmp_path):
    """A folder holding the shipped engine and figures under the name ``team_kws``."""
    folder = tmp_path / "www"
    folder.mkdir()
    for suffix in (".slm", ".json"):
        shutil.copy(zoo.PRETRAINED_DIR / f"ds_cnn_kws{suffix}", folder / f"{NAME}{suffix}")
    return folder


def _files(base, www, **wrong_hashes):
    """``register``'s files argument for the served folder."""
    return {suffix: (f"{base}/{NAME}{suffix}",
                     wrong_hashes.get(suffix.strip("."), _sha256(www / f"{NAME}{suffix}")))
            for suffix in (".slm", ".json")}


def _cached(zoo_dir):
    return sorted(p.name for p in zoo_dir.iterdir()) if zoo_dir.exists() else []


def test_register_download_once_then_offline(zoo_dir, www):
    x = zoo.load_demo_data()["old_features"][:16]
    expected = zoo.load("ds_cnn_kws").predict_classes(x)
    with serve_folder(www) as base:
        zoo.register(NAME, "Our keyword spotter", _files(base, www))
        assert zoo.list_models() == ["ds_cnn_kws", NAME]
        assert zoo.status(NAME) == "download on first use"
        assert zoo.status("ds_cnn_kws") == "shipped"
        assert _cached(zoo_dir) == []  # registering downloads nothing
        model = zoo.load(NAME)
        assert _cached(zoo_dir) == [f"{NAME}.slm"]  # only the file asked for
        assert zoo.info(NAME) == zoo.info("ds_cnn_kws")
    np.testing.assert_array_equal(model.predict_classes(x), expected)
    assert _cached(zoo_dir) == [f"{NAME}.json", f"{NAME}.slm"]
    assert zoo.status(NAME) == "downloaded"
    # The server is gone: any request would fail, so these read the downloaded files.
    for download in (True, False):
        again = zoo.load(NAME, download=download)
        np.testing.assert_array_equal(again.predict_classes(x), expected)
        assert zoo.info(NAME, download=download)["words"] == again.class_names
    # A file the entry does not host is not fetched from anywhere.
    with pytest.raises(FileNotFoundError, match="no _demo.npz file"):
        zoo.load_demo_data(NAME)


def test_wrong_hash_keeps_nothing(zoo_dir, www):
    with serve_folder(www) as base:
        zoo.register(NAME, "Our keyword spotter", _files(base, www, slm="0" * 64))
        with pytest.raises(DataError, match=r"failed its checksum \(expected SHA-256 0{64}\)"):
            zoo.load(NAME)
    assert _cached(zoo_dir) == []
    assert zoo.status(NAME) == "download on first use"


def test_download_false_names_the_fix(zoo_dir, www):
    zoo.register(NAME, "Our keyword spotter", _files(NOWHERE, www))
    with pytest.raises(DataError, match="is not downloaded.*pass download=True"):
        zoo.load(NAME, download=False)
    with pytest.raises(DataError, match="pass download=True"):
        zoo.info(NAME, download=False)
    assert _cached(zoo_dir) == []
    # A stale or corrupt file is not trusted: it is fetched again when allowed.
    zoo_dir.mkdir(parents=True)
    (zoo_dir / f"{NAME}.slm").write_bytes(b"not a model")
    assert zoo.status(NAME) == "download on first use"
    with pytest.raises(DataError, match="does not match its pinned SHA-256.*download=True"):
        zoo.load(NAME, download=False)
    with serve_folder(www) as base:
        zoo.register(NAME, "Our keyword spotter", _files(base, www))
        assert zoo.load(NAME).num_classes == 33
    assert _sha256(zoo_dir / f"{NAME}.slm") == _sha256(www / f"{NAME}.slm")


def test_network_errors_become_data_errors(zoo_dir, www):
    with serve_folder(www) as base:
        files = _files(base, www)
        files[".slm"] = (f"{base}/absent.slm", files[".slm"][1])
        zoo.register(NAME, "Our keyword spotter", files)
        with pytest.raises(DataError, match="could not download zoo file team_kws.slm"):
            zoo.load(NAME)
    zoo.register(NAME, "Our keyword spotter", _files(NOWHERE, www))
    with pytest.raises(DataError, match="could not download"):
        zoo.load(NAME)
    assert _cached(zoo_dir) == []


def test_shipped_model_is_unchanged(zoo_dir):
    assert zoo.load("ds_cnn_kws", download=False).num_classes == 33
    assert zoo.info("ds_cnn_kws", download=False)["words"][-1] == "_silence_"
    assert not zoo_dir.exists()


GOOD = ("https://models.example.org/m.slm", "ab" * 32)


@pytest.mark.parametrize(("name", "description", "files", "message"), [
    ("", "d", {".slm": GOOD}, "must start with a letter"),
    ("1kws", "d", {".slm": GOOD}, "must start with a letter"),
    ("../kws", "d", {".slm": GOOD}, "must start with a letter"),
    ("my kws", "d", {".slm": GOOD}, "must start with a letter"),
    (None, "d", {".slm": GOOD}, "must start with a letter"),
    ("ds_cnn_kws", "d", {".slm": GOOD}, "shipped with spikelearn"),
    ("kws", " ", {".slm": GOOD}, "non-empty string"),
    ("kws", "d", [(".slm", GOOD)], "must map suffixes"),
    ("kws", "d", {".slm": GOOD, ".tflite": GOOD}, "unknown zoo file suffix '.tflite'"),
    ("kws", "d", {".json": GOOD}, "needs a hosted '.slm' file"),
    ("kws", "d", {".slm": GOOD[0]}, r"must be a \(url, sha256\) pair"),
    ("kws", "d", {".slm": ("ftp://example.org/m.slm", GOOD[1])}, "must be http"),
    ("kws", "d", {".slm": ("/tmp/m.slm", GOOD[1])}, "must be http"),
    ("kws", "d", {".slm": ("https://", GOOD[1])}, "must be http"),
    ("kws", "d", {".slm": (GOOD[0], "ab" * 31)}, "64 hex digits"),
    ("kws", "d", {".slm": (GOOD[0], "g" * 64)}, "64 hex digits"),
    ("kws", "d", {".slm": (GOOD[0], None)}, "64 hex digits"),
])
def test_register_rejects_bad_entries(zoo_dir, name, description, files, message):
    with pytest.raises(ValueError, match=message):
        zoo.register(name, description, files)
    assert zoo.list_models() == ["ds_cnn_kws"] and zoo.REMOTE == {}


def test_register_normalises_and_replaces(zoo_dir):
    zoo.register("kws-2", "first", {".slm": (GOOD[0], "AB" * 32)})
    assert zoo.REMOTE["kws-2"] == {".slm": (GOOD[0], "ab" * 32)}
    zoo.register("kws-2", "second", {".slm": GOOD, ".h5": GOOD})
    assert zoo.MODELS["kws-2"] == "second" and sorted(zoo.REMOTE["kws-2"]) == [".h5", ".slm"]


def test_cli_zoo_list_shows_the_hosted_entry(zoo_dir, www):
    zoo.register(NAME, "Our keyword spotter", _files(NOWHERE, www))
    runner = CliRunner()
    rows = json.loads(runner.invoke(app, ["zoo", "list", "--json"]).output)
    assert [(row["name"], row["status"], row["installed"]) for row in rows] == [
        ("ds_cnn_kws", "shipped", True), (NAME, "download on first use", False)]
    result = runner.invoke(app, ["zoo", "list"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if NAME in line)
    assert "download on first use" in line and "Our keyword spotter" in line
    assert "shipped" in next(line for line in result.output.splitlines() if "ds_cnn_kws" in line)
    # Downloaded files are reported as such (copied in place: no request made here).
    zoo_dir.mkdir(parents=True)
    shutil.copy(www / f"{NAME}.slm", zoo_dir / f"{NAME}.slm")
    rows = json.loads(runner.invoke(app, ["zoo", "list", "--json"]).output)
    assert rows[1]["status"] == "downloaded" and rows[1]["installed"] is True
    assert _cached(zoo_dir) == [f"{NAME}.slm"]
