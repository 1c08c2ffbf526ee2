"""What the plasticity rule is measured against: a nearest-class-mean head and synthetic data.

Imports scikit-learn, so it is not imported by :mod:`spikelearn.learning`.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.neighbors import NearestCentroid


def nearest_centroid_accuracy(train_spikes, train_labels, test_spikes, test_labels):
    """Accuracy of scikit-learn's ``NearestCentroid`` (Euclidean) trained on spikes.

    Parameters
    ----------
    train_spikes, test_spikes : array_like, shape (n, ...)
        Binary inputs of the learning layer, flattened per sample.
    train_labels, test_labels : array_like of int, shape (n,)

    Returns
    -------
    float
        Fraction of test samples whose nearest class mean is their class.

    Examples
    --------
    >>> nearest_centroid_accuracy([[1, 0], [0, 1]], [0, 1], [[1, 0], [1, 1]], [0, 0])
    1.0
    """
    train = np.asarray(train_spikes, np.float32).reshape(len(train_labels), -1)
    test = np.asarray(test_spikes, np.float32).reshape(len(test_labels), -1)
    # few shots: zero within-class variance is expected (it only matters for shrinkage)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*zero standard deviation", UserWarning)
        head = NearestCentroid().fit(train, np.asarray(train_labels))
    return float(np.mean(head.predict(test) == np.asarray(test_labels)))


def clustered_spikes(num_classes, shots, test_per_class, *, input_size=256, modes=2,
                     density=0.2, noise=0.05, seed=0):
    """Synthetic few-shot data: noisy copies of random binary prototypes.

    Each class has ``modes`` prototypes with each input on with probability ``density``; a
    sample copies a uniformly chosen prototype of its class and flips each bit with probability
    ``noise``.

    Parameters
    ----------
    num_classes, shots, test_per_class : int
        Classes, training samples per class, test samples per class.
    input_size : int, default 256
    modes : int, default 2
    density, noise : float
    seed : int, default 0

    Returns
    -------
    x_train : ndarray of uint8, shape (num_classes * shots, input_size)
    y_train : ndarray of int64, shape (num_classes * shots,)
        Sorted by class; shuffle for an interleaved order.
    x_test : ndarray of uint8, shape (num_classes * test_per_class, input_size)
    y_test : ndarray of int64, shape (num_classes * test_per_class,)
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.random((num_classes, modes, input_size)) < density

    def draw(per_class):
        labels = np.repeat(np.arange(num_classes, dtype=np.int64), per_class)
        chosen = prototypes[labels, rng.integers(0, modes, labels.size)]
        flips = rng.random(chosen.shape) < noise
        return (chosen ^ flips).astype(np.uint8), labels

    return (*draw(shots), *draw(test_per_class))
