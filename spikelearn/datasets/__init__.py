"""Data for keyword spotting: corpora, MFCC features, augmentation.

Audio convention: a batch of clips is ``float32 (n, 16000)``, one second of mono audio
at 16 kHz in ``[-1, 1]``. Features for the engine are ``uint8 (n, 49, 10, 1)``.
"""

from spikelearn.datasets._cache import data_dir
from spikelearn.datasets.audio import (
    CLIP_SAMPLES,
    SAMPLE_RATE,
    check_clips,
    fit_length,
    load_wav,
    save_wav,
)
from spikelearn.datasets.augment import augment
from spikelearn.datasets.corpus import Corpus
from spikelearn.datasets.features import (
    FEATURE_SHAPE,
    MFCC_OFFSET,
    MFCC_SCALE,
    dequantize_mfcc,
    extract_features,
    mfcc,
    quantize_mfcc,
)
from spikelearn.datasets.noise import NOISE_KINDS, make_noise, mix_at_snr
from spikelearn.datasets.resample import resample
from spikelearn.datasets.speakers import DIALECTS, SPLITS, VARIANTS
from spikelearn.datasets.speech_commands import (
    WORDS_12,
    fetch_speech_commands,
    load_background_noise,
    load_speech_commands,
)
from spikelearn.datasets.synthetic import (
    DEFAULT_WORDS,
    SILENCE,
    SPEECH_COMMANDS_WORDS,
    make_corpus,
)

__all__ = [
    "CLIP_SAMPLES",
    "DEFAULT_WORDS",
    "DIALECTS",
    "FEATURE_SHAPE",
    "MFCC_OFFSET",
    "MFCC_SCALE",
    "NOISE_KINDS",
    "SAMPLE_RATE",
    "SILENCE",
    "SPEECH_COMMANDS_WORDS",
    "SPLITS",
    "VARIANTS",
    "WORDS_12",
    "Corpus",
    "augment",
    "check_clips",
    "data_dir",
    "dequantize_mfcc",
    "extract_features",
    "fetch_speech_commands",
    "fit_length",
    "load_background_noise",
    "load_speech_commands",
    "load_wav",
    "make_corpus",
    "make_noise",
    "mfcc",
    "mix_at_snr",
    "quantize_mfcc",
    "resample",
    "save_wav",
]
