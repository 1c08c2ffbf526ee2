"""
Sparsity and cost
=================

What the zoo keyword spotter costs per inference: how many of each layer's outputs are
zero, how many synaptic operations an event-driven engine performs compared with the dense
multiply-accumulates of a conventional one, and how many bits the model needs.
All figures come from one pass of :meth:`spikelearn.Model.statistics` over held-out data and
from the model's layer table.
"""

# %%
# One pass, all the counts
# ------------------------
import matplotlib.pyplot as plt
import numpy as np

import spikelearn
from spikelearn import zoo
from spikelearn.summary import summary_rows

model = zoo.load("ds_cnn_kws")
x = zoo.load_demo_data("ds_cnn_kws")["old_features"]
stats = model.statistics(x)
names = list(stats["layers"])
for name, layer in stats["layers"].items():
    print(f"{name:>14}: output sparsity {layer['output_sparsity']:6.1%}, "
          f"synaptic ops {layer['synaptic_ops']:>9,.0f}, dense MACs {layer['dense_macs']:>9,}")
print(f"spikes into the learning layer per sample: {stats['avg_spikes_to_last_layer']:.1f}")
print(f"total: {stats['synaptic_ops']:,.0f} synaptic ops vs {stats['dense_macs']:,} dense MACs "
      f"({stats['synaptic_ops'] / stats['dense_macs']:.0%})")

# %%
# Sparsity per layer
# ------------------
# The fraction of zero activation levels at each layer's output (4-bit levels in the
# convolutions, binary spikes out of ``separable_4``). Zeros are events that never happen:
# an event-driven engine skips them. :func:`spikelearn.evaluate_sparsity` returns the same
# output figures on their own.
output_sparsity = [stats["layers"][n]["output_sparsity"] for n in names[:-1]]
assert np.allclose(output_sparsity,
                   [spikelearn.evaluate_sparsity(model, x)[n] for n in names[:-1]])
fig, ax = plt.subplots(figsize=(6.5, 3.4), layout="constrained")
bars = ax.bar(names[:-1], np.array(output_sparsity) * 100, color="tab:green")
ax.bar_label(bars, fmt="%.0f %%")
ax.set_ylabel("zero outputs (%)")
ax.set_ylim(0, 100)
ax.set_title("Output sparsity of the feature extractor")
plt.show()

# %%
# Synaptic operations versus dense MACs
# -------------------------------------
# A dense engine multiplies every weight by every input. An event-driven engine does one
# operation per weight an input *event* (a nonzero level) meets. In a separable layer the
# depthwise part is counted per event and the pointwise part per window that holds at least
# one event, so a 3x3 window over a half-silent map is still mostly active: the saving is
# largest where the input is sparse and has no spatial extent, as in the learning layer,
# whose 64 inputs carry about 23 spikes. (The dense MACs of the input layer also count the
# zero padding at the edges, which events never reach.)
synaptic = np.array([stats["layers"][n]["synaptic_ops"] for n in names])
dense = np.array([stats["layers"][n]["dense_macs"] for n in names])
positions = np.arange(len(names))
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
ax.bar(positions - 0.2, dense / 1e3, 0.4, label="dense MACs")
ax.bar(positions + 0.2, synaptic / 1e3, 0.4, label="synaptic operations (events)")
for position, ratio in zip(positions, synaptic / dense, strict=True):
    ax.text(position + 0.2, synaptic[position] / 1e3, f"{ratio:.0%}", ha="center",
            va="bottom", fontsize=8)
ax.set_xticks(positions, names, rotation=20)
ax.set_ylabel("thousands per sample")
ax.set_ylim(0, dense.max() / 1e3 * 1.25)
ax.set_title("Operations per inference (label: events / dense)")
ax.legend(ncol=2, loc="upper left")
plt.show()

# %%
# Model size in kbit
# ------------------
# Weights are stored at their bit width (8 bits for the input convolution, 4 for the
# separable ones, 1 for the learning layer); biases and thresholds at 32 bits. The same
# network in float32 would need 32 bits per parameter.
rows = summary_rows(model)
layers, total = rows[:-1], rows[-1]
memory = [row["memory (kbit)"] for row in layers]
float32 = [row["parameters"] * 32 / 1000 for row in layers]
for row in layers:
    print(f"{row['layer']:>32}: {row['parameters']:>6,} parameters, "
          f"{row['weight bits']} bits -> {row['memory (kbit)']:6.1f} kbit")
print(f"{'total':>32}: {total['memory (kbit)']:.1f} kbit = "
      f"{total['memory (kbit)'] * 1000 / 8 / 1024:.1f} KiB "
      f"(float32: {sum(float32):.0f} kbit)")

fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.barh(positions + 0.2, float32, 0.4, label="float32", color="lightgrey")
ax.barh(positions - 0.2, memory, 0.4, label="spikelearn", color="tab:blue")
ax.set_yticks(positions, names)
ax.invert_yaxis()
ax.set_xlabel("kbit")
ax.set_title(f"Model size: {total['memory (kbit)']:.0f} kbit "
             f"(float32 {sum(float32):.0f} kbit)")
ax.legend(loc="upper right")
plt.show()

# %%
# Cost of the learning layer
# --------------------------
# The learning layer holds ``inputs x units`` one-bit connections; its cost per inference is
# one operation per connection an input spike meets. Both grow linearly with the neurons
# per class (15 in the zoo model), while the feature extractor stays fixed.
spikes_in = stats["avg_spikes_to_last_layer"]
num_classes, inputs = model.num_classes, 64
neurons = np.array([1, 2, 5, 10, 15, 30])
kbit = inputs * num_classes * neurons / 1000
ops = num_classes * neurons * spikes_in
fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
ax.plot(neurons, kbit, "o-", label="connection memory (kbit)")
ax.plot(neurons, ops / 1000, "s-", label="synaptic ops per sample (thousands)")
ax.set_xlabel(f"neurons per class ({num_classes} classes)")
ax.legend()
ax.set_title("Learning layer cost")
plt.show()
