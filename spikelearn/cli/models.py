"""Model commands: convert, summary, evaluate, predict and learn."""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table

from spikelearn.cli._common import (
    CHUNK,
    JSON_OPTION,
    QUIET_OPTION,
    Report,
    featurize_files,
    load_model,
    read_clip,
    user_errors,
)
from spikelearn.errors import DataError, NotCompiledError
from spikelearn.learning.scores import argmax_or_abstain
from spikelearn.learning.scores import class_scores as scores_of_classes
from spikelearn.learning.training import class_bonus

if TYPE_CHECKING:
    from spikelearn.model import Model


def class_scores(model: Model, x: np.ndarray, report: Report) -> tuple[np.ndarray, np.ndarray]:
    """Class scores (as :meth:`Model.class_scores`) and best neuron outputs, both float32
    (n, classes), in chunks with a progress bar."""
    outputs = []
    with report.progress() as progress:
        task = progress.add_task("running the engine", total=len(x))
        for start in range(0, len(x), 4 * CHUNK):
            outputs.append(model.predict(x[start:start + 4 * CHUNK]).reshape(-1, _units(model)))
            progress.advance(task, len(outputs[-1]))
    outputs = np.concatenate(outputs) if outputs else np.zeros((0, _units(model)), np.float32)
    scores, maxima = scores_of_classes(outputs, _num_classes(model), model.score_neurons,
                                       class_bonus(model))
    return scores, maxima.astype(np.float32)


def _units(model: Model) -> int:
    return int(np.prod(model.output_shape))


def _num_classes(model: Model) -> int:
    return model.num_classes or _units(model)


def _class_name(model: Model, index: int) -> str | None:
    names = model.class_names
    return names[index] if names is not None and index < len(names) else None


def _labelled_features(path: Path, model: Model, report: Report) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 (n, 49, 10, 1), y int64 (n,))`` from a features .npz or a folder of words."""
    if path.is_dir():
        return _labelled_folder(path, model, report)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file or folder: {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError(f"{path} is not a .npz file of features and labels ({error})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise DataError(f"{path} holds a single array; give an .npz with 'x' and 'y'")
    with data:
        arrays = {key: data[key] for key in data.files}
    x = arrays.get("x", arrays.get("features"))
    y = arrays.get("y", arrays.get("labels"))
    if x is None or y is None:
        raise DataError(f"{path} needs arrays 'x' (or 'features') and 'y' (or 'labels'); it "
                        f"has {sorted(arrays)}")
    if not np.issubdtype(y.dtype, np.integer) or y.shape != (len(x),):
        raise DataError(f"{path}: labels must be integers of shape ({len(x)},), got {y.dtype} "
                        f"{y.shape}")
    y = y.astype(np.int64)
    words, names = arrays.get("words"), model.class_names
    if words is not None and names is not None:  # labels index the file's words: map by name
        unknown = sorted({str(words[k]) for k in np.unique(y)} - set(names))
        if unknown:
            raise DataError(f"{path}: words {unknown} are not classes of the model "
                            f"(classes: {', '.join(names)})")
        y = np.array([names.index(str(word)) for word in words])[y]
    classes = _num_classes(model)
    if len(y) and (y.min() < 0 or y.max() >= classes):
        raise DataError(f"{path}: labels must be in [0, {classes}) for this model, got "
                        f"{y.min()}..{y.max()}")
    return model.check_input(x), y


def _labelled_folder(path: Path, model: Model, report: Report) -> tuple[np.ndarray, np.ndarray]:
    names = model.class_names
    if names is None:
        raise DataError(f"{path} is a folder of words, but the model has no class names to map "
                        "them to; use a features .npz with integer labels")
    files, labels, skipped = [], [], []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        if folder.name not in names:
            skipped.append(folder.name)
            continue
        clips = sorted(folder.glob("*.wav"))
        files += clips
        labels += [names.index(folder.name)] * len(clips)
    if skipped:
        report.note(f"skipped folders that are not classes of the model: {', '.join(skipped)}")
    if not files:
        raise DataError(f"{path} holds no <word>/<clip>.wav files for the model's classes "
                        f"({', '.join(names)})")
    return featurize_files(files, report), np.array(labels, np.int64)


def _expand(pattern: str) -> list[Path]:
    """Files named by a path, a folder (its ``*.wav``) or a glob pattern, sorted."""
    path = Path(pattern)
    if path.is_dir():
        return sorted(path.glob("*.wav"))
    if glob.has_magic(pattern):
        return sorted(Path(p) for p in glob.glob(pattern))
    return [path]


def _parse_words(specs: Sequence[str]) -> dict[str, list[Path]]:
    words: dict[str, list[Path]] = {}
    for spec in specs:
        word, sep, patterns = spec.partition("=")
        if not sep or not word or not patterns:
            raise typer.BadParameter(f"{spec!r} is not WORD=FILES (e.g. "
                                     "backward='clips/backward/*.wav')", param_hint="--word")
        if word in words:
            raise typer.BadParameter(f"word {word!r} is given twice", param_hint="--word")
        files = [f for pattern in patterns.split(",") for f in _expand(pattern)]
        if not files:
            raise DataError(f"--word {word}: no files match {patterns!r}")
        words[word] = files
    return words


@user_errors
def convert_command(
    model: str = typer.Argument(..., help="Quantized Keras model file (.h5 or .keras)."),
    output: str = typer.Option(
        None, "-o", "--output", help="Output model file (default: the input with .slm)."
    ),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Convert a quantized Keras model to a spikelearn model file and print its summary.

    Example: ``spikelearn convert kws.h5 -o kws.slm``
    """
    from spikelearn.converter import convert
    from spikelearn.summary import summary, summary_rows

    source = Path(model)
    if not source.is_file():
        raise FileNotFoundError(f"no such Keras model file: {model}")
    report = Report(json_output, quiet)
    engine_model = convert(source)
    if not json_output:
        summary(engine_model, report.console)
    destination = Path(output) if output else source.with_suffix(".slm")
    engine_model.save(destination)
    report.json({"output": str(destination), "layers": summary_rows(engine_model)})
    if not json_output:
        typer.echo(f"wrote {destination}")


@user_errors
def summary_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Print the layer table of a spikelearn model file (and its class names).

    Example: ``spikelearn summary kws.slm``
    """
    from spikelearn.summary import summary, summary_rows

    engine = load_model(model)
    report = Report(json_output, quiet=False)
    report.json({"layers": summary_rows(engine), "num_classes": engine.num_classes,
                 "class_names": engine.class_names})
    if not json_output:
        summary(engine, report.console)
        if engine.class_names:
            report.console.print(f"classes: {', '.join(engine.class_names)}", highlight=False)


@user_errors
def evaluate_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    data: str = typer.Option(..., "--data", "-d", help=(
        "Labelled data: an .npz with 'x' (or 'features') uint8 (n, 49, 10, 1) and 'y' (or "
        "'labels'), optionally 'words' naming the labels; or a folder of <word>/<clip>.wav "
        "mapped to the model's class names.")),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Print the accuracy of a model on labelled data, overall and per class.

    Example: ``spikelearn evaluate kws.slm --data test.npz``
    """
    engine = load_model(model)
    report = Report(json_output, quiet)
    x, y = _labelled_features(Path(data), engine, report)
    scores, maxima = class_scores(engine, x, report)
    predicted = argmax_or_abstain(scores, tie_break=maxima)
    rows = []
    for label in np.unique(y):
        hits = predicted[y == label] == label
        rows.append({"class": int(label), "name": _class_name(engine, int(label)),
                     "samples": int(hits.size), "accuracy": float(hits.mean())})
    accuracy = float(np.mean(predicted == y)) if len(y) else 0.0
    report.json({"accuracy": accuracy, "samples": len(y), "per_class": rows})
    table = Table(title=f"{Path(model).name} on {Path(data).name}")
    for column in ("class", "name", "samples", "accuracy"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in rows:
        table.add_row(str(row["class"]), row["name"] or "-", str(row["samples"]),
                      f"{100 * row['accuracy']:.2f} %")
    report.table(table)
    report.line(f"accuracy {100 * accuracy:.2f} % on {len(y)} samples")


@user_errors
def predict_command(
    model: Annotated[str, typer.Argument(help="spikelearn model file (.slm).")],
    clips: Annotated[list[str], typer.Argument(
        help="16 kHz mono 16-bit WAV files (about 1 s).")],
    top_k: int = typer.Option(1, "--top-k", "-k", min=1, help="Also list the k best classes."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Print the predicted class (its word when the model has class names) of each clip.

    The score is the class's best neuron output (or the mean of its ``score_neurons`` best, as
    the model was compiled, with its ``new_class_bonus`` for the words learned after compile).
    Shorter clips are zero-padded, longer ones trimmed to 1 s.

    Example: ``spikelearn predict kws.slm yes.wav no.wav --top-k 3``
    """
    engine = load_model(model)
    report = Report(json_output, quiet)
    paths = [Path(clip) for clip in clips]
    scores, maxima = class_scores(engine, featurize_files(paths, report), report)
    k = min(top_k, scores.shape[1])
    results = []
    for path, row, row_maxima in zip(paths, scores, maxima, strict=True):
        best = np.lexsort((-row_maxima, -row))[:k]  # as Model.predict_classes orders them
        results.append({"clip": str(path), "class": int(best[0]),
                        "name": _class_name(engine, int(best[0])), "score": float(row[best[0]]),
                        "top_k": [{"class": int(c), "name": _class_name(engine, int(c)),
                                   "score": float(row[c])} for c in best]})
    report.json(results)
    table = Table(title=f"{Path(model).name} predictions")
    for column in ("clip", "class", "name", "score") + ((f"top {k}",) if k > 1 else ()):
        table.add_column(column, justify="right" if column in ("class", "score") else "left")
    for result in results:
        cells = [result["clip"], str(result["class"]), result["name"] or "-",
                 f"{result['score']:.4g}"]
        if k > 1:
            cells.append(", ".join(f"{c['name'] or c['class']} ({c['score']:.4g})"
                                   for c in result["top_k"]))
        table.add_row(*cells)
    report.table(table)


@user_errors
def learn_command(
    model: Annotated[str, typer.Argument(
        help="spikelearn model file (.slm) with a compiled last layer.")],
    word: Annotated[list[str], typer.Option("--word", "-w", help=(
        "WORD=FILES: a new word and its 16 kHz mono WAV clips, as a glob pattern (quote it), "
        "a folder or comma-separated paths. Repeat for each word."))],
    shots_augment: int = typer.Option(40, "--shots-augment", min=0,
                                      help="Augmented variants per clip (0: the clips only)."),
    seed: int = typer.Option(0, help="Seed of the augmentation and of the sample order."),
    output: str = typer.Option(..., "-o", "--output", help="Model file to write."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Learn new words on the device: add one class per word and learn it from a few clips.

    The class names (the label map) are saved in the output model, so that ``predict`` and
    ``evaluate`` speak words. Unnamed earlier classes are named class_<index>.

    Example: ``spikelearn learn kws.slm --word backward='clips/backward/*.wav'
    --word follow='clips/follow/*.wav' -o learned.slm``
    """
    from spikelearn.few_shot import learn_words

    words = _parse_words(word)
    engine = load_model(model)
    old = engine.num_classes
    if old is None:
        raise NotCompiledError(f"{model}: the last layer is not compiled for learning; compile "
                               "it with Model.compile(Competitive(...)) and save it first")
    taken = sorted(set(words) & set(engine.class_names or []))
    if taken:  # checked before reading any clip
        raise ValueError(f"{taken} already name classes of {model}; choose new words")
    report = Report(json_output, quiet)
    clips = [np.stack([read_clip(path) for path in paths]) for paths in words.values()]
    with report.status("augmenting, MFCC and learning on the device..."):
        result = learn_words(engine, clips, names=list(words), augmentations=shots_augment,
                             seed=seed)
    engine.save(output)
    rows = [{"word": name, "class": label, "clips": len(paths),
             "samples": len(paths) * max(shots_augment, 1)}
            for (name, paths), label in zip(words.items(), result.labels, strict=True)]
    report.json({"words": rows, "num_samples": result.num_samples,
                 "featurize_seconds": result.featurize_seconds,
                 "fit_seconds": result.fit_seconds, "output": output})
    table = Table(title="new words")
    for column in ("word", "class", "clips", "samples"):
        table.add_column(column, justify="left" if column == "word" else "right")
    for row in rows:
        table.add_row(row["word"], str(row["class"]), str(row["clips"]), str(row["samples"]))
    report.table(table)
    report.line(f"learned {result.num_samples} samples in {1000 * result.fit_seconds:.1f} ms "
                f"(+ {1000 * result.featurize_seconds:.0f} ms augmentation and MFCC); "
                f"wrote {output}")
