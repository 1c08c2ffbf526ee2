"""Synthetic Speech Commands: the 35 keywords spoken by espeak-ng speakers.

Each clip is 1 s of 16 kHz mono ``float32`` audio: a word spoken by one synthetic
speaker (:mod:`spikelearn.datasets.speakers`) with a small per-utterance jitter of
rate and pitch, coloured by the speaker's EQ, placed at a random offset at a random
level, and mixed with background noise (:mod:`spikelearn.datasets.noise`) at a
random SNR. ``_silence_`` clips hold noise only. Samples are rounded to 16-bit
values (int16 / 32768), so a cached corpus is bit-identical to a fresh one.

The corpus is a pure function of its arguments (and of the espeak-ng version): each
speaker's clips come from its own random stream, so the result does not depend on
the number of worker processes. It is cached under ``<data dir>/synthetic/<key>/``
(see :func:`spikelearn.datasets.data_dir`) as ``audio.npy`` (int16), ``meta.npz`` and
``manifest.json``; ``<key>`` hashes every generation parameter.
"""

import hashlib
import json
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from spikelearn.datasets import tts
from spikelearn.datasets._cache import data_dir
from spikelearn.datasets.audio import CLIP_SAMPLES, SAMPLE_RATE, to_pcm16
from spikelearn.datasets.corpus import Corpus, summarize_splits
from spikelearn.datasets.noise import NOISE_KINDS, make_noise
from spikelearn.datasets.resample import resample, resample_length
from spikelearn.datasets.speakers import SPLITS, assign_splits, make_speakers

#: The 35 words of Speech Commands v0.02, in their canonical order.
SPEECH_COMMANDS_WORDS = (
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
    "backward", "forward", "follow", "learn", "visual",
)  # fmt: skip
#: Label of noise-only clips.
SILENCE = "_silence_"
#: Default class list of :func:`make_corpus`: the 35 words, then ``_silence_``.
DEFAULT_WORDS = SPEECH_COMMANDS_WORDS + (SILENCE,)

#: Bumped whenever the generator changes its output for the same arguments.
GENERATOR_VERSION = 2  # 2: records each word's length (same audio as 1)

#: Per-clip details kept in :attr:`Corpus.clip_info`.
CLIP_INFO = ("noise_kind", "snr_db", "offset", "length")

#: Random ranges of the generator (documented in every manifest).
PARAMETERS = {
    "rate_jitter_percent": (90.0, 110.0),  # per-utterance SSML prosody rate
    "pitch_jitter_percent": (-8.0, 8.0),  # per-utterance SSML prosody pitch
    "peak_dbfs": (-24.0, -1.0),  # word level (peak)
    "snr_db": (5.0, 35.0),  # speech power (over the word) / noise power
    "silence_rms_dbfs": (-65.0, -30.0),  # level of noise-only clips
    "noise_kinds": NOISE_KINDS,  # drawn uniformly per clip
    "max_word_seconds": 0.98,  # longer words are sped up to fit
    "split_fractions": (0.8, 0.1, 0.1),  # train / validation / test speakers
}


def make_corpus(
    num_speakers=300,
    repetitions=2,
    seed=0,
    words=DEFAULT_WORDS,
    *,
    cache_dir=None,
    workers=None,
    progress=True,
):
    """Build (or load from the cache) the synthetic keyword corpus.

    Parameters
    ----------
    num_speakers : int, optional
        Number of distinct synthetic speakers (at least 3, one per split).
    repetitions : int, optional
        Clips per speaker and word (each with its own jitter, level and noise).
    seed : int, optional
        Seed of everything random.
    words : sequence of str, optional
        Class names; ``"_silence_"`` makes noise-only clips. Default: the 35 Speech
        Commands words plus ``"_silence_"``.
    cache_dir : str or path-like, optional
        Data folder (default ``$SPIKELEARN_DATA`` or ``pooch.os_cache("spikelearn")``).
    workers : int, optional
        Worker processes (default: available CPUs); 1 runs in this process.
    progress : bool, optional
        Show a progress bar while generating.

    Returns
    -------
    Corpus
        ``num_speakers * repetitions * len(words)`` clips, speaker-major.

    Raises
    ------
    MissingDependencyError
        espeak-ng is not installed.

    Examples
    --------
    >>> corpus = make_corpus(num_speakers=3, repetitions=1, words=["yes", "no"])  # doctest: +SKIP
    >>> corpus.audio.shape, corpus.get_split("test").split[0]  # doctest: +SKIP
    ((6, 16000), 'test')
    """
    words = [str(w) for w in words]
    if not words or len(set(words)) != len(words):
        raise ValueError(f"words must be a non-empty list without duplicates, got {words}")
    if num_speakers < 3 or repetitions < 1:
        raise ValueError(
            f"need num_speakers >= 3 and repetitions >= 1, got {num_speakers}, {repetitions}"
        )
    espeak = tts.find_espeak()
    config = {
        "generator_version": GENERATOR_VERSION,
        "espeak_ng_version": tts.espeak_version(espeak),
        "seed": int(seed),
        "num_speakers": int(num_speakers),
        "repetitions": int(repetitions),
        "words": words,
        "parameters": PARAMETERS,
    }
    key = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    folder = data_dir(cache_dir) / "synthetic" / key
    if not (folder / "manifest.json").exists():
        _generate(folder, config, espeak, workers, progress)
    return _load(folder)


def _generate(folder, config, espeak, workers, progress):
    speakers = make_speakers(config["num_speakers"], config["seed"])
    codes = assign_splits(speakers, config["seed"], PARAMETERS["split_fractions"])
    jobs = [(config["seed"], s, config["words"], config["repetitions"], espeak) for s in speakers]
    per_speaker = config["repetitions"] * len(config["words"])
    audio = np.empty((len(jobs) * per_speaker, CLIP_SAMPLES), np.int16)
    metas = [None] * len(jobs)

    def store(i, result):
        audio[i * per_speaker : (i + 1) * per_speaker] = result[0]
        metas[i] = result[1]
        bar.advance(task)

    bar = _progress_bar(progress)
    with bar:
        task = bar.add_task("espeak-ng corpus", total=len(jobs))
        if workers == 1:
            for i, job in enumerate(jobs):
                store(i, _speaker_clips(job))
        else:
            with ProcessPoolExecutor(max_workers=workers or _cpu_count()) as pool:
                futures = {pool.submit(_speaker_clips, job): i for i, job in enumerate(jobs)}
                for future in as_completed(futures):
                    store(futures[future], future.result())
    clip_meta = {k: np.concatenate([m[k] for m in metas]) for k in metas[0]}
    speaker_of_clip = clip_meta.pop("speaker")
    manifest = dict(config)
    manifest["num_clips"] = int(audio.shape[0])
    manifest["cache_key"] = folder.name
    manifest["speakers"] = [dict(s, split=SPLITS[c]) for s, c in zip(speakers, codes, strict=True)]
    manifest["clip_order"] = "speaker-major, then repetition, then word"
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        np.save(tmp / "audio.npy", audio)
        np.savez(
            tmp / "meta.npz", speaker=speaker_of_clip, split=codes[speaker_of_clip], **clip_meta
        )
        manifest["split_summary"] = summarize_splits(
            speaker_of_clip, np.asarray(SPLITS)[codes[speaker_of_clip]], manifest["speakers"]
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished the same corpus first
            if not (folder / "manifest.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    return _corpus(folder, manifest)


def _corpus(folder, manifest):
    pcm = np.load(folder / "audio.npy")
    meta = dict(np.load(folder / "meta.npz"))
    return Corpus(
        audio=pcm.astype(np.float32) / np.float32(32768.0),
        labels=meta["label"].astype(np.int64),
        words=list(manifest["words"]),
        speakers=meta["speaker"].astype(np.int64),
        split=np.asarray(SPLITS)[meta["split"]],
        speaker_table=manifest["speakers"],
        manifest=manifest,
        clip_info={k: meta[k] for k in CLIP_INFO},
    )


def _speaker_clips(job):
    """All clips of one speaker: (int16 (k, 16000), dict of per-clip arrays)."""
    seed, speaker, words, repetitions, espeak = job
    rng = np.random.default_rng([seed, 0xC11B, speaker["id"]])
    labels = np.tile(np.arange(len(words)), repetitions)
    n = labels.size
    is_word = np.asarray([words[i] != SILENCE for i in labels])
    rates = rng.uniform(*PARAMETERS["rate_jitter_percent"], size=n)
    pitches = rng.uniform(*PARAMETERS["pitch_jitter_percent"], size=n)
    peaks = 10.0 ** (rng.uniform(*PARAMETERS["peak_dbfs"], size=n) / 20.0)
    snr = rng.uniform(*PARAMETERS["snr_db"], size=n)
    silence_rms = 10.0 ** (rng.uniform(*PARAMETERS["silence_rms_dbfs"], size=n) / 20.0)
    kinds = rng.integers(len(NOISE_KINDS), size=n)
    place = rng.random(n)

    spoken = np.flatnonzero(is_word)
    clips = np.zeros((n, CLIP_SAMPLES), np.float32)
    speech_power = np.zeros(n)
    offsets = np.full(n, -1, np.int32)
    lengths = np.zeros(n, np.int32)
    if spoken.size:
        waves = tts.speak_words(
            [words[labels[i]] for i in spoken],
            speaker["voice"],
            speaker["speed"],
            speaker["pitch"],
            rates[spoken],
            pitches[spoken],
            path=espeak,
        )
        max_len = int(PARAMETERS["max_word_seconds"] * SAMPLE_RATE)
        for i, w in zip(spoken, waves, strict=True):
            w = _colour(resample(w, tts.ESPEAK_RATE, SAMPLE_RATE), speaker)
            if w.size > max_len:
                w = resample_length(w, max_len)
            w *= peaks[i] / max(float(np.abs(w).max()), 1e-9)
            offsets[i] = int(place[i] * (CLIP_SAMPLES - w.size + 1))
            lengths[i] = w.size
            clips[i, offsets[i] : offsets[i] + w.size] = w
            speech_power[i] = np.mean(np.square(w, dtype=np.float64))
    noise = np.empty_like(clips)
    for k, kind in enumerate(NOISE_KINDS):
        rows = np.flatnonzero(kinds == k)
        noise[rows] = make_noise(kind, rng, rows.size)
    noise_rms = np.where(is_word, np.sqrt(speech_power / 10.0 ** (snr / 10.0)), silence_rms)
    clips += noise * noise_rms[:, None].astype(np.float32)
    meta = {
        "label": labels,
        "speaker": np.full(n, speaker["id"], np.int32),
        "noise_kind": kinds.astype(np.int8),
        "snr_db": np.where(is_word, snr, np.nan).astype(np.float32),
        "offset": offsets,
        "length": lengths,
    }
    return to_pcm16(clips), meta


def _colour(w, speaker):
    """Apply the speaker's spectral tilt and peaking band (zero-phase, frequency domain)."""
    n = w.size + 512
    f = np.maximum(np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE), 1.0)
    octaves = np.log2(f / speaker["eq_hz"])
    tilt = speaker["tilt_db"] * np.maximum(np.log2(f / 500.0), 0.0)
    band = speaker["eq_db"] * np.exp(-0.5 * np.square(octaves / (speaker["eq_octaves"] / 2.0)))
    gain_db = tilt + band
    spectrum = np.fft.rfft(w, n) * 10.0 ** (gain_db / 20.0)
    return np.fft.irfft(spectrum, n)[: w.size].astype(np.float32)


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _progress_bar(enabled, unit="speakers"):
    """A rich bar counting ``unit`` with elapsed and remaining time."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not enabled,
    )
