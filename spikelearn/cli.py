"""The ``spikelearn`` command line (typer + rich).

Results print as rich tables on standard output; ``--json`` prints them as JSON instead;
progress bars and notes go to standard error and ``--quiet`` hides them.

Exit codes: 0 success, 1 user error (a message, no traceback unless ``--debug``),
2 usage error (bad option or argument).
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

import spikelearn
from spikelearn.errors import DataError, MissingDependencyError, NotCompiledError, SpikelearnError

if TYPE_CHECKING:
    from rich.progress import Progress

    from spikelearn.datasets import Corpus
    from spikelearn.model import Model

app = typer.Typer(
    name="spikelearn",
    help="Convert quantized Keras models to a spiking integer engine that learns on the device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Make or download keyword-spotting datasets.", no_args_is_help=True)
zoo_app = typer.Typer(help="The model zoo: list, inspect and retrain pretrained models.",
                      no_args_is_help=True)
app.add_typer(data_app, name="data")
app.add_typer(zoo_app, name="zoo")

err_console = Console(stderr=True)

#: Errors that are the user's to fix: printed as one line, exit code 1.
USER_ERRORS = (SpikelearnError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)

#: Clips turned into features (and samples scored) per progress-bar step.
CHUNK = 256

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on standard output.")
QUIET_OPTION = typer.Option(False, "--quiet", "-q",
                            help="No progress bars or notes (standard error); only the result.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spikelearn {spikelearn.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
) -> None:
    """spikelearn: open neuromorphic edge learning.

    Example: ``spikelearn --version``
    """
    ctx.obj = {"debug": debug}


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a command so that user errors print a message and exit with code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            ctx = click_context()
            if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
                raise
            err_console.print(f"[bold red]error:[/] {error}", highlight=False, markup=True)
            raise typer.Exit(code=1) from None

    return wrapper


def click_context() -> Any:
    """The active click context, or None outside a command."""
    try:
        import click
    except ImportError:  # typer >= 0.20 vendors click as typer._click
        from typer._click import globals as click

    return click.get_current_context(silent=True)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


# -- shared helpers ---------------------------------------------------------------------------
class Report:
    """Where a command writes: rich tables (stdout), notes and progress (stderr), or JSON.

    Parameters
    ----------
    json_output : bool
        Print only :meth:`json` documents on stdout (no tables, no notes).
    quiet : bool
        Hide notes and progress bars.
    """

    def __init__(self, json_output: bool, quiet: bool):
        self.json_output = json_output
        self.quiet = quiet
        width = None if sys.stdout.isatty() else 120
        self.console = Console(quiet=json_output, width=width)

    def table(self, table: Table) -> None:
        """Print a result table (not with ``--json``)."""
        self.console.print(table)

    def line(self, message: str) -> None:
        """Print a result line on stdout (not with ``--json``)."""
        self.console.print(message, highlight=False)

    def note(self, message: str) -> None:
        """Print a note on stderr (not with ``--quiet`` or ``--json``)."""
        if not (self.quiet or self.json_output):
            err_console.print(message, highlight=False)

    def json(self, document: Any) -> None:
        """Print ``document`` as JSON on stdout (only with ``--json``)."""
        if self.json_output:
            typer.echo(json.dumps(document, indent=2, default=_json_default))

    @property
    def show_progress(self) -> bool:
        """Whether progress bars show (not with ``--quiet`` or ``--json``: the library bars
        print on stdout)."""
        return not (self.quiet or self.json_output)

    def status(self, message: str) -> contextlib.AbstractContextManager:
        """A spinner with ``message`` on stderr while the block runs (as :meth:`progress`)."""
        if self.show_progress and err_console.is_terminal:
            return err_console.status(message)
        return contextlib.nullcontext()

    def progress(self) -> Progress:
        """A rich progress display on stderr (see :attr:`show_progress`; terminals only)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=err_console,
                        disable=not (self.show_progress and err_console.is_terminal),
                        transient=True)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def load_model(path: str) -> Model:
    """Load a ``.slm`` model file (a missing path or a folder is a clear user error)."""
    from spikelearn.model import Model

    if not Path(path).is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return Model(path)


def read_clip(path: str | Path) -> np.ndarray:
    """Read one 16 kHz mono 16-bit WAV file as a 1 s clip.

    Shorter recordings are zero-padded at the end, longer ones trimmed to 1 s.

    Returns
    -------
    numpy.ndarray, float32, shape (16000,)

    Raises
    ------
    DataError
        Missing file, not a 16-bit PCM WAV file, not mono, or not 16 kHz.
    """
    from spikelearn.datasets import SAMPLE_RATE, fit_length, load_wav

    try:
        with open(path, "rb") as file:
            riff = file.read(12)
    except OSError as error:
        raise DataError(f"cannot read audio file {path}: {error.strerror}") from None
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise DataError(f"{path} is not a WAV file (no RIFF/WAVE header)")
    audio, rate = load_wav(path)
    if audio.ndim != 1:
        raise DataError(f"{path}: {audio.shape[1]} channels; clips must be mono (mix down to "
                        "one channel first)")
    if rate != SAMPLE_RATE:
        raise DataError(f"{path}: sample rate {rate} Hz; clips must be {SAMPLE_RATE} Hz "
                        "(resample first)")
    return fit_length(audio)


def featurize(count: int, clips: Callable[[int, int], np.ndarray], report: Report,
              description: str) -> np.ndarray:
    """MFCC features of ``count`` clips, ``clips(start, stop)`` giving float32 (k, 16000).

    Returns
    -------
    numpy.ndarray, uint8, shape (count, 49, 10, 1)
    """
    from spikelearn.datasets import FEATURE_SHAPE, extract_features

    out = np.empty((count, *FEATURE_SHAPE), np.uint8)
    with report.progress() as progress:
        task = progress.add_task(description, total=count)
        for start in range(0, count, CHUNK):
            stop = min(start + CHUNK, count)
            out[start:stop] = extract_features(clips(start, stop))
            progress.advance(task, stop - start)
    return out


def featurize_files(paths: Sequence[Path], report: Report) -> np.ndarray:
    """MFCC features of WAV files (see :func:`read_clip`), uint8 (n, 49, 10, 1)."""
    return featurize(len(paths), lambda a, b: np.stack([read_clip(p) for p in paths[a:b]]),
                     report, "reading audio, MFCC")


def class_scores(model: Model, x: np.ndarray, report: Report) -> np.ndarray:
    """:meth:`Model.class_scores` in chunks with a progress bar; float32 (n, classes)."""
    scores = []
    with report.progress() as progress:
        task = progress.add_task("running the engine", total=len(x))
        for start in range(0, len(x), 4 * CHUNK):
            scores.append(model.class_scores(x[start:start + 4 * CHUNK]))
            progress.advance(task, len(scores[-1]))
    return np.concatenate(scores) if scores else np.zeros((0, _num_classes(model)), np.float32)


def _num_classes(model: Model) -> int:
    return model.num_classes or int(np.prod(model.output_shape))


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


def _save_features(corpus: Corpus, path: str, report: Report) -> None:
    """Write ``x`` (MFCC features), ``y``, ``words``, ``speakers``, ``split`` to an .npz."""
    x = featurize(len(corpus), lambda a, b: corpus.audio[a:b], report, "MFCC features")
    with open(path, "wb") as file:
        np.savez_compressed(file, x=x, y=corpus.labels, words=np.array(corpus.words),
                            speakers=corpus.speakers, split=corpus.split.astype(str))


def _corpus_report(corpus: Corpus, output: str | None, report: Report, title: str) -> None:
    splits = corpus.split_summary()
    table = Table(title=title)
    for column in ("split", "clips", "speakers"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for name, row in splits.items():
        table.add_row(name, str(row["clips"]), str(row["speakers"]))
    report.table(table)
    report.line(f"{len(corpus)} clips of {len(corpus.words)} classes: {', '.join(corpus.words)}")
    report.json({"clips": len(corpus), "words": list(corpus.words),
                 "splits": {name: {"clips": row["clips"], "speakers": row["speakers"]}
                            for name, row in splits.items()},
                 "output": output})
    if output:
        report.line(f"wrote {output}")


# -- model commands ---------------------------------------------------------------------------
@app.command("convert")
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


@app.command("summary")
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


@app.command("evaluate")
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
    predicted = class_scores(engine, x, report).argmax(axis=1)
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


@app.command("predict")
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

    The score is the class's best neuron output. Shorter clips are zero-padded, longer ones
    trimmed to 1 s.

    Example: ``spikelearn predict kws.slm yes.wav no.wav --top-k 3``
    """
    engine = load_model(model)
    report = Report(json_output, quiet)
    paths = [Path(clip) for clip in clips]
    scores = class_scores(engine, featurize_files(paths, report), report)
    k = min(top_k, scores.shape[1])
    results = []
    for path, row in zip(paths, scores, strict=True):
        best = np.argsort(-row, kind="stable")[:k]
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


@app.command("learn")
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
    names = (engine.class_names or [])[:old]
    names += [f"class_{index}" for index in range(len(names), old)]
    taken = sorted(set(words) & set(names))
    if taken:
        raise ValueError(f"{taken} already name classes of {model}; choose new words")
    report = Report(json_output, quiet)
    clips = [np.stack([read_clip(path) for path in paths]) for paths in words.values()]
    with report.status("augmenting, MFCC and learning on the device..."):
        result = learn_words(engine, clips, augmentations=shots_augment, seed=seed)
    engine.class_names = names + list(words)
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


@app.command("demo")
@user_errors
def demo_command(
    shots: int = typer.Option(4, min=1, help="Utterances of each new word to learn from."),
    augmentations: int = typer.Option(40, min=0, help="Augmented variants per utterance."),
    speaker: int = typer.Option(None, help="Learner speaker id (default: the first)."),
    seed: int = typer.Option(0, help="Seed of the augmentation."),
    plot: str = typer.Option(None, help="Save the new-word confusion matrix to this image."),
    json_output: bool = JSON_OPTION,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the result table."),
) -> None:
    """Learn three new keywords on the pretrained zoo model and report accuracy.

    The shipped ds_cnn_kws engine scores its 33 preset classes on held-out speakers, then
    learns 'backward', 'follow' and 'forward' from a few utterances of one speaker and is
    scored again on old and new words. Offline: no download, no TensorFlow.

    Example: ``spikelearn demo --shots 4 --plot confusion.png``
    """
    from spikelearn import zoo
    from spikelearn.demo import plot_confusion, run_demo

    console = Console(quiet=json_output)
    if not quiet:
        model = zoo.load("ds_cnn_kws")
        console.print(f"[bold]ds_cnn_kws[/]: {zoo.MODELS['ds_cnn_kws']}")
        if not json_output:
            model.summary()
    with console.status("learning the new words on the device..."):
        figures = run_demo(shots=shots, augmentations=augmentations, speaker=speaker, seed=seed)
    if plot:
        plot_confusion(figures, plot)
    if json_output:
        typer.echo(json.dumps(figures, indent=2))
        return
    table = Table(title=f"Edge learning of {', '.join(figures['new_words'])} "
                        f"({shots} utterances x {augmentations} augmentations, "
                        f"speaker {figures['speaker']})")
    table.add_column("what")
    table.add_column("accuracy", justify="right")
    table.add_column("samples", justify="right")
    table.add_row("old classes, before", f"{100 * figures['old_accuracy_before']:.2f} %",
                  str(figures["old_test_samples"]))
    table.add_row("old classes, after", f"{100 * figures['old_accuracy_after']:.2f} %",
                  str(figures["old_test_samples"]))
    table.add_row("new words, same speaker", f"{100 * figures['new_accuracy_same_speaker']:.2f} %",
                  str(figures["new_test_same_speaker"]))
    table.add_row("new words, other speakers",
                  f"{100 * figures['new_accuracy_other_speakers']:.2f} %",
                  str(figures["new_test_other_speakers"]))
    console.print(table)
    console.print(f"learned {figures['num_samples']} samples in "
                  f"{1000 * figures['learn_seconds']:.1f} ms "
                  f"(+ {1000 * figures['featurize_seconds']:.0f} ms augmentation and MFCC)")
    if plot:
        console.print(f"wrote {plot}")


# -- data commands ----------------------------------------------------------------------------
class Split(StrEnum):
    """A speaker-disjoint split."""

    train = "train"
    validation = "validation"
    test = "test"


class Mode(StrEnum):
    """Speech Commands class set."""

    twelve = "12"
    all = "35"


CACHE_OPTION = typer.Option(None, "--cache-dir", help=(
    "Data folder (default: $SPIKELEARN_DATA or the user cache, e.g. ~/.cache/spikelearn)."))


@data_app.command("synth")
@user_errors
def synth_command(
    speakers: int = typer.Option(300, "--speakers", min=3, help="Synthetic speakers."),
    repetitions: int = typer.Option(2, "--repetitions", min=1, help="Clips per speaker and word."),
    seed: int = typer.Option(0, help="Seed of everything random."),
    words: Annotated[list[str] | None, typer.Option("--words", help=(
        "Words to speak (repeat or comma-separate; '_silence_' gives noise-only clips). "
        "Default: the 35 Speech Commands words and _silence_."))] = None,
    split: Annotated[Split | None, typer.Option(help="Write only this split to -o.")] = None,
    output: str = typer.Option(None, "-o", "--output", help=(
        "Also write MFCC features to this .npz (x, y, words, speakers, split), for "
        "'spikelearn evaluate --data'.")),
    cache_dir: str = CACHE_OPTION,
    workers: int = typer.Option(None, min=1, help="Worker processes (default: all CPUs)."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Make (or load from the cache) the synthetic espeak-ng keyword corpus.

    Needs the espeak-ng program. The corpus is cached under the data folder keyed by every
    setting, so a second run is instant.

    Example: ``spikelearn data synth --speakers 30 --repetitions 1 --split test -o test.npz``
    """
    from spikelearn.datasets import DEFAULT_WORDS, make_corpus

    report = Report(json_output, quiet)
    chosen = [w for item in words for w in item.split(",") if w] if words else DEFAULT_WORDS
    corpus = make_corpus(speakers, repetitions, seed, words=chosen, cache_dir=cache_dir,
                         workers=workers, progress=report.show_progress)
    if split is not None:
        corpus = corpus.get_split(split.value)
    if output:
        _save_features(corpus, output, report)
    _corpus_report(corpus, output, report, "synthetic corpus")


@data_app.command("speech-commands")
@user_errors
def speech_commands_command(
    mode: Annotated[Mode, typer.Option(help="12 classes (10 words, _silence_, _unknown_) or "
                                            "all 35 words.")] = Mode.twelve,
    split: Annotated[Split, typer.Option(help="Split to load (and write with -o).")] = Split.test,
    url: str = typer.Option(None, help="Archive URL (default: the official v0.02 archive)."),
    sha256: str = typer.Option(None, help="SHA-256 of the archive (needed with --url)."),
    seed: int = typer.Option(0, help="Seed of the _silence_ windows and _unknown_ subsample."),
    output: str = typer.Option(None, "-o", "--output", help=(
        "Also write MFCC features of the split to this .npz (x, y, words, speakers, split).")),
    cache_dir: str = CACHE_OPTION,
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Download (once, about 2.3 GB, checksum verified) and load Google Speech Commands v0.02.

    Example: ``spikelearn data speech-commands --mode 12 --split test -o sc_test.npz``
    """
    from spikelearn.datasets import fetch_speech_commands, load_speech_commands

    report = Report(json_output, quiet)
    root = fetch_speech_commands(url=url, sha256=sha256, cache_dir=cache_dir,
                                 progress=report.show_progress)
    report.note(f"Speech Commands in {root}")
    corpus = load_speech_commands(split.value, mode.value, seed=seed, cache_dir=cache_dir,
                                  progress=report.show_progress)
    if output:
        _save_features(corpus, output, report)
    _corpus_report(corpus, output, report, f"Speech Commands v0.02 ({mode.value} classes)")


# -- zoo commands -----------------------------------------------------------------------------
def _flatten(document: dict, prefix: str = "") -> list[tuple[str, str]]:
    rows = []
    for key, value in document.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            rows.append((prefix + key, ", ".join(map(str, value))))
        else:
            rows.append((prefix + key, str(value)))
    return rows


def _key_value_table(title: str, document: dict) -> Table:
    table = Table(title=title)
    table.add_column("key", no_wrap=True)
    table.add_column("value")
    for key, value in _flatten(document):
        table.add_row(key, value)
    return table


@zoo_app.command("list")
@user_errors
def zoo_list_command(json_output: bool = JSON_OPTION) -> None:
    """List the zoo models and whether their pretrained files are installed.

    Example: ``spikelearn zoo list``
    """
    from spikelearn import zoo

    rows = [{"name": name, "description": zoo.MODELS[name],
             "installed": (zoo.PRETRAINED_DIR / f"{name}.slm").is_file()}
            for name in zoo.list_models()]
    report = Report(json_output, quiet=False)
    report.json(rows)
    table = Table(title="spikelearn model zoo")
    for column in ("name", "installed", "description"):
        table.add_column(column, no_wrap=column == "name")
    for row in rows:
        table.add_row(row["name"], "yes" if row["installed"] else "no", row["description"])
    report.table(table)


@zoo_app.command("info")
@user_errors
def zoo_info_command(
    name: str = typer.Argument(..., help="Zoo model name (see 'spikelearn zoo list')."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Print how a zoo model was made: recipe settings, words and measured figures.

    Example: ``spikelearn zoo info ds_cnn_kws``
    """
    from spikelearn import zoo

    document = zoo.info(name)
    report = Report(json_output, quiet=False)
    report.json(document)
    report.table(_key_value_table(f"{name}: {zoo.MODELS[name]}", document))


@zoo_app.command("train")
@user_errors
def zoo_train_command(
    name: str = typer.Argument(..., help="Zoo model name (see 'spikelearn zoo list')."),
    output: str = typer.Option(None, "-o", "--output",
                               help="Folder for the model files (default: ./NAME)."),
    speakers: int = typer.Option(None, "--speakers", min=3,
                                 help="Synthetic speakers (default 300)."),
    repetitions: int = typer.Option(None, min=1, help="Clips per speaker and word (default 2)."),
    float_epochs: int = typer.Option(None, min=1, help="Float training epochs (default 24)."),
    qat_epochs: int = typer.Option(None, min=1, help="Quantization-aware epochs (default 8)."),
    seed: int = typer.Option(None, help="Seed of the corpus and the training (default 0)."),
    cache_dir: str = CACHE_OPTION,
    workers: int = typer.Option(None, min=1, help="Corpus worker processes (default: all CPUs)."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Retrain a zoo model with its recipe (needs TensorFlow and espeak-ng; the defaults take
    about ten minutes on 16 cores).

    Writes NAME.h5 (quantized Keras), NAME.slm (engine), NAME.json (figures) and
    NAME_demo.npz into the output folder.

    Example: ``spikelearn zoo train ds_cnn_kws -o my_zoo --speakers 60 --float-epochs 8``
    """
    from spikelearn import zoo

    if name not in zoo.MODELS:
        raise ValueError(f"unknown zoo model {name!r}; available: {', '.join(zoo.list_models())}")
    if importlib.util.find_spec("tensorflow") is None:
        raise MissingDependencyError("'zoo train' needs TensorFlow; install it with "
                                     "pip install 'spikelearn[keras]'")
    from spikelearn.zoo.training import RecipeConfig, train

    settings = {"num_speakers": speakers, "repetitions": repetitions,
                "float_epochs": float_epochs, "qat_epochs": qat_epochs, "seed": seed}
    config = RecipeConfig(**{key: value for key, value in settings.items() if value is not None})
    report = Report(json_output, quiet)
    out_dir = Path(output or name)
    started = time.perf_counter()
    figures = train(out_dir, config, cache_dir=cache_dir, workers=workers,
                    progress=report.show_progress)
    report.json({"output": str(out_dir), "figures": figures})
    report.table(_key_value_table(f"{name} trained in {time.perf_counter() - started:.0f} s "
                                  f"-> {out_dir}", {"accuracy": figures.get("accuracy", {})}))


@app.command("cost")
@user_errors
def cost_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    data: str = typer.Option(..., "--data", "-d", help=(
        "Representative inputs: an .npz with 'x' (or 'features') uint8 of the model's input "
        "shape; labels are not needed.")),
    profile: str = typer.Option("accelerator-22nm", "--profile", "-p", help=(
        "Device profile: accelerator-22nm or cortex-m4 (see spikelearn.energy).")),
    rate: float = typer.Option(50.0, "--rate", help="Inferences per second (50: 20 ms hops)."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Estimate energy per inference and average power from the engine's own statistics.

    Example: ``spikelearn cost kws.slm --data test.npz --profile cortex-m4 --rate 50``
    """
    from spikelearn.energy import estimate, get_profile
    from spikelearn.export import footprint

    engine = load_model(model)
    device = get_profile(profile)
    path = Path(data)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {data}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x = arrays["x"] if "x" in arrays.files else arrays.get("features")
    except (OSError, ValueError, AttributeError) as error:
        raise DataError(f"{path} is not an .npz file of features ({error})") from None
    if x is None:
        raise DataError(f"{path} needs an array 'x' (or 'features')")
    report = Report(json_output, quiet)
    result = estimate(engine, engine.statistics(engine.check_input(x)), device, rate=rate)
    result["footprint"] = footprint(engine)
    report.json(result)
    table = Table(title=f"{Path(model).name} on {device.name}, {len(x)} inputs, {rate:g}/s")
    for column in ("layer", "synaptic ops", "ops pJ", "memory pJ", "neuron pJ", "total nJ"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    for name, values in result["layers"].items():
        table.add_row(name, f"{values['synaptic_ops']:,.0f}", f"{values['ops_pj']:,.0f}",
                      f"{values['memory_pj']:,.0f}", f"{values['neuron_pj']:,.0f}",
                      f"{values['total_pj'] / 1e3:,.2f}")
    report.table(table)
    report.line(f"{result['energy_per_inference_nj']:,.1f} nJ per inference, "
                f"{result['average_power_uw']:,.2f} uW average at {rate:g} inferences/s "
                f"(static {result['static_uw']:.3f} uW); estimate, see 'spikelearn.energy'")


@app.command("export")
@user_errors
def export_command(
    model: str = typer.Argument(..., help="spikelearn model file (.slm)."),
    c_dir: str = typer.Option(..., "--c", help="Folder for the C99 export (slm_model.h/.c)."),
    extra_classes: int = typer.Option(8, "--extra-classes", min=0, help=(
        "Classes slm_add_class may add on the device (sizes the RAM state).")),
    harness: bool = typer.Option(False, "--harness", help="Also write the test harness C file."),
    json_output: bool = JSON_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """Export a model to dependency-free C99 and print its flash and RAM footprint.

    Example: ``spikelearn export kws.slm --c out/``
    """
    from spikelearn.export import export_c

    result = export_c(load_model(model), c_dir, extra_classes=extra_classes, harness=harness)
    report = Report(json_output, quiet)
    files = [str(result[key]) for key in ("header", "source", "harness") if key in result]
    report.json({"files": files, "footprint": result["footprint"]})
    flash, ram = result["footprint"]["flash"], result["footprint"]["ram"]
    report.table(_key_value_table(f"C export of {Path(model).name}", {
        "flash bytes": {key: flash[key] for key in ("weights", "biases_thresholds", "learning",
                                                    "total")},
        "RAM bytes": {key: ram[key] for key in ("activations", "learning_state", "total")}}))
    report.line(f"wrote {', '.join(files)}")


@app.command("listen")
@user_errors
def listen_command(
    audio: str = typer.Argument(..., help="16 kHz 16-bit PCM WAV file of any length."),
    model: str = typer.Option(None, "--model", "-m",
                              help="spikelearn model file (default: the zoo ds_cnn_kws)."),
    threshold: float = typer.Option(0.8, min=0.0, max=1.0,
                                    help="Smoothed posterior that triggers a detection."),
    smoothing: float = typer.Option(0.3, min=0.0, help="Seconds of posteriors averaged."),
    refractory: float = typer.Option(1.0, min=0.0, help="Seconds of silence after a detection."),
    json_output: bool = typer.Option(False, "--json", help="Print the detections as JSON."),
) -> None:
    """Spot keywords in a long recording, streamed 20 ms at a time.

    Example: ``spikelearn listen meeting.wav --threshold 0.8``
    """
    from spikelearn import zoo
    from spikelearn.streaming import listen_file

    engine_model = load_model(model) if model else zoo.load("ds_cnn_kws")
    report = Report(json_output, quiet=False)
    detections = listen_file(engine_model, audio, threshold=threshold, smoothing=smoothing,
                             refractory_s=refractory)
    report.json([d.to_dict() for d in detections])
    table = Table(title=f"Keywords in {Path(audio).name}")
    for column in ("start (s)", "word", "score", "detected at (s)"):
        table.add_column(column, justify="left" if column == "word" else "right")
    for d in detections:
        table.add_row(f"{d.time_s:.2f}", d.word, f"{d.score:.2f}", f"{d.detected_s:.2f}")
    report.table(table)
    report.line(f"{len(detections)} detections")
