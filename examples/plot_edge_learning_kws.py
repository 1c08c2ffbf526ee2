"""
Edge learning for keyword spotting
==================================

The full flow of the reference edge-learning tutorial with the zoo model: a keyword spotter
that knows 33 classes learns three new words on the device from a few utterances of one
speaker, without forgetting the old ones.

The pretrained ``ds_cnn_kws`` engine and its held-out demo data ship with the package, so
this runs offline, without TensorFlow.
"""

# %%
# The pretrained model
# --------------------
# :func:`spikelearn.zoo.load` returns the integer engine: a DS-CNN feature extractor whose
# last convolution emits one binary spike per channel (64 channels), followed by a 1-bit
# learning layer with 15 neurons for each of the 33 known classes.
import matplotlib.pyplot as plt
import numpy as np

from spikelearn import zoo
from spikelearn.datasets import extract_features
from spikelearn.few_shot import learn_words

model = zoo.load("ds_cnn_kws")
info = zoo.info("ds_cnn_kws")
model.summary()
print("classes:", model.num_classes, "| known words:", ", ".join(info["words"]))
print("new words to learn:", ", ".join(info["new_words"]))

# %%
# The demo data are features of speakers the model never heard (``old_features``, 150 per
# known class) and raw audio of the three new words, 10 utterances each by three speakers.
demo = zoo.load_demo_data("ds_cnn_kws")
old_x, old_y = demo["old_features"], demo["old_labels"]
audio, new_labels, speakers = demo["new_audio"], demo["new_labels"], demo["new_speakers"]
print("old-class test features:", old_x.shape, old_x.dtype)
print("new-word audio:", audio.shape, "speakers:", np.unique(speakers).tolist())

accuracy_before = model.evaluate(old_x, old_y)
print(f"accuracy on the 33 known classes: {accuracy_before:.1%}")

# %%
# What the engine sees
# --------------------
# Audio becomes 49 x 10 uint8 MFCC levels (:func:`spikelearn.datasets.extract_features`);
# the feature extractor turns them into 64 binary spikes, which are all the learning layer
# ever sees (``model.forward(x, until=-2)`` is the output of the layer before the last one).
new_features = extract_features(audio)
examples = [int(np.flatnonzero(new_labels == word)[0]) for word in range(3)]
spikes = model.forward(new_features[examples], until=-2).reshape(3, -1)

fig, axes = plt.subplots(2, 3, figsize=(9, 4.8), layout="constrained",
                         gridspec_kw={"height_ratios": [3, 1]})
for column, index in enumerate(examples):
    word = info["new_words"][new_labels[index]]
    axes[0, column].imshow(new_features[index, :, :, 0].T, aspect="auto", origin="lower",
                           cmap="magma")
    axes[0, column].set_title(f"'{word}': MFCC levels (uint8)")
    axes[0, column].set_xlabel("frame (20 ms)")
    axes[0, column].set_ylabel("coefficient")
    axes[1, column].imshow(spikes[column][None, :], aspect="auto", cmap="Greys",
                           vmin=0, vmax=1)
    axes[1, column].set_yticks([])
    axes[1, column].set_xlabel(f"channel ({spikes[column].sum()} of 64 spike)")
plt.show()

# %%
# Learning three new words
# ------------------------
# The learner speaks each new word four times. :func:`spikelearn.few_shot.learn_words`
# augments each utterance 40 times (shift, noise, speed), computes the MFCC features, adds
# one class per word with :meth:`~spikelearn.Model.add_classes` and learns them with
# :meth:`~spikelearn.Model.fit`: integer counts and moves of binary connections only.
shots, learner = 4, int(np.unique(speakers)[0])
train_rows = [np.flatnonzero((speakers == learner) & (new_labels == word))[:shots]
              for word in range(3)]
result = learn_words(model, [audio[rows] for rows in train_rows], augmentations=40, seed=0)
print(f"learned {result.num_samples} samples in {result.fit_seconds * 1000:.0f} ms "
      f"(+ {result.featurize_seconds:.1f} s augmentation and MFCC); "
      f"new classes {result.labels}")

# %%
# Scoring: the new words are tested on the learner's other utterances and on two speakers
# the model has never heard; the old classes on the same held-out features as before.
predicted = model.predict_classes(new_features)
truth = new_labels + 33
used = np.zeros(len(truth), bool)
used[np.concatenate(train_rows)] = True
same = (speakers == learner) & ~used
other = speakers != learner
accuracy_after = model.evaluate(old_x, old_y)
for what, rows in (("same speaker, unseen utterances", same), ("other speakers", other)):
    print(f"new words, {what}: {np.mean(predicted[rows] == truth[rows]):.1%}")
print(f"known classes before / after: {accuracy_before:.1%} / {accuracy_after:.1%}")

# %%
# The confusion matrix of the new words (every test utterance): the last column collects
# utterances that went to one of the 33 old classes.
columns = [*info["new_words"], "an old class"]
confusion = np.zeros((3, 4), int)
for true_class, guess in zip(truth[~used], predicted[~used], strict=True):
    confusion[true_class - 33, guess - 33 if guess >= 33 else 3] += 1

fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
ax.imshow(confusion, cmap="Blues")
ax.set_xticks(range(4), columns, rotation=15)
ax.set_yticks(range(3), info["new_words"])
ax.set_xlabel("predicted")
ax.set_ylabel("spoken")
for (row, column), count in np.ndenumerate(confusion):
    ax.text(column, row, count, ha="center", va="center",
            color="white" if count > confusion.max() / 2 else "black")
ax.set_title(f"New words after {shots} utterances of speaker {learner}")
plt.show()

# %%
# How many utterances are needed?
# -------------------------------
# The same session from a fresh copy of the zoo model, for 1 to 6 utterances per word, with
# each of the three demo speakers as the learner in turn. Accuracy is measured on the other
# two speakers (never heard) and on the 33 known classes. Learning never touches the old
# classes' neurons, so their accuracy stays flat.
shot_counts = (1, 2, 4, 6)
new_curve, old_curve = [], []
for count in shot_counts:
    new_scores, old_scores = [], []
    for speaker in np.unique(speakers):
        fresh = zoo.load("ds_cnn_kws")
        rows = [np.flatnonzero((speakers == speaker) & (new_labels == word))[:count]
                for word in range(3)]
        learn_words(fresh, [audio[r] for r in rows], augmentations=20, seed=int(speaker))
        others = speakers != speaker
        guess = fresh.predict_classes(new_features[others])
        new_scores.append(np.mean(guess == truth[others]))
        old_scores.append(fresh.evaluate(old_x, old_y))
    new_curve.append(np.mean(new_scores))
    old_curve.append(np.mean(old_scores))

fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
ax.plot(shot_counts, np.array(new_curve) * 100, "o-", label="new words, unseen speakers")
ax.plot(shot_counts, np.array(old_curve) * 100, "s--", label="33 known classes")
ax.axhline(100 / 36, color="grey", lw=0.8, ls=":", label="chance (36 classes)")
ax.set_xlabel("utterances per new word (x 20 augmentations)")
ax.set_ylabel("accuracy (%)")
ax.set_ylim(0, 100)
ax.legend(loc="center right")
ax.set_title("Few-shot learning on the device")
plt.show()

# %%
# Saving the learned model
# ------------------------
# The model file holds the learning state too, so a model saved on the device and loaded
# elsewhere predicts the same and continues learning exactly where it stopped.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import spikelearn  # noqa: E402

with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "kws_learned.slm"
    model.save(path)
    reloaded = spikelearn.Model(path)
    print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB, {reloaded.num_classes} classes")
    print("same predictions:", np.array_equal(reloaded.predict_classes(new_features), predicted))
