/* Test harness of a spikelearn C export: `slm_harness COMMANDS OUTPUT`.
 *
 * COMMANDS is a binary file of one-byte commands, each followed by its arguments;
 * every command appends its answer to OUTPUT (little-endian host integers):
 *   'I'                      slm_init                        -> nothing
 *   'F' input[SLM_INPUT_SIZE] slm_forward                    -> int32 count, int32 values[count]
 *                                                               (count -1: rejected input)
 *   'P' input                slm_predict_class               -> int32 class or error
 *   'L' int32 label, input   slm_learn                       -> int32 winner / code
 *   'A'                      slm_add_class                   -> int32 classes / code
 *   'S'                      learning state                  -> int32 units, int32 classes,
 *                               uint64 rng_counter, uint32 masks[units * SLM_MASK_WORDS],
 *                               int32 vigilance[units], int32 budget[units], uint32 wins[units],
 *                               int32 rows, int32 activity[rows * SLM_LEARN_INPUTS] (rows:
 *                               units with rewire="frequent", else 0; neuron-major)
 *   'M'                      sizes                           -> int32 sizeof(slm_state_t)
 * Exit status 0, or 1 on an I/O error or an unknown command. */
#include <stdio.h>
#include <string.h>

#include "slm_model.h"

static slm_state_t state;
static uint8_t input[SLM_INPUT_SIZE];

static int write_i32(FILE *out, int32_t value)
{
    return fwrite(&value, sizeof value, 1, out) == 1;
}

static int dump_state(FILE *out)
{
#if SLM_LEARNING
    uint32_t j;
    int ok = write_i32(out, (int32_t)state.units) && write_i32(out, (int32_t)state.num_classes)
             && fwrite(&state.rng_counter, sizeof state.rng_counter, 1, out) == 1
             && fwrite(state.masks, sizeof(uint32_t), (size_t)state.units * SLM_MASK_WORDS, out)
                    == (size_t)state.units * SLM_MASK_WORDS;
    for (j = 0; ok && j < state.units; ++j) {
        ok = write_i32(out, (int32_t)state.vigilance[j]);
    }
    for (j = 0; ok && j < state.units; ++j) {
        ok = write_i32(out, (int32_t)state.budget[j]);
    }
    ok = ok && fwrite(state.wins, sizeof(uint32_t), state.units, out) == state.units;
#if SLM_REWIRE_FREQUENT
    return ok && write_i32(out, (int32_t)state.units)
           && fwrite(state.activity, sizeof(int32_t), (size_t)state.units * SLM_LEARN_INPUTS, out)
                  == (size_t)state.units * SLM_LEARN_INPUTS;
#else
    return ok && write_i32(out, 0);
#endif
#else
    uint64_t zero = 0;
    return write_i32(out, 0) && write_i32(out, 0) && fwrite(&zero, sizeof zero, 1, out) == 1
           && write_i32(out, 0);
#endif
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    int command, ok = 1;
    if (argc != 3) {
        fprintf(stderr, "usage: %s COMMANDS OUTPUT\n", argv[0]);
        return 1;
    }
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    memset(&state, 0, sizeof state);
    while (ok && (command = fgetc(in)) != EOF) {
        int32_t label = 0;
        const int32_t *values;
        uint32_t i, count;
        switch (command) {
        case 'I':
            slm_init(&state);
            break;
        case 'F':
            ok = fread(input, 1, sizeof input, in) == sizeof input;
            values = ok ? slm_forward(&state, input) : NULL;
            count = values == NULL ? 0u : SLM_OUTPUT_SIZE_OF(&state);
            ok = ok && write_i32(out, values == NULL ? -1 : (int32_t)count);
            for (i = 0; ok && i < count; ++i) {
                ok = write_i32(out, values[i]);
            }
            break;
        case 'P':
            ok = fread(input, 1, sizeof input, in) == sizeof input
                 && write_i32(out, slm_predict_class(&state, input));
            break;
        case 'L':
            ok = fread(&label, sizeof label, 1, in) == 1
                 && fread(input, 1, sizeof input, in) == sizeof input
                 && write_i32(out, slm_learn(&state, input, label));
            break;
        case 'A':
            ok = write_i32(out, slm_add_class(&state));
            break;
        case 'S':
            ok = dump_state(out);
            break;
        case 'M':
            ok = write_i32(out, (int32_t)sizeof(slm_state_t));
            break;
        default:
            fprintf(stderr, "unknown command %d\n", command);
            ok = 0;
        }
    }
    fclose(in);
    return fclose(out) == 0 && ok ? 0 : 1;
}
