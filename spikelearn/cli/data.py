"""The ``data`` commands: make or download keyword-spotting datasets."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table

from spikelearn.cli._common import (
    CACHE_OPTION,
    JSON_OPTION,
    QUIET_OPTION,
    Report,
    featurize,
    user_errors,
)

if TYPE_CHECKING:
    from spikelearn.datasets import Corpus

data_app = typer.Typer(help="Make or download keyword-spotting datasets.", no_args_is_help=True)


class Split(StrEnum):
    """A speaker-disjoint split."""

    train = "train"
    validation = "validation"
    test = "test"


class Mode(StrEnum):
    """Speech Commands class set."""

    twelve = "12"
    all = "35"


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
