"""C export: the compiled C99 engine is bit-exact with the Python engine and learning rule."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from spikelearn import Model
from spikelearn.export import DEFAULT_EXTRA_CLASSES, Harness, export_c, footprint, pack_values
from spikelearn.export.c_export import HEADER, SOURCE
from spikelearn.layers import (
    Conv2D,
    FullyConnected,
    InputConv2D,
    InputData,
    Layer,
    SeparableConv2D,
)
from spikelearn.layers.base import weight_range
from spikelearn.layers.reference import reference_call
from spikelearn.learning import Competitive

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None,
                               reason="gcc is not installed: the C export cannot be compiled")
ZOO_FILES = [Path(__file__).parents[1] / "spikelearn/zoo/pretrained/ds_cnn_kws.slm",
             Path("/tmp/zoo/full/ds_cnn_kws.slm")]


def randomize(model, x, seed):
    """Random weights and biases; thresholds at quantiles of each channel's potentials on ``x``
    so that every level occurs."""
    rng = np.random.default_rng(seed)
    levels = x
    for layer in model.layers:
        bits = layer.config.get("weight_bits")
        if bits is not None and "learning" not in layer.config:
            low, high = weight_range(bits)
            for name in ("weights", "depthwise", "pointwise"):
                if name in layer.variables:
                    shape = layer.variables[name].shape
                    layer.set_variable(name, rng.integers(low, high + 1, shape))
            layer.set_variable("bias", rng.integers(-20, 21, layer.variables["bias"].shape))
            if layer.activation_bits is not None:
                saved = layer.config["activation_bits"]
                layer.config["activation_bits"] = None
                potentials = reference_call(layer, levels)
                layer.config["activation_bits"] = saved
                count = 2**saved - 1
                quantiles = np.linspace(0.3, 0.95, count)
                flat = potentials.reshape(-1, potentials.shape[-1])
                thresholds = np.quantile(flat, quantiles, axis=0).T.round().astype(np.int64)
                layer.set_variable("thresholds", np.maximum.accumulate(thresholds, axis=1))
        levels = layer.call(levels)
    return model


def zoo_like(seed=0, extra_units=0):
    """DS-CNN structure of the zoo, small: input conv, separable, separable + global sum."""
    model = Model([
        InputConv2D((12, 6, 1), 8, 3, strides=2, weight_bits=8, activation_bits=4),
        SeparableConv2D(8, 3, weight_bits=4, activation_bits=4),
        SeparableConv2D(24, 3, weight_bits=4, activation_bits=1, pool="global_avg"),
        FullyConnected(12 + extra_units, weight_bits=1),
    ])
    x = np.random.default_rng(seed).integers(0, 256, (40, 12, 6, 1), dtype=np.uint8)
    randomize(model, x, seed)
    return model, x


def other_layers(seed=1):
    """2-bit input conv with 'same' max pooling, 1-bit 'valid' Conv2D, hidden 4-bit dense."""
    model = Model([
        InputConv2D((9, 8, 2), 6, 3, weight_bits=2, activation_bits=2, pool="max",
                    pool_size=3, pool_stride=2, pool_padding="same"),
        Conv2D(8, 2, padding="valid", weight_bits=1, activation_bits=4),
        FullyConnected(20, weight_bits=4, activation_bits=1),
        FullyConnected(8, weight_bits=1),
    ])
    x = np.random.default_rng(seed).integers(0, 256, (40, 9, 8, 2), dtype=np.uint8)
    randomize(model, x, seed)
    return model, x


def export_and_build(model, tmp_path, **options):
    export_c(model, tmp_path, harness=True, **options)
    return Harness(tmp_path)


def run_learning(model, harness, x, labels, add):
    """Fit in Python and in C (add_classes first); return (Python layer, C answers)."""
    harness.init()
    for _ in range(add):
        harness.add_class()
    harness.learn(x, labels)
    harness.dump_state()
    harness.forward(x)
    harness.predict_class(x)
    answers = harness.run()
    classes = [answers.int32() for _ in range(add)]
    winners = [answers.int32() for _ in x]
    layer = model.get_layer(-1)
    words = -(-layer.variables["weights"].shape[0] // 32)
    if add:
        model.add_classes(add)
    state = answers.state(words, layer.variables["weights"].shape[0])
    model.fit(x, labels)
    forward = np.array([answers.forward() for _ in x])
    predicted = np.array([answers.int32() for _ in x])
    return layer, classes, winners, state, forward, predicted


def assert_same_learning_state(state, layer):
    """The C state dump equals the Python learning state (activity counters included)."""
    names = ["weights", "vigilance", "budget", "wins", "rng_counter"]
    assert ("activity" in state) == ("activity" in layer.variables)
    if "activity" in layer.variables:
        names.append("activity")
    for name in names:
        np.testing.assert_array_equal(state[name], layer.variables[name], err_msg=name)


@needs_gcc
@pytest.mark.parametrize("rewire", ["sample", "frequent"])
@pytest.mark.parametrize("build, options", [
    (zoo_like, dict(num_weights=5, num_classes=3, learning_competition=0.1, seed=3)),
    (other_layers, dict(num_weights=4, num_classes=2, recruit=True, seed=2**40 + 9,
                        initial_plasticity=0.6, plasticity_decay=0.1)),
])
def test_forward_and_few_shot_learning_are_bit_exact(build, options, rewire, tmp_path):
    model, x = build()
    rule = Competitive(**options, rewire=rewire)
    model.compile(rule)
    harness = export_and_build(model, tmp_path, extra_classes=2)
    classes = int(rule.num_classes)
    labels = np.random.default_rng(4).integers(-1, classes + 2, len(x))
    before = model.forward(x).reshape(len(x), -1)
    harness.init()
    harness.forward(x)
    answers = harness.run()
    np.testing.assert_array_equal(np.array([answers.forward() for _ in x]), before)

    layer, added, winners, state, forward, predicted = run_learning(model, harness, x, labels, 2)
    assert added == [classes + 1, classes + 2]
    assert state["num_classes"] == model.num_classes == classes + 2
    assert_same_learning_state(state, layer)
    assert layer.variables["rng_counter"][0] > 0  # connections really moved
    assert sum(w >= 0 for w in winners) == int(layer.variables["wins"].sum())
    np.testing.assert_array_equal(forward, model.forward(x).reshape(len(x), -1))
    np.testing.assert_array_equal(predicted, model.predict_classes(x))


def decided_by_the_best_neuron(model, x):
    """Samples whose classes tie on the top ``score_neurons`` sum and whose winner is not the
    lowest tied index (the best neuron decides)."""
    k, classes = model.score_neurons, model.num_classes
    out = model.forward(x).reshape(len(x), classes, -1)
    sums = np.sort(out, axis=2)[:, :, -k:].sum(axis=2)
    tied = sums == sums.max(axis=1, keepdims=True)
    return (tied.sum(axis=1) > 1) & (model.predict_classes(x) != tied.argmax(axis=1))


@needs_gcc
def test_predict_class_scores_the_top_neurons_of_each_class(tmp_path):
    model = Model([InputData((1, 1, 24), input_bits=1), FullyConnected(15, weight_bits=1)])
    model.compile(Competitive(num_weights=6, num_classes=3, score_neurons=3, seed=0))
    rng = np.random.default_rng(0)
    x = (rng.random((60, 1, 1, 24)) < 0.35).astype(np.uint8)
    labels = rng.integers(0, 4, 30)
    harness = export_and_build(model, tmp_path, extra_classes=1)
    assert "#define SLM_SCORE_NEURONS 3" in (tmp_path / HEADER).read_text()
    harness.init()
    harness.add_class()
    harness.learn(x[:30], labels)
    harness.predict_class(x)
    answers = harness.run()
    assert answers.int32() == 4
    model.add_classes(1)
    model.fit(x[:30], labels)
    winners = [answers.int32() for _ in labels]
    assert sum(w >= 0 for w in winners) == int(model.get_layer(-1).variables["wins"].sum())
    predicted = np.array([answers.int32() for _ in x])
    expected = model.predict_classes(x)
    np.testing.assert_array_equal(predicted, expected)
    # the data exercises the new rule: the max rule decides differently on some samples, and
    # on some the best neuron breaks a tie of the sums towards a higher class index
    assert np.any(expected != model.predict_classes(x, score_neurons=1))
    assert np.any(decided_by_the_best_neuron(model, x))


@needs_gcc
def test_uncompiled_model_with_potentials_and_output_scale(tmp_path):
    model = Model([
        InputData((6, 5, 2), input_bits=4),
        Conv2D(4, 2, weight_bits=8, activation_bits=2, pool="max", pool_size=2),
        FullyConnected(5, weight_bits=8),
    ])
    x = np.random.default_rng(7).integers(0, 16, (30, 6, 5, 2), dtype=np.uint8)
    randomize(model, x, 7)
    model.get_layer(-1).set_variable("output_scale", [0.5, 2.0, 1.0, 0.25, 3.0])
    harness = export_and_build(model, tmp_path)
    harness.forward(x)
    harness.predict_class(x)
    harness.learn(x[:1], [0])
    harness.add_class()
    answers = harness.run()
    np.testing.assert_array_equal(np.array([answers.forward() for _ in x]),
                                  model.forward(x).reshape(len(x), -1))
    np.testing.assert_array_equal([answers.int32() for _ in x], model.predict_classes(x))
    assert answers.int32() == answers.int32() == -5  # SLM_ERROR_NOT_COMPILED


@needs_gcc
def test_spatial_potentials_output_and_levels_output(tmp_path):
    potentials = Model([InputData((5, 4, 3)), SeparableConv2D(2, 3, activation_bits=None)])
    levels = Model([InputData((5, 4, 3)), Conv2D(3, 3, strides=2, activation_bits=4)])
    x = np.random.default_rng(8).integers(0, 256, (10, 5, 4, 3), dtype=np.uint8)
    for index, model in enumerate((potentials, levels)):
        randomize(model, x, index)
        harness = export_and_build(model, tmp_path / str(index))
        harness.forward(x)
        answers = harness.run()
        np.testing.assert_array_equal(np.array([answers.forward() for _ in x]),
                                      model.forward(x).reshape(len(x), -1))


@needs_gcc
def test_learning_errors_leave_the_state_unchanged(tmp_path):
    model = Model([InputData((1, 1, 16), input_bits=1), FullyConnected(4, weight_bits=1)])
    model.compile(Competitive(num_weights=3, num_classes=2, seed=0))
    harness = export_and_build(model, tmp_path, extra_classes=0)
    spikes = np.ones((1, 1, 1, 16), np.uint8)
    harness.init()
    harness.learn(spikes, [2])  # label out of range
    harness.learn(spikes * 2, [0])  # not a spike
    harness.add_class()  # no room left
    harness.dump_state()
    harness.forward(spikes * 2)
    answers = harness.run()
    assert [answers.int32() for _ in range(3)] == [-2, -3, -4]
    state = answers.state(1, 16)
    layer = model.get_layer(-1)
    for name in ("weights", "vigilance", "budget", "wins", "rng_counter"):
        np.testing.assert_array_equal(state[name], layer.variables[name], err_msg=name)
    assert answers.forward() is None


@needs_gcc
@pytest.mark.skipif(not any(path.exists() for path in ZOO_FILES),
                    reason="no pretrained ds_cnn_kws model file on this machine")
def test_zoo_model_is_bit_exact_and_fits_its_footprint(tmp_path):
    model = Model(next(path for path in ZOO_FILES if path.exists()))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, *model.input_shape), dtype=np.uint8)
    harness = export_and_build(model, tmp_path)
    harness.state_size()
    answers = harness.run()
    assert answers.int32() == footprint(model)["ram"]["total"]
    classes = model.num_classes
    labels = np.concatenate([np.full(6, classes), np.full(6, classes + 1)])
    layer, _, _, state, forward, predicted = run_learning(model, harness, x, labels, 2)
    assert_same_learning_state(state, layer)
    np.testing.assert_array_equal(forward, model.forward(x).reshape(len(x), -1))
    np.testing.assert_array_equal(predicted, model.predict_classes(x))


def test_pack_values_layout():
    assert pack_values([-1, 2, 7, -7], 4).tolist() == [0x2F, 0x97]
    assert pack_values([1, -1, 0, 1, -1], 2).tolist() == [0b01001101, 0b11]
    assert pack_values([1, 0, 0, 1, 1, 0, 0, 0, 1], 1).tolist() == [0b00011001, 1]
    assert pack_values([-127, 127], 8).tolist() == [0x81, 0x7F]
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_values([8], 4)
    with pytest.raises(ValueError, match="bits must be"):
        pack_values([1], 3)


def test_footprint_arithmetic_of_a_tiny_model(tmp_path):
    model = Model([InputData((2, 2, 1)), FullyConnected(3, weight_bits=4)])
    sizes = footprint(model)
    # 12 weights x 4 bits = 6 bytes; 3 int32 biases = 12 bytes
    assert sizes["flash"] == {"weights": 6, "biases_thresholds": 12, "learning": 0,
                              "output_scale": 0, "total": 18}
    # output 3 x int32 + accumulators 3 x int32 + 2 x 1-byte level buffers, 4-byte aligned
    assert sizes["ram"]["total"] == 28  # 12 + 12 + 2 rounded up to 4
    result = export_c(model, tmp_path)
    assert result["footprint"] == sizes
    source = (tmp_path / SOURCE).read_text()
    assert "fully_connected_1 (FullyConnected): weights (4x3) 4-bit two's complement" in source
    assert "#define SLM_LEARNING 0" in (tmp_path / HEADER).read_text()
    assert "#define SLM_SCORE_NEURONS 1" in (tmp_path / HEADER).read_text()


def test_footprint_of_the_learning_state():
    model = Model([InputData((1, 1, 40), input_bits=1), FullyConnected(6, weight_bits=1)])
    model.compile(Competitive(num_weights=5, num_classes=3, seed=1))
    ram = footprint(model, extra_classes=1)["ram"]
    capacity = 8  # (3 + 1) classes x 2 neurons
    assert ram["masks"] == capacity * 2 * 4  # 40 inputs -> 2 uint32 words per neuron
    assert ram["vigilance_budget"] == 2 * 2 * capacity
    assert ram["learning_state"] == 64 + 4 * capacity + 8 + 32 + 4
    assert footprint(model)["ram"]["masks"] == (3 + DEFAULT_EXTRA_CLASSES) * 2 * 8
    flash = footprint(model)["flash"]
    assert flash["learning"] == 6 * 8 + 6 * 2 * 2 + 6 * 4  # masks, vigilance+budget, wins
    assert ram["activity"] == 0
    frequent = Model([InputData((1, 1, 40), input_bits=1), FullyConnected(6, weight_bits=1)])
    frequent.compile(Competitive(num_weights=5, num_classes=3, seed=1, rewire="frequent"))
    sizes = footprint(frequent, extra_classes=1)
    assert sizes["ram"]["activity"] == capacity * 40 * 4  # int32 counter per neuron and input
    assert sizes["ram"]["learning_state"] == ram["learning_state"] + capacity * 40 * 4
    assert sizes["ram"]["total"] == ram["total"] + capacity * 40 * 4
    assert sizes["flash"]["learning"] == flash["learning"] + 6 * 40 * 4


def test_unsupported_layer_and_bad_options_raise(tmp_path):
    class Strange(Layer):
        def variable_specs(self):
            return {}

        def _output_shape(self, input_shape):
            return input_shape

    model = Model([InputData((2, 2, 1))])
    model.add(Strange(name="odd"))
    with pytest.raises(ValueError, match="'odd' of type Strange is not supported"):
        export_c(model, tmp_path)
    with pytest.raises(ValueError, match="extra_classes"):
        footprint(Model([InputData((2, 2, 1))]), extra_classes=-1)
    with pytest.raises(ValueError, match="no layers"):
        footprint(Model())


def test_score_neurons_define_and_its_check(tmp_path):
    model = Model([InputData((1, 1, 10), input_bits=1), FullyConnected(6, weight_bits=1)])
    model.compile(Competitive(num_weights=3, num_classes=2, score_neurons=2, seed=0))
    export_c(model, tmp_path / "two")
    assert "#define SLM_SCORE_NEURONS 2" in (tmp_path / "two" / HEADER).read_text()
    learning = model.get_layer(-1).config["learning"]
    del learning["score_neurons"]  # a file written before the option: one neuron
    export_c(model, tmp_path / "old")
    assert "#define SLM_SCORE_NEURONS 1" in (tmp_path / "old" / HEADER).read_text()
    for bad in (0, 4):
        learning["score_neurons"] = bad
        with pytest.raises(ValueError, match=r"score_neurons must be an integer in \[1, 3\]"):
            export_c(model, tmp_path / "bad")


@needs_gcc
@pytest.mark.parametrize("score_neurons, bonus", [(3, 2), (1, 1)])
def test_predict_class_adds_the_bonus_of_classes_added_after_compile(tmp_path, score_neurons,
                                                                     bonus):
    model = Model([InputData((1, 1, 24), input_bits=1), FullyConnected(15, weight_bits=1)])
    model.compile(Competitive(num_weights=6, num_classes=3, score_neurons=score_neurons,
                              new_class_bonus=bonus, seed=0))
    rng = np.random.default_rng(1)
    x = (rng.random((60, 1, 1, 24)) < 0.35).astype(np.uint8)
    labels = rng.integers(0, 5, 40)
    harness = export_and_build(model, tmp_path, extra_classes=2)
    header = (tmp_path / HEADER).read_text()
    assert "#define SLM_BASE_CLASSES 3" in header
    assert f"#define SLM_NEW_CLASS_BONUS {bonus}" in header
    harness.init()
    harness.add_class()
    harness.add_class()  # on the device: the two classes after compile get the bonus
    harness.learn(x[:40], labels)
    harness.predict_class(x)
    answers = harness.run()
    assert [answers.int32(), answers.int32()] == [4, 5]
    model.add_classes(2)
    model.fit(x[:40], labels)
    for _ in labels:
        answers.int32()  # the learning steps' winners
    expected = model.predict_classes(x)
    np.testing.assert_array_equal([answers.int32() for _ in x], expected)
    model.new_class_bonus = 0
    assert np.any(expected != model.predict_classes(x))  # the bonus decides some samples
