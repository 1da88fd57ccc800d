/*
 * hash_bench: CPU time of the hashing done per request (issue 17): the feedback token
 * (HMAC-SHA256 of the request id with the pads hashed once), the client key's SHA-256
 * and a conversation id's SHA-256, with the portable compression and with the CPU's SHA
 * extensions (SHA-NI) when it has them. Usage: hash_bench [--seconds S] [--runs R]
 * Each figure is the best of R runs of S seconds of this thread's CPU time.
 */
#include "feedback_token.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef enum { TOKEN, KEY, CONV } op_kind;

static volatile unsigned sink;

/* ns per operation: best of runs, each `seconds` of CPU time. */
static double time_op(op_kind op, const sy_hmac_sha256_ctx *key, double seconds, int runs)
{
    static const char id[] = "01JEXAMPLE0REQUEST0ID00001";
    static const char bearer[] = "sk-switchyard-client-0123456789abcdefghij";
    static const char conv[] = "bench-1234567:support-chat-conversation";
    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        long n = 0;
        double t0 = now_s(), t;
        do {
            for (int i = 0; i < 1000; i++, n++) {
                char tok[SY_FEEDBACK_TOKEN_LEN + 1];
                uint8_t d[SY_SHA256_LEN];
                if (op == TOKEN) {
                    sy_feedback_token(key, id, tok);
                    sink += (unsigned)tok[3];
                } else {
                    const char *s = op == KEY ? bearer : conv;
                    sy_sha256(s, strlen(s), d);
                    sink += d[0];
                }
            }
            t = now_s() - t0;
        } while (t < seconds);
        if (t / (double)n < best)
            best = t / (double)n;
    }
    return best * 1e9;
}

int main(int argc, char **argv)
{
    double seconds = 0.3;
    int runs = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
    }
    sy_hmac_sha256_ctx key;
    uint8_t secret[32] = {1, 2, 3};
    sy_hmac_sha256_init(&key, secret, sizeof(secret));
    static const char *const names[] = {"feedback token (HMAC-SHA256, 26-byte id)",
                                        "client key digest (SHA-256, 41 bytes)",
                                        "conversation id (SHA-256, 39 bytes)"};
    int has = sy_sha256_set_accelerated(1);
    printf("| operation | portable | SHA-NI |\n|---|---|---|\n");
    for (int op = TOKEN; op <= CONV; op++) {
        sy_sha256_set_accelerated(0);
        double portable = time_op((op_kind)op, &key, seconds, runs);
        double accel = 0;
        if (has) {
            sy_sha256_set_accelerated(1);
            accel = time_op((op_kind)op, &key, seconds, runs);
        }
        if (has)
            printf("| %s | %.0f ns | %.0f ns |\n", names[op], portable, accel);
        else
            printf("| %s | %.0f ns | (not on this CPU) |\n", names[op], portable);
    }
    return 0;
}
