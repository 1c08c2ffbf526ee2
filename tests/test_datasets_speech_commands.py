"""Speech Commands loader against a small archive served on 127.0.0.1."""


import numpy as np
import pytest
from loopback import serve_archive

from spikelearn.datasets import (
    WORDS_12,
    fetch_speech_commands,
    load_background_noise,
    load_speech_commands,
    save_wav,
)
from spikelearn.datasets.speech_commands import FOLDER, SPEECH_COMMANDS_WORDS
from spikelearn.errors import DataError

# word -> speaker hashes; each speaker says the word once
LAYOUT = {"yes": ["aa11", "bb22", "cc33"], "go": ["aa11", "dd44"], "bed": ["bb22", "ee55"]}
VALIDATION = ["yes/bb22_nohash_0.wav", "bed/ee55_nohash_0.wav"]
TESTING = ["yes/cc33_nohash_0.wav", "go/dd44_nohash_0.wav"]


@pytest.fixture(scope="module")
def served_archive(tmp_path_factory):
    """(url, sha256) of a tiny archive in the Speech Commands layout, served over HTTP."""
    src = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(0)
    for word, speakers in LAYOUT.items():
        (src / word).mkdir()
        for s in speakers:  # shorter than 1 s, like many real clips
            save_wav(src / word / f"{s}_nohash_0.wav", 0.1 * rng.standard_normal(12000))
    (src / "_background_noise_").mkdir()
    save_wav(src / "_background_noise_" / "white_noise.wav", 0.2 * rng.standard_normal(40000))
    (src / "validation_list.txt").write_text("\n".join(VALIDATION) + "\n")
    (src / "testing_list.txt").write_text("\n".join(TESTING) + "\n")
    www = tmp_path_factory.mktemp("www")
    with serve_archive(src, www) as served:
        yield served


def test_fetch_and_load_splits(served_archive, tmp_path):
    url, sha = served_archive
    root = fetch_speech_commands(url=url, sha256=sha, cache_dir=tmp_path, progress=False)
    assert root == tmp_path / FOLDER and (root / "yes").is_dir()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp leftovers

    train = load_speech_commands("train", mode="35", cache_dir=tmp_path)
    assert train.audio.shape == (3, 16000) and train.audio.dtype == np.float32
    assert sorted(train.words[i] for i in train.labels) == ["bed", "go", "yes"]
    assert np.all(train.audio[:, 12000:] == 0)  # zero-padded at the end
    assert train.words == list(SPEECH_COMMANDS_WORDS)

    test = load_speech_commands("test", mode="35", cache_dir=tmp_path)
    names = {test.speaker_table[s]["speaker"] for s in test.speakers}
    assert names == {"cc33", "dd44"}  # exactly testing_list.txt

    val = load_speech_commands(
        "validation", mode="12", cache_dir=tmp_path, silence_fraction=1.0, unknown_fraction=None
    )
    assert val.words == list(WORDS_12)
    classes = [val.words[i] for i in val.labels]
    assert classes.count("yes") == 1 and classes.count("_unknown_") == 1  # bed -> unknown
    assert classes.count("_silence_") == 1  # 100 % of the one known-word clip
    silence = val.audio[val.labels == WORDS_12.index("_silence_")]
    assert np.abs(silence).max() > 0

    noise = load_background_noise(cache_dir=tmp_path)
    assert list(noise) == ["white_noise"] and noise["white_noise"].shape == (40000,)


def test_same_seed_same_silence(served_archive, tmp_path):
    url, sha = served_archive
    fetch_speech_commands(url=url, sha256=sha, cache_dir=tmp_path, progress=True)
    a = load_speech_commands("train", cache_dir=tmp_path, seed=3, silence_fraction=2.0)
    b = load_speech_commands("train", cache_dir=tmp_path, seed=3, silence_fraction=2.0)
    assert np.array_equal(a.audio, b.audio) and np.array_equal(a.labels, b.labels)


def test_bad_checksum_leaves_nothing(served_archive, tmp_path):
    url, _ = served_archive
    with pytest.raises(DataError, match="checksum"):
        fetch_speech_commands(url=url, sha256="0" * 64, cache_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_no_download_without_explicit_request(tmp_path):
    with pytest.raises(DataError, match="fetch_speech_commands"):
        load_speech_commands(cache_dir=tmp_path)


def test_custom_url_needs_hash(tmp_path, monkeypatch):
    monkeypatch.delenv("SPIKELEARN_SPEECH_COMMANDS_SHA256", raising=False)
    with pytest.raises(ValueError, match="SHA-256"):
        fetch_speech_commands(url="http://127.0.0.1:9/x.tar.gz", cache_dir=tmp_path)


def test_env_var_url(served_archive, tmp_path, monkeypatch):
    url, sha = served_archive
    monkeypatch.setenv("SPIKELEARN_SPEECH_COMMANDS_URL", url)
    monkeypatch.setenv("SPIKELEARN_SPEECH_COMMANDS_SHA256", sha)
    monkeypatch.setenv("SPIKELEARN_DATA", str(tmp_path))
    corpus = load_speech_commands("test", mode="35", download=True, progress=False)
    assert len(corpus) == 2 and (tmp_path / FOLDER).is_dir()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="split"):
        load_speech_commands("dev", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="mode"):
        load_speech_commands(mode="10", cache_dir=tmp_path)
