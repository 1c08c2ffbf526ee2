"""Looking inside a compiled learning layer, and choosing ``num_weights``.

The honest "has learned" indicator is ``wins > 0`` (the neuron won at least one learning
event); the reference engine's count of neurons with a non-zero learning threshold misses
every neuron when ``learning_competition=1`` (their vigilance stays 0).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from spikelearn.learning.competitive import round_half_up
from spikelearn.learning.training import learning_layer, optimizer


def win_counts(model):
    """Learning events won by each neuron of the compiled last layer: int64 (units,)."""
    return learning_layer(model).variables["wins"].copy()


def learned_neurons(model):
    """Whether each neuron won at least once: bool (units,)."""
    return win_counts(model) > 0


def plasticity(model):
    """Current swap budget of each neuron (connections it may still move per step): int32
    (units,)."""
    return learning_layer(model).variables["budget"].copy()


def vigilance(model):
    """Learning threshold of each neuron (it learns only if its potential exceeds it): int32
    (units,)."""
    return learning_layer(model).variables["vigilance"].copy()


def learning_histogram(model):
    """Number of learned neurons (won at least once) in each class: int64 (num_classes,).

    Examples
    --------
    >>> import numpy as np
    >>> from spikelearn.model import Model
    >>> from spikelearn.layers import InputData, FullyConnected
    >>> from spikelearn.learning import Competitive
    >>> model = Model([InputData((1, 1, 8), input_bits=1), FullyConnected(4, weight_bits=1)])
    >>> model.compile(Competitive(num_weights=8, num_classes=2, seed=0))
    >>> _ = model.fit(np.ones((1, 1, 1, 8), np.uint8), 1)
    >>> learning_histogram(model).tolist()
    [0, 1]
    """
    num_classes = int(optimizer(model).num_classes)
    return learned_neurons(model).reshape(num_classes, -1).sum(axis=1).astype(np.int64)


def choose_num_weights(spikes, factor=1.2):
    """A ``num_weights`` from measured spikes: ``factor`` times the mean spikes per sample.

    Parameters
    ----------
    spikes : array_like, shape (n, ...)
        Binary inputs of the learning layer (e.g. ``model.forward(x, until=-2)``), one sample
        per row.
    factor : float, default 1.2
        Multiplier (the reference tutorial uses 1.2).

    Returns
    -------
    int
        ``round_half_up(factor * mean)``, clipped to ``[1, inputs per sample]``.

    Raises
    ------
    ValueError
        If there are no samples or ``factor`` is not positive.

    Examples
    --------
    >>> choose_num_weights([[1, 1, 0, 0], [1, 1, 1, 1]])
    4
    """
    spikes = np.asarray(spikes)
    if spikes.ndim < 2 or spikes.shape[0] == 0:
        raise ValueError(f"spikes must hold at least one sample as (n, ...), got shape "
                         f"{spikes.shape}")
    if not factor > 0:
        raise ValueError(f"factor must be > 0, got {factor!r}")
    inputs = int(np.prod(spikes.shape[1:]))
    mean = Fraction(int(np.count_nonzero(spikes)), spikes.shape[0])
    return int(min(max(round_half_up(Fraction(repr(float(factor))) * mean), 1), inputs))
