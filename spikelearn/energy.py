"""Energy per inference and average power of a model on a device profile.

The estimate is built from the engine's own per-layer statistics
(:meth:`spikelearn.Model.statistics`: synaptic operations of the input events, sparsity) and
the bit widths of the model, so sparsity and bit width move it directly. Per layer:

* synaptic operations ``S`` (one per input event and weight it meets) cost
  ``S * (synaptic_op_pj + multiply_pj_per_bit2 * w * a)`` where ``w`` is the weight bits and
  ``a`` the input activation bits; a 1-bit operand (spikes, connection masks) makes the
  multiply a select: ``w * a`` counts as 0;
* memory: each synaptic operation reads its weight (``w`` bits, no reuse assumed: an upper
  bound for an event-driven core); input events are read (``a`` bits each) and output events
  written (activation bits, 32 for int32 potentials), at ``memory_read_pj_per_bit``;
* neuron updates: each output element costs ``1 + b`` 32-bit add/compare steps of
  ``neuron_update_pj`` (bias, then a binary search over the ``2**b - 1`` thresholds; ``b``
  the activation bits, 0 for potentials);
* static power: ``static_uw`` plus SRAM leakage ``leakage_nw_per_mbit`` times the model's
  memory (flash + RAM bytes of its C export, :func:`spikelearn.export.footprint`).

Average power at ``rate`` inferences per second is ``E_dynamic * rate + P_static``; the
energy per inference adds ``P_static / rate``. These are estimates from published per-operation
energies, not measurements; every number of the two shipped profiles is explained in its
description.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: Dynamic energy scale from 45 nm / 0.9 V (Horowitz, ISSCC 2014) to 22 nm / 0.8 V:
#: ``C V^2`` with the capacitance proportional to the feature size.
SCALE_45_TO_22 = (22 / 45) * (0.8 / 0.9) ** 2
#: Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V (pJ).
HOROWITZ_45NM_PJ = {"add32": 0.1, "add8": 0.03, "mult8": 0.2, "mult32": 3.1,
                    "sram_64bit_8kb": 10.0, "sram_64bit_32kb": 20.0}
#: Arm Cortex-M4 datasheet, lowest-power setting: 12.26 uW/MHz = 12.26 pJ per cycle (the figure
#: Blouw et al. use for their 212 uW Cortex-M4F keyword spotter).
CORTEX_M4_PJ_PER_CYCLE = 12.26
#: Standby SRAM leakage of Yabuuchi et al., VLSI 2017 (65 nm SOTB), 13.72 nW/Mbit.
SRAM_LEAKAGE_NW_PER_MBIT = 13.72


@dataclass(frozen=True)
class DeviceProfile:
    """Per-operation energies of a device (see the module notes for how they combine).

    Parameters
    ----------
    name : str
    synaptic_op_pj : float
        Fixed energy of one synaptic operation (the accumulate), pJ.
    multiply_pj_per_bit2 : float
        Multiply energy per weight bit x activation bit, pJ (0: the device's op cost does not
        depend on the bit widths).
    memory_read_pj_per_bit : float
        Energy per bit read or written in on-chip memory, pJ.
    neuron_update_pj : float
        Energy of one 32-bit add/compare step of a neuron update, pJ.
    static_uw : float
        Always-on static power besides the SRAM leakage, uW.
    leakage_nw_per_mbit : float
        SRAM leakage per Mbit of model memory, nW.
    pj_per_cycle : float or None
        Energy per clock cycle of a processor (for :func:`energy_from_cycles`), pJ.
    description : str
        Where the numbers come from and what is assumed.
    """

    name: str
    synaptic_op_pj: float
    multiply_pj_per_bit2: float
    memory_read_pj_per_bit: float
    neuron_update_pj: float
    static_uw: float
    leakage_nw_per_mbit: float
    pj_per_cycle: float | None
    description: str

    def __post_init__(self):
        for name, value in asdict(self).items():
            if isinstance(value, float | int) and not isinstance(value, bool) and (
                    not math.isfinite(value) or value < 0):
                raise ValueError(f"DeviceProfile {self.name!r}: {name} must be a finite number "
                                 f">= 0, got {value!r}")


ACCELERATOR_22NM = DeviceProfile(
    name="accelerator-22nm",
    synaptic_op_pj=HOROWITZ_45NM_PJ["add32"] * SCALE_45_TO_22,
    multiply_pj_per_bit2=HOROWITZ_45NM_PJ["mult8"] / 64 * SCALE_45_TO_22,
    memory_read_pj_per_bit=HOROWITZ_45NM_PJ["sram_64bit_8kb"] / 64 * SCALE_45_TO_22,
    neuron_update_pj=HOROWITZ_45NM_PJ["add32"] * SCALE_45_TO_22,
    static_uw=0.0,
    leakage_nw_per_mbit=SRAM_LEAKAGE_NW_PER_MBIT,
    pj_per_cycle=None,
    description=(
        "Generic 22/28 nm digital event-driven accelerator. Horowitz (ISSCC 2014) 45 nm / "
        "0.9 V energies scaled by (22/45) x (0.8/0.9)^2 = 0.386 (C V^2, capacitance "
        "proportional to feature size): accumulate = 32-bit add 0.1 pJ -> 0.039 pJ; multiply "
        "= 8x8-bit multiply 0.2 pJ spread over its 64 partial-product bits -> 0.0012 pJ per "
        "bit^2; memory = 64-bit read from an 8 KB SRAM bank 10 pJ -> 0.060 pJ per bit, every "
        "weight read from SRAM for every operation (no reuse); neuron update steps = 32-bit "
        "adds. Static: SRAM standby leakage 13.72 nW/Mbit (Yabuuchi et al., VLSI 2017, as used "
        "by Blouw et al. 2020); logic assumed power-gated between inferences (0 uW). "
        "Clock tree, control and the MFCC front end are not modelled."),
)

CORTEX_M4 = DeviceProfile(
    name="cortex-m4",
    synaptic_op_pj=3 * CORTEX_M4_PJ_PER_CYCLE,
    multiply_pj_per_bit2=0.0,
    memory_read_pj_per_bit=0.0,
    neuron_update_pj=2 * CORTEX_M4_PJ_PER_CYCLE,
    static_uw=0.0,
    leakage_nw_per_mbit=0.0,
    pj_per_cycle=CORTEX_M4_PJ_PER_CYCLE,
    description=(
        "Cortex-M4-class MCU: cycles x 12.26 pJ per cycle (Arm Cortex-M4 datasheet, "
        "lowest-power setting 12.26 uW/MHz, as used by Blouw et al. for 212 uW). Cycle model: "
        "3 cycles per synaptic operation (weight load and unpack, multiply-accumulate; a "
        "scalar Thumb-2 inner loop with zero skipping), 2 cycles per add/compare step of a "
        "neuron update; memory accesses are inside those cycles. Sleep power between "
        "inferences is not modelled (0 uW). For a measured count use energy_from_cycles with "
        "the callgrind instruction count of the C export (benchmarks/export.py)."),
)

#: Shipped profiles by name.
PROFILES = {profile.name: profile for profile in (ACCELERATOR_22NM, CORTEX_M4)}


def get_profile(profile):
    """A :class:`DeviceProfile` from itself or its name.

    Raises
    ------
    ValueError
        Unknown name (the message lists the known ones).
    """
    if isinstance(profile, DeviceProfile):
        return profile
    if profile not in PROFILES:
        raise ValueError(f"unknown device profile {profile!r}; known: {', '.join(PROFILES)}")
    return PROFILES[profile]


def _check_rate(rate):
    if isinstance(rate, bool) or not isinstance(rate, float | int) or not math.isfinite(rate) \
            or rate <= 0:
        raise ValueError(f"rate must be a positive number of inferences per second, got {rate!r}")


def estimate(model, statistics, profile=ACCELERATOR_22NM, *, rate=50.0):
    """Energy per inference and average power of ``model``.

    Parameters
    ----------
    model : spikelearn.Model
        Gives the bit widths and shapes of the layers.
    statistics : dict
        ``model.statistics(x)`` on representative inputs (per-layer ``synaptic_ops``,
        ``input_sparsity``, ``output_sparsity``).
    profile : DeviceProfile or str, default :data:`ACCELERATOR_22NM`
    rate : float, default 50.0
        Inferences per second (50/s: one per 20 ms hop).

    Returns
    -------
    dict
        ``profile``, ``rate``; ``layers``: layer name -> ``synaptic_ops``, ``neuron_updates``,
        ``ops_pj``, ``memory_pj``, ``neuron_pj``, ``total_pj``; ``dynamic_nj`` (per inference),
        ``static_uw``, ``energy_per_inference_nj`` (dynamic + static / rate),
        ``average_power_uw`` (dynamic x rate + static), ``memory_bits``.

    Raises
    ------
    ValueError
        Unknown profile, bad rate, or statistics that do not match the model's layers.
    """
    from spikelearn.export import footprint

    profile = get_profile(profile)
    _check_rate(rate)
    per_layer_stats = statistics.get("layers", {}) if isinstance(statistics, dict) else {}
    names = [layer.name for layer in model.layers]
    if sorted(per_layer_stats) != sorted(names):
        raise ValueError(f"statistics do not match the model: layers {sorted(per_layer_stats)} "
                         f"versus {sorted(names)}; pass model.statistics(x) of this model")
    layers = {}
    input_bits = model.input_bits
    for layer in model.layers:
        stats = per_layer_stats[layer.name]
        out_bits = layer.activation_bits
        weight_bits = layer.config.get("weight_bits", 0)
        ops = float(stats["synaptic_ops"])
        multiply_bits = weight_bits * input_bits if min(weight_bits, input_bits) > 1 else 0
        in_events = math.prod(layer.input_shape) * (1 - stats["input_sparsity"])
        out_elements = math.prod(layer.output_shape)
        if weight_bits == 0:  # InputData: no computation
            updates, out_traffic, in_events = 0, 0.0, 0.0
        elif out_bits is None:
            updates, out_traffic = out_elements, 32.0 * out_elements
        else:
            updates = out_elements
            out_traffic = out_bits * out_elements * (1 - stats["output_sparsity"])
        ops_pj = ops * (profile.synaptic_op_pj + profile.multiply_pj_per_bit2 * multiply_bits)
        memory_pj = profile.memory_read_pj_per_bit * (
            ops * weight_bits + in_events * input_bits + out_traffic)
        neuron_pj = profile.neuron_update_pj * updates * (1 + (out_bits or 0))
        layers[layer.name] = {
            "synaptic_ops": ops, "neuron_updates": updates, "ops_pj": ops_pj,
            "memory_pj": memory_pj, "neuron_pj": neuron_pj,
            "total_pj": ops_pj + memory_pj + neuron_pj,
        }
        input_bits = out_bits if out_bits is not None else 32
    sizes = footprint(model)
    memory_bits = 8 * (sizes["flash"]["total"] + sizes["ram"]["total"])
    static_uw = profile.static_uw + profile.leakage_nw_per_mbit * memory_bits / 1e6 / 1e3
    dynamic_nj = sum(values["total_pj"] for values in layers.values()) / 1e3
    return {
        "profile": profile.name, "rate": float(rate), "layers": layers,
        "dynamic_nj": dynamic_nj, "static_uw": static_uw,
        "energy_per_inference_nj": dynamic_nj + static_uw * 1e3 / rate,
        "average_power_uw": dynamic_nj * rate / 1e3 + static_uw,
        "memory_bits": memory_bits,
    }


def energy_from_cycles(cycles, profile=CORTEX_M4, *, rate=50.0):
    """Energy and power of a processor from a measured cycle (or instruction) count.

    Parameters
    ----------
    cycles : float
        Cycles per inference (e.g. the callgrind instruction count of the C export times an
        assumed cycles-per-instruction).
    profile : DeviceProfile or str, default :data:`CORTEX_M4`
        Must have ``pj_per_cycle``.
    rate : float, default 50.0

    Returns
    -------
    dict
        ``energy_per_inference_nj``, ``average_power_uw`` (including ``static_uw``),
        ``clock_mhz`` (the clock needed to run ``rate`` inferences per second).
    """
    profile = get_profile(profile)
    _check_rate(rate)
    if profile.pj_per_cycle is None:
        raise ValueError(f"device profile {profile.name!r} has no energy per cycle")
    if isinstance(cycles, bool) or not isinstance(cycles, float | int) or cycles < 0:
        raise ValueError(f"cycles must be a number >= 0, got {cycles!r}")
    energy_nj = cycles * profile.pj_per_cycle / 1e3
    return {"energy_per_inference_nj": energy_nj,
            "average_power_uw": energy_nj * rate / 1e3 + profile.static_uw,
            "clock_mhz": cycles * rate / 1e6}
