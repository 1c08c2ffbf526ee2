"""Class scores from several neurons per class (``score_neurons``) and the tie-break."""

import numpy as np
import pytest

from spikelearn.errors import LearningError
from spikelearn.layers import FullyConnected, InputData
from spikelearn.learning import Competitive
from spikelearn.learning.scores import argmax_or_abstain, class_scores
from spikelearn.model import Model


def test_class_scores_average_the_best_neurons():
    outputs = np.array([[5, 1, 0, 4, 4, 4], [0, 0, 0, 2, 0, 0]])
    scores, maxima = class_scores(outputs, 2)
    np.testing.assert_array_equal(scores, [[5, 4], [0, 2]])
    np.testing.assert_array_equal(maxima, [[5, 4], [0, 2]])
    scores, maxima = class_scores(outputs, 2, score_neurons=2)
    np.testing.assert_array_equal(scores, [[3, 4], [0, 1]])
    np.testing.assert_array_equal(maxima, [[5, 4], [0, 2]])
    scores, _ = class_scores(outputs, 2, score_neurons=3)
    np.testing.assert_allclose(scores, [[2, 4], [0, 2 / 3]], rtol=1e-6)
    assert scores.dtype == np.float32


@pytest.mark.parametrize("value", [0, 4, 1.5, True])
def test_class_scores_reject_bad_score_neurons(value):
    with pytest.raises(ValueError, match=r"score_neurons must be an integer in \[1, 3\]"):
        class_scores(np.zeros((1, 6)), 2, score_neurons=value)


def test_class_scores_reject_a_non_divisor():
    with pytest.raises(ValueError, match="divisor of the 6 output neurons"):
        class_scores(np.zeros((1, 6)), 4)


def test_ties_go_to_the_higher_best_neuron_then_the_lowest_index():
    scores = np.array([[3, 3, 1], [2, 2, 2], [0, 1, 1]])
    maxima = np.array([[4, 5, 9], [1, 1, 1], [0, 2, 1]])
    np.testing.assert_array_equal(argmax_or_abstain(scores, tie_break=maxima), [1, 0, 1])
    np.testing.assert_array_equal(argmax_or_abstain(scores), [0, 0, 1])
    np.testing.assert_array_equal(argmax_or_abstain(scores, 1, tie_break=maxima), [-1, -1, -1])


def _two_class_model(score_neurons):
    """1-bit inputs (6) -> 6 neurons, 2 classes x 3 neurons, with hand-set connections."""
    model = Model([InputData((1, 1, 6), input_bits=1), FullyConnected(6, weight_bits=1)])
    model.compile(Competitive(2, 2, score_neurons=score_neurons, seed=0))
    weights = np.zeros((6, 6), np.int8)
    # class 0: one neuron on inputs 0-1, two on nothing useful; class 1: three on inputs 2-3
    for neuron, inputs in enumerate([(0, 1), (4, 5), (4, 5), (0, 2), (1, 3), (0, 3)]):
        weights[list(inputs), neuron] = 1
    model.get_layer(-1).variables["weights"][...] = weights
    return model


def test_model_uses_the_compiled_score_neurons():
    x = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]], np.uint8).reshape(2, 1, 1, 6)
    # potentials: sample 0 -> class 0 [2, 0, 0], class 1 [1, 1, 1];
    #             sample 1 -> class 0 [2, 0, 0], class 1 [2, 2, 2]
    best_neuron = _two_class_model(1)
    assert best_neuron.score_neurons == 1
    np.testing.assert_array_equal(best_neuron.class_scores(x), [[2, 1], [2, 2]])
    np.testing.assert_array_equal(best_neuron.predict_classes(x), [0, 0])
    several = _two_class_model(3)
    assert several.score_neurons == 3
    np.testing.assert_allclose(several.class_scores(x), [[2 / 3, 1], [2 / 3, 2]], rtol=1e-6)
    np.testing.assert_array_equal(several.predict_classes(x), [1, 1])
    # the call's own value wins over the compiled one
    np.testing.assert_array_equal(several.predict_classes(x, score_neurons=1), [0, 0])
    assert several.evaluate(x, np.array([1, 1])) == 1.0
    assert several.evaluate(x, np.array([1, 1]), score_neurons=1) == 0.0


def test_score_neurons_is_saved_with_the_model(tmp_path):
    model = _two_class_model(3)
    model.save(tmp_path / "m.slm")
    loaded = Model(tmp_path / "m.slm")
    assert loaded.score_neurons == 3
    x = (np.random.default_rng(0).random((20, 1, 1, 6)) < 0.5).astype(np.uint8)
    np.testing.assert_array_equal(loaded.predict_classes(x), model.predict_classes(x))


def test_a_file_without_score_neurons_reads_as_one(tmp_path):
    model = _two_class_model(1)
    del model.get_layer(-1).config["learning"]["score_neurons"]
    assert model.score_neurons == 1
    model.save(tmp_path / "old.slm")
    assert Model(tmp_path / "old.slm").score_neurons == 1


@pytest.mark.parametrize("value", [0, 4, 2.0, None])
def test_compile_rejects_score_neurons_beyond_a_class(value):
    model = Model([InputData((1, 1, 6), input_bits=1), FullyConnected(6, weight_bits=1)])
    with pytest.raises(LearningError, match=r"score_neurons must be an integer in \[1, 3\]"):
        model.compile(Competitive(2, 2, score_neurons=value))


def test_uncompiled_models_score_one_neuron_per_class():
    model = Model([InputData((1, 1, 4), input_bits=1), FullyConnected(4, weight_bits=1)])
    model.get_layer(-1).set_variable("weights", np.eye(4, dtype=np.int8))
    x = np.array([[1, 0, 0, 1]], np.uint8).reshape(1, 1, 1, 4)
    assert model.score_neurons == 1
    np.testing.assert_array_equal(model.class_scores(x, 2), [[1, 1]])
    np.testing.assert_array_equal(model.class_scores(x, 2, score_neurons=2), [[0.5, 0.5]])


def test_score_neurons_can_be_changed_after_learning():
    model = _two_class_model(1)
    x = (np.random.default_rng(0).random((30, 1, 1, 6)) < 0.5).astype(np.uint8)
    model.fit(x, np.arange(30) % 2)
    weights = model.get_layer(-1).variables["weights"].copy()
    model.score_neurons = 3
    assert model.get_layer(-1).config["learning"]["score_neurons"] == 3
    np.testing.assert_array_equal(model.predict_classes(x),
                                  model.predict_classes(x, score_neurons=3))
    np.testing.assert_array_equal(model.get_layer(-1).variables["weights"], weights)
    for bad in (0, 4, 2.5):
        with pytest.raises(LearningError, match="score_neurons"):
            model.score_neurons = bad
    assert model.score_neurons == 3


def test_score_neurons_needs_a_compiled_model():
    from spikelearn.errors import NotCompiledError

    model = Model([InputData((1, 1, 4), input_bits=1), FullyConnected(4, weight_bits=1)])
    with pytest.raises(NotCompiledError):
        model.score_neurons = 2


# -- new_class_bonus ------------------------------------------------------------------------------
def test_class_scores_add_the_bonus_to_the_sum_before_the_mean():
    outputs = np.array([[5, 1, 0, 4, 4, 4]])
    np.testing.assert_array_equal(class_scores(outputs, 2, bonus=[0, 2])[0], [[5, 6]])
    np.testing.assert_array_equal(class_scores(outputs, 2, 2, bonus=[1, 3])[0], [[3.5, 5.5]])
    with pytest.raises(ValueError, match=r"bonus must have shape \(2,\)"):
        class_scores(outputs, 2, bonus=[1, 2, 3])


def test_the_bonus_raises_only_the_classes_added_after_compile(tmp_path):
    model = _two_class_model(1)
    model.add_classes(1)  # class 2: neurons 6-8, fresh masks of two connections
    layer = model.get_layer(-1)
    layer.variables["weights"][:, 6:] = 0
    layer.variables["weights"][[0, 1], 6] = 1  # as good as class 0's best neuron on inputs 0-1
    x = np.array([[1, 1, 0, 0, 0, 0]], np.uint8).reshape(1, 1, 1, 6)
    np.testing.assert_array_equal(model.class_scores(x), [[2, 1, 2]])
    assert model.predict_classes(x).tolist() == [0]  # equal scores and best neurons: lowest
    model.new_class_bonus = 1
    assert layer.config["learning"]["base_classes"] == 2
    np.testing.assert_array_equal(model.class_scores(x), [[2, 1, 3]])
    assert model.predict_classes(x).tolist() == [2]
    per_neuron = model.class_scores(x, 9)  # not the compiled classes: no bonus
    np.testing.assert_array_equal(per_neuron, [[2, 0, 0, 1, 1, 1, 2, 0, 0]])
    model.save(tmp_path / "bonus.slm")
    loaded = Model(tmp_path / "bonus.slm")
    assert loaded.new_class_bonus == 1
    np.testing.assert_array_equal(loaded.class_scores(x), [[2, 1, 3]])
    loaded.add_classes(1)  # a later class gets it too, the compiled ones still do not
    loaded.get_layer(-1).variables["weights"][:, 9:] = 0
    np.testing.assert_array_equal(loaded.class_scores(x), [[2, 1, 3, 1]])


def test_new_class_bonus_is_checked_and_needs_a_compiled_model():
    from spikelearn.errors import NotCompiledError

    fresh = Model([InputData((1, 1, 6), input_bits=1), FullyConnected(6, weight_bits=1)])
    with pytest.raises(LearningError, match="new_class_bonus must be an integer >= 0"):
        fresh.compile(Competitive(2, 2, new_class_bonus=-1))
    model = _two_class_model(1)
    for bad in (-1, 0.5, True, "2"):
        with pytest.raises(LearningError, match="new_class_bonus must be an integer >= 0"):
            model.new_class_bonus = bad
    assert model.new_class_bonus == 0
    plain = Model([InputData((1, 1, 4), input_bits=1), FullyConnected(4, weight_bits=1)])
    assert plain.new_class_bonus == 0
    with pytest.raises(NotCompiledError):
        plain.new_class_bonus = 1


def test_a_file_without_the_bonus_reads_as_none_and_its_classes_as_compiled(tmp_path):
    model = _two_class_model(1)
    learning = model.get_layer(-1).config["learning"]
    del learning["new_class_bonus"], learning["base_classes"]
    model.save(tmp_path / "old.slm")
    loaded = Model(tmp_path / "old.slm")
    assert loaded.new_class_bonus == 0
    x = np.ones((1, 1, 1, 6), np.uint8)
    np.testing.assert_array_equal(loaded.class_scores(x), model.class_scores(x))
    loaded.add_classes(1)
    loaded.new_class_bonus = 2
    assert loaded.get_layer(-1).config["learning"]["base_classes"] == 2
    outputs = loaded.forward(x).reshape(3, 3).max(axis=1)
    np.testing.assert_array_equal(loaded.class_scores(x), [outputs + [0, 0, 2]])
