"""Energy estimate: arithmetic on hand-checkable statistics, monotonicity, errors."""

import dataclasses

import numpy as np
import pytest

from spikelearn import Model
from spikelearn.energy import (
    ACCELERATOR_22NM,
    CORTEX_M4,
    PROFILES,
    SCALE_45_TO_22,
    DeviceProfile,
    energy_from_cycles,
    estimate,
    get_profile,
)
from spikelearn.export import footprint
from spikelearn.layers import FullyConnected, InputConv2D, InputData, SeparableConv2D

UNIT = DeviceProfile(name="unit", synaptic_op_pj=1.0, multiply_pj_per_bit2=0.0,
                     memory_read_pj_per_bit=0.0, neuron_update_pj=0.0, static_uw=0.0,
                     leakage_nw_per_mbit=0.0, pj_per_cycle=2.0, description="test")


def tiny():
    model = Model([InputData((1, 1, 4), input_bits=2), FullyConnected(2, weight_bits=4)])
    stats = {"layers": {
        "input_data_0": {"synaptic_ops": 0.0, "input_sparsity": 0.5, "output_sparsity": 0.5},
        "fully_connected_1": {"synaptic_ops": 4.0, "input_sparsity": 0.5,
                              "output_sparsity": 0.0},
    }}
    return model, stats


def test_arithmetic_on_hand_checkable_statistics():
    model, stats = tiny()
    result = estimate(model, stats, UNIT, rate=10)
    assert result["layers"]["fully_connected_1"]["ops_pj"] == 4.0
    assert result["dynamic_nj"] == pytest.approx(0.004)
    assert result["average_power_uw"] == pytest.approx(0.004 * 10 / 1e3)
    # multiply 4-bit weights x 2-bit inputs = 8 bit^2; memory: 4 ops x 4 bits + 2 input events
    # x 2 bits + 2 int32 potentials x 32 bits = 84 bits; neuron: 2 updates x (1 + 0) steps
    profile = dataclasses.replace(UNIT, multiply_pj_per_bit2=0.5, memory_read_pj_per_bit=1.0,
                                  neuron_update_pj=3.0, static_uw=2.0)
    layer = estimate(model, stats, profile, rate=10)["layers"]["fully_connected_1"]
    assert layer["ops_pj"] == 4 * (1 + 0.5 * 8)
    assert layer["memory_pj"] == 84.0
    assert layer["neuron_pj"] == 6.0
    full = estimate(model, stats, profile, rate=10)
    assert full["static_uw"] == 2.0
    assert full["energy_per_inference_nj"] == pytest.approx((20 + 84 + 6) / 1e3 + 2.0 * 1e3 / 10)
    leaky = dataclasses.replace(UNIT, leakage_nw_per_mbit=1000.0)
    bits = 8 * sum(footprint(model)[kind]["total"] for kind in ("flash", "ram"))
    assert estimate(model, stats, leaky)["static_uw"] == pytest.approx(bits / 1e6)


def test_cycles_and_published_constants():
    assert energy_from_cycles(1e6, UNIT, rate=50) == {
        "energy_per_inference_nj": 2000.0, "average_power_uw": 100.0, "clock_mhz": 50.0}
    # the LMU paper's arithmetic: 17.24 M cycles/s at 12.26 pJ per cycle is about 212 uW
    assert energy_from_cycles(17.24e6 / 50, CORTEX_M4)["average_power_uw"] == pytest.approx(
        211.4, abs=0.1)
    assert SCALE_45_TO_22 == pytest.approx(0.3863, abs=1e-4)
    assert ACCELERATOR_22NM.synaptic_op_pj == pytest.approx(0.1 * SCALE_45_TO_22)
    assert get_profile("cortex-m4") is CORTEX_M4 and set(PROFILES) == {"accelerator-22nm",
                                                                     "cortex-m4"}


def small_model(weight_bits):
    model = Model([
        InputConv2D((10, 6, 1), 8, 3, strides=2, weight_bits=8, activation_bits=4),
        SeparableConv2D(8, 3, weight_bits=weight_bits, activation_bits=1, pool="global_avg"),
        FullyConnected(6, weight_bits=1),
    ])
    rng = np.random.default_rng(0)
    model.get_layer(0).set_variable("weights", rng.integers(-127, 128, (3, 3, 1, 8)))
    model.get_layer(0).set_variable("thresholds", np.tile(np.arange(1, 16) * 400, (8, 1)))
    return model


@pytest.mark.parametrize("profile", [ACCELERATOR_22NM, CORTEX_M4])
def test_sparser_inputs_cost_less(profile):
    model = small_model(4)
    x = np.random.default_rng(1).integers(0, 256, (20, 10, 6, 1), dtype=np.uint8)
    sparse = x.copy()
    sparse[:, ::2] = 0
    dense_cost = estimate(model, model.statistics(x), profile)["dynamic_nj"]
    sparse_cost = estimate(model, model.statistics(sparse), profile)["dynamic_nj"]
    assert 0 < sparse_cost < dense_cost


def test_narrower_weights_cost_less_on_the_accelerator():
    x = np.random.default_rng(2).integers(0, 256, (20, 10, 6, 1), dtype=np.uint8)
    stats = small_model(4).statistics(x)
    costs = [estimate(small_model(bits), stats, ACCELERATOR_22NM)
             for bits in (8, 4, 2)]
    assert costs[0]["dynamic_nj"] > costs[1]["dynamic_nj"] > costs[2]["dynamic_nj"]
    assert costs[0]["static_uw"] > costs[1]["static_uw"] > costs[2]["static_uw"]
    # the MCU model charges cycles, not bits: the same for every width
    mcu = [estimate(small_model(bits), stats, CORTEX_M4)["dynamic_nj"] for bits in (8, 2)]
    assert mcu[0] == mcu[1]


def test_errors():
    model, stats = tiny()
    with pytest.raises(ValueError, match="unknown device profile 'tpu'"):
        estimate(model, stats, "tpu")
    with pytest.raises(ValueError, match="rate must be a positive"):
        estimate(model, stats, rate=0)
    with pytest.raises(ValueError, match="statistics do not match"):
        estimate(model, {"layers": {"other": {}}})
    with pytest.raises(ValueError, match="synaptic_op_pj must be a finite number >= 0"):
        dataclasses.replace(UNIT, synaptic_op_pj=-1.0)
    with pytest.raises(ValueError, match="has no energy per cycle"):
        energy_from_cycles(10, ACCELERATOR_22NM)
    with pytest.raises(ValueError, match="cycles must be"):
        energy_from_cycles(-1)
