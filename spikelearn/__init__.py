"""spikelearn: open neuromorphic edge learning.

A Keras-quantized feature extractor is converted into an integer-only engine with
binary spikes, whose last layer learns new classes on the device by competitive
plasticity. ``import spikelearn`` needs numpy and numba only; the Keras side
(:mod:`spikelearn.quantization`, :func:`spikelearn.convert`) imports TensorFlow lazily.
"""

__version__ = "0.1.0"

from spikelearn.converter import check_model_compatibility, convert  # noqa: E402
from spikelearn.errors import (  # noqa: E402
    ConversionError,
    DataError,
    LearningError,
    MissingDependencyError,
    ModelFileError,
    NotCompiledError,
    SpikelearnError,
)
from spikelearn.layers import (  # noqa: E402
    Conv2D,
    FullyConnected,
    InputConv2D,
    InputData,
    SeparableConv2D,
)
from spikelearn.learning import Competitive  # noqa: E402
from spikelearn.model import Model  # noqa: E402
from spikelearn.statistics import evaluate_sparsity  # noqa: E402

__all__ = [
    "__version__",
    "Competitive",
    "Conv2D",
    "FullyConnected",
    "InputConv2D",
    "InputData",
    "Model",
    "check_model_compatibility",
    "convert",
    "SeparableConv2D",
    "evaluate_sparsity",
    "ConversionError",
    "DataError",
    "LearningError",
    "MissingDependencyError",
    "ModelFileError",
    "NotCompiledError",
    "SpikelearnError",
]
