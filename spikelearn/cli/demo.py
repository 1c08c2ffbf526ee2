"""The ``demo`` command: edge learning of new words on the pretrained zoo model."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from spikelearn.cli._common import JSON_OPTION, user_errors


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
