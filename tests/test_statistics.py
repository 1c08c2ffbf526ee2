"""Sparsity and synaptic-operation statistics."""

from __future__ import annotations

import numpy as np
import pytest
from engine_helpers import randomize_model

from spikelearn import (
    Conv2D,
    FullyConnected,
    InputConv2D,
    InputData,
    Model,
    SeparableConv2D,
    evaluate_sparsity,
)


def sparse_model(seed=0):
    rng = np.random.default_rng(seed)
    model = Model([InputConv2D((8, 6, 1), 6, 3, activation_bits=2), SeparableConv2D(5),
                   Conv2D(4, 3, strides=2, activation_bits=1), FullyConnected(3)])
    return randomize_model(model, rng, thresholds=(0, 60))


@pytest.fixture(scope="module")
def x():
    x = np.random.default_rng(3).integers(0, 256, (40, 8, 6, 1)).astype(np.uint8)
    x[:, :3] = 0
    return x


def test_evaluate_sparsity_counts_zero_outputs(x):
    model = sparse_model()
    sparsity = evaluate_sparsity(model, x, batch_size=16)
    assert list(sparsity) == [layer.name for layer in model.layers]
    for index, layer in enumerate(model.layers):
        out = model.forward(x, until=index)
        assert sparsity[layer.name] == pytest.approx(np.mean(out == 0))
    assert 0 < sparsity["separable_conv2d_1"] < 1


def test_statistics_chain_and_operation_counts(x):
    model = sparse_model()
    stats = model.statistics(x, batch_size=7)
    layers = stats["layers"]
    names = [layer.name for layer in model.layers]
    assert layers[names[0]]["input_sparsity"] == pytest.approx(np.mean(x == 0))
    for before, after in zip(names, names[1:], strict=False):
        assert layers[after]["input_sparsity"] == pytest.approx(layers[before]["output_sparsity"])
    spikes = model.forward(x, until=-2).reshape(len(x), -1)
    head = layers[names[-1]]
    assert head["synaptic_ops"] == pytest.approx(np.count_nonzero(spikes, axis=1).mean() * 3)
    assert head["dense_macs"] == 4 * 3 * 4 * 3  # 8x6 input, stride 2 -> 4x3x4 spikes
    assert stats["avg_spikes_to_last_layer"] == pytest.approx(np.count_nonzero(spikes, 1).mean())
    for entry in layers.values():
        assert 0 <= entry["synaptic_ops"] <= entry["dense_macs"]
        assert entry["ops_ratio"] == pytest.approx(entry["synaptic_ops"] / entry["dense_macs"])
    assert stats["dense_macs"] == sum(layer.macs() for layer in model.layers)


def test_conv_synaptic_ops_count_the_fan_out_of_each_event():
    layer = Conv2D(2, 3)
    layer.build((3, 3, 1))
    x = np.zeros((2, 3, 3, 1), np.uint8)
    x[0, 1, 1] = 1  # centre: inside all 9 windows
    x[1, 0, 0] = 3  # corner: inside 4 windows
    assert layer.synaptic_ops(x).tolist() == [9 * 2, 4 * 2]
    assert layer.macs() == 9 * 9 * 2


def test_separable_synaptic_ops_count_active_windows():
    layer = SeparableConv2D(4, 3)
    layer.build((3, 3, 2))
    x = np.zeros((1, 3, 3, 2), np.uint8)
    x[0, 0, 0, 1] = 1  # one event: 4 depthwise windows, each then feeds 4 pointwise outputs
    assert layer.synaptic_ops(x).tolist() == [4 + 4 * 4]


def test_input_data_model_statistics():
    model = Model([InputData((1, 1, 4), input_bits=1), FullyConnected(2, weight_bits=1)])
    x = np.array([[[[1, 0, 0, 1]]], [[[0, 0, 0, 0]]]], np.uint8)
    stats = model.statistics(x)
    assert stats["avg_spikes_to_last_layer"] == 1.0
    assert stats["layers"]["fully_connected_1"]["synaptic_ops"] == 2.0
    assert stats["layers"]["input_data_0"]["dense_macs"] == 0
