"""Quantized Keras layers: the Keras layer plus weight quantizers (Larq style).

A quantized weight layer computes on integer weight levels and multiplies by the scale
afterwards, ``y = conv(x, levels) * scale + bias``. Its inputs are the integer levels of the
previous :class:`QuantizedActivation` (or the uint8 model input), so the convolution sum is an
exact integer in float32 and the converter reproduces it bit for bit. With
``quantize_bias=True`` (used for the last layer, which has no activation) the bias is rounded
onto the potential grid, ``y = (conv(x, levels) + round(bias / scale)) * scale``, so that the
class outputs of Keras and of the integer engine agree even on ties.
"""

from __future__ import annotations

import keras
from keras import ops

from spikelearn.quantization.quantizers import (
    ACTIVATION_BITS,
    MIN_STEP,
    WeightQuantizer,
    _check_bits,
    _round_ste,
    get_weight_quantizer,
    quantize_activation,
)


class _QuantizedWeights:
    """Mixin: bias handling and config of the quantized weight layers."""

    def _init_quantization(self, quantize_bias: bool, input_scale: float) -> None:
        self.quantize_bias = bool(quantize_bias)
        self.input_scale = float(input_scale)
        if not self.input_scale > 0:
            raise ValueError(f"layer {self.name!r}: input_scale must be > 0, got {input_scale!r}")

    def _add_bias(self, outputs, scale):
        """``outputs * scale + bias`` or, with ``quantize_bias``, ``(outputs + b_int) * scale``.

        ``scale`` is the weight scale times :attr:`input_scale` (the value of one input level).
        """
        scale = scale * self.input_scale
        if not self.use_bias:
            return outputs * scale
        scale_vector = ops.reshape(scale, (-1,))
        if self.quantize_bias:
            return (outputs + _round_ste(self.bias / scale_vector)) * scale_vector
        return outputs * scale_vector + self.bias

    def _quantizer_config(self, **quantizers) -> dict:
        config = {
            name: keras.saving.serialize_keras_object(quantizer)
            for name, quantizer in quantizers.items()
        }
        config["quantize_bias"] = self.quantize_bias
        config["input_scale"] = self.input_scale
        return config


@keras.saving.register_keras_serializable(package="spikelearn")
class QuantizedConv2D(_QuantizedWeights, keras.layers.Conv2D):
    """:class:`keras.layers.Conv2D` with quantized weights.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`keras.layers.Conv2D`.
    kernel_quantizer : WeightQuantizer, dict or int, optional
        Kernel quantizer (an int means that many bits, per tensor). Default 4 bits per channel.
    quantize_bias : bool
        Round the bias onto the integer potential grid (needs a per-tensor kernel quantizer
        for exact class outputs).
    input_scale : float
        Value of one input level (an input ``Rescaling`` scale or the previous activation's
        step). It multiplies the output scale instead of the kernel, so the kernel keeps the
        float model's magnitude and optimizers take sensible steps during QAT.
    """

    def __init__(self, *args, kernel_quantizer=None, quantize_bias=False, input_scale=1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_quantizer = get_weight_quantizer(kernel_quantizer) or WeightQuantizer(4, True)
        self._init_quantization(quantize_bias, input_scale)

    def call(self, inputs):
        levels, scale = self.kernel_quantizer.levels_and_scale(self.kernel)
        outputs = self._add_bias(self.convolution_op(inputs, levels), scale)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._quantizer_config(
            kernel_quantizer=self.kernel_quantizer)}


@keras.saving.register_keras_serializable(package="spikelearn")
class QuantizedDepthwiseConv2D(_QuantizedWeights, keras.layers.DepthwiseConv2D):
    """:class:`keras.layers.DepthwiseConv2D` with quantized weights.

    ``depthwise_quantizer`` (default 4 bits per channel), ``quantize_bias`` and ``input_scale``
    are as ``kernel_quantizer``, ``quantize_bias`` and ``input_scale`` of
    :class:`QuantizedConv2D`.
    """

    def __init__(self, *args, depthwise_quantizer=None, quantize_bias=False, input_scale=1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.depthwise_quantizer = (
            get_weight_quantizer(depthwise_quantizer) or WeightQuantizer(4, True)
        )
        self._init_quantization(quantize_bias, input_scale)

    def call(self, inputs):
        levels, scale = self.depthwise_quantizer.levels_and_scale(self.kernel, (2, 3))
        outputs = ops.depthwise_conv(
            inputs, levels, strides=self.strides, padding=self.padding,
            dilation_rate=self.dilation_rate, data_format=self.data_format,
        )
        outputs = self._add_bias(outputs, ops.reshape(scale, (-1,)))
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._quantizer_config(
            depthwise_quantizer=self.depthwise_quantizer)}


@keras.saving.register_keras_serializable(package="spikelearn")
class QuantizedSeparableConv2D(_QuantizedWeights, keras.layers.SeparableConv2D):
    """:class:`keras.layers.SeparableConv2D` with quantized weights.

    The depthwise sums are not requantized: ``y = pointwise(depthwise(x, d_levels),
    p_levels) * d_scale * p_scale + bias``.

    Parameters
    ----------
    depthwise_quantizer : WeightQuantizer, dict or int, optional
        Per-tensor quantizer of the depthwise kernel (default 4 bits).
    pointwise_quantizer : WeightQuantizer, dict or int, optional
        Quantizer of the pointwise kernel (default 4 bits per channel).
    quantize_bias, input_scale :
        As for :class:`QuantizedConv2D`.

    Raises
    ------
    ValueError
        If the depthwise quantizer is per channel.
    """

    def __init__(
        self, *args, depthwise_quantizer=None, pointwise_quantizer=None, quantize_bias=False,
        input_scale=1.0, **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.depthwise_quantizer = get_weight_quantizer(depthwise_quantizer) or WeightQuantizer(4)
        if self.depthwise_quantizer.per_channel:
            raise ValueError(
                f"layer {self.name!r}: the depthwise quantizer of a separable convolution must "
                "be per tensor (its sums are not requantized)"
            )
        self.pointwise_quantizer = (
            get_weight_quantizer(pointwise_quantizer) or WeightQuantizer(4, True)
        )
        self._init_quantization(quantize_bias, input_scale)

    def call(self, inputs):
        d_levels, d_scale = self.depthwise_quantizer.levels_and_scale(self.depthwise_kernel)
        p_levels, p_scale = self.pointwise_quantizer.levels_and_scale(self.pointwise_kernel)
        outputs = ops.separable_conv(
            inputs, d_levels, p_levels, strides=self.strides, padding=self.padding,
            dilation_rate=self.dilation_rate, data_format=self.data_format,
        )
        outputs = self._add_bias(outputs, ops.reshape(d_scale * p_scale, (-1,)))
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._quantizer_config(
            depthwise_quantizer=self.depthwise_quantizer,
            pointwise_quantizer=self.pointwise_quantizer)}


@keras.saving.register_keras_serializable(package="spikelearn")
class QuantizedDense(_QuantizedWeights, keras.layers.Dense):
    """:class:`keras.layers.Dense` with quantized weights.

    ``kernel_quantizer``, ``quantize_bias`` and ``input_scale`` are as for
    :class:`QuantizedConv2D`.
    """

    def __init__(self, *args, kernel_quantizer=None, quantize_bias=False, input_scale=1.0,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_quantizer = get_weight_quantizer(kernel_quantizer) or WeightQuantizer(4, True)
        self._init_quantization(quantize_bias, input_scale)

    def call(self, inputs, training=None):
        levels, scale = self.kernel_quantizer.levels_and_scale(self.kernel)
        outputs = self._add_bias(ops.matmul(inputs, levels), scale)
        return self.activation(outputs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._quantizer_config(
            kernel_quantizer=self.kernel_quantizer)}


@keras.saving.register_keras_serializable(package="spikelearn")
class QuantizedActivation(keras.layers.Layer):
    """Unsigned ``bits``-bit activation that outputs integer levels (1 bit: spikes).

    ``level = clip(floor(x / step + 1/2), 0, 2**bits - 1)``, with a clipped straight-through
    gradient (:func:`~spikelearn.quantization.quantizers.quantize_activation`).

    Parameters
    ----------
    bits : {1, 2, 4, 8}
        Bit width.
    step : float
        Initial quantization step (> 0).
    trainable_step : bool
        Learn the step with the other weights (clamped to ``>= 1e-6``).
    **kwargs
        As for :class:`keras.layers.Layer` (``name``, ...).
    """

    def __init__(self, bits: int = 4, step: float = 1.0, trainable_step: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.bits = _check_bits(bits, ACTIVATION_BITS, "activation")
        if not step > 0:
            raise ValueError(f"layer {self.name!r}: activation step must be > 0, got {step!r}")
        self.initial_step = float(step)
        self.trainable_step = bool(trainable_step)

    def build(self, input_shape):
        self.step = self.add_weight(
            name="step", shape=(), initializer=keras.initializers.Constant(self.initial_step),
            trainable=self.trainable_step,
        )

    @property
    def step_value(self) -> float:
        """The step in use, a Python float (the clamped variable)."""
        return max(float(ops.convert_to_numpy(self.step)), MIN_STEP)

    def call(self, inputs):
        return quantize_activation(inputs, self.bits, ops.maximum(self.step, MIN_STEP))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        step = self.step_value if self.built else self.initial_step
        return {**super().get_config(), "bits": self.bits, "step": step,
                "trainable_step": self.trainable_step}


#: Quantized weight layers, by the Keras layer they quantize.
QUANTIZED_WEIGHT_LAYERS = {
    "Conv2D": QuantizedConv2D,
    "DepthwiseConv2D": QuantizedDepthwiseConv2D,
    "SeparableConv2D": QuantizedSeparableConv2D,
    "Dense": QuantizedDense,
}
