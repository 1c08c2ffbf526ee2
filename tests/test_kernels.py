"""The fused whole-model kernel: bit-exact against the layer-by-layer numpy reference."""

from __future__ import annotations

import copy as copy_module

import numpy as np
from engine_helpers import randomize_model
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelearn import Conv2D, FullyConnected, InputConv2D, InputData, Model, SeparableConv2D
from spikelearn import model as model_module
from spikelearn.layers.kernels import PLAN_FIELDS, _spaced_levels
from spikelearn.layers.reference import activate, reference_call
from spikelearn.model import _fused_plan

PLAN_SPACING = PLAN_FIELDS.index("spacing")


def randomize(model, rng):
    return randomize_model(model, rng, bias=40, thresholds=(-20, 150))


@st.composite
def model_cases(draw):
    """A random model the fused kernel accepts, its input and a layer to stop at."""
    h, w, cin = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(1, 3))
    bits = draw(st.sampled_from([1, 4, 8]))
    if draw(st.booleans()):
        layers = [InputData((h, w, cin), input_bits=bits)]
    else:
        layers = [InputConv2D((h, w, cin), draw(st.integers(1, 6)), draw(st.integers(1, 4)),
                              strides=draw(st.integers(1, 2)), input_bits=bits,
                              weight_bits=draw(st.sampled_from([1, 2, 4, 8])),
                              activation_bits=draw(st.sampled_from([1, 2, 4])))]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([Conv2D, SeparableConv2D]))
        layers.append(kind(draw(st.integers(1, 6)), draw(st.integers(1, 3)),
                           strides=draw(st.integers(1, 2)),
                           padding=draw(st.sampled_from(["same", "valid"])),
                           weight_bits=draw(st.sampled_from([1, 2, 4])),
                           activation_bits=draw(st.sampled_from([1, 2, 4])),
                           pool=draw(st.sampled_from(["none", "none", "global_avg"]))))
    if draw(st.booleans()):  # the learning layer's format: 1-bit masks on 1-bit spikes
        layers[-1].config["activation_bits"] = 1 if layers[-1].activation_bits else bits
        layers.append(FullyConnected(draw(st.integers(1, 8)), weight_bits=1))
    else:
        layers.append(FullyConnected(draw(st.integers(1, 8)), weight_bits=4,
                                     activation_bits=draw(st.sampled_from([None, 2]))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    try:
        model = Model(layers)
    except ValueError:  # a 'valid' window larger than its input
        return None
    x = rng.integers(0, 2**model.input_bits, (draw(st.integers(1, 9)), h, w, cin))
    return randomize(model, rng), x.astype(np.uint8), draw(st.integers(-len(layers), -1))


@settings(max_examples=40, deadline=None)
@given(model_cases())
def test_fused_forward_matches_the_chained_reference(case):
    if case is None:
        return
    model, x, until = case
    stop = until % len(model)
    assert _fused_plan(model.layers[:stop + 1], model.input_bits) is not None
    expected = x
    for layer in model.layers[:stop + 1]:
        expected = reference_call(layer, expected)
    out = model.forward(x, until=until, batch_size=4)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)


def test_observing_runs_layer_by_layer_with_the_same_result():
    model = randomize(Model([InputConv2D((9, 6, 1), 8, 3, strides=2), SeparableConv2D(8),
                             SeparableConv2D(5, activation_bits=1, pool="global_avg"),
                             FullyConnected(4)]), np.random.default_rng(0))
    x = np.random.default_rng(1).integers(0, 256, (21, 9, 6, 1)).astype(np.uint8)
    seen = []
    out = model._run(x, observe=lambda index, inputs, outputs: seen.append(index))
    assert seen == [0, 1, 2, 3]
    np.testing.assert_array_equal(out, model.forward(x))
    assert model.statistics(x)["layers"]["fully_connected_3"]["input_sparsity"] >= 0


def test_models_float32_cannot_hold_exactly_fall_back_to_integer_kernels():
    wide = Model([InputData((4, 4, 64), input_bits=8),
                  Conv2D(4, 3, weight_bits=8, activation_bits=8), Conv2D(2, 3, weight_bits=8)])
    wide.get_layer(1).set_variable("weights", np.full((3, 3, 64, 4), 127))
    wide.get_layer(1).set_variable("thresholds", np.tile(np.arange(255) * 2**14, (4, 1)))
    wide.get_layer(2).set_variable("weights", np.full((3, 3, 4, 2), 127))
    assert _fused_plan(wide.layers, 8) is None  # 255 * 127 * 576 > 2**24
    x = np.full((2, 4, 4, 64), 255, np.uint8)
    expected = reference_call(wide.get_layer(2), reference_call(wide.get_layer(1), x))
    np.testing.assert_array_equal(wide.forward(x), expected)
    pooled = Model([InputConv2D((6, 6, 1), 3, 3, pool="max"), FullyConnected(2)])
    assert _fused_plan(pooled.layers, 8) is None


def spaced_thresholds(rng, channels, count, irregular):
    """int64 (channels, count): evenly spaced rows (steps 1 to 2**20, negative starts) with
    ``irregular`` rows that are arbitrary non-decreasing (repeats, equal and huge steps)."""
    first = rng.integers(-2**22, 2**10, channels)
    step = rng.choice([1, 1, 2, 3, 7, 100, 2**20], channels)
    rows = first[:, None] + step[:, None] * np.arange(count)
    for o in rng.choice(channels, irregular, replace=False):
        rows[o] = np.sort([rng.integers(-50, 50, count), np.full(count, rng.integers(-9, 9)),
                           rng.integers(-2**31, 2**31, count)][o % 3])
    return rows


def test_closed_form_levels_of_spaced_thresholds_match_counting():
    rng = np.random.default_rng(3)
    counted = 0
    for trial, irregular in enumerate([0, 1, 2, 5, 16]):
        model = Model([InputConv2D((7, 6, 2), 16, 3, input_bits=1),
                       SeparableConv2D(16, activation_bits=2),
                       Conv2D(16, 3, pool="global_avg", activation_bits=1),
                       FullyConnected(16, activation_bits=4)])
        for layer in model.layers:
            for name in ("weights", "depthwise", "pointwise"):
                if name in layer.variables:  # small potentials: every level and boundary
                    layer.set_variable(name, rng.integers(-1, 2, layer.variables[name].shape))
            count = 2**layer.activation_bits - 1
            thresholds = spaced_thresholds(rng, 16, count, irregular)
            layer.set_variable("thresholds", thresholds)
            positions = np.prod(layer._window(layer.input_shape)[1]) \
                if layer.config.get("pool") == "global_avg" else 1
            near = np.clip(thresholds[np.arange(16), rng.integers(0, count, 16)], -2**30, 2**30)
            layer.set_variable("bias", near // positions)
        plan = _fused_plan(model.layers, 1)[0]
        assert (plan[:, -2] >= 0).sum() == 4 or irregular > 4  # else irregular ones counted
        counted += plan[:, -1].sum()
        x = rng.integers(0, 2, (40, 7, 6, 2)).astype(np.uint8)
        expected = x
        for layer in model.layers:
            expected = reference_call(layer, expected)
            if layer.activation_bits == 4:
                assert len(np.unique(expected)) > 2, trial
        np.testing.assert_array_equal(model.forward(x, batch_size=16), expected)
    assert counted > 0


def test_spaced_levels_floor_negative_quotients():
    rng = np.random.default_rng(4)
    count, n = 15, 4096
    multiplier = rng.choice([1, 1, 2, 7, 32], n)
    start = rng.integers(-2**30, 2**30, n) * multiplier
    step = rng.choice([1, 2, 3, 7, 2**20], n) * rng.choice([1, 5, 31], n)
    thresholds = -(-(start[:, None] + step[:, None] * np.arange(count)) // multiplier[:, None])
    pot = thresholds[:, 0] + rng.integers(-3 * step, (count + 2) * step) // multiplier
    level = np.zeros(n, np.uint8)
    _spaced_levels(pot.astype(np.int32), *(v.astype(np.float64) for v in
                                           (multiplier, start, step)), count, level)
    np.testing.assert_array_equal(level, activate(pot, thresholds))
    assert 0 < level.mean() < count


def test_cached_plans_follow_every_change_of_the_layers(monkeypatch):
    monkeypatch.setattr(model_module, "_plans", {})
    rng = np.random.default_rng(5)
    model = randomize(Model([InputConv2D((6, 5, 1), 4, 3, weight_bits=8, activation_bits=4),
                             SeparableConv2D(4, 3, activation_bits=1, pool="global_avg"),
                             FullyConnected(3, weight_bits=4)]), rng)
    x = rng.integers(0, 256, (12, 6, 5, 1)).astype(np.uint8)

    def chained():
        out = x
        for layer in model.layers:
            out = reference_call(layer, out)
        return out

    np.testing.assert_array_equal(model.forward(x), chained())
    assert len(model_module._plans) == 1
    np.testing.assert_array_equal(model.forward(x, until=-2), model.layers[1].call(
        model.layers[0].call(x)))
    assert len(model_module._plans) == 2  # a plan per depth
    copy = copy_module.deepcopy(model)
    copy.forward(x)
    assert len(model_module._plans) == 2  # equal layers share a plan
    model.layers[-1].variables["weights"][0] += 1  # in place: no setter sees it
    np.testing.assert_array_equal(model.forward(x), chained())
    model.layers[0].set_variable("thresholds", model.layers[0].variables["thresholds"] + 7)
    np.testing.assert_array_equal(model.forward(x), chained())
    for _ in range(10):
        model.layers[0].set_variable("bias", model.layers[0].variables["bias"] + 1)
        np.testing.assert_array_equal(model.forward(x), chained())
    assert len(model_module._plans) <= model_module._PLAN_CACHE_SIZE


def test_float32_closed_form_is_exact_at_every_threshold():
    rng = np.random.default_rng(11)
    model = Model([InputConv2D((7, 6, 2), 16, 3, input_bits=1, activation_bits=4),
                   SeparableConv2D(16, activation_bits=2),
                   Conv2D(16, 3, activation_bits=4),
                   FullyConnected(16, activation_bits=4)])
    for layer in model.layers:
        for name in ("weights", "depthwise", "pointwise"):
            if name in layer.variables:
                layer.set_variable(name, rng.integers(-1, 2, layer.variables[name].shape))
        count = 2**layer.activation_bits - 1
        first = rng.integers(-6, 3, (16, 1))
        if isinstance(layer, Conv2D):  # fractional spacings: ceil((A + k D) / M)
            multiplier, step = rng.integers(2, 9, (16, 1)), rng.integers(1, 9, (16, 1))
            thresholds = -(-(first * multiplier + step * np.arange(count)) // multiplier)
        else:
            thresholds = first + rng.integers(1, 3, (16, 1)) * np.arange(count)
        layer.set_variable("thresholds", thresholds)
        layer.set_variable("bias", rng.integers(-2, 3, 16))
    plan = _fused_plan(model.layers, 1)[0]
    assert (plan[:, -1] >= 0).all()  # every layer takes the float32 closed form
    x = rng.integers(0, 2, (60, 7, 6, 2)).astype(np.uint8)
    expected = x
    for layer in model.layers:
        expected = reference_call(layer, expected)
        assert len(np.unique(expected)) > 2  # levels on both sides of several thresholds
    np.testing.assert_array_equal(model.forward(x, batch_size=16), expected)


def test_float32_closed_form_is_refused_when_it_could_round():
    model = Model([InputData((1, 1, 4), input_bits=8), FullyConnected(2, weight_bits=8,
                                                                      activation_bits=4)])
    model.layers[-1].set_variable("weights", np.full((4, 2), 127))
    model.layers[-1].set_variable("thresholds", np.arange(1, 16)[None] * np.array([[1], [2**23]]))
    plan = _fused_plan(model.layers, 8)[0]
    assert plan[-1, -1] == -1 and plan[-1, PLAN_SPACING] >= 0  # float64 form instead
    x = np.full((3, 1, 1, 4), 255, np.uint8)
    np.testing.assert_array_equal(model.forward(x),
                                  reference_call(model.layers[-1], reference_call(model.layers[0],
                                                                                  x)))


def test_depthwise_coverage_sums_the_depthwise_sums_of_every_position():
    rng = np.random.default_rng(4)
    for strides, padding in [(1, "same"), (2, "same"), (2, "valid"), (1, "valid")]:
        model = Model([InputData((7, 5, 3), input_bits=4),
                       SeparableConv2D(3, 3, strides=strides, padding=padding,
                                       weight_bits=8, activation_bits=None)])
        layer = model.get_layer(1)
        layer.set_variable("depthwise", rng.integers(-127, 128, (3, 3, 3)))
        layer.set_variable("pointwise", np.eye(3, dtype=np.int64))  # potentials = D + bias
        layer.set_variable("bias", np.zeros(3, np.int64))
        x = rng.integers(0, 16, (5, 7, 5, 3)).astype(np.uint8)
        depth_sums = reference_call(layer, x).sum(axis=(1, 2))
        expected = np.einsum("nhwc,hwc->nc", x.astype(np.int64), layer.depthwise_coverage())
        np.testing.assert_array_equal(depth_sums, expected)


def test_global_sums_that_int32_cannot_hold_are_not_fused():
    model = Model([InputData((25, 5, 64), input_bits=4),
                   SeparableConv2D(64, weight_bits=8, activation_bits=1, pool="global_avg")])
    layer = model.get_layer(1)
    layer.set_variable("depthwise", np.full((3, 3, 64), 127))
    layer.set_variable("pointwise", np.full((64, 64), 127))
    assert _fused_plan(model.layers, 4) is None  # 15 * 127 * 949 taps * 127 * 64 > 2**31
    layer.set_variable("pointwise", np.full((64, 64), 1))
    assert _fused_plan(model.layers, 4) is not None
