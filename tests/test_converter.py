"""Tests of spikelearn.converter: exact conversion of quantized Keras models, errors, CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spikelearn.converter import activation_thresholds

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_activation_thresholds_match_brute_force(bits):
    rng = np.random.default_rng(bits)
    a = np.concatenate([rng.uniform(0.001, 0.3, 6), [0.0, 0.0], [0.25, 0.5]])
    c = np.concatenate([rng.normal(0, 3, 6), [5.0, -5.0], [0.0, 0.125]])
    step = 0.5
    thresholds = activation_thresholds(a, c, step, bits)
    assert thresholds.shape == (10, 2**bits - 1) and thresholds.dtype == np.int32
    assert np.all(np.diff(thresholds.astype(np.int64), axis=1) >= 0)
    potentials = np.arange(-3000, 3000)
    for o in range(10):
        expected = np.clip(np.floor((a[o] * potentials + c[o]) / step + 0.5), 0, 2**bits - 1)
        got = (potentials[:, None] >= thresholds[o][None, :]).sum(1)
        np.testing.assert_array_equal(got, expected)
    assert thresholds[6, 0] == INT32_MIN and thresholds[7, 0] == INT32_MAX


def test_exact_ties_land_on_the_upper_level():
    # a*P + c = (k + 1/2) * step exactly at P = 2, 6, 10, ...: the level goes up there
    thresholds = activation_thresholds(np.array([0.25]), np.array([0.0]), 1.0, 2)
    np.testing.assert_array_equal(thresholds, [[2, 6, 10]])


def test_import_spikelearn_keeps_tensorflow_out(no_tensorflow):
    result = no_tensorflow(
        """
        import sys
        import spikelearn
        from spikelearn.errors import MissingDependencyError
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
        try:
            spikelearn.convert("model.h5")
        except MissingDependencyError as error:
            print("missing:", error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "missing: converting a Keras model needs TensorFlow" in result.stdout


# -- everything below needs TensorFlow -----------------------------------------------------------

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import spikelearn  # noqa: E402
from spikelearn.cli import app  # noqa: E402
from spikelearn.converter import check_model_compatibility, compare_layers, convert  # noqa: E402
from spikelearn.errors import ConversionError  # noqa: E402
from spikelearn.quantization import (  # noqa: E402
    QuantizedActivation,
    QuantizedConv2D,
    QuantizedDense,
    WeightQuantizer,
)
from spikelearn.quantization.quantize import quantize  # noqa: E402

L = keras.layers


def _randomize_batch_norms(model, rng):
    """Random statistics, a third of the gammas negative."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            gamma = rng.uniform(0.3, 1.5, c) * np.where(rng.random(c) < 0.33, -1, 1)
            layer.set_weights([gamma, rng.normal(0, 0.5, c), rng.normal(0, 1, c),
                               rng.uniform(0.5, 3, c)])


def _dscnn_like(shape):
    inputs = keras.Input(shape)
    x = L.Rescaling(1 / 255)(inputs)
    x = L.Conv2D(8, (5, 3), strides=(2, 1), padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(8, 1, activation="relu")(x)
    x = L.MaxPooling2D(2, padding="same")(x)
    x = L.SeparableConv2D(12, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    return keras.Model(inputs, L.Dense(5, activation="softmax")(x), name="dscnn_like")


def _strided_flatten(shape):
    inputs = keras.Input(shape)
    x = L.Conv2D(6, 3, strides=2, padding="valid")(inputs)
    x = L.BatchNormalization()(x)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.ReLU()(x)
    x = L.Conv2D(10, 3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Flatten()(x)
    return keras.Model(inputs, L.Dense(7)(x), name="strided_flatten")


def _dense_only(shape):
    inputs = keras.Input(shape)
    x = L.Dense(24)(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Dropout(0.2)(x)
    x = L.Dense(16, activation="relu")(x)
    return keras.Model(inputs, L.Dense(4)(x), name="dense_only")


def _separable_first_gap_last(shape):
    inputs = keras.Input(shape)
    x = L.SeparableConv2D(8, 3, padding="same")(inputs)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.Conv2D(6, 3, padding="same")(x)
    return keras.Model(inputs, L.GlobalAveragePooling2D()(x), name="separable_gap")


ARCHITECTURES = [
    # builder, input shape, (input weight, weight, activation, last activation) bits
    (_dscnn_like, (12, 10, 1), (8, 4, 4, 1)),
    (_dscnn_like, (12, 10, 1), (4, 2, 2, 2)),
    (_strided_flatten, (11, 9, 2), (8, 4, 2, 1)),
    (_strided_flatten, (11, 9, 2), (2, 8, 4, 4)),
    (_dense_only, (20,), (8, 4, 4, 1)),
    (_separable_first_gap_last, (6, 6, 3), (8, 4, 1, 2)),
]


@pytest.mark.parametrize(("builder", "shape", "bits"), ARCHITECTURES,
                         ids=[f"{a[0].__name__}-{'-'.join(map(str, a[2]))}" for a in ARCHITECTURES])
def test_conversion_reproduces_keras(builder, shape, bits):
    rng = np.random.default_rng(sum(bits))
    keras.utils.set_random_seed(sum(bits))
    float_model = builder(shape)
    _randomize_batch_norms(float_model, rng)
    data = rng.integers(0, 256, (400, *shape)).astype(np.uint8)
    quantized = quantize(float_model, *bits, calibration_data=data[:100])
    assert check_model_compatibility(quantized) == []
    model = convert(quantized)
    assert isinstance(model, spikelearn.Model)
    report = compare_layers(quantized, model, data)
    assert [r["layer"] for r in report] == [
        layer.name for layer in model.layers if type(layer).__name__ != "InputData"]
    for row in report:
        assert row["agreement"] >= 0.999, row
    # not trivially constant: the feature layers produce several levels
    assert len(np.unique(model.forward(data.reshape(-1, *model.input_shape), until=0))) > 1
    keras_scores = quantized.predict(data.astype(np.float32), verbose=0).reshape(len(data), -1)
    engine_scores = model.forward(data.reshape(-1, *model.input_shape)).reshape(len(data), -1)
    assert np.mean(keras_scores.argmax(1) == engine_scores.argmax(1)) >= 0.999


@pytest.mark.parametrize("weight_clip", ["max", "mse"])
def test_trained_dscnn_converts_exactly(weight_clip):
    """A few epochs of QAT (trainable steps, moving BN statistics) keep the exactness, also
    with clipped weight scales."""
    rng = np.random.default_rng(7)
    keras.utils.set_random_seed(7)
    data = rng.integers(0, 256, (256, 12, 10, 1)).astype(np.uint8)
    labels = (data[:, :6].mean((1, 2, 3)) > data[:, 6:].mean((1, 2, 3))).astype(int)
    quantized = quantize(_dscnn_like((12, 10, 1)), calibration_data=data[:64],
                         weight_clip=weight_clip)
    quantized.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    quantized.fit(data.astype(np.float32), labels, epochs=4, batch_size=32, verbose=0)
    model = convert(quantized)
    assert min(r["agreement"] for r in compare_layers(quantized, model, data)) >= 0.999
    keras_classes = quantized.predict(data.astype(np.float32), verbose=0).argmax(1)
    assert np.mean(keras_classes == model.predict_classes(data)) >= 0.999


def _tiny(*layers, shape=(6, 6, 1)):
    inputs = keras.Input(shape)
    x = inputs
    for layer in layers:
        x = layer(x)
    return keras.Model(inputs, x)


def _last_dense():
    return QuantizedDense(3, kernel_quantizer=WeightQuantizer(4), quantize_bias=True)


def _check_problem(model, pattern):
    problems = check_model_compatibility(model)
    assert any(__import__("re").search(pattern, p) for p in problems), problems
    with pytest.raises(ConversionError, match=pattern):
        convert(model)


def test_float_model_error_says_to_quantize():
    model = _tiny(L.Conv2D(2, 3), L.ReLU(), L.Flatten(), L.Dense(3))
    _check_problem(model, r"float model.*spikelearn\.quantization\.quantize")


@pytest.mark.parametrize(("layers", "pattern"), [
    ([QuantizedConv2D(2, 3, name="c"), L.LeakyReLU(name="leaky")],
     r"layer 'leaky' \(LeakyReLU\) is not supported; supported:"),
    ([QuantizedConv2D(2, 3), QuantizedActivation(8, name="act8")],
     r"'act8'.*8-bit activations are not supported; supported: \(1, 2, 4\)"),
    ([QuantizedConv2D(2, 3), QuantizedActivation(1), L.GlobalAveragePooling2D(name="gap"),
      _last_dense()], r"'gap'.*place it before the activation"),
    ([QuantizedConv2D(2, 3, padding="same"), L.MaxPooling2D(name="pool"),
      L.BatchNormalization(gamma_initializer="ones", name="bn"), QuantizedActivation(1),
      L.Flatten(), _last_dense()], None),
    ([QuantizedConv2D(2, 3), L.Flatten(), QuantizedDense(3, kernel_quantizer=4, name="fc")],
     r"'fc'.*quantize_bias=True"),
    ([QuantizedConv2D(2, 3), L.Flatten(), QuantizedDense(3, quantize_bias=True, name="fc")],
     r"'fc'.*per tensor"),
    ([QuantizedConv2D(2, 3, name="c1"), QuantizedConv2D(2, 3, name="c2"), L.Flatten(),
      _last_dense()], r"'c1' is followed by another weight layer without a QuantizedActivation"),
    ([QuantizedConv2D(2, 3, activation="relu", name="fused"), QuantizedActivation(1),
      L.Flatten(), _last_dense()], r"'fused'.*fused activation 'relu'"),
    ([QuantizedConv2D(2, 3), QuantizedActivation(1), QuantizedDense(3, name="d4")],
     r"'d4'.*must follow a Flatten"),
    ([QuantizedConv2D(2, 3, name="last"), L.BatchNormalization()],
     r"'last' has no activation: BatchNormalization"),
    ([QuantizedConv2D(2, 3), QuantizedActivation(1), L.Flatten(), _last_dense(),
      L.Softmax(name="sm"), L.Dropout(0.1, name="late")], r"'late'.*softmax may only be last"),
    ([QuantizedConv2D(2, 3, kernel_quantizer=WeightQuantizer(8)), QuantizedActivation(2),
      QuantizedActivation(2, name="again")], r"'again'.*already has activation"),
])
def test_incompatible_models_name_layer_and_rule(layers, pattern):
    model = _tiny(*layers)
    if pattern is None:  # max pooling before a positive batch norm is fine
        assert check_model_compatibility(model) == []
        model.layers[3].set_weights([-np.ones(2), np.zeros(2), np.zeros(2), np.ones(2)])
        pattern = r"'bn'.*after MaxPooling2D has negative gamma"
    _check_problem(model, pattern)


def test_every_problem_is_listed_at_once():
    model = _tiny(QuantizedConv2D(2, 3, name="c1"), QuantizedActivation(8, name="a8"),
                  L.AveragePooling2D(2, name="avg"), L.Flatten(),
                  QuantizedDense(3, kernel_quantizer=4, name="fc"))
    problems = check_model_compatibility(model)
    assert len(problems) == 3, problems
    with pytest.raises(ConversionError) as error:
        convert(model)
    for name in ("'a8'", "'avg'", "'fc'"):
        assert name in str(error.value)


def test_branching_model_and_bad_path():
    inputs = keras.Input((4, 4, 1))
    branch = QuantizedConv2D(1, 3, padding="same")(inputs)
    problems = check_model_compatibility(keras.Model(inputs, L.Add()([branch, inputs])))
    assert len(problems) == 1 and "single chain" in problems[0]
    with pytest.raises(ConversionError, match="cannot load Keras model"):
        convert("/nonexistent/model.h5")


def test_input_rescaling_is_folded():
    rng = np.random.default_rng(5)
    inputs = keras.Input((5, 5, 1))
    x = L.Rescaling(1 / 255)(inputs)
    x = QuantizedConv2D(3, 3, kernel_quantizer=WeightQuantizer(8, True))(x)
    x = QuantizedActivation(4, step=0.05)(x)
    model = keras.Model(inputs, x)
    data = rng.integers(0, 256, (200, 5, 5, 1)).astype(np.uint8)
    levels = model.predict(data.astype(np.float32), verbose=0)
    assert len(np.unique(levels)) > 4
    np.testing.assert_array_equal(convert(model).forward(data), levels.astype(np.uint8))


@pytest.fixture(scope="module")
def h5_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    keras.utils.set_random_seed(0)
    float_model = _strided_flatten((11, 9, 2))
    float_model.save(folder / "float.h5")
    quantize(float_model).save(folder / "quantized.h5")
    return folder


def test_cli_convert_and_summary(h5_files):
    from typer.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(h5_files / "quantized.h5")])
    assert result.exit_code == 0, result.output
    assert "spikelearn model" in result.output and "quantized.slm" in result.output
    model = spikelearn.Model(h5_files / "quantized.slm")
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputConv2D", "Conv2D", "FullyConnected"]
    result = runner.invoke(app, ["convert", str(h5_files / "quantized.h5"), "-o",
                                 str(h5_files / "other.slm")])
    assert result.exit_code == 0 and (h5_files / "other.slm").is_file()
    result = runner.invoke(app, ["summary", str(h5_files / "other.slm")])
    assert result.exit_code == 0 and "FullyConnected" in result.output


def test_cli_errors_exit_nonzero_without_traceback(h5_files):
    from typer.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(app, ["convert", str(h5_files / "float.h5")])
    assert result.exit_code == 1
    assert "spikelearn.quantization.quantize" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["convert", str(h5_files / "missing.h5")])
    assert result.exit_code == 1 and "no such Keras model file" in result.output
    result = runner.invoke(app, ["summary", str(h5_files / "float.h5")])
    assert result.exit_code == 1 and "Traceback" not in result.output


def test_cli_convert_as_a_subprocess(h5_files):
    output = h5_files / "subprocess.slm"
    result = subprocess.run(
        [sys.executable, "-m", "spikelearn", "convert", str(h5_files / "quantized.h5"),
         "--output", str(output)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert output.is_file() and "wrote" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "spikelearn", "convert", str(h5_files / "float.h5")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "quantize" in result.stderr and "Traceback" not in result.stderr
