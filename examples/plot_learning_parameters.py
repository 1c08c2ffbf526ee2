"""
Choosing the learning parameters
================================

How the three main choices of the learning layer change accuracy: neurons per class,
``num_weights`` (connections per neuron) and ``learning_competition``. The inputs are the
binary spikes of the zoo model's feature extractor on speakers it never heard
(``model.forward(x, until=-2)``); a fresh learning layer learns the 33 known words from a
few samples per class and is scored on the rest. See :doc:`/user_guide/learning` for what
each parameter does.
"""

# %%
# Spikes from the feature extractor
# ---------------------------------
# The learning layer only ever sees these 64 binary inputs per sample. A small engine model,
# ``InputData`` (1-bit) followed by a 1-bit ``FullyConnected`` layer, is all we need to learn
# from them directly, which makes each experiment take milliseconds.
import matplotlib.pyplot as plt
import numpy as np

from spikelearn import Competitive, FullyConnected, InputData, Model, zoo
from spikelearn.learning import choose_num_weights, learning_histogram

extractor = zoo.load("ds_cnn_kws")
demo = zoo.load_demo_data("ds_cnn_kws")
spikes = extractor.forward(demo["old_features"], until=-2)  # uint8 (n, 1, 1, 64), 0 or 1
labels = demo["old_labels"]
num_classes = int(labels.max()) + 1
per_sample = spikes.reshape(len(spikes), -1).sum(axis=1)
print(f"{len(spikes)} samples, {num_classes} classes, spikes per sample: "
      f"mean {per_sample.mean():.1f}, min {per_sample.min()}, max {per_sample.max()} of 64")
default_weights = choose_num_weights(spikes.reshape(len(spikes), -1))
print("choose_num_weights (1.2 x mean):", default_weights)


def split(shots, seed):
    """Indices of ``shots`` training samples per class and of the remaining test samples."""
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:shots]
                            for c in range(num_classes)])
    test = np.setdiff1d(np.arange(len(labels)), train)
    return rng.permutation(train), test


def accuracy(shots, neurons_per_class=5, num_weights=default_weights, learning_competition=0.1,
             seeds=(0, 1, 2)):
    """Mean test accuracy of a fresh learning layer over a few random splits and masks."""
    scores = []
    for seed in seeds:
        train, test = split(shots, seed)
        model = Model([InputData((1, 1, 64), input_bits=1),
                       FullyConnected(num_classes * neurons_per_class, weight_bits=1)])
        model.compile(Competitive(num_weights, num_classes,
                                  learning_competition=learning_competition, seed=seed))
        model.fit(spikes[train], labels[train])
        scores.append(model.evaluate(spikes[test], labels[test]))
    return float(np.mean(scores))


# %%
# Neurons per class
# -----------------
# Each neuron becomes a prototype of one way the word was said. With one neuron per class
# the layer is a nearest-prototype classifier; more neurons let a class cover several
# speakers. With one or two samples per class extra neurons cannot help: they stay
# untrained, yet their random connections still compete at inference, which costs a few
# points. From about ten samples per class a few neurons gain a few points over one, and
# beyond five little changes, while the memory and operations of the layer grow linearly
# with the number of neurons.
shot_counts = (1, 2, 5, 10, 20, 40)
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
for neurons in (1, 2, 5, 15):
    curve = [accuracy(shots, neurons_per_class=neurons) for shots in shot_counts]
    ax.plot(shot_counts, np.array(curve) * 100, "o-", label=f"{neurons} neurons / class")
ax.set_xscale("log")
ax.set_xticks(shot_counts, [str(s) for s in shot_counts])
ax.set_xlabel("training samples per class")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"33 words, learning layer only (num_weights={default_weights})")
ax.legend()
plt.show()

# %%
# ``num_weights``
# ---------------
# The number of connections per neuron, relative to the number of spikes per sample
# (about 23 here). A neuron's potential cannot exceed ``num_weights``; connections beyond
# the spikes of the pattern it learned cannot find an active input and stay random. The
# best values sit around the mean spike count, where ``choose_num_weights`` (1.2 x the
# mean) lands.
weight_counts = (4, 8, 12, 16, 20, 27, 34, 44, 56)
fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
for shots in (5, 20):
    curve = [accuracy(shots, num_weights=count) for count in weight_counts]
    ax.plot(weight_counts, np.array(curve) * 100, "o-", label=f"{shots} samples / class")
ax.axvline(per_sample.mean(), color="grey", ls=":", label="mean spikes per sample")
ax.axvline(default_weights, color="k", ls="--", lw=0.8, label="choose_num_weights")
ax.set_xlabel("num_weights (connections per neuron, of 64 inputs)")
ax.set_ylabel("test accuracy (%)")
ax.set_title("5 neurons per class")
ax.legend()
plt.show()

# %%
# ``learning_competition``
# ------------------------
# It caps the vigilance of a learned neuron. At 0 a neuron only re-learns inputs more
# similar than its last one, so the samples spread over many neurons of the class; at 1 the
# best-matching neuron absorbs everything (winner-take-all). The right panel counts the
# neurons per class that learned at least once.
competitions = (0.0, 0.1, 0.3, 0.5, 0.75, 1.0)
train, test = split(20, seed=0)
scores, used = [], []
for competition in competitions:
    scores.append(accuracy(20, neurons_per_class=15, learning_competition=competition))
    model = Model([InputData((1, 1, 64), input_bits=1),
                   FullyConnected(num_classes * 15, weight_bits=1)])
    model.compile(Competitive(default_weights, num_classes, learning_competition=competition,
                              seed=0))
    model.fit(spikes[train], labels[train])
    used.append(learning_histogram(model).mean())

fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.4), layout="constrained")
left.plot(competitions, np.array(scores) * 100, "o-")
left.set_xlabel("learning_competition")
left.set_ylabel("test accuracy (%)")
left.set_title("20 samples / class, 15 neurons / class")
right.bar([str(c) for c in competitions], used, color="tab:orange")
right.set_xlabel("learning_competition")
right.set_ylabel("learned neurons per class (of 15)")
plt.show()

# %%
# Summary
# -------
# - ``num_weights``: measure the spikes and take ``choose_num_weights(spikes)``; the
#   optimum is broad around the mean spike count.
# - Neurons per class: match them to the samples a class will see; a few are enough, and
#   untrained neurons cost a little accuracy. The learning layer's memory is
#   ``inputs x units`` bits.
# - ``learning_competition``: 0 to 0.3 spreads the samples over the class's neurons;
#   values near 1 collapse each class onto one or two neurons.
