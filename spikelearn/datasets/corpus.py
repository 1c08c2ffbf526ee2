"""The in-memory audio dataset returned by the corpus builders and loaders."""

from dataclasses import dataclass, field

import numpy as np

from spikelearn.datasets.speakers import SPLITS


@dataclass
class Corpus:
    """Labelled one-second clips with speakers and speaker-disjoint splits.

    Attributes
    ----------
    audio : numpy.ndarray, float32, shape (n, 16000)
        Mono clips at 16 kHz in ``[-1, 1]``.
    labels : numpy.ndarray, int64, shape (n,)
        Index of each clip's word in :attr:`words`.
    words : list of str
        Class names (``"_silence_"`` / ``"_unknown_"`` where present).
    speakers : numpy.ndarray, int64, shape (n,)
        Row of :attr:`speaker_table` that spoke the clip.
    split : numpy.ndarray, str, shape (n,)
        ``"train"``, ``"validation"`` or ``"test"``; no speaker is in two splits.
    speaker_table : list of dict
        One dict per speaker (for the synthetic corpus: dialect, variant, gender, ...).
    manifest : dict
        How the corpus was made (seed, parameters, tool versions, ...).
    clip_info : dict of str -> numpy.ndarray, shape (n,)
        Optional per-clip details. The synthetic corpus has ``noise_kind`` (index into
        :data:`spikelearn.datasets.NOISE_KINDS`), ``snr_db`` (NaN for ``_silence_``),
        ``offset`` (first sample of the word; -1 for ``_silence_``) and ``length`` (samples
        of the spoken word from ``offset`` on, its trimmed speech synthesis; 0 for
        ``_silence_``).
    """

    audio: np.ndarray
    labels: np.ndarray
    words: list
    speakers: np.ndarray
    split: np.ndarray
    speaker_table: list = field(default_factory=list)
    manifest: dict = field(default_factory=dict)
    clip_info: dict = field(default_factory=dict)

    def __len__(self):
        return int(self.labels.shape[0])

    def __repr__(self):
        counts = {s: int(np.sum(self.split == s)) for s in SPLITS}
        return (
            f"Corpus({len(self)} clips, {len(self.words)} classes, "
            f"{len(self.speaker_table)} speakers, splits {counts})"
        )

    def subset(self, mask):
        """Return the clips selected by a boolean mask or index array (a new Corpus)."""
        return Corpus(
            audio=self.audio[mask],
            labels=self.labels[mask],
            words=list(self.words),
            speakers=self.speakers[mask],
            split=self.split[mask],
            speaker_table=self.speaker_table,
            manifest=self.manifest,
            clip_info={k: v[mask] for k, v in self.clip_info.items()},
        )

    def get_split(self, name):
        """Return the clips of one split.

        Parameters
        ----------
        name : {"train", "validation", "test"}

        Returns
        -------
        Corpus
        """
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return self.subset(self.split == name)

    def speaker_attribute(self, key):
        """Per-clip value of a speaker-table column, e.g. ``"dialect"`` or ``"variant"``.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Use it to report results per group, e.g.
            ``acc[corpus.speaker_attribute("dialect") == "en-029"]``.
        """
        column = np.asarray([s[key] for s in self.speaker_table])
        return column[self.speakers]

    def split_summary(self):
        """Speakers and groups in each split.

        Returns
        -------
        dict
            ``{split: {"clips": int, "speakers": int, "<column>": {value: speakers}}}`` for
            the ``dialect``, ``variant`` and ``gender`` columns of the speaker table when
            present.
        """
        return summarize_splits(self.speakers, self.split, self.speaker_table)


def summarize_splits(speakers, split, speaker_table):
    """Clips, speakers and speaker groups per split (see :meth:`Corpus.split_summary`)."""
    summary = {}
    for name in SPLITS:
        ids = np.unique(speakers[split == name])
        entry = {"clips": int(np.sum(split == name)), "speakers": int(ids.size)}
        for key in ("dialect", "variant", "gender"):
            values = [speaker_table[i][key] for i in ids if key in speaker_table[i]]
            if values:
                uniq, counts = np.unique(values, return_counts=True)
                entry[key] = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
        summary[name] = entry
    return summary
