"""DS-CNN keyword spotter: the float Keras architecture of the zoo's ``ds_cnn_kws``.

The shape follows the reference edge-learning tutorial: a 5x5 stride-2 convolution with 64
filters, four 3x3 separable convolutions with 64 filters, global average pooling placed
*before* the last activation (so that the engine can sum potentials and fire one spike per
channel), and a dense classifier. TensorFlow is imported only when a model is built.
"""

from __future__ import annotations

#: Input of the network: MFCC features, ``uint8 (49, 10, 1)``.
INPUT_SHAPE = (49, 10, 1)
#: Number of separable convolution blocks after the input convolution.
NUM_SEPARABLE = 4


def build_float_model(num_classes: int = 33, *, filters: int = 64, dropout: float = 0.1):
    """Build the float DS-CNN, ready for float training and then :func:`quantize`.

    Parameters
    ----------
    num_classes : int
        Units of the dense classifier.
    filters : int
        Channels of every convolution.
    dropout : float
        Dropout rate before the classifier (removed at conversion).

    Returns
    -------
    keras.Model
        Input ``float32 (n, 49, 10, 1)`` holding the uint8 feature values; output logits
        ``float32 (n, num_classes)``.
    """
    import keras
    from keras import layers

    inputs = keras.Input(INPUT_SHAPE, name="features")
    x = layers.Rescaling(1.0 / 255.0, name="rescaling")(inputs)
    x = layers.Conv2D(filters, 5, strides=2, padding="same", use_bias=False, name="conv_0")(x)
    x = layers.BatchNormalization(name="conv_0_bn")(x)
    x = layers.ReLU(name="conv_0_relu")(x)
    for index in range(1, NUM_SEPARABLE + 1):
        name = f"separable_{index}"
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
        if index == NUM_SEPARABLE:
            x = layers.GlobalAveragePooling2D(name=f"{name}_global_avg")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, name="classifier")(x)
    return keras.Model(inputs, outputs, name="ds_cnn_kws")
