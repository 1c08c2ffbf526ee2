"""The :class:`InputData` layer: the model input passed through unchanged."""

from __future__ import annotations

import numpy as np

from spikelearn.layers.base import Layer, check_input_bits, check_input_shape


class InputData(Layer):
    """Model input of ``input_bits``-bit levels, passed on unchanged.

    Parameters
    ----------
    input_shape : (int, int, int)
        ``(h, w, c)`` of the model input.
    input_bits : int, default 8
        Input values must be ``<= 2**input_bits - 1`` (1: binary spikes).
    name : str, optional

    Examples
    --------
    >>> import numpy as np
    >>> from spikelearn import Model, InputData
    >>> model = Model([InputData((2, 2, 1), input_bits=1)])
    >>> model.forward(np.ones((1, 2, 2, 1), np.uint8)).shape
    (1, 2, 2, 1)
    """

    is_input_layer = True

    def __init__(self, input_shape, *, input_bits=8, name=None):
        super().__init__(name=name)
        self.config.update(input_shape=check_input_shape(input_shape, name),
                           input_bits=check_input_bits(input_bits, name))

    @property
    def activation_bits(self):
        """Bits of the levels passed on: ``input_bits``."""
        return self.config["input_bits"]

    def variable_specs(self):
        return {}

    def _output_shape(self, input_shape):
        return input_shape

    def call(self, x):
        return x

    def macs(self):
        return 0

    def synaptic_ops(self, x):
        return np.zeros(x.shape[0], np.int64)
