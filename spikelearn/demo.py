"""The main job: the pretrained keyword spotter learns new words from a few utterances.

:func:`run_demo` loads the zoo's ``ds_cnn_kws`` engine, scores it on held-out speakers,
adds one class per new word, learns each from ``shots`` utterances of one speaker
(augmented ``augmentations`` times each) and scores old and new words again. Everything
comes from the package: no network, no TensorFlow, no espeak-ng.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from spikelearn import zoo
from spikelearn.few_shot import learn_words


def run_demo(*, shots: int = 4, augmentations: int = 40, speaker: int | None = None,
             seed: int = 0, model_name: str = "ds_cnn_kws") -> dict:
    """Run the edge-learning demo and return its figures.

    Parameters
    ----------
    shots : int
        Utterances of each new word the learner gives.
    augmentations : int
        Augmented variants per utterance.
    speaker : int, optional
        Speaker id of the learner (one of the demo set's new-word speakers); default the first.
    seed : int
        Seed of the augmentation.
    model_name : str
        Zoo model to use.

    Returns
    -------
    dict
        ``old_accuracy_before``, ``old_accuracy_after``, ``new_accuracy_same_speaker``,
        ``new_accuracy_other_speakers``, ``learn_seconds``, ``featurize_seconds``,
        ``num_samples``, ``speaker``, ``new_words``, ``confusion`` (new-word confusion
        matrix over all test utterances, rows = truth), ``num_weights`` ...
    """
    started = time.perf_counter()
    model = zoo.load(model_name)
    meta = zoo.info(model_name)
    data = zoo.load_demo_data(model_name)
    old_classes = model.num_classes
    new_words = meta["new_words"]

    speakers = np.unique(data["new_speakers"])
    learner = int(speakers[0]) if speaker is None else int(speaker)
    if learner not in speakers:
        raise ValueError(f"speaker {learner} is not in the demo set; choose one of "
                         f"{', '.join(map(str, speakers))}")
    train_rows, test_same_rows = [], []
    for label in range(len(new_words)):
        rows = np.flatnonzero((data["new_speakers"] == learner) & (data["new_labels"] == label))
        if len(rows) <= shots:
            raise ValueError(f"speaker {learner} has {len(rows)} utterances of "
                             f"{new_words[label]!r}; shots must be below that, got {shots}")
        train_rows.append(rows[:shots])
        test_same_rows.append(rows[shots:])
    test_same = np.concatenate(test_same_rows)
    test_other = np.flatnonzero(data["new_speakers"] != learner)

    old_x, old_y = data["old_features"], data["old_labels"]
    old_before = model.evaluate(old_x, old_y)
    # Compile the learning kernels on a throwaway copy first, so that the reported learning
    # time is the learning itself and not numba's one-off compilation.
    warm = copy.deepcopy(model)
    warm.add_classes(1)
    warm.fit(old_x[:2], [0, warm.num_classes - 1])
    result = learn_words(model, [data["new_audio"][rows] for rows in train_rows],
                         names=new_words, augmentations=augmentations, seed=seed)

    from spikelearn.datasets.features import extract_features

    new_x = extract_features(data["new_audio"])
    new_y = data["new_labels"] + old_classes
    predicted = model.predict_classes(new_x)
    old_after = model.evaluate(old_x, old_y)

    def accuracy(rows):
        return float(np.mean(predicted[rows] == new_y[rows])) if len(rows) else float("nan")

    labels = list(range(old_classes, old_classes + len(new_words)))
    confusion = np.zeros((len(new_words), len(new_words) + 1), np.int64)
    for truth, guess in zip(new_y, predicted, strict=True):
        column = labels.index(guess) if guess in labels else len(new_words)
        confusion[truth - old_classes, column] += 1
    return {
        "model": model_name,
        "new_words": new_words,
        "speaker": learner,
        "shots": shots,
        "augmentations": augmentations,
        "num_samples": result.num_samples,
        "old_classes": old_classes,
        "old_test_samples": int(len(old_y)),
        "old_accuracy_before": old_before,
        "old_accuracy_after": old_after,
        "new_accuracy_same_speaker": accuracy(test_same),
        "new_test_same_speaker": int(len(test_same)),
        "new_accuracy_other_speakers": accuracy(test_other),
        "new_test_other_speakers": int(len(test_other)),
        "featurize_seconds": result.featurize_seconds,
        "learn_seconds": result.fit_seconds,
        "confusion": confusion.tolist(),
        "confusion_columns": new_words + ["an old class"],
        "total_seconds": time.perf_counter() - started,
    }


def plot_confusion(figures: dict, path: str) -> None:
    """Save the new-word confusion matrix of :func:`run_demo` as an image (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        from spikelearn.errors import MissingDependencyError

        raise MissingDependencyError(
            "--plot needs matplotlib: pip install matplotlib") from error
    confusion = np.asarray(figures["confusion"])
    fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
    ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(confusion.shape[1]), figures["confusion_columns"], rotation=20)
    ax.set_yticks(range(confusion.shape[0]), figures["new_words"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("spoken")
    for (row, col), value in np.ndenumerate(confusion):
        ax.text(col, row, str(value), ha="center", va="center",
                color="white" if value > confusion.max() / 2 else "black")
    ax.set_title(f"New words, all demo utterances (speaker {figures['speaker']} taught "
                 f"{figures['shots']} of each)", fontsize=10)
    fig.savefig(path, dpi=120)
    plt.close(fig)
