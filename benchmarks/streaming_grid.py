"""Stream settings on a long recording: detection rate and false alarms over a grid.

Builds the long recording of :mod:`streaming` (validation speakers by default: choose the
settings there), runs the network over it once (``Stream(exact=True)``: every hop's output
equals ``model.forward`` on its window) and then, for every ``--temperature`` x
``--smoothing`` x ``--threshold``, applies that :class:`spikelearn.streaming.Stream`'s
posteriors, smoothing, threshold and refractory period to the same class scores and scores
the detections (hit within +-0.5 s of the keyword start). Marks the highest detection rate
with at most as many false alarms as the current defaults (fewer false alarms on a tie).

Run::

    python benchmarks/streaming_grid.py [--duration 1800] [--seed 1] [--model PATH]
                                        [--split {validation,test}]
                                        [--temperature 0.5 0.75 1 ...] [--smoothing ...]
                                        [--threshold ...]

Writes ``benchmarks/results/streaming_grid.json`` and prints a rich table.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from rich.console import Console
from rich.progress import track
from rich.table import Table
from streaming import load_model, recipe_corpus

from spikelearn.datasets.long_recordings import make_long_recording, score_detections
from spikelearn.streaming import SMOOTHING_S, TEMPERATURE, THRESHOLD, FrameExtractor, Stream

RESULTS = Path(__file__).parent / "results" / "streaming_grid.json"


def detections_per_setting(model, words, recording, settings):
    """Scores of :func:`score_detections` for each ``(temperature, smoothing, threshold)``
    of ``settings``, from one exact pass of the network over ``recording``."""
    network_pass = Stream(model, words=words, exact=True)
    outputs = network_pass.network.push(FrameExtractor().push(recording.audio))
    first = network_pass.network.frames_seen - len(outputs)
    scores = network_pass.scores(outputs)
    rows = []
    for temperature, smoothing, threshold in track(settings, description="settings"):
        stream = Stream(model, words=words, exact=True, temperature=temperature,
                        smoothing=smoothing, threshold=threshold)
        found = score_detections(stream.detect(stream.posteriors(scores), first), recording)
        found.pop("missed_keywords")
        rows.append({"temperature": temperature, "smoothing": smoothing,
                     "threshold": threshold, **found})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", choices=("validation", "test"), default="validation")
    parser.add_argument("--temperature", type=float, nargs="+", default=[0.5, 0.75, 1.0])
    parser.add_argument("--smoothing", type=float, nargs="+",
                        default=[0.3, 0.4, 0.5, 0.6, 0.7])
    parser.add_argument("--threshold", type=float, nargs="+", default=[0.6, 0.7, 0.8, 0.9])
    args = parser.parse_args()
    model, words = load_model(args.model)
    corpus = recipe_corpus()
    keywords = [w for w in words if w != "_silence_" and w in corpus.words]
    recording = make_long_recording(corpus, duration_s=args.duration, words=keywords,
                                    seed=args.seed, split=args.split)
    defaults = (TEMPERATURE, SMOOTHING_S, THRESHOLD)
    settings = sorted(set(itertools.product(args.temperature, args.smoothing, args.threshold))
                      | {defaults})
    rows = detections_per_setting(model, words, recording, settings)
    default_row = rows[settings.index(defaults)]
    allowed = [row for row in rows if row["false_alarms"] <= default_row["false_alarms"]]
    best = max(allowed, key=lambda row: (row["detection_rate"], -row["false_alarms"]))

    table = Table(title=f"Stream settings, {args.split} speakers, {args.duration:.0f} s, "
                        f"{default_row['keywords']} keywords (exact network)")
    for column in ("temperature", "smoothing (s)", "threshold", "detection rate",
                   "false alarms", "per hour", ""):
        table.add_column(column, justify="right")
    for row in rows:
        mark = " ".join(m for m, on in (("default", row is default_row), ("best", row is best))
                        if on)
        table.add_row(f"{row['temperature']:g}", f"{row['smoothing']:g}",
                      f"{row['threshold']:g}", f"{100 * row['detection_rate']:.2f} %",
                      str(row["false_alarms"]), f"{row['false_alarms_per_hour']:.3g}", mark)
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"split": args.split, "duration_s": args.duration,
                                   "seed": args.seed, "default": default_row, "best": best,
                                   "rows": rows}, indent=2) + "\n")
    print(f"best with at most the defaults' false alarms: temperature {best['temperature']:g}, "
          f"smoothing {best['smoothing']:g} s, threshold {best['threshold']:g}: "
          f"{100 * best['detection_rate']:.2f} % at {best['false_alarms']} false alarms")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
