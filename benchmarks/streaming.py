"""Streaming keyword spotting on a long synthetic recording: accuracy and cost.

Builds a long recording (:func:`spikelearn.datasets.long_recordings.make_long_recording`) from
the test-split speakers of the zoo recipe's synthetic corpus (``--split validation`` for its
validation speakers), streams it through
:class:`spikelearn.streaming.Stream` on one numba thread in 0.5 s chunks, and reports the
detection rate (hit within +-0.5 s of the keyword start), false alarms per hour, latency
(detection time minus keyword end), what the posteriors did over the missed keywords,
the class accuracy of each keyword's own corpus clip, of its cut alone, of the clip over the
recording's background and of the recording's window aligned like the clip, the detection
rate per band of the keywords' SNR,
the real-time factor (compute time / audio time) and
the per-hop cost of streaming against re-running the full 1 s window every 20 ms: dense
multiply-accumulates, synaptic operations (event-driven; the streaming figure scales each
layer's full-window count by the fraction of rows a hop recomputes) and wall time, both of
the whole stream (MFCC, network, posteriors, detection: ``wall_ratio``) and of the network
alone on the same frames (``wall_ratio_network``); the full window is the engine's layers on
one window. Wall times are the best of 5 rounds that time the three in turn on the first
60 s of the recording; the real-time factor is that of the detection run itself.

Run::

    python benchmarks/streaming.py [--duration 600] [--seed 1] [--model PATH] [--exact]
                                   [--split {test,validation}] [--threshold T]
                                   [--smoothing S] [--temperature K] [--refractory R]

Writes ``benchmarks/results/streaming.json`` and prints a rich table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numba
import numpy as np
from rich.console import Console
from rich.table import Table

from spikelearn import Model
from spikelearn.datasets import make_corpus
from spikelearn.datasets.audio import SAMPLE_RATE
from spikelearn.datasets.features import FRAME_LENGTH
from spikelearn.datasets.long_recordings import (
    make_long_recording,
    place_cuts,
    score_detections,
)
from spikelearn.streaming import HOP_SAMPLES, HOP_SECONDS, FrameExtractor, Stream

RESULTS = Path(__file__).parent / "results" / "streaming.json"
#: Rounds of the wall-time comparison; the best of each kind is kept.
ROUNDS = 5


def load_model(path):
    """The model (the zoo's ``ds_cnn_kws`` when ``path`` is None) and its class names."""
    from spikelearn import zoo

    model = zoo.load("ds_cnn_kws") if path is None else Model(path)
    return model, model.class_names or zoo.info("ds_cnn_kws")["words"]


def recipe_corpus():
    """The zoo recipe's corpus (its test speakers were never heard in training)."""
    from spikelearn import zoo

    info = zoo.info("ds_cnn_kws")
    recipe = info["recipe"]
    return make_corpus(recipe["num_speakers"], recipe["repetitions"], recipe["seed"],
                       words=info["words"], progress=False)


def full_window_ops(model, windows):
    """Mean synaptic ops of one full-window forward pass over ``windows``."""
    ops, x = 0, windows
    for layer in model.layers:
        ops += int(layer.synaptic_ops(x).mean()) if hasattr(layer, "synaptic_ops") else 0
        x = layer.call(np.ascontiguousarray(x))
    return ops


def wall_per_hop(stream, audio, windows, model, rounds=ROUNDS):
    """Best-of-``rounds`` wall seconds per hop of the whole stream (MFCC, network,
    posteriors, detection) and of its network alone on ``audio``, and of one full-window
    pass of ``model`` (its layers on one window, over ``windows``). The three are timed in
    turn within each round, so that a slow spell of the machine hits all of them."""
    frames = FrameExtractor().push(audio)
    hops = len(frames) - 48
    best = {"stream": np.inf, "network": np.inf, "full_window": np.inf}

    def timed(key, run, count):
        start = time.perf_counter()
        run()
        best[key] = min(best[key], (time.perf_counter() - start) / count)

    def run_stream():
        stream.reset()
        for i in range(0, audio.size, 8000):  # 0.5 s chunks
            stream.push(audio[i:i + 8000])

    def run_network():
        stream.network.reset()
        for i in range(0, len(frames), 25):  # the same 0.5 s of frames at a time
            stream.network.push(frames[i:i + 25])

    def run_full():
        for window in windows:
            x = window[None]
            for layer in model.layers:
                x = layer.call(x)

    for _ in range(rounds):
        timed("stream", run_stream, hops)
        timed("network", run_network, hops)
        timed("full_window", run_full, len(windows))
    return best


def miss_breakdown(stream, recording, missed):
    """What the smoothed posteriors did over each missed keyword (from its start to 1 s after
    its end): ``misses_word_strongest`` counts those whose strongest reported class was their
    word, below the threshold (the others were another word, below it too or detected
    without a match); ``miss_peak_median`` is the median peak of the word's posterior."""
    stream.reset()
    outputs = stream.network.push(FrameExtractor().push(recording.audio))
    first = stream.network.frames_seen - len(outputs)
    smoothed = stream.smooth(stream.posteriors(stream.scores(outputs)))
    times = ((first + np.arange(len(smoothed))) * HOP_SAMPLES + FRAME_LENGTH) / SAMPLE_RATE
    reported = np.where(stream.reported, smoothed, -1.0)
    strongest, peaks = 0, []
    for k in missed:
        during = (times >= recording.starts[k]) & (times <= recording.ends[k] + 1.0)
        word = stream.words.index(recording.words[k])
        peaks.append(smoothed[during, word].max())
        strongest += int(reported[during].max(axis=0).argmax() == word)
    return {"misses_word_strongest": strongest,
            "miss_peak_median": float(np.median(peaks)) if peaks else float("nan")}


#: Bands of the keywords' SNR (their corpus clip's, speech over its own noise), dB.
SNR_BANDS = ((5.0, 10.0), (10.0, 15.0), (15.0, 20.0), (20.0, 35.0))


def keyword_breakdown(model, words, corpus, recording, missed):
    """Where the misses come from, per keyword of ``recording``.

    Class accuracy (``model.predict_classes``) of four one-second inputs per keyword, each
    holding the word where its corpus clip holds it: ``clip_accuracy``, the clip itself;
    ``cut_accuracy``, the cut the recording places (:func:`cut_keyword`) alone in silence;
    ``clip_over_background_accuracy``, the whole clip plus the recording's background
    under it; ``aligned_window_accuracy``, the recording's own window (the cut over the
    background). ``detection_rate_by_snr``: the detection rate of the keywords in each
    :data:`SNR_BANDS` band of their clip's SNR (counts in ``keywords_by_snr``)."""
    from spikelearn.datasets import extract_features

    clips = np.asarray(recording.info["clips"])
    truth = np.array([words.index(word) for word in recording.words])
    offsets = corpus.clip_info["offset"][clips]
    starts = np.round(recording.starts * SAMPLE_RATE).astype(int) - offsets
    windows = np.stack([recording.audio[s:s + SAMPLE_RATE] for s in starts])
    full = np.asarray(corpus.audio[clips], np.float32)
    cuts = place_cuts(full, offsets, corpus.clip_info["length"][clips])
    inputs = {"clip": full, "cut": cuts, "clip_over_background": full + windows - cuts,
              "aligned_window": windows}
    figures = {f"{name}_accuracy": float(np.mean(model.predict_classes(
        extract_features(np.clip(x, -1.0, 1.0))) == truth)) for name, x in inputs.items()}
    snr = corpus.clip_info["snr_db"][clips]
    hit = np.ones(len(clips), bool)
    hit[np.asarray(missed, int)] = False
    bands = {f"{low:g}-{high:g} dB": (snr >= low) & ((snr < high) | (high == SNR_BANDS[-1][1]))
             for low, high in SNR_BANDS}
    figures["detection_rate_by_snr"] = {name: float(hit[band].mean()) if band.any()
                                        else float("nan") for name, band in bands.items()}
    figures["keywords_by_snr"] = {name: int(band.sum()) for name, band in bands.items()}
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--exact", action="store_true",
                        help="Stream(exact=True): every hop equals model.forward on its window")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="speakers of the recording (tune settings on validation)")
    parser.add_argument("--threshold", type=float, default=None, help="Stream threshold")
    parser.add_argument("--smoothing", type=float, default=None, help="Stream smoothing (s)")
    parser.add_argument("--temperature", type=float, default=None,
                        help="Stream softmax temperature")
    parser.add_argument("--refractory", type=float, default=None, dest="refractory_s",
                        help="Stream refractory period (s)")
    args = parser.parse_args()
    numba.set_num_threads(1)
    model, words = load_model(args.model)
    corpus = recipe_corpus()
    keywords = [w for w in words if w != "_silence_" and w in corpus.words]
    recording = make_long_recording(corpus, duration_s=args.duration, words=keywords,
                                    seed=args.seed, split=args.split)
    names = ("threshold", "smoothing", "temperature", "refractory_s")
    options = {key: getattr(args, key) for key in names if getattr(args, key) is not None}
    stream = Stream(model, words=words, exact=args.exact, **options)
    stream.push(recording.audio[:16000 * 2])  # compile the kernels
    stream.reset()
    chunk = 8000
    detections, start = [], time.perf_counter()
    for i in range(0, recording.audio.size, chunk):
        detections += stream.push(recording.audio[i:i + chunk])
    seconds = time.perf_counter() - start
    scores = score_detections(detections, recording)
    missed = scores.pop("missed_keywords")
    scores.update(miss_breakdown(stream, recording, missed))
    scores.update(keyword_breakdown(model, words, corpus, recording, missed))

    from spikelearn.datasets import extract_features

    rng = np.random.default_rng(0)
    offsets = rng.integers(0, recording.audio.size - 16000, 200)
    windows = extract_features(np.stack([recording.audio[o:o + 16000] for o in offsets]))
    full_ops = full_window_ops(model, windows)
    wall = wall_per_hop(stream, recording.audio[:16000 * 60], windows, model)
    full_macs = sum(layer.macs() for layer in model.layers)
    fractions = stream.network.hop_fractions()
    stream_ops, x = 0, windows
    for layer in model.layers:
        fraction = fractions.get(layer.name, 1.0)
        stream_ops += int(layer.synaptic_ops(x).mean() * fraction)
        x = layer.call(np.ascontiguousarray(x))
    figures = {
        **scores,
        "exact": args.exact,
        "real_time_factor": seconds / recording.duration_s,
        "hop_seconds_stream": wall["stream"],
        "hop_seconds_network": wall["network"],
        "hop_seconds_full_window": wall["full_window"],
        "hop_macs_stream": stream.network.hop_macs(),
        "hop_macs_full_window": full_macs,
        "hop_synaptic_ops_stream": stream_ops,
        "hop_synaptic_ops_full_window": full_ops,
        "macs_ratio": stream.network.hop_macs() / full_macs,
        "synaptic_ops_ratio": stream_ops / full_ops,
        "wall_ratio": wall["stream"] / wall["full_window"],
        "wall_ratio_network": wall["network"] / wall["full_window"],
        "real_time_factor_full_window": wall["full_window"] / HOP_SECONDS,
        "settings": {"threshold": stream.threshold, "smoothing_hops": stream.smoothing_hops,
                     "refractory_s": stream.refractory_s, "temperature": stream.temperature,
                     "seed": args.seed, "split": args.split, "threads": 1},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2))
    table = Table(title=f"Streaming KWS, {args.duration:.0f} s recording, "
                        f"{scores['keywords']} keywords, exact={args.exact}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in figures.items():
        if isinstance(value, dict) and key != "settings":
            value = ", ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                              for k, v in value.items())
        if key != "settings":
            table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    Console().print(table)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
