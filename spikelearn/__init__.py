"""spikelearn: open neuromorphic edge learning.

A Keras-quantized feature extractor is converted into an integer-only engine with
binary spikes, whose last layer learns new classes on the device by competitive
plasticity. ``import spikelearn`` needs numpy and numba only; the Keras side
(:mod:`spikelearn.quantization`, :func:`spikelearn.convert`) imports TensorFlow lazily.
"""

__version__ = "0.1.0"

from spikelearn.errors import (  # noqa: E402
    ConversionError,
    DataError,
    LearningError,
    MissingDependencyError,
    ModelFileError,
    NotCompiledError,
    SpikelearnError,
)

__all__ = [
    "__version__",
    "ConversionError",
    "DataError",
    "LearningError",
    "MissingDependencyError",
    "ModelFileError",
    "NotCompiledError",
    "SpikelearnError",
]
