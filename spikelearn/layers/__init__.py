"""Engine layers: integer weights, threshold-count activations, numba kernels.

Every layer maps uint8 activation levels ``(n, h, w, c)`` to uint8 levels, or, without an
activation (last layer only), to int32 potentials. See :mod:`spikelearn.layers.base` for the
common API and :mod:`spikelearn.layers.kernels` for the compiled kernels.
"""

from spikelearn.layers.base import Layer
from spikelearn.layers.convolution import Conv2D, InputConv2D
from spikelearn.layers.fully_connected import FullyConnected
from spikelearn.layers.input_data import InputData
from spikelearn.layers.separable import SeparableConv2D

#: Layer classes by name, used to rebuild layers from a model file.
LAYER_CLASSES = {cls.__name__: cls for cls in
                 (InputData, InputConv2D, Conv2D, SeparableConv2D, FullyConnected)}

__all__ = ["Conv2D", "FullyConnected", "InputConv2D", "InputData", "LAYER_CLASSES", "Layer",
           "SeparableConv2D"]
