"""Keras side of spikelearn: quantizers, quantized layers and :func:`quantize`.

Importing this package imports TensorFlow/Keras and registers the quantizers and layers
with Keras, so that quantized ``.h5`` files load with plain ``keras.models.load_model``.
"""

from spikelearn.quantization.layers import (
    QuantizedActivation,
    QuantizedConv2D,
    QuantizedDense,
    QuantizedDepthwiseConv2D,
    QuantizedSeparableConv2D,
)
from spikelearn.quantization.quantize import calibrate_step, quantize
from spikelearn.quantization.quantizers import (
    ActivationQuantizer,
    WeightQuantizer,
    quantize_activation,
    quantize_weights,
)

__all__ = [
    "ActivationQuantizer",
    "QuantizedActivation",
    "QuantizedConv2D",
    "QuantizedDense",
    "QuantizedDepthwiseConv2D",
    "QuantizedSeparableConv2D",
    "WeightQuantizer",
    "calibrate_step",
    "quantize",
    "quantize_activation",
    "quantize_weights",
]
