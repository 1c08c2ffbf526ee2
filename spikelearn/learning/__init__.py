"""On-device learning: the competitive few-shot plasticity rule of the last layer.

:class:`Competitive` is the optimizer given to ``Model.compile``; the numba kernels are in
:mod:`spikelearn.learning.kernels`, the ``Model`` glue in :mod:`spikelearn.learning.training`.
Nothing here imports TensorFlow (nor scikit-learn: see :mod:`spikelearn.learning.baseline`).
"""

from spikelearn.learning.competitive import Competitive
from spikelearn.learning.inspection import (
    choose_num_weights,
    learned_neurons,
    learning_histogram,
    plasticity,
    vigilance,
    win_counts,
)
from spikelearn.learning.scores import ABSTAIN, argmax_or_abstain

__all__ = [
    "ABSTAIN",
    "Competitive",
    "argmax_or_abstain",
    "choose_num_weights",
    "learned_neurons",
    "learning_histogram",
    "plasticity",
    "vigilance",
    "win_counts",
]
