"""Learning through :class:`spikelearn.Model`: compile, fit, add_classes, save/load, predict
with abstain, introspection, and the nearest-class-mean baseline."""

import numpy as np
import pytest

from spikelearn.errors import LearningError, NotCompiledError
from spikelearn.layers import FullyConnected, InputData
from spikelearn.learning import (
    Competitive,
    choose_num_weights,
    learned_neurons,
    learning_histogram,
    plasticity,
    vigilance,
    win_counts,
)
from spikelearn.learning.baseline import clustered_spikes, nearest_centroid_accuracy
from spikelearn.learning.training import fit_model, optimizer
from spikelearn.model import Model

STATE = ("weights", "vigilance", "budget", "wins", "rng_counter")


def _model(units=6, inputs=(4, 4, 2), hidden=None, learning_activation=None):
    """InputData(1 bit) [-> hidden FullyConnected with 1-bit spikes] -> 1-bit FullyConnected."""
    layers = [InputData(inputs, input_bits=1)]
    if hidden is not None:
        layers.append(FullyConnected(hidden, weight_bits=4, activation_bits=1))
    layers.append(FullyConnected(units, weight_bits=1, activation_bits=learning_activation))
    model = Model(layers)
    if hidden is not None:
        rng = np.random.default_rng(0)
        model.get_layer(1).set_variable("weights", rng.integers(-7, 8, (int(np.prod(inputs)),
                                                                         hidden)))
    return model


def _inputs(n, shape=(4, 4, 2), seed=0, density=0.3):
    return (np.random.default_rng(seed).random((n, *shape)) < density).astype(np.uint8)


def _snapshot(model):
    layer = model.get_layer(-1)
    return {name: layer.variables[name].copy() for name in layer.variables}, \
        dict(layer.config["learning"])


def _assert_same_state(a, b):
    assert a[1] == b[1]
    assert a[0].keys() == b[0].keys()
    for name in a[0]:
        np.testing.assert_array_equal(a[0][name], b[0][name], err_msg=name)


# -- compile --------------------------------------------------------------------------------------
def test_compile_sets_seeded_masks_and_state():
    model = _model()
    model.get_layer(-1).set_variable("bias", np.full(6, 3))
    rule = Competitive(5, 3, initial_plasticity=0.6, seed=11)
    model.compile(rule)
    layer = model.get_layer(-1)
    np.testing.assert_array_equal(layer.variables["weights"].sum(axis=0), 5)
    np.testing.assert_array_equal(layer.variables["bias"], 0)
    np.testing.assert_array_equal(layer.variables["budget"], 3)
    assert layer.config["learning"] == {
        "rule": "Competitive", "num_weights": 5, "num_classes": 3, "initial_plasticity": 0.6,
        "learning_competition": 0.0, "min_plasticity": 0.1, "plasticity_decay": 0.25,
        "recruit": False, "rewire": "sample", "score_neurons": 1, "new_class_bonus": 0,
        "seed": 11, "base_classes": 3}
    other = _model()
    other.compile(Competitive(5, 3, initial_plasticity=0.6, seed=11))
    np.testing.assert_array_equal(other.get_layer(-1).variables["weights"],
                                  layer.variables["weights"])
    third = _model()
    third.compile(Competitive(5, 3, seed=12))
    assert not np.array_equal(third.get_layer(-1).variables["weights"], layer.variables["weights"])


def test_compile_does_not_modify_the_optimizer_and_stores_the_drawn_seed():
    rule = Competitive(4, 2)
    model = _model()
    model.compile(rule)
    assert rule.seed is None
    assert isinstance(optimizer(model).seed, int)


def _bad_models():
    conv_last = Model([InputData((4, 4, 2), input_bits=1),
                       FullyConnected(6, weight_bits=4, activation_bits=None)])
    eight_bit = Model([InputData((4, 4, 2), input_bits=8), FullyConnected(6, weight_bits=1)])
    hidden_4bit = Model([InputData((4, 4, 2), input_bits=1),
                         FullyConnected(8, weight_bits=4, activation_bits=4),
                         FullyConnected(6, weight_bits=1)])
    return [
        (Model([InputData((4, 4, 2), input_bits=1)]), Competitive(4, 1), "FullyConnected"),
        (conv_last, Competitive(4, 1), "weight_bits=1"),
        (eight_bit, Competitive(4, 1), "binary inputs"),
        (hidden_4bit, Competitive(4, 1), "binary inputs"),
        (_model(), Competitive(4, 4), "multiple"),
        (_model(), Competitive(33, 1), "num_weights"),
        (_model(), Competitive(0, 1), "num_weights"),
        (_model(), Competitive(4, 1, learning_competition=2), "learning_competition"),
    ]


@pytest.mark.parametrize("case", range(8))
def test_compile_errors_name_the_rule_and_leave_the_model_untouched(case):
    model, rule, message = _bad_models()[case]
    before = {name: value.copy() for name, value in model.get_layer(-1).variables.items()}
    with pytest.raises(LearningError, match=message):
        model.compile(rule)
    layer = model.get_layer(-1)
    assert "learning" not in layer.config
    assert before.keys() == layer.variables.keys()


def test_compile_twice_and_wrong_optimizer():
    model = _model()
    model.compile(Competitive(4, 2, seed=0))
    with pytest.raises(LearningError, match="already compiled"):
        model.compile(Competitive(4, 2, seed=0))
    with pytest.raises(TypeError, match="Competitive"):
        _model().compile("competitive")


def test_not_compiled_errors():
    model = _model()
    for call in (lambda: model.fit(_inputs(2), 0), lambda: model.add_classes(1),
                 lambda: win_counts(model), lambda: learning_histogram(model)):
        with pytest.raises(NotCompiledError, match="compile"):
            call()


# -- fit ------------------------------------------------------------------------------------------
def test_fit_runs_the_feature_extractor_and_matches_the_rule_on_plain_arrays():
    model = _model(units=8, hidden=40)
    model.compile(Competitive(10, 4, learning_competition=0.3, seed=3))
    x = _inputs(50)
    labels = np.random.default_rng(1).integers(-1, 4, 50)
    spikes = model.forward(x, until=-2).reshape(50, -1)
    assert 0 < spikes.mean() < 1
    layer = model.get_layer(-1)
    state = {name: layer.variables[name].copy() for name in STATE}
    expected = optimizer(model).learn(state, spikes, labels)
    assert model.fit(x[:20], labels[:20]) is model
    got = fit_model(model, x[20:], labels[20:])
    np.testing.assert_array_equal(got, expected[20:])
    for name in STATE:
        np.testing.assert_array_equal(layer.variables[name], state[name], err_msg=name)
    # the pre-update potentials of a sample equal what inference gives before learning it
    before_learning = model.forward(x[:1]).reshape(1, -1)
    np.testing.assert_array_equal(fit_model(model, x[:1], -1), before_learning)
    assert not np.array_equal(model.forward(x[:1]).reshape(1, -1), before_learning)


def test_fit_accepts_a_scalar_label_and_learning_activation():
    model = _model(units=4, learning_activation=1)
    model.compile(Competitive(6, 2, learning_competition=1.0, seed=0))
    model.fit(_inputs(10, density=0.6), 1)
    assert win_counts(model)[:2].sum() == 0 and win_counts(model)[2:].sum() == 10


@pytest.mark.parametrize(
    ("x", "labels", "error"),
    [
        (_inputs(3), [0, 1, 2], ValueError),
        (_inputs(3), [0, -2, 1], ValueError),
        (_inputs(3), np.array([0.0, 1.0, 0.0]), TypeError),
        (_inputs(3), [0, 1], ValueError),
        (_inputs(3) * 2, [0, 1, 0], ValueError),
        (_inputs(3).astype(np.int32), [0, 1, 0], ValueError),
    ],
)
def test_bad_fit_calls_learn_nothing(x, labels, error):
    model = _model(units=4)
    model.compile(Competitive(6, 2, seed=0))
    model.fit(_inputs(5, seed=3), [0, 1, 0, 1, -1])
    before = _snapshot(model)
    with pytest.raises(error):
        model.fit(x, labels)
    _assert_same_state(before, _snapshot(model))


# -- add_classes ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("activation", "rewire"), [(None, "sample"), (1, "sample"),
                                                     (None, "frequent")])
def test_add_classes_keeps_learned_neurons_bit_identical(activation, rewire):
    model = _model(units=6, learning_activation=activation)
    model.compile(Competitive(6, 3, rewire=rewire, seed=2))
    layer = model.get_layer(-1)
    if activation:
        layer.set_variable("thresholds", np.full((6, 1), 4))
    model.fit(_inputs(30, density=0.5), np.arange(30) % 3)
    before, _ = _snapshot(model)
    assert model.add_classes(2) is None
    assert layer.config["units"] == 10 and model.output_shape == (1, 1, 10)
    assert optimizer(model).num_classes == 5
    for name, value in before.items():
        now = layer.variables[name]
        old_part = {"rng_counter": now, "thresholds": now[:6]}.get(name, now[..., :6])
        np.testing.assert_array_equal(old_part, value, err_msg=name)
    np.testing.assert_array_equal(layer.variables["weights"][:, 6:].sum(axis=0), 6)
    np.testing.assert_array_equal(layer.variables["budget"][6:], 6)
    np.testing.assert_array_equal(layer.variables["wins"][6:], 0)
    np.testing.assert_array_equal(layer.variables["bias"][6:], 0)
    np.testing.assert_array_equal(layer.variables["output_scale"][6:], 1)
    if activation:
        np.testing.assert_array_equal(layer.variables["thresholds"][6:], 1)
    model.fit(_inputs(4, density=0.5), 4)  # a new label is accepted
    assert win_counts(model)[8:].sum() >= 1
    np.testing.assert_array_equal(win_counts(model)[:8], np.r_[before["wins"], 0, 0])
    assert model.predict_classes(_inputs(3), 5).shape == (3,)
    assert ("activity" in layer.variables) == (rewire == "frequent")
    with pytest.raises(ValueError, match="new classes"):
        model.add_classes(0)


# -- save / load ----------------------------------------------------------------------------------
@pytest.mark.parametrize("rewire", ["sample", "frequent"])
def test_saved_then_loaded_model_continues_learning_bit_identically(tmp_path, rewire):
    model = _model(units=8, hidden=40)
    model.compile(Competitive(10, 4, learning_competition=0.2, recruit=True,  # drawn seed
                              rewire=rewire))
    x = _inputs(60, seed=5)
    labels = np.random.default_rng(2).integers(-1, 4, 60)
    model.fit(x[:30], labels[:30])
    path = tmp_path / "learned.slm"
    model.save(path)
    loaded = Model(path)
    _assert_same_state(_snapshot(model), _snapshot(loaded))
    model.fit(x[30:], labels[30:])
    loaded.fit(x[30:], labels[30:])
    _assert_same_state(_snapshot(model), _snapshot(loaded))
    model.add_classes(1)
    loaded.add_classes(1)
    model.fit(x, 4)
    loaded.fit(x, 4)
    _assert_same_state(_snapshot(model), _snapshot(loaded))
    assert optimizer(loaded).rewire == rewire
    assert ("activity" in loaded.get_layer(-1).variables) == (rewire == "frequent")
    with pytest.raises(LearningError, match="already compiled"):
        loaded.compile(Competitive(10, 4))


# -- prediction with abstain ----------------------------------------------------------------------
def test_predict_classes_abstain():
    model = Model([InputData((1, 1, 6), input_bits=1), FullyConnected(4, weight_bits=1)])
    model.get_layer(-1).set_variable("weights", np.array(
        [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]))
    x = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [1, 0, 1, 0, 0, 0],
                  [0, 1, 0, 1, 1, 0]], np.uint8).reshape(4, 1, 1, 6)
    # class scores (2 neurons per class): [2, 0], [0, 0], [1, 1], [1, 2]
    np.testing.assert_array_equal(model.predict_classes(x, 2), [0, 0, 0, 1])
    np.testing.assert_array_equal(model.predict_classes(x, 2, abstain_margin=0), [0, -1, 0, 1])
    np.testing.assert_array_equal(model.predict_classes(x, 2, abstain_margin=1), [0, -1, -1, 1])
    np.testing.assert_array_equal(model.predict_classes(x, 2, abstain_margin=2), [0, -1, -1, -1])
    np.testing.assert_array_equal(model.predict_classes(x, 1, abstain_margin=5), [0, -1, 0, 0])
    np.testing.assert_array_equal(model.predict_classes(x, abstain_margin=1), [0, -1, -1, 3])
    for margin in (-1, "1", True):
        with pytest.raises(ValueError, match="abstain_margin"):
            model.predict_classes(x, 2, abstain_margin=margin)


# -- introspection --------------------------------------------------------------------------------
def test_introspection_reports_wins_plasticity_and_histogram():
    model = _model(units=6)
    model.compile(Competitive(32, 3, learning_competition=1.0, seed=0))
    ones = np.ones((3, 4, 4, 2), np.uint8)
    model.fit(ones, [2, 2, 0])
    np.testing.assert_array_equal(win_counts(model), [1, 0, 0, 0, 2, 0])
    np.testing.assert_array_equal(learned_neurons(model), [1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(learning_histogram(model), [1, 0, 1])
    np.testing.assert_array_equal(plasticity(model), [24, 32, 32, 32, 16, 32])
    np.testing.assert_array_equal(vigilance(model), 0)  # nothing moved: all inputs connected
    win_counts(model)[:] = 9  # copies, not views
    assert win_counts(model)[1] == 0


@pytest.mark.parametrize(
    ("spikes", "factor", "expected"),
    [
        (np.ones((3, 10)), 1.2, 10),
        ([[1, 1, 0, 0, 0], [1, 1, 1, 0, 0]], 1.2, 3),
        ([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], 1.0, 1),  # mean 0.5 rounds half up
        (np.zeros((2, 4)), 1.2, 1),
        (np.ones((2, 2, 2, 3)), 1.0, 12),
    ],
)
def test_choose_num_weights(spikes, factor, expected):
    assert choose_num_weights(spikes, factor) == expected


@pytest.mark.parametrize(("spikes", "factor"), [(np.zeros((0, 4)), 1.2), ([1, 0], 1.2),
                                                (np.ones((2, 4)), 0)])
def test_choose_num_weights_errors(spikes, factor):
    with pytest.raises(ValueError):
        choose_num_weights(spikes, factor)


# -- few-shot sanity against the baseline  --------------------------------------------------------
def test_few_shot_learning_beats_chance_and_is_close_to_nearest_centroid():
    x_train, y_train, x_test, y_test = clustered_spikes(5, 4, 40, input_size=128, seed=1)
    order = np.random.default_rng(0).permutation(len(y_train))
    model = Model([InputData((1, 1, 128), input_bits=1), FullyConnected(15, weight_bits=1)])
    model.compile(Competitive(choose_num_weights(x_train), 5, seed=0))
    model.fit(x_train[order].reshape(-1, 1, 1, 128), y_train[order])
    accuracy = model.evaluate(x_test.reshape(-1, 1, 1, 128), y_test, 5)
    baseline = nearest_centroid_accuracy(x_train, y_train, x_test, y_test)
    assert accuracy > 0.8 and baseline > 0.8
    assert learning_histogram(model).min() >= 1


def test_clustered_spikes_and_one_shot_baseline():
    first = clustered_spikes(3, 1, 4, input_size=32, seed=4)
    again = clustered_spikes(3, 1, 4, input_size=32, seed=4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    x_train, y_train, x_test, y_test = first
    assert x_train.shape == (3, 32) and x_test.shape == (12, 32) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(y_test, np.repeat([0, 1, 2], 4))
    assert nearest_centroid_accuracy(x_train, y_train, x_train, y_train) == 1.0


def test_compiled_model_scores_classes_by_default():
    model = _model(units=6)
    assert model.num_classes is None
    model.compile(Competitive(5, 3, seed=2))
    assert model.num_classes == 3
    x = _inputs(20, seed=4)
    model.fit(x, np.arange(20) % 3)
    np.testing.assert_array_equal(model.predict_classes(x), model.predict_classes(x, 3))
    assert set(model.predict_classes(x)) <= {0, 1, 2}
    model.add_classes(2)
    assert model.num_classes == 5
