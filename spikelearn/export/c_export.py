"""Export a :class:`spikelearn.Model` to dependency-free C99 (no malloc, integer only).

:func:`export_c` writes ``slm_model.h`` (sizes, the state type, the API) and ``slm_model.c``
(the integer weights, biases and thresholds as ``const`` arrays packed at their bit width,
the initial learning state, a layer table and the engine of ``c/slm_engine.c``). Everything
mutable — activations, scratch and the learning state of a compiled last layer (masks,
vigilance, budget, wins, rng counter, and the activity counters of ``rewire="frequent"``) —
lives in a caller-provided ``slm_state_t``; the fixed feature extractor stays in flash. The C
engine is bit-exact with the Python engine and with :class:`spikelearn.learning.Competitive`
(swap selection of both ``rewire`` modes and the seeded masks of ``add_classes`` included).

C API (``slm_model.h``)::

    void slm_init(slm_state_t *state);                        /* load the initial learning state */
    const int32_t *slm_forward(slm_state_t *state, const uint8_t *input);   /* NULL: bad input */
    int32_t slm_predict_class(slm_state_t *state, const uint8_t *input);
    int32_t slm_num_classes(const slm_state_t *state);
    int32_t slm_learn(slm_state_t *state, const uint8_t *sample, int32_t label);
    int32_t slm_add_class(slm_state_t *state);                /* new number of classes */

``input`` is the model input, ``uint8`` in NHWC order (``SLM_INPUT_SIZE`` values). The
output of ``slm_forward`` holds ``SLM_OUTPUT_SIZE`` values (the current ``state->units`` of a
learning model): int32 potentials of a last layer without activation, else its levels.
``slm_learn`` returns the winning neuron, ``SLM_SKIPPED`` (-1, nothing learned) or a negative
``SLM_ERROR_*`` code (state unchanged).

``slm_predict_class`` is :meth:`spikelearn.Model.predict_classes` (without abstaining): class
``c`` owns the outputs ``[c * npc, (c + 1) * npc)``. With ``SLM_SCORE_NEURONS`` = 1 (models
without a compiled learning layer, and rules with ``score_neurons=1``) a class scores its
maximum (times ``output_scale`` when there is one) and the lowest index wins ties. With
``SLM_SCORE_NEURONS`` = k > 1 (the compiled rule's ``score_neurons``, see
:class:`~spikelearn.learning.Competitive`) the engine stays integer-only: it compares the int64
sum of each class's k highest potentials (the same order as Python's means, k being the same
for every class), then on equal sums the class's highest potential, then the lowest index
(exact while the means stay below 2^23 / k in magnitude, where Python's float32 means are
exact). The compiled rule's ``new_class_bonus`` (``SLM_NEW_CLASS_BONUS``) is added to the
score (k = 1) or the sum (k > 1) of every class from ``SLM_BASE_CLASSES`` (the classes at
compile) on, those that ``add_classes`` or ``slm_add_class`` appended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import spikelearn
from spikelearn.learning.competitive import Competitive

#: Folder of the shipped C sources (engine and test harness).
C_DIR = Path(__file__).with_name("c")
#: File names written by :func:`export_c`.
HEADER, SOURCE = "slm_model.h", "slm_model.c"
#: Classes a compiled model can grow by with ``slm_add_class`` unless told otherwise.
DEFAULT_EXTRA_CLASSES = 8

_KINDS = {"InputData": 0, "InputConv2D": 1, "Conv2D": 1, "SeparableConv2D": 2,
          "FullyConnected": 3}
_POOLS = {"none": 0, "max": 1, "global_avg": 2}


@dataclass
class _Array:
    """One ``const`` C array: name, C element type, values (as C literals) and a comment."""

    name: str
    ctype: str
    literals: list[str]
    comment: str
    nbytes: int
    group: str  # footprint group: "weights", "biases_thresholds", "learning", "output_scale"


@dataclass
class _Plan:
    """Everything the generated files need, computed once from the model."""

    layers: list[dict] = field(default_factory=list)
    arrays: list[_Array] = field(default_factory=list)
    defines: dict[str, str] = field(default_factory=dict)
    ram: dict[str, int] = field(default_factory=dict)


def pack_values(values, bits):
    """Pack integers at ``bits`` per value, little-endian within each byte.

    Value ``i`` sits in byte ``i * bits // 8`` at bit ``(i * bits) % 8``; ``bits >= 2`` are two's
    complement, ``bits == 1`` unsigned 0/1.

    Parameters
    ----------
    values : array_like of int, any shape (flattened in C order)
    bits : {1, 2, 4, 8}

    Returns
    -------
    ndarray of uint8, shape (ceil(size * bits / 8),)
    """
    if bits not in (1, 2, 4, 8):
        raise ValueError(f"pack_values: bits must be 1, 2, 4 or 8, got {bits!r}")
    flat = np.asarray(values, np.int64).ravel()
    low, high = (0, 1) if bits == 1 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if flat.size and (flat.min() < low or flat.max() > high):
        raise ValueError(f"pack_values: values must lie in [{low}, {high}] for {bits} bits, got "
                         f"[{flat.min()}, {flat.max()}]")
    per_byte = 8 // bits
    padded = np.zeros(-(-flat.size // per_byte) * per_byte, np.uint8)
    padded[:flat.size] = (flat & (2**bits - 1)).astype(np.uint8)
    shifts = (np.arange(per_byte) * bits).astype(np.uint8)
    return (padded.reshape(-1, per_byte) << shifts).sum(axis=1).astype(np.uint8)


def _learning(model):
    """The Competitive rule and learning layer of a compiled model, else (None, None)."""
    layer = model.get_layer(-1)
    config = layer.config.get("learning")
    if config is None:
        return None, None
    return Competitive.from_config(config), layer


def _plan(model, extra_classes):
    """Lay out arrays, layer descriptors, sizes and RAM of the export of ``model``."""
    if len(model) == 0:
        raise ValueError("export_c: the model has no layers")
    if int(extra_classes) != extra_classes or extra_classes < 0:
        raise ValueError(f"export_c: extra_classes must be an integer >= 0, got "
                         f"{extra_classes!r}")
    rule, learning_layer = _learning(model)
    table = model.layers[:-1] if rule is not None else model.layers
    plan = _Plan()
    feature = {"conv": False, "separable": False, "fc": False, "max": False, "global": False,
               "activated": False}
    act_size = pool_size = acc_size = depth_size = 0
    for index, layer in enumerate(table):
        kind = type(layer).__name__
        if kind not in _KINDS:
            raise ValueError(f"export_c: layer {layer.name!r} of type {kind} is not supported "
                             f"by the C export (supported: {', '.join(sorted(_KINDS))})")
        cfg, var = layer.config, layer.variables
        h, w, c = layer.input_shape
        oh, ow, oc = layer.output_shape
        desc = {"kind": _KINDS[kind], "in": (h, w, c), "out": (oh, ow, oc),
                "activation_bits": cfg.get("activation_bits") or 0, "pool": 0,
                "weight_bits": cfg.get("weight_bits", 0), "conv": (oh, ow), "kernel": (1, 1),
                "stride": (1, 1), "pad": (0, 0), "pool_window": (1, 1), "pool_stride": (1, 1),
                "pool_pad": (0, 0), "weights": None, "pointwise": None, "bias": None,
                "thresholds": None, "name": layer.name, "type": kind}
        if kind == "InputData":
            plan.layers.append(desc)
            continue
        prefix = f"slm_l{index}"
        bits = cfg["weight_bits"]
        what = f"{layer.name} ({kind})"
        if kind == "FullyConnected":
            feature["fc"] = True
            _add(plan, f"{prefix}_weights", var["weights"], bits, what, "weights", "weights")
            desc["weights"] = f"{prefix}_weights"
        else:
            geometry, conv_size = layer._window(layer.input_shape)
            desc.update(conv=conv_size, kernel=tuple(cfg["kernel_size"]),
                        stride=(int(geometry[0]), int(geometry[1])),
                        pad=(int(geometry[2]), int(geometry[3])), pool=_POOLS[cfg["pool"]])
            feature["conv"] = True
            if kind == "SeparableConv2D":
                feature["separable"] = True
                depth_size = max(depth_size, c)
                _add(plan, f"{prefix}_depthwise", var["depthwise"], bits, what, "depthwise",
                     "weights")
                _add(plan, f"{prefix}_pointwise", var["pointwise"], bits, what, "pointwise",
                     "weights")
                desc.update(weights=f"{prefix}_depthwise", pointwise=f"{prefix}_pointwise")
            else:
                _add(plan, f"{prefix}_weights", var["weights"], bits, what, "weights", "weights")
                desc["weights"] = f"{prefix}_weights"
            if cfg["pool"] == "max":
                feature["max"] = True
                pool_geometry, _ = layer._pool_window(conv_size)
                desc.update(pool_window=tuple(cfg["pool_size"]),
                            pool_stride=(int(pool_geometry[0]), int(pool_geometry[1])),
                            pool_pad=(int(pool_geometry[2]), int(pool_geometry[3])))
                pool_size = max(pool_size, conv_size[0] * conv_size[1] * oc)
            feature["global"] |= cfg["pool"] == "global_avg"
        acc_size = max(acc_size, oc)
        _add(plan, f"{prefix}_bias", var["bias"], 32, what, "bias", "biases_thresholds")
        desc["bias"] = f"{prefix}_bias"
        if desc["activation_bits"]:
            feature["activated"] = True
            act_size = max(act_size, oh * ow * oc)
            _add(plan, f"{prefix}_thresholds", var["thresholds"], 32, what, "thresholds",
                 "biases_thresholds")
            desc["thresholds"] = f"{prefix}_thresholds"
        plan.layers.append(desc)

    d = plan.defines
    d.update(SLM_NUM_LAYERS=str(len(table)),
             SLM_INPUT_SIZE=str(int(np.prod(model.input_shape))),
             SLM_HAS_CONV=str(int(feature["conv"])),
             SLM_HAS_SEPARABLE=str(int(feature["separable"])),
             SLM_HAS_FULLY_CONNECTED=str(int(feature["fc"])),
             SLM_HAS_MAX_POOL=str(int(feature["max"])),
             SLM_HAS_GLOBAL_SUM=str(int(feature["global"])),
             SLM_HAS_ACTIVATED=str(int(feature["activated"])),
             SLM_LEVELS_SIZE=str(max(act_size, 1)), SLM_POOL_SIZE=str(max(pool_size, 1)),
             SLM_ACC_SIZE=str(max(acc_size, 1)), SLM_DEPTH_SIZE=str(max(depth_size, 1)),
             SLM_LEARNING=str(int(rule is not None)),
             SLM_REWIRE_FREQUENT=str(int(rule is not None and rule.rewire == "frequent")))
    h, w, c = model.input_shape
    d.update(SLM_INPUT_H=str(h), SLM_INPUT_W=str(w), SLM_INPUT_C=str(c))
    output_size = int(np.prod(model.output_shape))
    ram = {"output": 0, "levels": 2 * max(act_size, 1), "pool": pool_size and max(pool_size, 1),
           "accumulators": 0, "masks": 0, "wins": 0, "rng_counter": 0, "vigilance_budget": 0,
           "spikes": 0, "swap_lists": 0, "counters": 0, "activity": 0}
    if feature["conv"] or feature["fc"]:
        ram["accumulators"] += 4 * max(acc_size, 1)
    if feature["global"]:
        ram["accumulators"] += 4 * max(acc_size, 1)
    if feature["separable"]:
        ram["accumulators"] += 4 * max(depth_size, 1)
    alignment = 4
    if rule is not None:
        capacity = _learning_plan(plan, rule, learning_layer, int(extra_classes), ram)
        d["SLM_OUTPUT_CAPACITY"] = str(capacity)
        d["SLM_SCORE_NEURONS"] = str(_score_neurons(model, rule, learning_layer))
        base = learning_layer.config["learning"].get("base_classes", int(rule.num_classes))
        d.update(SLM_BASE_CLASSES=str(int(base)),
                 SLM_NEW_CLASS_BONUS=str(int(rule.new_class_bonus)))
        alignment = 8
    else:
        d.update(SLM_OUTPUT_SIZE=str(output_size), SLM_OUTPUT_CAPACITY=str(output_size))
        _output_scale(plan, model.get_layer(-1), output_size)
        d.update(SLM_SCORE_NEURONS="1", SLM_BASE_CLASSES=str(output_size),
                 SLM_NEW_CLASS_BONUS="0")
    ram["output"] = 4 * int(d["SLM_OUTPUT_CAPACITY"])
    total = sum(ram.values())
    ram["total"] = -(-total // alignment) * alignment
    plan.ram = ram
    return plan


def _learning_plan(plan, rule, layer, extra_classes, ram):
    """Defines, initial-state arrays and RAM of a compiled learning layer; returns its capacity."""
    d = plan.defines
    n_in, units = layer.variables["weights"].shape
    classes = int(rule.num_classes)
    per_class = units // classes
    capacity = (classes + extra_classes) * per_class
    if capacity > 65535:
        raise ValueError(f"export_c: {capacity} learning neurons exceed the C engine's 65535 "
                         f"(lower extra_classes)")
    wins = layer.variables["wins"]
    if wins.size and wins.max() >= 2**32:
        raise ValueError(f"export_c: layer {layer.name!r} has a neuron with {wins.max()} wins, "
                         f"more than the C engine's uint32 counter holds")
    words = -(-n_in // 32)
    sched = rule.schedule()
    count_type = "uint16_t" if n_in <= 65535 else "uint32_t"
    count_bytes = 2 if n_in <= 65535 else 4  # vigilance, budget <= num_weights <= n_in
    d.update(SLM_LEARN_INPUTS=str(n_in), SLM_MASK_WORDS=str(words), SLM_MAX_UNITS=str(capacity),
             SLM_INITIAL_UNITS=str(units), SLM_INITIAL_CLASSES=str(classes),
             SLM_NEURONS_PER_CLASS=str(per_class), SLM_NUM_WEIGHTS=str(int(rule.num_weights)),
             SLM_SEED=f"UINT64_C({int(rule.seed)})",
             SLM_INITIAL_BUDGET=str(sched["initial_budget"]),
             SLM_DECREMENT=str(sched["decrement"]), SLM_MIN_BUDGET=str(sched["min_budget"]),
             SLM_VIGILANCE_CAP=str(sched["vigilance_cap"]), SLM_RECRUIT=str(int(rule.recruit)),
             SLM_INITIAL_RNG_COUNTER=f"UINT64_C({int(layer.variables['rng_counter'][0])})",
             SLM_COUNT_TYPE=count_type, SLM_INDEX_TYPE=count_type)
    what = f"{layer.name} (learning FullyConnected, initial state)"
    bits = np.ascontiguousarray(layer.variables["weights"].T, np.uint8)  # (units, n_in)
    padded = np.zeros((units, words * 32), np.uint8)
    padded[:, :n_in] = bits
    masks = np.packbits(padded, axis=1, bitorder="little").view("<u4").ravel()
    plan.arrays.append(_Array(
        "slm_initial_masks", "uint32_t", [f"0x{int(v):08x}u" for v in masks],
        f"{what}: connection masks ({units}, {n_in}) 1-bit, {words} uint32 words per neuron "
        f"(bit i % 32 of word i / 32 = input i)", 4 * masks.size, "learning"))
    for name, values in (("vigilance", layer.variables["vigilance"]),
                         ("budget", layer.variables["budget"])):
        plan.arrays.append(_Array(f"slm_initial_{name}", count_type,
                                  [f"{int(v)}u" for v in values],
                                  f"{what}: {name} ({units},) {8 * count_bytes}-bit",
                                  count_bytes * units, "learning"))
    plan.arrays.append(_Array("slm_initial_wins", "uint32_t", [f"{int(v)}u" for v in wins],
                              f"{what}: wins ({units},) 32-bit", 4 * units, "learning"))
    bias = layer.variables["bias"]
    d["SLM_LEARNING_BIAS"] = str(int(bool(np.any(bias))))
    if np.any(bias):
        full = np.zeros(capacity, np.int32)
        full[:units] = bias
        plan.arrays.append(_Array("slm_learning_bias", "int32_t", [str(int(v)) for v in full],
                                  f"{layer.name}: bias ({capacity},) int32, zeros for neurons "
                                  f"added on the device", 4 * capacity, "biases_thresholds"))
    if rule.rewire == "frequent":
        activity = np.ascontiguousarray(layer.variables["activity"].T, np.int32)  # (units, n_in)
        plan.arrays.append(_Array(
            "slm_initial_activity", "int32_t", [str(int(v)) for v in activity.ravel()],
            f"{what}: activity ({units}, {n_in}) int32, active-input counts per neuron",
            4 * activity.size, "learning"))
        ram["activity"] = 4 * capacity * n_in
    d["SLM_HAS_OUTPUT_SCALE"] = "0"
    ram.update(masks=4 * capacity * words, wins=4 * capacity, rng_counter=8,
               vigilance_budget=2 * count_bytes * capacity, spikes=4 * words,
               swap_lists=2 * count_bytes * n_in, counters=4)
    return capacity


def _score_neurons(model, rule, layer):
    """The compiled rule's ``score_neurons`` (``model.score_neurons``), checked against the
    neurons per class: ``slm_predict_class`` sums that many top potentials per class."""
    score = model.score_neurons
    per_class = layer.variables["weights"].shape[1] // int(rule.num_classes)
    if isinstance(score, bool) or int(score) != score or not 1 <= score <= per_class:
        raise ValueError(f"export_c: score_neurons must be an integer in [1, {per_class}] (the "
                         f"neurons per class of layer {layer.name!r}), got {score!r}")
    return int(score)


def _output_scale(plan, last, output_size):
    """A float ``output_scale`` array when it changes the class ranking (not all ones)."""
    scale = last.variables.get("output_scale")
    needed = scale is not None and last.activation_bits is None and np.any(scale != 1)
    plan.defines["SLM_HAS_OUTPUT_SCALE"] = str(int(bool(needed)))
    if needed:
        plan.arrays.append(_Array(
            "slm_output_scale", "float", [f"{float(v).hex()}f" for v in scale.astype(np.float32)],
            f"{last.name}: output_scale ({output_size},) float32 (class ranking only)",
            4 * output_size, "output_scale"))


def _add(plan, name, values, bits, what, variable, group):
    """Append a packed weight array (``bits`` <= 8) or an int32 array (``bits`` == 32)."""
    values = np.asarray(values)
    shape = "x".join(map(str, values.shape))
    if bits == 32:
        literals = [str(int(v)) for v in values.ravel()]
        plan.arrays.append(_Array(name, "int32_t", literals,
                                  f"{what}: {variable} ({shape}) int32", 4 * values.size, group))
        return
    packed = pack_values(values, bits)
    kind = "unsigned 0/1" if bits == 1 else "two's complement"
    plan.arrays.append(_Array(name, "uint8_t", [f"0x{int(v):02x}" for v in packed],
                              f"{what}: {variable} ({shape}) {bits}-bit {kind}, "
                              f"{8 // bits} per byte", packed.size, group))


def footprint(model, *, extra_classes=DEFAULT_EXTRA_CLASSES):
    """Flash and RAM bytes of the C export of ``model``.

    Parameters
    ----------
    model : spikelearn.Model
    extra_classes : int, default 8
        Classes ``slm_add_class`` may add on a compiled model (sizes the RAM state).

    Returns
    -------
    dict
        ``"flash"``: bytes of the ``const`` arrays per group (``weights``, ``biases_thresholds``,
        ``learning`` initial state, ``output_scale``) and ``total`` (the layer table and the code
        are not counted); ``"ram"``: bytes of ``slm_state_t`` per field group (``levels``,
        ``pool``, ``accumulators``, ``output``, ``masks``, ``wins``, ``rng_counter``,
        ``vigilance_budget``, ``spikes``, ``swap_lists``, ``counters``, ``activity``: the int32
        activity counters (capacity, inputs) of ``rewire="frequent"``, else 0), ``activations``
        (the inference buffers), ``learning_state`` and ``total`` (= ``sizeof(slm_state_t)``).
    """
    plan = _plan(model, extra_classes)
    flash = {group: 0 for group in ("weights", "biases_thresholds", "learning", "output_scale")}
    for array in plan.arrays:
        flash[array.group] += array.nbytes
    flash["total"] = sum(flash.values())
    ram = dict(plan.ram)
    ram["activations"] = ram["levels"] + ram["pool"] + ram["accumulators"] + ram["output"]
    ram["learning_state"] = (ram["masks"] + ram["wins"] + ram["rng_counter"]
                             + ram["vigilance_budget"] + ram["counters"] + ram["activity"])
    return {"flash": flash, "ram": ram}


def export_c(model, out_dir, *, extra_classes=DEFAULT_EXTRA_CLASSES, harness=False):
    """Write the C99 export of ``model`` to ``out_dir``.

    Parameters
    ----------
    model : spikelearn.Model
        Any model of InputData, InputConv2D, Conv2D, SeparableConv2D (pooling 'none', 'max'
        or 'global_avg') and FullyConnected layers; a compiled last layer (``model.compile``)
        also gets ``slm_learn`` and ``slm_add_class``.
    out_dir : str or os.PathLike
        Created if missing.
    extra_classes : int, default 8
        Classes ``slm_add_class`` may add (capacity of the RAM state).
    harness : bool, default False
        Also copy ``slm_harness.c``, a test program reading commands from a binary file
        (see :mod:`spikelearn.export.harness`).

    Returns
    -------
    dict
        ``"header"``, ``"source"`` (and ``"harness"``) paths and the :func:`footprint`.

    Raises
    ------
    ValueError
        An unsupported layer type, sizes beyond the C engine's limits, or a ``score_neurons``
        outside [1, neurons per class].

    Notes
    -----
    ``slm_predict_class`` follows :meth:`~spikelearn.Model.predict_classes` (without
    ``abstain_margin``), the compiled rule's ``score_neurons`` included: it is emitted as
    ``SLM_SCORE_NEURONS`` (1 without a compiled learning layer), and k > 1 compares each class's
    integer sum of its k highest potentials, then its highest potential, then the lowest index
    (see the module docstring).
    """
    plan = _plan(model, extra_classes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header, source = out / HEADER, out / SOURCE
    header.write_text(_header_text(model, plan))
    source.write_text(_source_text(model, plan))
    paths = {"header": header, "source": source}
    if harness:
        paths["harness"] = out / "slm_harness.c"
        paths["harness"].write_text((C_DIR / "slm_harness.c").read_text())
    return {**paths, "footprint": footprint(model, extra_classes=extra_classes)}


def _banner(model):
    names = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in model.layers)
    return (f"/* Generated by spikelearn {spikelearn.__version__} (spikelearn.export.export_c).\n"
            f" * Layers: {names}.\n * Do not edit: re-export the model instead. */\n")


def _header_text(model, plan):
    d = plan.defines
    lines = [_banner(model), "#ifndef SLM_MODEL_H", "#define SLM_MODEL_H", "",
             "#include <stdint.h>", ""]
    lines += [f"#define {name} {value}" for name, value in d.items()
              if name not in ("SLM_COUNT_TYPE", "SLM_INDEX_TYPE")]
    if d["SLM_LEARNING"] == "1":
        lines += ["#define SLM_OUTPUT_SIZE_OF(state) ((uint32_t)(state)->units)",
                  f"typedef {d['SLM_COUNT_TYPE']} slm_count_t;",
                  f"typedef {d['SLM_INDEX_TYPE']} slm_index_t;"]
    else:
        lines += ["#define SLM_OUTPUT_SIZE_OF(state) ((uint32_t)SLM_OUTPUT_SIZE)"]
    lines += ["", "/* Return codes */", "#define SLM_SKIPPED (-1)", "#define SLM_ERROR_LABEL (-2)",
              "#define SLM_ERROR_INPUT (-3)", "#define SLM_ERROR_CAPACITY (-4)",
              "#define SLM_ERROR_NOT_COMPILED (-5)", "", _STATE_TYPE, _API, "#endif", ""]
    return "\n".join(lines)


_STATE_TYPE = """/* All mutable data of the engine (RAM), ordered by alignment (no padding). */
typedef struct slm_state {
#if SLM_LEARNING
    uint64_t rng_counter;                               /* learning events that moved links */
    uint32_t masks[SLM_MAX_UNITS * SLM_MASK_WORDS];     /* 1-bit connection masks */
    uint32_t wins[SLM_MAX_UNITS];                       /* learning events per neuron */
#if SLM_REWIRE_FREQUENT
    int32_t activity[SLM_MAX_UNITS * SLM_LEARN_INPUTS]; /* active-input counts per neuron */
#endif
    uint32_t spikes[SLM_MASK_WORDS];                    /* packed input of the learning layer */
#endif
    int32_t output[SLM_OUTPUT_CAPACITY];                /* last layer output */
#if SLM_HAS_CONV || SLM_HAS_FULLY_CONNECTED
    int32_t acc[SLM_ACC_SIZE];                          /* potentials of one position */
#endif
#if SLM_HAS_GLOBAL_SUM
    int32_t total[SLM_ACC_SIZE];                        /* global sum of the potentials */
#endif
#if SLM_HAS_SEPARABLE
    int32_t depth[SLM_DEPTH_SIZE];                      /* depthwise sums of one position */
#endif
#if SLM_LEARNING
    slm_count_t vigilance[SLM_MAX_UNITS];
    slm_count_t budget[SLM_MAX_UNITS];
    slm_index_t removable[SLM_LEARN_INPUTS];            /* swap candidates */
    slm_index_t addable[SLM_LEARN_INPUTS];
    uint16_t units;                                     /* neurons in use */
    uint16_t num_classes;
#endif
    uint8_t levels[2][SLM_LEVELS_SIZE];                 /* activation levels, ping-pong */
#if SLM_HAS_MAX_POOL
    uint8_t pool[SLM_POOL_SIZE];                        /* levels before max pooling */
#endif
} slm_state_t;
"""

_API = """/* Load the initial learning state (call once before anything else). */
void slm_init(slm_state_t *state);
/* Run the model on SLM_INPUT_SIZE uint8 levels (NHWC); returns SLM_OUTPUT_SIZE_OF(state) int32
 * values in state->output, or NULL when an input of the 1-bit learning layer exceeds 1. */
const int32_t *slm_forward(slm_state_t *state, const uint8_t *input);
/* Class with the highest score, or an error. SLM_SCORE_NEURONS == 1: the max over its neurons,
 * lowest index on ties; k > 1: the sum of its k highest outputs, equal sums to the higher max,
 * then to the lowest index. */
int32_t slm_predict_class(slm_state_t *state, const uint8_t *input);
int32_t slm_num_classes(const slm_state_t *state);
/* One step of the competitive rule (label -1: unlabelled). Returns the winner neuron,
 * SLM_SKIPPED or an error code (state unchanged). */
int32_t slm_learn(slm_state_t *state, const uint8_t *sample, int32_t label);
/* Append one class of fresh neurons; returns the new number of classes or an error code. */
int32_t slm_add_class(slm_state_t *state);
"""

_LAYER_TYPE = """typedef struct {
    uint8_t kind, weight_bits, activation_bits, pool;
    uint16_t in_h, in_w, in_c, out_h, out_w, out_c, conv_h, conv_w;
    uint8_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
    uint8_t pool_h, pool_w, pool_stride_h, pool_stride_w, pool_pad_top, pool_pad_left;
    const uint8_t *weights;      /* packed; depthwise weights of a separable layer */
    const uint8_t *pointwise;    /* packed; separable layers only */
    const int32_t *bias;
    const int32_t *thresholds;   /* (out_c, 2^activation_bits - 1) */
} slm_layer_t;

enum { SLM_INPUT_DATA = 0, SLM_CONV2D = 1, SLM_SEPARABLE = 2, SLM_FULLY_CONNECTED = 3 };
enum { SLM_POOL_NONE = 0, SLM_POOL_MAX = 1, SLM_POOL_GLOBAL_SUM = 2 };
"""


def _source_text(model, plan):
    parts = [_banner(model), f'#include "{HEADER}"', "", _LAYER_TYPE]
    for array in plan.arrays:
        body = ",\n".join("    " + ", ".join(array.literals[i:i + 12])
                          for i in range(0, len(array.literals), 12))
        parts.append(f"/* {array.comment}; {array.nbytes} bytes */\n"
                     f"static const {array.ctype} {array.name}[{len(array.literals)}] = {{\n"
                     f"{body}\n}};\n")
    rows = []
    null = "(const uint8_t *)0"
    for desc in plan.layers:
        for key in ("kernel", "stride", "pad", "pool_window", "pool_stride", "pool_pad"):
            if max(desc[key]) > 255:
                raise ValueError(f"export_c: layer {desc['name']!r}: {key} {desc[key]} exceeds "
                                 f"the C engine's 255")
        sizes = (*desc["in"], *desc["out"], *desc["conv"])
        if max(sizes) > 65535:
            raise ValueError(f"export_c: layer {desc['name']!r}: a size exceeds 65535")
        fields = [desc["kind"], desc["weight_bits"], desc["activation_bits"], desc["pool"],
                  *sizes, *desc["kernel"], *desc["stride"], *desc["pad"], *desc["pool_window"],
                  *desc["pool_stride"], *desc["pool_pad"]]
        pointers = [desc["weights"] or null, desc["pointwise"] or null,
                    desc["bias"] or "(const int32_t *)0",
                    desc["thresholds"] or "(const int32_t *)0"]
        rows.append(f"    /* {desc['name']} ({desc['type']}) */\n"
                    f"    {{{', '.join(map(str, fields))},\n     {', '.join(pointers)}}}")
    parts.append(f"static const slm_layer_t slm_layers[{len(rows)}] = {{\n" + ",\n".join(rows)
                 + "\n};\n")
    parts.append((C_DIR / "slm_engine.c").read_text())
    return "\n".join(parts)

