"""
Spotting keywords in a continuous stream
========================================

A deployed keyword spotter is not handed neatly cut one-second clips: it listens to a stream
and says which keyword it heard, and when. Here the zoo model first learns three new words
on the device from four utterances of one speaker, then listens, 20 ms at a time, to two
minutes of background noise in which that speaker, and then two others, say these words at
random times.

The stream runs on the same integer engine; each hop recomputes only the rows of each layer
that the newest audio frame reaches. Everything comes with the package: this runs offline,
without TensorFlow.
"""

# %%
# Three new words, learned on the device
# --------------------------------------
# As in :doc:`plot_edge_learning_kws`: :func:`spikelearn.few_shot.learn_words` adds one
# class per word and learns it from four utterances of the first demo speaker.
import matplotlib.pyplot as plt
import numpy as np

from spikelearn import zoo
from spikelearn.datasets import Corpus
from spikelearn.datasets.long_recordings import make_long_recording, score_detections
from spikelearn.few_shot import learn_words
from spikelearn.streaming import FrameExtractor, Stream

model = zoo.load("ds_cnn_kws")
new_words = zoo.info("ds_cnn_kws")["new_words"]
demo = zoo.load_demo_data("ds_cnn_kws")
audio, labels, speakers = demo["new_audio"], demo["new_labels"], demo["new_speakers"]
learner = int(np.unique(speakers)[0])
shots = [np.flatnonzero((speakers == learner) & (labels == word))[:4] for word in range(3)]
learn_words(model, [audio[rows] for rows in shots], names=new_words, seed=0)
print("classes:", model.num_classes, "| the last three:", model.class_names[-3:])

# %%
# A long recording
# ----------------
# :func:`~spikelearn.datasets.long_recordings.make_long_recording` cuts each word out of its
# clip (the demo set records where the word lies in it) and places it at a random time over
# background noise whose kind and level change every 10 s. The first recording holds the
# learner's six other utterances of each word (never learned from), made into a small
# :class:`~spikelearn.datasets.Corpus`; the second one those of the two other speakers.


def recording_of(rows, seed):
    """Two minutes of background with the words of the demo clips ``rows``."""
    corpus = Corpus(audio=audio[rows], labels=labels[rows], words=list(new_words),
                    speakers=speakers[rows], split=np.full(rows.size, "test"),
                    clip_info={"offset": demo["new_offsets"][rows],
                               "length": demo["new_lengths"][rows]})
    return make_long_recording(corpus, duration_s=120.0, seed=seed)


learned = np.concatenate(shots)
same_voice = recording_of(np.setdiff1d(np.flatnonzero(speakers == learner), learned), seed=0)
other_voices = recording_of(np.flatnonzero(speakers != learner), seed=1)
print(f"{same_voice.duration_s:.0f} s, {len(same_voice.words)} keywords:",
      ", ".join(f"{w} at {t:.1f} s" for w, t in zip(same_voice.words[:4],
                                                     same_voice.starts[:4], strict=True)),
      "...")

# %%
# Listening
# ---------
# :class:`~spikelearn.streaming.Stream` takes audio in chunks of any length (here 0.5 s, as
# from a microphone) and returns the keywords detected in them: a detection when a class's
# posterior, averaged over 0.5 s, reaches 0.8, then one second of silence.
# :func:`~spikelearn.datasets.long_recordings.score_detections` counts a hit when the word is
# right and its estimated start is within 0.5 s of the true one.
stream = Stream(model)
detections = []
for start in range(0, same_voice.audio.size, 8000):
    detections += stream.push(same_voice.audio[start:start + 8000])
for detection in detections[:6]:
    print(f"{detection.time_s:6.2f} s  {detection.word:<9} posterior {detection.score:.2f}")
scores = score_detections(detections, same_voice)
print(f"the learner's voice: detected {scores['hits']} of {scores['keywords']} keywords "
      f"({scores['detection_rate']:.1%}), false alarms: {scores['false_alarms']}, "
      f"median latency {scores['latency_s']:.2f} s after the word's end")

# %%
# Four utterances of one speaker teach the words to that speaker's voice much better than
# to others' (as for clips in :doc:`plot_edge_learning_kws`). With other voices a lower
# threshold finds more of the words, for more false alarms:
for threshold in (0.8, 0.6, 0.5):
    found = score_detections(Stream(model, threshold=threshold).push(other_voices.audio),
                             other_voices)
    print(f"other voices, threshold {threshold}: detected {found['hits']} of "
          f"{found['keywords']} ({found['detection_rate']:.1%}), "
          f"false alarms: {found['false_alarms']}")

# %%
# The posteriors the decisions come from, for the first 30 s of the learner's recording:
# shaded spans are the spoken keywords (coloured by word), dots the detections at the time
# they were made.
probe = Stream(model)
outputs = probe.network.push(FrameExtractor().push(same_voice.audio[:16000 * 30]))
smoothed = probe.smooth(probe.posteriors(probe.scores(outputs)))
first = probe.network.frames_seen - len(outputs)
times = ((first + np.arange(len(smoothed))) * 320 + 480) / 16000
colours = dict(zip(new_words, ("tab:blue", "tab:orange", "tab:green"), strict=True))

fig, ax = plt.subplots(figsize=(9, 3.2), layout="constrained")
for word, begin, end in zip(same_voice.words, same_voice.starts, same_voice.ends, strict=True):
    if begin < 30:
        ax.axvspan(begin, end, color=colours[word], alpha=0.25, lw=0)
for word in new_words:
    ax.plot(times, smoothed[:, model.class_names.index(word)], color=colours[word], label=word)
old_words = [model.class_names.index(w) for w in model.class_names
             if w not in new_words and w != "_silence_"]
ax.plot(times, smoothed[:, old_words].max(axis=1), color="0.6", lw=0.8,
        label="best old word")
for detection in detections:
    if detection.detected_s < 30:
        ax.plot(detection.detected_s, detection.score, "o", ms=5,
                color=colours.get(detection.word, "black"))
ax.axhline(stream.threshold, color="black", lw=0.6, ls="--")
ax.set(xlabel="time (s)", ylabel="smoothed posterior", xlim=(0, 30), ylim=(0, 1.18))
ax.legend(loc="upper right", ncols=4, fontsize=8)
plt.show()

# %%
# What a hop costs
# ----------------
# Re-running the network on the whole last second every 20 ms would cost every layer's
# multiply-accumulates 50 times a second. The stream keeps every layer's output for the
# window and recomputes only the rows that the new frame reaches:
full = sum(layer.macs() for layer in model.layers)
print(f"per hop: {stream.network.hop_macs():,} multiply-accumulates, "
      f"{stream.network.hop_macs() / full:.1%} of the full window's {full:,}")
for name, fraction in stream.network.hop_fractions().items():
    print(f"  {name:<14} {fraction:6.1%} of its rows")
