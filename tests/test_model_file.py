"""The .slm model file: round trip, atomic writes, every rejection path, fuzzing."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
from engine_helpers import randomize_model
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spikelearn import (
    FullyConnected,
    InputConv2D,
    Model,
    ModelFileError,
    SeparableConv2D,
    model_file,
)


def trained_model(seed=0):
    rng = np.random.default_rng(seed)
    model = Model([InputConv2D((6, 5, 1), 4, 3, strides=2, pool="max", pool_padding="same"),
                   SeparableConv2D(4, activation_bits=1, pool="global_avg"),
                   FullyConnected(6, weight_bits=1, name="head")])
    randomize_model(model, rng, thresholds=(0, 90))
    head = model.get_layer("head")
    head.set_variable("output_scale", rng.random(6).astype(np.float32))
    head.variables["budget"] = rng.integers(0, 9, 6).astype(np.int32)  # learning state
    head.variables["num_classes"] = np.array(3, np.int64)  # a 0-d variable
    head.config["learning"] = {"num_weights": 3, "plasticity": 0.25}
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("slm") / "model.slm"
    trained_model().save(path)
    return path


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(5).integers(0, 256, (20, 6, 5, 1)).astype(np.uint8)


def test_round_trip_is_bit_identical(saved, x):
    original, loaded = trained_model(), Model(saved)
    np.testing.assert_array_equal(loaded.forward(x), original.forward(x))
    np.testing.assert_array_equal(loaded.predict(x), original.predict(x))
    for before, after in zip(original.layers, loaded.layers, strict=True):
        assert type(after) is type(before)
        assert after.get_config() == before.get_config()
        assert sorted(after.variables) == sorted(before.variables)
        for name, array in before.variables.items():
            assert after.variables[name].dtype == array.dtype
            assert after.variables[name].shape == array.shape
            np.testing.assert_array_equal(after.variables[name], array)
    assert loaded.get_layer("head").config["learning"] == {"num_weights": 3, "plasticity": 0.25}


def test_save_overwrites_atomically_and_leaves_no_temporary(tmp_path, x):
    path = tmp_path / "m.slm"
    trained_model(1).save(path)
    trained_model(2).save(str(path))
    np.testing.assert_array_equal(Model(path).forward(x), trained_model(2).forward(x))
    assert os.listdir(tmp_path) == ["m.slm"]


def test_failed_save_keeps_the_old_file_and_no_partial_file(tmp_path, x):
    path = tmp_path / "m.slm"
    trained_model(1).save(path)
    before = path.read_bytes()
    broken = trained_model(2)
    broken.get_layer("head").variables["broken"] = np.array([object()], dtype=object)
    with pytest.raises(ModelFileError, match="cannot write model file"):
        broken.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.slm"]
    with pytest.raises(ModelFileError, match="cannot write"):
        trained_model().save(tmp_path / "missing_dir" / "m.slm")
    unserialisable = trained_model()
    unserialisable.get_layer("head").config["learning"] = {"rule": object()}
    with pytest.raises(ModelFileError, match="not JSON serialisable"):
        unserialisable.save(tmp_path / "other.slm")
    assert os.listdir(tmp_path) == ["m.slm"]


def test_numpy_values_in_config_are_saved(tmp_path):
    model = trained_model()
    model.get_layer("head").config["learning"] = {"num_weights": np.int64(3)}
    model.save(tmp_path / "m.slm")
    assert Model(tmp_path / "m.slm").get_layer("head").config["learning"] == {"num_weights": 3}


def write_bytes(tmp_path, data, name="bad.slm"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read model file"):
        Model(tmp_path / "nothing.slm")


def test_text_file(tmp_path):
    path = write_bytes(tmp_path, b"hello, I am not a model\n" * 40)
    with pytest.raises(ModelFileError, match="not a spikelearn model file"):
        Model(path)


def test_foreign_hdf5_file(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as file:
        file["data"] = np.arange(10)
    with pytest.raises(ModelFileError, match="an HDF5 file but not a spikelearn model"):
        Model(path)


def test_newer_format_version(tmp_path, saved):
    data = bytearray(saved.read_bytes())
    data[16:20] = (model_file.FORMAT_VERSION + 1).to_bytes(4, "little")
    with pytest.raises(ModelFileError, match="newer than version 1.*upgrade"):
        Model(write_bytes(tmp_path, bytes(data)))


def test_truncated_file(tmp_path, saved):
    data = saved.read_bytes()
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        Model(write_bytes(tmp_path, data[: len(data) // 2]))


def resealed(data: bytes) -> bytes:
    """Recompute the file checksum, as a tool that rewrites the HDF5 part would."""
    import hashlib

    body = data[model_file.HEADER_SIZE:]
    header = model_file._HEADER.pack(model_file.MAGIC, 1, hashlib.sha256(body).digest())
    return header + data[len(header):]


def test_payload_checksum_catches_edited_arrays(tmp_path, saved):
    path = tmp_path / "edited.slm"
    path.write_bytes(saved.read_bytes())
    with h5py.File(path, "r+") as file:
        file["layers/0002/variables/weights"][0, 0] ^= 1
    with pytest.raises(ModelFileError, match="payload checksum"):
        Model(write_bytes(tmp_path, resealed(path.read_bytes())))


def test_invalid_layer_content_is_a_model_file_error(tmp_path, saved):
    path = tmp_path / "edited.slm"
    path.write_bytes(saved.read_bytes())
    with h5py.File(path, "r+") as file:
        del file["layers/0001/variables/bias"]
        records = []
        for key in sorted(file["layers"]):
            entry = file["layers"][key]
            records.append((entry.attrs["class"], entry.attrs["config"],
                            {name: d[()] for name, d in entry["variables"].items()}))
        file.attrs["payload_sha256"] = model_file.payload_digest(records)
    with pytest.raises(ModelFileError, match=r"layer 1 \(SeparableConv2D\).*missing.*bias"):
        Model(write_bytes(tmp_path, resealed(path.read_bytes())))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_files_only_raise_model_file_error(tmp_path, saved, data):
    original = saved.read_bytes()
    if data.draw(st.booleans(), label="truncate"):
        corrupted = original[: data.draw(st.integers(0, len(original) - 1), label="length")]
    else:
        corrupted = bytearray(original)
        for _ in range(data.draw(st.integers(1, 4), label="flips")):
            position = data.draw(st.integers(0, len(original) - 1), label="position")
            corrupted[position] ^= data.draw(st.integers(1, 255), label="mask")
        corrupted = bytes(corrupted)
        assume(corrupted != original)  # two flips may cancel out
    with pytest.raises(ModelFileError):
        Model(write_bytes(tmp_path, corrupted, "fuzz.slm"))


def test_saved_file_has_the_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        trained_model().save(tmp_path / "m.slm")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.slm").stat().st_mode & 0o777 == 0o644
