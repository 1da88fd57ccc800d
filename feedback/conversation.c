/* conversation: see conversation.h. */
#include "conversation.h"

#include "rephrase.h"

#include <stdio.h>
#include <string.h>

void sy_conv_begin_turn(sy_conv_state *st, int known, const char *user_text, size_t user_len,
                        uint64_t now_ms, sy_conv_turn *out)
{
    if (!known)
        memset(st, 0, sizeof(*st));
    memset(out, 0, sizeof(*out));
    out->rephrase = known && st->turn > 0 && user_text &&
                    sy_is_rephrase(st->last_text, strlen(st->last_text), user_text, user_len);
    out->idle_s = known && st->last_ts_ms && now_ms > st->last_ts_ms
                      ? (double)(now_ms - st->last_ts_ms) / 1000.0
                      : 0;
    if (out->rephrase) {
        st->rephrases++;
        st->rephrases_total++;
        st->good_turns = 0;
        for (int i = 0; i < 16; i++)
            out->rate_previous |= st->last_request[i] != 0;
    } else {
        st->rephrases = 0;
        if (known && st->turn > 0 && !st->rated_down) /* moved on, and not rated down */
            st->good_turns++;
    }
    st->rated_down = 0;
    if (user_text) {
        size_t n = user_len < sizeof(st->last_text) ? user_len : sizeof(st->last_text) - 1;
        memcpy(st->last_text, user_text, n);
        st->last_text[n] = '\0';
    }
}

static void clear_escalation(sy_conv_state *st)
{
    st->tier[0] = st->pinned[0] = st->rule[0] = '\0';
}

unsigned sy_conv_apply_rule(sy_conv_state *st, const sy_conv_rule *fired, unsigned deescalate_after,
                            sy_conv_escalation *out)
{
    memset(out, 0, sizeof(*out));
    if (fired && fired->name) {
        out->rule = fired->name;
        if (fired->action == SY_CONV_DEESCALATE) {
            clear_escalation(st);
        } else {
            if (fired->action == SY_CONV_ESCALATE)
                out->tier = fired->target;
            else
                out->pin = fired->target;
            if (fired->sticky) {
                snprintf(st->tier, sizeof(st->tier), "%s",
                         fired->action == SY_CONV_ESCALATE ? fired->target : "");
                snprintf(st->pinned, sizeof(st->pinned), "%s",
                         fired->action == SY_CONV_PIN ? fired->target : "");
                snprintf(st->rule, sizeof(st->rule), "%s", fired->name);
            }
        }
    } else if (st->tier[0] || st->pinned[0]) {
        if (deescalate_after && st->good_turns >= deescalate_after) {
            clear_escalation(st); /* calm again: back down */
        } else {
            out->tier = st->tier[0] ? st->tier : NULL;
            out->pin = st->pinned[0] ? st->pinned : NULL;
            out->rule = st->rule[0] ? st->rule : NULL;
        }
    }
    if (!out->tier && !out->pin)
        return 0;
    return 1 + (st->rephrases > 0) + (st->thumbs_down > 0);
}

void sy_conv_end_turn(sy_conv_state *st, uint64_t now_ms, double cost_usd,
                      const uint8_t request_id[16])
{
    st->turn++;
    st->last_ts_ms = now_ms;
    st->cost_usd += cost_usd;
    memcpy(st->last_request, request_id, 16);
}

void sy_conv_thumbs_down(sy_conv_state *st)
{
    st->thumbs_down++;
    st->good_turns = 0;
    st->rated_down = 1;
}
