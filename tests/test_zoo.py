"""The model zoo: the shipped keyword spotter, the demo, and the training recipe at tiny scale."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from spikelearn import Model, zoo
from spikelearn.demo import run_demo


def test_list_and_unknown_model():
    assert zoo.list_models() == ["ds_cnn_kws"]
    with pytest.raises(ValueError, match="unknown zoo model 'nope'"):
        zoo.load("nope")


def test_shipped_model_loads_without_tensorflow(no_tensorflow):
    result = no_tensorflow(
        """
        import sys
        from spikelearn import zoo
        model = zoo.load("ds_cnn_kws")
        data = zoo.load_demo_data("ds_cnn_kws")
        x, y = data["old_features"][:200], data["old_labels"][:200]
        print(model.num_classes, model.evaluate(x, y))
        assert "tensorflow" not in sys.modules
        """
    )
    assert result.returncode == 0, result.stderr
    num_classes, accuracy = result.stdout.split()
    assert int(num_classes) == 33 and float(accuracy) > 0.5


def test_recipe_defaults_are_those_the_shipped_model_records():
    from spikelearn.zoo.training import RecipeConfig

    assert zoo.info("ds_cnn_kws")["recipe"] == dataclasses.asdict(RecipeConfig())


def test_shipped_model_scores_above_floor_on_the_demo_set():
    model = zoo.load("ds_cnn_kws")
    data = zoo.load_demo_data("ds_cnn_kws")
    meta = zoo.info("ds_cnn_kws")
    assert model.num_classes == len(meta["words"]) == 33
    assert model.class_names == meta["words"]
    assert model.input_shape == (49, 10, 1)
    accuracy = model.evaluate(data["old_features"], data["old_labels"])
    assert accuracy >= 0.85
    # The shipped figures were measured on these very test speakers.
    assert accuracy == pytest.approx(meta["accuracy"]["learning_layer_test"], abs=1e-4)
    assert data["new_audio"].dtype == np.float32 and data["new_audio"].shape[1] == 16000
    assert set(np.unique(data["new_labels"])) == {0, 1, 2}
    offsets, lengths = data["new_offsets"], data["new_lengths"]
    assert offsets.shape == lengths.shape == data["new_labels"].shape
    assert np.all(offsets >= 0) and np.all(lengths > 0) and np.all(offsets + lengths <= 16000)
    for clip, offset, length in zip(data["new_audio"], offsets, lengths, strict=True):
        word = clip[offset:offset + length]  # the loudest part of each clip is its word
        assert np.abs(word).max() == np.abs(clip).max()


def test_demo_learns_new_words_and_keeps_old_ones():
    figures = run_demo(shots=4, augmentations=10, seed=1)
    assert figures["num_samples"] == 3 * 4 * 10
    assert figures["old_accuracy_after"] >= figures["old_accuracy_before"] - 0.02
    # Far above chance (1/36) on the learner's own held-out utterances.
    assert figures["new_accuracy_same_speaker"] >= 0.5
    assert np.sum(figures["confusion"]) == figures["new_test_same_speaker"] + figures[
        "new_test_other_speakers"] + 3 * 4
    assert run_demo(shots=4, augmentations=10, seed=1)["confusion"] == figures["confusion"]


def test_demo_rejects_bad_speaker_and_too_many_shots():
    with pytest.raises(ValueError, match="not in the demo set"):
        run_demo(speaker=10_000)
    with pytest.raises(ValueError, match="shots must be below"):
        run_demo(shots=50)


@pytest.mark.slow
def test_recipe_end_to_end_at_tiny_scale(tmp_path):
    pytest.importorskip("tensorflow")
    from spikelearn.zoo.training import RecipeConfig, rebuild_engine, train

    config = RecipeConfig(num_speakers=6, repetitions=1, new_word_repetitions=5, float_epochs=1,
                          qat_epochs=1, neurons_per_class=2, score_neurons=2, demo_speakers=1,
                          filters=16)
    figures = train(tmp_path, config, cache_dir=tmp_path / "data", progress=False)
    assert Model(tmp_path / "ds_cnn_kws.slm").layers[1].output_shape[-1] == 16  # the width
    # The same recipe again, stage by stage (as the shipped model was made).
    again = tmp_path / "again"
    features = train(again, config, cache_dir=tmp_path / "data", progress=False,
                     stage="features")
    assert features["x_fit"] == [figures["train_clips"] * (1 + config.augmented_copies),
                                 49, 10, 1]
    with pytest.raises(ValueError, match=r"other \['augmented_copies'\]"):
        train(again, dataclasses.replace(config, augmented_copies=1), stage="keras")
    train(again, config, progress=False, stage="keras")
    assert not (again / "ds_cnn_kws.slm").exists()
    train(again, None, cache_dir=tmp_path / "data", progress=False, stage="engine")
    with pytest.raises(ValueError, match="unknown recipe stage 'bogus'"):
        train(again, config, stage="bogus")
    assert sorted(p.name for p in tmp_path.glob("ds_cnn_kws*")) == [
        "ds_cnn_kws.h5", "ds_cnn_kws.json", "ds_cnn_kws.slm", "ds_cnn_kws_demo.npz"]
    assert json.loads((tmp_path / "ds_cnn_kws.json").read_text()) == figures
    # The converted engine reproduces the quantized Keras model's classes.
    assert figures["accuracy"]["engine_vs_keras_class_agreement"] >= 0.999
    model = Model(tmp_path / "ds_cnn_kws.slm")
    assert model.num_classes == 33
    assert model.class_names == figures["words"]
    assert model.get_layer(-1).config["units"] == 33 * 2
    # Same seed, same model: every integer array of every layer is identical.
    for first, second in zip(model.layers, Model(again / "ds_cnn_kws.slm").layers, strict=True):
        for name, array in first.variables.items():
            np.testing.assert_array_equal(array, second.variables[name], err_msg=name)
    with np.load(tmp_path / "ds_cnn_kws_demo.npz") as demo:
        assert demo["old_features"].dtype == np.uint8
        assert demo["new_audio"].dtype == np.int16
    # The engine stage alone, from the .h5: only the readout changes, the Keras figures stay.
    rebuilt = rebuild_engine(again, dataclasses.replace(config, score_neurons=1),
                             cache_dir=tmp_path / "data", progress=False)
    assert rebuilt["recipe"]["score_neurons"] == 1
    assert rebuilt["accuracy"]["float_test"] == figures["accuracy"]["float_test"]
    assert rebuilt["history"] == figures["history"]
    assert json.loads((again / "ds_cnn_kws.json").read_text()) == rebuilt
    single = Model(again / "ds_cnn_kws.slm")
    assert single.score_neurons == 1 and model.score_neurons == 2
    np.testing.assert_array_equal(single.get_layer(-1).variables["weights"],
                                  model.get_layer(-1).variables["weights"])
    # A spike-threshold offset moves the thresholds of the extractor's last layer only.
    offset = rebuild_engine(again, dataclasses.replace(config, spike_threshold_offset=-0.5),
                            cache_dir=tmp_path / "data", progress=False)
    assert offset["recipe"]["spike_threshold_offset"] == -0.5
    moved = Model(again / "ds_cnn_kws.slm")
    before, after = (m.get_layer(-2).variables["thresholds"] for m in (model, moved))
    assert np.all(after <= before) and np.any(after < before)
    for first, second in zip(model.layers[:-1], moved.layers[:-1], strict=True):
        for name in set(first.variables) - {"thresholds"}:
            np.testing.assert_array_equal(first.variables[name], second.variables[name])
    with pytest.raises(ValueError, match=r"\['num_speakers'\] differ"):
        rebuild_engine(again, dataclasses.replace(config, num_speakers=7),
                       cache_dir=tmp_path / "data", progress=False)


def test_recipe_features_file_is_checked(tmp_path):
    from spikelearn.zoo.training import (
        FEATURE_ARRAYS,
        FEATURE_FIELDS,
        RecipeConfig,
        load_features,
        save_features,
    )

    config = RecipeConfig(num_speakers=6, repetitions=1)
    arrays = {name: np.zeros((2, 49, 10, 1) if name.startswith("x") else 2, np.uint8)
              for name in FEATURE_ARRAYS}
    path = tmp_path / "features.npz"
    save_features(path, arrays, config)
    loaded = load_features(path, config)
    assert sorted(loaded) == sorted(FEATURE_ARRAYS)
    np.testing.assert_array_equal(loaded["x_fit"], arrays["x_fit"])
    with pytest.raises(ValueError, match=r"other \['num_speakers'\]"):
        load_features(path, RecipeConfig(repetitions=1))
    (tmp_path / "text.npz").write_text("not numpy")
    with pytest.raises(ValueError, match="text.npz: not a recipe features file"):
        load_features(tmp_path / "text.npz", config)
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz"):
        load_features(tmp_path / "single.npy", config)
    # A file from before recording_copies existed was made without them.
    old = {key: getattr(config, key) for key in FEATURE_FIELDS if key != "recording_copies"}
    np.savez(tmp_path / "old.npz", **arrays, config=np.array(json.dumps(old)))
    assert sorted(load_features(tmp_path / "old.npz", config)) == sorted(FEATURE_ARRAYS)
    with pytest.raises(ValueError, match=r"other \['recording_copies'\]"):
        load_features(tmp_path / "old.npz", dataclasses.replace(config, recording_copies=1))
    np.savez(tmp_path / "partial.npz", x_fit=np.zeros(2))
    with pytest.raises(ValueError, match="missing"):
        load_features(tmp_path / "partial.npz", config)
    assert not list(tmp_path.glob(".*.tmp"))



def test_recipe_features_add_copies_as_a_recording_holds_the_clips(tmp_path):
    from spikelearn.datasets import make_corpus
    from spikelearn.datasets.long_recordings import as_recorded
    from spikelearn.zoo.training import RecipeConfig, _features, recipe_features

    config = RecipeConfig(num_speakers=6, repetitions=1, augmented_copies=0,
                          recording_copies=2, seed=3)
    arrays = recipe_features(config, cache_dir=tmp_path, progress=False)
    train_set = make_corpus(6, 1, 3, words=zoo.info("ds_cnn_kws")["words"], cache_dir=tmp_path,
                            progress=False).get_split("train")
    copies = [_features(as_recorded(train_set.audio, train_set.clip_info["offset"],
                                    train_set.clip_info["length"], seed=3 + 1000 * k))
              for k in (1, 2)]
    assert not np.array_equal(copies[0], copies[1]) and not np.array_equal(copies[0],
                                                                           arrays["x_train"])
    rows = 3 * len(train_set.labels)
    expected = np.column_stack([np.concatenate([arrays["x_train"], *copies]).reshape(rows, -1),
                                np.tile(train_set.labels, 3)])
    got = np.column_stack([arrays["x_fit"].reshape(rows, -1), arrays["y_fit"]])
    order = np.lexsort(expected.T), np.lexsort(got.T)  # the same samples, shuffled
    np.testing.assert_array_equal(expected[order[0]], got[order[1]])

def test_augmented_copies_are_the_same_for_any_number_of_workers(monkeypatch):
    from spikelearn.datasets.augment import augment
    from spikelearn.datasets.features import extract_features
    from spikelearn.zoo import training

    monkeypatch.setattr(training, "AUGMENT_CHUNK", 3)  # 7 clips: chunks of 3, 3 and 1
    audio = np.random.default_rng(0).normal(0, 0.1, (7, 16000)).astype(np.float32)
    config = training.RecipeConfig(augmented_copies=2, seed=5)
    one = training._augmented_features(audio, config, 1, progress=False)
    two = training._augmented_features(audio, config, 2, progress=False)
    assert one.shape == (14, 49, 10, 1) and one.dtype == np.uint8
    np.testing.assert_array_equal(one, two)
    # Each chunk is seeded by the recipe's seed plus its first clip's index.
    last = extract_features(augment(audio[6:], n=2, seed=5 + 6, pitch_semitones=(-2.0, 2.0)))
    np.testing.assert_array_equal(one[12:], last)


def test_augmentation_workers_are_bounded_by_free_memory(monkeypatch):
    from spikelearn.zoo import training

    pages = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(training.os, "sysconf", pages.__getitem__)
    assert training._workers_memory_holds(4096 * 300) == 3
    assert training._workers_memory_holds(4096 * 5000) == 1  # never fewer than one

    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(training.os, "sysconf", unknown)
    assert training._workers_memory_holds(1) == 1


def _random_qat_arrays(seed: int, n: int = 40) -> dict:
    """Random features and labels of the fit, train and validation splits."""
    rng = np.random.default_rng(seed)
    arrays = {f"x_{split}": rng.integers(0, 256, (n, 49, 10, 1), dtype=np.uint8)
              for split in ("fit", "train", "val")}
    arrays.update({f"y_{split}": rng.integers(0, 33, n) for split in ("fit", "train", "val")})
    return arrays


def test_train_quantized_takes_the_bits_and_learning_rate_and_keeps_the_float_model():
    pytest.importorskip("tensorflow")
    from rich.progress import Progress

    from spikelearn.quantization import QuantizedActivation
    from spikelearn.zoo.training import (
        RecipeConfig,
        keras_accuracy,
        seed_everything,
        train_float,
        train_quantized,
    )

    arrays = _random_qat_arrays(0)
    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20, qat_learning_rate=3e-4)
    seed_everything(0)
    with Progress(disable=True) as bar:
        float_model, history = train_float(config, arrays, bar)
        before = [w.copy() for w in float_model.get_weights()]
        quantized, qat_history = train_quantized(float_model, config, arrays, bar,
                                                 bits=(8, 4, 2, 1))
    assert len(history["accuracy"]) == len(qat_history["val_accuracy"]) == 1
    for old, new in zip(before, float_model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    levels = [layer.bits for layer in quantized.layers if isinstance(layer, QuantizedActivation)]
    assert levels == [2, 2, 2, 2, 1]
    schedule = quantized.optimizer.get_config()["learning_rate"]["config"]
    assert schedule["initial_learning_rate"] == pytest.approx(3e-4)
    assert 0.0 <= keras_accuracy(quantized, arrays["x_val"], arrays["y_val"]) <= 1.0


def _tiny_keras_stage(tmp_path, data_seed, **fields):
    """The recipe's keras stage on 30 random clips; returns the arrays, the config, the
    figures and the written quantized model."""
    import keras

    from spikelearn.zoo.training import FEATURE_ARRAYS, RecipeConfig, save_features, train

    rng = np.random.default_rng(data_seed)
    arrays = {name: rng.integers(0, 256, (30, 49, 10, 1), dtype=np.uint8)
              if name.startswith("x") else rng.integers(0, 33, 30) for name in FEATURE_ARRAYS}
    config = RecipeConfig(num_speakers=6, repetitions=1, float_epochs=1, qat_epochs=1,
                          batch_size=10, seed=3, **fields)
    save_features(tmp_path / "ds_cnn_kws_features.npz", arrays, config)
    figures = train(tmp_path, config, progress=False, stage="keras")
    return arrays, config, figures, keras.models.load_model(tmp_path / "ds_cnn_kws.h5",
                                                            compile=False)


def _qat_from_one_float_model(config, arrays, seed_shifts):
    """The recipe's float model (seed ``config.seed``), then one QAT run per shift (seeded
    ``config.seed + shift``) from it."""
    from rich.progress import Progress

    from spikelearn.zoo.training import seed_everything, train_float, train_quantized

    seed_everything(config.seed)
    with Progress(disable=True) as bar:
        float_model, _ = train_float(config, arrays, bar)
        runs = []
        for shift in seed_shifts:
            seed_everything(config.seed + shift)
            runs.append(train_quantized(float_model, config, arrays, bar)[0])
    return runs


def test_recipe_qat_reruns_from_the_float_model(tmp_path):
    """The keras stage seeds QAT on its own, so QAT from the same float model (what
    benchmarks/qat_ablation.py does) gives the shipped quantized weights again."""
    pytest.importorskip("tensorflow")
    arrays, config, _, shipped = _tiny_keras_stage(tmp_path, 1)
    other, again = _qat_from_one_float_model(config, arrays, (7, 1))  # 7: other weights
    for first, second in zip(shipped.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(first, second)
    assert any(not np.array_equal(a, b)
               for a, b in zip(shipped.get_weights(), other.get_weights(), strict=True))


def test_keras_stage_averages_several_qat_runs(tmp_path):
    """qat_runs=2: QAT seeded seed+1 and seed+2 from one float model, weights averaged, batch
    normalization re-estimated; the history keeps each run's."""
    pytest.importorskip("tensorflow")
    from spikelearn.zoo.training import average_weights, keras_accuracy, reestimate_batch_norm

    arrays, config, figures, soup = _tiny_keras_stage(tmp_path, 2, qat_runs=2)
    members = _qat_from_one_float_model(config, arrays, (1, 2))
    first, second = (member.get_weights() for member in members)
    assert any(not np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    expected = average_weights(members)
    reestimate_batch_norm(expected, arrays["x_fit"], batch_size=config.batch_size)
    for a, b in zip(soup.get_weights(), expected.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    history = figures["history"]["qat"]
    assert [len(run["val_accuracy"]) for run in history["runs"]] == [1, 1]
    assert history["final_val_accuracy"] == round(
        keras_accuracy(soup, arrays["x_val"], arrays["y_val"]), 4)


def test_average_weights_is_the_elementwise_mean():
    pytest.importorskip("tensorflow")
    import keras

    from spikelearn.zoo.training import average_weights

    def dense(value, units=3):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(units)])
        model.set_weights([np.full((2, units), value, np.float32),
                           np.full(units, -value, np.float32)])
        return model

    models = [dense(1.0), dense(2.0), dense(6.0)]
    assert average_weights(models) is models[0]
    kernel, bias = models[0].get_weights()
    np.testing.assert_array_equal(kernel, np.full((2, 3), 3.0, np.float32))
    np.testing.assert_array_equal(bias, np.full(3, -3.0, np.float32))
    np.testing.assert_array_equal(models[1].get_weights()[0], np.full((2, 3), 2.0))  # untouched
    with pytest.raises(ValueError, match="shapes"):
        average_weights([dense(1.0), dense(1.0, units=4)])
    unbiased = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, use_bias=False)])
    with pytest.raises(ValueError, match="different numbers of weights"):
        average_weights([dense(1.0), unbiased])


def test_distillation_loss_matches_a_hand_computation():
    pytest.importorskip("tensorflow")
    from keras import ops

    from spikelearn.zoo.training import _distillation_loss, _packed_accuracy

    student = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]], np.float32)
    teacher = np.array([[1.0, 3.0, 0.0], [0.0, 0.0, 4.0]], np.float32)
    labels = np.array([0, 2], np.float32)
    packed = np.column_stack([labels, teacher])

    def log_softmax(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    hard = -log_softmax(student)[[0, 1], [0, 2]]
    targets = np.exp(log_softmax(teacher / 2.0))
    soft = -(targets * log_softmax(student / 2.0)).sum(axis=1)
    loss = ops.convert_to_numpy(_distillation_loss(0.75, 2.0)(packed, student))
    np.testing.assert_allclose(loss, 0.25 * hard + 0.75 * 4.0 * soft, rtol=1e-5)
    labels_only = ops.convert_to_numpy(_distillation_loss(0.0, 2.0)(packed, student))
    np.testing.assert_allclose(labels_only, hard, rtol=1e-5)
    # Row 0 predicts class 0 (its label), row 1 class 2 (its label); then one wrong.
    np.testing.assert_array_equal(ops.convert_to_numpy(_packed_accuracy(packed, student)), [1, 1])
    packed[1, 0] = 1
    np.testing.assert_array_equal(ops.convert_to_numpy(_packed_accuracy(packed, student)), [1, 0])


def _tiny_bn_model():
    import keras

    inputs = keras.Input((4,))
    x = keras.layers.Dense(8, name="dense")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, keras.layers.Dense(3, name="out")(x))


def test_frozen_batch_norm_epochs_keep_its_weights_and_carry_the_schedule_on():
    pytest.importorskip("tensorflow")
    from rich.progress import Progress

    from spikelearn.zoo.training import _train_keras, seed_everything

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)) * 3 + 1, rng.integers(0, 3, 40)
    seed_everything(0)
    model = _tiny_bn_model()
    bn = model.get_layer("bn")
    with Progress(disable=True) as bar:
        options = dict(epochs=2, learning_rate=1e-2, batch_size=10, progress=bar,
                       description="t")
        before = [w.copy() for w in bn.get_weights()]
        dense_before = model.get_layer("dense").get_weights()[0].copy()
        history = _train_keras(model, x, y, x, y, frozen_bn_epochs=2, **options)
        for old, new in zip(before, bn.get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)  # moving statistics and gamma/beta
        assert not np.array_equal(dense_before, model.get_layer("dense").get_weights()[0])
        assert bn.trainable and len(history["val_accuracy"]) == 2
        assert int(model.optimizer.iterations) == 2 * 4

        seed_everything(0)
        model = _tiny_bn_model()
        before = [w.copy() for w in model.get_layer("bn").get_weights()]
        history = _train_keras(model, x, y, x, y, frozen_bn_epochs=1, **options)
        assert any(not np.array_equal(old, new)  # trained in the first epoch
                   for old, new in zip(before, model.get_layer("bn").get_weights(), strict=True))
        assert len(history["accuracy"]) == 2 and int(model.optimizer.iterations) == 2 * 4



def test_weight_average_ends_on_the_moving_average_of_the_steps(monkeypatch):
    pytest.importorskip("tensorflow")
    import keras
    from rich.progress import Progress

    from spikelearn.zoo import training

    kernels = []

    class Record(keras.callbacks.Callback):  # the kernel after every step
        def on_train_batch_end(self, batch, logs=None):
            kernels.append(self.model.get_layer("dense").get_weights()[0].copy())

    monkeypatch.setattr(training, "_RichEpochs", lambda *args: Record())
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)) * 3 + 1, rng.integers(0, 3, 40)
    training.seed_everything(0)
    model = _tiny_bn_model()
    with Progress(disable=True) as bar:
        history = training._train_keras(model, x, y, x, y, epochs=2, learning_rate=1e-2,
                                        batch_size=10, progress=bar, description="t",
                                        weight_average=0.6)
    assert len(kernels) == 8
    average = kernels[0]
    for kernel in kernels[1:]:
        average = 0.6 * average + 0.4 * kernel
    final = model.get_layer("dense").get_weights()[0]
    np.testing.assert_allclose(final, average, rtol=1e-5, atol=1e-6)
    assert not np.allclose(final, kernels[-1])  # not the last step's weights
    assert len(history["val_accuracy"]) == 2


def test_batch_norm_reestimation_averages_the_batch_statistics():
    pytest.importorskip("tensorflow")
    import keras
    from rich.progress import Progress

    from spikelearn.zoo.training import reestimate_batch_norm

    keras.utils.set_random_seed(0)
    model = _tiny_bn_model()
    bn = model.get_layer("bn")
    x = np.random.default_rng(1).normal(size=(30, 4)) * 2 + 3
    before = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers}
    with Progress(disable=True) as bar:
        reestimate_batch_norm(model, x, batch_size=10, progress=bar)
        task, = bar.tasks
        assert task.completed == 30
    dense = model.get_layer("dense").get_weights()
    h = (x @ dense[0] + dense[1]).reshape(3, 10, -1)  # the BN inputs, batch by batch
    gamma, beta, mean, variance = bn.get_weights()
    np.testing.assert_allclose(mean, h.mean(axis=1).mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(variance, h.var(axis=1).mean(axis=0), rtol=1e-4, atol=1e-5)
    assert not np.allclose(mean, before["bn"][2])  # they did change
    assert bn.momentum == 0.99  # restored
    np.testing.assert_array_equal(gamma, before["bn"][0])  # only the statistics change
    np.testing.assert_array_equal(beta, before["bn"][1])
    for name in ("dense", "out"):
        for old, new in zip(before[name], model.get_layer(name).get_weights(), strict=True):
            np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("field, value", [
    ("distillation_weight", 1.5), ("distillation_temperature", 0.0),
    ("qat_frozen_bn_epochs", -1), ("qat_weight_average", 1.0), ("qat_weight_average", -0.1),
    ("qat_runs", 0), ("qat_runs", 1.5), ("qat_runs", True), ("qat_weight_clip", "minmax"),
    ("spike_threshold_offset", float("nan")), ("spike_threshold_offset", "-0.2"),
    ("filters", 0), ("filters", 1.5), ("filters", True), ("recording_copies", -1),
    ("recording_copies", 1.5), ("recording_copies", True)])
def test_recipe_config_refuses_bad_settings(field, value):
    from spikelearn.zoo.training import RecipeConfig

    with pytest.raises(ValueError, match=field):
        RecipeConfig(**{field: value})


def test_recipe_config_refuses_weight_average_with_frozen_batch_norm():
    from spikelearn.zoo.training import RecipeConfig

    with pytest.raises(ValueError, match="cannot be combined"):
        RecipeConfig(qat_weight_average=0.999, qat_frozen_bn_epochs=2)


def test_recipe_weight_clips_are_the_quantizers():
    pytest.importorskip("tensorflow")
    from spikelearn.quantization.quantizers import WEIGHT_CLIPS
    from spikelearn.zoo.training import QAT_WEIGHT_CLIPS

    assert QAT_WEIGHT_CLIPS == WEIGHT_CLIPS


def _qat_runs(*configs) -> tuple:
    """Random arrays, and ``(quantized, history)`` of QAT with each config (seed 1) from
    one float model trained with the first (seed 0)."""
    from rich.progress import Progress

    from spikelearn.zoo.training import seed_everything, train_float, train_quantized

    arrays = _random_qat_arrays(2)
    seed_everything(0)
    with Progress(disable=True) as bar:
        float_model, _ = train_float(configs[0], arrays, bar)
        runs = []
        for config in configs:
            seed_everything(1)
            runs.append(train_quantized(float_model, config, arrays, bar))
    return arrays, runs


def test_train_quantized_reestimates_batch_norm_when_asked():
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from spikelearn.zoo.training import RecipeConfig, keras_accuracy

    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20)
    arrays, runs = _qat_runs(replace(config, qat_bn_reestimation=False),
                             replace(config, qat_bn_reestimation=True))
    for quantized, history in runs:
        assert history["final_val_accuracy"] == round(
            keras_accuracy(quantized, arrays["x_val"], arrays["y_val"]), 4)
    plain, reestimated = ({layer.name: layer.get_weights() for layer in quantized.layers}
                          for quantized, _ in runs)
    bn = next(name for name in plain if name.endswith("_bn"))
    assert not np.allclose(plain[bn][2], reestimated[bn][2])  # moving mean
    np.testing.assert_array_equal(plain[bn][0], reestimated[bn][0])  # same trained gamma


def test_train_quantized_distils_from_the_float_model():
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from spikelearn.zoo.training import RecipeConfig

    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20)
    distilled_config = replace(config, distillation_weight=0.9)
    _, runs = _qat_runs(config, distilled_config, distilled_config)
    assert set(runs[0][1]) == {"accuracy", "val_accuracy", "final_val_accuracy"}
    weights = [quantized.get_weights() for quantized, _ in runs]
    assert any(not np.array_equal(a, b) for a, b in zip(weights[0], weights[1], strict=True))
    for a, b in zip(weights[1], weights[2], strict=True):
        np.testing.assert_array_equal(a, b)  # seeded


def test_train_quantized_equalizes_the_separable_convolutions_when_asked():
    """qat_equalization: QAT starts from equalized separable kernels (the float function
    unchanged), so the quantized model differs; the float model is not touched."""
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from spikelearn.quantization.equalization import equalize_separable
    from spikelearn.zoo.training import RecipeConfig

    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20,
                          qat_weight_average=0.0, qat_bn_reestimation=False)
    zero_qat = replace(config, qat_learning_rate=1e-12)
    _, runs = _qat_runs(zero_qat, replace(zero_qat, qat_equalization=True))
    (plain, _), (equalized, _) = runs
    name = "separable_1"
    depthwise, pointwise = (plain.get_layer(name).get_weights()[i] for i in (0, 1))
    expected = equalize_separable(depthwise, pointwise)
    got = equalized.get_layer(name).get_weights()
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-7)
    assert not np.allclose(got[0], depthwise)


def test_train_quantized_clips_the_weight_scales_when_asked():
    pytest.importorskip("tensorflow")
    from dataclasses import replace

    from spikelearn.zoo.training import RecipeConfig

    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20,
                          qat_weight_average=0.0, qat_bn_reestimation=False)
    _, runs = _qat_runs(config, replace(config, qat_weight_clip="mse"))
    clips = [{quantizer.clip for layer in quantized.layers for quantizer in
              (getattr(layer, name, None) for name in ("kernel_quantizer",
                                                       "depthwise_quantizer",
                                                       "pointwise_quantizer"))
              if quantizer is not None} for quantized, _ in runs]
    assert clips == [{"max"}, {"mse"}]


def test_restart_qat_trains_a_saved_quantized_model_again_seeded(tmp_path):
    """restart_qat on a quantized model loaded from its .h5: one more seeded QAT cycle in
    place, from the given learning rate, ending as the recipe's QAT ends."""
    pytest.importorskip("tensorflow")
    import keras
    from rich.progress import Progress

    from spikelearn.zoo.training import (
        RecipeConfig,
        keras_accuracy,
        restart_qat,
        seed_everything,
    )

    config = RecipeConfig(float_epochs=1, qat_epochs=1, batch_size=20)
    arrays, ((quantized, _),) = _qat_runs(config)
    quantized.save(tmp_path / "quantized.h5", include_optimizer=False)
    start = quantized.get_weights()
    restarted = []
    for _ in range(2):
        seed_everything(5)  # before loading: the dropout layer draws its seed then
        model = keras.models.load_model(tmp_path / "quantized.h5")
        with Progress(disable=True) as bar:
            history = restart_qat(model, config, arrays, bar, epochs=2, learning_rate=2e-3)
        assert len(history["val_accuracy"]) == 2
        assert history["final_val_accuracy"] == round(
            keras_accuracy(model, arrays["x_val"], arrays["y_val"]), 4)
        schedule = model.optimizer.get_config()["learning_rate"]["config"]
        assert schedule["initial_learning_rate"] == pytest.approx(2e-3)
        restarted.append(model.get_weights())
    assert any(not np.array_equal(a, b) for a, b in zip(start, restarted[0], strict=True))
    for a, b in zip(*restarted, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("change", "message"), [
    ({"distillation_weight": 0.5}, "distillation needs the float model"),
    ({"epochs": 0}, "epochs must be an int >= 1"),
    ({"epochs": 2.0}, "epochs must be an int >= 1"),
    ({"learning_rate": 0.0}, "learning_rate must be > 0"),
])
def test_restart_qat_refuses_bad_settings(change, message):
    from spikelearn.zoo.training import RecipeConfig, restart_qat

    settings = {"epochs": 1, "learning_rate": 1e-3}
    distillation = change.pop("distillation_weight", 0.0)
    settings.update(change)
    with pytest.raises(ValueError, match=message):
        restart_qat(None, RecipeConfig(distillation_weight=distillation), {}, None,
                    **settings)
