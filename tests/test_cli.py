"""The command line: every command through typer's CliRunner and as ``python -m spikelearn``,
with its JSON output and its user errors (exit code 1, one line, no traceback)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from fake_sounddevice import fake_sounddevice
from loopback import serve_archive
from typer.testing import CliRunner

from spikelearn.cli import app
from spikelearn.datasets import extract_features, save_wav
from spikelearn.layers import FullyConnected, InputData
from spikelearn.learning import Competitive
from spikelearn.model import Model

runner = CliRunner()

#: word -> tone frequency (Hz) of its test clips
TONES = {"a": 800, "low": 300, "high": 2500}


def invoke(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def run_module(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spikelearn", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def assert_user_error(result, message: str) -> None:
    """Exit code 1 and a one-line message, no traceback (CliRunner or subprocess result)."""
    code = getattr(result, "exit_code", getattr(result, "returncode", None))
    output = result.output if hasattr(result, "output") else result.stdout + result.stderr
    assert code == 1, output
    assert message in " ".join(output.split()), output
    assert "Traceback" not in output


def _tone(frequency: float, seed: int) -> np.ndarray:
    t = np.arange(16000) / 16000
    noise = np.random.default_rng(seed).standard_normal(16000)
    return 0.3 * np.sin(2 * np.pi * frequency * t) * np.hanning(16000) + 0.01 * noise


def _tiny_model(compiled: bool = True) -> Model:
    """MFCC input -> 64 random 4-bit spiking neurons -> 1-bit learning layer (2 classes)."""
    rng = np.random.default_rng(0)
    model = Model([InputData((49, 10, 1)), FullyConnected(64, weight_bits=4, activation_bits=1),
                   FullyConnected(8, weight_bits=1)])
    model.get_layer(1).set_variable("weights", rng.integers(-7, 8, (490, 64)))
    model.get_layer(1).set_variable("thresholds", np.zeros((64, 1), np.int32))
    if compiled:
        model.compile(Competitive(16, 2, seed=0))
        model.class_names = ["a", "b"]
    return model


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Paths of the test files: models, clips (<word>/<i>.wav), bad files, features."""
    root = tmp_path_factory.mktemp("cli")
    _tiny_model().save(root / "tiny.slm")
    _tiny_model(compiled=False).save(root / "plain.slm")
    for word, frequency in TONES.items():
        (root / "clips" / word).mkdir(parents=True)
        for i in range(3):
            save_wav(root / "clips" / word / f"{i}.wav", _tone(frequency + 20 * i, i))
    save_wav(root / "stereo.wav", np.zeros((16000, 2)))
    save_wav(root / "8k.wav", np.zeros(8000), sample_rate=8000)
    (root / "text.slm").write_text("not a model\n")
    (root / "text.wav").write_text("not audio\n")
    clips = np.stack([_tone(800, 0), _tone(820, 1)])
    np.savez(root / "features.npz", x=extract_features(clips), y=np.array([0, 1]))
    return root


@pytest.fixture(scope="module")
def learned(files):
    """tiny.slm after ``learn`` of the words 'low' and 'high' (no augmentation)."""
    output = files / "learned.slm"
    result = invoke("learn", files / "tiny.slm", "--word", f"low={files}/clips/low/*.wav",
                    "--word", f"high={files / 'clips' / 'high'}", "--shots-augment", "0",
                    "-o", output)
    assert result.exit_code == 0, result.output
    return output


# -- help -------------------------------------------------------------------------------------
COMMANDS = [["convert"], ["summary"], ["evaluate"], ["predict"], ["learn"], ["demo"],
            ["data", "synth"], ["data", "speech-commands"], ["zoo", "list"], ["zoo", "info"],
            ["zoo", "train"], ["cost"], ["export"], ["listen"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.output and f"spikelearn {command[0]}" in result.output


def test_usage_errors_exit_2():
    assert invoke("predict").exit_code == 2  # missing arguments
    assert invoke("evaluate", "m.slm", "--bogus").exit_code == 2
    assert invoke("predict", "m.slm", "x.wav", "--top-k", "0").exit_code == 2


# -- learn ------------------------------------------------------------------------------------
def test_learn_adds_named_classes(files, learned):
    model = Model(learned)
    assert model.num_classes == 4
    assert model.class_names == ["a", "b", "low", "high"]
    assert Model(files / "tiny.slm").num_classes == 2  # the input file is left alone


def test_learn_json_and_table(files, tmp_path):
    args = ["learn", files / "tiny.slm", "--word", f"low={files}/clips/low/0.wav,"
            f"{files}/clips/low/1.wav", "--shots-augment", "2", "--seed", "3",
            "-o", tmp_path / "out.slm"]
    document = json.loads(invoke(*args, "--json").output)
    assert document["words"] == [{"word": "low", "class": 2, "clips": 2, "samples": 4}]
    assert document["num_samples"] == 4 and document["output"] == str(tmp_path / "out.slm")
    table = invoke(*args)
    assert table.exit_code == 0 and "low" in table.output and "learned 4 samples" in table.output


def test_learn_names_unnamed_classes(files, tmp_path):
    model = _tiny_model()
    model.class_names = None
    model.save(tmp_path / "unnamed.slm")
    result = invoke("learn", tmp_path / "unnamed.slm", "--word", f"low={files}/clips/low",
                    "--shots-augment", "0", "-o", tmp_path / "out.slm")
    assert result.exit_code == 0, result.output
    assert Model(tmp_path / "out.slm").class_names == ["class_0", "class_1", "low"]


def test_learn_errors(files, tmp_path):
    out = tmp_path / "out.slm"
    assert_user_error(invoke("learn", files / "tiny.slm", "--word", f"a={files}/clips/a",
                             "-o", out), "['a'] already name classes")
    assert_user_error(invoke("learn", files / "tiny.slm", "--word", f"new={files}/nothing*.wav",
                             "-o", out), "--word new: no files match")
    assert_user_error(invoke("learn", files / "plain.slm", "--word", f"new={files}/clips/a",
                             "-o", out), "not compiled for learning")
    assert_user_error(invoke("learn", files / "tiny.slm", "--word", f"new={files}/stereo.wav",
                             "-o", out), "2 channels; clips must be mono")
    assert invoke("learn", files / "tiny.slm", "--word", "nofiles", "-o", out).exit_code == 2
    assert invoke("learn", files / "tiny.slm", "--word", f"x={files}/8k.wav", "--word",
                  f"x={files}/8k.wav", "-o", out).exit_code == 2
    assert not out.exists()


# -- predict ----------------------------------------------------------------------------------
def test_predict_prints_words(files, learned):
    result = invoke("predict", learned, files / "clips/low/0.wav", files / "clips/high/1.wav")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if ".wav" in line]
    assert "low" in rows[0].split("│")[3] and "high" in rows[1].split("│")[3]


def test_predict_json_top_k_matches_the_engine(files, learned):
    clip = files / "clips/high/2.wav"
    document = json.loads(invoke("predict", learned, clip, "--top-k", "9", "--json").output)
    model = Model(learned)
    from spikelearn.cli import read_clip

    scores = model.class_scores(extract_features(read_clip(clip)[None]))[0]
    (entry,) = document
    assert entry["clip"] == str(clip) and entry["class"] == int(scores.argmax())
    assert entry["name"] == model.class_names[entry["class"]]
    assert len(entry["top_k"]) == 4  # clipped to the number of classes
    assert [c["score"] for c in entry["top_k"]] == sorted(scores.tolist(), reverse=True)


def test_predict_on_an_unnamed_model_prints_indices(files, tmp_path):
    model = _tiny_model()
    model.class_names = None
    model.save(tmp_path / "unnamed.slm")
    document = json.loads(invoke("predict", tmp_path / "unnamed.slm", files / "clips/a/0.wav",
                                 "--json").output)
    assert document[0]["class"] in (0, 1) and document[0]["name"] is None


@pytest.mark.parametrize("clip, message", [
    ("stereo.wav", "stereo.wav: 2 channels; clips must be mono"),
    ("8k.wav", "8k.wav: sample rate 8000 Hz; clips must be 16000 Hz"),
    ("text.wav", "text.wav is not a WAV file"),
    ("missing.wav", "missing.wav: No such file"),
])
def test_predict_bad_audio(files, clip, message):
    assert_user_error(invoke("predict", files / "tiny.slm", files / clip), message)


def test_predict_bad_model_files(files):
    assert_user_error(invoke("predict", files / "missing.slm", files / "clips/a/0.wav"),
                      "no such model file")
    assert_user_error(invoke("predict", files / "text.slm", files / "clips/a/0.wav"),
                      "is not a spikelearn model file")
    assert_user_error(invoke("summary", files / "clips"), "no such model file")


# -- evaluate ---------------------------------------------------------------------------------
def test_evaluate_folder_of_words(files, learned):
    result = invoke("evaluate", learned, "--data", files / "clips", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["samples"] == 9
    assert [(row["class"], row["name"], row["samples"]) for row in document["per_class"]] == \
        [(0, "a", 3), (2, "low", 3), (3, "high", 3)]
    from spikelearn.cli import read_clip

    model = Model(learned)
    x = extract_features(np.stack([read_clip(files / "clips" / w / f"{i}.wav")
                                   for w in ("a", "high", "low") for i in range(3)]))
    y = np.repeat([0, 3, 2], 3)
    assert document["accuracy"] == pytest.approx(model.evaluate(x, y))
    table = invoke("evaluate", learned, "--data", files / "clips")
    assert "accuracy" in table.output and "low" in table.output


def test_evaluate_npz_labels_and_words(files, learned, tmp_path):
    document = json.loads(invoke("evaluate", files / "tiny.slm", "--data",
                                 files / "features.npz", "--json").output)
    model = Model(files / "tiny.slm")
    with np.load(files / "features.npz") as data:
        x, y = data["x"], data["y"]
        expected = model.evaluate(x, y)
    assert document["accuracy"] == pytest.approx(expected) and document["samples"] == 2
    # labels naming words of the file are mapped to the model's classes by name
    np.savez(tmp_path / "words.npz", features=x, labels=np.array([1, 0]),
             words=np.array(["high", "a"]))
    document = json.loads(invoke("evaluate", learned, "--data", tmp_path / "words.npz",
                                 "--json").output)
    assert [row["name"] for row in document["per_class"]] == ["a", "high"]


def test_evaluate_errors(files, tmp_path):
    model = files / "tiny.slm"
    assert_user_error(invoke("evaluate", model, "--data", files / "text.slm"),
                      "is not a .npz file of features and labels")
    np.savez(tmp_path / "keys.npz", a=np.zeros(3))
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "keys.npz"),
                      "needs arrays 'x' (or 'features') and 'y'")
    with np.load(files / "features.npz") as data:
        np.savez(tmp_path / "range.npz", x=data["x"], y=np.array([0, 5]))
        np.savez(tmp_path / "words.npz", x=data["x"], y=np.array([0, 1]),
                 words=np.array(["a", "zebra"]))
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "range.npz"),
                      "labels must be in [0, 2)")
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "words.npz"),
                      "words ['zebra'] are not classes of the model")
    np.savez(tmp_path / "shape.npz", x=np.zeros((2, 4, 4, 1), np.uint8), y=np.array([0, 1]))
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "shape.npz"),
                      "model input must have shape (n, 49, 10, 1)")
    assert_user_error(invoke("evaluate", files / "plain.slm", "--data", files / "clips"),
                      "the model has no class names")
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "none.npz"),
                      "no such data file or folder")
    (tmp_path / "empty" / "zebra").mkdir(parents=True)
    assert_user_error(invoke("evaluate", model, "--data", tmp_path / "empty"),
                      "holds no <word>/<clip>.wav files")


# -- summary ----------------------------------------------------------------------------------
def test_summary_table_and_json(learned):
    result = invoke("summary", learned)
    assert result.exit_code == 0 and "classes: a, b, low, high" in result.output
    document = json.loads(invoke("summary", learned, "--json").output)
    assert document["class_names"] == ["a", "b", "low", "high"]
    assert document["num_classes"] == 4 and document["layers"][-1]["layer"] == "total"


# -- data -------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_data_synth_writes_features_for_evaluate(tmp_path, learned):
    out = tmp_path / "synth.npz"
    args = ["data", "synth", "--speakers", "3", "--repetitions", "1", "--words", "high,a",
            "--seed", "1", "--cache-dir", tmp_path / "cache", "--workers", "1"]
    result = invoke(*args, "-o", out)
    assert result.exit_code == 0, result.output
    assert "6 clips of 2 classes: high, a" in result.output
    with np.load(out) as data:
        assert data["x"].shape == (6, 49, 10, 1) and data["x"].dtype == np.uint8
        assert data["words"].tolist() == ["high", "a"] and sorted(data["y"]) == [0, 0, 0, 1, 1, 1]
    document = json.loads(invoke(*args, "--split", "test", "--json").output)  # from the cache
    assert document["clips"] == 2 and document["splits"]["train"]["clips"] == 0
    evaluated = json.loads(invoke("evaluate", learned, "--data", out, "--json").output)
    assert {row["name"] for row in evaluated["per_class"]} == {"high", "a"}
    assert_user_error(invoke("data", "synth", "--words", "a,a", "--cache-dir", tmp_path),
                      "without duplicates")


@pytest.fixture
def served_archive(tmp_path):
    """(url, sha256) of a three-clip archive in the Speech Commands layout on 127.0.0.1."""
    source = tmp_path / "source"
    for word, speaker in [("yes", "aa11"), ("go", "bb22"), ("bed", "cc33")]:
        (source / word).mkdir(parents=True)
        save_wav(source / word / f"{speaker}_nohash_0.wav", _tone(500, 0)[:12000])
    (source / "_background_noise_").mkdir()
    save_wav(source / "_background_noise_" / "white_noise.wav", 0.1 * _tone(100, 1))
    (source / "validation_list.txt").write_text("go/bb22_nohash_0.wav\n")
    (source / "testing_list.txt").write_text("yes/aa11_nohash_0.wav\nbed/cc33_nohash_0.wav\n")
    www = tmp_path / "www"
    www.mkdir()
    with serve_archive(source, www) as served:
        yield served


def test_data_speech_commands(served_archive, tmp_path):
    url, digest = served_archive
    out = tmp_path / "sc.npz"
    result = invoke("data", "speech-commands", "--mode", "35", "--split", "test", "--url", url,
                    "--sha256", digest, "--cache-dir", tmp_path / "data", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["clips"] == 2 and document["splits"]["test"]["speakers"] == 2
    with np.load(out) as data:
        assert data["x"].shape == (2, 49, 10, 1)
        assert sorted(data["words"][data["y"]].tolist()) == ["bed", "yes"]
    assert_user_error(invoke("data", "speech-commands", "--url", url, "--cache-dir",
                             tmp_path / "other"), "needs its SHA-256")
    assert_user_error(invoke("data", "speech-commands", "--url", url, "--sha256", "0" * 64,
                             "--cache-dir", tmp_path / "other"), "failed its checksum")
    assert invoke("data", "speech-commands", "--mode", "20").exit_code == 2


# -- zoo --------------------------------------------------------------------------------------
def test_zoo_list_and_info():
    from spikelearn import zoo

    listed = json.loads(invoke("zoo", "list", "--json").output)
    assert [row["name"] for row in listed] == zoo.list_models()
    assert "ds_cnn_kws" in invoke("zoo", "list").output
    if not listed[0]["installed"]:
        assert_user_error(invoke("zoo", "info", "ds_cnn_kws"), "missing from this installation")
        return
    assert json.loads(invoke("zoo", "info", "ds_cnn_kws", "--json").output) == \
        zoo.info("ds_cnn_kws")
    assert "recipe.num_speakers" in invoke("zoo", "info", "ds_cnn_kws").output


def test_zoo_errors():
    assert_user_error(invoke("zoo", "info", "nope"), "unknown zoo model 'nope'")
    assert_user_error(invoke("zoo", "train", "nope"), "unknown zoo model 'nope'")
    assert invoke("zoo", "train", "ds_cnn_kws", "--float-epochs", "0").exit_code == 2
    assert invoke("zoo", "train", "ds_cnn_kws", "--speakers", "2").exit_code == 2
    assert invoke("zoo", "bogus").exit_code == 2


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="zoo train needs TensorFlow")
def test_zoo_train_passes_the_recipe_settings(monkeypatch, tmp_path):
    from spikelearn.zoo import training

    calls = []

    def fake_train(out_dir, config, **options):
        calls.append((out_dir, config, options))
        return {"accuracy": {"converted_engine_test": 0.5}}

    monkeypatch.setattr(training, "train", fake_train)
    result = invoke("zoo", "train", "ds_cnn_kws", "-o", tmp_path / "zoo", "--speakers", "6",
                    "--float-epochs", "1", "--qat-epochs", "2", "--qat-learning-rate", "2e-3",
                    "--seed", "4", "--distillation-weight", "0.5", "--weight-average", "0.99",
                    "--no-bn-reestimation", "--qat-runs", "3", "--equalize",
                    "--weight-clip", "mse", "--filters", "96", "--json")
    assert result.exit_code == 0, result.output
    (out_dir, config, options), = calls
    assert out_dir == tmp_path / "zoo" and options["progress"] is False
    assert config == training.RecipeConfig(num_speakers=6, float_epochs=1, qat_epochs=2,
                                           qat_learning_rate=2e-3, seed=4,
                                           distillation_weight=0.5, qat_weight_average=0.99,
                                           qat_bn_reestimation=False, qat_runs=3,
                                           qat_equalization=True, qat_weight_clip="mse",
                                           filters=96)
    assert json.loads(result.output)["figures"]["accuracy"]["converted_engine_test"] == 0.5
    assert options["stage"] == "all" and options["features"] is None
    # A lone engine stage reads the recorded recipe; a features stage reports its sizes.
    result = invoke("zoo", "train", "ds_cnn_kws", "-o", tmp_path / "zoo", "--stage", "engine")
    assert result.exit_code == 0, result.output
    assert calls[-1][1] is None and calls[-1][2]["stage"] == "engine"
    result = invoke("zoo", "train", "ds_cnn_kws", "--stage", "features", "--features",
                    tmp_path / "f.npz", "--augmented-copies", "3", "--json")
    assert result.exit_code == 0, result.output
    assert calls[-1][1] == training.RecipeConfig(augmented_copies=3)
    assert calls[-1][2]["features"] == str(tmp_path / "f.npz")
    # a learning rate must be positive (usage error, nothing runs)
    count = len(calls)
    assert invoke("zoo", "train", "ds_cnn_kws", "--qat-learning-rate", "0").exit_code == 2
    assert invoke("zoo", "train", "ds_cnn_kws", "--qat-runs", "0").exit_code == 2
    assert invoke("zoo", "train", "ds_cnn_kws", "--distillation-weight", "1.5").exit_code == 2
    assert invoke("zoo", "train", "ds_cnn_kws", "--weight-average", "1").exit_code == 2
    # settings that cannot go together are refused before any work, naming both
    result = invoke("zoo", "train", "ds_cnn_kws", "--weight-average", "0.9",
                    "--frozen-bn-epochs", "2")
    assert result.exit_code != 0 and "qat_frozen_bn_epochs" in result.output
    assert len(calls) == count


# -- listen -----------------------------------------------------------------------------------
#: Detections on every word-like stretch of the demo audio (none of its words is a class).
LOW_THRESHOLD = ("--threshold", "0.2", "--refractory", "0.1")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Three seconds of the zoo's shipped demo audio (a word per second)."""
    from spikelearn import zoo

    audio = np.concatenate(zoo.load_demo_data("ds_cnn_kws", download=False)["new_audio"][:3])
    path = tmp_path_factory.mktemp("listen") / "long.wav"
    save_wav(path, audio)
    return path, audio


def test_listen_file_json_matches_the_library(recording):
    from spikelearn import zoo
    from spikelearn.streaming import listen_file

    path, _ = recording
    result = invoke("listen", path, "--json", *LOW_THRESHOLD)
    assert result.exit_code == 0, result.output
    expected = [d.to_dict() for d in listen_file(zoo.load("ds_cnn_kws"), path, threshold=0.2,
                                                 refractory_s=0.1)]
    assert json.loads(result.output) == expected and expected
    table = invoke("listen", path, *LOW_THRESHOLD)
    assert f"{len(expected)} detections" in table.output


def test_listen_microphone_with_a_fake_device(recording, monkeypatch):
    path, audio = recording
    monkeypatch.setitem(sys.modules, "sounddevice", fake_sounddevice(audio))
    result = invoke("listen", "--microphone", "--seconds", "3", "--json", *LOW_THRESHOLD)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert lines == json.loads(invoke("listen", path, "--json", *LOW_THRESHOLD).output)


def test_listen_errors(recording, monkeypatch):
    path, _ = recording
    assert_user_error(invoke("listen"), "give either an audio file or --microphone")
    assert_user_error(invoke("listen", path, "--microphone"), "give either an audio file")
    assert_user_error(invoke("listen", path, "--seconds", "2"), "go with --microphone")
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as if not installed
    assert_user_error(invoke("listen", "--microphone"), "pip install sounddevice")


# -- as a real program ------------------------------------------------------------------------
def test_module_predict_and_evaluate(files, learned):
    result = run_module("predict", learned, files / "clips/low/0.wav", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["clip"].endswith("low/0.wav")
    result = run_module("evaluate", learned, "--data", files / "clips", "--quiet")
    assert result.returncode == 0 and "accuracy" in result.stdout and result.stderr == ""


def test_module_learn_and_errors(files, tmp_path):
    result = run_module("learn", files / "tiny.slm", "--word", f"low={files}/clips/low/*.wav",
                        "--shots-augment", "1", "-o", tmp_path / "out.slm", "--quiet")
    assert result.returncode == 0, result.stderr
    assert Model(tmp_path / "out.slm").class_names == ["a", "b", "low"]
    assert_user_error(run_module("predict", files / "tiny.slm", files / "8k.wav"),
                      "sample rate 8000 Hz")
    assert_user_error(run_module("summary", files / "text.slm"), "not a spikelearn model file")
    debug = run_module("--debug", "summary", files / "text.slm")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert run_module("learn", files / "tiny.slm").returncode == 2


def test_module_zoo_and_data_and_convert(tmp_path):
    result = run_module("zoo", "list", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)[0]["name"] == "ds_cnn_kws"
    assert_user_error(run_module("convert", tmp_path / "none.h5"), "no such Keras model file")
    assert_user_error(run_module("data", "speech-commands", "--url", "http://127.0.0.1:9/x",
                                 "--cache-dir", tmp_path), "needs its SHA-256")


def test_demo_table_and_json(monkeypatch):
    from spikelearn import demo

    figures = {"new_words": ["backward", "follow"], "speaker": 7, "old_accuracy_before": 0.9,
               "old_accuracy_after": 0.875, "old_test_samples": 40,
               "new_accuracy_same_speaker": 1.0, "new_test_same_speaker": 6,
               "new_accuracy_other_speakers": 0.5, "new_test_other_speakers": 8,
               "num_samples": 12, "learn_seconds": 0.01, "featurize_seconds": 0.2}
    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda **options: calls.append(options) or figures)
    result = invoke("demo", "--shots", "2", "--augmentations", "3", "--seed", "5", "-q")
    assert result.exit_code == 0, result.output
    assert calls == [{"shots": 2, "augmentations": 3, "speaker": None, "seed": 5}]
    assert "87.50 %" in result.output and "learned 12 samples" in result.output
    assert json.loads(invoke("demo", "-q", "--json").output) == figures
