"""The model zoo: pretrained networks shipped inside the package.

Loading needs no network and no TensorFlow (except :func:`load_keras`)::

    from spikelearn import zoo
    model = zoo.load("ds_cnn_kws")        # engine with its learned 1-bit classifier
    demo = zoo.load_demo_data("ds_cnn_kws")

How each file was made is in :func:`info` (the recipe, its settings and the figures it
measured); :mod:`spikelearn.zoo.training` holds the recipe itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from spikelearn.model import Model

#: Folder of the shipped pretrained files.
PRETRAINED_DIR = Path(__file__).with_name("pretrained")

#: Zoo entries: name -> one-line description.
MODELS = {
    "ds_cnn_kws": (
        "DS-CNN keyword spotter (8/4/4 bits, 1-bit spikes, 33 x 15-neuron learning layer) "
        "trained on the synthetic espeak-ng corpus: 32 words + _silence_"
    ),
}


def list_models() -> list[str]:
    """Names of the zoo models."""
    return sorted(MODELS)


def _file(name: str, suffix: str) -> Path:
    if name not in MODELS:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(list_models())}")
    path = PRETRAINED_DIR / f"{name}{suffix}"
    if not path.exists():
        raise FileNotFoundError(
            f"the pretrained file {path.name} is missing from this installation; "
            f"reinstall spikelearn or run 'spikelearn zoo train {name}'"
        )
    return path


def load(name: str = "ds_cnn_kws") -> Model:
    """The pretrained engine model (its last layer compiled and learned)."""
    return Model(_file(name, ".slm"))


def load_keras(name: str = "ds_cnn_kws"):
    """The quantized Keras model the engine was converted from (needs TensorFlow)."""
    import keras

    import spikelearn.quantization  # noqa: F401  (registers the quantized layers)

    return keras.models.load_model(_file(name, ".h5"), compile=False)


def info(name: str = "ds_cnn_kws") -> dict:
    """The recipe settings and the figures measured when the shipped files were made."""
    return json.loads(_file(name, ".json").read_text())


def load_demo_data(name: str = "ds_cnn_kws") -> dict[str, np.ndarray]:
    """Held-out demo material of a zoo model (test speakers never used in training).

    Returns
    -------
    dict
        ``old_features`` uint8 (n, 49, 10, 1) and ``old_labels`` (n,) for the preset classes;
        ``new_audio`` float32 (m, 16000), ``new_labels`` (m,) (index into
        ``info(name)["new_words"]``) and ``new_speakers`` (m,) for the new words.
    """
    with np.load(_file(name, "_demo.npz")) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["new_audio"] = arrays["new_audio"].astype(np.float32) / 32767.0
    for key in ("old_labels", "new_labels", "new_speakers"):
        arrays[key] = arrays[key].astype(np.int64)
    return arrays
