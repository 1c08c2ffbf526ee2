"""Synthetic speakers for the espeak-ng corpus and their speaker-disjoint splits.

A speaker is a fixed combination of

- an English dialect voice of espeak-ng (:data:`DIALECTS`),
- a voice variant (:data:`VARIANTS`, from ``espeak-ng --voices=variant``; gender in
  :data:`VARIANT_GENDER`),
- a speaking rate (words per minute) and a base pitch (espeak-ng 0..99),
- a "colouring": a spectral tilt plus one peaking-EQ band, as a microphone or
  room would add.

Speakers are spread evenly over dialects and variants (each is a shuffled round
robin), so any 36+ speakers cover every dialect several times.
"""

import numpy as np

#: English dialect voices of espeak-ng (formant synthesis, no mbrola needed).
DIALECTS = (
    "en-us",
    "en-us-nyc",
    "en",
    "en-gb-x-rp",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)

#: Voice variants (``+name``) and their gender as listed by ``espeak-ng --voices=variant``.
VARIANT_GENDER = {
    "m1": "M", "m2": "M", "m3": "M", "m4": "M", "m5": "M", "m6": "M", "m7": "M", "m8": "M",
    "klatt": "M", "klatt2": "M", "klatt3": "M", "klatt4": "M",
    "adam": "M", "Alex": "M", "Andy": "M", "benjamin": "M", "david": "M",
    "ed": "M", "edward": "M", "john": "M", "Lee": "M", "max": "M", "Michael": "M",
    "Mike": "M", "norbert": "M", "paul": "M", "quincy": "M", "rob": "M", "robert": "M",
    "shelby": "M", "travis": "M", "victor": "M", "grandpa": "M", "croak": "M",
    "whisper": "M",
    "f1": "F", "f2": "F", "f3": "F", "f4": "F", "f5": "F", "Alicia": "F", "Andrea": "F",
    "Annie": "F", "aunty": "F", "belinda": "F", "linda": "F", "steph": "F", "steph2": "F",
    "steph3": "F", "anika": "F", "grandma": "F", "whisperf": "F",
}  # fmt: skip
VARIANTS = tuple(VARIANT_GENDER)

#: Names of the three splits, in the order of the ``split`` codes 0, 1, 2.
SPLITS = ("train", "validation", "test")


def make_speakers(num_speakers, seed):
    """Draw a table of distinct synthetic speakers.

    Parameters
    ----------
    num_speakers : int
    seed : int

    Returns
    -------
    list of dict
        One JSON-serialisable dict per speaker with keys ``id``, ``dialect``,
        ``variant``, ``gender``, ``voice`` (the espeak-ng ``-v`` argument), ``speed``
        (words per minute), ``pitch`` (0..99), ``tilt_db`` (dB per octave above 500 Hz),
        ``eq_hz``, ``eq_db``, ``eq_octaves`` (peaking band centre, gain, width).
    """
    rng = np.random.default_rng([seed, 0x5BEA])
    dialects = _round_robin(rng, DIALECTS, num_speakers)
    variants = _round_robin(rng, VARIANTS, num_speakers)
    speakers = []
    for i in range(num_speakers):
        variant = variants[i]
        pitch_centre = 55 if VARIANT_GENDER[variant] == "F" else 45
        speakers.append(
            {
                "id": i,
                "dialect": dialects[i],
                "variant": variant,
                "gender": VARIANT_GENDER[variant],
                "voice": f"{dialects[i]}+{variant}",
                "speed": int(rng.integers(120, 211)),
                "pitch": int(np.clip(rng.normal(pitch_centre, 12), 10, 90)),
                "tilt_db": round(float(rng.uniform(-3.0, 2.0)), 2),
                "eq_hz": round(float(np.exp(rng.uniform(np.log(300), np.log(4000)))), 1),
                "eq_db": round(float(rng.uniform(-6.0, 8.0)), 2),
                "eq_octaves": round(float(rng.uniform(0.5, 2.0)), 2),
            }
        )
    return speakers


def _round_robin(rng, values, n):
    """``n`` values cycling through ``values``, each cycle freshly shuffled."""
    cycles = -(-n // len(values))
    return [values[j] for _ in range(cycles) for j in rng.permutation(len(values))][:n]


def assign_splits(speakers, seed, fractions=(0.8, 0.1, 0.1)):
    """Assign every speaker to exactly one split, balanced over dialects.

    Speakers are shuffled within each dialect and the dialect groups interleaved; the
    test split takes the first ``round(fractions[2] * n)`` speakers of that order, the
    validation split the next ``round(fractions[1] * n)`` (each at least one), and the
    train split the rest. Every dialect therefore appears in every split once there
    are a few speakers per dialect; the variants of each split are listed by
    :meth:`Corpus.split_summary`.

    Parameters
    ----------
    speakers : list of dict
        As returned by :func:`make_speakers`.
    seed : int
    fractions : tuple of 3 floats, optional
        Train, validation and test shares (they must sum to 1).

    Returns
    -------
    numpy.ndarray, int8, shape (num_speakers,)
        Split code per speaker: 0 train, 1 validation, 2 test (see :data:`SPLITS`).
    """
    n = len(speakers)
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"split fractions must be 3 non-negative shares summing to 1, got {fractions}"
        )
    if n < 3:
        raise ValueError(f"need at least 3 speakers for 3 disjoint splits, got {n}")
    rng = np.random.default_rng([seed, 0x5B117])
    groups = {}
    for s in speakers:
        groups.setdefault(s["dialect"], []).append(s["id"])
    queues = [list(rng.permutation(ids)) for _, ids in sorted(groups.items())]
    order = []
    while any(queues):
        for q in queues:
            if q:
                order.append(q.pop())
    n_test = max(1, round(fractions[2] * n))
    n_val = max(1, round(fractions[1] * n))
    codes = np.zeros(n, np.int8)
    codes[np.asarray(order[:n_test], dtype=int)] = 2
    codes[np.asarray(order[n_test : n_test + n_val], dtype=int)] = 1
    return codes
