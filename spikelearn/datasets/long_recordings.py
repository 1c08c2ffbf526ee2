"""Long recordings for streaming keyword spotting, with ground truth and a detection metric.

A recording is background noise (:mod:`spikelearn.datasets.noise`, the kind and level
changing every ``segment_s`` seconds with short cross-fades) with keywords cut from corpus
clips placed at random times. Each keyword is cut from its clip between 50 ms before the
word's first sample (``clip_info["offset"]``) and 50 ms after its last one
(``clip_info["length"]`` samples later, as the generator recorded it), with 10 ms fades,
and added on top of the background (:func:`cut_keyword`; :func:`place_cuts` keeps each
cut at its place in a second). Everything is a pure function of the seed;
:func:`add_background` puts the same background under one-second clips, and
:func:`as_recorded` makes clips into what a recording's window holds of them.

:func:`score_detections` reports the detection rate (a detection of the right word whose
start estimate lies within ``tolerance_s`` of the true start), false alarms per hour (every
other detection) and the latency (detection time minus the end of the keyword).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikelearn.datasets.audio import SAMPLE_RATE, check_clips
from spikelearn.datasets.noise import NOISE_KINDS, make_noise

#: Seconds of audio the spotter sees at once (a keyword stays in view this long after it ends).
WINDOW_S = 1.0
#: Padding kept around each cut keyword, and the fade at its ends (seconds).
MARGIN_S = 0.05
FADE_S = 0.01


@dataclass
class LongRecording:
    """A long recording with the times of its keywords.

    Attributes
    ----------
    audio : numpy.ndarray, float32, shape (t,)
        Mono 16 kHz audio in ``[-1, 1]``.
    words : list of str
        Word of each keyword event.
    starts, ends : numpy.ndarray, float64, shape (k,)
        Start (first sample of the spoken word) and end (after its last sample) of each
        keyword, seconds.
    info : dict
        How it was made (seed, duration, speakers, ...).
    """

    audio: np.ndarray
    words: list
    starts: np.ndarray
    ends: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.audio.size / SAMPLE_RATE

    def only(self, words) -> LongRecording:
        """The same audio with only the events of ``words`` as keywords to detect.

        The other words stay in the audio as speech that is not a keyword: scored with
        :func:`score_detections`, a detection during one of them is a false alarm away from
        every keyword.

        Parameters
        ----------
        words : sequence of str
            Words of the recording to keep as keywords.

        Returns
        -------
        LongRecording
            Shares ``audio``; ``info["clips"]``, when present, keeps the kept events' clips
            and ``info["keywords"]`` lists ``words``.

        Raises
        ------
        ValueError
            If a word of ``words`` has no event in the recording.
        """
        words = list(words)
        absent = sorted(set(words) - set(self.words))
        if absent:
            raise ValueError(f"no event of {absent} in the recording")
        keep = np.flatnonzero(np.isin(self.words, words))
        info = {**self.info, "keywords": words}
        if "clips" in info:
            info["clips"] = [info["clips"][k] for k in keep]
        return LongRecording(self.audio, [self.words[k] for k in keep], self.starts[keep],
                             self.ends[keep], info)


def make_long_recording(corpus, *, duration_s: float = 600.0, words=None, gap_s=(1.0, 4.0),
                        noise_dbfs=(-60.0, -40.0), segment_s: float = 10.0, split="test",
                        seed: int = 0) -> LongRecording:
    """Place keywords from ``corpus`` at random times over changing background noise.

    Parameters
    ----------
    corpus : spikelearn.datasets.Corpus
        Source clips with ``clip_info["offset"]`` and ``clip_info["length"]`` (the
        synthetic corpus).
    duration_s : float, default 600
        Length of the recording.
    words : sequence of str, optional
        Words to place (default every corpus word except ``"_silence_"``), chosen uniformly.
    gap_s : (float, float), default (1, 4)
        Range of the silence between the end of one keyword cut and the next one.
    noise_dbfs : (float, float), default (-60, -40)
        Range of the background RMS level, drawn per segment.
    segment_s : float, default 10
        Seconds between background changes (kind and level).
    split : str or None, default "test"
        Only clips of this split (speakers never seen in training); None: all.
    seed : int, default 0

    Returns
    -------
    LongRecording

    Raises
    ------
    ValueError
        No clip of the requested words in the split, or bad arguments.
    """
    if duration_s <= 0 or segment_s <= 0 or gap_s[0] < 0 or gap_s[1] < gap_s[0]:
        raise ValueError(f"bad duration_s={duration_s}, segment_s={segment_s} or gap_s={gap_s}")
    missing = [k for k in ("offset", "length") if k not in corpus.clip_info]
    if missing:
        raise ValueError(f"corpus.clip_info lacks {missing}: make_long_recording needs the "
                         "word offsets and lengths of the synthetic corpus")
    rng = np.random.default_rng(seed)
    words = [w for w in corpus.words if w != "_silence_"] if words is None else list(words)
    wanted = np.isin(np.asarray(corpus.words)[corpus.labels], words)
    if split is not None:
        wanted &= corpus.split == split
    candidates = np.flatnonzero(wanted & (corpus.clip_info["offset"] >= 0))
    if candidates.size == 0:
        raise ValueError(f"no clip of the words {words} in split {split!r}")
    length = int(round(duration_s * SAMPLE_RATE))
    audio = _background(rng, length, segment_s, noise_dbfs)
    placed_words, starts, ends, clips = [], [], [], []
    position = int(rng.uniform(*gap_s) * SAMPLE_RATE)
    while True:
        index = int(rng.choice(candidates))
        offset = int(corpus.clip_info["offset"][index])
        end = offset + int(corpus.clip_info["length"][index])
        cut, begin = cut_keyword(corpus.audio[index], offset, end - offset)
        if position + cut.size > length:
            break
        audio[position:position + cut.size] += cut
        placed_words.append(corpus.words[corpus.labels[index]])
        starts.append((position + offset - begin) / SAMPLE_RATE)
        ends.append((position + end - begin) / SAMPLE_RATE)
        clips.append(index)
        position += cut.size + int(rng.uniform(*gap_s) * SAMPLE_RATE)
    info = {"seed": seed, "duration_s": duration_s, "gap_s": list(gap_s),
            "noise_dbfs": list(noise_dbfs), "segment_s": segment_s, "split": split,
            "clips": clips}
    return LongRecording(np.clip(audio, -1.0, 1.0), placed_words, np.asarray(starts, float),
                         np.asarray(ends, float), info)


def cut_keyword(clip: np.ndarray, offset: int, length: int) -> tuple[np.ndarray, int]:
    """The part of a corpus clip that :func:`make_long_recording` places in a recording.

    Parameters
    ----------
    clip : numpy.ndarray, float32, shape (16000,)
    offset, length : int
        The word's first sample in the clip and its length in samples
        (``clip_info["offset"]`` and ``clip_info["length"]``).

    Returns
    -------
    cut : numpy.ndarray, float32, shape (m,)
        From :data:`MARGIN_S` before the word to :data:`MARGIN_S` after it (within the
        clip), with linear fades of :data:`FADE_S` at both ends; a copy.
    begin : int
        Index of the cut's first sample in ``clip``.

    Raises
    ------
    ValueError
        If the word (``offset``, ``length``) does not lie inside ``clip``.
    """
    clip = np.asarray(clip)
    if clip.ndim != 1 or not (0 <= offset and 0 < length and offset + length <= clip.size):
        raise ValueError(f"the word (offset {offset}, length {length}) must lie inside the "
                         f"1-D clip of shape {clip.shape}")
    margin, fade = int(MARGIN_S * SAMPLE_RATE), int(FADE_S * SAMPLE_RATE)
    begin, stop = max(0, offset - margin), min(clip.size, offset + length + margin)
    cut = np.array(clip[begin:stop], dtype=np.float32)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    cut[:fade] *= ramp[: cut.size]
    cut[-fade:] *= ramp[::-1][-cut.size:]
    return cut, begin


def place_cuts(clips, offsets, lengths) -> np.ndarray:
    """Each clip's :func:`cut_keyword` at its place in an otherwise silent second.

    This is what a recording's window holds of a keyword, before the background.

    Parameters
    ----------
    clips : array_like, float, shape (n, 16000)
    offsets, lengths : array_like, int, shape (n,)
        ``clip_info["offset"]`` and ``clip_info["length"]`` of the clips; a negative
        offset (no word, as in ``_silence_`` clips) keeps the clip whole.

    Returns
    -------
    numpy.ndarray, float32, shape (n, 16000)

    Raises
    ------
    DataError
        Bad clips (see :func:`spikelearn.datasets.audio.check_clips`).
    ValueError
        ``offsets`` or ``lengths`` not one per clip, or a word outside its clip.
    """
    x = check_clips(clips)
    offsets, lengths = np.asarray(offsets).ravel(), np.asarray(lengths).ravel()
    if offsets.size != len(x) or lengths.size != len(x):
        raise ValueError(f"need one offset and one length per clip ({len(x)}), got "
                         f"{offsets.size} and {lengths.size}")
    out = np.zeros(x.shape, np.float32)
    for i, (offset, length) in enumerate(zip(offsets.tolist(), lengths.tolist(), strict=True)):
        if offset < 0:
            out[i] = x[i]
            continue
        cut, begin = cut_keyword(x[i], offset, length)
        out[i, begin:begin + cut.size] = cut
    return out


def add_background(clips, *, noise_dbfs=(-60.0, -40.0), segment_s: float = 10.0,
                   seed: int = 0) -> np.ndarray:
    """One-second clips with the background noise of :func:`make_long_recording` added.

    The clips are laid end to end over one background stream whose kind and level change
    every ``segment_s`` seconds, as in a recording, so that a model can be scored (or
    trained) on the recordings' noise without the streaming.

    Parameters
    ----------
    clips : array_like, float, shape (n, 16000) or (16000,)
    noise_dbfs : (float, float), default (-60, -40)
        Range of the background RMS level, drawn per segment.
    segment_s : float, default 10
    seed : int, default 0

    Returns
    -------
    numpy.ndarray, float32, shape (n, 16000)
        Clipped to ``[-1, 1]``.

    Raises
    ------
    DataError
        Bad clips (see :func:`spikelearn.datasets.audio.check_clips`).
    ValueError
        If ``segment_s`` is not positive.
    """
    x = check_clips(clips)
    if not segment_s > 0:
        raise ValueError(f"segment_s must be > 0 seconds, got {segment_s!r}")
    noise = _background(np.random.default_rng(seed), x.size, segment_s, noise_dbfs)
    return np.clip(x + noise.reshape(x.shape), -1.0, 1.0)


#: Clips that :func:`as_recorded` puts over one background stream (each chunk seeded apart).
RECORDED_CHUNK = 2000


def as_recorded(clips, offsets, lengths, *, seed: int = 0) -> np.ndarray:
    """Each clip as the window of a long recording aligned with it holds it.

    The word's cut at its place (:func:`place_cuts`) over the recordings' background
    (:func:`add_background`, chunks of :data:`RECORDED_CHUNK` clips seeded ``seed`` plus
    the chunk's first index): material for scoring or training a model on what the
    streaming spotter hears.

    Parameters
    ----------
    clips : array_like, float, shape (n, 16000)
    offsets, lengths : array_like, int, shape (n,)
        As in :func:`place_cuts` (a negative offset keeps the clip whole).
    seed : int, default 0

    Returns
    -------
    numpy.ndarray, float32, shape (n, 16000)
        Clipped to ``[-1, 1]``.

    Raises
    ------
    DataError
        Bad clips.
    ValueError
        ``offsets`` or ``lengths`` not one per clip, or a word outside its clip.
    """
    out = place_cuts(clips, offsets, lengths)
    for start in range(0, len(out), RECORDED_CHUNK):
        part = slice(start, start + RECORDED_CHUNK)
        out[part] = add_background(out[part], seed=seed + start)
    return out


def _background(rng, length, segment_s, noise_dbfs):
    """Noise whose kind and level change every segment, with 50 ms cross-fades."""
    segment = int(segment_s * SAMPLE_RATE)
    fade = min(int(0.05 * SAMPLE_RATE), segment)
    count = -(-length // segment)
    out = np.zeros(count * segment + fade, np.float32)
    window = np.ones(segment + fade, np.float32)
    window[:fade] = np.linspace(0.0, 1.0, fade)
    window[-fade:] = np.linspace(1.0, 0.0, fade)
    for k in range(count):
        kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
        level = 10.0 ** (rng.uniform(*noise_dbfs) / 20.0)
        noise = make_noise(kind, rng, 1, segment + fade)[0] * np.float32(level)
        out[k * segment:(k + 1) * segment + fade] += noise * window
    return out[:length]


def score_detections(detections, recording: LongRecording, *, tolerance_s: float = 0.5) -> dict:
    """Detection rate, false alarms per hour and latency of detections on a recording.

    Each keyword is matched to at most one detection of the same word whose ``time_s`` lies
    within ``tolerance_s`` of its start (closest first); every unmatched detection is a false
    alarm. A false alarm is a background one when it was detected away from every keyword
    (not between ``tolerance_s`` before a keyword's start and one window, 1 s, after its
    end); the others named a wrong word or repeated one during a keyword.

    Parameters
    ----------
    detections : sequence
        Objects with ``word``, ``time_s`` (estimated start) and ``detected_s`` (time of the
        detection), e.g. :class:`spikelearn.streaming.Detection`.
    recording : LongRecording
    tolerance_s : float, default 0.5

    Returns
    -------
    dict
        ``keywords``, ``hits``, ``misses``, ``missed_keywords`` (their indices into
        ``recording.words``), ``false_alarms``, ``detection_rate``,
        ``false_alarms_per_hour``, ``background_false_alarms``, ``latency_s`` (median over
        hits of detection time minus keyword end; NaN without hits), ``latency_max_s``,
        ``duration_s``.
    """
    starts = np.asarray(recording.starts, float)
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    near = tolerance_s + 1e-6  # a wider search; the test below is exact
    pairs = []
    for d, det in enumerate(detections):
        first, last = np.searchsorted(sorted_starts, [det.time_s - near, det.time_s + near])
        for k in sorted(order[first:last].tolist()):
            error = abs(det.time_s - starts[k])
            if det.word == recording.words[k] and error <= tolerance_s:
                pairs.append((error, d, k))
    matched_d, matched_k, latencies = set(), set(), []
    for _, d, k in sorted(pairs):
        if d not in matched_d and k not in matched_k:
            matched_d.add(d)
            matched_k.add(k)
            latencies.append(detections[d].detected_s - recording.ends[k])
    keywords, hits = len(recording.words), len(matched_k)
    false_alarms = len(detections) - len(matched_d)
    background = sum(
        not np.any((recording.starts - tolerance_s <= det.detected_s)
                   & (det.detected_s <= recording.ends + WINDOW_S))
        for d, det in enumerate(detections) if d not in matched_d)
    hours = recording.duration_s / 3600.0
    return {
        "keywords": keywords,
        "hits": hits,
        "misses": keywords - hits,
        "missed_keywords": [k for k in range(keywords) if k not in matched_k],
        "false_alarms": false_alarms,
        "detection_rate": hits / keywords if keywords else float("nan"),
        "false_alarms_per_hour": false_alarms / hours,
        "background_false_alarms": background,
        "latency_s": float(np.median(latencies)) if latencies else float("nan"),
        "latency_max_s": float(np.max(latencies)) if latencies else float("nan"),
        "duration_s": recording.duration_s,
    }
