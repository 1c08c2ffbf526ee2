"""``Model.class_names``: validation, add_classes, model-file round trip and checksum."""

import hashlib
import struct

import h5py
import numpy as np
import pytest

from spikelearn.errors import ModelFileError
from spikelearn.layers import FullyConnected, InputData
from spikelearn.learning import Competitive
from spikelearn.model import Model
from spikelearn.model_file import HEADER_SIZE, MAGIC, read_model_file


def _compiled(num_classes=3):
    model = Model([InputData((4, 4, 2), input_bits=1), FullyConnected(2 * num_classes,
                                                                      weight_bits=1)])
    model.compile(Competitive(5, num_classes, seed=0))
    return model


def test_unnamed_by_default_and_set_names_are_copies():
    model = _compiled()
    assert model.class_names is None
    model.class_names = ("yes", "no", "up")
    names = model.class_names
    names.append("down")
    assert model.class_names == ["yes", "no", "up"]
    model.class_names = None
    assert model.class_names is None


@pytest.mark.parametrize("names, message", [
    (["yes", "no"], "3 classes, got 2 class names"),
    (["yes", "no", "up", "down"], "3 classes, got 4"),
    (["yes", "yes", "no"], r"distinct; repeated: \['yes'\]"),
    (["yes", "", "no"], "non-empty strings, got ''"),
    (["yes", 2, "no"], "non-empty strings, got 2"),
])
def test_setter_validates(names, message):
    model = _compiled()
    with pytest.raises(ValueError, match=message):
        model.class_names = names
    assert model.class_names is None


def test_uncompiled_model_counts_output_neurons():
    model = Model([InputData((1, 1, 3)), FullyConnected(2, weight_bits=4)])
    model.class_names = ["a", "b"]
    with pytest.raises(ValueError, match="2 classes, got 3"):
        model.class_names = ["a", "b", "c"]


def test_add_classes_leaves_names_to_extend():
    model = _compiled(2)
    model.class_names = ["yes", "no"]
    model.add_classes(1)
    assert model.class_names == ["yes", "no"]  # short until the new word is named
    with pytest.raises(ValueError, match="3 classes, got 2"):
        model.class_names = model.class_names
    model.class_names = model.class_names + ["backward"]
    assert model.num_classes == 3 and model.class_names[-1] == "backward"


def test_round_trip_and_stored_as_json(tmp_path):
    model = _compiled()
    model.class_names = ["yes", "no", "_silence_"]
    path = tmp_path / "named.slm"
    model.save(path)
    assert Model(path).class_names == ["yes", "no", "_silence_"]
    layers, names = read_model_file(path)
    assert len(layers) == 2 and names == ["yes", "no", "_silence_"]
    with h5py.File(path, "r") as file:
        assert file.attrs["class_names"] == '["yes", "no", "_silence_"]'


def test_unnamed_file_has_no_attribute_and_loads_none(tmp_path):
    path = tmp_path / "plain.slm"
    _compiled().save(path)
    with h5py.File(path, "r") as file:
        assert "class_names" not in file.attrs  # the same layout as files of older versions
    assert Model(path).class_names is None


def test_short_names_after_add_classes_survive_a_save(tmp_path):
    model = _compiled(2)
    model.class_names = ["yes", "no"]
    model.add_classes(2)
    model.save(tmp_path / "m.slm")
    loaded = Model(tmp_path / "m.slm")
    assert loaded.num_classes == 4 and loaded.class_names == ["yes", "no"]


def _edited(tmp_path, source, edit):
    """A copy of ``source`` edited with h5py and given a valid file checksum again (as a tool
    rewriting the HDF5 part would), so that only the payload checksum can catch the edit."""
    path = tmp_path / "edited.slm"
    path.write_bytes(source.read_bytes())
    with h5py.File(path, "r+") as file:
        edit(file)
    data = path.read_bytes()
    header = struct.pack("<16sI32s", MAGIC, 1, hashlib.sha256(data[HEADER_SIZE:]).digest())
    path.write_bytes(header + data[len(header):])
    return path


@pytest.fixture
def named_file(tmp_path):
    model = _compiled()
    model.class_names = ["yes", "no", "up"]
    model.save(tmp_path / "named.slm")
    return tmp_path / "named.slm"


def test_checksum_covers_the_names(tmp_path, named_file):
    def rename(file):
        file.attrs["class_names"] = '["yes", "no", "down"]'

    with pytest.raises(ModelFileError, match="payload checksum"):
        Model(_edited(tmp_path, named_file, rename))

    def drop(file):
        del file.attrs["class_names"]

    with pytest.raises(ModelFileError, match="payload checksum"):
        Model(_edited(tmp_path, named_file, drop))


@pytest.mark.parametrize("value", ['{"a": 1}', "[1, 2, 3]", "not json"])
def test_malformed_names_are_a_model_file_error(tmp_path, named_file, value):
    def corrupt(file):
        file.attrs["class_names"] = value

    with pytest.raises(ModelFileError, match="not a readable|not a JSON list"):
        Model(_edited(tmp_path, named_file, corrupt))


def test_class_scores_match_predict_classes():
    model = _compiled()
    x = (np.random.default_rng(0).random((8, 4, 4, 2)) < 0.4).astype(np.uint8)
    model.fit(x, np.arange(8) % 3)
    scores = model.class_scores(x)
    assert scores.shape == (8, 3) and scores.dtype == np.float32
    np.testing.assert_array_equal(scores.argmax(axis=1), model.predict_classes(x))
    full = model.predict(x).reshape(8, 3, 2).max(axis=2)
    np.testing.assert_array_equal(scores, full)
