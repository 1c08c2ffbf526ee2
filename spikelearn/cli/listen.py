"""The ``listen`` command: keyword spotting in a long recording."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from spikelearn.cli._common import Report, load_model, user_errors


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
