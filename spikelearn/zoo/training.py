"""Training recipe of the zoo's ``ds_cnn_kws``: synthetic speech in, learned engine out.

Steps (each seeded): synthetic espeak-ng corpus -> MFCC (+ augmented copies of the
training clips) -> float DS-CNN training -> :func:`~spikelearn.quantization.quantize`
(8-bit input weights, 4-bit weights, 4-bit activations, 1-bit spikes out of the feature
extractor) -> quantization-aware training -> :func:`~spikelearn.convert` -> the classifier
is replaced by a 1-bit learning layer (``neurons_per_class`` neurons per class) -> offline
``fit`` on the training clips -> files: ``ds_cnn_kws.h5`` (quantized Keras),
``ds_cnn_kws.slm`` (engine with the learned layer), ``ds_cnn_kws.json`` (figures) and
``ds_cnn_kws_demo.npz`` (held-out features and new-word audio for the demo).

TensorFlow is needed (``pip install "spikelearn[keras]"``) and espeak-ng for the corpus.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Words learned on the device in the demo; never seen by the feature extractor.
NEW_WORDS = ("backward", "follow", "forward")


@dataclass
class RecipeConfig:
    """Settings of :func:`train`; the defaults reproduce the shipped model."""

    num_speakers: int = 500
    repetitions: int = 3
    new_word_repetitions: int = 10
    seed: int = 0
    augmented_copies: int = 2
    #: Augmented copies get a random pitch shift within +-this many semitones (0: none).
    pitch_semitones: float = 2.0
    float_epochs: int = 30
    qat_epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 3e-3
    neurons_per_class: int = 15
    learning_competition: float = 0.1
    rewire: str = "frequent"
    demo_speakers: int = 3


def _seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)
    os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def _features(audio: np.ndarray) -> np.ndarray:
    from spikelearn.datasets.features import extract_features

    return extract_features(audio)


class _RichEpochs:
    """A Keras callback factory showing epochs in a rich progress bar."""

    def __new__(cls, progress, description: str, epochs: int):
        import keras

        class Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.task = progress.add_task(description, total=epochs)

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                shown = " ".join(f"{k}={v:.3f}" for k, v in logs.items() if "acc" in k)
                progress.update(self.task, advance=1, description=f"{description} {shown}")

        return Callback()


def _train_keras(model, x, y, x_val, y_val, *, epochs, learning_rate, batch_size, progress,
                 description):
    import keras

    steps = epochs * int(np.ceil(len(x) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        x.astype(np.float32), y, validation_data=(x_val.astype(np.float32), y_val),
        epochs=epochs, batch_size=batch_size, verbose=0,
        callbacks=[_RichEpochs(progress, description, epochs)],
    )
    return {key: [round(float(v), 4) for v in values]
            for key, values in history.history.items() if "acc" in key}


def _keras_accuracy(model, x, y) -> float:
    logits = model.predict(x.astype(np.float32), batch_size=500, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def train(out_dir: str | os.PathLike, config: RecipeConfig | None = None, *,
          cache_dir=None, workers=None, progress: bool = True) -> dict:
    """Run the whole recipe and write the zoo files into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``ds_cnn_kws.{h5,slm,json}`` and ``ds_cnn_kws_demo.npz``.
    config : RecipeConfig, optional
        Sizes, epochs and seed (defaults reproduce the shipped files).
    cache_dir, workers :
        Passed to :func:`spikelearn.datasets.make_corpus`.
    progress : bool
        Show rich progress bars.

    Returns
    -------
    dict
        The figures also written to ``ds_cnn_kws.json``.
    """
    from rich.progress import Progress

    import spikelearn
    from spikelearn.datasets import make_corpus
    from spikelearn.datasets.synthetic import DEFAULT_WORDS
    from spikelearn.layers import FullyConnected
    from spikelearn.learning import Competitive, choose_num_weights
    from spikelearn.quantization import quantize
    from spikelearn.zoo.ds_cnn_kws import build_float_model

    config = config or RecipeConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    timings = {}
    preset = [w for w in DEFAULT_WORDS if w not in NEW_WORDS]

    corpus = make_corpus(config.num_speakers, config.repetitions, config.seed, words=preset,
                         cache_dir=cache_dir, workers=workers, progress=progress)
    new_corpus = make_corpus(config.num_speakers, config.new_word_repetitions, config.seed,
                             words=list(NEW_WORDS), cache_dir=cache_dir, workers=workers,
                             progress=progress)
    timings["corpus_s"] = time.perf_counter() - started

    from spikelearn.datasets.augment import augment

    train_set = corpus.get_split("train")
    val_set = corpus.get_split("validation")
    test_set = corpus.get_split("test")
    x_train, y_train = _features(train_set.audio), train_set.labels
    x_val, y_val = _features(val_set.audio), val_set.labels
    x_test, y_test = _features(test_set.audio), test_set.labels
    if config.augmented_copies:
        # In chunks: augmentation works on whole batches and would hold several GB at once.
        chunk = 2000
        shift = config.pitch_semitones
        pitch = (-shift, shift) if shift else None
        extra = [_features(augment(train_set.audio[start:start + chunk],
                                   n=config.augmented_copies, seed=config.seed + start,
                                   pitch_semitones=pitch))
                 for start in range(0, len(y_train), chunk)]
        x_fit = np.concatenate([x_train, *extra])
        y_fit = np.concatenate([y_train, np.repeat(y_train, config.augmented_copies)])
    else:
        x_fit, y_fit = x_train, y_train
    order = np.random.default_rng(config.seed).permutation(len(y_fit))
    x_fit, y_fit = x_fit[order], y_fit[order]
    timings["features_s"] = time.perf_counter() - started - timings["corpus_s"]

    _seed_everything(config.seed)
    num_classes = len(preset)
    with Progress(disable=not progress) as bar:
        float_model = build_float_model(num_classes)
        t0 = time.perf_counter()
        float_history = _train_keras(
            float_model, x_fit, y_fit, x_val, y_val, epochs=config.float_epochs,
            learning_rate=config.learning_rate, batch_size=config.batch_size,
            progress=bar, description="float training")
        timings["float_training_s"] = time.perf_counter() - t0
        float_test = _keras_accuracy(float_model, x_test, y_test)

        quantized = quantize(float_model, 8, 4, 4, 1, calibration_data=x_train[:2000])
        t0 = time.perf_counter()
        qat_history = _train_keras(
            quantized, x_fit, y_fit, x_val, y_val, epochs=config.qat_epochs,
            learning_rate=config.learning_rate / 5, batch_size=config.batch_size,
            progress=bar, description="quantization-aware training")
        timings["qat_s"] = time.perf_counter() - t0
    quantized_test = _keras_accuracy(quantized, x_test, y_test)
    quantized.save(out / "ds_cnn_kws.h5", include_optimizer=False)

    engine = spikelearn.convert(quantized)
    engine_test = engine.evaluate(x_test, y_test)
    agreement = float(np.mean(
        engine.predict_classes(x_test)
        == np.argmax(quantized.predict(x_test.astype(np.float32), verbose=0), axis=1)))

    engine.pop_layer()
    spikes = engine.forward(x_train)
    num_weights = choose_num_weights(spikes.reshape(len(spikes), -1))
    engine.add(FullyConnected(num_classes * config.neurons_per_class, weight_bits=1,
                              name="edge_learning"))
    engine.compile(Competitive(num_weights, num_classes,
                               learning_competition=config.learning_competition,
                               rewire=config.rewire, seed=config.seed))
    t0 = time.perf_counter()
    engine.fit(x_train, y_train)
    timings["offline_fit_s"] = time.perf_counter() - t0
    learning_test = engine.evaluate(x_test, y_test, num_classes)
    engine.class_names = preset
    engine.save(out / "ds_cnn_kws.slm")

    groups = {}
    predicted = engine.predict_classes(x_test, num_classes)
    for column in ("dialect", "variant"):
        values = test_set.speaker_attribute(column)
        groups[column] = {
            str(v): round(float(np.mean(predicted[values == v] == y_test[values == v])), 4)
            for v in sorted(set(values))
        }

    _write_demo_set(out / "ds_cnn_kws_demo.npz", test_set, x_test, new_corpus, config)
    figures = {
        "recipe": asdict(config),
        "words": preset,
        "new_words": list(NEW_WORDS),
        "spikelearn_version": spikelearn.__version__,
        "corpus": {k: v for k, v in corpus.manifest.items() if k != "speakers"},
        "train_clips": int(len(y_train)),
        "fit_samples_with_augmentation": int(len(y_fit)),
        "accuracy": {
            "float_test": round(float_test, 4),
            "quantized_keras_test": round(quantized_test, 4),
            "converted_engine_test": round(float(engine_test), 4),
            "engine_vs_keras_class_agreement": round(agreement, 4),
            "learning_layer_test": round(float(learning_test), 4),
        },
        "test_accuracy_by_group": groups,
        "history": {"float": float_history, "qat": qat_history},
        "num_weights": int(num_weights),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "total_s": round(time.perf_counter() - started, 1),
    }
    (out / "ds_cnn_kws.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _write_demo_set(path: Path, test_set, x_test, new_corpus, config: RecipeConfig) -> None:
    """Held-out material for the demo: old-class features and new-word audio (int16).

    Test speakers only; their clips were never used for training.
    """
    new_test = new_corpus.get_split("test")
    speakers = np.unique(new_test.speakers)[: config.demo_speakers]
    keep = np.isin(new_test.speakers, speakers)
    pcm = np.round(np.clip(new_test.audio[keep], -1, 1) * 32767).astype(np.int16)
    np.savez_compressed(
        path,
        old_features=x_test,
        old_labels=test_set.labels.astype(np.int16),
        new_audio=pcm,
        new_labels=new_test.labels[keep].astype(np.int16),
        new_speakers=new_test.speakers[keep].astype(np.int16),
    )
