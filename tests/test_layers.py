"""Engine layers: numba kernels bit-exact against the numpy reference, activation semantics,
TF padding, pooling, variable validation."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import randomize_layer
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelearn.layers import (
    LAYER_CLASSES,
    Conv2D,
    FullyConnected,
    InputConv2D,
    InputData,
    SeparableConv2D,
    kernels,
)
from spikelearn.layers.base import weight_range, window_geometry
from spikelearn.layers.reference import reference_call


def randomize(layer, rng):
    """Random in-range weights, small biases and sorted random thresholds."""
    randomize_layer(layer, rng, bias=20, thresholds=(-10, 40))


def sparse_levels(rng, shape, bits, sparsity):
    levels = rng.integers(0, 2**bits, shape).astype(np.uint8)
    levels[rng.random(shape) < sparsity] = 0
    return levels


@st.composite
def layer_cases(draw):
    """A built layer with random variables and a random sparse input batch."""
    kind = draw(st.sampled_from(["InputConv2D", "Conv2D", "SeparableConv2D", "FullyConnected"]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    cin = draw(st.integers(1, 5))
    out = draw(st.integers(1, 6))
    activation_bits = draw(st.sampled_from([1, 2, 4, None]))
    weight_bits = draw(st.sampled_from([1, 2, 4, 8]))
    if kind == "FullyConnected":
        layer = FullyConnected(out, weight_bits=weight_bits, activation_bits=activation_bits)
    else:
        padding = draw(st.sampled_from(["same", "valid"]))
        kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        if padding == "valid":
            h, w = max(h, kernel[0]), max(w, kernel[1])
        pool = draw(st.sampled_from(["none", "max", "global_avg"]))
        if activation_bits is None and pool == "max":
            pool = "none"
        options = dict(strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                       padding=padding, weight_bits=weight_bits, activation_bits=activation_bits,
                       pool=pool, pool_size=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                       pool_stride=draw(st.sampled_from([None, 1, 2])),
                       pool_padding=draw(st.sampled_from(["same", "valid"])))
        if kind == "InputConv2D":
            layer = InputConv2D((h, w, cin), out, kernel, **options)
        else:
            layer = LAYER_CLASSES[kind](out, kernel, **options)
    try:
        layer.build((h, w, cin))
    except ValueError:  # pool window larger than a 'valid'-pooled output
        layer = FullyConnected(out, weight_bits=weight_bits, activation_bits=activation_bits)
        layer.build((h, w, cin))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    randomize(layer, rng)
    bits = draw(st.sampled_from([1, 2, 4, 8]))
    x = sparse_levels(rng, (draw(st.integers(1, 4)), h, w, cin), bits,
                      draw(st.sampled_from([0.0, 0.5, 0.9, 1.0])))
    return layer, x


@settings(max_examples=60, deadline=None)
@given(layer_cases())
def test_kernels_match_reference(case):
    layer, x = case
    out = layer.call(x)
    expected = reference_call(layer, x)
    assert out.dtype == (np.uint8 if layer.activation_bits else np.int32)
    assert out.shape == (x.shape[0], *layer.output_shape)
    np.testing.assert_array_equal(out, expected)


def one_by_one(thresholds, activation_bits, weight=1, bias=0):
    """A 1x1 Conv2D with one input and one output channel."""
    layer = Conv2D(1, 1, activation_bits=activation_bits)
    layer.build((1, 4, 1))
    layer.set_variable("weights", np.full((1, 1, 1, 1), weight))
    layer.set_variable("bias", np.array([bias]))
    layer.set_variable("thresholds", np.array([thresholds]))
    return layer


def test_activation_counts_reached_thresholds():
    layer = one_by_one([2, 4, 6], activation_bits=2)
    x = np.array([0, 3, 4, 9], np.uint8).reshape(1, 1, 4, 1)
    # P = 0, 3, 4, 9: thresholds reached 0, 1 (>=2), 2 (>=2, >=4), 3
    assert layer.call(x).ravel().tolist() == [0, 1, 2, 3]


def test_activation_with_equal_thresholds_jumps_levels():
    layer = one_by_one([3, 3, 3], activation_bits=2)
    x = np.array([2, 3, 4, 0], np.uint8).reshape(1, 1, 4, 1)
    assert layer.call(x).ravel().tolist() == [0, 3, 3, 0]


def test_one_bit_activation_is_a_spike_at_threshold():
    layer = one_by_one([5], activation_bits=1, weight=1, bias=-2)
    x = np.array([6, 7, 8, 255], np.uint8).reshape(1, 1, 4, 1)
    # P = x - 2 = 4, 5, 6, 253
    assert layer.call(x).ravel().tolist() == [0, 1, 1, 1]


def test_evenly_spaced_thresholds_match_the_closed_form():
    rng = np.random.default_rng(0)
    start, step, count = -7, 3, 15
    layer = one_by_one(start + step * np.arange(count), activation_bits=4, weight=-1, bias=20)
    x = rng.integers(0, 256, (50, 1, 4, 1)).astype(np.uint8)
    potentials = 20 - x.astype(np.int64)
    closed_form = np.clip(np.floor((potentials - start) / step) + 1, 0, count)
    np.testing.assert_array_equal(layer.call(x), closed_form)


@pytest.mark.parametrize(("size", "kernel", "stride", "padding", "expected"), [
    (49, 5, 2, "same", (25, 2)),
    (10, 5, 2, "same", (5, 1)),
    (5, 3, 1, "same", (5, 1)),
    (4, 2, 1, "same", (4, 0)),       # pad_total 1: nothing before, one after
    (6, 3, 2, "same", (3, 0)),       # pad_total 1
    (7, 3, 2, "valid", (3, 0)),
    (3, 5, 1, "same", (3, 2)),
])
def test_window_geometry_follows_tensorflow(size, kernel, stride, padding, expected):
    assert window_geometry(size, kernel, stride, padding) == expected


def test_same_padding_matches_tensorflow_conv():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    layer = Conv2D(3, (4, 3), strides=(2, 3), padding="same", activation_bits=None)
    layer.build((9, 8, 2))
    randomize(layer, rng)
    x = rng.integers(0, 16, (2, 9, 8, 2)).astype(np.uint8)
    expected = tf.nn.conv2d(x.astype(np.float32), layer.variables["weights"].astype(np.float32),
                            strides=(1, 2, 3, 1), padding="SAME").numpy() + layer.variables["bias"]
    np.testing.assert_array_equal(layer.call(x), expected.astype(np.int32))


def test_max_pool_padding_never_wins():
    layer = Conv2D(1, 1, activation_bits=1, pool="max", pool_size=(1, 3), pool_stride=(1, 2),
                   pool_padding="same")
    layer.build((1, 4, 1))
    layer.set_variable("thresholds", np.array([[-1]]))  # every real position spikes
    out = layer.call(np.zeros((1, 1, 4, 1), np.uint8))
    assert out.shape == (1, 1, 2, 1) and out.ravel().tolist() == [1, 1]


def test_global_avg_sums_potentials_with_bias_before_activation():
    layer = Conv2D(1, 1, activation_bits=None, pool="global_avg")
    layer.build((2, 3, 1))
    layer.set_variable("weights", np.full((1, 1, 1, 1), 2))
    layer.set_variable("bias", np.array([1]))
    x = np.arange(6, dtype=np.uint8).reshape(1, 2, 3, 1)
    assert layer.output_shape == (1, 1, 1)
    assert layer.call(x).ravel().tolist() == [2 * 15 + 6]


def test_separable_depthwise_sums_are_not_requantized():
    layer = SeparableConv2D(1, 1, activation_bits=1, weight_bits=4)
    layer.build((1, 1, 2))
    layer.set_variable("depthwise", np.array([[[7, -7]]]))
    layer.set_variable("pointwise", np.array([[7], [1]]))
    layer.set_variable("thresholds", np.array([[7 * 7 * 15 - 7 * 15]]))
    x = np.array([15, 15], np.uint8).reshape(1, 1, 1, 2)
    assert layer.call(x).item() == 1
    layer.set_variable("thresholds", np.array([[7 * 7 * 15 - 7 * 15 + 1]]))
    assert layer.call(x).item() == 0


def test_fully_connected_flattens_in_nhwc_order():
    layer = FullyConnected(1, weight_bits=8)
    layer.build((1, 2, 3))
    layer.set_variable("weights", np.arange(6).reshape(6, 1))
    x = np.zeros((1, 1, 2, 3), np.uint8)
    x[0, 0, 1, 2] = 1  # last element in NHWC order
    assert layer.call(x).item() == 5


def test_build_allocates_default_variables():
    layer = SeparableConv2D(4, activation_bits=2)
    layer.build((5, 5, 3))
    assert layer.variables["depthwise"].shape == (3, 3, 3)
    assert layer.variables["pointwise"].dtype == np.int8
    np.testing.assert_array_equal(layer.variables["thresholds"], np.tile([1, 2, 3], (4, 1)))
    dense = FullyConnected(3)
    dense.build((2, 2, 1))
    assert set(dense.variables) == {"weights", "bias", "output_scale"}
    np.testing.assert_array_equal(dense.get_variable("output_scale"), np.ones(3, np.float32))


@pytest.mark.parametrize(("bits", "expected"), [(8, (-127, 127)), (4, (-7, 7)), (2, (-1, 1)),
                                                (1, (0, 1))])
def test_weight_ranges(bits, expected):
    assert weight_range(bits) == expected


@pytest.mark.parametrize(("name", "value", "message"), [
    ("kernel", np.zeros(3), "has no variable 'kernel'"),
    ("weights", np.zeros((1, 1, 2, 3), np.float32), "expected int8 values, got dtype float32"),
    ("weights", np.zeros((1, 1, 2, 4), int), "expected shape (1, 1, 2, 3), got (1, 1, 2, 4)"),
    ("weights", np.full((1, 1, 2, 3), 8), "values must lie in [-7, 7], got [8, 8]"),
    ("bias", np.full(3, 2**31), "values must lie in"),
    ("thresholds", np.array([[1, 0, 2]] * 3), "non-decreasing"),
])
def test_set_variable_rejects_bad_values(name, value, message):
    layer = Conv2D(3, 1, name="conv", activation_bits=2)
    layer.build((2, 2, 2))
    with pytest.raises(ValueError, match="layer 'conv'") as error:
        layer.set_variable(name, value)
    assert message in str(error.value)


def test_one_bit_weights_are_unsigned_masks():
    layer = FullyConnected(2, weight_bits=1)
    layer.build((1, 1, 2))
    layer.set_variable("weights", np.array([[True, False], [False, True]]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        layer.set_variable("weights", -np.ones((2, 2), int))


def test_get_and_set_before_build():
    layer = Conv2D(2, 3, name="c")
    with pytest.raises(ValueError, match="not built"):
        layer.set_variable("weights", np.zeros((3, 3, 1, 2)))
    with pytest.raises(ValueError, match="has no variable 'bias'"):
        layer.get_variable("bias")


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Conv2D(0, 3), "filters"),
    (lambda: Conv2D(2, 0), "kernel_size"),
    (lambda: Conv2D(2, (1, 2, 3)), "kernel_size"),
    (lambda: Conv2D(2, 3, padding="full"), "padding"),
    (lambda: Conv2D(2, 3, pool="avg"), "pool"),
    (lambda: Conv2D(2, 3, weight_bits=3), "weight_bits"),
    (lambda: SeparableConv2D(2, activation_bits=3), "activation_bits"),
    (lambda: Conv2D(2, 3, activation_bits=None, pool="max"), "pool='max'"),
    (lambda: FullyConnected(0), "units"),
    (lambda: InputData((4, 4)), "input_shape"),
    (lambda: InputData((4, 4, 1), input_bits=9), "input_bits"),
    (lambda: InputConv2D((4, 4, 1), 2, 3, input_bits=0), "input_bits"),
    (lambda: Conv2D(2, 3, name=""), "name"),
])
def test_constructor_rejects_bad_options(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_valid_padding_too_small_input():
    with pytest.raises(ValueError, match="smaller than the kernel"):
        Conv2D(2, 5, padding="valid", name="c").build((3, 8, 1))


@pytest.mark.parametrize("layer", [
    InputData((3, 4, 2), input_bits=1),
    InputConv2D((8, 8, 1), 4, 3, strides=2, pool="max", pool_size=2),
    Conv2D(4, (3, 1), padding="valid", weight_bits=2, activation_bits=1, pool="global_avg"),
    SeparableConv2D(5, 3, pool="max", pool_stride=1, pool_padding="same"),
    FullyConnected(7, weight_bits=1, name="head"),
])
def test_config_round_trip(layer):
    layer.config["learning"] = {"num_weights": 3}
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.get_config() is not clone.config


def test_jit_falls_back_without_a_cache_directory(monkeypatch):
    real_njit = kernels.numba.njit

    def njit_without_cache(*args, cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(*args, **options)

    monkeypatch.setattr(kernels.numba, "njit", njit_without_cache)

    @kernels._jit()
    def double(value):
        return 2 * value

    assert double(21) == 42


@pytest.mark.parametrize(("weight_bits", "high"), [(8, 255), (4, 15), (2, 3)])
def test_extreme_values_are_exact_on_narrow_and_wide_paths(weight_bits, high):
    """Full-scale inputs and weights: int16 products where they fit, int32 otherwise."""
    rng = np.random.default_rng(weight_bits)
    low_w, high_w = weight_range(weight_bits)
    for layer in (InputConv2D((6, 5, 3), 5, 3, weight_bits=weight_bits, activation_bits=None),
                  SeparableConv2D(5, 3, weight_bits=weight_bits, activation_bits=None)):
        layer.build((6, 5, 3))
        for name, spec in layer.variable_specs().items():
            if name != "bias":
                layer.set_variable(name, rng.choice([low_w, high_w], spec.shape))
        x = np.full((2, 6, 5, 3), high, np.uint8)
        np.testing.assert_array_equal(layer.call(x), reference_call(layer, x))
