"""Tests of spikelearn.quantization: quantizers, quantized layers, quantize()."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from spikelearn.errors import ConversionError  # noqa: E402
from spikelearn.quantization import (  # noqa: E402
    ActivationQuantizer,
    QuantizedActivation,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedDepthwiseConv2D,
    QuantizedSeparableConv2D,
    WeightQuantizer,
    quantize_activation,
    quantize_weights,
)
from spikelearn.quantization.equalization import (  # noqa: E402
    equalization_scales,
    equalize_separable,
)
from spikelearn.quantization.quantize import calibrate_step, quantize  # noqa: E402
from spikelearn.quantization.quantizers import (  # noqa: E402
    CLIP_FRACTIONS,
    weight_levels_and_scale,
)

L = keras.layers


def numpy_weight_levels(w, bits, per_channel):
    """Reference: symmetric levels and scale, round half away from zero."""
    q = 2 ** (bits - 1) - 1
    axes = tuple(range(w.ndim - 1))
    max_abs = np.abs(w).max(axis=axes, keepdims=True) if per_channel else np.abs(w).max()
    scale = np.float32(max_abs) / np.float32(q)
    ratio = (w / scale).astype(np.float32)
    return np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -q, q), scale


@pytest.mark.parametrize("bits", [2, 4, 8])
@pytest.mark.parametrize("per_channel", [False, True])
def test_weight_quantizer_values_and_gradient(bits, per_channel):
    w = np.random.default_rng(bits).normal(size=(3, 3, 2, 5)).astype(np.float32)
    ref_levels, ref_scale = numpy_weight_levels(w, bits, per_channel)
    levels, scale = weight_levels_and_scale(w, bits, per_channel)
    np.testing.assert_array_equal(np.asarray(levels), ref_levels)
    np.testing.assert_allclose(np.broadcast_to(np.asarray(scale), ref_scale.shape), ref_scale)
    assert np.abs(ref_levels).max() == 2 ** (bits - 1) - 1
    variable = tf.Variable(w)
    with tf.GradientTape() as tape:
        out = WeightQuantizer(bits, per_channel)(variable)
        loss = tf.reduce_sum(out * np.arange(out.shape[-1], dtype=np.float32))
    np.testing.assert_allclose(np.asarray(out), ref_levels * ref_scale, rtol=1e-6)
    # straight through: d loss / d w is the upstream gradient, untouched
    expected = np.broadcast_to(np.arange(5, dtype=np.float32), w.shape)
    np.testing.assert_allclose(tape.gradient(loss, variable).numpy(), expected)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_activation_quantizer_values_and_gradients(bits):
    top = 2**bits - 1
    step = np.float32(0.37)
    x = np.linspace(-1, (top + 1) * step, 301).astype(np.float32)
    ref = np.clip(np.floor(x / step + np.float32(0.5)), 0, top)
    x_var, step_var = tf.Variable(x), tf.Variable(step)
    with tf.GradientTape() as tape:
        levels = quantize_activation(x_var, bits, step_var)
        loss = tf.reduce_sum(levels)
    np.testing.assert_array_equal(levels.numpy(), ref)
    np.testing.assert_array_equal(ActivationQuantizer(bits, float(step))(x).numpy(), ref)
    grad_x, grad_step = tape.gradient(loss, [x_var, step_var])
    inside = (x / step > 0) & (x / step < top)
    np.testing.assert_allclose(grad_x.numpy(), np.where(inside, 1 / step, 0), rtol=1e-5)
    np.testing.assert_allclose(grad_step.numpy(), np.sum(np.where(inside, -x / step**2, 0)),
                               rtol=1e-4)


def test_quantizer_docstring_examples_and_errors():
    assert quantize_activation(np.array([-1.0, 0.4, 0.5, 2.0]), bits=1).numpy().tolist() == [
        0, 0, 1, 1]
    assert np.asarray(quantize_weights(np.array([0.7, -0.1, 0.35]), bits=2)).tolist()[1] == 0
    for bad in (3, 16, True, 1):
        with pytest.raises(ValueError, match="weight bits"):
            WeightQuantizer(bad)
    with pytest.raises(ValueError, match="activation bits"):
        ActivationQuantizer(3)
    with pytest.raises(ValueError, match="step"):
        ActivationQuantizer(4, step=0.0)


def numpy_mse_levels(w, bits):
    """Reference of clip="mse", per output channel (last axis): every fraction tried."""
    q = 2 ** (bits - 1) - 1
    levels, scales = np.empty_like(w), np.empty(w.shape[-1], np.float32)
    for c in range(w.shape[-1]):
        column, best = w[..., c], None
        for fraction in sorted(CLIP_FRACTIONS, reverse=True):
            scale = np.float32(np.abs(column).max() * np.float32(fraction)) / np.float32(q)
            ratio = (column / scale).astype(np.float32)
            level = np.clip(np.sign(ratio) * np.floor(np.abs(ratio) + 0.5), -q, q)
            error = np.sum((level * scale - column) ** 2)
            if best is None or error < best[0]:
                best = (error, scale, level)
        _, scales[c], levels[..., c] = best
    return levels, scales


def test_mse_weight_clip_finds_the_least_error_scale_and_freezes_clipped_weights():
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 3, 4, 6)).astype(np.float32)
    w[0, 0, 0, :3] = 8.0  # outliers in the first three channels
    ref_levels, ref_scales = numpy_mse_levels(w, 4)
    levels, scale = weight_levels_and_scale(w, 4, per_channel=True, clip="mse")
    np.testing.assert_array_equal(np.asarray(levels), ref_levels)
    np.testing.assert_allclose(np.asarray(scale).reshape(-1), ref_scales, rtol=1e-6)
    max_scales = np.abs(w).max(axis=(0, 1, 2)) / 7
    assert np.all(ref_scales[:3] < 0.95 * max_scales[:3])  # the outliers are clipped
    plain = np.asarray(quantize_weights(w, 4, per_channel=True))
    clipped = np.asarray(quantize_weights(w, 4, per_channel=True, clip="mse"))
    assert np.sum((clipped - w) ** 2) < np.sum((plain - w) ** 2)
    # per tensor: one scale, no larger than the plain one
    _, tensor_scale = weight_levels_and_scale(w, 4, clip="mse")
    assert np.asarray(tensor_scale).shape == () and tensor_scale <= np.abs(w).max() / 7
    variable = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(WeightQuantizer(4, True, "mse")(variable))
    gradient = tape.gradient(loss, variable).numpy()
    inside = np.abs(w / ref_scales) < 7.5
    np.testing.assert_array_equal(gradient, np.where(inside, 1.0, 0.0))
    assert not inside[0, 0, 0, :3].any()
    with pytest.raises(ValueError, match=r"weight clip must be one of \('max', 'mse'\)"):
        WeightQuantizer(4, clip="median")


@pytest.mark.parametrize("quantizer", [WeightQuantizer(2, True), WeightQuantizer(4, False, "mse"),
                                       ActivationQuantizer(1, 0.5)])
def test_quantizer_serialization_round_trip(quantizer):
    config = keras.saving.serialize_keras_object(quantizer)
    assert config["registered_name"].startswith("spikelearn>")
    again = keras.saving.deserialize_keras_object(config)
    assert type(again) is type(quantizer) and again.get_config() == quantizer.get_config()


def test_weight_quantizer_of_an_older_file_clips_nothing():
    """Files saved before ``clip`` existed have no such key: they load as "max"."""
    assert WeightQuantizer.from_config({"bits": 4, "per_channel": True}).clip == "max"


LAYERS = [
    lambda: QuantizedConv2D(3, 3, padding="same", kernel_quantizer=WeightQuantizer(8, True)),
    lambda: QuantizedDepthwiseConv2D(3, depth_multiplier=2, depthwise_quantizer=2),
    lambda: QuantizedSeparableConv2D(4, 3, pointwise_quantizer=WeightQuantizer(4, True)),
    lambda: QuantizedDense(3, kernel_quantizer=4, quantize_bias=True),
    lambda: QuantizedActivation(2, 0.25, trainable_step=False),
]


@pytest.mark.parametrize("make_layer", LAYERS)
def test_layer_config_round_trip_and_integer_forward(make_layer):
    layer = make_layer()
    x = np.random.default_rng(0).integers(0, 4, (2, 5, 5, 2)).astype(np.float32)
    if isinstance(layer, QuantizedDense):
        x = x.reshape(2, -1)
    y = layer(x).numpy()
    clone = type(layer).from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), y)
    if isinstance(layer, QuantizedActivation):
        assert set(np.unique(y)) <= {0, 1, 2, 3}
    elif isinstance(layer, QuantizedConv2D):
        levels, scale = layer.kernel_quantizer.levels_and_scale(layer.kernel)
        potentials = tf.nn.conv2d(x, levels, 1, "SAME").numpy()
        np.testing.assert_allclose(y, potentials * np.asarray(scale).ravel(), rtol=1e-6)
        assert np.all(potentials == np.round(potentials))


def test_quantize_bias_puts_outputs_on_the_potential_grid():
    layer = QuantizedDense(4, kernel_quantizer=4, quantize_bias=True,
                           bias_initializer=keras.initializers.RandomNormal(seed=1))
    x = np.random.default_rng(1).integers(0, 2, (50, 6)).astype(np.float32)
    y = layer(x).numpy()
    _, scale = layer.kernel_quantizer.levels_and_scale(layer.kernel)
    grid = y / float(scale)
    np.testing.assert_allclose(grid, np.round(grid), atol=1e-3)


def test_separable_rejects_per_channel_depthwise():
    with pytest.raises(ValueError, match="per tensor"):
        QuantizedSeparableConv2D(4, 3, depthwise_quantizer=WeightQuantizer(4, True))


def _float_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 6, 1))
    x = L.Rescaling(1 / 255)(inputs)
    x = L.Conv2D(6, 3, padding="same")(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU()(x)
    x = L.SeparableConv2D(8, 3, padding="same", activation="relu")(x)
    x = L.MaxPooling2D()(x)
    x = L.Dropout(0.1)(x)
    x = L.Flatten()(x)
    x = L.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, x, name="float_net")


@pytest.fixture(scope="module")
def float_model():
    return _float_model()


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(3).integers(0, 256, (64, 8, 6, 1)).astype(np.float32)


def test_quantize_structure_and_calibration(float_model, data):
    quantized = quantize(float_model, calibration_data=data)
    kinds = [type(layer).__name__ for layer in quantized.layers]
    assert kinds == ["InputLayer", "QuantizedConv2D", "BatchNormalization",
                     "QuantizedActivation", "QuantizedSeparableConv2D", "QuantizedActivation",
                     "MaxPooling2D", "Dropout", "Flatten", "QuantizedDense", "Activation"]
    activations = [layer for layer in quantized.layers if isinstance(layer, QuantizedActivation)]
    assert [a.bits for a in activations] == [4, 1]
    assert quantized.layers[1].kernel_quantizer.bits == 8
    last = quantized.layers[-2]
    assert not last.kernel_quantizer.per_channel and last.quantize_bias
    # calibrated steps are the MSE-best of the float activations, not the default 6 / L
    assert activations[0].step_value != pytest.approx(6 / 15)
    quantizers = [q for layer in quantized.layers for q in _weight_quantizers(layer)]
    assert len(quantizers) == 4 and {q.clip for q in quantizers} == {"max"}
    clipped = quantize(float_model, calibration_data=data, weight_clip="mse")
    assert {q.clip for layer in clipped.layers for q in _weight_quantizers(layer)} == {"mse"}


def _weight_quantizers(layer):
    names = ("kernel_quantizer", "depthwise_quantizer", "pointwise_quantizer")
    return [getattr(layer, name) for name in names if hasattr(layer, name)]


def test_input_and_activation_scales_stay_out_of_the_kernels(float_model, data):
    """The kernels keep the float model's magnitude (so QAT steps are well scaled); the value
    of one input level is the layer's ``input_scale``."""
    quantized = quantize(float_model, calibration_data=data)
    float_weights = [layer for layer in float_model.layers if layer.get_weights()]
    first, separable = quantized.layers[1], quantized.layers[4]
    np.testing.assert_array_equal(first.kernel.numpy(), float_weights[0].kernel.numpy())
    assert first.input_scale == pytest.approx(1 / 255)
    step = quantized.layers[3].step_value
    assert separable.input_scale == pytest.approx(step)
    np.testing.assert_array_equal(separable.depthwise_kernel.numpy(),
                                  float_weights[2].depthwise_kernel.numpy())
    assert type(first).from_config(first.get_config()).input_scale == first.input_scale
    with pytest.raises(ValueError, match="input_scale must be > 0"):
        QuantizedConv2D(2, 3, input_scale=0.0)


def test_quantize_fine_bits_tracks_float_model(float_model, data):
    """With 8-bit weights and 4-bit activations the quantized model follows the float one."""
    quantized = quantize(float_model, 8, 8, 4, 4, calibration_data=data)
    ours = quantized.predict(data, verbose=0)
    theirs = float_model.predict(data, verbose=0)
    assert np.mean(ours.argmax(1) == theirs.argmax(1)) > 0.8
    assert np.abs(ours - theirs).mean() < 0.1


def test_quantized_model_trains_with_fit(float_model, data):
    quantized = quantize(float_model, calibration_data=data)
    quantized.compile("adam", "sparse_categorical_crossentropy")
    labels = np.arange(len(data)) % 4
    before = [w.copy() for w in quantized.get_weights()]
    history = quantized.fit(data, labels, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(before, quantized.get_weights(),
                                                         strict=True))


def test_h5_round_trip_loads_without_custom_objects(float_model, data, tmp_path):
    quantized = quantize(float_model, calibration_data=data)
    path = tmp_path / "q.h5"
    quantized.save(path)
    loaded = keras.models.load_model(path, compile=False)
    assert [type(a) for a in loaded.layers] == [type(b) for b in quantized.layers]
    np.testing.assert_array_equal(loaded.predict(data, verbose=0),
                                  quantized.predict(data, verbose=0))
    assert loaded.layers[3].step_value == quantized.layers[3].step_value


def test_calibrate_step_minimises_error():
    values = np.random.default_rng(0).normal(size=10_000)
    step = calibrate_step(values, 4)
    target = np.maximum(values, 0)

    def error(s):
        return np.mean((np.clip(np.floor(values / s + 0.5), 0, 15) * s - target) ** 2)

    assert error(step) <= min(error(step * 0.8), error(step * 1.25))
    assert calibrate_step(-np.ones(10), 1) == 6.0
    assert calibrate_step(values, 2, cap=1.0) * 3 < 1.6


def test_quantize_errors():
    inputs = keras.Input((4, 4, 1))
    with pytest.raises(ConversionError, match="'lrelu'.*not supported"):
        quantize(keras.Model(inputs, L.LeakyReLU(name="lrelu")(L.Conv2D(2, 3)(inputs))))
    with pytest.raises(ConversionError, match="tanh"):
        quantize(keras.Model(inputs, L.Conv2D(2, 3, activation="tanh")(inputs)))
    with pytest.raises(ConversionError, match="already quantized"):
        quantize(keras.Model(inputs, QuantizedConv2D(2, 3)(inputs)))
    x = L.ReLU()(L.Conv2D(2, 3)(inputs))
    with pytest.raises(ConversionError, match="after an activation"):
        quantize(keras.Model(inputs, L.BatchNormalization(name="late_bn")(x)))
    with pytest.raises(ConversionError, match="Rescaling is supported only before"):
        quantize(keras.Model(inputs, L.Rescaling(2.0)(L.Conv2D(2, 3)(inputs))))
    with pytest.raises(ConversionError, match="offset 0"):
        quantize(keras.Model(inputs, L.Conv2D(2, 3)(L.Rescaling(2.0, offset=1.0)(inputs))))
    branch = L.Conv2D(2, 3, padding="same")(inputs)
    with pytest.raises(ConversionError, match="single chain"):
        quantize(keras.Model(inputs, L.Add()([branch, inputs])))
    with pytest.raises(ConversionError, match="no Conv2D"):
        quantize(keras.Model(inputs, L.ReLU()(inputs)))
    with pytest.raises(ValueError, match="weight_bits must be one of"):
        quantize(keras.Model(inputs, L.Conv2D(2, 3)(inputs)), weight_bits=3)
    with pytest.raises(ValueError, match="last_activation_bits"):
        quantize(keras.Model(inputs, L.Conv2D(2, 3)(inputs)), last_activation_bits=8)
    with pytest.raises(ValueError, match=r"weight_clip must be one of \('max', 'mse'\)"):
        quantize(keras.Model(inputs, L.Conv2D(2, 3)(inputs)), weight_clip="percentile")


def test_equalization_scales_balance_the_two_ranges():
    depthwise = np.zeros((3, 3, 3, 1), np.float32)
    depthwise[1, 1, :, 0] = [4.0, -1.0, 0.0]  # channel ranges 4, 1, 0
    pointwise = np.zeros((1, 1, 3, 2), np.float32)
    pointwise[0, 0] = [[1.0, 0.5], [-4.0, 2.0], [3.0, 0.0]]  # row ranges 1, 4, 3
    np.testing.assert_allclose(equalization_scales(depthwise, pointwise), [2.0, 0.5, 1.0])
    d, p = equalize_separable(depthwise, pointwise)
    assert d.dtype == p.dtype == np.float32
    np.testing.assert_allclose(np.abs(d).max(axis=(0, 1, 3))[:2], [2.0, 2.0])
    np.testing.assert_allclose(np.abs(p).max(axis=(0, 1, 3)), [2.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"\(kh, kw, channels, 1\)"):
        equalization_scales(np.ones((3, 3, 3, 2)), pointwise)
    with pytest.raises(ValueError, match="1, 1, 3, filters"):
        equalization_scales(depthwise, np.ones((1, 1, 4, 2)))


def _skewed_separable_model():
    """A separable convolution whose depthwise channels differ 20x in range."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 4))
    x = L.SeparableConv2D(5, 3, padding="same", name="sep")(inputs)
    model = keras.Model(inputs, x, name="skewed")
    depthwise, pointwise, bias = model.get_layer("sep").get_weights()
    depthwise *= np.array([1.0, 0.05, 0.05, 0.05], np.float32)[None, None, :, None]
    pointwise *= np.array([0.3, 1.0, 1.0, 1.0], np.float32)[None, None, :, None]
    model.get_layer("sep").set_weights([depthwise, pointwise, bias])
    return model


def test_equalize_keeps_the_float_function_and_cuts_the_quantization_error():
    model = _skewed_separable_model()
    x = np.random.default_rng(0).uniform(0, 4, (32, 6, 6, 4)).astype(np.float32)
    depthwise, pointwise, bias = model.get_layer("sep").get_weights()
    reference = model.predict(x, verbose=0)
    equalized = keras.models.clone_model(model)
    equalized.get_layer("sep").set_weights([*equalize_separable(depthwise, pointwise), bias])
    np.testing.assert_allclose(equalized.predict(x, verbose=0), reference, rtol=1e-4,
                               atol=1e-5)

    plain = quantize(model, 4, 4, 4, 4)
    balanced = quantize(model, 4, 4, 4, 4, equalize=True)
    np.testing.assert_array_equal(model.get_layer("sep").get_weights()[0], depthwise)
    kernel = balanced.get_layer("sep").depthwise_kernel.numpy()
    np.testing.assert_allclose(kernel, equalize_separable(depthwise, pointwise)[0])
    # per tensor, 4 bits: the three small channels round to 0 unless equalized
    levels = [weight_levels_and_scale(q.get_layer("sep").depthwise_kernel.numpy(), 4)[0]
              for q in (plain, balanced)]
    assert np.count_nonzero(np.asarray(levels[0])[..., 1:, :]) == 0
    assert np.count_nonzero(np.asarray(levels[1])[..., 1:, :]) > 0
    errors = [np.abs(q.predict(x, verbose=0) - reference).mean() for q in (plain, balanced)]
    assert errors[1] < 0.5 * errors[0]


def test_equalize_refuses_a_depth_multiplier():
    inputs = keras.Input((6, 6, 2))
    x = L.SeparableConv2D(4, 3, depth_multiplier=2, name="sep2")(inputs)
    with pytest.raises(ConversionError, match="'sep2'.*depth_multiplier 1, got 2"):
        quantize(keras.Model(inputs, x), equalize=True)
