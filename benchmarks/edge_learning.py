"""The reference tutorial's edge-learning flow, end to end, for every test speaker.

For each test speaker of the synthetic corpus as the learner: load the zoo's
``ds_cnn_kws`` engine (33 preset classes learned offline), ``add_classes(3)``, learn
backward / follow / forward from ``--shots`` utterances of that speaker, each augmented
``--augmentations`` times, then score

(a) that speaker's other utterances of the new words,
(b) the new words spoken by every other test speaker,
(c) the 33 old classes on all test speakers, before and after.

A nearest-class-mean head (scikit-learn ``NearestCentroid``) on the same spikes and the
same augmented samples is the baseline for (a) and (b). Also reported: offline ``fit``
throughput through the whole network (median of three fits of the training split) and the
time of the few-shot ``fit`` call.

With ``--option KEY=VALUE`` (repeatable; ``Competitive`` options such as
``rewire=sample``, ``learning_competition=0``, ``num_weights=22``) the learning layer is
rebuilt like the zoo recipe (same units, ``num_weights``, ``learning_competition``,
``rewire``, ``score_neurons`` and seed unless overridden), compiled with those options and
fitted offline on the recipe's training
clips before the edge learning; the learning-layer figure is then measured here.

Needs espeak-ng (the corpus is regenerated or read from the cache with the settings the
zoo model was trained with). Prints a rich table and writes JSON::

    python benchmarks/edge_learning.py [--speakers N] [--shots 4] [--augmentations 40]
                                       [--option rewire=sample ...] [--score-neurons K]
                                       [--new-class-bonus B]
                                       [--split {test,validation}] [--model PATH]

``--score-neurons`` and ``--new-class-bonus`` change only the class readout of the loaded
learning layer (no re-fit). ``--split validation`` takes learners and scores from the
validation speakers: choose settings there, report them on ``test``. ``--model`` takes
another ``ds_cnn_kws.slm`` of the recipe (``spikelearn zoo train ds_cnn_kws -o DIR``), with
the ``ds_cnn_kws.json`` written beside it.
"""

from __future__ import annotations

import argparse
import ast
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.neighbors import NearestCentroid

from spikelearn import zoo
from spikelearn.datasets import make_corpus
from spikelearn.datasets.augment import augment
from spikelearn.datasets.features import extract_features
from spikelearn.datasets.synthetic import DEFAULT_WORDS
from spikelearn.few_shot import learn_words
from spikelearn.layers import FullyConnected
from spikelearn.learning import Competitive
from spikelearn.model import Model
from spikelearn.zoo.training import NEW_WORDS

RESULTS = Path(__file__).with_name("results")
#: Offline fits timed; the median is reported.
OFFLINE_RUNS = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=None,
                        help="learners to try (default: every test speaker)")
    parser.add_argument("--shots", type=int, default=4)
    parser.add_argument("--augmentations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="Competitive option for a re-fitted learning layer (repeatable)")
    parser.add_argument("--score-neurons", type=int, default=None,
                        help="class readout of the learning layer (default: the model's)")
    parser.add_argument("--new-class-bonus", type=int, default=None,
                        help="readout bonus of the learned words (default: the model's)")
    parser.add_argument("--split", choices=("test", "validation"), default="test",
                        help="speakers to learn from and score on (choose settings on "
                             "validation, report test)")
    parser.add_argument("--model", type=Path, default=None,
                        help="a ds_cnn_kws.slm of the recipe, its .json beside it "
                             "(default: the zoo's)")
    args = parser.parse_args()
    console = Console()
    options = dict(_parse_option(text) for text in args.option)

    meta = zoo.info("ds_cnn_kws") if args.model is None else \
        json.loads(args.model.with_suffix(".json").read_text())
    old, new, train = recipe_splits(meta, args.split)
    x_old, y_old = extract_features(old.audio), old.labels
    x_train, y_train = extract_features(train.audio), train.labels
    x_new = extract_features(new.audio)

    base = zoo.load("ds_cnn_kws") if args.model is None else Model(args.model)
    learning_layer_accuracy = meta["accuracy"]["learning_layer_test"]
    if options:
        base = _refit(base, meta, options, x_train, y_train)
    if args.score_neurons is not None:
        base.score_neurons = args.score_neurons
    if args.new_class_bonus is not None:
        base.new_class_bonus = args.new_class_bonus
    if options or args.score_neurons is not None or args.split != "test" or args.model:
        learning_layer_accuracy = base.evaluate(x_old, y_old)
    saved = Path(tempfile.mkdtemp()) / "edge_learning_base.slm"
    base.save(saved)
    num_old = base.num_classes
    y_new = new.labels + num_old
    old_before = base.evaluate(x_old, y_old)
    spikes_train = base.forward(x_train, until=-2).reshape(len(x_train), -1)
    spikes_old = base.forward(x_old, until=-2).reshape(len(x_old), -1)
    spikes_new = base.forward(x_new, until=-2).reshape(len(x_new), -1)

    # Offline fit throughput through the whole network: the median of OFFLINE_RUNS fits,
    # each on a fresh copy of the learning layer (single runs vary by 20 % on a loaded VM).
    offline_rates = []
    for _ in range(OFFLINE_RUNS):
        offline = Model(saved)
        start = time.perf_counter()
        offline.fit(x_train, y_train)
        offline_rates.append(len(y_train) / (time.perf_counter() - start))
    offline_rate = float(np.median(offline_rates))

    learners = np.unique(new.speakers)[: args.speakers]
    rows = []
    for speaker in learners:
        model = Model(saved)
        shots, same, other = learner_clips(new, speaker, args.shots)
        result = learn_words(model, [new.audio[i] for i in shots],
                             augmentations=args.augmentations, seed=args.seed)
        predicted = model.predict_classes(x_new)

        # Baseline: nearest class mean on the same spikes (old classes: training split) and
        # the same augmented samples of the new words.
        augmented = [augment(new.audio[i], n=args.augmentations, seed=args.seed + k)
                     if args.augmentations else new.audio[i] for k, i in enumerate(shots)]
        x_shots = extract_features(np.concatenate(augmented))
        y_shots = np.repeat(np.arange(len(NEW_WORDS)) + num_old, [len(a) for a in augmented])
        centroid = NearestCentroid().fit(
            np.concatenate([spikes_train,
                            base.forward(x_shots, until=-2).reshape(len(y_shots), -1)]),
            np.concatenate([y_train, y_shots]))
        baseline = centroid.predict(spikes_new)
        rows.append({
            "speaker": int(speaker),
            "new_same_speaker": float(np.mean(predicted[same] == y_new[same])),
            "new_other_speakers": float(np.mean(predicted[other] == y_new[other])),
            "old_after": model.evaluate(x_old, y_old),
            "baseline_new_same_speaker": float(np.mean(baseline[same] == y_new[same])),
            "baseline_old_after": float(np.mean(centroid.predict(spikes_old) == y_old)),
            "baseline_new_other_speakers": float(np.mean(baseline[other] == y_new[other])),
            "few_shot_fit_s": result.fit_seconds,
            "few_shot_samples": result.num_samples,
        })

    def stats(key):
        values = np.array([r[key] for r in rows])
        return {"mean": float(values.mean()), "min": float(values.min()),
                "max": float(values.max())}

    keys = ("new_same_speaker", "new_other_speakers", "old_after",
            "baseline_new_same_speaker", "baseline_new_other_speakers", "baseline_old_after",
            "few_shot_fit_s")
    summary = {key: stats(key) for key in keys}
    report = {
        "learners": len(rows),
        "shots": args.shots,
        "augmentations": args.augmentations,
        "old_test_samples": int(len(y_old)),
        "new_test_samples": int(len(y_new)),
        "old_before": old_before,
        "converted_network_classifier": meta["accuracy"]["converted_engine_test"],
        "learning_layer": learning_layer_accuracy,
        "options": options,
        "split": args.split,
        "model": str(args.model) if args.model else "zoo ds_cnn_kws",
        "score_neurons": base.score_neurons,
        "new_class_bonus": base.new_class_bonus,
        "offline_fit_samples_per_s": offline_rate,
        "offline_fit_runs_samples_per_s": offline_rates,
        "summary": summary,
        "per_learner": rows,
    }
    table = Table(title=f"Edge learning, {len(rows)} learners, {args.shots} shots x "
                        f"{args.augmentations} augmentations")
    for column in ("measure", "mean", "min", "max"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    for key in keys[:-1]:
        s = summary[key]
        cells = (f"{100 * s[k]:.2f} %" for k in ("mean", "min", "max"))
        table.add_row(key.replace("_", " "), *cells)
    s = summary["few_shot_fit_s"]
    table.add_row("few-shot fit time", *(f"{1000 * s[k]:.1f} ms" for k in ("mean", "min", "max")))
    console.print(table)
    console.print(f"old classes before: {100 * old_before:.2f} %; converted network's own "
                  f"classifier (test): {100 * report['converted_network_classifier']:.2f} %; "
                  f"learning layer: {100 * report['learning_layer']:.2f} %; offline fit "
                  f"{offline_rate:,.0f} samples/s")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "edge_learning.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {path}")


def recipe_splits(meta, split):
    """The zoo recipe's corpora: preset words and new words of ``split``, preset words of the
    training split."""
    recipe = meta["recipe"]
    preset = [w for w in DEFAULT_WORDS if w not in NEW_WORDS]
    old = make_corpus(recipe["num_speakers"], recipe["repetitions"], recipe["seed"],
                      words=preset).get_split(split)
    new = make_corpus(recipe["num_speakers"], recipe["new_word_repetitions"], recipe["seed"],
                      words=list(NEW_WORDS)).get_split(split)
    train = make_corpus(recipe["num_speakers"], recipe["repetitions"], recipe["seed"],
                        words=preset).get_split("train")
    return old, new, train


def learner_clips(new, speaker, shots):
    """Indices into ``new``: the first ``shots`` utterances of each new word by ``speaker``
    (a list, one array per word), that speaker's other utterances, every other speaker's."""
    learn, same = [], []
    for label in range(len(NEW_WORDS)):
        idx = np.flatnonzero((new.speakers == speaker) & (new.labels == label))
        learn.append(idx[:shots])
        same.append(idx[shots:])
    return learn, np.concatenate(same), np.flatnonzero(new.speakers != speaker)


def _parse_option(text):
    """``"key=value"`` -> ``(key, value)``; the value is a Python literal or a bare string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise SystemExit(f"--option expects KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def _refit(model, meta, options, x_train, y_train):
    """The zoo recipe's learning layer rebuilt with ``options`` and fitted offline."""
    learning = model.get_layer(-1).config["learning"]
    units = model.get_layer(-1).config["units"]
    model.pop_layer()
    model.add(FullyConnected(units, weight_bits=1, name="edge_learning"))
    recipe = meta["recipe"]
    config = {"num_weights": meta["num_weights"], "num_classes": learning["num_classes"],
              **{key: recipe[key] for key in ("learning_competition", "rewire",
                                              "score_neurons", "seed")},
              **options}
    model.compile(Competitive(**config))
    model.fit(x_train, y_train)
    return model


if __name__ == "__main__":
    main()
