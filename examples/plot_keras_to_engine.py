"""
From a float Keras model to the engine
======================================

The path a model takes before it reaches the device: train a small float DS-CNN in Keras,
quantize it (8-bit input weights, 4-bit weights and activations, 1-bit spikes out of the
feature extractor), fine-tune it with quantization-aware training (QAT), convert it to the
integer engine, and check that the engine computes what Keras computes, layer by layer.

The training data are MFCC features shipped with the zoo (60 utterances of each of ten
words, from speakers the zoo model never heard), so the script runs offline in about a
minute. With so little data the accuracy is modest; the zoo recipe
(:func:`spikelearn.zoo.training.train`) does the same on a large synthetic corpus. Needs
TensorFlow (``pip install "spikelearn[keras]"``).
"""

# %%
# Data
# ----
# Engine inputs are ``uint8 (n, 49, 10, 1)`` MFCC levels; Keras gets the same values as
# float32. Ten words; of each word's 60 utterances, 35 train, 10 validate (they choose the
# epoch to keep) and 15 test. The training set is enlarged with copies shifted in time by a
# few frames.
import keras
import matplotlib.pyplot as plt
import numpy as np

import spikelearn
from spikelearn import zoo
from spikelearn.converter import compare_layers
from spikelearn.quantization import quantize
from spikelearn.zoo.ds_cnn_kws import build_float_model

keras.utils.set_random_seed(0)
demo = zoo.load_demo_data("ds_cnn_kws")
words = zoo.info("ds_cnn_kws")["words"][:10]
num_classes = len(words)
keep = demo["old_labels"] < num_classes
features, labels = demo["old_features"][keep], demo["old_labels"][keep]
rng = np.random.default_rng(0)
split = np.zeros(len(labels), int)  # 0 train, 1 validation, 2 test
for word in range(num_classes):
    rows = rng.permutation(np.flatnonzero(labels == word))
    split[rows[35:45]], split[rows[45:]] = 1, 2
x_train, y_train = features[split == 0], labels[split == 0]
x_val, y_val = features[split == 1], labels[split == 1]
x_test, y_test = features[split == 2], labels[split == 2]
x_fit = np.concatenate([x_train] + [np.roll(x_train, shift, axis=1) for shift in (-4, -2, 2, 4)])
y_fit = np.tile(y_train, 5)
print(f"words: {', '.join(words)}")
print(f"train {x_train.shape} ({len(x_fit)} with shifted copies), validation "
      f"{x_val.shape}, test {x_test.shape}")


def fit(model, epochs, learning_rate):
    """Train on the float32 view of the uint8 features; keep the best validation epoch."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    keep_best = keras.callbacks.EarlyStopping("val_accuracy", patience=epochs,
                                              restore_best_weights=True)
    history = model.fit(x_fit.astype(np.float32), y_fit, epochs=epochs, batch_size=64,
                        validation_data=(x_val.astype(np.float32), y_val), verbose=0,
                        callbacks=[keep_best])
    return history.history


def keras_accuracy(model):
    logits = model.predict(x_test.astype(np.float32), verbose=0)
    return float(np.mean(logits.argmax(axis=1) == y_test))


# %%
# The float model
# ---------------
# The zoo architecture with 32 filters instead of 64: a 5x5 stride-2 convolution, four
# separable convolutions, global average pooling placed *before* the last batch
# normalization and ReLU (so that the engine can sum potentials and fire one spike per
# channel), and a dense classifier. Its input is rescaled from the uint8 levels.
float_model = build_float_model(num_classes, filters=32)
float_history = fit(float_model, epochs=25, learning_rate=3e-3)
float_accuracy = keras_accuracy(float_model)
print(f"float model: {float_model.count_params():,} parameters, "
      f"test accuracy {float_accuracy:.1%}")

# %%
# Quantization and QAT
# --------------------
# :func:`spikelearn.quantization.quantize` builds the quantized twin and copies the weights;
# calibration data set the activation steps. The activation feeding the classifier gets one
# bit: spikes. A few epochs of fine-tuning adapt the weights and steps to the rounding (on
# a data set this small they also overfit quickly; the validation split picks the epoch).
#
# Mind the learning rate: ``quantize`` folds the input scale (``Rescaling(1/255)`` here) and
# the activation steps into the kernels, so some quantized kernels are far smaller than the
# float ones, while Adam moves every weight by about the learning rate per step. A rate
# 100 times below the float one works here; the float rate would wreck the model in one
# epoch.
quantized = quantize(float_model, input_weight_bits=8, weight_bits=4, activation_bits=4,
                     last_activation_bits=1, calibration_data=x_train.astype(np.float32))
before_qat = keras_accuracy(quantized)
qat_history = fit(quantized, epochs=6, learning_rate=3e-5)
after_qat = keras_accuracy(quantized)
print(f"quantized: {before_qat:.1%} before QAT, {after_qat:.1%} after")

fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
epochs = np.arange(1, len(float_history["val_accuracy"]) + 1)
ax.plot(epochs, np.array(float_history["val_accuracy"]) * 100, label="float training")
ax.plot(epochs[-1] + np.arange(1, len(qat_history["val_accuracy"]) + 1),
        np.array(qat_history["val_accuracy"]) * 100, label="quantization-aware training")
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy (%)")
ax.legend()
ax.set_title("Keras training")
plt.show()

# %%
# Conversion
# ----------
# :func:`spikelearn.convert` folds batch normalization, scales and biases into integer
# thresholds; every layer keeps its Keras name. (``spikelearn convert model.h5`` does the
# same from a saved file.)
engine = spikelearn.convert(quantized)
engine.summary()
engine_accuracy = engine.evaluate(x_test, y_test)
keras_classes = quantized.predict(x_test.astype(np.float32), verbose=0).argmax(axis=1)
class_agreement = np.mean(engine.predict_classes(x_test) == keras_classes)
print(f"engine test accuracy {engine_accuracy:.1%}; "
      f"same class as Keras on {class_agreement:.2%} of the test samples")

# %%
# Layer by layer
# --------------
# :func:`spikelearn.converter.compare_layers` runs both models on the same inputs and
# compares every engine layer's output with the Keras output it reproduces: activation
# levels for the feature layers, potentials for the classifier.
rows = compare_layers(quantized, engine, x_test)
for row in rows:
    print(f"{row['layer']:>12} <- {row['keras_layer']:<24} agreement {row['agreement']:.5f} "
          f"(max difference {row['max_difference']}, {row['elements']:,} elements)")

fig, ax = plt.subplots(figsize=(6.5, 3.2), layout="constrained")
mismatch = [max(1 - row["agreement"], 0) * 1e6 for row in rows]
bars = ax.bar([row["layer"] for row in rows], mismatch, color="tab:red")
ax.bar_label(bars, labels=[f"{row['agreement']:.4%}" for row in rows])
ax.set_ylabel("differing elements (per million)")
ax.set_ylim(0, max(max(mismatch) * 1.3, 10))
ax.set_title("Engine vs Keras, per layer (label: agreement)")
plt.show()

# %%
# Accuracy along the path
# -----------------------
# With 35 utterances per word the accuracies are low and, on 150 test samples, uncertain by
# about four points either way; the zoo recipe reaches 95 % with thousands of
# utterances per word. What this example establishes is the last step: the engine's
# accuracy *is* the quantized Keras model's, because it computes the same integers.
stages = ["float", "quantized", "after QAT", "engine"]
values = [float_accuracy, before_qat, after_qat, engine_accuracy]
fig, ax = plt.subplots(figsize=(5.5, 3.2), layout="constrained")
bars = ax.bar(stages, np.array(values) * 100, color=["grey", "tab:orange", "tab:blue",
                                                      "tab:green"])
ax.bar_label(bars, fmt="%.1f %%")
ax.set_ylabel("test accuracy (%)")
ax.set_ylim(0, 100)
plt.show()

# %%
# A learning layer on the converted extractor
# -------------------------------------------
# To learn on the device, the converted classifier is replaced by a 1-bit learning layer
# fed by the spikes (see :doc:`/user_guide/learning`). It learns the training samples
# offline in a single pass, without gradients.
from spikelearn import Competitive, FullyConnected  # noqa: E402
from spikelearn.learning import choose_num_weights  # noqa: E402

engine.pop_layer()
spikes = engine.forward(x_train).reshape(len(x_train), -1)
engine.add(FullyConnected(num_classes * 5, weight_bits=1, name="edge_learning"))
engine.compile(Competitive(choose_num_weights(spikes), num_classes, learning_competition=0.1,
                           seed=0))
engine.fit(x_train, y_train)
print(f"learning layer: test accuracy {engine.evaluate(x_test, y_test):.1%} "
      f"({spikes.sum(axis=1).mean():.1f} spikes per sample of {spikes.shape[1]})")
