"""Numba kernels of the competitive plasticity rule, over bit-packed binary arrays.

Binary vectors (input spikes, connection masks) are packed into ``uint64`` words: bit ``i % 64``
of word ``i // 64`` holds element ``i``. A potential is then a sum of popcounts of ``x AND w``.

The swap selection is driven by a counter-based generator: the stream of learning event ``k``
starts from ``mix64(seed ^ mix64(k ^ STREAM_KEY))`` and yields ``mix64(state += GOLDEN)``
(SplitMix64). Event ``k`` is the ``k``-th learning event with at least one moved connection,
counted over the whole life of the layer, so a saved-then-loaded layer continues bit-identically.
"""

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
STREAM_KEY = np.uint64(0xD1B54A32D192ED03)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)


@intrinsic
def _popcount(typingctx, word):
    """Number of set bits of a ``uint64`` (the LLVM ``ctpop`` instruction)."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@intrinsic
def _trailing_zeros(typingctx, word):
    """Index of the lowest set bit of a non-zero ``uint64`` (the LLVM ``cttz`` instruction)."""

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], context.get_constant(types.boolean, True))

    return types.uint64(types.uint64), codegen


@njit(cache=True)
def mix64(z):
    """SplitMix64 finaliser: a bijective 64-bit hash of a ``uint64``."""
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


@njit(cache=True)
def _sample_in_place(indices, count, picks, state):
    """Move ``picks`` uniformly chosen entries of ``indices[:count]`` to its front.

    Partial Fisher-Yates: for ``t = 0 .. picks-1`` swap entry ``t`` with entry
    ``t + r % (count - t)``, ``r`` the next SplitMix64 output. Returns the new stream state.
    """
    for t in range(picks):
        state = state + GOLDEN
        r = mix64(state)
        u = t + np.int64(r % np.uint64(count - t))
        indices[t], indices[u] = indices[u], indices[t]
    return state


@njit(cache=True)
def _set_bits(words, out):
    """Write the indices of the set bits of ``words`` (ascending) to ``out``; return the count."""
    count = 0
    for k in range(words.shape[0]):
        w = words[k]
        while w != _ZERO:
            out[count] = k * 64 + np.int64(_trailing_zeros(w))
            count += 1
            w &= w - _ONE
    return count


@njit(cache=True)
def _ordered_by_key(indices, count, keys, state, descending):
    """Shuffle ``indices[:count]`` with the stream, then stable-sort it by ``keys[index]``.

    Returns the new stream state; ``descending`` sorts the highest keys first.
    """
    state = _sample_in_place(indices, count, count, state)
    order_keys = np.empty(count, np.int64)
    for t in range(count):
        order_keys[t] = -keys[indices[t]] if descending else keys[indices[t]]
    order = np.argsort(order_keys, kind="mergesort")
    indices[:count] = indices[:count][order]
    return state


@njit(cache=True)
def _frequent_pairs(x_row, mask_row, counts, input_size, budget, state, keys, removable, addable,
                    connected_words, free_words):
    """Add the sample to the activity counts and pick the connections to move.

    Writes the connections to remove to ``removable[:s]`` and the inputs to connect to
    ``addable[:s]`` (pairs in order) and returns ``s`` (see step 4 of :func:`fit`).
    """
    n_words = x_row.shape[0]
    for k in range(input_size):
        active = np.int64((x_row[k // 64] >> np.uint64(k % 64)) & _ONE)
        counts[k] += np.int32(active)
        keys[k] = 2 * np.int64(counts[k]) + active
    last_bits = input_size - (n_words - 1) * 64
    last_mask = _ONE << np.uint64(last_bits - 1)
    last_mask = last_mask | (last_mask - _ONE)
    for k in range(n_words):
        connected_words[k] = mask_row[k]
        free_words[k] = ~mask_row[k]
    free_words[n_words - 1] &= last_mask
    num_connected = _set_bits(connected_words, removable)
    num_free = _set_bits(free_words, addable)
    state = _ordered_by_key(removable, num_connected, keys, state, False)
    _ordered_by_key(addable, num_free, keys, state, True)
    pairs = 0
    limit = min(budget, num_connected, num_free)
    while pairs < limit and keys[addable[pairs]] > keys[removable[pairs]]:
        pairs += 1
    return pairs


@njit(cache=True)
def _overlaps(x_row, masks, out):
    """``out[j] = |x AND w[j]|`` for one packed sample ``x_row``."""
    for j in range(masks.shape[0]):
        count = _ZERO
        for k in range(x_row.shape[0]):
            count += _popcount(x_row[k] & masks[j, k])
        out[j] = np.int32(count)


@njit(cache=True)
def potentials(x_words, masks):
    """Overlap counts of every sample with every neuron.

    Parameters
    ----------
    x_words : ndarray of uint64, shape (n, words)
        Packed binary samples.
    masks : ndarray of uint64, shape (units, words)
        Packed connection masks.

    Returns
    -------
    ndarray of int32, shape (n, units)
        ``|x AND w|`` per sample and neuron.
    """
    out = np.empty((x_words.shape[0], masks.shape[0]), np.int32)
    for i in range(x_words.shape[0]):
        _overlaps(x_words[i], masks, out[i])
    return out


@njit(cache=True)
def fit(
    x_words,
    labels,
    masks,
    vigilance,
    budget,
    wins,
    rng_counter,
    seed,
    neurons_per_class,
    decrement,
    min_budget,
    vigilance_cap,
    recruit,
    activity,
    input_size,
):
    """Learn samples one after the other with the competitive rule (updates state in place).

    Per sample ``x`` with label ``y``:

    1. ``p[j] = |x AND w[j]|`` for every neuron (returned, before any update of this sample).
    2. Candidates: block ``[y*npc, (y+1)*npc)`` when ``y >= 0``, every neuron when ``y == -1``.
    3. Eligible: ``p[j] > vigilance[j]``. Winner: highest ``p``, lowest index on ties. None
       eligible: with ``recruit`` and ``y >= 0`` the lowest-index neuron of the block that never
       won (``wins == 0``) wins whatever its potential; otherwise the sample is skipped.
    4. Without activity counters (``activity`` has no rows): ``s = min(budget, |R|, |A|)``
       with ``R`` the winner's connections on inactive inputs and ``A`` the active inputs it is
       not connected to; ``s`` uniformly chosen connections of ``R`` move to ``s`` uniformly
       chosen inputs of ``A`` (removals drawn first, from one stream).
       With activity counters: ``activity[winner] += x``; then the connections with the
       lowest keys move to the unconnected inputs with the highest keys, pair by pair while the
       added key is strictly greater and at most ``budget`` pairs, where
       ``key = 2 * activity + x`` (frequent inputs first; on equal counts the sample's active
       inputs win); equal keys are ordered by a uniform shuffle (connected inputs drawn first,
       from one stream). ``s`` is the number of moved pairs.
    5. If ``s > 0``: ``vigilance = min(p, vigilance_cap)`` and ``rng_counter += 1``.
    6. Always: ``budget = max(budget - decrement, min_budget)``; ``wins += 1``.

    Parameters
    ----------
    x_words : ndarray of uint64, shape (n, words)
        Packed binary samples.
    labels : ndarray of int64, shape (n,)
        Labels in ``[-1, units // neurons_per_class)``, validated by the caller.
    masks : ndarray of uint64, shape (units, words)
        Packed connection masks (updated in place).
    vigilance, budget : ndarray of int32, shape (units,)
        Learning thresholds and swap budgets (updated in place).
    wins : ndarray of int64, shape (units,)
        Learning events per neuron (updated in place).
    rng_counter : ndarray of int64, shape (1,)
        Number of learning events that moved connections so far (updated in place).
    seed : uint64
        Seed of the swap selection.
    neurons_per_class, decrement, min_budget, vigilance_cap : int
        Block size and the integer schedule of the rule.
    recruit : bool
        Recruit a fresh neuron of the class when none is eligible.
    activity : ndarray of int32, shape (units, input_size) or (0, 0)
        Per-neuron counts of active inputs over the samples it won (updated in place); an empty
        array selects the sample-driven rewiring.
    input_size : int
        Inputs per sample (``<= words * 64``).

    Returns
    -------
    ndarray of int32, shape (n, units)
        Potentials each sample saw before its own update.
    """
    n, n_words = x_words.shape
    units = masks.shape[0]
    pots = np.empty((n, units), np.int32)
    removable = np.empty(n_words * 64, np.int64)
    addable = np.empty(n_words * 64, np.int64)
    off_words = np.empty(n_words, np.uint64)
    on_words = np.empty(n_words, np.uint64)
    frequent = activity.shape[0] > 0
    keys = np.empty(n_words * 64, np.int64)
    for i in range(n):
        _overlaps(x_words[i], masks, pots[i])
        y = labels[i]
        if y >= 0:
            first = y * neurons_per_class
            stop = first + neurons_per_class
        else:
            first = 0
            stop = units
        winner = -1
        best = -1
        for j in range(first, stop):
            p = pots[i, j]
            if p > vigilance[j] and p > best:
                best = p
                winner = j
        if winner < 0 and recruit and y >= 0:
            for j in range(first, stop):
                if wins[j] == 0:
                    winner = j
                    break
        if winner < 0:
            continue
        state = mix64(seed ^ mix64(np.uint64(rng_counter[0]) ^ STREAM_KEY))
        if frequent:
            swaps = _frequent_pairs(x_words[i], masks[winner], activity[winner], input_size,
                                    np.int64(budget[winner]), state, keys, removable,
                                    addable, off_words, on_words)
        else:
            num_off = 0
            num_on = 0
            for k in range(n_words):
                off_words[k] = masks[winner, k] & ~x_words[i, k]
                on_words[k] = x_words[i, k] & ~masks[winner, k]
                num_off += np.int64(_popcount(off_words[k]))
                num_on += np.int64(_popcount(on_words[k]))
            swaps = min(np.int64(budget[winner]), num_off, num_on)
            if swaps > 0:
                _set_bits(off_words, removable)
                _set_bits(on_words, addable)
                state = _sample_in_place(removable, num_off, swaps, state)
                _sample_in_place(addable, num_on, swaps, state)
        if swaps > 0:
            for t in range(swaps):
                r = removable[t]
                masks[winner, r // 64] &= ~(_ONE << np.uint64(r % 64))
                a = addable[t]
                masks[winner, a // 64] |= _ONE << np.uint64(a % 64)
            vigilance[winner] = min(pots[i, winner], vigilance_cap)
            rng_counter[0] += 1
        budget[winner] = max(budget[winner] - decrement, min_budget)
        wins[winner] += 1
    return pots


def pack_bits(bits):
    """Pack rows of 0/1 values into ``uint64`` words.

    Parameters
    ----------
    bits : ndarray of uint8 or int8, shape (n, length)
        Values 0 or 1 (not checked).

    Returns
    -------
    ndarray of uint64, shape (n, ceil(length / 64))
    """
    bits = np.asarray(bits)
    n, length = bits.shape
    words = -(-length // 64)
    padded = np.zeros((n, words * 64), np.uint8)
    padded[:, :length] = bits
    packed = np.packbits(padded, axis=1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words, length):
    """Inverse of :func:`pack_bits`: ``uint64 (n, words)`` -> ``uint8 (n, length)`` of 0/1."""
    as_bytes = np.ascontiguousarray(words.astype("<u8", copy=False)).view(np.uint8)
    return np.unpackbits(as_bytes, axis=1, count=length, bitorder="little")
