"""Class decisions with an abstain answer."""

from __future__ import annotations

import numpy as np

#: The class returned when a prediction abstains.
ABSTAIN = -1


def argmax_or_abstain(scores, abstain_margin):
    """Best class per row, or :data:`ABSTAIN` when the evidence is too weak.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Class scores (e.g. the maximum potential over each class's neurons).
    abstain_margin : int or float >= 0
        Abstain when the best score is ``<= 0`` (no input overlaps any connection of the best
        class) or when it beats the runner-up by less than ``abstain_margin``. ``0`` abstains
        on zero scores only; ``1`` also abstains on ties.

    Returns
    -------
    ndarray of int64, shape (n,)
        Class index (lowest on ties) or ``-1``.

    Raises
    ------
    ValueError
        If ``abstain_margin`` is negative or not a number.

    Examples
    --------
    >>> argmax_or_abstain([[0, 0], [5, 5], [7, 3]], abstain_margin=1).tolist()
    [-1, -1, 0]
    """
    if isinstance(abstain_margin, bool) or not isinstance(abstain_margin, int | float | np.number) \
            or not abstain_margin >= 0:
        raise ValueError(f"abstain_margin must be a number >= 0, got {abstain_margin!r}")
    scores = np.asarray(scores)
    best = scores.argmax(axis=1)
    top = np.take_along_axis(scores, best[:, None], axis=1)[:, 0]
    if scores.shape[1] > 1:
        runner_up = np.partition(scores, -2, axis=1)[:, -2]
        weak = top - runner_up < abstain_margin
    else:
        weak = np.zeros(len(top), bool)
    return np.where((top <= 0) | weak, ABSTAIN, best).astype(np.int64)
