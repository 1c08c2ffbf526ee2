"""The ``listen`` command: keyword spotting in a long recording or from a microphone."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from spikelearn.cli._common import Report, load_model, user_errors
from spikelearn.streaming import SMOOTHING_S, THRESHOLD


@user_errors
def listen_command(
    audio: str = typer.Argument(None, help="16 kHz 16-bit PCM WAV file of any length "
                                            "(omit with --microphone)."),
    model: str = typer.Option(None, "--model", "-m",
                              help="spikelearn model file (default: the zoo ds_cnn_kws)."),
    threshold: float = typer.Option(THRESHOLD, min=0.0, max=1.0,
                                    help="Smoothed posterior that triggers a detection."),
    smoothing: float = typer.Option(SMOOTHING_S, min=0.0,
                                    help="Seconds of posteriors averaged."),
    refractory: float = typer.Option(1.0, min=0.0, help="Seconds of silence after a detection."),
    microphone: bool = typer.Option(False, "--microphone",
                                    help="Listen to the default input device (needs the "
                                         "optional sounddevice package)."),
    seconds: float = typer.Option(None, min=0.1, help="With --microphone: stop after this "
                                                      "many seconds (default: Ctrl-C)."),
    device: str = typer.Option(None, help="With --microphone: input device name or index."),
    json_output: bool = typer.Option(False, "--json", help="Print the detections as JSON "
                                                           "(with --microphone: one line each)."),
) -> None:
    """Spot keywords in a long recording or live from a microphone, 20 ms at a time.

    Example: ``spikelearn listen meeting.wav --threshold 0.8``
    """
    from spikelearn import zoo
    from spikelearn.streaming import listen_file, listen_microphone

    if microphone == (audio is not None):
        raise ValueError("give either an audio file or --microphone")
    if not microphone and (seconds is not None or device is not None):
        raise ValueError("--seconds and --device go with --microphone")
    engine_model = load_model(model) if model else zoo.load("ds_cnn_kws")
    report = Report(json_output, quiet=False)
    options = dict(threshold=threshold, smoothing=smoothing, refractory_s=refractory)
    if microphone:
        device = int(device) if device is not None and device.isdigit() else device
        report.note("listening (Ctrl-C to stop)")
        count = 0
        try:
            for d in listen_microphone(engine_model, seconds=seconds, device=device, **options):
                count += 1
                if json_output:
                    typer.echo(json.dumps(d.to_dict()))
                report.line(f"{d.time_s:8.2f} s  {d.word}  ({d.score:.2f})")
        except KeyboardInterrupt:
            pass
        report.line(f"{count} detections")
        return
    detections = listen_file(engine_model, audio, **options)
    report.json([d.to_dict() for d in detections])
    table = Table(title=f"Keywords in {Path(audio).name}")
    for column in ("start (s)", "word", "score", "detected at (s)"):
        table.add_column(column, justify="left" if column == "word" else "right")
    for d in detections:
        table.add_row(f"{d.time_s:.2f}", d.word, f"{d.score:.2f}", f"{d.detected_s:.2f}")
    report.table(table)
    report.line(f"{len(detections)} detections")
