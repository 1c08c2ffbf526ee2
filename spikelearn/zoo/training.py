"""Training recipe of the zoo's ``ds_cnn_kws``: synthetic speech in, learned engine out.

Steps (each seeded): synthetic espeak-ng corpus -> MFCC (+ augmented copies of the
training clips) -> float DS-CNN training -> :func:`~spikelearn.quantization.quantize`
(8-bit input weights, 4-bit weights, 4-bit activations, 1-bit spikes out of the feature
extractor) -> quantization-aware training (ending on a moving average of the weights,
with the batch normalization statistics re-estimated) -> :func:`~spikelearn.convert` ->
the classifier is replaced by a 1-bit learning layer (``neurons_per_class`` neurons per
class) -> offline ``fit`` on the training clips -> files: ``ds_cnn_kws.h5`` (quantized Keras),
``ds_cnn_kws.slm`` (engine with the learned layer), ``ds_cnn_kws.json`` (figures) and
``ds_cnn_kws_demo.npz`` (held-out features and new-word audio for the demo).

Keras is needed (``pip install "spikelearn[keras]"``) and espeak-ng for the corpus. The
steps run in three stages (:func:`train`'s ``stage``) that can run on different machines:
features (corpus and MFCC), Keras (float training and QAT, any Keras backend) and engine.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Words learned on the device in the demo; never seen by the feature extractor.
NEW_WORDS = ("backward", "follow", "forward")
#: The ``clip`` modes of :class:`spikelearn.quantization.WeightQuantizer` (kept here so
#: that a recipe is checked without importing Keras).
QAT_WEIGHT_CLIPS = ("max", "mse")


@dataclass
class RecipeConfig:
    """Settings of :func:`train`; the defaults are those of the shipped model (its Keras
    stage ran on 2 CPU cores with the TensorFlow backend; other backends and machines give
    other float weights)."""

    num_speakers: int = 500
    repetitions: int = 3
    new_word_repetitions: int = 10
    seed: int = 0
    augmented_copies: int = 4
    #: Augmented copies get a random pitch shift within +-this many semitones (0: none).
    pitch_semitones: float = 2.0
    #: Copies of the training clips as a long recording holds them (the word's cut over the
    #: recordings' background, :func:`spikelearn.datasets.long_recordings.as_recorded`,
    #: copy ``k`` seeded ``seed + 1000 (k + 1)``), added to the training samples.
    recording_copies: int = 0
    #: Channels of every convolution of the DS-CNN (its width).
    filters: int = 64
    float_epochs: int = 35
    qat_epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 4e-3
    #: Peak learning rate of quantization-aware training (cosine decay, like the float one).
    qat_learning_rate: float = 1.28e-2
    #: Weight of the float model's softened outputs in the QAT loss (knowledge distillation;
    #: 0: labels only); the rest of the weight stays on the labels.
    distillation_weight: float = 0.0
    #: Temperature that softens the float model's logits (and the quantized model's) when
    #: distilling; the soft term is scaled by its square.
    distillation_temperature: float = 4.0
    #: Last QAT epochs run with the batch normalization layers frozen (their moving
    #: statistics and scale/offset fixed; 0: none).
    qat_frozen_bn_epochs: int = 0
    #: Momentum of an exponential moving average of the trainable weights during QAT; the
    #: average replaces the weights at the end (0: none, the last weights are kept).
    qat_weight_average: float = 0.999
    #: After QAT, re-estimate the batch normalization statistics over one pass of the
    #: training samples with the final weights (instead of the moving ones of training).
    qat_bn_reestimation: bool = True
    #: Quantization-aware runs from the float model, seeded ``seed + 1``, ``seed + 2``, ...;
    #: with more than one, their weights are averaged element-wise (a "model soup" of
    #: fine-tunings of one float model) and the batch normalization statistics
    #: re-estimated for the average.
    qat_runs: int = 1
    #: Equalize each separable convolution's depthwise channels against its pointwise rows
    #: before quantizing (:func:`spikelearn.quantization.equalization.equalize_separable`:
    #: the same float function; the depthwise kernel is quantized per tensor).
    qat_equalization: bool = False
    #: How the weight quantizers choose their scales (``"max"``: no weight clipped;
    #: ``"mse"``: the least squared error, the largest weights clipped).
    qat_weight_clip: str = "max"
    neurons_per_class: int = 15
    #: The extractor's spike thresholds, moved by this many standard deviations of their
    #: potentials on the training clips before the learning layer is fitted
    #: (:func:`spikelearn.calibration.offset_spike_thresholds`; 0: as converted). Chosen on
    #: validation speakers (``benchmarks/offline_fit_grid.py``, then the validation learners).
    spike_threshold_offset: float = -0.2
    #: With the readout below, chosen on validation speakers (``benchmarks/readout_grid.py``:
    #: the best new-word accuracy of the same speaker with an old-class drop under 0.25 point).
    learning_competition: float = 0.2
    rewire: str = "frequent"
    #: Class readout of the learning layer.
    score_neurons: int = 5
    #: Readout bonus of the words learned on the device.
    new_class_bonus: int = 4
    demo_speakers: int = 3

    def __post_init__(self):
        """Refuse settings that would only fail after the float training."""
        if not 0.0 <= self.distillation_weight <= 1.0:
            raise ValueError(f"distillation_weight must be in [0, 1], "
                             f"got {self.distillation_weight}")
        if not self.distillation_temperature > 0:
            raise ValueError(f"distillation_temperature must be > 0, "
                             f"got {self.distillation_temperature}")
        if isinstance(self.filters, bool) or not isinstance(self.filters, int) \
                or self.filters < 1:
            raise ValueError(f"filters must be an integer >= 1, got {self.filters!r}")
        if isinstance(self.recording_copies, bool) \
                or not isinstance(self.recording_copies, int) or self.recording_copies < 0:
            raise ValueError(f"recording_copies must be an integer >= 0, "
                             f"got {self.recording_copies!r}")
        if self.qat_frozen_bn_epochs < 0:
            raise ValueError(f"qat_frozen_bn_epochs must be >= 0, "
                             f"got {self.qat_frozen_bn_epochs}")
        if not 0.0 <= self.qat_weight_average < 1.0:
            raise ValueError(f"qat_weight_average must be in [0, 1), "
                             f"got {self.qat_weight_average}")
        if isinstance(self.qat_runs, bool) or not isinstance(self.qat_runs, int) \
                or self.qat_runs < 1:
            raise ValueError(f"qat_runs must be an integer >= 1, got {self.qat_runs!r}")
        if self.qat_weight_clip not in QAT_WEIGHT_CLIPS:
            raise ValueError(f"qat_weight_clip must be one of {QAT_WEIGHT_CLIPS}, "
                             f"got {self.qat_weight_clip!r}")
        offset = self.spike_threshold_offset
        if isinstance(offset, bool) or not isinstance(offset, int | float) \
                or not math.isfinite(offset):
            raise ValueError(f"spike_threshold_offset must be a finite number, got {offset!r}")
        if self.qat_weight_average and self.qat_frozen_bn_epochs:
            # Keras pairs the averages with the weights by position in the trainable
            # list, which freezing batch normalization changes.
            raise ValueError("qat_weight_average cannot be combined with qat_frozen_bn_epochs")


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and the Keras backend (and ask TensorFlow for deterministic ops)."""
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
                if not hasattr(self, "task"):  # once, also when a fit runs in phases
                    self.task = progress.add_task(description, total=epochs)

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                shown = " ".join(f"{k}={v:.3f}" for k, v in logs.items() if "acc" in k)
                progress.update(self.task, advance=1, description=f"{description} {shown}")

        return Callback()


def _distillation_loss(weight: float, temperature: float):
    """Loss of targets ``(n, 1 + classes)`` packing the label and the teacher's logits:
    ``(1 - weight) * CE(label) + weight * T**2 * CE(softmax(teacher / T), student / T)``."""
    import keras
    from keras import ops

    def distillation(y_true, y_pred):
        labels = ops.cast(y_true[:, 0], "int32")
        hard = keras.losses.sparse_categorical_crossentropy(labels, y_pred, from_logits=True)
        soft_targets = ops.softmax(y_true[:, 1:] / temperature, axis=-1)
        soft = keras.losses.categorical_crossentropy(soft_targets, y_pred / temperature,
                                                     from_logits=True)
        return (1.0 - weight) * hard + weight * temperature**2 * soft

    return distillation


def _packed_accuracy(y_true, y_pred):
    """Accuracy against the label in column 0 of packed distillation targets."""
    from keras import ops

    labels = ops.cast(y_true[:, 0], "int32")
    return ops.cast(ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), labels),
                    "float32")


def _train_keras(model, x, y, x_val, y_val, *, epochs, learning_rate, batch_size, progress,
                 description, teacher=None, distillation_weight=0.0,
                 distillation_temperature=4.0, frozen_bn_epochs=0, weight_average=0.0):
    """Adam with cosine decay over ``epochs``; optionally distilled from ``teacher`` (a
    Keras model with the same outputs), with the batch normalization layers frozen for
    the last ``frozen_bn_epochs`` (the optimizer and its schedule carry on) and with the
    trainable weights replaced at the end by their moving average of momentum
    ``weight_average`` (the epochs' figures are those of the weights then)."""
    import keras

    x, x_val = x.astype(np.float32), x_val.astype(np.float32)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metric = "accuracy"
    if teacher is not None and distillation_weight > 0:
        # The targets carry the teacher's logits next to the label (inference mode).
        y = np.column_stack([y, teacher.predict(x, batch_size=1000, verbose=0)])
        y_val = np.column_stack([y_val, teacher.predict(x_val, batch_size=1000, verbose=0)])
        y, y_val = y.astype(np.float32), y_val.astype(np.float32)
        loss = _distillation_loss(distillation_weight, distillation_temperature)
        metric = keras.metrics.MeanMetricWrapper(_packed_accuracy, name="accuracy")
    steps = epochs * int(np.ceil(len(x) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.02)
    optimizer = keras.optimizers.Adam(schedule, use_ema=weight_average > 0,
                                      ema_momentum=weight_average)
    callback = _RichEpochs(progress, description, epochs)
    history = {}
    start = max(epochs - frozen_bn_epochs, 0)  # frozen from this epoch on
    phases = [(0, start, False), (start, epochs, True)]
    for first, last, freeze in phases:
        if last <= first:
            continue
        if freeze:
            _set_batch_norm_trainable(model, False)  # also runs it in inference mode
        model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
        fitted = model.fit(x, y, validation_data=(x_val, y_val), initial_epoch=first,
                           epochs=last, batch_size=batch_size, verbose=0, callbacks=[callback])
        for key, values in fitted.history.items():
            if "acc" in key:
                history.setdefault(key, []).extend(round(float(v), 4) for v in values)
    _set_batch_norm_trainable(model, True)  # the saved model trains on like any other
    return history


def reestimate_batch_norm(model, x: np.ndarray, *, batch_size: int, progress=None) -> None:
    """Set the moving statistics of every BatchNormalization layer of ``model`` to their
    average over the batches of ``x`` (features ``(n, ...)``, any dtype), with the weights
    as they are; ``n`` a multiple of ``batch_size`` weighs every sample equally.

    Runs ``model`` in training mode batch by batch (other layers' training behaviour, such
    as dropout, applies as during training); nothing else changes.
    """
    import keras

    layers = [layer for layer in model.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    task = progress.add_task("batch normalization re-estimation", total=len(x)) \
        if progress is not None else None
    try:
        for batch, start in enumerate(range(0, len(x), batch_size)):
            for layer in layers:  # a running mean of the batch statistics
                layer.momentum = batch / (batch + 1)
            chunk = x[start:start + batch_size].astype(np.float32)
            model(chunk, training=True)
            if task is not None:
                progress.update(task, advance=len(chunk))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


def average_weights(models: list):
    """Set every weight of ``models[0]`` to the element-wise mean (float32) of that weight
    over ``models`` (same architecture: fine-tunings of one model) and return it; the others
    are not changed. Batch normalization statistics are averaged too: re-estimate them
    (:func:`reestimate_batch_norm`) for the averaged weights."""
    first = models[0]
    if any(len(model.weights) != len(first.weights) for model in models):
        raise ValueError("average_weights: the models have different numbers of weights")
    for variables in zip(*(model.weights for model in models), strict=True):
        values = [np.asarray(variable.numpy()) for variable in variables]
        if any(value.shape != values[0].shape for value in values):
            raise ValueError(f"average_weights: {variables[0].path} has shapes "
                             f"{[value.shape for value in values]}")
        variables[0].assign(np.sum(values, axis=0, dtype=np.float32) / np.float32(len(values)))
    return first


def _set_batch_norm_trainable(model, trainable: bool) -> None:
    """Set ``trainable`` on every BatchNormalization layer of ``model``."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = trainable


#: Config fields the features depend on (checked when a features file is reused).
FEATURE_FIELDS = ("num_speakers", "repetitions", "seed", "augmented_copies", "pitch_semitones",
                  "recording_copies")
#: Feature fields that files written before them lack, with the value those files had.
_FEATURE_DEFAULTS = {"recording_copies": 0}
#: Arrays of a features file (see :func:`recipe_features`).
FEATURE_ARRAYS = ("x_fit", "y_fit", "x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def recipe_features(config: RecipeConfig | None = None, *, cache_dir=None, workers=None,
                    progress: bool = True) -> dict:
    """The recipe's features: corpus -> MFCC, plus augmented copies of the training clips
    (made in up to ``workers`` processes, default every CPU, as many as the free memory
    holds at about 6 GB each; the same bytes for any number) and ``recording_copies``
    copies as a recording holds them.

    Returns
    -------
    dict
        ``x_fit, y_fit``: training clips and their augmented copies, shuffled (what Keras
        trains on); ``x_train, y_train``: the training clips alone; ``x_val, y_val`` and
        ``x_test, y_test``. Features are ``uint8 (n, 49, 10, 1)``, labels ``int64 (n,)``.
    """
    from spikelearn.datasets.long_recordings import as_recorded

    config = config or RecipeConfig()
    corpus, _ = _corpora(config, cache_dir, workers, progress)
    train_set = corpus.get_split("train")
    val_set = corpus.get_split("validation")
    test_set = corpus.get_split("test")
    x_train, y_train = _features(train_set.audio), train_set.labels
    x_fit, y_fit = x_train, y_train
    if config.augmented_copies:
        extra = _augmented_features(train_set.audio, config, workers, progress)
        x_fit = np.concatenate([x_train, extra])
        y_fit = np.concatenate([y_train, np.repeat(y_train, config.augmented_copies)])
    for copy in range(config.recording_copies):
        recorded = as_recorded(train_set.audio, train_set.clip_info["offset"],
                               train_set.clip_info["length"], seed=config.seed + 1000 * (copy + 1))
        x_fit = np.concatenate([x_fit, _features(recorded)])
        y_fit = np.concatenate([y_fit, y_train])
    order = np.random.default_rng(config.seed).permutation(len(y_fit))
    arrays = (x_fit[order], y_fit[order], x_train, y_train, _features(val_set.audio),
              val_set.labels, _features(test_set.audio), test_set.labels)
    return dict(zip(FEATURE_ARRAYS, arrays, strict=True))


#: Clips augmented at once by :func:`_augmented_features` (augmentation holds whole batches;
#: each chunk is seeded by its first clip's index, so this also fixes the recipe's copies).
AUGMENT_CHUNK = 2000
#: Peak memory of augmenting one clip once, bytes (a chunk of 2,000 clips x 4 copies peaked
#: at 6.1 GB resident in its process); bounds the number of augmentation workers.
AUGMENT_BYTES_PER_COPY = 760_000


def _augment_chunk(audio: np.ndarray, copies: int, seed: int, pitch) -> np.ndarray:
    """MFCC ``uint8 (len(audio) * copies, 49, 10, 1)`` of augmented copies of one chunk."""
    from spikelearn.datasets.augment import augment

    return _features(augment(audio, n=copies, seed=seed, pitch_semitones=pitch))


def _augmented_features(audio: np.ndarray, config: RecipeConfig, workers, progress: bool):
    """MFCC of ``config.augmented_copies`` augmented copies of every clip of ``audio``
    ``float32 (n, 16000)``, clip-major, chunk after chunk; the chunks run in up to
    ``workers`` processes (default: every CPU), no more than the free memory holds, and
    give the same bytes for any number of them."""
    from concurrent.futures import ProcessPoolExecutor

    from spikelearn.datasets.synthetic import _cpu_count, _progress_bar

    shift = config.pitch_semitones
    pitch = (-shift, shift) if shift else None
    starts = range(0, len(audio), AUGMENT_CHUNK)
    jobs = [(audio[start:start + AUGMENT_CHUNK], config.augmented_copies, config.seed + start,
             pitch) for start in starts]
    workers = min(workers or _cpu_count(), len(jobs),
                  _workers_memory_holds(AUGMENT_CHUNK * config.augmented_copies
                                        * AUGMENT_BYTES_PER_COPY))
    bar = _progress_bar(progress, f"chunks of {AUGMENT_CHUNK} clips")
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    chunks = []
    with bar, pool or contextlib.nullcontext():
        task = bar.add_task(f"augmented copies x{config.augmented_copies}", total=len(jobs))
        for chunk in (pool.map if pool else map)(_augment_chunk, *zip(*jobs, strict=True)):
            chunks.append(chunk)
            bar.advance(task)
    return np.concatenate(chunks)


def _workers_memory_holds(bytes_each: int) -> int:
    """How many processes of ``bytes_each`` peak memory the free memory holds (at least 1;
    1 where the system does not tell)."""
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1
    return max(1, int(free // bytes_each))


def save_features(path: str | os.PathLike, features: dict, config: RecipeConfig) -> None:
    """Write :func:`recipe_features` and the config fields they depend on to an ``.npz``
    (uncompressed: MFCC bytes barely compress)."""
    recorded = {key: getattr(config, key) for key in FEATURE_FIELDS}
    _atomic_npz(Path(path), {**features, "config": np.array(json.dumps(recorded))})


def load_features(path: str | os.PathLike, config: RecipeConfig) -> dict:
    """Read a file of :func:`save_features`; refuses one made with other feature settings
    (``ValueError``) or that is not such a file (``ValueError`` naming it)."""
    try:
        stored = np.load(path)
    except (ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"{path}: not a recipe features file ({error})") from error
    if not isinstance(stored, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a recipe features file (a single array, not an .npz)")
    with stored:
        missing = [key for key in (*FEATURE_ARRAYS, "config") if key not in stored.files]
        if missing:
            raise ValueError(f"{path}: not a recipe features file (missing {missing})")
        recorded = {**_FEATURE_DEFAULTS, **json.loads(str(stored["config"]))}
        wanted = {key: getattr(config, key) for key in FEATURE_FIELDS}
        changed = sorted(key for key in FEATURE_FIELDS if recorded.get(key) != wanted[key])
        if changed:
            raise ValueError(f"{path} was made with other {changed}: {recorded}")
        return {key: stored[key] for key in FEATURE_ARRAYS}


def train(out_dir: str | os.PathLike, config: RecipeConfig | None = None, *,
          cache_dir=None, workers=None, progress: bool = True, stage: str = "all",
          features: str | os.PathLike | None = None) -> dict:
    """Run the recipe (or one stage of it) and write the zoo files into ``out_dir``.

    Stages: ``"features"`` writes ``ds_cnn_kws_features.npz`` (needs espeak-ng for the
    corpus); ``"keras"`` trains the float and quantized Keras models from a features file
    and writes ``ds_cnn_kws.h5`` and the Keras figures (needs Keras with any backend, no
    corpus); ``"engine"`` is :func:`rebuild_engine`; ``"all"`` runs the three in a row.

    Parameters
    ----------
    out_dir : path-like
        Folder for ``ds_cnn_kws.{h5,slm,json}`` and ``ds_cnn_kws_demo.npz``.
    config : RecipeConfig, optional
        Sizes, epochs and seed (defaults: the shipped model's recipe; for the ``"engine"``
        stage: the recipe recorded in ``ds_cnn_kws.json``).
    cache_dir, workers :
        Passed to :func:`spikelearn.datasets.make_corpus`; ``workers`` also bounds the
        processes that make the augmented copies (see :func:`recipe_features`).
    progress : bool
        Show rich progress bars.
    stage : {"all", "features", "keras", "engine"}
    features : path-like, optional
        Features file for the ``"keras"`` stage (default
        ``out_dir/ds_cnn_kws_features.npz``).

    Returns
    -------
    dict
        The figures also written to ``ds_cnn_kws.json`` (for ``"features"``: the sizes).
    """
    stages = ("all", "features", "keras", "engine")
    if stage not in stages:
        raise ValueError(f"unknown recipe stage {stage!r}; expected one of {stages}")
    out = Path(out_dir)
    if stage == "engine":
        return rebuild_engine(out, config, cache_dir=cache_dir, workers=workers,
                              progress=progress)
    config = config or RecipeConfig()
    out.mkdir(parents=True, exist_ok=True)
    features_path = Path(features) if features else out / "ds_cnn_kws_features.npz"
    started = time.perf_counter()
    if stage == "keras":
        arrays = load_features(features_path, config)
    else:
        arrays = recipe_features(config, cache_dir=cache_dir, workers=workers,
                                 progress=progress)
    features_s = time.perf_counter() - started
    if stage == "features":
        save_features(features_path, arrays, config)
        return {"features": str(features_path), "features_s": round(features_s, 1),
                **{key: list(value.shape) for key, value in arrays.items()}}
    figures = _keras_stage(out, config, arrays, progress)
    if stage == "all":
        figures["timings_s"]["features_s"] = round(features_s, 1)
    (out / "ds_cnn_kws.json").write_text(json.dumps(figures, indent=2) + "\n")
    if stage == "keras":
        return figures
    figures = rebuild_engine(out, config, cache_dir=cache_dir, workers=workers,
                             progress=progress)
    figures["total_s"] = round(time.perf_counter() - started, 1)
    (out / "ds_cnn_kws.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


#: Bits of the recipe's quantization: input-layer weights, other weights, activations, and
#: the spikes out of the feature extractor (the arguments of ``quantize``).
QUANTIZATION_BITS = (8, 4, 4, 1)


def train_float(config: RecipeConfig, arrays: dict, progress) -> tuple:
    """The recipe's float DS-CNN, trained on ``arrays["x_fit"]`` (Adam, cosine decay).

    Parameters
    ----------
    config : RecipeConfig
        ``filters``, ``float_epochs``, ``learning_rate``, ``batch_size``.
    arrays : dict
        :func:`recipe_features`.
    progress : rich.progress.Progress
        Where the epochs are shown (may be disabled).

    Returns
    -------
    model : keras.Model
    history : dict
        Accuracy per epoch (``accuracy``, ``val_accuracy``).
    """
    from spikelearn.zoo.ds_cnn_kws import build_float_model

    model = build_float_model(len(_preset_words()), filters=config.filters)
    history = _train_keras(
        model, arrays["x_fit"], arrays["y_fit"], arrays["x_val"], arrays["y_val"],
        epochs=config.float_epochs, learning_rate=config.learning_rate,
        batch_size=config.batch_size, progress=progress, description="float training")
    return model, history


def train_quantized(float_model, config: RecipeConfig, arrays: dict, progress, *,
                    bits: tuple = QUANTIZATION_BITS) -> tuple:
    """Quantize the float model and run quantization-aware training.

    :func:`~spikelearn.quantization.quantize` calibrates the activation steps on the first
    2,000 training clips (after equalizing the separable convolutions when
    ``qat_equalization``; weight scales as ``qat_weight_clip``); QAT runs ``qat_epochs``
    from ``qat_learning_rate``, distilled from ``float_model`` when
    ``distillation_weight > 0``, with the batch normalization frozen for the last
    ``qat_frozen_bn_epochs``, ending on the moving average of the weights when
    ``qat_weight_average > 0`` and then, with ``qat_bn_reestimation``, with the batch
    normalization statistics re-estimated over ``x_fit`` (see
    :func:`reestimate_batch_norm`). ``float_model`` itself is not changed.

    Parameters
    ----------
    float_model : keras.Model
        From :func:`train_float`.
    config, arrays, progress :
        As in :func:`train_float`.
    bits : tuple of 4 int
        Input-layer weights, other weights, activations and spikes (the recipe's
        ``QUANTIZATION_BITS`` = 8, 4, 4, 1 by default).

    Returns
    -------
    quantized : keras.Model
    history : dict
        As in :func:`train_float` (per epoch, of the weights then), plus
        ``final_val_accuracy``: the validation accuracy of the returned model.
    """
    from spikelearn.quantization import quantize

    quantized = quantize(float_model, *bits, calibration_data=arrays["x_train"][:2000],
                         equalize=config.qat_equalization, weight_clip=config.qat_weight_clip)
    history = _qat_cycle(quantized, config, arrays, progress, epochs=config.qat_epochs,
                         learning_rate=config.qat_learning_rate, teacher=float_model,
                         description="quantization-aware training")
    return quantized, history


def restart_qat(quantized, config: RecipeConfig, arrays: dict, progress, *, epochs: int,
                learning_rate: float) -> dict:
    """Run QAT again on an already quantized model (a warm restart), in place.

    One more cycle as :func:`train_quantized` runs it (Adam from ``learning_rate`` with
    cosine decay over ``epochs``; the batch normalization frozen for the last
    ``qat_frozen_bn_epochs``; the weight average ``qat_weight_average``; the statistics
    re-estimated with ``qat_bn_reestimation``), without distillation: the float model is
    not at hand. For a seeded run, call :func:`seed_everything` before loading or building
    ``quantized``: its dropout layer draws its seed then, the batch order at the call.

    Parameters
    ----------
    quantized : keras.Model
        From :func:`train_quantized` (or the shipped ``ds_cnn_kws.h5``).
    config, arrays, progress :
        As in :func:`train_float`; ``distillation_weight`` must be 0.
    epochs : int
        At least 1.
    learning_rate : float
        Above 0.

    Returns
    -------
    history : dict
        As in :func:`train_quantized`.
    """
    if config.distillation_weight > 0:
        raise ValueError("restart_qat: distillation needs the float model; set "
                         "distillation_weight=0")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"restart_qat: epochs must be an int >= 1, got {epochs!r}")
    if not learning_rate > 0:
        raise ValueError(f"restart_qat: learning_rate must be > 0, got {learning_rate!r}")
    return _qat_cycle(quantized, config, arrays, progress, epochs=epochs,
                      learning_rate=learning_rate, teacher=None,
                      description="quantization-aware training (restart)")


def _qat_cycle(quantized, config: RecipeConfig, arrays: dict, progress, *, epochs: int,
               learning_rate: float, teacher, description: str) -> dict:
    """One QAT run of ``quantized`` in place: training, then the re-estimation when
    ``qat_bn_reestimation``; returns the history with ``final_val_accuracy``."""
    history = _train_keras(
        quantized, arrays["x_fit"], arrays["y_fit"], arrays["x_val"], arrays["y_val"],
        epochs=epochs, learning_rate=learning_rate, batch_size=config.batch_size,
        progress=progress, description=description, teacher=teacher,
        distillation_weight=config.distillation_weight,
        distillation_temperature=config.distillation_temperature,
        frozen_bn_epochs=config.qat_frozen_bn_epochs,
        weight_average=config.qat_weight_average)
    if config.qat_bn_reestimation:
        reestimate_batch_norm(quantized, arrays["x_fit"], batch_size=config.batch_size,
                              progress=progress)
    history["final_val_accuracy"] = round(
        keras_accuracy(quantized, arrays["x_val"], arrays["y_val"]), 4)
    return history


def keras_accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of a Keras classifier on uint8 features ``x`` and labels ``y``."""
    logits = model.predict(x.astype(np.float32), batch_size=500, verbose=0)
    return float(np.mean(np.argmax(logits, axis=1) == y))


def _keras_stage(out: Path, config: RecipeConfig, arrays: dict, progress: bool) -> dict:
    """Float training, quantize, QAT; writes ``ds_cnn_kws.h5``, returns the Keras figures."""
    import keras
    from rich.progress import Progress

    import spikelearn

    timings = {}
    seed_everything(config.seed)
    with Progress(disable=not progress) as bar:
        t0 = time.perf_counter()
        float_model, float_history = train_float(config, arrays, bar)
        timings["float_training_s"] = time.perf_counter() - t0
        float_test = keras_accuracy(float_model, arrays["x_test"], arrays["y_test"])
        # QAT draws from its own seed, so it can be rerun from a saved float model (as
        # benchmarks/qat_ablation.py does) and give the same weights.
        t0 = time.perf_counter()
        runs = []
        for run in range(config.qat_runs):
            seed_everything(config.seed + 1 + run)
            runs.append(train_quantized(float_model, config, arrays, bar))
        quantized, qat_history = runs[0]
        if len(runs) > 1:
            quantized = average_weights([model for model, _ in runs])
            reestimate_batch_norm(quantized, arrays["x_fit"], batch_size=config.batch_size,
                                  progress=bar)
            qat_history = {"runs": [history for _, history in runs], "final_val_accuracy":
                           round(keras_accuracy(quantized, arrays["x_val"], arrays["y_val"]),
                                 4)}
        timings["qat_s"] = time.perf_counter() - t0
    quantized_test = keras_accuracy(quantized, arrays["x_test"], arrays["y_test"])
    quantized.save(out / "ds_cnn_kws.h5", include_optimizer=False)
    return {
        "recipe": asdict(config),
        "words": _preset_words(),
        "new_words": list(NEW_WORDS),
        "spikelearn_version": spikelearn.__version__,
        "keras": {"version": keras.__version__, "backend": keras.backend.backend()},
        "train_clips": int(len(arrays["y_train"])),
        "fit_samples_with_augmentation": int(len(arrays["y_fit"])),
        "accuracy": {"float_test": round(float_test, 4),
                     "quantized_keras_test": round(quantized_test, 4)},
        "history": {"float": float_history, "qat": qat_history},
        "timings_s": {key: round(value, 1) for key, value in timings.items()},
    }


def rebuild_engine(out_dir: str | os.PathLike, config: RecipeConfig | None = None, *,
                   cache_dir=None, workers=None, progress: bool = True) -> dict:
    """Re-run the recipe's engine stage from the ``ds_cnn_kws.h5`` in ``out_dir``.

    Converts the quantized Keras model, builds and fits the learning layer with the
    engine settings of ``config`` (``neurons_per_class``, ``spike_threshold_offset``,
    ``learning_competition``, ``rewire``, ``score_neurons``, ``new_class_bonus``) and
    rewrites ``ds_cnn_kws.slm`` and the demo set ``ds_cnn_kws_demo.npz``; in ``ds_cnn_kws.json``
    the engine figures are replaced and the Keras ones (float and QAT training) kept. The
    result equals what :func:`train` writes with the same ``config`` and Keras model: the
    engine stage is integer-only and seeded.

    Parameters
    ----------
    out_dir : path-like
        A folder written by :func:`train`.
    config : RecipeConfig, optional
        Default: the recipe recorded in ``ds_cnn_kws.json`` (fields it lacks take today's
        defaults). Corpus and training fields must equal the recorded ones.
    cache_dir, workers, progress :
        As in :func:`train`.

    Returns
    -------
    dict
        The updated figures.

    Raises
    ------
    ValueError
        If ``config`` differs from the recorded recipe in a field the Keras model depends on.
    """
    import keras

    import spikelearn.quantization  # noqa: F401  (registers the quantized layers)

    out = Path(out_dir)
    figures = json.loads((out / "ds_cnn_kws.json").read_text())
    recorded = figures["recipe"]
    config = config or RecipeConfig(**recorded)
    learning = {"neurons_per_class", "spike_threshold_offset", "learning_competition",
                "rewire", "score_neurons", "new_class_bonus"}
    changed = sorted(key for key, value in asdict(config).items()
                     if key not in learning and key in recorded and recorded[key] != value)
    if changed:
        raise ValueError(f"rebuild_engine: {changed} differ from the recipe that trained "
                         f"{out / 'ds_cnn_kws.h5'}; only {sorted(learning)} may change")
    corpus, new_corpus = _corpora(config, cache_dir, workers, progress)
    train_set, test_set = corpus.get_split("train"), corpus.get_split("test")
    quantized = keras.models.load_model(out / "ds_cnn_kws.h5")
    accuracy = {key: figures["accuracy"][key] for key in ("float_test", "quantized_keras_test")}
    x_test = _features(test_set.audio)
    figures.update(_engine_stage(quantized, out, config, _features(train_set.audio),
                                 train_set.labels, x_test, test_set, accuracy))
    _write_demo_set(out / "ds_cnn_kws_demo.npz", test_set, x_test, new_corpus, config)
    figures["recipe"] = asdict(config)
    figures["corpus"] = {k: v for k, v in corpus.manifest.items() if k != "speakers"}
    figures["timings_s"]["offline_fit_s"] = round(figures.pop("offline_fit_s"), 1)
    (out / "ds_cnn_kws.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def _preset_words() -> list[str]:
    from spikelearn.datasets.synthetic import DEFAULT_WORDS

    return [w for w in DEFAULT_WORDS if w not in NEW_WORDS]


def _corpora(config: RecipeConfig, cache_dir, workers, progress):
    """The preset-word corpus and the new-word corpus of the recipe."""
    from spikelearn.datasets import make_corpus

    corpus = make_corpus(config.num_speakers, config.repetitions, config.seed,
                         words=_preset_words(), cache_dir=cache_dir, workers=workers,
                         progress=progress)
    new_corpus = make_corpus(config.num_speakers, config.new_word_repetitions, config.seed,
                             words=list(NEW_WORDS), cache_dir=cache_dir, workers=workers,
                             progress=progress)
    return corpus, new_corpus


def _engine_stage(quantized, out: Path, config: RecipeConfig, x_train, y_train, x_test,
                  test_set, accuracy: dict) -> dict:
    """Convert, replace the classifier by the learning layer, fit it offline, save the
    ``.slm``; returns the engine figures (``accuracy`` extended, per-group accuracy,
    ``num_weights``, ``offline_fit_s``)."""
    import spikelearn
    from spikelearn.calibration import offset_spike_thresholds
    from spikelearn.layers import FullyConnected
    from spikelearn.learning import Competitive, choose_num_weights

    y_test = test_set.labels
    engine = spikelearn.convert(quantized)
    engine_test = engine.evaluate(x_test, y_test)
    agreement = float(np.mean(
        engine.predict_classes(x_test)
        == np.argmax(quantized.predict(x_test.astype(np.float32), verbose=0), axis=1)))

    num_classes = len(_preset_words())
    engine.pop_layer()
    if config.spike_threshold_offset:
        offset_spike_thresholds(engine, x_train, config.spike_threshold_offset)
    spikes = engine.forward(x_train)
    num_weights = choose_num_weights(spikes.reshape(len(spikes), -1))
    engine.add(FullyConnected(num_classes * config.neurons_per_class, weight_bits=1,
                              name="edge_learning"))
    engine.compile(Competitive(num_weights, num_classes,
                               learning_competition=config.learning_competition,
                               rewire=config.rewire, score_neurons=config.score_neurons,
                               new_class_bonus=config.new_class_bonus, seed=config.seed))
    t0 = time.perf_counter()
    engine.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - t0
    engine.class_names = _preset_words()
    engine.save(out / "ds_cnn_kws.slm")

    predicted = engine.predict_classes(x_test)
    groups = {}
    for column in ("dialect", "variant"):
        values = test_set.speaker_attribute(column)
        groups[column] = {
            str(v): round(float(np.mean(predicted[values == v] == y_test[values == v])), 4)
            for v in sorted(set(values))
        }
    return {
        "accuracy": {
            **accuracy,
            "converted_engine_test": round(float(engine_test), 4),
            "engine_vs_keras_class_agreement": round(agreement, 4),
            "learning_layer_test": round(float(np.mean(predicted == y_test)), 4),
        },
        "test_accuracy_by_group": groups,
        "num_weights": int(num_weights),
        "offline_fit_s": fit_seconds,
    }


def _write_demo_set(path: Path, test_set, x_test, new_corpus, config: RecipeConfig) -> None:
    """Held-out material for the demo: old-class features and new-word audio (int16), with
    each new-word clip's word offset and length in samples (for streams of them).

    Test speakers only; their clips were never used for training.
    """
    new_test = new_corpus.get_split("test")
    speakers = np.unique(new_test.speakers)[: config.demo_speakers]
    keep = np.isin(new_test.speakers, speakers)
    pcm = np.round(np.clip(new_test.audio[keep], -1, 1) * 32767).astype(np.int16)
    _atomic_npz(path, {
        "old_features": x_test,
        "old_labels": test_set.labels.astype(np.int16),
        "new_audio": pcm,
        "new_labels": new_test.labels[keep].astype(np.int16),
        "new_speakers": new_test.speakers[keep].astype(np.int16),
        "new_offsets": new_test.clip_info["offset"][keep].astype(np.int32),
        "new_lengths": new_test.clip_info["length"][keep].astype(np.int32),
    }, compressed=True)


def _atomic_npz(path: Path, arrays: dict, *, compressed: bool = False) -> None:
    """``numpy.savez`` (``savez_compressed`` if ``compressed``) through a temporary file and
    :func:`os.replace` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as file:
            (np.savez_compressed if compressed else np.savez)(file, **arrays)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
