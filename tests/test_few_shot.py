"""Few-shot keyword learning from audio clips (:func:`spikelearn.few_shot.learn_words`)."""

from __future__ import annotations

import numpy as np
import pytest

from spikelearn import NotCompiledError, zoo
from spikelearn.few_shot import learn_words
from spikelearn.layers import FullyConnected, InputData
from spikelearn.model import Model


@pytest.fixture(scope="module")
def demo():
    return zoo.load_demo_data("ds_cnn_kws")


def _clips(demo, shots=2):
    return [demo["new_audio"][demo["new_labels"] == word][:shots] for word in range(2)]


def test_learn_words_adds_named_classes(demo):
    model = zoo.load("ds_cnn_kws")
    old_names = model.class_names
    result = learn_words(model, _clips(demo), names=["backward", "follow"], augmentations=3)
    assert result.labels == [33, 34]
    assert result.num_samples == 2 * 2 * 3
    assert model.num_classes == 35
    assert model.class_names == old_names + ["backward", "follow"]


def test_learn_words_names_unnamed_classes_and_learns_without_names(demo):
    model = zoo.load("ds_cnn_kws")
    model.class_names = None
    learn_words(model, _clips(demo, 1), augmentations=0)
    assert model.num_classes == 35 and model.class_names is None
    learn_words(model, _clips(demo, 1)[:1], names=["up2"], augmentations=0)
    assert model.class_names == [f"class_{index}" for index in range(35)] + ["up2"]


@pytest.mark.parametrize(("names", "match"), [
    (["yes", "follow"], "already name classes"),
    (["a"], "got 1 names for 2 words"),
    (["a", "a"], "must be distinct"),
])
def test_bad_names_raise_before_anything_is_learned(demo, names, match):
    model = zoo.load("ds_cnn_kws")
    weights = model.get_layer(-1).variables["weights"].copy()
    with pytest.raises(ValueError, match=match):
        learn_words(model, _clips(demo), names=names, augmentations=0)
    assert model.num_classes == 33
    np.testing.assert_array_equal(model.get_layer(-1).variables["weights"], weights)


def test_learn_words_needs_a_compiled_model_and_clips(demo):
    model = Model([InputData((49, 10, 1)), FullyConnected(4, weight_bits=1)])
    with pytest.raises(NotCompiledError, match="not compiled"):
        learn_words(model, _clips(demo), augmentations=0)
    with pytest.raises(ValueError, match="clips_per_word is empty"):
        learn_words(zoo.load("ds_cnn_kws"), [], augmentations=0)
