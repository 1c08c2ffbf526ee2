"""Class decisions from neuron outputs: class scores, ties and the abstain answer."""

from __future__ import annotations

import numpy as np

#: The class returned when a prediction abstains.
ABSTAIN = -1


def class_scores(outputs, num_classes, score_neurons=1, bonus=None):
    """Score and best neuron output of every class.

    Parameters
    ----------
    outputs : array_like, shape (n, units)
        Neuron outputs (potentials); class ``c`` owns the contiguous neurons
        ``[c * npc, (c + 1) * npc)``, ``npc = units // num_classes``.
    num_classes : int
        A positive divisor of ``units``.
    score_neurons : int, default 1
        The score of a class is the mean of the outputs of its ``score_neurons`` most excited
        neurons (``1``: its best neuron), in ``[1, npc]``.
    bonus : array_like of int, shape (num_classes,), optional
        Added to each class's summed outputs before the mean (``Competitive``'s
        ``new_class_bonus`` on the classes added after compile).

    Returns
    -------
    scores : ndarray of float32, shape (n, num_classes)
    maxima : ndarray, shape (n, num_classes)
        The best neuron output of each class (the tie-break of :func:`argmax_or_abstain`).

    Raises
    ------
    ValueError
        If ``num_classes`` does not divide ``units`` or ``score_neurons`` is out of range.

    Examples
    --------
    >>> scores, maxima = class_scores([[5, 1, 4, 4]], 2, score_neurons=2)
    >>> scores.tolist(), maxima.tolist()
    ([[3.0, 4.0]], [[5, 4]])
    >>> class_scores([[5, 1, 4, 4]], 2, score_neurons=2, bonus=[0, 1])[0].tolist()
    [[3.0, 4.5]]
    """
    outputs = np.asarray(outputs)
    n, units = outputs.shape
    if int(num_classes) != num_classes or num_classes < 1 or units % num_classes:
        raise ValueError(f"num_classes must be a positive divisor of the {units} output "
                         f"neurons, got {num_classes!r}")
    per_class = units // int(num_classes)
    if isinstance(score_neurons, bool) or int(score_neurons) != score_neurons \
            or not 1 <= score_neurons <= per_class:
        raise ValueError(f"score_neurons must be an integer in [1, {per_class}] (the neurons of "
                         f"a class), got {score_neurons!r}")
    blocks = outputs.reshape(n, int(num_classes), per_class)
    maxima = blocks.max(axis=2)
    bonus = np.zeros(int(num_classes)) if bonus is None else np.asarray(bonus, np.float64)
    if bonus.shape != (int(num_classes),):
        raise ValueError(f"bonus must have shape ({int(num_classes)},), got {bonus.shape}")
    if score_neurons == 1:
        return (maxima + bonus).astype(np.float32), maxima
    best = np.partition(blocks, per_class - int(score_neurons), axis=2)
    top = best[:, :, per_class - int(score_neurons):].astype(np.float64)
    return ((top.sum(axis=2) + bonus) / int(score_neurons)).astype(np.float32), maxima


def argmax_or_abstain(scores, abstain_margin=None, *, tie_break=None):
    """Best class per row, or :data:`ABSTAIN` when the evidence is too weak.

    Parameters
    ----------
    scores : array_like, shape (n, classes)
        Class scores (e.g. from :func:`class_scores`).
    abstain_margin : int or float >= 0, optional
        Abstain when the best score is ``<= 0`` (no input overlaps any connection of the best
        class) or when it beats the runner-up by less than ``abstain_margin``. ``0`` abstains
        on zero scores only; ``1`` also abstains on ties. None (default) never abstains.
    tie_break : array_like, shape (n, classes), optional
        Among classes of equal best score, the one with the highest ``tie_break`` wins (e.g.
        the ``maxima`` of :func:`class_scores`); remaining ties go to the lowest index.

    Returns
    -------
    ndarray of int64, shape (n,)
        Class index or ``-1``.

    Raises
    ------
    ValueError
        If ``abstain_margin`` is negative or not a number.

    Examples
    --------
    >>> argmax_or_abstain([[0, 0], [5, 5], [7, 3]], abstain_margin=1).tolist()
    [-1, -1, 0]
    >>> argmax_or_abstain([[5, 5]], tie_break=[[6, 7]]).tolist()
    [1]
    """
    if abstain_margin is not None and (
            isinstance(abstain_margin, bool)
            or not isinstance(abstain_margin, int | float | np.number)
            or not abstain_margin >= 0):
        raise ValueError(f"abstain_margin must be a number >= 0, got {abstain_margin!r}")
    scores = np.asarray(scores)
    if tie_break is None:
        best = scores.argmax(axis=1)
    else:
        tied = scores == scores.max(axis=1, keepdims=True)
        keys = np.where(tied, np.asarray(tie_break, np.float64), -np.inf)
        best = keys.argmax(axis=1)
    if abstain_margin is None:
        return best.astype(np.int64)
    top = np.take_along_axis(scores, best[:, None], axis=1)[:, 0]
    if scores.shape[1] > 1:
        runner_up = np.partition(scores, -2, axis=1)[:, -2]
        weak = top - runner_up < abstain_margin
    else:
        weak = np.zeros(len(top), bool)
    return np.where((top <= 0) | weak, ABSTAIN, best).astype(np.int64)
