"""Tests of the competitive plasticity rule on plain arrays (no Model needed).

Hand-checkable cases follow the behavioural spec (shared/notes/learning_rule.md); a numpy
reference of the whole fit loop cross-checks the numba kernel on random cases.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikelearn.errors import LearningError
from spikelearn.learning import Competitive, kernels
from spikelearn.learning.competitive import check_labels, exact_fraction, round_half_up

MASK64 = (1 << 64) - 1


# -- numpy reference of the documented rule -------------------------------------------------------
def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _draw(indices, picks, state):
    """Partial Fisher-Yates of the documented selection; returns (chosen, new state)."""
    indices = list(indices)
    for t in range(picks):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        u = t + _mix64(state) % (len(indices) - t)
        indices[t], indices[u] = indices[u], indices[t]
    return indices[:picks], state


def reference_fit(state, rule, spikes, labels):
    """Plain numpy/python version of the fit loop (updates ``state`` in place)."""
    sched = rule.schedule()
    weights = state["weights"].T.astype(bool)  # (units, n_in)
    spikes = spikes.astype(np.uint8)
    npc = weights.shape[0] // rule.num_classes
    out = []
    for x, y in zip(spikes, labels, strict=True):
        p = (weights & x.astype(bool)).sum(axis=1)
        out.append(p)
        block = range(y * npc, (y + 1) * npc) if y >= 0 else range(len(p))
        eligible = [j for j in block if p[j] > state["vigilance"][j]]
        if eligible:
            winner = max(eligible, key=lambda j: (p[j], -j))
        elif rule.recruit and y >= 0 and any(state["wins"][j] == 0 for j in block):
            winner = next(j for j in block if state["wins"][j] == 0)
        else:
            continue
        counter = int(state["rng_counter"][0])
        stream = _mix64(rule.seed ^ _mix64(counter ^ 0xD1B54A32D192ED03))
        if rule.rewire == "frequent":
            state["activity"][:, winner] += x
            keys = 2 * state["activity"][:, winner].astype(np.int64) + x
            connected, stream = _draw(np.flatnonzero(weights[winner]), weights[winner].sum(),
                                      stream)
            free, _ = _draw(np.flatnonzero(~weights[winner]), (~weights[winner]).sum(), stream)
            connected = sorted(connected, key=lambda k: keys[k])  # stable
            free = sorted(free, key=lambda k: -keys[k])
            swaps = 0
            while swaps < min(int(state["budget"][winner]), len(connected), len(free)) \
                    and keys[free[swaps]] > keys[connected[swaps]]:
                swaps += 1
            removed, added = connected[:swaps], free[:swaps]
        else:
            off = np.flatnonzero(weights[winner] & ~x.astype(bool))
            on = np.flatnonzero(~weights[winner] & x.astype(bool))
            swaps = min(int(state["budget"][winner]), len(off), len(on))
            removed, stream = _draw(off, swaps, stream)
            added, _ = _draw(on, swaps, stream)
        if swaps:
            weights[winner, removed] = False
            weights[winner, added] = True
            state["vigilance"][winner] = min(p[winner], sched["vigilance_cap"])
            state["rng_counter"][0] += 1
        state["budget"][winner] = max(state["budget"][winner] - sched["decrement"],
                                      sched["min_budget"])
        state["wins"][winner] += 1
    state["weights"][...] = weights.T
    return np.array(out, np.int32).reshape(len(labels), -1)


def _state(rule, input_size, units, masks=None):
    """Initial state, optionally with hand-set masks given as lists of connected inputs."""
    state = rule.initial_state(input_size, units)
    if masks is not None:
        state["weights"][...] = 0
        for j, inputs in enumerate(masks):
            state["weights"][list(inputs), j] = 1
    return state


def _spikes(input_size, *active):
    """One row per argument: the listed inputs are 1."""
    x = np.zeros((len(active), input_size), np.uint8)
    for i, inputs in enumerate(active):
        x[i, list(inputs)] = 1
    return x


def _copy(state):
    return {name: value.copy() for name, value in state.items()}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# -- packing and potentials -----------------------------------------------------------------------
@pytest.mark.parametrize("length", [1, 63, 64, 65, 200])
def test_pack_roundtrip_and_potentials_equal_matmul(length):
    rng = np.random.default_rng(length)
    x = (rng.random((7, length)) < 0.3).astype(np.uint8)
    w = (rng.random((5, length)) < 0.5).astype(np.uint8)
    np.testing.assert_array_equal(kernels.unpack_bits(kernels.pack_bits(x), length), x)
    got = kernels.potentials(kernels.pack_bits(x), kernels.pack_bits(w))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, x.astype(np.int32) @ w.T.astype(np.int32))


# -- exact arithmetic -----------------------------------------------------------------------------
def test_exact_fraction_and_rounding():
    assert exact_fraction(0.1) * 50 == 5
    assert exact_fraction(np.float32(0.1)) * 50 > 5  # the reference's float32 default
    assert [round_half_up(exact_fraction(v) * n) for v, n in
            [(0.75, 50), (0.33, 50), (0.01, 50), (0.0, 50), (0.6, 67), (0.5, 21), (0.7, 35)]] \
        == [38, 17, 1, 0, 40, 11, 25]


# -- compile-time state --------------------------------------------------------------------------
def test_initial_state_has_num_weights_connections_per_neuron():
    rule = Competitive(7, 3, initial_plasticity=0.6, seed=4)
    state = rule.initial_state(40, 6)
    assert state["weights"].dtype == np.int8 and state["weights"].shape == (40, 6)
    np.testing.assert_array_equal(state["weights"].sum(axis=0), 7)
    np.testing.assert_array_equal(state["budget"], 4)  # round_half_up(0.6 * 7) = 4
    assert state["budget"].dtype == np.int32 and state["vigilance"].dtype == np.int32
    np.testing.assert_array_equal(state["vigilance"], 0)
    np.testing.assert_array_equal(state["wins"], 0)
    np.testing.assert_array_equal(state["rng_counter"], [0])


def test_masks_are_seeded():
    same = [Competitive(10, 2, seed=1).initial_state(64, 20)["weights"] for _ in range(2)]
    np.testing.assert_array_equal(same[0], same[1])
    other = Competitive(10, 2, seed=2).initial_state(64, 20)["weights"]
    assert not np.array_equal(same[0], other)
    # distinct neurons get distinct masks
    assert len({col.tobytes() for col in same[0].T}) == 20


def test_seed_none_is_drawn_and_stored():
    rule = Competitive(3, 1)
    rule.initial_state(10, 2)
    assert isinstance(rule.seed, int) and 0 <= rule.seed < 2**63


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_weights": 0}, "num_weights"),
        ({"num_weights": 17}, "num_weights"),
        ({"num_weights": 2.0}, "num_weights"),
        ({"num_classes": 0}, "num_classes"),
        ({"num_classes": 3}, "multiple"),
        ({"initial_plasticity": 1.5}, "initial_plasticity"),
        ({"learning_competition": -0.1}, "learning_competition"),
        ({"min_plasticity": float("nan")}, "min_plasticity"),
        ({"plasticity_decay": "0.2"}, "plasticity_decay"),
        ({"plasticity_decay": True}, "plasticity_decay"),
        ({"recruit": 1}, "recruit"),
        ({"rewire": "random"}, "rewire"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_invalid_options_raise_at_compile_not_init(options, message):
    config = {"num_weights": 4, "num_classes": 2, **options}
    rule = Competitive(**config)  # storing never fails
    with pytest.raises(LearningError, match=message):
        rule.initial_state(16, 4)


def test_config_roundtrip():
    rule = Competitive(5, 2, learning_competition=0.3, recruit=True, seed=9)
    again = Competitive.from_config({**rule.get_config(), "rule": "Competitive"})
    assert again.get_config() == rule.get_config()
    assert "recruit=True" in repr(rule)
    # a config saved before the rewire option existed loads with the reference rewiring
    old_config = {k: v for k, v in rule.get_config().items() if k != "rewire"}
    assert Competitive.from_config(old_config).rewire == "sample"


# -- eligibility and winner -----------------------------------------------------------------------
def test_fresh_neuron_with_zero_potential_never_learns():
    rule = Competitive(4, 1, seed=0)
    state = _state(rule, 16, 2, masks=[range(4), range(4, 8)])
    before = _copy(state)
    pots = rule.learn(state, _spikes(16, range(8, 16)), 0)
    np.testing.assert_array_equal(pots, [[0, 0]])
    _assert_same(state, before)


@pytest.mark.parametrize(("vigilance", "winner"), [(3, 1), (2, 0)])
def test_eligibility_is_strictly_greater_than_vigilance(vigilance, winner):
    rule = Competitive(4, 1, seed=0)
    state = _state(rule, 16, 2, masks=[range(4), [0, 4, 5, 6]])
    state["vigilance"][0] = vigilance
    # potentials: neuron 0 -> 3, neuron 1 -> 1
    rule.learn(state, _spikes(16, [0, 1, 2, 9, 10]), 0)
    np.testing.assert_array_equal(state["wins"], np.eye(2, dtype=np.int64)[winner])


def test_winner_is_highest_potential_not_largest_margin():
    rule = Competitive(5, 1, seed=0)
    state = _state(rule, 20, 2, masks=[range(5), range(5, 10)])
    state["vigilance"][:] = [4, 0]
    rule.learn(state, _spikes(20, [0, 1, 2, 3, 4, 5, 6, 7, 8, 15]), 0)  # p = [5, 4]
    np.testing.assert_array_equal(state["wins"], [1, 0])


def test_ties_go_to_the_lowest_index_also_learned_vs_fresh():
    rule = Competitive(4, 1, seed=0)
    state = _state(rule, 16, 3, masks=[range(4, 8), range(4), range(4)])
    state["wins"][2] = 3  # neuron 2 is learned, neuron 1 fresh, same potential
    state["vigilance"][2] = 1
    rule.learn(state, _spikes(16, [0, 1, 12]), 0)
    np.testing.assert_array_equal(state["wins"], [0, 1, 3])


def test_labelled_sample_competes_in_its_block_only_unlabelled_globally():
    rule = Competitive(4, 2, seed=0)
    masks = [range(4), range(4), [0, 8, 9, 10], [0, 1, 8, 9]]
    x = _spikes(16, [0, 1, 2, 12])  # p = [3, 3, 1, 2]
    for label, wins in [(1, [0, 0, 0, 1]), (-1, [1, 0, 0, 0]), (0, [1, 0, 0, 0])]:
        state = _state(rule, 16, 4, masks=masks)
        rule.learn(state, x, label)
        np.testing.assert_array_equal(state["wins"], wins)


def test_recruitment_through_vigilance_spec_example():
    rule = Competitive(8, 1, seed=0)
    state = _state(rule, 32, 2, masks=[range(8), range(8, 16)])
    rule.learn(state, _spikes(32, [0, 1, 2, 3, 4, 5, 16, 17]), 0)  # A: p = [6, 0]
    assert state["vigilance"][0] == 6 and state["wins"][0] == 1
    pots = rule.learn(state, _spikes(32, [0, 1, 8, 20, 21]), 0)  # B: neuron 0 ineligible
    np.testing.assert_array_equal(pots, [[2, 1]])
    np.testing.assert_array_equal(state["wins"], [1, 1])
    assert state["vigilance"][0] == 6


# -- swap count and direction ---------------------------------------------------------------------
def test_swap_count_nw50_full_budget():
    rule = Competitive(50, 1, seed=3)
    state = _state(rule, 200, 1, masks=[range(50)])
    x = _spikes(200, range(40, 140))  # 100 active, p = 10, R = 40, A = 90
    np.testing.assert_array_equal(rule.learn(state, x, 0), [[10]])
    w = state["weights"][:, 0]
    assert w.sum() == 50 and w[40:140].sum() == 50  # s = 40: new p = 50
    assert w[40:50].all()  # connections on active inputs never move
    assert state["vigilance"][0] == 10 and state["budget"][0] == 37


def test_swap_count_nw50_half_budget_two_steps():
    rule = Competitive(50, 1, initial_plasticity=0.5, seed=3)
    state = _state(rule, 200, 1, masks=[range(50)])
    x = _spikes(200, range(40, 140))
    rule.learn(state, x, 0)
    assert state["weights"][40:140, 0].sum() == 35  # s = 25
    assert state["budget"][0] == 18  # 25 - ceil(0.25 * 25)
    np.testing.assert_array_equal(rule.learn(state, x, 0), [[35]])
    assert state["weights"][40:140, 0].sum() == 50  # s = min(18, 15, 65) = 15
    assert state["vigilance"][0] == 35


def test_swap_count_limited_by_active_inputs_and_perfect_match():
    rule = Competitive(8, 1, seed=0)
    state = _state(rule, 32, 1, masks=[range(8)])
    rule.learn(state, _spikes(32, [0, 1, 20, 21, 22]), 0)  # p = 2, A = 3 -> s = 3
    w = state["weights"][:, 0]
    assert w.sum() == 8 and w[[0, 1, 20, 21, 22]].all()
    assert state["vigilance"][0] == 2 and state["budget"][0] == 6
    full = np.flatnonzero(w)
    rule.learn(state, _spikes(32, full), 0)  # perfect match: s = 0
    np.testing.assert_array_equal(np.flatnonzero(state["weights"][:, 0]), full)
    assert state["vigilance"][0] == 2  # unchanged when nothing moved
    assert state["budget"][0] == 4 and state["wins"][0] == 2
    assert state["rng_counter"][0] == 1


def test_hand_set_mask_keeps_its_count():
    rule = Competitive(5, 1, seed=0)
    state = _state(rule, 30, 1, masks=[range(9)])
    rule.learn(state, _spikes(30, range(5, 20)), 0)
    assert state["weights"][:, 0].sum() == 9


# -- plasticity schedule --------------------------------------------------------------------------
def _budget_sequence(steps, num_weights=50, **options):
    """Budgets of a neuron that wins ``steps`` times on a perfect match (s = 0 after step 1)."""
    rule = Competitive(num_weights, 1, seed=0, **options)
    state = _state(rule, num_weights, 1)
    sequence = [int(state["budget"][0])]
    for _ in range(steps):
        rule.learn(state, np.ones((1, num_weights), np.uint8), 0)
        sequence.append(int(state["budget"][0]))
    return sequence


@pytest.mark.parametrize(
    ("num_weights", "options", "expected"),
    [
        (50, {}, [50, 37, 24, 11, 5, 5]),
        (50, {"min_plasticity": np.float32(0.1)}, [50, 37, 24, 11, 6, 6]),  # reference default
        (100, {}, [100, 75, 50, 25, 10]),
        (100, {"min_plasticity": np.float32(0.1)}, [100, 75, 50, 25, 11]),
        (50, {"initial_plasticity": 0.5, "plasticity_decay": 0.1},
         [25, 22, 19, 16, 13, 10, 7, 5, 5]),
        (50, {"plasticity_decay": 0.0}, [50, 50, 50, 50]),
        (50, {"plasticity_decay": 1.0}, [50, 5, 5]),
        (50, {"min_plasticity": 0.3}, [50, 37, 24, 15, 15]),
        (100, {"initial_plasticity": 0.3, "min_plasticity": 0.5}, [30, 50, 50]),
        (50, {"initial_plasticity": 0.0}, [0, 5, 5]),
        (50, {"initial_plasticity": 0.0, "min_plasticity": 0.0}, [0, 0, 0]),
    ],
)
def test_plasticity_schedule(num_weights, options, expected):
    assert _budget_sequence(len(expected) - 1, num_weights, **options) == expected


def test_floor_raises_budget_below_it():
    # spec: ip=.3, min=.5 on nw=50 -> 15 then 25 (our ip*nw uses 0.3 exactly: b0 = 15)
    assert Competitive(50, 1, initial_plasticity=0.3, min_plasticity=0.5).schedule() == {
        "initial_budget": 15, "decrement": 4, "min_budget": 25, "vigilance_cap": 50}


def test_zero_budget_moves_nothing_but_counts_the_win():
    rule = Competitive(4, 1, initial_plasticity=0.0, seed=0)
    state = _state(rule, 16, 1, masks=[range(4)])
    x = _spikes(16, [0, 8, 9])
    rule.learn(state, x, 0)
    np.testing.assert_array_equal(np.flatnonzero(state["weights"][:, 0]), range(4))
    assert state["wins"][0] == 1 and state["vigilance"][0] == 0 and state["budget"][0] == 1
    rule.learn(state, x, 0)  # the floor lifted the budget: one connection moves now
    assert state["weights"][[0, 8, 9], 0].sum() == 2


# -- vigilance cap --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("competition", "cap"), [(0.0, 20), (0.1, 18), (0.25, 15), (0.5, 10), (0.75, 5), (0.9, 2),
                             (1.0, 0)]
)
def test_vigilance_cap_table_nw20(competition, cap):
    rule = Competitive(20, 1, learning_competition=competition, seed=0)
    for potential in range(1, 20):
        state = _state(rule, 40, 1, masks=[range(20)])
        rule.learn(state, _spikes(40, [*range(potential), 30]), 0)
        assert state["vigilance"][0] == min(potential, cap), potential


@pytest.mark.parametrize(("num_weights", "competition", "cap"), [(21, 0.5, 11), (35, 0.3, 25)])
def test_vigilance_cap_rounds_half_up(num_weights, competition, cap):
    rule = Competitive(num_weights, 1, learning_competition=competition)
    assert rule.schedule()["vigilance_cap"] == cap


# -- recruit option -------------------------------------------------------------------------------
def test_recruit_takes_the_lowest_fresh_neuron_of_the_class():
    masks = [range(4), range(4, 8), range(8, 12), range(12, 16)]
    x = _spikes(32, range(20, 26))  # zero overlap with everything
    plain = Competitive(4, 2, seed=0)
    state = _state(plain, 32, 4, masks=masks)
    before = _copy(state)
    plain.learn(state, x, 1)
    _assert_same(state, before)  # the reference drops the sample

    rule = Competitive(4, 2, recruit=True, seed=0)
    state = _state(rule, 32, 4, masks=masks)
    state["wins"][2] = 1  # neuron 2 already won once: neuron 3 is the fresh one
    state["vigilance"][2] = 4
    rule.learn(state, x, 1)
    np.testing.assert_array_equal(state["wins"], [0, 0, 1, 1])
    assert state["weights"][20:26, 3].sum() == 4 and state["weights"][:, 3].sum() == 4
    assert state["vigilance"][3] == 0 and state["budget"][3] == 3


def test_recruit_never_applies_to_unlabelled_or_used_classes():
    rule = Competitive(4, 2, recruit=True, seed=0)
    state = _state(rule, 32, 4, masks=[range(4), range(4, 8), range(8, 12), range(12, 16)])
    state["wins"][2:] = 1
    state["vigilance"][2:] = 4
    before = _copy(state)
    rule.learn(state, _spikes(32, range(20, 26), range(20, 26), [8, 9, 12]), [-1, 1, 1])
    _assert_same(state, before)  # no fresh neuron in class 1, nothing eligible


# -- labels ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "error"),
    [
        (np.array([0.0, 1.0]), TypeError),
        ([True, False], TypeError),
        (["a", "b"], TypeError),
        ([0, 2], ValueError),
        ([-2, 0], ValueError),
        ([0, 1, 1], ValueError),
        (5, ValueError),
    ],
)
def test_bad_labels_raise_before_anything_is_learned(labels, error):
    rule = Competitive(4, 2, seed=0)
    state = _state(rule, 16, 4)
    before = _copy(state)
    with pytest.raises(error):
        rule.learn(state, np.ones((2, 16), np.uint8), labels)
    _assert_same(state, before)


def test_scalar_label_applies_to_all():
    np.testing.assert_array_equal(check_labels(np.int16(1), 3, 2), [1, 1, 1])
    assert check_labels([0, -1], 2, 1).dtype == np.int64


@pytest.mark.parametrize(
    ("spikes", "error"),
    [
        (np.full((1, 16), 2, np.uint8), ValueError),
        (np.ones((1, 15), np.uint8), ValueError),
        (np.ones(16, np.uint8), ValueError),
        (np.ones((1, 16), np.float32), TypeError),
    ],
)
def test_bad_spikes_raise(spikes, error):
    rule = Competitive(4, 2, seed=0)
    with pytest.raises(error):
        rule.learn(_state(rule, 16, 4), spikes, 0)


# -- rewire="frequent": activity counters ---------------------------------------------------------
def test_frequent_rewiring_follows_the_activity_counts_by_hand():
    """One neuron, 5 inputs, 2 connections, vigilance cap 0, budget constant 2."""
    rule = Competitive(2, 1, learning_competition=1.0, plasticity_decay=0.0, min_plasticity=0.0,
                       rewire="frequent", seed=0)
    state = _state(rule, 5, 1, masks=[[3, 4]])
    np.testing.assert_array_equal(state["activity"], np.zeros((5, 1), np.int32))
    steps = [  # sample, activity after it, connections after it
        ([0, 3], [1, 0, 0, 1, 0], [0, 3]),  # key 2*count+x: 0 (3) beats 4 (0); 1, 2 (0) lose
        ([1, 3], [1, 1, 0, 2, 0], [1, 3]),  # counts 1 == 1: the sample's active input 1 wins
        ([0, 3], [2, 1, 0, 3, 0], [0, 3]),  # 0 is now more frequent than 1
        ([2, 3], [2, 1, 1, 4, 0], [0, 3]),  # 2 (count 1) is not more frequent than 0 (2)
    ]
    for sample, activity, connected in steps:
        assert rule.learn(state, _spikes(5, sample), 0).tolist() == [[1]]
        np.testing.assert_array_equal(state["activity"][:, 0], activity)
        np.testing.assert_array_equal(np.flatnonzero(state["weights"][:, 0]), connected)
    # the last step moved nothing (the reference would have moved 0 -> 2) but counts as a win
    assert state["rng_counter"].tolist() == [3] and state["wins"].tolist() == [4]
    assert state["vigilance"].tolist() == [0] and state["budget"].tolist() == [2]


def test_frequent_rewiring_moves_at_most_the_budget_and_converges_to_the_centroid():
    rule = Competitive(3, 1, initial_plasticity=1 / 3, plasticity_decay=0.0, min_plasticity=0.0,
                       learning_competition=1.0, rewire="frequent", seed=4)
    state = _state(rule, 8, 1, masks=[[0, 5, 6]])
    x = _spikes(8, [0, 1, 2, 3], [0, 1, 2, 4], [0, 1, 3, 4])
    rule.learn(state, x[:1], 0)  # budget 1: one of 5, 6 moves to one of 1, 2, 3
    assert state["weights"][:, 0].sum() == 3 and state["weights"][0, 0] == 1
    assert state["weights"][[1, 2, 3], 0].sum() == 1
    rule.learn(state, np.tile(x, (3, 1)), 0)
    # 10 samples: inputs 0 and 1 in all of them, 2 and 3 in 7, 4 in 6: the binary centroid is
    # 0, 1 and one of the tied 2, 3 (never 4 or the initial 5, 6)
    np.testing.assert_array_equal(state["activity"][:, 0], [10, 10, 7, 7, 6, 0, 0, 0])
    connected = np.flatnonzero(state["weights"][:, 0]).tolist()
    assert connected[:2] == [0, 1] and connected[2] in (2, 3)


def test_frequent_add_classes_appends_zero_counts():
    rule = Competitive(3, 1, rewire="frequent", seed=1)
    state = rule.initial_state(10, 2)
    rule.learn(state, np.ones((2, 10), np.uint8), 0)
    grown = rule.add_classes(state, 1)
    np.testing.assert_array_equal(grown["activity"][:, :2], state["activity"])
    np.testing.assert_array_equal(grown["activity"][:, 2:], 0)
    assert grown["activity"].dtype == np.int32 and state["activity"].sum() == 20


# -- add_classes ----------------------------------------------------------------------------------
def test_add_classes_leaves_learned_neurons_bit_identical():
    rule = Competitive(6, 2, seed=5)
    state = rule.initial_state(32, 6)
    rng = np.random.default_rng(0)
    rule.learn(state, (rng.random((30, 32)) < 0.3).astype(np.uint8), rng.integers(0, 2, 30))
    old = _copy(state)
    grown = rule.add_classes(state, 2)
    _assert_same(state, old)  # the input state is not modified
    assert rule.num_classes == 4 and grown["weights"].shape == (32, 12)
    for name in ("weights", "vigilance", "budget", "wins"):
        np.testing.assert_array_equal(grown[name][..., :6], old[name])
    np.testing.assert_array_equal(grown["weights"][:, 6:].sum(axis=0), 6)
    np.testing.assert_array_equal(grown["budget"][6:], 6)
    np.testing.assert_array_equal(grown["vigilance"][6:], 0)
    np.testing.assert_array_equal(grown["rng_counter"], old["rng_counter"])
    # new neurons get the masks a larger compiled layer would have had
    wide = Competitive(6, 4, seed=5).initial_state(32, 12)["weights"]
    np.testing.assert_array_equal(grown["weights"][:, 6:], wide[:, 6:])
    rule.learn(grown, np.ones((1, 32), np.uint8), 3)  # new labels are accepted
    assert grown["wins"][9:].sum() == 1


@pytest.mark.parametrize("count", [0, -1, 1.0])
def test_add_classes_rejects_bad_counts(count):
    rule = Competitive(3, 1, seed=0)
    with pytest.raises(ValueError, match="new classes"):
        rule.add_classes(rule.initial_state(8, 2), count)


# -- determinism and continuation -----------------------------------------------------------------
def _random_run(seed, split=None):
    rule = Competitive(12, 3, learning_competition=0.2, seed=seed)
    state = rule.initial_state(80, 9)
    rng = np.random.default_rng(1)
    x = (rng.random((60, 80)) < 0.25).astype(np.uint8)
    y = rng.integers(-1, 3, 60)
    if split is None:
        pots = rule.learn(state, x, y)
    else:
        pots = np.concatenate([rule.learn(state, x[:split], y[:split]),
                               rule.learn(state, x[split:], y[split:])])
    return state, pots


def test_learning_is_deterministic_and_batch_split_invariant():
    state, pots = _random_run(7)
    again, pots_again = _random_run(7)
    _assert_same(state, again)
    np.testing.assert_array_equal(pots, pots_again)
    split, pots_split = _random_run(7, split=23)
    _assert_same(state, split)
    np.testing.assert_array_equal(pots, pots_split)
    other, _ = _random_run(8)
    assert not np.array_equal(state["weights"], other["weights"])


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    input_size=st.integers(1, 140),
    classes=st.integers(1, 3),
    per_class=st.integers(1, 4),
    competition=st.sampled_from([0.0, 0.3, 0.77, 1.0]),
    plasticity=st.sampled_from([1.0, 0.6, 0.05, 0.0]),
    decay=st.sampled_from([0.25, 0.07, 0.5]),
    floor=st.sampled_from([0.0, 0.1, 0.45]),
    recruit=st.booleans(),
    rewire=st.sampled_from(["sample", "frequent"]),
)
def test_kernel_matches_numpy_reference(data, input_size, classes, per_class, competition,
                                        plasticity, decay, floor, recruit, rewire):
    num_weights = data.draw(st.integers(1, input_size))
    seed = data.draw(st.integers(0, 2**63 - 1))
    rule = Competitive(num_weights, classes, initial_plasticity=plasticity,
                       learning_competition=competition, plasticity_decay=decay,
                       min_plasticity=floor, recruit=recruit, rewire=rewire, seed=seed)
    state = rule.initial_state(input_size, classes * per_class)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    n = data.draw(st.integers(1, 25))
    x = (rng.random((n, input_size)) < rng.uniform(0.05, 0.6)).astype(np.uint8)
    y = rng.integers(-1, classes, n)
    expected_state = _copy(state)
    expected = reference_fit(expected_state, rule, x, y)
    np.testing.assert_array_equal(rule.learn(state, x, y), expected)
    _assert_same(state, expected_state)
