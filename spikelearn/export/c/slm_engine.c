/* ---------------------------------------------------------------------------------------------
 * spikelearn C99 engine (appended to the generated model source by spikelearn.export.export_c).
 *
 * Integer semantics are those of the Python engine:
 *   potential   P[o] = sum_i W[i][o] * a[i] + bias[o]                       (int32)
 *   level[o]    = number of k in 0..L-1 with P[o] >= thresholds[o][k]       (L = 2^bits - 1)
 *   'same' padding follows TensorFlow; 'global_avg' sums the potentials of all positions
 *   before the activation; max pooling acts on the levels and padding never wins.
 * Packed weights: value i of a b-bit array sits in byte i * b / 8 at bit (i * b) % 8; b >= 2 is
 * two's complement, b = 1 is an unsigned {0, 1} mask. Zero input levels are skipped
 * (event-driven). No dynamic memory: everything mutable lives in the caller's slm_state_t.
 * ------------------------------------------------------------------------------------------- */

#if SLM_HAS_CONV || SLM_HAS_FULLY_CONNECTED
static int32_t slm_weight(const uint8_t *packed, uint32_t index, uint8_t bits)
{
    switch (bits) {
    case 8:
        return (int32_t)(packed[index] ^ 0x80u) - 0x80;
    case 4:
        return (int32_t)(((uint32_t)packed[index >> 1] >> ((index & 1u) << 2) & 0xFu) ^ 0x8u) - 8;
    case 2:
        return (int32_t)(((uint32_t)packed[index >> 2] >> ((index & 3u) << 1) & 0x3u) ^ 0x2u) - 2;
    default:
        return (int32_t)((packed[index >> 3] >> (index & 7u)) & 1u);
    }
}

/* acc[o] += value * W[first + o] for o in 0..count-1 (one weight row). */
static void slm_accumulate(int32_t *acc, int32_t value, const uint8_t *packed, uint32_t first,
                           uint32_t count, uint8_t bits)
{
    uint32_t o = 0;
    if (bits == 8) {
        for (; o < count; ++o) {
            acc[o] += value * ((int32_t)(packed[first + o] ^ 0x80u) - 0x80);
        }
    } else if (bits == 4 && (first & 1u) == 0u) { /* two weights per byte */
        const uint8_t *row = packed + (first >> 1);
        for (; o + 1u < count; o += 2u) {
            uint32_t pair = row[o >> 1];
            acc[o] += value * ((int32_t)((pair & 0xFu) ^ 0x8u) - 8);
            acc[o + 1u] += value * ((int32_t)((pair >> 4) ^ 0x8u) - 8);
        }
    }
    for (; o < count; ++o) {
        acc[o] += value * slm_weight(packed, first + o, bits);
    }
}

#if SLM_HAS_ACTIVATED
static uint8_t slm_level(int32_t potential, const int32_t *thresholds, uint32_t levels)
{
    uint32_t k = 0;
    while (k < levels && potential >= thresholds[k]) {
        ++k;
    }
    return (uint8_t)k;
}
#endif

/* Write the potentials (no activation) or the levels of one output position. */
static void slm_emit(const slm_layer_t *layer, const int32_t *acc, uint8_t *levels,
                     int32_t *potentials, uint32_t position)
{
    uint32_t o, cout = layer->out_c;
#if SLM_HAS_ACTIVATED
    if (layer->activation_bits != 0) {
        uint32_t count = (1u << layer->activation_bits) - 1u;
        for (o = 0; o < cout; ++o) {
            levels[position * cout + o] = slm_level(acc[o], layer->thresholds + o * count, count);
        }
        return;
    }
#else
    (void)levels;
#endif
    for (o = 0; o < cout; ++o) {
        potentials[position * cout + o] = acc[o];
    }
}
#endif

#if SLM_HAS_CONV
/* Walk the window of the output position whose top-left input tap is (y0, x0); for every
 * nonzero input level v of tap (ky, kx, c) (index t = (ky * kernel_w + kx) * cin + c):
 *   acc[c * acc_step + o] += v * W[t * width + o]   for o in 0..width-1.
 * Conv2D: acc_step 0, width cout (weights (kh, kw, cin, cout)); depthwise: acc_step 1, width 1
 * (weights (kh, kw, cin), acc = the cin depthwise sums). */
static void slm_window(const slm_layer_t *layer, const uint8_t *in, int32_t y0, int32_t x0,
                       int32_t *acc, uint32_t acc_step, uint32_t width)
{
    uint32_t c, cin = layer->in_c;
    int32_t ky, kx;
    for (ky = 0; ky < (int32_t)layer->kernel_h; ++ky) {
        int32_t iy = y0 + ky;
        if (iy < 0 || iy >= (int32_t)layer->in_h) {
            continue;
        }
        for (kx = 0; kx < (int32_t)layer->kernel_w; ++kx) {
            int32_t ix = x0 + kx;
            const uint8_t *pixel;
            uint32_t tap;
            if (ix < 0 || ix >= (int32_t)layer->in_w) {
                continue;
            }
            pixel = in + ((uint32_t)iy * layer->in_w + (uint32_t)ix) * cin;
            tap = ((uint32_t)ky * layer->kernel_w + (uint32_t)kx) * cin;
            for (c = 0; c < cin; ++c) {
                if (pixel[c] != 0) {
                    slm_accumulate(acc + c * acc_step, pixel[c], layer->weights,
                                   (tap + c) * width, width, layer->weight_bits);
                }
            }
        }
    }
}

/* Conv2D / InputConv2D (kind SLM_CONV2D) and SeparableConv2D (kind SLM_SEPARABLE). */
static void slm_conv(const slm_layer_t *layer, const uint8_t *in, uint8_t *levels,
                     int32_t *potentials, slm_state_t *state)
{
    int32_t *acc = state->acc;
    uint32_t cout = layer->out_c, oy, ox, o;
#if SLM_HAS_GLOBAL_SUM
    int32_t *total = state->total;
    for (o = 0; o < cout; ++o) {
        total[o] = 0;
    }
#endif
    for (oy = 0; oy < layer->conv_h; ++oy) {
        for (ox = 0; ox < layer->conv_w; ++ox) {
            int32_t y0 = (int32_t)(oy * layer->stride_h) - (int32_t)layer->pad_top;
            int32_t x0 = (int32_t)(ox * layer->stride_w) - (int32_t)layer->pad_left;
            for (o = 0; o < cout; ++o) {
                acc[o] = layer->bias[o];
            }
#if SLM_HAS_SEPARABLE
            if (layer->kind == SLM_SEPARABLE) {
                int32_t *depth = state->depth;
                uint32_t c;
                for (c = 0; c < layer->in_c; ++c) {
                    depth[c] = 0;
                }
                slm_window(layer, in, y0, x0, depth, 1u, 1u);
                for (c = 0; c < layer->in_c; ++c) {
                    if (depth[c] != 0) {
                        slm_accumulate(acc, depth[c], layer->pointwise, c * cout, cout,
                                       layer->weight_bits);
                    }
                }
            } else
#endif
            {
                slm_window(layer, in, y0, x0, acc, 0u, cout);
            }
#if SLM_HAS_GLOBAL_SUM
            if (layer->pool == SLM_POOL_GLOBAL_SUM) {
                for (o = 0; o < cout; ++o) {
                    total[o] += acc[o];
                }
                continue;
            }
#endif
            slm_emit(layer, acc, levels, potentials, oy * layer->conv_w + ox);
        }
    }
#if SLM_HAS_GLOBAL_SUM
    if (layer->pool == SLM_POOL_GLOBAL_SUM) {
        slm_emit(layer, total, levels, potentials, 0);
    }
#endif
}
#endif

#if SLM_HAS_MAX_POOL
static void slm_max_pool(const slm_layer_t *layer, const uint8_t *in, uint8_t *out)
{
    uint32_t oy, ox, c, channels = layer->out_c;
    int32_t ky, kx;
    for (oy = 0; oy < layer->out_h; ++oy) {
        for (ox = 0; ox < layer->out_w; ++ox) {
            uint8_t *cell = out + (oy * layer->out_w + ox) * channels;
            int32_t y0 = (int32_t)(oy * layer->pool_stride_h) - (int32_t)layer->pool_pad_top;
            int32_t x0 = (int32_t)(ox * layer->pool_stride_w) - (int32_t)layer->pool_pad_left;
            for (c = 0; c < channels; ++c) {
                cell[c] = 0;
            }
            for (ky = 0; ky < (int32_t)layer->pool_h; ++ky) {
                int32_t iy = y0 + ky;
                if (iy < 0 || iy >= (int32_t)layer->conv_h) {
                    continue;
                }
                for (kx = 0; kx < (int32_t)layer->pool_w; ++kx) {
                    int32_t ix = x0 + kx;
                    const uint8_t *pixel;
                    if (ix < 0 || ix >= (int32_t)layer->conv_w) {
                        continue;
                    }
                    pixel = in + ((uint32_t)iy * layer->conv_w + (uint32_t)ix) * channels;
                    for (c = 0; c < channels; ++c) {
                        if (pixel[c] > cell[c]) {
                            cell[c] = pixel[c];
                        }
                    }
                }
            }
        }
    }
}
#endif

#if SLM_HAS_FULLY_CONNECTED
static void slm_fully_connected(const slm_layer_t *layer, const uint8_t *in, uint8_t *levels,
                                int32_t *potentials, slm_state_t *state)
{
    uint32_t i, o, inputs = layer->in_h * layer->in_w * layer->in_c, units = layer->out_c;
    int32_t *acc = state->acc;
    for (o = 0; o < units; ++o) {
        acc[o] = layer->bias[o];
    }
    for (i = 0; i < inputs; ++i) {
        if (in[i] != 0) {
            slm_accumulate(acc, in[i], layer->weights, i * units, units, layer->weight_bits);
        }
    }
    slm_emit(layer, acc, levels, potentials, 0);
}
#endif

/* Run the layers [0, stop) of slm_layers (the learning layer, if any, is not in the table):
 * returns the levels of layer stop - 1 (NULL when it wrote int32
 * potentials into state->output). */
static const uint8_t *slm_run(slm_state_t *state, const uint8_t *input, uint32_t stop)
{
    const uint8_t *x = input;
    uint32_t index, buffer = 0;
    for (index = 0; index < stop; ++index) {
        const slm_layer_t *layer = &slm_layers[index];
        uint8_t *levels = state->levels[buffer];
        int32_t *potentials = layer->activation_bits == 0 ? state->output : (int32_t *)0;
        uint8_t *target = levels;
        (void)target;
        buffer ^= 1u;
#if SLM_HAS_MAX_POOL
        if (layer->pool == SLM_POOL_MAX) {
            target = state->pool;
        }
#endif
        switch (layer->kind) {
#if SLM_HAS_CONV
        case SLM_CONV2D:
        case SLM_SEPARABLE:
            slm_conv(layer, x, target, potentials, state);
            break;
#endif
#if SLM_HAS_FULLY_CONNECTED
        case SLM_FULLY_CONNECTED:
            slm_fully_connected(layer, x, target, potentials, state);
            break;
#endif
        default: /* SLM_INPUT_DATA: the input passes through */
            buffer ^= 1u;
            continue;
        }
#if SLM_HAS_MAX_POOL
        if (layer->pool == SLM_POOL_MAX) {
            slm_max_pool(layer, target, levels);
        }
#endif
        x = potentials != (int32_t *)0 ? (const uint8_t *)0 : levels;
    }
    return x;
}

#if SLM_LEARNING
static uint32_t slm_popcount(uint32_t word)
{
    word = word - ((word >> 1) & 0x55555555u);
    word = (word & 0x33333333u) + ((word >> 2) & 0x33333333u);
    word = (word + (word >> 4)) & 0x0F0F0F0Fu;
    return (word * 0x01010101u) >> 24;
}

/* Pack the binary input of the learning layer into state->spikes; 0 when a level exceeds 1. */
static int slm_pack_spikes(slm_state_t *state, const uint8_t *levels)
{
    uint32_t i;
    for (i = 0; i < SLM_MASK_WORDS; ++i) {
        state->spikes[i] = 0;
    }
    for (i = 0; i < SLM_LEARN_INPUTS; ++i) {
        if (levels[i] > 1u) {
            return 0;
        }
        state->spikes[i >> 5] |= (uint32_t)levels[i] << (i & 31u);
    }
    return 1;
}

/* output[j] = |spikes AND mask[j]| (+ bias[j] when with_bias) for every neuron. */
static void slm_overlaps(slm_state_t *state, int with_bias)
{
    uint32_t j, k;
    for (j = 0; j < state->units; ++j) {
        const uint32_t *mask = state->masks + j * SLM_MASK_WORDS;
        uint32_t count = 0;
        for (k = 0; k < SLM_MASK_WORDS; ++k) {
            count += slm_popcount(state->spikes[k] & mask[k]);
        }
        state->output[j] = (int32_t)count;
#if SLM_LEARNING_BIAS
        if (with_bias) {
            state->output[j] += slm_learning_bias[j];
        }
#else
        (void)with_bias;
#endif
    }
}
#endif

const int32_t *slm_forward(slm_state_t *state, const uint8_t *input)
{
    const uint8_t *levels;
    uint32_t i;
    levels = slm_run(state, input, SLM_NUM_LAYERS);
#if SLM_LEARNING
    if (!slm_pack_spikes(state, levels)) {
        return (const int32_t *)0;
    }
    slm_overlaps(state, 1);
    (void)i;
#else
    if (levels != (const uint8_t *)0) {
        for (i = 0; i < SLM_OUTPUT_SIZE; ++i) {
            state->output[i] = levels[i];
        }
    }
#endif
    return state->output;
}

int32_t slm_num_classes(const slm_state_t *state)
{
#if SLM_LEARNING
    return (int32_t)state->num_classes;
#else
    (void)state;
    return SLM_OUTPUT_SIZE;
#endif
}

#if SLM_SCORE_NEURONS > 1
/* Sum of the SLM_SCORE_NEURONS highest of values[0..count) (count >= SLM_SCORE_NEURONS, checked
 * by the export) and, in *high, the highest. Insertion into a descending array of k entries. */
static int64_t slm_top_sum(const int32_t *values, uint32_t count, int32_t *high)
{
    int32_t top[SLM_SCORE_NEURONS];
    uint32_t i, t, filled = 0;
    int64_t sum = 0;
    for (i = 0; i < count; ++i) {
        int32_t value = values[i];
        if (filled < (uint32_t)SLM_SCORE_NEURONS) {
            t = filled++;
        } else if (value > top[SLM_SCORE_NEURONS - 1]) {
            t = SLM_SCORE_NEURONS - 1;
        } else {
            continue;
        }
        while (t > 0u && top[t - 1u] < value) {
            top[t] = top[t - 1u];
            --t;
        }
        top[t] = value;
    }
    for (t = 0; t < (uint32_t)SLM_SCORE_NEURONS; ++t) {
        sum += top[t];
    }
    *high = top[0];
    return sum;
}
#endif

/* Bonus of class k: SLM_NEW_CLASS_BONUS for the classes added after compile, else 0. */
#define SLM_CLASS_BONUS(k) ((k) >= (uint32_t)SLM_BASE_CLASSES ? SLM_NEW_CLASS_BONUS : 0)

/* The class of the best score (Model.predict_classes): class k owns the outputs
 * [k * per_class, (k + 1) * per_class). SLM_SCORE_NEURONS == 1: its score is their max (scaled
 * by slm_output_scale when present), the lowest index wins ties. SLM_SCORE_NEURONS == k > 1
 * (learning models only): integer-only, the sum of its k highest potentials (Python compares
 * their means, the same order as k is the same for all classes), equal sums go to the class
 * with the higher max, then to the lowest index. SLM_CLASS_BONUS is added to the score (the
 * max, or the sum) of each class. */
int32_t slm_predict_class(slm_state_t *state, const uint8_t *input)
{
    const int32_t *scores = slm_forward(state, input);
    uint32_t classes, per_class, k, j, best = 0;
#if SLM_SCORE_NEURONS > 1
    int64_t best_sum = 0;
    int32_t best_max = 0;
    (void)j;
#elif SLM_HAS_OUTPUT_SCALE
    float best_score = 0.0f;
#else
    int32_t best_score = 0;
#endif
    if (scores == (const int32_t *)0) {
        return SLM_ERROR_INPUT;
    }
    classes = (uint32_t)slm_num_classes(state);
#if SLM_LEARNING
    per_class = state->units / classes;
#else
    per_class = SLM_OUTPUT_SIZE / classes;
#endif
#if SLM_SCORE_NEURONS > 1
    for (k = 0; k < classes; ++k) {
        int32_t high;
        int64_t sum = slm_top_sum(scores + k * per_class, per_class, &high) + SLM_CLASS_BONUS(k);
        if (k == 0 || sum > best_sum || (sum == best_sum && high > best_max)) {
            best_sum = sum;
            best_max = high;
            best = k;
        }
    }
#else
    for (k = 0; k < classes; ++k) {
        for (j = k * per_class; j < (k + 1u) * per_class; ++j) {
#if SLM_HAS_OUTPUT_SCALE
            float score = (float)scores[j] * slm_output_scale[j];
#else
            int32_t score = scores[j] + SLM_CLASS_BONUS(k);
#endif
            if (j == 0 || score > best_score) {
                best_score = score;
                best = k;
            }
        }
    }
#endif
    return (int32_t)best;
}

#if SLM_LEARNING
/* SplitMix64 finaliser (the counter-based generator of the swap selection). */
static uint64_t slm_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Partial Fisher-Yates: move `picks` uniformly chosen entries of indices[0..count) to the front. */
static uint64_t slm_sample(slm_index_t *indices, uint32_t count, uint32_t picks, uint64_t rng)
{
    uint32_t t;
    for (t = 0; t < picks; ++t) {
        uint32_t u;
        slm_index_t swap;
        rng += UINT64_C(0x9E3779B97F4A7C15);
        u = t + (uint32_t)(slm_mix64(rng) % (uint64_t)(count - t));
        swap = indices[t];
        indices[t] = indices[u];
        indices[u] = swap;
    }
    return rng;
}

static int slm_has_bit(const uint32_t *mask, uint32_t bit)
{
    return (int)((mask[bit >> 5] >> (bit & 31u)) & 1u);
}

/* First stream state of the next learning event: mix64(seed ^ mix64(rng_counter ^ key)). */
static uint64_t slm_stream(const slm_state_t *state)
{
    return slm_mix64(SLM_SEED ^ slm_mix64(state->rng_counter ^ UINT64_C(0xD1B54A32D192ED03)));
}

static uint32_t slm_min3(uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t low = a < b ? a : b;
    return low < c ? low : c;
}

#if SLM_REWIRE_FREQUENT
/* Rewiring key of input i: 2 * activity + spike (frequent inputs first, then active ones). */
static int64_t slm_key(const int32_t *counts, const uint32_t *spikes, uint32_t i)
{
    return 2 * (int64_t)counts[i] + (int64_t)slm_has_bit(spikes, i);
}

/* Shuffle indices[0..count) with the stream, then stable merge sort by key (highest first when
 * `descending`) through scratch[0..count). Returns the stream state. */
static uint64_t slm_ordered_by_key(slm_index_t *indices, slm_index_t *scratch, uint32_t count,
                                   const int32_t *counts, const uint32_t *spikes, int descending,
                                   uint64_t rng)
{
    uint32_t width, start, t;
    rng = slm_sample(indices, count, count, rng);
    for (width = 1; width < count; width *= 2u) {
        for (start = 0; start < count; start += 2u * width) {
            uint32_t mid = start + width < count ? start + width : count;
            uint32_t end = mid + width < count ? mid + width : count, a = start, b = mid;
            t = start;
            while (a < mid && b < end) {
                int64_t left = slm_key(counts, spikes, indices[a]);
                int64_t right = slm_key(counts, spikes, indices[b]);
                if (descending ? right > left : right < left) {
                    scratch[t++] = indices[b++];
                } else {
                    scratch[t++] = indices[a++];
                }
            }
            while (a < mid) {
                scratch[t++] = indices[a++];
            }
            while (b < end) {
                scratch[t++] = indices[b++];
            }
        }
        for (t = 0; t < count; ++t) {
            indices[t] = scratch[t];
        }
    }
    return rng;
}

/* rewire="frequent": count the sample in the winner's activity, order its connections by
 * increasing key and its free inputs by decreasing key (ties by a uniform shuffle, connections
 * drawn first) into removable / addable; returns the number of pairs to move (added key
 * strictly greater, at most the budget). */
static uint32_t slm_pick_pairs(slm_state_t *state, uint32_t winner)
{
    const uint32_t *mask = state->masks + winner * SLM_MASK_WORDS;
    int32_t *counts = state->activity + winner * SLM_LEARN_INPUTS;
    uint32_t i, num_connected = 0, num_free = 0, limit, pairs = 0;
    uint64_t rng;
    for (i = 0; i < SLM_LEARN_INPUTS; ++i) {
        counts[i] += slm_has_bit(state->spikes, i);
        if (slm_has_bit(mask, i)) {
            state->removable[num_connected++] = (slm_index_t)i;
        }
    }
    /* addable is the sort scratch of the connections, then removable's tail that of the free */
    rng = slm_ordered_by_key(state->removable, state->addable, num_connected, counts,
                             state->spikes, 0, slm_stream(state));
    for (i = 0; i < SLM_LEARN_INPUTS; ++i) {
        if (!slm_has_bit(mask, i)) {
            state->addable[num_free++] = (slm_index_t)i;
        }
    }
    (void)slm_ordered_by_key(state->addable, state->removable + num_connected, num_free, counts,
                             state->spikes, 1, rng);
    limit = slm_min3(state->budget[winner], num_connected, num_free);
    while (pairs < limit && slm_key(counts, state->spikes, state->addable[pairs])
                                > slm_key(counts, state->spikes, state->removable[pairs])) {
        ++pairs;
    }
    return pairs;
}
#else
/* rewire="sample": move min(budget, |R|, |A|) uniformly chosen connections on inactive inputs
 * (R) to uniformly chosen active unconnected inputs (A), removals drawn first; the chosen ones
 * go to the front of removable / addable. Returns their number. */
static uint32_t slm_pick_pairs(slm_state_t *state, uint32_t winner)
{
    const uint32_t *mask = state->masks + winner * SLM_MASK_WORDS;
    uint32_t k, num_off = 0, num_on = 0, swaps;
    for (k = 0; k < SLM_MASK_WORDS; ++k) {
        uint32_t off = mask[k] & ~state->spikes[k], on = state->spikes[k] & ~mask[k];
        while (off != 0u) { /* ascending input order */
            uint32_t low = off & (~off + 1u), bit = 0;
            while ((low >> bit) != 1u) {
                ++bit;
            }
            state->removable[num_off++] = (slm_index_t)(k * 32u + bit);
            off ^= low;
        }
        while (on != 0u) {
            uint32_t low = on & (~on + 1u), bit = 0;
            while ((low >> bit) != 1u) {
                ++bit;
            }
            state->addable[num_on++] = (slm_index_t)(k * 32u + bit);
            on ^= low;
        }
    }
    swaps = slm_min3(state->budget[winner], num_off, num_on);
    if (swaps > 0u) {
        uint64_t rng = slm_sample(state->removable, num_off, swaps, slm_stream(state));
        (void)slm_sample(state->addable, num_on, swaps, rng);
    }
    return swaps;
}
#endif

int32_t slm_learn(slm_state_t *state, const uint8_t *sample, int32_t label)
{
    const uint8_t *levels;
    uint32_t first, stop, j, k, swaps;
    int32_t winner = -1, best = -1, budget;
    uint32_t *mask;
    if (label < -1 || label >= (int32_t)state->num_classes) {
        return SLM_ERROR_LABEL;
    }
    levels = slm_run(state, sample, SLM_NUM_LAYERS);
    if (!slm_pack_spikes(state, levels)) {
        return SLM_ERROR_INPUT;
    }
    slm_overlaps(state, 0);
    if (label >= 0) {
        first = (uint32_t)label * SLM_NEURONS_PER_CLASS;
        stop = first + SLM_NEURONS_PER_CLASS;
    } else {
        first = 0;
        stop = state->units;
    }
    for (j = first; j < stop; ++j) {
        int32_t p = state->output[j];
        if (p > (int32_t)state->vigilance[j] && p > best) {
            best = p;
            winner = (int32_t)j;
        }
    }
#if SLM_RECRUIT
    if (winner < 0 && label >= 0) {
        for (j = first; j < stop; ++j) {
            if (state->wins[j] == 0u) {
                winner = (int32_t)j;
                break;
            }
        }
    }
#endif
    if (winner < 0) {
        return SLM_SKIPPED;
    }
    mask = state->masks + (uint32_t)winner * SLM_MASK_WORDS;
    swaps = slm_pick_pairs(state, (uint32_t)winner);
    if (swaps > 0u) {
        for (k = 0; k < swaps; ++k) {
            uint32_t r = state->removable[k], a = state->addable[k];
            mask[r >> 5] &= ~((uint32_t)1u << (r & 31u));
            mask[a >> 5] |= (uint32_t)1u << (a & 31u);
        }
        state->vigilance[winner] = (slm_count_t)(state->output[winner] < SLM_VIGILANCE_CAP
                                                 ? state->output[winner] : SLM_VIGILANCE_CAP);
        state->rng_counter += 1u;
    }
    budget = (int32_t)state->budget[winner] - SLM_DECREMENT;
    state->budget[winner] = (slm_count_t)(budget > SLM_MIN_BUDGET ? budget : SLM_MIN_BUDGET);
    state->wins[winner] += 1u;
    return winner;
}

/* numpy's PCG64 seeded through SeedSequence([SLM_SEED, neuron]): the fresh masks of
 * Competitive.add_classes are default_rng([seed, neuron]).choice(n_in, num_weights, False). */
typedef struct {
    uint64_t hi, lo, inc_hi, inc_lo;
    uint32_t buffered, has_buffered;
} slm_pcg64_t;

static void slm_mul64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t a0 = a & 0xFFFFFFFFu, a1 = a >> 32, b0 = b & 0xFFFFFFFFu, b1 = b >> 32;
    uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint64_t middle = (p00 >> 32) + (p01 & 0xFFFFFFFFu) + (p10 & 0xFFFFFFFFu);
    *lo = (middle << 32) | (p00 & 0xFFFFFFFFu);
    *hi = p11 + (p01 >> 32) + (p10 >> 32) + (middle >> 32);
}

static void slm_pcg64_step(slm_pcg64_t *g)
{
    uint64_t hi, lo;
    slm_mul64(g->lo, UINT64_C(4865540595714422341), &hi, &lo);
    hi += g->lo * UINT64_C(2549297995355413924) + g->hi * UINT64_C(4865540595714422341);
    g->lo = lo + g->inc_lo;
    g->hi = hi + g->inc_hi + (g->lo < lo ? 1u : 0u);
}

static uint32_t slm_pcg64_next32(slm_pcg64_t *g)
{
    uint64_t mixed;
    uint32_t rot;
    if (g->has_buffered) {
        g->has_buffered = 0;
        return g->buffered;
    }
    slm_pcg64_step(g);
    mixed = g->hi ^ g->lo;
    rot = (uint32_t)(g->hi >> 58);
    mixed = (mixed >> rot) | (mixed << ((64u - rot) & 63u));
    g->has_buffered = 1;
    g->buffered = (uint32_t)(mixed >> 32);
    return (uint32_t)mixed;
}

/* Uniform integer in [0, high] (Lemire's method, numpy's random_bounded_uint64 for high < 2^32). */
static uint32_t slm_pcg64_bounded(slm_pcg64_t *g, uint32_t high)
{
    uint32_t range = high + 1u, leftover;
    uint64_t m;
    if (high == 0u) {
        return 0u;
    }
    m = (uint64_t)slm_pcg64_next32(g) * range;
    leftover = (uint32_t)m;
    if (leftover < range) {
        uint32_t threshold = (0xFFFFFFFFu - high) % range;
        while (leftover < threshold) {
            m = (uint64_t)slm_pcg64_next32(g) * range;
            leftover = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

static uint32_t slm_hashmix(uint32_t value, uint32_t *hash)
{
    value ^= *hash;
    *hash *= 0x931e8875u;
    value *= *hash;
    return value ^ (value >> 16);
}

static uint32_t slm_mix(uint32_t x, uint32_t y)
{
    uint32_t result = 0xca01f9ddu * x - 0x4973f715u * y;
    return result ^ (result >> 16);
}

static void slm_pcg64_seed(slm_pcg64_t *g, uint64_t seed, uint32_t stream)
{
    uint32_t entropy[4], pool[4], words[8], hash = 0x43b0d7e5u, count = 0, i, src, dst;
    uint64_t state[4], init_hi, init_lo;
    entropy[count++] = (uint32_t)seed;
    if ((seed >> 32) != 0u) {
        entropy[count++] = (uint32_t)(seed >> 32);
    }
    entropy[count++] = stream;
    for (i = 0; i < 4u; ++i) {
        pool[i] = slm_hashmix(i < count ? entropy[i] : 0u, &hash);
    }
    for (src = 0; src < 4u; ++src) {
        for (dst = 0; dst < 4u; ++dst) {
            if (src != dst) {
                pool[dst] = slm_mix(pool[dst], slm_hashmix(pool[src], &hash));
            }
        }
    }
    hash = 0x8b51f9ddu;
    for (i = 0; i < 8u; ++i) {
        uint32_t value = pool[i & 3u] ^ hash;
        hash *= 0x58f38dedu;
        value *= hash;
        words[i] = value ^ (value >> 16);
    }
    for (i = 0; i < 4u; ++i) {
        state[i] = (uint64_t)words[2u * i] | ((uint64_t)words[2u * i + 1u] << 32);
    }
    init_hi = state[0];
    init_lo = state[1];
    g->inc_hi = (state[2] << 1) | (state[3] >> 63);
    g->inc_lo = (state[3] << 1) | 1u;
    g->hi = 0;
    g->lo = 0;
    g->has_buffered = 0;
    g->buffered = 0;
    slm_pcg64_step(g);
    g->lo += init_lo;
    g->hi += init_hi + (g->lo < init_lo ? 1u : 0u);
    slm_pcg64_step(g);
}

/* The seeded fresh mask of neuron `neuron`: SLM_NUM_WEIGHTS distinct inputs. */
static void slm_fresh_mask(slm_state_t *state, uint32_t neuron)
{
    uint32_t *mask = state->masks + neuron * SLM_MASK_WORDS;
    const uint32_t n = SLM_LEARN_INPUTS, size = SLM_NUM_WEIGHTS;
    uint32_t i;
    slm_pcg64_t g;
    slm_pcg64_seed(&g, SLM_SEED, neuron);
    for (i = 0; i < SLM_MASK_WORDS; ++i) {
        mask[i] = 0;
    }
    if (n <= 10000u || size <= n / 50u) { /* Floyd's algorithm */
        for (i = n - size; i < n; ++i) {
            uint32_t value = slm_pcg64_bounded(&g, i);
            if (slm_has_bit(mask, value)) {
                value = i;
            }
            mask[value >> 5] |= (uint32_t)1u << (value & 31u);
        }
    } else { /* tail shuffle of 0..n-1 */
        uint32_t last = n - size > 1u ? n - size : 1u;
        for (i = 0; i < n; ++i) {
            state->removable[i] = (slm_index_t)i;
        }
        for (i = n - 1u; i >= last; --i) {
            uint32_t j = slm_pcg64_bounded(&g, i);
            slm_index_t swap = state->removable[i];
            state->removable[i] = state->removable[j];
            state->removable[j] = swap;
        }
        for (i = n - size; i < n; ++i) {
            uint32_t value = state->removable[i];
            mask[value >> 5] |= (uint32_t)1u << (value & 31u);
        }
    }
}

int32_t slm_add_class(slm_state_t *state)
{
    uint32_t j, first = state->units;
    if (first + SLM_NEURONS_PER_CLASS > SLM_MAX_UNITS) {
        return SLM_ERROR_CAPACITY;
    }
    for (j = first; j < first + SLM_NEURONS_PER_CLASS; ++j) {
        slm_fresh_mask(state, j);
        state->vigilance[j] = 0;
        state->budget[j] = (slm_count_t)SLM_INITIAL_BUDGET;
        state->wins[j] = 0;
    }
#if SLM_REWIRE_FREQUENT
    for (j = first * SLM_LEARN_INPUTS;
         j < (first + SLM_NEURONS_PER_CLASS) * SLM_LEARN_INPUTS; ++j) {
        state->activity[j] = 0; /* fresh neurons count from zero */
    }
#endif
    state->units = (uint16_t)(first + SLM_NEURONS_PER_CLASS);
    state->num_classes += 1u;
    return (int32_t)state->num_classes;
}

void slm_init(slm_state_t *state)
{
    uint32_t j;
    for (j = 0; j < SLM_INITIAL_UNITS * SLM_MASK_WORDS; ++j) {
        state->masks[j] = slm_initial_masks[j];
    }
    for (j = 0; j < SLM_INITIAL_UNITS; ++j) {
        state->vigilance[j] = slm_initial_vigilance[j];
        state->budget[j] = slm_initial_budget[j];
        state->wins[j] = slm_initial_wins[j];
    }
#if SLM_REWIRE_FREQUENT
    for (j = 0; j < SLM_INITIAL_UNITS * SLM_LEARN_INPUTS; ++j) {
        state->activity[j] = slm_initial_activity[j];
    }
#endif
    state->rng_counter = SLM_INITIAL_RNG_COUNTER;
    state->units = SLM_INITIAL_UNITS;
    state->num_classes = SLM_INITIAL_CLASSES;
}
#else
int32_t slm_learn(slm_state_t *state, const uint8_t *sample, int32_t label)
{
    (void)state;
    (void)sample;
    (void)label;
    return SLM_ERROR_NOT_COMPILED;
}

int32_t slm_add_class(slm_state_t *state)
{
    (void)state;
    return SLM_ERROR_NOT_COMPILED;
}

void slm_init(slm_state_t *state)
{
    (void)state;
}
#endif
