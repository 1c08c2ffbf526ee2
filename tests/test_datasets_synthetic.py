"""Synthetic espeak-ng corpus: determinism, splits, caching, clear errors."""

import json
import shutil

import numpy as np
import pytest

from spikelearn.datasets import NOISE_KINDS, SPLITS, make_corpus, make_noise, mix_at_snr, resample
from spikelearn.datasets.speakers import DIALECTS, assign_splits, make_speakers
from spikelearn.datasets.synthetic import PARAMETERS
from spikelearn.errors import MissingDependencyError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
WORDS = ["yes", "no", "_silence_"]


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """The same tiny corpus made in-process and by 2 worker processes."""
    kwargs = dict(num_speakers=4, repetitions=2, seed=7, words=WORDS, progress=False)
    one = make_corpus(cache_dir=tmp_path_factory.mktemp("a"), workers=1, **kwargs)
    two = make_corpus(cache_dir=tmp_path_factory.mktemp("b"), workers=2, **kwargs)
    return one, two


@needs_espeak
def test_shapes_and_dtypes(corpora):
    corpus, _ = corpora
    n = 4 * 2 * len(WORDS)
    assert corpus.audio.shape == (n, 16000) and corpus.audio.dtype == np.float32
    assert corpus.labels.shape == (n,) and corpus.labels.dtype == np.int64
    assert corpus.words == WORDS
    assert np.bincount(corpus.labels).tolist() == [8, 8, 8]
    assert np.abs(corpus.audio).max() <= 1.0
    assert set(corpus.split) <= set(SPLITS) and corpus.speakers.max() == 3


@needs_espeak
def test_same_seed_identical_regardless_of_workers(corpora):
    one, two = corpora
    assert np.array_equal(one.audio, two.audio)
    assert np.array_equal(one.labels, two.labels) and np.array_equal(one.split, two.split)
    assert one.speaker_table == two.speaker_table


@needs_espeak
def test_speaker_disjoint_splits(corpora):
    corpus, _ = corpora
    per_split = [set(corpus.speakers[corpus.split == s].tolist()) for s in SPLITS]
    assert all(per_split)
    assert not (
        per_split[0] & per_split[1] or per_split[0] & per_split[2] or per_split[1] & per_split[2]
    )
    test = corpus.get_split("test")
    assert set(test.split) == {"test"} and len(test) == 6
    summary = corpus.split_summary()
    assert sum(v["speakers"] for v in summary.values()) == 4
    assert set(corpus.speaker_attribute("dialect")) <= set(DIALECTS)


@needs_espeak
def test_silence_is_quiet_noise_and_words_are_loud(corpora):
    corpus, _ = corpora
    silence = corpus.audio[corpus.labels == 2]
    words = corpus.audio[corpus.labels != 2]
    rms = np.sqrt(np.mean(np.square(silence), axis=1))
    assert np.all(rms < 10 ** (PARAMETERS["silence_rms_dbfs"][1] / 20) * 1.05)
    assert np.all(rms > 0)
    peak_db = 20 * np.log10(np.abs(words).max(axis=1))
    assert np.all(peak_db > PARAMETERS["peak_dbfs"][0] - 1)
    info = corpus.clip_info
    assert np.all(info["offset"][corpus.labels == 2] == -1)
    assert np.all(info["offset"][corpus.labels != 2] >= 0) and np.all(info["offset"] < 16000)
    assert np.all(info["length"][corpus.labels == 2] == 0)
    spoken = corpus.labels != 2
    assert np.all(info["length"][spoken] > 1600)  # a word lasts more than 0.1 s
    assert np.all(info["offset"][spoken] + info["length"][spoken] <= 16000)
    for clip, offset, length in zip(corpus.audio[spoken], info["offset"][spoken],
                                    info["length"][spoken], strict=True):
        inside = np.sqrt(np.mean(np.square(clip[offset:offset + length])))
        outside = np.concatenate([clip[:offset], clip[offset + length:]])
        if outside.size >= 800:  # the word is louder than the noise around it
            assert inside > np.sqrt(np.mean(np.square(outside)))
    assert np.all(np.isnan(info["snr_db"][corpus.labels == 2]))
    snr = info["snr_db"][corpus.labels != 2]
    assert np.all((snr >= PARAMETERS["snr_db"][0]) & (snr <= PARAMETERS["snr_db"][1]))
    assert corpus.get_split("train").clip_info["offset"].shape == (len(corpus.get_split("train")),)


@needs_espeak
def test_cache_is_reused_and_has_manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKELEARN_DATA", str(tmp_path))
    a = make_corpus(num_speakers=3, repetitions=1, seed=1, words=["go"], workers=1, progress=False)
    (folder,) = (tmp_path / "synthetic").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["words"] == ["go"]
    assert manifest["espeak_ng_version"] and len(manifest["speakers"]) == 3
    assert {s["split"] for s in manifest["speakers"]} == set(SPLITS)
    mtime = (folder / "audio.npy").stat().st_mtime_ns
    b = make_corpus(num_speakers=3, repetitions=1, seed=1, words=["go"], progress=False)
    assert (folder / "audio.npy").stat().st_mtime_ns == mtime  # loaded, not regenerated
    assert np.array_equal(a.audio, b.audio)
    c = make_corpus(num_speakers=3, repetitions=1, seed=2, words=["go"], workers=1, progress=False)
    assert not np.array_equal(a.audio, c.audio)


def test_missing_espeak_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SPIKELEARN_ESPEAK", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        make_corpus(num_speakers=3, cache_dir=tmp_path)
    monkeypatch.setenv("SPIKELEARN_ESPEAK", str(tmp_path / "nowhere" / "espeak-ng"))
    with pytest.raises(MissingDependencyError, match="espeak-ng"):
        make_corpus(num_speakers=3, cache_dir=tmp_path)


def test_speakers_are_distinct_and_balanced():
    speakers = make_speakers(300, seed=0)
    keys = {(s["voice"], s["speed"], s["pitch"], s["eq_hz"]) for s in speakers}
    assert len(keys) == 300
    counts = np.unique([s["dialect"] for s in speakers], return_counts=True)[1]
    assert counts.max() - counts.min() <= 1
    assert make_speakers(300, seed=0) == speakers and make_speakers(300, seed=1) != speakers
    codes = assign_splits(speakers, seed=0)
    assert np.bincount(codes).tolist() == [240, 30, 30]
    for code in range(3):  # every dialect in every split
        assert {s["dialect"] for s, c in zip(speakers, codes, strict=True) if c == code} == set(
            DIALECTS
        )


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="num_speakers"):
        make_corpus(num_speakers=2, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="duplicates"):
        make_corpus(num_speakers=3, words=["yes", "yes"], cache_dir=tmp_path)


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_kinds_unit_rms_and_seeded(kind):
    a = make_noise(kind, np.random.default_rng(0), 3)
    b = make_noise(kind, np.random.default_rng(0), 3)
    assert a.shape == (3, 16000) and a.dtype == np.float32 and np.array_equal(a, b)
    np.testing.assert_allclose(np.sqrt(np.mean(np.square(a), axis=1)), 1.0, rtol=1e-4)


def test_spectral_slopes_of_coloured_noise():
    rng = np.random.default_rng(0)
    f = np.fft.rfftfreq(16000, 1 / 16000)
    low, high = (f > 100) & (f < 200), (f > 3200) & (f < 6400)
    for kind, expected_db in [("white", 0.0), ("pink", 15.0), ("brown", 30.0)]:
        power = np.mean(np.abs(np.fft.rfft(make_noise(kind, rng, 20), axis=1)) ** 2, axis=0)
        ratio_db = 10 * np.log10(power[low].mean() / power[high].mean())
        assert abs(ratio_db - expected_db) < 3.0, kind  # 5 octaves apart


def test_mix_at_snr_hits_the_ratio():
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((4, 16000)).astype(np.float32)
    noise = make_noise("pink", rng, 4)
    mixed = mix_at_snr(signal, noise, np.array([0.0, 10.0, 20.0, 30.0]))
    snr = 10 * np.log10(np.mean(signal**2, 1) / np.mean((mixed - signal) ** 2, 1))
    np.testing.assert_allclose(snr, [0, 10, 20, 30], atol=1e-3)


def test_resampler_keeps_tones_and_removes_aliases():
    t = np.arange(22050) / 22050
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = resample(tone, 22050, 16000)
    assert out.shape == (16000,) and out.dtype == np.float32
    expected = np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert np.abs(out[100:-100] - expected[100:-100]).max() < 1e-3
    above_nyquist = np.sin(2 * np.pi * 9000 * t).astype(np.float32)
    assert np.abs(resample(above_nyquist, 22050, 16000)[100:-100]).max() < 1e-3
    batch = resample(np.stack([tone, 2 * tone]), 22050, 16000)
    np.testing.assert_allclose(batch[1], 2 * out, atol=1e-5)
