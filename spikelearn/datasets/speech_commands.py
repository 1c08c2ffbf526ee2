"""Google Speech Commands v0.02 through pooch (download only on explicit request).

:func:`fetch_speech_commands` downloads the official archive, checks its pinned
SHA-256, and extracts it to ``<data dir>/speech_commands_v0.02/`` (through a temporary
folder renamed at the end, so a failed or interrupted extraction leaves nothing
behind). :func:`load_speech_commands` reads one split from that folder and never
downloads unless asked with ``download=True``.

Splits follow the dataset's own ``validation_list.txt`` and ``testing_list.txt``;
every other clip of a word folder is training data. Modes:

- ``"35"``: the 35 words (:data:`SPEECH_COMMANDS_WORDS` order), labels 0..34.
- ``"12"``: ``_silence_``, ``_unknown_``, then yes no up down left right on off stop go.
  The other 25 words become ``_unknown_``; ``_silence_`` clips are random one-second
  windows of the ``_background_noise_`` recordings (seeded). By default both are
  subsampled to 10 % of the number of known-word clips of the split, as in the
  TensorFlow reference recipe.
"""

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from spikelearn.datasets._cache import data_dir, retrieve
from spikelearn.datasets.audio import CLIP_SAMPLES, SAMPLE_RATE, fit_length, load_wav
from spikelearn.datasets.corpus import Corpus
from spikelearn.datasets.speakers import SPLITS
from spikelearn.datasets.synthetic import SILENCE, SPEECH_COMMANDS_WORDS
from spikelearn.errors import DataError

#: Official archive (about 2.3 GB) and its SHA-256.
SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
SPEECH_COMMANDS_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
#: Environment variables overriding the archive URL and its SHA-256 (mirrors, tests).
URL_ENV = "SPIKELEARN_SPEECH_COMMANDS_URL"
SHA256_ENV = "SPIKELEARN_SPEECH_COMMANDS_SHA256"
#: Name of the extracted folder inside the data dir.
FOLDER = "speech_commands_v0.02"
UNKNOWN = "_unknown_"
BACKGROUND = "_background_noise_"
#: Class names of the 12-class mode.
WORDS_12 = (SILENCE, UNKNOWN) + SPEECH_COMMANDS_WORDS[:10]


def fetch_speech_commands(*, url=None, sha256=None, cache_dir=None, progress=True):
    """Download (if needed), verify and extract Speech Commands v0.02.

    Parameters
    ----------
    url : str, optional
        Archive URL; default ``$SPIKELEARN_SPEECH_COMMANDS_URL`` or the official one.
    sha256 : str, optional
        Expected SHA-256 of the archive; default ``$SPIKELEARN_SPEECH_COMMANDS_SHA256``,
        or the pinned hash of the official archive. Required with a custom URL.
    cache_dir : str or path-like, optional
        Data folder (default ``$SPIKELEARN_DATA`` or ``pooch.os_cache("spikelearn")``).
    progress : bool, optional
        Show a download progress bar.

    Returns
    -------
    pathlib.Path
        The extracted dataset folder (word sub-folders, ``_background_noise_``,
        ``validation_list.txt``, ``testing_list.txt``).

    Raises
    ------
    DataError
        Download failed, checksum mismatch (the file is not kept), or a bad archive.
    """
    root = data_dir(cache_dir)
    target = root / FOLDER
    if (target / "testing_list.txt").exists():
        return target
    url = url or os.environ.get(URL_ENV) or SPEECH_COMMANDS_URL
    sha256 = sha256 or os.environ.get(SHA256_ENV)
    if sha256 is None:
        if url != SPEECH_COMMANDS_URL:
            raise ValueError(
                f"a custom Speech Commands URL ({url}) needs its SHA-256: pass sha256= or "
                f"set ${SHA256_ENV}"
            )
        sha256 = SPEECH_COMMANDS_SHA256
    archive = retrieve(
        url,
        sha256,
        fname=f"{FOLDER}.tar.gz",
        folder=root,
        description="Speech Commands archive",
        progress=progress,
    )
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=root))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        if not (tmp / "testing_list.txt").exists():
            raise DataError(f"{archive} is not a Speech Commands archive (no testing_list.txt)")
        os.rename(tmp, target)
    except (tarfile.TarError, EOFError) as err:
        raise DataError(f"{archive}: broken archive ({err}); delete it and fetch again") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _find_root(cache_dir, download, progress):
    root = data_dir(cache_dir) / FOLDER
    if (root / "testing_list.txt").exists():
        return root
    if not download:
        raise DataError(
            f"Speech Commands v0.02 is not in {root.parent}; call "
            "spikelearn.datasets.fetch_speech_commands() (about 2.3 GB) or pass download=True"
        )
    return fetch_speech_commands(cache_dir=cache_dir, progress=progress)


def load_background_noise(*, cache_dir=None, download=False, progress=True):
    """The long noise recordings of ``_background_noise_``, for augmentation.

    Returns
    -------
    dict of str -> numpy.ndarray, float32, shape (t,)
        File stem -> 16 kHz mono audio.
    """
    root = _find_root(cache_dir, download, progress)
    return {p.stem: _mono16k(p) for p in sorted((root / BACKGROUND).glob("*.wav"))}


def _mono16k(path):
    audio, rate = load_wav(path)
    if rate != SAMPLE_RATE or audio.ndim != 1:
        raise DataError(f"{path}: expected 16 kHz mono, got {rate} Hz, shape {audio.shape}")
    return audio


def load_speech_commands(
    split="train",
    mode="12",
    *,
    seed=0,
    silence_fraction=0.1,
    unknown_fraction=0.1,
    cache_dir=None,
    download=False,
    progress=True,
):
    """Load one split of Speech Commands v0.02 as a :class:`Corpus`.

    Parameters
    ----------
    split : {"train", "validation", "test"}, optional
    mode : {"12", "35"}, optional
        12 classes (10 words, ``_silence_``, ``_unknown_``) or the 35 words.
    seed : int, optional
        Seed of the ``_silence_`` windows and of the ``_unknown_`` subsample (mode 12).
    silence_fraction, unknown_fraction : float or None, optional
        Mode 12: number of ``_silence_`` / ``_unknown_`` clips as a fraction of the
        known-word clips of the split; None keeps every unknown word clip.
    cache_dir : str or path-like, optional
    download : bool, optional
        Download the dataset (about 2.3 GB) if it is not there yet.
    progress : bool, optional

    Returns
    -------
    Corpus
        ``audio`` float32 ``(n, 16000)`` (shorter recordings zero-padded at the end),
        ``labels`` into ``words``, ``speakers`` indexing ``speaker_table``
        (``{"speaker": <hash from the file name>}``; ``_silence_`` clips belong to the
        last row, ``{"speaker": "_background_noise_"}``).

    Raises
    ------
    DataError
        The dataset is absent and ``download`` is False, or a file is malformed.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if mode not in ("12", "35"):
        raise ValueError(f"mode must be '12' or '35', got {mode!r}")
    root = _find_root(cache_dir, download, progress)
    held_out = {
        name: set((root / f"{name}_list.txt").read_text().split())
        for name in ("validation", "testing")
    }
    files = []
    for word in SPEECH_COMMANDS_WORDS:
        for p in sorted((root / word).glob("*.wav")):
            rel = f"{word}/{p.name}"
            which = (
                "validation"
                if rel in held_out["validation"]
                else "test"
                if rel in held_out["testing"]
                else "train"
            )
            if which == split:
                files.append((word, p))
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    words = list(WORDS_12) if mode == "12" else list(SPEECH_COMMANDS_WORDS)
    if mode == "12":
        known = [f for f in files if f[0] in words]
        unknown = [f for f in files if f[0] not in words]
        if unknown_fraction is not None:
            take = min(len(unknown), round(unknown_fraction * len(known)))
            unknown = [unknown[i] for i in np.sort(rng.permutation(len(unknown))[:take])]
        files = known + unknown
        n_known = len(known)
    labels = [words.index(w) if w in words else words.index(UNKNOWN) for w, _ in files]
    speaker_names = [p.name.split("_nohash_")[0] for _, p in files]
    table = sorted(set(speaker_names))
    index = {s: i for i, s in enumerate(table)}
    audio = np.zeros((len(files), CLIP_SAMPLES), np.float32)
    for i, (_, p) in enumerate(files):
        audio[i] = fit_length(_mono16k(p))
    speakers = [index[s] for s in speaker_names]
    if mode == "12" and silence_fraction:
        noise = list(load_background_noise(cache_dir=cache_dir).values())
        count = round(silence_fraction * n_known)
        audio = np.concatenate([audio, _noise_windows(rng, noise, count)])
        labels += [words.index(SILENCE)] * count
        speakers += [len(table)] * count
        table.append(BACKGROUND)
    return Corpus(
        audio=audio,
        labels=np.asarray(labels, np.int64),
        words=words,
        speakers=np.asarray(speakers, np.int64),
        split=np.full(len(labels), split),
        speaker_table=[{"speaker": s} for s in table],
        manifest={
            "dataset": "speech_commands_v0.02",
            "mode": mode,
            "split": split,
            "seed": seed,
            "root": str(root),
        },
    )


def _noise_windows(rng, recordings, count):
    """``count`` random one-second windows of the recordings, at a random gain 0..1."""
    if not recordings:
        raise DataError(f"no {BACKGROUND} recordings found for the _silence_ class")
    which = rng.integers(len(recordings), size=count)
    out = np.zeros((count, CLIP_SAMPLES), np.float32)
    for i in range(count):
        r = recordings[which[i]]
        start = int(rng.integers(max(1, r.size - CLIP_SAMPLES + 1)))
        out[i] = fit_length(r[start : start + CLIP_SAMPLES]) * rng.uniform(0.0, 1.0)
    return out
