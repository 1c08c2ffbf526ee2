"""Spike-threshold calibration: layer potentials and offset thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import randomize_model

from spikelearn import Conv2D, FullyConnected, InputConv2D, Model, SeparableConv2D
from spikelearn.calibration import layer_potentials, offset_spike_thresholds


def _inputs():
    return np.random.default_rng(1).integers(0, 256, (41, 9, 6, 1)).astype(np.uint8)


def _model(pool="none"):
    """A random model whose 1-bit layer (index 2) spikes for about half of ``_inputs()``."""
    model = randomize_model(Model([
        InputConv2D((9, 6, 1), 8, 3, strides=2),
        SeparableConv2D(8, pool=pool),
        Conv2D(6, 1, activation_bits=1, pool="global_avg"),
        FullyConnected(4, weight_bits=2),
    ]), np.random.default_rng(0), bias=30, thresholds=(0, 120))
    if pool == "none":
        potentials = layer_potentials(model, _inputs(), 2).reshape(-1, 6)
        median = np.median(potentials, axis=0).astype(int)
        model.get_layer(2).set_variable("thresholds", median[:, None])
    return model


@pytest.fixture(scope="module")
def x():
    return _inputs()


@pytest.mark.parametrize("index", [0, 1, 2])
def test_potentials_give_the_layer_outputs(x, index):
    model = _model()
    potentials = layer_potentials(model, x, index, batch_size=7)
    thresholds = model.get_layer(index).get_variable("thresholds")  # (channels, levels)
    assert potentials.dtype == np.int32
    assert potentials.shape == (len(x), *model.get_layer(index).output_shape)
    levels = (potentials[..., None] >= thresholds).sum(axis=-1)
    np.testing.assert_array_equal(levels, model.forward(x, until=index))
    assert len(np.unique(levels)) > 1  # the check is not vacuous


def test_offset_moves_each_threshold_by_its_spread(x):
    model = _model()
    layer = model.get_layer(2)
    before = layer.get_variable("thresholds").copy()
    rate_before = model.forward(x, until=2).mean()  # also caches the fused plan
    spread = layer_potentials(model, x, 2).reshape(len(x), -1).std(axis=0)

    moved = offset_spike_thresholds(model, x, -0.5, layer=2)

    expected = before + np.round(-0.5 * spread).astype(np.int64)[:, None]
    np.testing.assert_array_equal(moved, expected)
    assert moved is layer.get_variable("thresholds") and moved.dtype == np.int32
    assert np.all(spread > 0) and np.all(moved < before)
    # The model runs with the new thresholds (not a plan cached for the old ones).
    spikes = model.forward(x, until=2)
    np.testing.assert_array_equal(spikes, layer_potentials(model, x, 2) >= moved[:, 0])
    assert spikes.mean() > rate_before


def test_offset_zero_and_positive(x):
    model = _model()
    layer = model.get_layer(2)
    before = layer.get_variable("thresholds").copy()
    np.testing.assert_array_equal(offset_spike_thresholds(model, x, 0, layer=2), before)
    assert np.all(offset_spike_thresholds(model, x, 0.3, layer=2) > before)


def test_bad_calibration_requests(x):
    model = _model()
    before = model.get_layer(2).get_variable("thresholds").copy()
    with pytest.raises(ValueError, match="1-bit activations; layer 'separable_conv2d_1' has "
                                         "activation_bits 4"):
        offset_spike_thresholds(model, x, -0.1, layer=1)
    for offset in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="offset must be a finite number"):
            offset_spike_thresholds(model, x, offset, layer=2)
    with pytest.raises(ValueError, match="at least one calibration sample"):
        offset_spike_thresholds(model, x[:0], -0.1, layer=2)
    with pytest.raises(ValueError, match="uint8"):
        offset_spike_thresholds(model, x.astype(np.int16), -0.1, layer=2)
    with pytest.raises(ValueError, match="has no activation"):
        layer_potentials(model, x, -1)
    with pytest.raises(ValueError, match="max-pools"):
        layer_potentials(_model(pool="max"), x, 1)
    np.testing.assert_array_equal(model.get_layer(2).get_variable("thresholds"), before)
