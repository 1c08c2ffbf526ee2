"""Data-pipeline throughput: synthetic corpus generation and MFCC featurization.

Usage::

    python benchmarks/data.py                 # 300 speakers x 35 words x 2 (measured for real)
    python benchmarks/data.py --speakers 30   # a subset; the full time is extrapolated

Generation always starts from an empty temporary cache, so it is measured, not loaded.
Prints a rich table and writes ``benchmarks/results/data.json``.
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from spikelearn.datasets import SPEECH_COMMANDS_WORDS, extract_features, make_corpus, mfcc
from spikelearn.datasets.tts import espeak_version

FULL = (300, 2, len(SPEECH_COMMANDS_WORDS) + 1)  # speakers, repetitions, classes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speakers", type=int, default=FULL[0])
    parser.add_argument("--repetitions", type=int, default=FULL[1])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "data.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        corpus = make_corpus(
            args.speakers, args.repetitions, seed=0, cache_dir=tmp, workers=args.workers
        )
        generation_s = time.perf_counter() - start
    n_clips = len(corpus)
    clips_per_s = n_clips / generation_s
    full_clips = FULL[0] * FULL[1] * FULL[2]
    measured_full = (args.speakers, args.repetitions) == FULL[:2]
    full_s = generation_s if measured_full else full_clips / clips_per_s

    audio = corpus.audio[: min(n_clips, 4000)]
    timings = {}
    for name, fn in (("mfcc_float", mfcc), ("features_uint8", extract_features)):
        best = float("inf")
        for _ in range(3):  # best of 3: the machine is shared
            start = time.perf_counter()
            fn(audio)
            best = min(best, time.perf_counter() - start)
        timings[name] = audio.shape[0] / best

    result = {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "espeak_ng": espeak_version(),
        },
        "generation": {
            "speakers": args.speakers,
            "repetitions": args.repetitions,
            "classes": len(corpus.words),
            "workers": args.workers,
            "clips": n_clips,
            "seconds": round(generation_s, 2),
            "clips_per_s": round(clips_per_s, 1),
            "full_corpus_clips": full_clips,
            "full_corpus_seconds": round(full_s, 1),
            "full_corpus_time_is": "measured" if measured_full else "extrapolated",
        },
        "featurization": {
            "clips": int(audio.shape[0]),
            "processes": 1,
            "repeats": "best of 3",
            "mfcc_float_clips_per_s": round(timings["mfcc_float"], 1),
            "features_uint8_clips_per_s": round(timings["features_uint8"], 1),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")

    table = Table(title="spikelearn data pipeline")
    table.add_column("stage")
    table.add_column("measure")
    table.add_column("value", justify="right")
    g = result["generation"]
    table.add_row(
        "corpus",
        f"{n_clips} clips ({args.speakers} spk, {args.workers} workers)",
        f"{generation_s:.1f} s",
    )
    table.add_row("corpus", "throughput", f"{clips_per_s:.0f} clips/s")
    table.add_row(
        "corpus",
        f"300 x 35 words (+silence) x 2 = {full_clips} clips",
        f"{full_s:.0f} s ({g['full_corpus_time_is']})",
    )
    table.add_row("features", "float MFCC (49 x 10)", f"{timings['mfcc_float']:.0f} clips/s")
    table.add_row("features", "uint8 (49, 10, 1)", f"{timings['features_uint8']:.0f} clips/s")
    Console().print(table)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
