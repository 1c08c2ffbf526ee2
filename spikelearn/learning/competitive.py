"""The competitive few-shot plasticity rule: optimizer object and its state arrays.

The rule acts on a fully connected layer with binary inputs and binary weights in which every
neuron has exactly ``num_weights`` connections and the ``units`` neurons form ``num_classes``
contiguous blocks of ``units // num_classes`` neurons. See :func:`spikelearn.learning.kernels.fit`
for one learning step and ``Competitive`` for the integer schedule.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction

import numpy as np

from spikelearn.errors import LearningError
from spikelearn.learning import kernels

#: Names and dtypes of the per-neuron learning state kept next to the layer's weights.
STATE_DTYPES = {
    "vigilance": np.int32,
    "budget": np.int32,
    "wins": np.int64,
}
#: Float options of :class:`Competitive`, each in [0, 1].
FLOAT_OPTIONS = (
    "initial_plasticity",
    "learning_competition",
    "min_plasticity",
    "plasticity_decay",
)
#: Values of the ``rewire`` option of :class:`Competitive`.
REWIRE_MODES = ("sample", "frequent")
#: Every option of :class:`Competitive`, in signature order.
OPTIONS = ("num_weights", "num_classes", *FLOAT_OPTIONS, "recruit", "rewire", "score_neurons",
           "new_class_bonus", "seed")
#: Default of each option that a saved config may lack (files written before it existed).
OPTION_DEFAULTS = {"rewire": "sample", "score_neurons": 1, "new_class_bonus": 0}


def exact_fraction(value):
    """The rational number a user meant by a float: its shortest decimal representation.

    ``exact_fraction(0.1) == Fraction(1, 10)``, so ``ceil(0.1 * 50) == 5``; a float32
    ``0.1`` (``0.10000000149...``) stays what it is.
    """
    return Fraction(repr(float(value)))


def round_half_up(value):
    """Nearest integer of a non-negative ``Fraction``, halves rounded up."""
    return math.floor(value + Fraction(1, 2))


class Competitive:
    """Competitive few-shot plasticity for a binary fully connected last layer.

    ``__init__`` only stores the options; they are checked when a model is compiled
    (:meth:`initial_state`). Every learning step is integer only: overlap counts,
    comparisons and moves of connections.

    Parameters
    ----------
    num_weights : int
        Connections per neuron (ones in its binary weight column), ``1 <= num_weights <= n_in``.
        A good value is about 1.2 x the average number of input spikes
        (:func:`spikelearn.learning.choose_num_weights`).
    num_classes : int
        Number of classes; the layer's units must be a multiple of it.
    initial_plasticity : float, default 1.0
        Initial swap budget as a fraction of ``num_weights``:
        ``b0 = round_half_up(initial_plasticity * num_weights)``.
    learning_competition : float, default 0.0
        Caps the vigilance of a learned neuron at
        ``round_half_up((1 - learning_competition) * num_weights)``.
    min_plasticity : float, default 0.1
        Floor of the budget, ``ceil(min_plasticity * num_weights)`` (the floor also raises a
        budget that starts below it).
    plasticity_decay : float, default 0.25
        Each learning event lowers the budget by ``ceil(plasticity_decay * b0)``.
    recruit : bool, default False
        When no neuron of the label's class is eligible, the lowest-index neuron of the class
        that never won learns anyway, even with zero overlap (the reference rule drops the
        sample). Helps very sparse inputs.
    rewire : {"sample", "frequent"}, default "sample"
        Which connections the winner moves. ``"sample"`` (the reference rule): from inputs
        inactive in the current sample to its active inputs, chosen uniformly.
        ``"frequent"``: every neuron keeps integer activity counts (how often each input was
        active in the samples it won, state ``"activity"`` int32 (input_size, units)) and moves
        its least frequently active connections to the most frequently active unconnected
        inputs (at most ``budget`` per step, only to strictly more frequent inputs; on equal
        counts the current sample's active inputs win). The mask converges to the neuron's
        binary centroid: the ``num_weights`` most frequent inputs of its samples.
    score_neurons : int, default 1
        How the layer's classes are read out (learning does not use it): the score of a class
        is the mean potential of its ``score_neurons`` most excited neurons, at most the
        neurons per class. ``1`` (the reference) takes the best neuron alone; a few neurons
        (e.g. 5 of 15) break the frequent ties of 1-bit potentials by how many of a class's
        neurons agree (see :meth:`spikelearn.Model.predict_classes`).
    new_class_bonus : int, default 0
        Readout only, like ``score_neurons``: added to the summed potentials of the
        ``score_neurons`` best neurons of every class that ``add_classes`` appended after
        compile, so those classes' scores (the means) rise by
        ``new_class_bonus / score_neurons``. Classes learned from a few samples otherwise lose
        close calls to the classes learned offline from many (see the learning guide).
    seed : int or None, default None
        Seed of the connection masks and of the choice of moved connections. ``None`` draws one
        at compile time; the drawn seed is stored with the model so that it stays reproducible.

    Notes
    -----
    One learning step on sample ``x`` with label ``y`` (``-1``: unlabelled, all neurons compete):
    the potential ``p[j] = |x AND w[j]|``; the eligible candidates have ``p[j] > vigilance[j]``;
    the winner has the highest potential (lowest index on ties); it moves
    ``s = min(budget, R, A)`` connections from inactive inputs (``R`` of them) to active inputs it
    was not connected to (``A``), chosen uniformly by a seeded counter-based generator; if
    ``s > 0`` its vigilance becomes ``min(p, cap)``; its budget then decreases (also when
    ``s == 0``).

    Floats are read as the decimal number they print as: ``min_plasticity=0.1`` gives the floor
    ``ceil(0.1 * 50) = 5`` for ``num_weights=50``.

    Differences from the reference engine (whose behaviour this rule otherwise reproduces:
    eligibility, winner, swap count, vigilance, schedule):

    - its default ``min_plasticity`` is the float32 ``0.10000000149``, a floor of 6 (not 5) for
      ``num_weights=50``; pass ``numpy.float32(0.1)`` to get that value here;
    - which connections move is drawn uniformly with the seeded generator (the reference uses
      a fixed, undocumented spread pattern); masks are seeded too (the reference's are not);
    - labels are all checked before anything is learned; a label ``< -1`` is an error (the
      reference learns the samples before a bad label, and treats any negative label as -1);
    - ``recruit=True`` (off by default) learns samples the reference drops;
    - ``rewire="frequent"`` (off by default) replaces the sample-driven rewiring by the
      activity counters;
    - ``score_neurons > 1`` (off by default) scores a class by several of its neurons, and
      equal scores go to the class with the higher best neuron (not to the lowest index);
    - ``new_class_bonus > 0`` (off by default) raises the scores of the classes added after
      compile.

    Examples
    --------
    >>> import numpy as np
    >>> from spikelearn.learning import Competitive
    >>> rule = Competitive(num_weights=3, num_classes=2, seed=0)
    >>> state = rule.initial_state(input_size=8, units=4)
    >>> x = np.array([[1, 1, 1, 0, 0, 0, 0, 0]], np.uint8)
    >>> rule.learn(state, x, [1])  # potentials before the update; neuron 2 wins
    array([[0, 0, 2, 0]], dtype=int32)
    >>> state["weights"][:3, 2]  # one connection moved onto the third active input
    array([1, 1, 1], dtype=int8)
    >>> state["vigilance"], state["budget"]
    (array([0, 0, 2, 0], dtype=int32), array([3, 3, 2, 3], dtype=int32))
    """

    def __init__(
        self,
        num_weights,
        num_classes,
        *,
        initial_plasticity=1.0,
        learning_competition=0.0,
        min_plasticity=0.1,
        plasticity_decay=0.25,
        recruit=False,
        rewire="sample",
        score_neurons=1,
        new_class_bonus=0,
        seed=None,
    ):
        self.num_weights = num_weights
        self.num_classes = num_classes
        self.initial_plasticity = initial_plasticity
        self.learning_competition = learning_competition
        self.min_plasticity = min_plasticity
        self.plasticity_decay = plasticity_decay
        self.recruit = recruit
        self.rewire = rewire
        self.score_neurons = score_neurons
        self.new_class_bonus = new_class_bonus
        self.seed = seed

    def __repr__(self):
        options = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"Competitive({options})"

    def get_config(self):
        """Options as a dict (``Competitive(**config)`` rebuilds the object)."""
        return {name: getattr(self, name) for name in OPTIONS}

    @classmethod
    def from_config(cls, config):
        """Inverse of :meth:`get_config` (extra keys such as ``"rule"`` are ignored; options
        added later, missing from an older config, take their reference default)."""
        return cls(**{name: config[name] if name in config else OPTION_DEFAULTS[name]
                      for name in OPTIONS})

    def validate(self, input_size, units):
        """Check the options against a layer of ``input_size`` inputs and ``units`` neurons.

        Raises
        ------
        LearningError
            Naming the option and the rule it breaks.
        """
        rule = "Competitive"
        if not _is_int(self.num_classes) or self.num_classes < 1:
            raise LearningError(f"{rule}: num_classes must be an integer >= 1, got "
                                f"{self.num_classes!r}")
        if units % self.num_classes:
            raise LearningError(f"{rule}: the layer's {units} units are not a multiple of "
                                f"num_classes={self.num_classes}")
        if not _is_int(self.num_weights) or not 1 <= self.num_weights <= input_size:
            raise LearningError(f"{rule}: num_weights must be an integer in [1, {input_size}] "
                                f"(the layer's inputs), got {self.num_weights!r}")
        for name in FLOAT_OPTIONS:
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or isinstance(value, bool) \
                    or not 0.0 <= float(value) <= 1.0:
                raise LearningError(f"{rule}: {name} must be a number in [0, 1], got {value!r}")
        if not isinstance(self.recruit, bool | np.bool_):
            raise LearningError(f"{rule}: recruit must be True or False, got {self.recruit!r}")
        if self.rewire not in REWIRE_MODES:
            raise LearningError(f"{rule}: rewire must be one of {REWIRE_MODES}, got "
                                f"{self.rewire!r}")
        per_class = units // self.num_classes
        if not _is_int(self.score_neurons) or not 1 <= self.score_neurons <= per_class:
            raise LearningError(f"{rule}: score_neurons must be an integer in [1, {per_class}] "
                                f"(the neurons per class), got {self.score_neurons!r}")
        if not _is_int(self.new_class_bonus) or self.new_class_bonus < 0:
            raise LearningError(f"{rule}: new_class_bonus must be an integer >= 0, got "
                                f"{self.new_class_bonus!r}")
        if self.seed is not None and (not _is_int(self.seed) or not 0 <= self.seed < 2**63):
            raise LearningError(f"{rule}: seed must be None or an integer in [0, 2**63), got "
                                f"{self.seed!r}")

    def schedule(self):
        """The integer schedule of the rule.

        Returns
        -------
        dict
            ``initial_budget`` (b0), ``decrement``, ``min_budget`` and ``vigilance_cap``.
        """
        num_weights = int(self.num_weights)
        initial_budget = round_half_up(exact_fraction(self.initial_plasticity) * num_weights)
        return {
            "initial_budget": initial_budget,
            "decrement": math.ceil(exact_fraction(self.plasticity_decay) * initial_budget),
            "min_budget": math.ceil(exact_fraction(self.min_plasticity) * num_weights),
            "vigilance_cap": round_half_up(
                (1 - exact_fraction(self.learning_competition)) * num_weights
            ),
        }

    def initial_state(self, input_size, units):
        """Validate the options and create the state of a freshly compiled layer.

        With ``seed=None`` a seed is drawn from OS entropy and stored in ``self.seed``.

        Parameters
        ----------
        input_size : int
            Inputs of the layer (``n_in``).
        units : int
            Neurons of the layer.

        Returns
        -------
        dict of str to ndarray
            ``"weights"`` int8 (input_size, units) with ``num_weights`` ones per column at
            seeded random distinct inputs; ``"vigilance"`` int32 zeros, ``"budget"`` int32 b0,
            ``"wins"`` int64 zeros (all (units,)); ``"rng_counter"`` int64 (1,) zero; with
            ``rewire="frequent"`` also ``"activity"`` int32 (input_size, units) zeros.

        Raises
        ------
        LearningError
            If an option is invalid for this layer.
        """
        self.validate(input_size, units)
        if self.seed is None:
            self.seed = int(np.random.default_rng().integers(2**63))
        state = {"weights": np.zeros((input_size, 0), np.int8)}
        state.update({name: np.zeros(0, dtype) for name, dtype in STATE_DTYPES.items()})
        state["rng_counter"] = np.zeros(1, np.int64)
        if self.rewire == "frequent":
            state["activity"] = np.zeros((input_size, 0), np.int32)
        return self._append_neurons(state, units)

    def add_classes(self, state, num_new):
        """Append ``num_new`` classes of fresh neurons; existing neurons are left untouched.

        Updates ``self.num_classes`` and returns the new state dict (the old one is unchanged).
        New neuron ``j`` gets the mask it would have had if the layer had been compiled with
        more units.

        Raises
        ------
        ValueError
            If ``num_new`` is not an integer >= 1.
        """
        if not _is_int(num_new) or num_new < 1:
            raise ValueError(f"Competitive.add_classes: the number of new classes must be an "
                             f"integer >= 1, got {num_new!r}")
        per_class = self.neurons_per_class(state)
        new_state = self._append_neurons(state, per_class * int(num_new))
        self.num_classes = int(self.num_classes) + int(num_new)
        return new_state

    def neurons_per_class(self, state):
        """Neurons in each class block of ``state``."""
        return state["weights"].shape[1] // int(self.num_classes)

    def learn(self, state, spikes, labels):
        """Learn samples one after the other (the state dict is updated in place).

        Parameters
        ----------
        state : dict of str to ndarray
            As returned by :meth:`initial_state`.
        spikes : array_like of uint8 or bool, shape (n, input_size)
            Binary input spikes (values 0 or 1).
        labels : int or array_like of int, shape (n,)
            Class of each sample in ``[0, num_classes)``; ``-1`` for unlabelled (all neurons
            compete). A scalar applies to every sample. Checked before anything is learned.

        Returns
        -------
        ndarray of int32, shape (n, units)
            Potentials each sample saw before its own update.

        Raises
        ------
        TypeError, ValueError
            Bad spikes or labels (nothing is learned).
        """
        weights = state["weights"]
        spikes = check_spikes(spikes, weights.shape[0])
        labels = check_labels(labels, spikes.shape[0], int(self.num_classes))
        sched = self.schedule()
        masks = kernels.pack_bits(weights.T)
        frequent = self.rewire == "frequent"
        activity = np.ascontiguousarray(state["activity"].T) if frequent \
            else np.zeros((0, 0), np.int32)
        potentials = kernels.fit(
            kernels.pack_bits(spikes),
            labels,
            masks,
            state["vigilance"],
            state["budget"],
            state["wins"],
            state["rng_counter"],
            np.uint64(self.seed),
            self.neurons_per_class(state),
            sched["decrement"],
            sched["min_budget"],
            sched["vigilance_cap"],
            bool(self.recruit),
            activity,
            weights.shape[0],
        )
        weights[...] = kernels.unpack_bits(masks, weights.shape[0]).T
        if frequent:
            state["activity"][...] = activity.T
        return potentials

    def _append_neurons(self, state, count):
        input_size, first = state["weights"].shape
        masks = np.zeros((input_size, count), np.int8)
        for offset in range(count):
            rng = np.random.default_rng([int(self.seed), first + offset])
            masks[rng.choice(input_size, int(self.num_weights), replace=False), offset] = 1
        initial_budget = self.schedule()["initial_budget"]
        fresh = {
            "weights": masks,
            "vigilance": np.zeros(count, np.int32),
            "budget": np.full(count, initial_budget, np.int32),
            "wins": np.zeros(count, np.int64),
        }
        if "activity" in state:
            fresh["activity"] = np.zeros((input_size, count), np.int32)
        new_state = {name: np.concatenate([state[name], fresh[name]], axis=-1) for name in fresh}
        new_state["rng_counter"] = state["rng_counter"].copy()
        return new_state


def check_spikes(spikes, input_size):
    """Return ``spikes`` as a C-contiguous uint8 (n, input_size) array of 0/1.

    Raises
    ------
    TypeError
        Non-integer, non-bool dtype.
    ValueError
        Wrong shape or a value other than 0 and 1.
    """
    spikes = np.asarray(spikes)
    if spikes.dtype != np.bool_ and not np.issubdtype(spikes.dtype, np.integer):
        raise TypeError(f"spikes must be integers 0/1, got dtype {spikes.dtype}")
    if spikes.ndim != 2 or spikes.shape[1] != input_size:
        raise ValueError(f"spikes must have shape (n, {input_size}), got {spikes.shape}")
    if spikes.size and (spikes.min() < 0 or spikes.max() > 1):
        raise ValueError("spikes of the learning layer must be 0 or 1 (binary inputs)")
    return np.ascontiguousarray(spikes, dtype=np.uint8)


def check_labels(labels, num_samples, num_classes):
    """Return labels as int64 (num_samples,), all in ``[-1, num_classes)``.

    Raises
    ------
    TypeError
        Labels that are not integers (floats, bools, strings).
    ValueError
        Wrong length or a label outside ``[-1, num_classes)``.
    """
    array = np.asarray(labels)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"labels must be integers (class index, -1 = unlabelled), got dtype "
                        f"{array.dtype}")
    if array.ndim != 0 and array.shape != (num_samples,):
        raise ValueError(f"labels must be a scalar or have shape ({num_samples},), got "
                         f"{array.shape}")
    bad = (array < -1) | (array >= num_classes)
    if bad.any():
        raise ValueError(f"label {np.atleast_1d(array)[np.atleast_1d(bad)][0]} is outside "
                         f"[-1, {num_classes}) (num_classes={num_classes}; -1 = unlabelled); "
                         f"nothing was learned")
    return np.broadcast_to(array, (num_samples,)).astype(np.int64)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)
