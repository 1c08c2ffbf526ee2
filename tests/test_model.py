"""The Model: building, forward with validation and batching, predictions, summary."""

from __future__ import annotations

import io

import numpy as np
import pytest
from engine_helpers import randomize_model
from rich.console import Console

import spikelearn
from spikelearn import Conv2D, FullyConnected, InputConv2D, InputData, Model, SeparableConv2D
from spikelearn.layers.reference import reference_call
from spikelearn.summary import summary_rows


def small_model():
    return randomize_model(Model([
        InputConv2D((9, 6, 1), 8, 3, strides=2, name="input"),
        SeparableConv2D(8, pool="max"),
        Conv2D(6, 1, activation_bits=1, pool="global_avg"),
        FullyConnected(4, weight_bits=2),
    ]), np.random.default_rng(0), bias=30, thresholds=(0, 120))


@pytest.fixture(scope="module")
def model():
    return small_model()


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).integers(0, 256, (37, 9, 6, 1)).astype(np.uint8)


def test_forward_matches_chained_reference(model, x):
    expected = x
    for layer in model.layers:
        expected = reference_call(layer, expected)
    out = model.forward(x)
    assert out.dtype == np.int32 and out.shape == (37, 1, 1, 4)
    np.testing.assert_array_equal(out, expected)


def test_forward_is_independent_of_batch_size(model, x):
    np.testing.assert_array_equal(model.forward(x, batch_size=5), model.forward(x))
    assert model.forward(x[:0]).shape == (0, 1, 1, 4)


def test_forward_until(model, x):
    to_head = model.forward(x, until=-2)
    assert to_head.dtype == np.uint8 and to_head.shape == (37, 1, 1, 6)
    np.testing.assert_array_equal(model.forward(x, until="conv2d_2"), to_head)
    np.testing.assert_array_equal(model.forward(x, until=0), model.layers[0].call(x))
    np.testing.assert_array_equal(model.get_layer(-1).call(to_head), model.forward(x))


def test_automatic_names_and_lookup(model):
    assert [layer.name for layer in model.layers] == ["input", "separable_conv2d_1", "conv2d_2",
                                                      "fully_connected_3"]
    assert model.get_layer("conv2d_2") is model.layers[2]
    assert model.get_layer(-1) is model.layers[3]
    assert model.input_shape == (9, 6, 1) and model.output_shape == (1, 1, 4)
    assert len(model) == 4 and "conv2d_2" in repr(model)
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(4)
    with pytest.raises(TypeError, match="name or index"):
        model.get_layer(1.0)


def test_pop_layer_and_add_back():
    model = small_model()
    head = model.pop_layer()
    assert model.output_shape == (1, 1, 6)
    model.add(head)
    assert model.layers[-1] is head
    with pytest.raises(ValueError, match="no layers"):
        Model().pop_layer()


@pytest.mark.parametrize(("layers", "error", "message"), [
    ([Conv2D(2, 3)], ValueError, "first layer must be InputData or InputConv2D"),
    ([InputData((2, 2, 1)), InputData((2, 2, 1))], ValueError, "must be the first layer"),
    ([InputData((2, 2, 1)), FullyConnected(2), FullyConnected(2)], ValueError,
     "only the last layer may lack one"),
    ([InputData((2, 2, 1), name="a"), FullyConnected(2, name="a")], ValueError, "already"),
    ([InputData((2, 2, 1)), "dense"], TypeError, "expects a spikelearn layer"),
    ([InputData((2, 2, 1)), Conv2D(2, 3, padding="valid")], ValueError, "smaller than"),
])
def test_add_rejects_invalid_stacks(layers, error, message):
    with pytest.raises(error, match=message):
        Model(layers)


def test_add_rejects_a_layer_built_for_another_shape():
    layer = FullyConnected(2)
    layer.build((3, 3, 1))
    with pytest.raises(ValueError, match="was built for input"):
        Model([InputData((2, 2, 1)), layer])


@pytest.mark.parametrize(("bad", "message"), [
    (np.zeros((2, 9, 6, 1), np.float32), "uint8 numpy array, got float32"),
    ([[0]], "uint8 numpy array, got list"),
    (np.zeros((2, 6, 9, 1), np.uint8), r"shape \(n, 9, 6, 1\), got \(2, 6, 9, 1\)"),
    (np.zeros((9, 6, 1), np.uint8), r"shape \(n, 9, 6, 1\), got \(9, 6, 1\)"),
])
def test_forward_rejects_bad_input(model, bad, message):
    with pytest.raises(ValueError, match=message):
        model.forward(bad)


def test_forward_rejects_values_above_input_bits():
    model = Model([InputData((1, 1, 3), input_bits=1), FullyConnected(2, weight_bits=1)])
    with pytest.raises(ValueError, match=r"<= 1 \(input_bits=1\), got a maximum of 2"):
        model.forward(np.array([[[[0, 1, 2]]]], np.uint8))
    with pytest.raises(ValueError, match="batch_size"):
        model.forward(np.zeros((1, 1, 1, 3), np.uint8), batch_size=0)


def test_predict_applies_output_scale(model, x):
    model.get_layer(-1).set_variable("output_scale", np.array([1, 0.5, 2, -1], np.float32))
    scores = model.predict(x)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, model.forward(x) * np.array([1, 0.5, 2, -1]))
    model.get_layer(-1).set_variable("output_scale", np.ones(4, np.float32))


def head_model(weights):
    model = Model([InputData((1, 1, 3), input_bits=1), FullyConnected(len(weights[0]),
                                                                      weight_bits=1)])
    model.get_layer(-1).set_variable("weights", np.array(weights))
    return model


def test_predict_classes_takes_the_best_neuron_of_each_class():
    # 4 neurons, 2 per class: potentials for input [1, 1, 0] are [0, 2, 1, 2]
    model = head_model([[0, 1, 1, 1], [0, 1, 0, 1], [1, 0, 0, 1]])
    x = np.array([[[[1, 1, 0]]], [[[0, 0, 1]]]], np.uint8)
    # second sample: potentials [1, 0, 0, 1] -> class scores [1, 1], tie -> class 0
    assert model.predict_classes(x, num_classes=2).tolist() == [0, 0]
    assert model.predict_classes(x).tolist() == [1, 0]
    assert model.evaluate(x, np.array([0, 1]), num_classes=2) == 0.5
    with pytest.raises(ValueError, match="positive divisor of the 4"):
        model.predict_classes(x, num_classes=3)
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        model.evaluate(x, np.array([0]))


def test_summary_rows_and_table(model):
    rows = summary_rows(model)
    assert rows[0]["MACs"] == 5 * 3 * 9 * 1 * 8  # output 5x3, 3x3 kernel, 1 -> 8 channels
    assert rows[1]["MACs"] == 5 * 3 * 8 * (9 + 8)
    assert rows[0]["parameters"] == 72 + 8 + 8 * 15
    assert rows[0]["memory (kbit)"] == pytest.approx((72 * 8 + 32 * (8 + 120)) / 1000)
    assert rows[-1]["layer"] == "total"
    assert rows[-1]["MACs"] == sum(row["MACs"] for row in rows[:-1])
    console = Console(file=io.StringIO(), width=160)
    spikelearn.summary.summary(model, console=console)
    text = console.file.getvalue()
    assert "separable_conv2d_1" in text and "total" in text and "3x3x8 + 8x8" in text


def test_summary_prints(model, capsys):
    model.summary()
    assert "fully_connected_3" in capsys.readouterr().out


def test_public_api_exports():
    for name in ("Model", "InputData", "InputConv2D", "Conv2D", "SeparableConv2D",
                 "FullyConnected", "evaluate_sparsity"):
        assert name in spikelearn.__all__ and hasattr(spikelearn, name)


def test_engine_works_without_tensorflow(no_tensorflow, tmp_path):
    result = no_tensorflow(f"""
        import sys
        import numpy as np
        import spikelearn
        from spikelearn import Model, InputConv2D, SeparableConv2D, FullyConnected
        model = Model([InputConv2D((8, 8, 1), 4, 3, strides=2), SeparableConv2D(4),
                       FullyConnected(3)])
        x = np.ones((2, 8, 8, 1), np.uint8)
        out = model.forward(x)
        model.save({str(tmp_path / "m.slm")!r})
        again = Model({str(tmp_path / "m.slm")!r}).forward(x)
        assert np.array_equal(out, again) and out.shape == (2, 1, 1, 3)
        spikelearn.evaluate_sparsity(model, x)
        assert not any(name.split(".")[0] in ("tensorflow", "keras") for name in sys.modules)
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_small_batches_use_fewer_threads_and_restore_the_setting(model, x, monkeypatch):
    import numba

    from spikelearn import model as model_module

    requested = []
    real_set = numba.set_num_threads
    monkeypatch.setattr(model_module.numba, "set_num_threads",
                        lambda n: requested.append(n) or real_set(n))
    before = numba.get_num_threads()
    np.testing.assert_array_equal(model.forward(x[:3]), model.forward(x, batch_size=64)[:3])
    assert requested[0] == 1 and requested[-1] == before
    assert numba.get_num_threads() == before
