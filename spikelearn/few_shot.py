"""Few-shot keyword learning on the device: audio clips in, new classes learned.

This is the edge-learning session of the reference tutorial as one function: each new
word's few utterances are augmented (time shift, noise, speed), turned into MFCC
features and learned by the compiled last layer after :meth:`Model.add_classes`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from spikelearn.datasets.augment import augment
from spikelearn.datasets.features import extract_features
from spikelearn.errors import NotCompiledError
from spikelearn.model import Model


@dataclass
class FewShotResult:
    """What :func:`learn_words` did.

    Attributes
    ----------
    labels : list of int
        Class index given to each new word, in order.
    num_samples : int
        Samples learned (utterances x augmentations).
    featurize_seconds, fit_seconds : float
        Wall time of augmentation + MFCC, and of ``model.fit``.
    """

    labels: list
    num_samples: int
    featurize_seconds: float
    fit_seconds: float


def learn_words(
    model: Model,
    clips_per_word: list[np.ndarray],
    *,
    names: list[str] | None = None,
    augmentations: int = 40,
    seed: int = 0,
) -> FewShotResult:
    """Add one class per word to ``model`` and learn it from a few utterances.

    Parameters
    ----------
    model : Model
        A model whose last layer is compiled for learning (:meth:`Model.compile`).
    clips_per_word : list of numpy.ndarray, float32, shape (k, 16000)
        The utterances of each new word (16 kHz mono, 1 s).
    names : list of str, optional
        The words, one per entry of ``clips_per_word``; appended to
        :attr:`Model.class_names` (unnamed earlier classes become ``class_<index>``).
        Checked before anything is learned.
    augmentations : int
        Augmented variants per utterance (the reference tutorial uses 40); 0 learns the raw
        utterances only.
    seed : int
        Seed of the augmentation.

    Returns
    -------
    FewShotResult

    Raises
    ------
    NotCompiledError
        If the model's last layer is not compiled for learning.
    ValueError
        If ``clips_per_word`` is empty, or ``names`` has the wrong length, repeats or names an
        existing class; the model is left untouched.
    """
    if not clips_per_word:
        raise ValueError("clips_per_word is empty: give the utterances of at least one word")
    first = model.num_classes
    if first is None:
        raise NotCompiledError("the model's last layer is not compiled for learning; call "
                               "Model.compile(Competitive(...)) first")
    if names is not None:
        names = list(names)
        if len(names) != len(clips_per_word):
            raise ValueError(f"got {len(names)} names for {len(clips_per_word)} words")
        existing = (model.class_names or [])[:first]
        existing += [f"class_{index}" for index in range(len(existing), first)]
        taken = sorted(set(names) & set(existing))
        if taken:
            raise ValueError(f"{taken} already name classes of the model; choose new words")
        if len(set(names)) != len(names):
            raise ValueError(f"the new words must be distinct, got {names}")
    start = time.perf_counter()
    features, labels = [], []
    for offset, clips in enumerate(clips_per_word):
        clips = np.asarray(clips, dtype=np.float32)
        if augmentations:
            clips = augment(clips, n=augmentations, seed=seed + offset)
        features.append(extract_features(clips))
        labels.append(np.full(len(clips), first + offset, np.int64))
    x = np.concatenate(features)
    y = np.concatenate(labels)
    order = np.random.default_rng(seed).permutation(len(y))
    featurize_seconds = time.perf_counter() - start
    model.add_classes(len(clips_per_word))
    start = time.perf_counter()
    model.fit(x[order], y[order])
    fit_seconds = time.perf_counter() - start
    if names is not None:
        model.class_names = existing + names
    return FewShotResult(
        labels=list(range(first, first + len(clips_per_word))),
        num_samples=len(y),
        featurize_seconds=featurize_seconds,
        fit_seconds=fit_seconds,
    )
