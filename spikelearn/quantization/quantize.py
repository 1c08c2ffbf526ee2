"""Map a float Keras model to its quantized twin, ready for quantization-aware training."""

from __future__ import annotations

import keras
import numpy as np

from spikelearn.errors import ConversionError
from spikelearn.quantization.equalization import equalize_separable
from spikelearn.quantization.layers import QUANTIZED_WEIGHT_LAYERS, QuantizedActivation
from spikelearn.quantization.quantizers import (
    WEIGHT_CLIPS,
    WeightQuantizer,
    max_activation_level,
)

#: Float layers :func:`quantize` copies unchanged.
KEPT_LAYERS = (
    "BatchNormalization",
    "MaxPooling2D",
    "GlobalAveragePooling2D",
    "Flatten",
    "Reshape",
    "Dropout",
)
#: Everything :func:`quantize` accepts, for error messages.
SUPPORTED_FLOAT_LAYERS = (
    "Conv2D, SeparableConv2D, DepthwiseConv2D, Dense, BatchNormalization, ReLU, ReLU6, "
    "Activation('relu'/'relu6'/'softmax'), MaxPooling2D, GlobalAveragePooling2D, Flatten, "
    "Reshape, Rescaling (input only), Dropout, InputLayer"
)


def layer_chain(model) -> list:
    """The layers of a single-input, single-output chain model, in order, without InputLayer.

    Parameters
    ----------
    model : keras.Model
        A Sequential model or a functional model whose layers form one chain.

    Returns
    -------
    list of keras.layers.Layer

    Raises
    ------
    ConversionError
        If the model branches, has several inputs or outputs, or reuses a layer.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ConversionError(
            f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
            "outputs; only a single chain of layers (one input, one output) is supported"
        )
    previous = model.inputs[0]
    for layer in layers:
        if len(layer._inbound_nodes) != 1 or len(layer._inbound_nodes[0].input_tensors) != 1:
            raise ConversionError(
                f"layer {layer.name!r} is shared or has several inputs; only a single chain "
                "of layers is supported"
            )
        if layer._inbound_nodes[0].input_tensors[0] is not previous:
            raise ConversionError(
                f"layer {layer.name!r} does not take the output of the layer before it; only "
                "a single chain of layers (no branches or skip connections) is supported"
            )
        previous = layer.output
    return layers


def _activation_cap(layer) -> tuple[str, float | None] | None:
    """``("relu", cap)``, ``("softmax", None)``, ``("linear", None)`` or None (unsupported)."""
    kind = type(layer).__name__
    if kind == "ReLU":
        if float(layer.negative_slope) != 0.0 or float(layer.threshold) != 0.0:
            return None
        cap = layer.max_value
        return ("relu", None if cap is None else float(cap))
    if kind == "Softmax":
        return ("softmax", None)
    if kind == "Activation":
        return _named_activation(layer.activation)
    return None


def _named_activation(function) -> tuple[str, float | None] | None:
    name = getattr(function, "__name__", str(function))
    return {
        "relu": ("relu", None),
        "relu6": ("relu", 6.0),
        "softmax": ("softmax", None),
        "linear": ("linear", None),
    }.get(name)


def _is_weight_layer(layer) -> bool:
    kind = type(layer).__name__
    return kind in QUANTIZED_WEIGHT_LAYERS and isinstance(layer, getattr(keras.layers, kind))


def _expand(layers) -> list[tuple]:
    """Items ``(kind, layer, extra)``; fused activations of weight layers become own items."""
    items = []
    for layer in layers:
        kind = type(layer).__name__
        if _is_weight_layer(layer):
            items.append(("weight", layer, None))
            activation = _named_activation(layer.activation)
            if activation is None:
                raise ConversionError(
                    f"layer {layer.name!r}: activation {layer.activation.__name__!r} is not "
                    "supported; use relu, relu6, softmax (last layer) or none"
                )
            if activation[0] != "linear":
                items.append((activation[0], layer, activation[1]))
        elif type(layer).__module__.startswith("spikelearn"):
            raise ConversionError(
                f"layer {layer.name!r} ({kind}) is already quantized; quantize() takes a float "
                "model"
            )
        elif kind in KEPT_LAYERS:
            items.append(("keep", layer, None))
        elif kind == "Rescaling":
            if np.any(np.asarray(layer.offset) != 0) or np.size(layer.scale) != 1:
                raise ConversionError(
                    f"layer {layer.name!r}: Rescaling must have a scalar scale and offset 0, "
                    f"got scale={layer.scale!r}, offset={layer.offset!r}"
                )
            items.append(("rescale", layer, float(np.asarray(layer.scale))))
        else:
            activation = _activation_cap(layer)
            if activation is None:
                raise ConversionError(
                    f"layer {layer.name!r} ({kind}) is not supported; supported layers: "
                    f"{SUPPORTED_FLOAT_LAYERS}"
                )
            if activation[0] != "linear":
                items.append((activation[0], layer, activation[1]))
    return items


def _clone(layer, **overrides):
    return type(layer).from_config({**layer.get_config(), **overrides})


def _float_activation_inputs(float_model, items, data: np.ndarray) -> dict[int, np.ndarray]:
    """Float pre-activation values at every ReLU item, from a model with activations split."""
    relu_indices = [index for index, item in enumerate(items) if item[0] == "relu"]
    if not relu_indices:
        return {}
    inputs = keras.Input(float_model.input_shape[1:])
    x, taps, clones = inputs, {}, []
    for index, (kind, layer, cap) in enumerate(items[:relu_indices[-1] + 1]):
        if kind == "relu":
            taps[index] = x
            x = keras.layers.ReLU(max_value=cap)(x)
            continue
        clone = _clone(layer, activation="linear") if kind == "weight" else _clone(layer)
        x = clone(x)
        clones.append((clone, layer))
    for clone, layer in clones:
        clone.set_weights(layer.get_weights())
    tap_model = keras.Model(inputs, list(taps.values()))
    values = tap_model.predict(np.asarray(data, dtype="float32"), verbose=0, batch_size=256)
    if len(taps) == 1:
        values = [values]
    return dict(zip(taps, values, strict=True))


def calibrate_step(values: np.ndarray, bits: int, cap: float | None = None) -> float:
    """Activation step minimising the squared error to ``clip(relu(values), 0, cap)``.

    Parameters
    ----------
    values : np.ndarray, float
        Float pre-activations (any shape; subsampled to 200 000).
    bits : {1, 2, 4, 8}
        Activation bit width.
    cap : float, optional
        Upper clip of the float activation (6 for ReLU6).

    Returns
    -------
    float
        The step (> 0).
    """
    max_level = max_activation_level(bits)
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size > 200_000:
        values = np.random.default_rng(0).choice(values, 200_000, replace=False)
    target = np.clip(values, 0.0, np.inf if cap is None else cap)
    positive = target[target > 0]
    if positive.size == 0:
        return (cap or 6.0) / max_level
    top = np.percentile(positive, 99.99)
    best_step, best_error = top / max_level, np.inf
    for fraction in np.linspace(0.05, 1.5, 59):
        step = top * fraction / max_level
        levels = np.clip(np.floor(values / step + 0.5), 0, max_level)
        error = np.mean((levels * step - target) ** 2)
        if error < best_error:
            best_step, best_error = step, error
    return float(best_step)


def quantize(
    float_model,
    input_weight_bits: int = 8,
    weight_bits: int = 4,
    activation_bits: int = 4,
    last_activation_bits: int = 1,
    *,
    calibration_data: np.ndarray | None = None,
    trainable_step: bool = True,
    equalize: bool = False,
    weight_clip: str = "max",
):
    """Quantized twin of a float Keras model, with its weights, ready for ``model.fit``.

    Weight layers become their ``Quantized*`` versions (per-channel weight scales, except the
    last layer when it has no activation: per tensor with its bias on the potential grid),
    ReLU / ReLU6 / ``Activation('relu')`` (fused ones included) become
    :class:`~spikelearn.quantization.QuantizedActivation` layers, which output integer levels;
    the kernel of the next weight layer absorbs the activation step (and an input
    ``Rescaling`` scale), so the quantized model computes what the float one does.

    Parameters
    ----------
    float_model : keras.Model
        Sequential or functional chain of Conv2D, SeparableConv2D, DepthwiseConv2D, Dense,
        BatchNormalization, ReLU / ReLU6 / Activation, MaxPooling2D, GlobalAveragePooling2D,
        Flatten, Reshape, Rescaling (before the first weight layer), Dropout.
        Its input should be integer levels (e.g. uint8 features), optionally rescaled.
    input_weight_bits : {2, 4, 8}
        Weight bits of the first weight layer.
    weight_bits : {2, 4, 8}
        Weight bits of the other weight layers.
    activation_bits : {1, 2, 4}
        Bits of every activation except the one feeding the last weight layer.
    last_activation_bits : {1, 2, 4}
        Bits of the activation feeding the last weight layer (1: spikes for the learning layer).
    calibration_data : np.ndarray, optional
        Model inputs ``(n, ...)``; the activation steps then minimise the squared error to the
        float activations (otherwise ``step = 6 / (2**bits - 1)``, or the ReLU cap).
    trainable_step : bool
        Learn the activation steps during quantization-aware training.
    equalize : bool
        Give every SeparableConv2D equalized kernels before quantizing them
        (:func:`~spikelearn.quantization.equalization.equalize_separable`: the same float
        function, depthwise channel ranges balanced against the pointwise rows, since the
        depthwise kernel is quantized per tensor). The float model is not changed.
    weight_clip : {"max", "mse"}
        How every weight quantizer chooses its scale (:class:`WeightQuantizer`): ``"max"``
        clips no weight, ``"mse"`` clips the largest ones where that lowers the squared
        error of the quantized weights (finer levels for the others).

    Returns
    -------
    keras.Model
        A functional model (not compiled), with the float model's name.

    Raises
    ------
    ConversionError
        On an unsupported layer or activation, a model that is not a chain, an already
        quantized layer, a Rescaling after a weight layer, BatchNormalization after an
        activation, or ``equalize`` with a separable depth multiplier other than 1.
    """
    for what, bits, allowed in (
        ("input_weight_bits", input_weight_bits, (2, 4, 8)),
        ("weight_bits", weight_bits, (2, 4, 8)),
        ("activation_bits", activation_bits, (1, 2, 4)),
        ("last_activation_bits", last_activation_bits, (1, 2, 4)),
    ):
        if bits not in allowed:
            raise ValueError(f"{what} must be one of {allowed}, got {bits!r}")
    if weight_clip not in WEIGHT_CLIPS:
        raise ValueError(f"weight_clip must be one of {WEIGHT_CLIPS}, got {weight_clip!r}")
    items = _expand(layer_chain(float_model))
    weight_indices = [i for i, item in enumerate(items) if item[0] == "weight"]
    if not weight_indices:
        raise ConversionError(f"model {float_model.name!r} has no Conv2D, SeparableConv2D, "
                              "DepthwiseConv2D or Dense layer to quantize")
    last_weight = weight_indices[-1]
    activations = [i for i, item in enumerate(items) if item[0] == "relu"]
    feeding_last = [i for i in activations if i < last_weight]
    last_activation = feeding_last[-1] if feeding_last else None
    last_is_linear = not any(i > last_weight for i in activations)

    float_values = (
        _float_activation_inputs(float_model, items, calibration_data)
        if calibration_data is not None else {}
    )
    input_layers = [layer for layer in float_model.layers
                    if isinstance(layer, keras.layers.InputLayer)]
    inputs = keras.Input(float_model.input_shape[1:],
                         name=input_layers[0].name if input_layers else None)
    x, pending_scale, after_activation, assignments = inputs, 1.0, False, []
    for index, (kind, layer, extra) in enumerate(items):
        if kind == "weight":
            last = index == last_weight and last_is_linear
            bits = input_weight_bits if index == weight_indices[0] else weight_bits
            quantized = _quantized_twin(layer, bits, per_channel=not last, quantize_bias=last,
                                        input_scale=pending_scale, clip=weight_clip)
            x = quantized(x)
            weights = layer.get_weights()
            if equalize and type(layer).__name__ == "SeparableConv2D":
                if layer.depth_multiplier != 1:
                    raise ConversionError(
                        f"layer {layer.name!r}: equalize needs depth_multiplier 1, got "
                        f"{layer.depth_multiplier}")
                weights[:2] = equalize_separable(weights[0], weights[1])
            assignments.append((quantized, weights))
            pending_scale, after_activation = 1.0, False
        elif kind == "relu":
            bits = last_activation_bits if index == last_activation else activation_bits
            step = (
                calibrate_step(float_values[index], bits, extra) if index in float_values
                else (extra or 6.0) / max_activation_level(bits)
            )
            name = f"{layer.name}_activation" if _is_weight_layer(layer) else layer.name
            x = QuantizedActivation(bits, step, trainable_step, name=name)(x)
            pending_scale, after_activation = step, True
        elif kind == "softmax" and _is_weight_layer(layer):
            x = keras.layers.Activation("softmax", name=f"{layer.name}_softmax")(x)
        elif kind == "rescale":
            if index > weight_indices[0]:
                raise ConversionError(
                    f"layer {layer.name!r}: Rescaling is supported only before the first weight "
                    "layer (as an input scale)"
                )
            pending_scale *= extra
        else:
            if type(layer).__name__ == "BatchNormalization" and after_activation:
                raise ConversionError(
                    f"layer {layer.name!r}: BatchNormalization after an activation is not "
                    "supported; place it between the weight layer and the activation"
                )
            clone = _clone(layer)
            x = clone(x)
            assignments.append((clone, layer.get_weights()))
    model = keras.Model(inputs, x, name=float_model.name)
    for layer, weights in assignments:
        layer.set_weights(weights)
    return model


def _quantized_twin(layer, bits: int, *, per_channel: bool, quantize_bias: bool,
                    input_scale: float, clip: str):
    kind = type(layer).__name__
    config = {**layer.get_config(), "activation": "linear", "quantize_bias": quantize_bias,
              "input_scale": input_scale}
    if kind in ("Conv2D", "Dense"):
        config["kernel_quantizer"] = WeightQuantizer(bits, per_channel, clip)
    elif kind == "DepthwiseConv2D":
        config["depthwise_quantizer"] = WeightQuantizer(bits, per_channel, clip)
    else:
        config["depthwise_quantizer"] = WeightQuantizer(bits, clip=clip)
        config["pointwise_quantizer"] = WeightQuantizer(bits, per_channel, clip)
    return QUANTIZED_WEIGHT_LAYERS[kind].from_config(config)
