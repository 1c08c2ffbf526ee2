"""Learning on a :class:`spikelearn.Model`: compile, fit and add_classes of its last layer.

The ``Model`` methods of the same names call these functions. The learning state lives in the
last layer: ``variables["weights"]`` (the connection masks) plus ``"vigilance"``, ``"budget"``
(int32), ``"wins"`` and ``"rng_counter"`` (int64), with ``rewire="frequent"`` also
``"activity"`` (int32), and the optimizer options (with the seed actually used) in
``config["learning"]``, so the model file saves and restores all of it.
"""

from __future__ import annotations

import numpy as np

from spikelearn.errors import LearningError, NotCompiledError
from spikelearn.layers import FullyConnected
from spikelearn.learning.competitive import (
    FLOAT_OPTIONS,
    STATE_DTYPES,
    Competitive,
    check_labels,
    check_spikes,
)

#: Key of the optimizer options in the learning layer's config.
CONFIG_KEY = "learning"
#: Names of the learning state variables (besides ``"weights"``); ``"activity"`` only exists
#: with ``rewire="frequent"``.
STATE_NAMES = (*STATE_DTYPES, "rng_counter", "activity")


def learning_layer(model):
    """The compiled last layer of ``model``.

    Raises
    ------
    NotCompiledError
        If the model has no layers or its last layer was never compiled.
    """
    if len(model) == 0 or CONFIG_KEY not in model.get_layer(-1).config:
        raise NotCompiledError("the model's last layer is not compiled for learning; call "
                               "model.compile(Competitive(...)) first")
    return model.get_layer(-1)


def optimizer(model):
    """The :class:`Competitive` options of a compiled model (a new object)."""
    return Competitive.from_config(learning_layer(model).config[CONFIG_KEY])


def compile_model(model, rule):
    """Make the last layer of ``model`` learnable with ``rule`` (see ``Model.compile``)."""
    if not isinstance(rule, Competitive):
        raise TypeError(f"compile expects a spikelearn.learning.Competitive optimizer, got "
                        f"{type(rule).__name__}")
    if len(model) < 2:
        raise LearningError("Competitive: the model needs an input layer and a FullyConnected "
                            "learning layer")
    layer = model.get_layer(-1)
    where = f"Competitive: learning layer {layer.name!r}"
    if not isinstance(layer, FullyConnected):
        raise LearningError(f"{where} must be a FullyConnected layer, got {type(layer).__name__}")
    if layer.config["weight_bits"] != 1:
        raise LearningError(f"{where} must have binary weights (weight_bits=1), got "
                            f"weight_bits={layer.config['weight_bits']}")
    previous = model.get_layer(-2)
    if previous.activation_bits != 1:
        raise LearningError(f"{where} needs binary inputs: layer {previous.name!r} outputs "
                            f"{previous.activation_bits}-bit levels, not 1-bit spikes")
    if CONFIG_KEY in layer.config:
        raise LearningError(f"{where} is already compiled; a model is compiled only once")
    rule = Competitive.from_config(rule.get_config())  # the caller's object stays untouched
    state = rule.initial_state(layer.variables["weights"].shape[0], layer.config["units"])
    layer.set_variable("bias", np.zeros(layer.config["units"], np.int32))
    _store(layer, rule, state)


def fit_model(model, x, labels):
    """Learn a batch (see ``Model.fit``); returns the pre-update potentials (n, units)."""
    layer = learning_layer(model)
    rule = optimizer(model)
    x = model.check_input(x)
    labels = check_labels(labels, x.shape[0], int(rule.num_classes))
    spikes = model.forward(x, until=-2).reshape(x.shape[0], -1)
    spikes = check_spikes(spikes, layer.variables["weights"].shape[0])
    return rule.learn(_state(layer), spikes, labels)


def add_classes(model, num_new):
    """Append ``num_new`` classes of fresh neurons (see ``Model.add_classes``)."""
    layer = learning_layer(model)
    rule = optimizer(model)
    state = rule.add_classes(_state(layer), num_new)
    old_units = layer.config["units"]
    units = state["weights"].shape[1]
    added = units - old_units
    extended = {
        "bias": np.concatenate([layer.variables["bias"], np.zeros(added, np.int32)]),
        "output_scale": np.concatenate([layer.variables["output_scale"],
                                        np.ones(added, np.float32)]),
    }
    if "thresholds" in layer.variables:
        thresholds = layer.variables["thresholds"]
        default = np.arange(1, thresholds.shape[1] + 1, dtype=np.int32)
        extended["thresholds"] = np.concatenate([thresholds, np.tile(default, (added, 1))])
    layer.config["units"] = units
    layer.output_shape = (1, 1, units)
    layer.variables.update(extended)
    _store(layer, rule, state)


def class_bonus(model):
    """int64 (num_classes,): ``new_class_bonus`` for the classes added after compile, 0 for
    the others (see ``Competitive(new_class_bonus=)``); None for a model not compiled."""
    if model.num_classes is None:
        return None
    config = learning_layer(model).config[CONFIG_KEY]
    bonus = np.zeros(int(config["num_classes"]), np.int64)
    bonus[int(config.get("base_classes", len(bonus))):] = int(config.get("new_class_bonus", 0))
    return bonus


def set_readout_option(model, name, value):
    """Change an option of the compiled rule that only changes the class readout,
    ``"score_neurons"`` or ``"new_class_bonus"`` (see the ``Model`` properties of these
    names), validated like at compile."""
    layer = learning_layer(model)
    rule = optimizer(model)
    setattr(rule, name, value)
    rule.validate(layer.variables["weights"].shape[0], layer.config["units"])
    layer.config[CONFIG_KEY][name] = int(value)


def _state(layer):
    """The learning state of ``layer`` as a dict of its (shared, not copied) arrays."""
    return {name: layer.variables[name] for name in ("weights", *STATE_NAMES)
            if name in layer.variables}


def _store(layer, rule, state):
    """Write the state arrays and the JSON-serialisable options to ``layer``, with
    ``base_classes``: the classes at compile, kept by later calls (a file written before it
    existed counts the classes it had as compiled ones)."""
    previous = layer.config.get(CONFIG_KEY)
    base = int(rule.num_classes) if previous is None else \
        previous.get("base_classes", previous["num_classes"])
    layer.set_variable("weights", state["weights"])
    for name in STATE_NAMES:
        if name in state:
            layer.variables[name] = state[name]
    config = rule.get_config()
    config.update(
        num_weights=int(config["num_weights"]),
        num_classes=int(config["num_classes"]),
        recruit=bool(config["recruit"]),
        rewire=str(config["rewire"]),
        score_neurons=int(config["score_neurons"]),
        new_class_bonus=int(config["new_class_bonus"]),
        seed=int(config["seed"]),
        **{name: float(config[name]) for name in FLOAT_OPTIONS},
    )
    layer.config[CONFIG_KEY] = {"rule": "Competitive", **config, "base_classes": int(base)}
