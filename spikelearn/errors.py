"""Exception types raised by spikelearn.

Every error a user can trigger derives from :class:`SpikelearnError`, so a caller
(and the command line) can catch the family at once and print its message.
"""


class SpikelearnError(Exception):
    """Base class of every error raised on purpose by spikelearn."""


class ModelFileError(SpikelearnError):
    """A model file is missing, corrupt, truncated, of the wrong kind or too new."""


class ConversionError(SpikelearnError):
    """A Keras model cannot be converted to the integer engine."""


class LearningError(SpikelearnError):
    """The learning layer cannot be compiled or trained as asked."""


class NotCompiledError(LearningError):
    """Learning was asked of a model whose last layer was never compiled."""


class DataError(SpikelearnError):
    """Audio or a dataset does not meet the documented format."""


class MissingDependencyError(SpikelearnError):
    """An optional dependency (TensorFlow, espeak-ng, ...) is needed and absent."""
