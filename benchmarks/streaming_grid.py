"""Stream settings on a long recording: detection rate and false alarms over a grid.

Builds the long recording of :mod:`streaming` (validation speakers by default: choose the
settings there), runs the network over it once (``Stream(exact=True)``: every hop's output
equals ``model.forward`` on its window) and then, for every ``--temperature`` x
``--smoothing`` x ``--threshold``, applies that :class:`spikelearn.streaming.Stream`'s
posteriors, smoothing, threshold and refractory period to the same class scores and scores
the detections (hit within +-0.5 s of the keyword start). Marks the highest detection rate
with at most as many false alarms as the current defaults (``best``; fewer false alarms on a
tie) and, for each ``--max-false-alarms-per-hour`` budget, the highest with at most that
many false alarms per hour (``<=B/h``; by default 1, the operating point of the streaming
target: 95 % of keywords at one false alarm per hour).
A setting picked on a recording is an oracle choice for that recording: pick it on the
validation speakers, then pass it alone (one value per option) on the test speakers.

``--keywords`` scores a keyword subset: the recording still holds every word, the others
as speech that is not a keyword (their classes are never reported, a detection during them
is a false alarm), as in the usual small-vocabulary keyword-spotting task.

Run::

    python benchmarks/streaming_grid.py [--duration 1800] [--seed 1] [--model PATH]
                                        [--split {validation,test}]
                                        [--temperature 0.5 0.75 1 ...] [--smoothing ...]
                                        [--threshold ...]
                                        [--max-false-alarms-per-hour 1 5 ...]
                                        [--keywords yes no up down ...]

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


def detections_per_setting(model, words, recording, settings, ignore=("_silence_",)):
    """Scores of :func:`score_detections` for each ``(temperature, smoothing, threshold)``
    of ``settings``, from one exact pass of the network over ``recording``; the classes of
    ``ignore`` are never reported."""
    network_pass = Stream(model, words=words, exact=True)
    outputs = network_pass.network.push(FrameExtractor().push(recording.audio))
    first = network_pass.network.frames_seen - len(outputs)
    scores = network_pass.scores(outputs)
    rows = []
    for temperature, smoothing, threshold in track(settings, description="settings"):
        stream = Stream(model, words=words, exact=True, temperature=temperature,
                        smoothing=smoothing, threshold=threshold, ignore=ignore)
        found = score_detections(stream.detect(stream.posteriors(scores), first), recording)
        found.pop("missed_keywords")
        rows.append({"temperature": temperature, "smoothing": smoothing,
                     "threshold": threshold, **found})
    return rows


def best_row(rows, max_false_alarms):
    """The row with the highest detection rate among those with at most
    ``max_false_alarms`` false alarms (fewer false alarms on a tie), or None."""
    allowed = [row for row in rows if row["false_alarms"] <= max_false_alarms]
    return max(allowed, key=lambda row: (row["detection_rate"], -row["false_alarms"]),
               default=None)


def describe(row):
    """One line for a grid row, or for no row."""
    if row is None:
        return "no setting of the grid"
    return (f"temperature {row['temperature']:g}, smoothing {row['smoothing']:g} s, threshold "
            f"{row['threshold']:g}: {100 * row['detection_rate']:.2f} % at "
            f"{row['false_alarms']} false alarms ({row['false_alarms_per_hour']:.3g} per hour)")


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
    parser.add_argument("--max-false-alarms-per-hour", type=float, nargs="+", default=[1.0],
                        help="false-alarm budgets, each marked '<=B/h' (default 1, the target)")
    parser.add_argument("--keywords", nargs="+", default=None,
                        help="words to spot (default every word); the others are not keywords")
    args = parser.parse_args()
    if not all(budget >= 0 for budget in args.max_false_alarms_per_hour):
        parser.error("--max-false-alarms-per-hour must be >= 0")
    model, words = load_model(args.model)
    corpus = recipe_corpus()
    keywords = [w for w in words if w != "_silence_" and w in corpus.words]
    recording = make_long_recording(corpus, duration_s=args.duration, words=keywords,
                                    seed=args.seed, split=args.split)
    if args.keywords is not None:
        unknown = sorted(set(args.keywords) - set(keywords))
        if unknown:
            parser.error(f"--keywords: {unknown} are not words of the model and the corpus")
        recording = recording.only(args.keywords)
    ignore = (["_silence_"] if args.keywords is None
              else [w for w in words if w not in args.keywords])
    defaults = (TEMPERATURE, SMOOTHING_S, THRESHOLD)
    settings = sorted(set(itertools.product(args.temperature, args.smoothing, args.threshold))
                      | {defaults})
    rows = detections_per_setting(model, words, recording, settings, ignore)
    default_row = rows[settings.index(defaults)]
    best = best_row(rows, default_row["false_alarms"])
    hours = recording.duration_s / 3600.0
    budgets = {budget: best_row(rows, budget * hours)
               for budget in sorted(set(args.max_false_alarms_per_hour))}

    spotted = "every word" if args.keywords is None else f"{len(args.keywords)} words"
    table = Table(title=f"Stream settings, {args.split} speakers, {args.duration:.0f} s, "
                        f"{default_row['keywords']} keywords of {spotted} (exact network)")
    for column in ("temperature", "smoothing (s)", "threshold", "detection rate",
                   "false alarms", "per hour", ""):
        table.add_column(column, justify="right")
    for row in rows:
        marks = [("default", row is default_row), ("best", row is best)]
        marks += [(f"<={budget:g}/h", row is chosen) for budget, chosen in budgets.items()]
        mark = " ".join(m for m, on in marks if on)
        table.add_row(f"{row['temperature']:g}", f"{row['smoothing']:g}",
                      f"{row['threshold']:g}", f"{100 * row['detection_rate']:.2f} %",
                      str(row["false_alarms"]), f"{row['false_alarms_per_hour']:.3g}", mark)
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"split": args.split, "duration_s": args.duration,
                                   "seed": args.seed, "keywords": args.keywords,
                                   "default": default_row, "best": best,
                                   "budgets": [{"max_false_alarms_per_hour": budget,
                                                "best": chosen}
                                               for budget, chosen in budgets.items()],
                                   "rows": rows}, indent=2) + "\n")
    print(f"best with at most the defaults' false alarms: {describe(best)}")
    for budget, chosen in budgets.items():
        print(f"best with at most {budget:g} false alarms per hour: {describe(chosen)}")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
