"""The model zoo: pretrained networks shipped inside the package, or hosted elsewhere.

Loading a shipped model needs no network and no TensorFlow (except :func:`load_keras`)::

    from spikelearn import zoo
    model = zoo.load("ds_cnn_kws")        # engine with its learned 1-bit classifier
    demo = zoo.load_demo_data("ds_cnn_kws")

How each file was made is in :func:`info` (the recipe, its settings and the figures it
measured); :mod:`spikelearn.zoo.training` holds the recipe itself.

A zoo entry may also have files hosted on a web server, each pinned by its SHA-256
(:data:`REMOTE`). No files are hosted by the project yet: :func:`register` adds entries,
e.g. a team's own mirror::

    zoo.register("team_kws", "Our keyword spotter", {
        ".slm": ("https://models.example.org/team_kws.slm", "<sha256 of the file>"),
        ".json": ("https://models.example.org/team_kws.json", "<sha256 of the file>"),
    })
    model = zoo.load("team_kws")          # downloaded once, then read from the cache

A shipped file always wins. A hosted file is downloaded (with pooch, checked against its
pinned hash) only when a model is asked for by name, into ``<data dir>/zoo/`` (see
:func:`spikelearn.datasets.data_dir`; ``$SPIKELEARN_DATA`` overrides it), and read from
there afterwards without any request. Pass ``download=False`` to forbid the download.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from spikelearn.errors import DataError
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

#: Files a zoo entry can have: suffix after the model name -> what it holds.
FILE_KINDS = {
    ".slm": "engine model (load)",
    ".json": "recipe and measured figures (info)",
    ".h5": "quantized Keras model (load_keras)",
    "_demo.npz": "held-out demo material (load_demo_data)",
}

#: Hosted files: model name -> {suffix: (url, sha256)}. No files are hosted by the
#: project yet; :func:`register` adds entries.
REMOTE: dict[str, dict[str, tuple[str, str]]] = {}

#: Sub-folder of the data dir that holds the downloaded zoo files.
CACHE_FOLDER = "zoo"

# The entries the package itself defines; register() may not replace them.
_SHIPPED = frozenset(MODELS)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def list_models() -> list[str]:
    """Names of the zoo models."""
    return sorted(MODELS)


def register(name: str, description: str, files: Mapping[str, tuple[str, str]]) -> None:
    """Add a zoo entry whose files are hosted on a web server (e.g. a team's own mirror).

    Nothing is downloaded here: each file is fetched the first time it is needed by
    :func:`load`, :func:`info`, :func:`load_keras` or :func:`load_demo_data`. Registering
    a name again replaces its previous registration.

    Parameters
    ----------
    name : str
        Model name: a letter, then letters, digits, ``_`` or ``-``. Not the name of a
        model shipped with the package.
    description : str
        One-line description, shown by ``spikelearn zoo list``.
    files : mapping
        Suffix (``".slm"``, ``".json"``, ``".h5"``, ``"_demo.npz"``, see
        :data:`FILE_KINDS`) -> ``(url, sha256)``: an http(s) URL and the SHA-256 of the
        file (64 hex digits). ``".slm"`` is required.

    Raises
    ------
    ValueError
        A bad or shipped name, an empty description, an unknown suffix, a missing
        ``".slm"``, a URL that is not http(s) or a malformed SHA-256. Nothing is
        registered then.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"zoo model name must start with a letter and hold only letters, digits, '_' "
            f"or '-', got {name!r}"
        )
    if name in _SHIPPED:
        raise ValueError(f"{name!r} is a zoo model shipped with spikelearn; pick another name")
    if not isinstance(description, str) or not description.strip():
        raise ValueError(f"the description of zoo model {name!r} must be a non-empty string")
    if not isinstance(files, Mapping):
        raise ValueError(f"files must map suffixes to (url, sha256), got {type(files).__name__}")
    entry = {}
    for suffix, spec in files.items():
        if suffix not in FILE_KINDS:
            raise ValueError(
                f"unknown zoo file suffix {suffix!r}; expected one of {', '.join(FILE_KINDS)}"
            )
        if not isinstance(spec, (tuple, list)) or len(spec) != 2:
            raise ValueError(f"files[{suffix!r}] must be a (url, sha256) pair, got {spec!r}")
        url, sha256 = spec
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"files[{suffix!r}]: the URL must be http(s)://..., got {url!r}")
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise ValueError(
                f"files[{suffix!r}]: the SHA-256 must be 64 hex digits, got {sha256!r}"
            )
        entry[suffix] = (url, sha256.lower())
    if ".slm" not in entry:
        raise ValueError(f"zoo model {name!r} needs a hosted '.slm' file (the engine model)")
    MODELS[name] = description.strip()
    REMOTE[name] = entry


def status(name: str) -> str:
    """Where the engine model (``.slm``) of a zoo entry comes from, without any request.

    Returns
    -------
    str
        ``"shipped"`` (inside the package), ``"downloaded"`` (verified in the data dir),
        ``"download on first use"`` (hosted, not downloaded yet) or ``"missing"``.
    """
    _check_name(name)
    if (PRETRAINED_DIR / f"{name}.slm").is_file():
        return "shipped"
    hosted = REMOTE.get(name, {}).get(".slm")
    if hosted is None:
        return "missing"
    return "downloaded" if _cached(name, ".slm", hosted[1]) else "download on first use"


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(list_models())}")


def _cache_path(name: str, suffix: str) -> Path:
    from spikelearn.datasets._cache import data_dir

    return data_dir() / CACHE_FOLDER / f"{name}{suffix}"


def _cached(name: str, suffix: str, sha256: str) -> Path | None:
    """The downloaded file, if it is there with its pinned hash."""
    path = _cache_path(name, suffix)
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
        return path
    return None


def _file(name: str, suffix: str, *, download: bool = True, progress: bool = True) -> Path:
    """The local file of a zoo entry: shipped, else downloaded (once) from its host."""
    _check_name(name)
    path = PRETRAINED_DIR / f"{name}{suffix}"
    if path.exists():
        return path
    hosted = REMOTE.get(name, {}).get(suffix)
    if hosted is None:
        if name in REMOTE:
            raise FileNotFoundError(
                f"zoo model {name!r} has no {suffix} file ({FILE_KINDS[suffix]}): it is "
                f"neither shipped nor among its hosted files ({', '.join(REMOTE[name])})"
            )
        raise FileNotFoundError(
            f"the pretrained file {path.name} is missing from this installation; "
            f"reinstall spikelearn or run 'spikelearn zoo train {name}'"
        )
    url, sha256 = hosted
    cached = _cached(name, suffix, sha256)
    if cached is not None:
        return cached
    target = _cache_path(name, suffix)
    if not download:
        state = "does not match its pinned SHA-256" if target.exists() else "is not downloaded"
        raise DataError(
            f"{target.name} of zoo model {name!r} {state} (in {target.parent}); pass "
            f"download=True to fetch it from {url}"
        )
    from spikelearn.datasets._cache import retrieve

    return retrieve(url, sha256, fname=target.name, folder=target.parent,
                    description=f"zoo file {target.name}", progress=progress)


def load(name: str = "ds_cnn_kws", *, download: bool = True) -> Model:
    """The pretrained engine model (its last layer compiled and learned).

    ``download=False`` raises :class:`~spikelearn.errors.DataError` instead of fetching
    a hosted file that is not in the data dir yet.
    """
    return Model(_file(name, ".slm", download=download))


def load_keras(name: str = "ds_cnn_kws", *, download: bool = True):
    """The quantized Keras model the engine was converted from (needs TensorFlow)."""
    import keras

    import spikelearn.quantization  # noqa: F401  (registers the quantized layers)

    return keras.models.load_model(_file(name, ".h5", download=download), compile=False)


def info(name: str = "ds_cnn_kws", *, download: bool = True) -> dict:
    """The recipe settings and the figures measured when the model's files were made."""
    return json.loads(_file(name, ".json", download=download).read_text())


def load_demo_data(name: str = "ds_cnn_kws", *, download: bool = True) -> dict[str, np.ndarray]:
    """Held-out demo material of a zoo model (test speakers never used in training).

    Returns
    -------
    dict
        ``old_features`` uint8 (n, 49, 10, 1) and ``old_labels`` (n,) for the preset classes;
        ``new_audio`` float32 (m, 16000), ``new_labels`` (m,) (index into
        ``info(name)["new_words"]``), ``new_speakers`` (m,) for the new words, and
        ``new_offsets`` / ``new_lengths`` (m,): each word's first sample in its clip and its
        length in samples (as ``Corpus.clip_info["offset"]`` and ``["length"]``), when the
        demo file has them.
    """
    with np.load(_file(name, "_demo.npz", download=download)) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["new_audio"] = arrays["new_audio"].astype(np.float32) / 32767.0
    for key in ("old_labels", "new_labels", "new_speakers", "new_offsets", "new_lengths"):
        if key in arrays:
            arrays[key] = arrays[key].astype(np.int64)
    return arrays
