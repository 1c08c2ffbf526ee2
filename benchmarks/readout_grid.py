"""Choose the learning layer's ``learning_competition`` and readout on validation learners.

For each ``--learning-competition`` value the zoo model's learning layer is refitted offline
with it (``benchmarks/edge_learning.py --option learning_competition=...`` does the same),
then every learner of ``--split`` learns backward / follow / forward from 4 of its
utterances x 40 augmentations (as in ``edge_learning.py``), and the potentials of all old
and new clips are kept. The readout (``score_neurons`` k, ``new_class_bonus`` b) does not
change learning, so it is swept over those potentials: per (lc, k, b) the old classes
before learning, the new words of the same speaker and of the other speakers, the old
classes after learning and their drop.

The rule: the setting with the highest same-speaker accuracy among those whose old-class
drop is under ``--max-drop`` points.

Run::

    python benchmarks/readout_grid.py [--split validation] [--learning-competition 0.1 0.3]
                                      [--score-neurons 1 2 3 5 7] [--max-bonus 8]
                                      [--max-drop 0.25] [--speakers N]
                                      [--option KEY=VALUE ...]

Writes ``benchmarks/results/readout_grid.json`` and prints the best settings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from edge_learning import RESULTS, _parse_option, _refit, learner_clips, recipe_splits
from rich.console import Console
from rich.progress import track
from rich.table import Table

from spikelearn import zoo
from spikelearn.datasets.features import extract_features
from spikelearn.few_shot import learn_words
from spikelearn.learning.scores import argmax_or_abstain, class_scores
from spikelearn.model import Model
from spikelearn.zoo.training import NEW_WORDS


def accuracy(potentials, labels, num_classes, k, bonus=None):
    """Accuracy of the readout (k best neurons, bonus) on potentials ``(n, units)``."""
    scores, maxima = class_scores(potentials, num_classes, k, bonus)
    return float(np.mean(argmax_or_abstain(scores, tie_break=maxima) == labels))


def learned_potentials(meta, competition, options, splits, features, speakers):
    """Potentials of the old classes before learning, and per learner those of the new and
    old clips after learning, with the learning layer fitted at ``competition`` (and the
    other ``Competitive`` ``options``)."""
    (_, new, train), (x_old, x_new, x_train) = splits, features
    base = zoo.load("ds_cnn_kws")
    if options or competition != meta["recipe"]["learning_competition"]:
        base = _refit(base, meta, {**options, "learning_competition": competition}, x_train,
                      train.labels)
    saved = Path(tempfile.mkdtemp()) / "readout_grid.slm"
    base.save(saved)
    before = base.forward(x_old).reshape(len(x_old), -1)
    learners = []
    for speaker in track(np.unique(new.speakers)[:speakers],
                         description=f"learning_competition={competition}"):
        model = Model(saved)
        shots, same, other = learner_clips(new, speaker, 4)
        learn_words(model, [new.audio[i] for i in shots], augmentations=40, seed=0)
        learners.append((same, other, model.forward(x_new).reshape(len(x_new), -1),
                         model.forward(x_old).reshape(len(x_old), -1)))
    return base.num_classes, before, learners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "validation"), default="validation")
    parser.add_argument("--learning-competition", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--score-neurons", type=int, nargs="+", default=[1, 2, 3, 5, 7])
    parser.add_argument("--max-bonus", type=int, default=8)
    parser.add_argument("--max-drop", type=float, default=0.25,
                        help="largest old-class drop allowed, in points")
    parser.add_argument("--speakers", type=int, default=None, help="learners (default: all)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="other Competitive option of every refit (repeatable)")
    args = parser.parse_args()
    options = dict(_parse_option(text) for text in args.option)
    meta = zoo.info("ds_cnn_kws")
    splits = recipe_splits(meta, args.split)
    old, new, train = splits
    features = tuple(extract_features(s.audio) for s in (old, new, train))
    rows = []
    for competition in args.learning_competition:
        num_old, before, learners = learned_potentials(meta, competition, options, splits,
                                                       features, args.speakers)
        y_new = new.labels + num_old
        classes = num_old + len(NEW_WORDS)
        for k in args.score_neurons:
            old_before = accuracy(before, old.labels, num_old, k)
            for b in range(args.max_bonus + 1):
                bonus = np.r_[np.zeros(num_old), np.full(len(NEW_WORDS), b)]
                same = [accuracy(pn[s], y_new[s], classes, k, bonus) for s, _, pn, _ in learners]
                other = [accuracy(pn[o], y_new[o], classes, k, bonus) for _, o, pn, _ in learners]
                after = [accuracy(po, old.labels, classes, k, bonus) for *_, po in learners]
                rows.append({"learning_competition": competition, **options, "score_neurons": k,
                             "new_class_bonus": b, "old_before": old_before,
                             "new_same_speaker": float(np.mean(same)),
                             "new_other_speakers": float(np.mean(other)),
                             "old_after": float(np.mean(after)),
                             "old_drop_points": 100 * (old_before - float(np.mean(after)))})
    allowed = [r for r in rows if r["old_drop_points"] < args.max_drop]
    table = Table(title=f"Readout on {len(learners)} {args.split} learners: best per "
                        f"learning_competition (old-class drop < {args.max_drop} point)")
    for column in ("lc", "k", "b", "old before", "same speaker", "other speakers", "old after",
                   "drop"):
        table.add_column(column, justify="right")
    best = {}
    for r in allowed:
        lc = r["learning_competition"]
        if lc not in best or r["new_same_speaker"] > best[lc]["new_same_speaker"]:
            best[lc] = r
    for r in best.values():
        table.add_row(f"{r['learning_competition']:g}", str(r["score_neurons"]),
                      str(r["new_class_bonus"]),
                      *(f"{100 * r[key]:.2f} %" for key in ("old_before", "new_same_speaker",
                                                             "new_other_speakers", "old_after")),
                      f"{r['old_drop_points']:.2f}")
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "readout_grid.json"
    path.write_text(json.dumps({"split": args.split, "learners": len(learners), "options": options,
                                "max_drop_points": args.max_drop, "best": list(best.values()),
                                "rows": rows}, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
