/*
 * conversation: how a conversation's state moves from turn to turn (DESIGN.md §7), as
 * pure functions over sy_conv_state. The server loads the state from the store, calls
 * these, and stores it back; the simulator can call the same functions.
 *
 * A turn: sy_conv_begin_turn (rephrase or not: the rephrase counters, good turns, the
 * implicit negative owed to the previous answer), then the route's rules are evaluated
 * by the caller over the state and sy_conv_apply_rule says what the escalation is (a
 * rule that fired, a sticky one from an earlier turn, or calm again), then
 * sy_conv_end_turn when the answer is known (turn count, cost, the request that
 * answered). A thumbs-down on an answer is sy_conv_thumbs_down.
 *
 * good_turns counts the turns in a row the user moved on from: a new question, not a
 * rephrase, with no thumbs-down on the answer before it. So on the turn after a
 * thumbs-down, good_turns is 0 and `thumbs_down >= 1 && good_turns == 0` holds.
 */
#ifndef SY_CONVERSATION_H
#define SY_CONVERSATION_H

#include <stddef.h>
#include <stdint.h>

typedef struct sy_conv_state {
    uint32_t turn, rephrases, rephrases_total, thumbs_down, good_turns;
    double cost_usd;
    uint64_t last_ts_ms;
    char tier[32];    /* sticky escalation tier, "" none */
    char pinned[128]; /* sticky pinned model, "" none */
    char rule[64];    /* the sticky rule, "" none */
    uint8_t last_request[16];
    char last_text[512]; /* the previous user message (prefix) */
    uint8_t rated_down;  /* a thumbs-down arrived since the last turn began */
} sy_conv_state;

/* What sy_conv_begin_turn learned about the turn. */
typedef struct sy_conv_turn {
    int rephrase;      /* the user message rephrases the previous one */
    int rate_previous; /* rephrase of an answered turn: the previous request
                          (st->last_request) deserves an implicit negative rating */
    double idle_s;     /* seconds since the previous turn (0 on the first) */
} sy_conv_turn;

/*
 * Start a turn on st, the state as loaded (known = 0: a new conversation, st is zeroed
 * here). user_text (may be NULL) is the latest user message; it becomes st->last_text,
 * so the next turn compares against it.
 */
void sy_conv_begin_turn(sy_conv_state *st, int known, const char *user_text, size_t user_len,
                        uint64_t now_ms, sy_conv_turn *out);

typedef enum { SY_CONV_ESCALATE, SY_CONV_PIN, SY_CONV_DEESCALATE } sy_conv_action;

/* A rule that fired this turn (NULL name: none fired). */
typedef struct sy_conv_rule {
    const char *name;
    sy_conv_action action;
    const char *target; /* the tier (escalate) or model (pin) */
    int sticky;         /* it holds on later turns until de-escalation */
} sy_conv_rule;

/* The escalation that applies to this turn: restrict the candidates to `tier` or `pin`
 * (NULL: no restriction); `rule` names the rule behind it (NULL: none). */
typedef struct sy_conv_escalation {
    const char *tier, *pin, *rule; /* point into the rule or into st */
} sy_conv_escalation;

/*
 * Apply `fired` (or, with fired->name == NULL, the sticky escalation of an earlier turn,
 * which ends after deescalate_after good turns when that is not 0). Returns the
 * escalation level the featurizer sees: 0 none, else 1 + (rephrasing) + (thumbs-down).
 */
unsigned sy_conv_apply_rule(sy_conv_state *st, const sy_conv_rule *fired, unsigned deescalate_after,
                            sy_conv_escalation *out);

/* Finish a turn answered by request_id at now_ms for cost_usd. */
void sy_conv_end_turn(sy_conv_state *st, uint64_t now_ms, double cost_usd,
                      const uint8_t request_id[16]);

/* An explicit thumbs-down on one of the conversation's answers: counted, and the turn
 * it follows is not a good one (the next turn does not count it). */
void sy_conv_thumbs_down(sy_conv_state *st);

#endif
