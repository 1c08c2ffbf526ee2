"""Float DS-CNN versus quantization-aware training (8/4/4 bits, 1-bit last activation).

Trains the zoo's float DS-CNN, quantizes it with calibration, fine-tunes it with QAT,
converts it to the integer engine and reports the test accuracy of each stage and the
layer-by-layer Keras/engine agreement.

Data is pluggable: ``--data file.npz`` with ``x_train``, ``y_train``, ``x_test``, ``y_test``
(features uint8 ``(n, 49, 10, 1)``, integer labels); without it the synthetic corpus of
:mod:`spikelearn.datasets` is built (needs ``espeak-ng``) and its train/test splits are used.

Usage::

    python benchmarks/qat.py --data features.npz --epochs 20 --qat-epochs 10
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def load_npz(path: str) -> tuple[np.ndarray, ...]:
    """``x_train, y_train, x_test, y_test`` from an ``.npz`` file."""
    with np.load(path) as data:
        return tuple(data[key] for key in ("x_train", "y_train", "x_test", "y_test"))


def load_synthetic_corpus(num_speakers: int = 60) -> tuple[np.ndarray, ...]:
    """Features and labels of the synthetic corpus (train and test splits)."""
    from spikelearn.datasets import extract_features, make_corpus

    corpus = make_corpus(num_speakers=num_speakers, repetitions=1)
    features = extract_features(corpus.audio)
    train, test = corpus.split == "train", corpus.split == "test"
    return features[train], corpus.labels[train], features[test], corpus.labels[test]


def run(x_train, y_train, x_test, y_test, *, epochs: int, qat_epochs: int, seed: int) -> dict:
    """Train float, quantize + QAT, convert; accuracies and agreement figures."""
    import keras

    import spikelearn
    from spikelearn.converter import compare_layers
    from spikelearn.quantization import quantize
    from spikelearn.zoo.ds_cnn_kws import build_float_model

    keras.utils.set_random_seed(seed)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    x_fit, x_eval = x_train.astype(np.float32), x_test.astype(np.float32)

    def train(model, n_epochs, learning_rate):
        model.compile(keras.optimizers.Adam(learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_fit, y_train, epochs=n_epochs, batch_size=64, verbose=0)
        return time.perf_counter() - start

    def accuracy(model):
        return float(np.mean(model.predict(x_eval, verbose=0).argmax(1) == y_test))

    float_model = build_float_model(num_classes)
    float_seconds = train(float_model, epochs, 1e-3)
    quantized = quantize(float_model, 8, 4, 4, 1, calibration_data=x_train[:1000])
    calibrated_accuracy = accuracy(quantized)
    qat_seconds = train(quantized, qat_epochs, 2e-4)
    engine = spikelearn.convert(quantized)
    agreement = compare_layers(quantized, engine, x_test)
    keras_classes = quantized.predict(x_eval, verbose=0).argmax(1)
    engine_classes = engine.predict_classes(x_test)
    return {
        "float_accuracy": accuracy(float_model),
        "quantized_before_qat_accuracy": calibrated_accuracy,
        "qat_accuracy": accuracy(quantized),
        "engine_accuracy": float(np.mean(engine_classes == y_test)),
        "class_agreement": float(np.mean(engine_classes == keras_classes)),
        "min_layer_agreement": min(row["agreement"] for row in agreement),
        "float_train_seconds": round(float_seconds, 1),
        "qat_seconds": round(qat_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="npz with x_train, y_train, x_test, y_test")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--qat-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load_npz(args.data) if args.data else load_synthetic_corpus()
    results = run(*data, epochs=args.epochs, qat_epochs=args.qat_epochs, seed=args.seed)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
