"""Can the learning layer close the streaming gap? Variants of the zoo model's learning layer.

The zoo spotter detects fewer of the long recordings' keywords than it classifies their clips
right (see ``streaming.py``). Each variant changes only the learning layer of the zoo model,
with material from the *training* speakers, and is scored on the validation speakers:

- ``shipped``: the zoo model as it is;
- ``filler``: one more class learned on the device (``add_classes(1)`` then ``fit``) from
  ``--filler`` windows of a training-speaker recording that show 10 to 60 % of a keyword and
  no whole one; the class is never reported (``Stream(ignore=...)``);
- ``stream_fit``: the model learns on the device (``fit``) from the windows of that
  recording that hold a whole keyword (``--per-keyword`` of them each), labelled with it;
- ``refit_background``: a fresh learning layer (the recipe's options and seed) fitted offline
  on the training clips and a copy of them with the recordings' background
  (:func:`~spikelearn.datasets.long_recordings.add_background`).

Scores: the validation clips, the same clips with the recordings' background, and the
detection rate and false alarms of ``Stream`` (default settings) on two validation
recordings (``--seeds``, ``--duration`` seconds each).

Run::

    python benchmarks/streaming_learning.py [--duration 1800] [--seeds 1 2]
                                            [--train-duration 1800] [--filler 3000]
                                            [--per-keyword 3]

Writes ``benchmarks/results/streaming_learning.json`` and prints a rich table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from streaming import load_model, recipe_corpus

from spikelearn import zoo
from spikelearn.datasets import extract_features
from spikelearn.datasets.features import FRAME_LENGTH
from spikelearn.datasets.long_recordings import (
    add_background,
    make_long_recording,
    score_detections,
)
from spikelearn.layers import FullyConnected
from spikelearn.learning import Competitive
from spikelearn.learning.training import learning_layer
from spikelearn.streaming import HOP_SAMPLES, FrameExtractor, Stream

RESULTS = Path(__file__).parent / "results" / "streaming_learning.json"
FILLER = "_filler_"
#: Clips per call of the feature extraction (bounds the memory of the background copies).
CHUNK = 2000


def recording_windows(recording, window_frames):
    """MFCC windows ``uint8 (m, window_frames, 10, 1)`` of every hop of ``recording`` and,
    per window and keyword, the fraction of the keyword inside it ``float64 (m, k)``."""
    frames = FrameExtractor().push(recording.audio)
    count = len(frames) - window_frames + 1
    windows = np.lib.stride_tricks.sliding_window_view(frames, window_frames, axis=0)
    windows = np.moveaxis(windows, -1, 1)[..., None]
    ends = ((np.arange(count) + window_frames - 1) * HOP_SAMPLES + FRAME_LENGTH) / 16000.0
    inside = (np.minimum(ends[:, None], recording.ends[None])
              - np.maximum(ends[:, None] - 1.0, recording.starts[None]))
    return windows, np.clip(inside, 0.0, None) / (recording.ends - recording.starts)[None]


def noisy_features(audio, seed):
    """MFCCs of ``audio`` with the recordings' background added, in chunks."""
    return np.concatenate([extract_features(add_background(audio[start:start + CHUNK],
                                                           seed=seed + start))
                           for start in range(0, len(audio), CHUNK)])


def refit(model, x, y):
    """A copy of the zoo model whose learning layer is compiled afresh (the recipe's options)
    and fitted on ``x, y``."""
    recipe = zoo.info("ds_cnn_kws")["recipe"]
    old = learning_layer(model)
    rule = old.config["learning"]
    fresh = zoo.load("ds_cnn_kws")
    fresh.pop_layer()
    fresh.add(FullyConnected(old.config["units"], weight_bits=1, name=old.name))
    fresh.compile(Competitive(int(rule["num_weights"]), int(rule["num_classes"]),
                              learning_competition=recipe["learning_competition"],
                              rewire=recipe["rewire"], score_neurons=recipe["score_neurons"],
                              new_class_bonus=recipe["new_class_bonus"], seed=recipe["seed"]))
    fresh.fit(x, y)
    fresh.class_names = model.class_names
    return fresh


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--train-duration", type=float, default=1800.0)
    parser.add_argument("--filler", type=int, default=3000, help="filler windows learned")
    parser.add_argument("--per-keyword", type=int, default=3,
                        help="windows learned per keyword of the training recording")
    args = parser.parse_args()
    if args.filler < 1 or args.per_keyword < 1 or args.duration <= 0 or args.train_duration <= 0:
        raise SystemExit("--filler and --per-keyword must be >= 1, durations > 0")
    shipped, words = load_model(None)
    corpus = recipe_corpus()
    keywords = [w for w in words if w != "_silence_" and w in corpus.words]
    rng = np.random.default_rng(0)

    train = make_long_recording(corpus, duration_s=args.train_duration, words=keywords,
                                seed=11, split="train")
    windows, inside = recording_windows(train, shipped.input_shape[0])
    most = inside.max(axis=1)
    partial = np.flatnonzero((most > 0.1) & (most < 0.6))
    filler = np.sort(rng.choice(partial, min(args.filler, partial.size), replace=False))
    whole = [(i, k) for k in range(len(train.words))
             for i in rng.permutation(np.flatnonzero(inside[:, k] >= 1.0))[:args.per_keyword]]
    order = rng.permutation(len(whole))
    x_stream = windows[[whole[j][0] for j in order]]
    y_stream = np.array([words.index(train.words[whole[j][1]]) for j in order])

    train_set = corpus.get_split("train")
    y_train = np.array([words.index(corpus.words[label]) for label in train_set.labels])
    x_train = extract_features(train_set.audio)
    x_both = np.concatenate([x_train, noisy_features(train_set.audio, 1000)])
    both = rng.permutation(len(x_both))
    val_set = corpus.get_split("validation")
    y_val = np.array([words.index(corpus.words[label]) for label in val_set.labels])
    x_val, x_val_noisy = extract_features(val_set.audio), noisy_features(val_set.audio, 0)
    recordings = [make_long_recording(corpus, duration_s=args.duration, words=keywords,
                                      seed=seed, split="validation") for seed in args.seeds]

    def variant(name):
        if name == "shipped":
            return zoo.load("ds_cnn_kws"), ("_silence_",)
        if name == "filler":
            model = zoo.load("ds_cnn_kws")
            model.add_classes(1)
            model.fit(np.ascontiguousarray(windows[filler]), len(words))
            model.class_names = [*words, FILLER]
            return model, ("_silence_", FILLER)
        if name == "stream_fit":
            return zoo.load("ds_cnn_kws").fit(np.ascontiguousarray(x_stream), y_stream), \
                ("_silence_",)
        return refit(shipped, x_both[both], np.concatenate([y_train, y_train])[both]), \
            ("_silence_",)

    rows = []
    for name in track(("shipped", "filler", "stream_fit", "refit_background"),
                      description="variants"):
        model, ignore = variant(name)
        row = {"variant": name,
               "validation_clips": model.evaluate(x_val, y_val),
               "validation_clips_background": model.evaluate(x_val_noisy, y_val),
               "recordings": []}
        for recording in recordings:
            found = score_detections(Stream(model, ignore=ignore).push(recording.audio),
                                     recording)
            row["recordings"].append({k: found[k] for k in (
                "keywords", "detection_rate", "false_alarms", "false_alarms_per_hour",
                "background_false_alarms")})
        rows.append(row)

    report = {"settings": {**vars(args), "filler_windows": int(filler.size),
                           "stream_windows": len(y_stream)}, "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    table = Table(title=f"Learning layer variants, validation speakers "
                        f"({filler.size} filler windows, {len(y_stream)} keyword windows)")
    for column in ("variant", "clips", "clips + background",
                   *(f"recording seed {seed}: detected / false alarms" for seed in args.seeds)):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in rows:
        table.add_row(row["variant"], f"{100 * row['validation_clips']:.2f} %",
                      f"{100 * row['validation_clips_background']:.2f} %",
                      *(f"{100 * r['detection_rate']:.2f} % / {r['false_alarms']}"
                        for r in row["recordings"]))
    Console().print(table)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
