"""The ``.slm`` model file: HDF5 (h5py) behind a checksummed spikelearn header.

Layout
------
- Bytes ``0..511`` (the HDF5 user block): the magic ``b"SPIKELEARN-MODEL"``, the format
  version (uint32, little endian) and the SHA-256 of every byte after the header. Loading
  checks them before the HDF5 library parses anything, so a truncated or corrupted file is
  reported cleanly instead of reaching the parser.
- The HDF5 root carries the attributes ``format`` (``"spikelearn.model"``),
  ``format_version``, ``spikelearn_version`` and ``payload_sha256``: the SHA-256 of the layer
  classes, configs (canonical JSON) and variables (name, dtype, shape, bytes), checked after
  the layers are read.
- Optional root attribute ``class_names``: the JSON list of the model's class names (absent
  in files of unnamed models and in older files); when present it is covered by
  ``payload_sha256``.
- Group ``layers/<index>`` per layer: attributes ``class`` and ``config`` (JSON); one dataset
  per variable under ``variables/``. Any variable and any config key is saved, so the learning
  state of a compiled layer travels with it.

Writes go to a temporary file in the target directory, renamed over the target with
:func:`os.replace` only once complete: a failed save never leaves a partial file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
from collections.abc import Sequence
from typing import Any

import h5py
import numpy as np

import spikelearn
from spikelearn.errors import ModelFileError
from spikelearn.layers import LAYER_CLASSES, Layer

FORMAT_NAME = "spikelearn.model"
FORMAT_VERSION = 1
MAGIC = b"SPIKELEARN-MODEL"
HEADER_SIZE = 512
_HEADER = struct.Struct("<16sI32s")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _config_json(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, default=_json_default)


def payload_digest(layers: Sequence[tuple[str, str, dict[str, np.ndarray]]],
                   class_names: Sequence[str] | None = None) -> str:
    """SHA-256 (hex) of ``(class name, config JSON, variables)`` for each layer, then of the
    class names when there are some (so files without names keep their digest)."""
    digest = hashlib.sha256()
    for kind, config_json, variables in layers:
        digest.update(json.dumps([kind, config_json]).encode())
        for name in sorted(variables):
            array = np.asarray(variables[name], order="C")
            digest.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
            digest.update(array.tobytes())
    if class_names is not None:
        digest.update(json.dumps(["class_names", list(class_names)]).encode())
    return digest.hexdigest()


def save_layers(layers: Sequence[Layer], path: str | os.PathLike, *,
                class_names: Sequence[str] | None = None) -> None:
    """Write ``layers`` (built) and optional ``class_names`` to the model file ``path``,
    atomically.

    Raises
    ------
    ModelFileError
        If the file cannot be written (the target is then left untouched).
    """
    path = os.fspath(path)
    try:
        records = [(type(layer).__name__, _config_json(layer.config), layer.variables)
                   for layer in layers]
    except TypeError as error:
        raise ModelFileError(f"cannot save {path!r}: a layer config is not JSON serialisable "
                             f"({error})") from error
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".slm-", suffix=".tmp")
        os.close(handle)
        with h5py.File(temporary, "w", userblock_size=HEADER_SIZE) as file:
            file.attrs["format"] = FORMAT_NAME
            file.attrs["format_version"] = FORMAT_VERSION
            file.attrs["spikelearn_version"] = spikelearn.__version__
            file.attrs["payload_sha256"] = payload_digest(records, class_names)
            if class_names is not None:
                file.attrs["class_names"] = json.dumps(list(class_names))
            group = file.create_group("layers")
            for index, (kind, config_json, variables) in enumerate(records):
                entry = group.create_group(f"{index:04d}")
                entry.attrs["class"] = kind
                entry.attrs["config"] = config_json
                stored = entry.create_group("variables")
                for name, array in variables.items():
                    stored.create_dataset(name, data=np.asarray(array, order="C"))
        with open(temporary, "r+b") as file:
            body = file.read()[HEADER_SIZE:]
            file.seek(0)
            file.write(_HEADER.pack(MAGIC, FORMAT_VERSION, hashlib.sha256(body).digest()))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
        temporary = None
    except (OSError, TypeError, ValueError) as error:
        raise ModelFileError(f"cannot write model file {path!r}: {error}") from error
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def _read_verified(path: str) -> bytes:
    """Read ``path`` and check the spikelearn header; return the HDF5 bytes (header kept)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ModelFileError(f"cannot read model file {path!r}: {error}") from error
    if len(data) < HEADER_SIZE or not data.startswith(MAGIC):
        if data.startswith(_HDF5_SIGNATURE):
            raise ModelFileError(f"{path!r} is an HDF5 file but not a spikelearn model file")
        raise ModelFileError(f"{path!r} is not a spikelearn model file (no spikelearn header)")
    _, version, checksum = _HEADER.unpack_from(data)
    if any(data[_HEADER.size:HEADER_SIZE]):
        raise ModelFileError(f"{path!r} is corrupt: its header padding is not zero")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path!r} has format version {version}, newer than version "
                             f"{FORMAT_VERSION} read by spikelearn {spikelearn.__version__}; "
                             "upgrade spikelearn")
    if version < 1:
        raise ModelFileError(f"{path!r} has an invalid format version {version}")
    if hashlib.sha256(data[HEADER_SIZE:]).digest() != checksum:
        raise ModelFileError(f"{path!r} is corrupt or truncated: its checksum does not match")
    return data


def load_layers(path: str | os.PathLike) -> list[Layer]:
    """Read the layers of a model file, built and with their variables set.

    Raises
    ------
    ModelFileError
        As :func:`read_model_file`.
    """
    return read_model_file(path)[0]


def read_model_file(path: str | os.PathLike) -> tuple[list[Layer], list[str] | None]:
    """Read a model file: its layers (built, variables set) and its class names.

    Returns
    -------
    layers : list of Layer
    class_names : list of str, or None
        None when the file holds no class names (unnamed model or an older file).

    Raises
    ------
    ModelFileError
        If the file is missing, unreadable, not a spikelearn model, of a newer format version,
        corrupt or truncated, or describes layers that do not fit together.
    """
    path = os.fspath(path)
    data = _read_verified(path)
    try:
        with h5py.File(io.BytesIO(data), "r") as file:
            if file.attrs.get("format") != FORMAT_NAME:
                raise ModelFileError(f"{path!r} is not a spikelearn model file")
            expected = str(file.attrs["payload_sha256"])
            class_names = file.attrs.get("class_names")
            if class_names is not None:
                class_names = json.loads(str(class_names))
                if not isinstance(class_names, list) or \
                        not all(isinstance(name, str) for name in class_names):
                    raise ModelFileError(f"{path!r} is corrupt: its class_names attribute is "
                                         "not a JSON list of strings")
            records = []
            for key in sorted(file["layers"]):
                entry = file["layers"][key]
                variables = {name: np.asarray(dataset[()])
                             for name, dataset in entry["variables"].items()}
                records.append((str(entry.attrs["class"]), str(entry.attrs["config"]),
                                variables))
    except ModelFileError:
        raise
    except Exception as error:  # anything h5py raises on a malformed file
        raise ModelFileError(f"{path!r} is not a readable spikelearn model file: "
                             f"{type(error).__name__}: {error}") from error
    if payload_digest(records, class_names) != expected:
        raise ModelFileError(f"{path!r} is corrupt: the payload checksum does not match")
    return _build_layers(path, records), class_names


def _build_layers(path: str, records) -> list[Layer]:
    layers: list[Layer] = []
    for index, (kind, config_json, variables) in enumerate(records):
        where = f"{path!r}, layer {index}"
        try:
            cls = LAYER_CLASSES[kind]
            layer = cls.from_config(json.loads(config_json))
            shape = layer.config["input_shape"] if layer.is_input_layer else \
                layers[-1].output_shape
            layer.build(shape)
            specs = layer.variable_specs()
            missing = sorted(set(specs) - set(variables))
            if missing:
                raise ValueError(f"missing variables {missing}")
            for name, array in variables.items():
                if name in specs:
                    layer.set_variable(name, array)
                else:
                    layer.variables[name] = np.asarray(array)
        except KeyError as error:
            raise ModelFileError(f"{where}: unknown layer class or missing key {error}") from error
        except (ValueError, TypeError, IndexError) as error:
            raise ModelFileError(f"{where} ({kind}) is invalid: {error}") from error
        layers.append(layer)
    return layers


def _current_umask() -> int:
    """The process umask (mkstemp creates 0600 files; a saved model gets the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
