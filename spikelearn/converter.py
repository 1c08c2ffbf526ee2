"""Convert a quantized Keras model into an integer :class:`spikelearn.Model`.

Each quantized weight layer, with the batch normalization, pooling and activation that
follow it (up to the next weight layer), becomes one engine layer. In the Keras model a weight
layer computes ``y = P * scale + bias`` from the integer potential ``P`` (its inputs are
integer levels); batch normalization, the input ``Rescaling`` scale and global average pooling
make it ``z = a * P + c`` per channel, and the activation gives
``level = clip(floor(z / step + 1/2), 0, L)``. The converter negates the integer weights of a
channel with ``a < 0`` and computes the integer thresholds
``thresholds[o, k] = min {P : level(P) >= k + 1}`` exactly (float64, neighbours checked).
A last layer without activation keeps its grid bias ``round(bias / scale)`` and stores
``scale`` as ``output_scale``.

TensorFlow is imported only when a function here is called with a Keras model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikelearn.errors import ConversionError, MissingDependencyError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
#: Weight bits the engine accepts from Keras quantizers (first layer / other layers).
ENGINE_WEIGHT_BITS = (2, 4, 8)
#: Activation bits of engine feature layers.
ENGINE_ACTIVATION_BITS = (1, 2, 4)
#: Keras layers that end a model without changing the predicted class.
_FINAL_LAYERS = ("Softmax", "Activation")


@dataclass
class _Stage:
    """A quantized weight layer and the layers that follow it up to the next one."""

    layer: Any
    kind: str
    input_shape: tuple
    batch_norms: list = field(default_factory=list)  # (layer, after_max_pool)
    global_pool: Any = None
    max_pool: Any = None
    activation: Any = None
    output_layer: Any = None


def _quantized_kinds() -> dict:
    from spikelearn.quantization import layers as qlayers

    return {
        qlayers.QuantizedConv2D: "conv",
        qlayers.QuantizedDepthwiseConv2D: "depthwise",
        qlayers.QuantizedSeparableConv2D: "separable",
        qlayers.QuantizedDense: "dense",
    }


def _weight_quantizers(stage: _Stage) -> list[tuple[str, Any]]:
    layer = stage.layer
    if stage.kind in ("conv", "dense"):
        return [("kernel", layer.kernel_quantizer)]
    if stage.kind == "depthwise":
        return [("depthwise", layer.depthwise_quantizer)]
    return [("depthwise", layer.depthwise_quantizer), ("pointwise", layer.pointwise_quantizer)]


def _plan(model) -> tuple[list[_Stage], float, tuple, list[str]]:
    """Walk the chain: stages, input scale, engine input shape and every problem found."""
    from spikelearn.quantization.layers import QuantizedActivation
    from spikelearn.quantization.quantize import layer_chain

    try:
        layers = layer_chain(model)
    except ConversionError as error:
        return [], 1.0, (), [str(error)]
    kinds = _quantized_kinds()
    float_weight = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense")
    if not any(type(layer) in kinds for layer in layers):
        if any(type(layer).__name__ in float_weight for layer in layers):
            return [], 1.0, (), [
                f"model {model.name!r} is a float model (no quantized layer); call "
                "spikelearn.quantization.quantize(model) and fine-tune it first"]
        return [], 1.0, (), [f"model {model.name!r} has no quantized weight layer"]

    problems: list[str] = []
    stages: list[_Stage] = []
    input_scale, flatten_pending, final = 1.0, False, None
    input_shape = tuple(model.input_shape[1:])
    for layer in layers:
        kind = type(layer).__name__
        stage = stages[-1] if stages else None
        where = f"layer {layer.name!r} ({kind})"
        if final is not None:
            problems.append(f"{where} follows {final.name!r}; a softmax may only be last")
        elif type(layer) in kinds:
            shape = tuple(layer.input.shape[1:])
            if stage is None:
                input_shape = shape
            stages.append(_Stage(layer, kinds[type(layer)], shape))
            stages[-1].output_layer = layer
            problems += _check_weight_layer(layer, kinds[type(layer)])
            flatten_pending = False
        elif kind in float_weight:
            problems.append(f"{where} is not quantized; call spikelearn.quantization.quantize "
                            "first")
        elif kind in ("InputLayer", "Dropout"):
            continue
        elif stage is None:
            if kind == "Rescaling":
                if np.size(layer.scale) != 1 or np.any(np.asarray(layer.offset) != 0):
                    problems.append(f"{where}: only a scalar scale with offset 0 is supported, "
                                    f"got scale={layer.scale!r}, offset={layer.offset!r}")
                else:
                    input_scale *= float(np.asarray(layer.scale))
            elif kind != "Reshape":
                problems.append(f"{where} before the first weight layer is not supported; "
                                "supported there: InputLayer, Reshape, Rescaling, Dropout")
        elif kind in ("Flatten", "Reshape"):
            if kind == "Reshape" and len(layer.target_shape) != 1:
                problems.append(f"{where}: only a Reshape to one dimension (a flatten) is "
                                "supported after the first weight layer")
            flatten_pending = True
        elif flatten_pending:
            problems.append(f"{where} follows a Flatten; only a Dense layer may follow it")
        elif isinstance(layer, QuantizedActivation):
            if stage.activation is not None:
                problems.append(f"{where}: layer {stage.layer.name!r} already has activation "
                                f"{stage.activation.name!r}")
            elif layer.bits not in ENGINE_ACTIVATION_BITS:
                problems.append(f"{where}: {layer.bits}-bit activations are not supported; "
                                f"supported: {ENGINE_ACTIVATION_BITS}")
            stage.activation = stage.output_layer = layer
        elif kind == "BatchNormalization":
            if stage.activation is not None:
                problems.append(f"{where} after the activation {stage.activation.name!r} is "
                                "not supported; place it before the activation")
            elif layer.axis not in (-1, len(layer.input.shape) - 1):
                problems.append(f"{where}: only axis -1 (channels last) is supported")
            stage.batch_norms.append((layer, stage.max_pool is not None))
            stage.output_layer = layer
        elif kind == "GlobalAveragePooling2D":
            if stage.activation is not None:
                problems.append(
                    f"{where} after the activation {stage.activation.name!r} cannot be "
                    "converted; place it before the activation (conv -> [BN] -> "
                    "GlobalAveragePooling2D -> [BN] -> activation)")
            elif stage.global_pool is not None or stage.max_pool is not None:
                problems.append(f"{where}: a layer may have one pooling only")
            elif layer.keepdims:
                problems.append(f"{where}: keepdims=True is not supported")
            stage.global_pool = stage.output_layer = layer
        elif kind == "MaxPooling2D":
            if stage.global_pool is not None or stage.max_pool is not None:
                problems.append(f"{where}: a layer may have one pooling only")
            stage.max_pool = stage.output_layer = layer
        elif kind in _FINAL_LAYERS and _is_softmax(layer):
            final = layer
        else:
            problems.append(
                f"{where} is not supported; supported: quantized Conv2D, DepthwiseConv2D, "
                "SeparableConv2D, Dense, QuantizedActivation, BatchNormalization, "
                "MaxPooling2D, GlobalAveragePooling2D, Flatten, Reshape, Dropout, Rescaling "
                "(input), Softmax (last)")
    if flatten_pending:
        problems.append("the model ends with a Flatten/Reshape; a Dense layer must follow it")
    for stage in stages:
        problems += _check_stage(stage, stage is stages[-1], final)
    if len(input_shape) == 1:
        input_shape = (1, 1, *input_shape)
    if len(input_shape) != 3:
        problems.append(f"the input of the first weight layer has shape {input_shape}; the "
                        "engine needs (height, width, channels) or (features,)")
    return stages, input_scale, input_shape, problems


def _is_softmax(layer) -> bool:
    if type(layer).__name__ == "Softmax":
        return True
    return getattr(layer.activation, "__name__", "") in ("softmax", "linear")


def _check_weight_layer(layer, kind: str) -> list[str]:
    where = f"layer {layer.name!r} ({type(layer).__name__})"
    problems = []
    if getattr(layer.activation, "__name__", "linear") != "linear":
        problems.append(f"{where}: fused activation {layer.activation.__name__!r} is not "
                        "supported; use a QuantizedActivation layer")
    if kind != "dense":
        if layer.data_format != "channels_last":
            problems.append(f"{where}: data_format must be 'channels_last'")
        if tuple(layer.dilation_rate) != (1, 1):
            problems.append(f"{where}: dilation_rate {layer.dilation_rate} is not supported")
        if getattr(layer, "groups", 1) != 1:
            problems.append(f"{where}: groups={layer.groups} is not supported")
        if kind == "separable" and layer.depth_multiplier != 1:
            problems.append(f"{where}: depth_multiplier {layer.depth_multiplier} is not "
                            "supported; use 1")
    elif len(layer.input.shape) != 2:
        problems.append(f"{where}: a Dense layer must follow a Flatten or "
                        "GlobalAveragePooling2D (its input has shape "
                        f"{tuple(layer.input.shape[1:])})")
    for name, quantizer in _weight_quantizers(_Stage(layer, kind, ())):
        if quantizer.bits not in ENGINE_WEIGHT_BITS:
            problems.append(f"{where}: {quantizer.bits}-bit {name} weights are not supported; "
                            f"supported: {ENGINE_WEIGHT_BITS}")
    return problems


def _check_stage(stage: _Stage, last: bool, final) -> list[str]:
    where = f"layer {stage.layer.name!r}"
    if stage.activation is None:
        if not last:
            return [f"{where} is followed by another weight layer without a "
                    "QuantizedActivation between them; only the last layer may lack one"]
        problems = []
        if stage.batch_norms:
            problems.append(f"{where} has no activation: BatchNormalization after it cannot be "
                            "converted exactly (fold it into the layer or add an activation)")
        if stage.max_pool is not None:
            problems.append(f"{where} has no activation: MaxPooling2D needs one")
        if any(q.per_channel for _, q in _weight_quantizers(stage)):
            problems.append(f"{where} is the last layer without activation: its weight "
                            "quantizers must be per tensor (per_channel=False)")
        if stage.layer.use_bias and not stage.layer.quantize_bias:
            problems.append(f"{where} is the last layer without activation: it needs "
                            "quantize_bias=True (or use_bias=False)")
        return problems
    if final is not None and last:
        return [f"layer {final.name!r} (softmax) must follow a last layer without activation"]
    problems = []
    for bn, after_pool in stage.batch_norms:
        if after_pool and np.any(_batch_norm_affine(bn)[0] < 0):
            problems.append(f"layer {bn.name!r} (BatchNormalization) after MaxPooling2D has "
                            "negative gamma; max pooling then does not commute with it")
    return problems


def check_model_compatibility(model) -> list[str]:
    """Every reason why ``model`` cannot be converted (an empty list if it can).

    Parameters
    ----------
    model : keras.Model
        A quantized Keras model (see :func:`spikelearn.quantization.quantize`).

    Returns
    -------
    list of str
        One message per problem, naming the layer, what was found and what is supported.
    """
    return _plan(model)[3]


def _batch_norm_affine(layer) -> tuple[np.ndarray, np.ndarray]:
    """``(multiplier, offset)`` float64 of a BatchNormalization layer in inference mode."""
    weights = {w.path.split("/")[-1]: np.asarray(w.numpy(), np.float64) for w in layer.weights}
    mean, variance = weights["moving_mean"], weights["moving_variance"]
    gamma = weights.get("gamma", np.ones_like(mean))
    beta = weights.get("beta", np.zeros_like(mean))
    multiplier = gamma / np.sqrt(variance + layer.epsilon)
    return multiplier, beta - mean * multiplier


def _numpy(tensor) -> np.ndarray:
    from keras import ops

    return ops.convert_to_numpy(tensor)


def _integer_weights(stage: _Stage) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Engine integer weights (int64, output channels last) and the per-channel scale."""
    layer = stage.layer
    # The value of one input level, as the Keras layer applies it (float32 product).
    input_scale = np.float32(getattr(layer, "input_scale", 1.0))
    if stage.kind in ("conv", "dense"):
        levels, scale = layer.kernel_quantizer.levels_and_scale(layer.kernel)
        levels = np.rint(_numpy(levels)).astype(np.int64)
        scale = np.broadcast_to(_numpy(scale) * input_scale,
                                (1,) * (levels.ndim - 1) + levels.shape[-1:])
        return {"weights": levels}, scale.ravel()
    if stage.kind == "depthwise":
        levels, scale = layer.depthwise_quantizer.levels_and_scale(layer.kernel, (2, 3))
        levels = np.rint(_numpy(levels)).astype(np.int64)
        kh, kw, cin, multiplier = levels.shape
        weights = np.zeros((kh, kw, cin, cin * multiplier), np.int64)
        for channel in range(cin):
            weights[:, :, channel, channel * multiplier:(channel + 1) * multiplier] = (
                levels[:, :, channel, :])
        scale = np.broadcast_to(_numpy(scale) * input_scale, (1, 1, cin, multiplier)).ravel()
        return {"weights": weights}, scale
    d_levels, d_scale = layer.depthwise_quantizer.levels_and_scale(layer.depthwise_kernel)
    p_levels, p_scale = layer.pointwise_quantizer.levels_and_scale(layer.pointwise_kernel)
    depthwise = np.rint(_numpy(d_levels)).astype(np.int64)[:, :, :, 0]
    pointwise = np.rint(_numpy(p_levels)).astype(np.int64)[0, 0]
    # As the Keras layer computes it: (d_scale * p_scale) * input_scale, in float32.
    scale = np.broadcast_to(_numpy(d_scale) * _numpy(p_scale), (1, 1, 1, layer.filters))
    scale = np.float64(scale * input_scale)
    return {"depthwise": depthwise, "pointwise": pointwise}, scale.ravel()


def _bias(stage: _Stage, scale: np.ndarray) -> tuple[np.ndarray, bool]:
    """The Keras bias (float64), and whether it is already on the integer grid."""
    layer = stage.layer
    if not layer.use_bias:
        return np.zeros(scale.shape), True
    if layer.quantize_bias:
        from spikelearn.quantization.quantizers import _round_ste

        bias = _numpy(_round_ste(layer.bias / np.float32(scale).reshape(-1)))
        return np.asarray(bias, np.float64), True
    return np.asarray(_numpy(layer.bias), np.float64), False


def activation_thresholds(multiplier, offset, step: float, bits: int) -> np.ndarray:
    """Integer thresholds of ``level(P) = clip(floor((a*P + c) / step + 1/2), 0, L)``.

    Parameters
    ----------
    multiplier : np.ndarray, float64, shape (channels,)
        ``a >= 0`` per channel (negate the weights of a channel with ``a < 0`` first).
    offset : np.ndarray, float64, shape (channels,)
        ``c`` per channel.
    step : float
        Activation step (> 0).
    bits : int
        Activation bits; ``L = 2**bits - 1``.

    Returns
    -------
    np.ndarray, int32, shape (channels, L)
        ``thresholds[o, k]``, the smallest integer ``P`` with ``level(P) >= k + 1``
        (``INT32_MIN`` when always reached, ``INT32_MAX`` when never).
    """
    a = np.asarray(multiplier, np.float64)[:, None]
    c = np.asarray(offset, np.float64)[:, None]
    targets = np.arange(1, 2**bits, dtype=np.float64)[None, :]

    def reached(potential):
        with np.errstate(invalid="ignore", over="ignore"):
            return np.floor((a * potential + c) / step + 0.5) >= targets

    safe_a = np.where(a > 0, a, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        candidate = np.ceil(((targets - 0.5) * step - c) / safe_a)
    candidate = np.clip(np.nan_to_num(candidate, nan=INT32_MAX), INT32_MIN - 2.0, INT32_MAX + 2.0)
    for _ in range(3):
        candidate = np.where(reached(candidate - 1), candidate - 1, candidate)
        candidate = np.where(reached(candidate), candidate, candidate + 1)
    constant = np.where(np.broadcast_to(c / step + 0.5 >= targets, candidate.shape),
                        INT32_MIN, INT32_MAX)
    thresholds = np.where(np.broadcast_to(a > 0, candidate.shape), candidate, constant)
    return np.clip(thresholds, INT32_MIN, INT32_MAX).astype(np.int32)


def _engine_layer(stage: _Stage, first: bool, input_shape: tuple, input_bits: int):
    from spikelearn import layers as engine

    layer = stage.layer
    bits = max(q.bits for _, q in _weight_quantizers(stage))
    activation_bits = None if stage.activation is None else stage.activation.bits
    if stage.kind == "dense":
        return engine.FullyConnected(layer.units, weight_bits=bits,
                                     activation_bits=activation_bits, name=layer.name)
    options: dict[str, Any] = {"strides": tuple(layer.strides), "padding": layer.padding,
                               "weight_bits": bits, "activation_bits": activation_bits,
                               "name": layer.name}
    if stage.global_pool is not None:
        options["pool"] = "global_avg"
    elif stage.max_pool is not None:
        pool = stage.max_pool
        options.update(pool="max", pool_size=tuple(pool.pool_size),
                       pool_stride=tuple(pool.strides), pool_padding=pool.padding)
    filters = layer.filters if stage.kind != "depthwise" else (
        stage.input_shape[-1] * layer.depth_multiplier)
    if stage.kind == "separable":
        return engine.SeparableConv2D(filters, tuple(layer.kernel_size), **options)
    if first:
        return engine.InputConv2D(input_shape, filters, tuple(layer.kernel_size),
                                  input_bits=input_bits, **options)
    return engine.Conv2D(filters, tuple(layer.kernel_size), **options)


def convert(model, *, input_bits: int = 8):
    """Convert a quantized Keras model to an integer :class:`spikelearn.Model`.

    Parameters
    ----------
    model : keras.Model or str or os.PathLike
        A quantized Keras model (from :func:`spikelearn.quantization.quantize`, possibly
        fine-tuned), or the path of its ``.h5`` / ``.keras`` file.
    input_bits : int, default 8
        Bits of the model input (uint8 levels).

    Returns
    -------
    spikelearn.Model
        One engine layer per quantized weight layer (an ``InputData`` layer first when the
        first weight layer is not a Conv2D); layers keep the Keras names.

    Raises
    ------
    ConversionError
        Listing every problem found (see :func:`check_model_compatibility`).

    Examples
    --------
    >>> import spikelearn  # doctest: +SKIP
    >>> engine_model = spikelearn.convert(quantized_keras_model)  # doctest: +SKIP
    """
    from spikelearn.layers import InputData
    from spikelearn.model import Model

    model = load_keras_model(model)
    stages, input_scale, input_shape, problems = _plan(model)
    if problems:
        raise ConversionError(f"cannot convert model {model.name!r}:\n  - "
                              + "\n  - ".join(problems))
    engine_model = Model()
    for index, stage in enumerate(stages):
        first = index == 0
        if first and stage.kind != "conv":
            engine_model.add(InputData(input_shape, input_bits=input_bits, name="input"))
        layer = _engine_layer(stage, first, input_shape, input_bits)
        engine_model.add(layer)
        specs = layer.variable_specs()
        for name, value in _stage_variables(stage, input_scale if first else 1.0).items():
            if name in specs:
                layer.set_variable(name, value)
    return engine_model


def _stage_variables(stage: _Stage, input_scale: float) -> dict[str, np.ndarray]:
    """Integer weights, bias, thresholds (or output scale) of one stage."""
    weights, scale = _integer_weights(stage)
    bias, on_grid = _bias(stage, scale)
    multiplier = scale.astype(np.float64) * input_scale
    offset = bias * multiplier if on_grid else bias
    positions = 1
    if stage.global_pool is not None:
        positions = int(np.prod(stage.global_pool.input.shape[1:3]))
    if stage.activation is None:
        return {**weights, "bias": bias.astype(np.int64),
                "output_scale": (multiplier / positions).astype(np.float32)}
    for bn, _ in stage.batch_norms:
        bn_multiplier, bn_offset = _batch_norm_affine(bn)
        multiplier, offset = multiplier * bn_multiplier, offset * bn_multiplier + bn_offset
    negative = multiplier < 0
    last_axis = "pointwise" if "pointwise" in weights else "weights"
    weights[last_axis] = np.where(negative, -weights[last_axis], weights[last_axis])
    thresholds = activation_thresholds(np.abs(multiplier) / positions, offset,
                                       stage.activation.step_value, stage.activation.bits)
    return {**weights, "bias": np.zeros(len(multiplier), np.int64), "thresholds": thresholds}


def load_keras_model(model):
    """A Keras model, loading it first when given a path (registers the quantized layers)."""
    try:
        import keras

        import spikelearn.quantization  # noqa: F401  (registers the quantized layers)
    except ImportError as error:
        raise MissingDependencyError(
            "converting a Keras model needs TensorFlow: pip install tensorflow") from error
    if isinstance(model, keras.Model):
        return model
    try:
        return keras.models.load_model(model, compile=False)
    except (OSError, ValueError) as error:
        raise ConversionError(f"cannot load Keras model {str(model)!r}: {error}") from error


def compare_layers(keras_model, model, x: np.ndarray) -> list[dict[str, Any]]:
    """Agreement of the Keras and engine outputs, layer by layer.

    Parameters
    ----------
    keras_model : keras.Model
        The quantized Keras model.
    model : spikelearn.Model
        Its conversion.
    x : np.ndarray, uint8, shape (n,) + input shape
        Inputs (integer levels).

    Returns
    -------
    list of dict
        Per engine layer: ``"layer"`` (name), ``"keras_layer"`` (the Keras layer whose output
        it reproduces), ``"agreement"`` (fraction of equal elements: activation levels, or
        potentials ``round(y / output_scale)`` for a layer without activation),
        ``"max_difference"`` and ``"elements"``.
    """
    import keras

    stages, input_scale, _, problems = _plan(keras_model)
    if problems:
        raise ConversionError("; ".join(problems))
    probe = keras.Model(keras_model.inputs, [stage.output_layer.output for stage in stages])
    x = np.asarray(x)
    keras_outputs = probe.predict(x.reshape((len(x), *keras_model.input_shape[1:]))
                                  .astype(np.float32), verbose=0, batch_size=256)
    x = x.reshape((len(x), *model.input_shape))
    if len(stages) == 1:
        keras_outputs = [keras_outputs]
    results = []
    for stage, keras_output in zip(stages, keras_outputs, strict=True):
        name = stage.layer.name
        engine_output = model.forward(x, until=name).reshape(len(x), -1).astype(np.int64)
        keras_output = np.asarray(keras_output, np.float64).reshape(len(x), -1)
        if stage.activation is None:
            scale = _stage_variables(stage, input_scale if stage is stages[0] else 1.0)
            keras_output = keras_output / scale["output_scale"].astype(np.float64)
        keras_levels = np.rint(keras_output).astype(np.int64)
        results.append({
            "layer": name,
            "keras_layer": stage.output_layer.name,
            "agreement": float(np.mean(keras_levels == engine_output)),
            "max_difference": int(np.abs(keras_levels - engine_output).max(initial=0)),
            "elements": int(engine_output.size),
        })
    return results
