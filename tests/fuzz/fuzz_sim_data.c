/* Fuzz target: the simulator's input readers (sim/sim_csv.c, sim/sim_data.c,
 * sim/sim_scenario.c). The first byte picks the reader, the rest is the file:
 *   0 the RFC 4180 record reader     1 a RouterBench CSV      2 the generic JSONL
 *   3 a scenario (then 50 steps of it as a source)            4 the Python-list prompt
 * Every input must end in SY_OK or an error with a message, never a crash or a leak. */
#include "sim_csv.h"
#include "sim_data.h"
#include "sim_scenario.h"
#include "sy_common.h"

#include <gsl/gsl_errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    gsl_set_error_handler_off();
    unsigned mode = data[0] % 5;
    size_t n = size - 1;
    char *text = malloc(n + 1);
    memcpy(text, data + 1, n);
    text[n] = '\0';
    char err[512];
    if (mode == 0) {
        sy_csv c;
        sy_csv_init(&c, text, n);
        while (sy_csv_next(&c) == 1)
            ;
        sy_csv_free(&c);
    } else if (mode == 1) {
        sy_sim_dataset ds = {0};
        if (sy_sim_parse_routerbench(text, n, "fuzz.csv", 1, &ds, err, sizeof(err)) == SY_OK)
            sy_sim_dataset_compact(&ds);
        sy_sim_dataset_free(&ds);
    } else if (mode == 2) {
        sy_sim_dataset ds = {0};
        sy_sim_parse_jsonl(text, "fuzz.jsonl", &ds, err, sizeof(err));
        sy_sim_dataset_free(&ds);
    } else if (mode == 3) {
        sy_sim_scenario *sc = sy_sim_scenario_parse(text, n, err, sizeof(err));
        if (sc) {
            sy_objective obj = {.w_quality = 1, .w_cost = 10, .w_latency = 0.1};
            sy_sim_source src;
            if (sy_sim_scenario_source(sc, 24, &obj, &src) == SY_OK) {
                src.begin(src.ctx, 1);
                sy_sim_row row;
                for (size_t t = 0; t < 50 && t < src.steps; t++)
                    src.row(src.ctx, t, &row);
            }
            sy_sim_scenario_free(sc);
        }
    } else {
        char *last;
        size_t len, total;
        if (sy_sim_decode_pylist(text, n, &last, &len, &total) == 0)
            free(last);
    }
    free(text);
    return 0;
}
