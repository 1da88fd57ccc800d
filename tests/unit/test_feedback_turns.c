/*
 * feedback/: how a conversation's state moves on a turn (conversation.h), what a rating
 * means (rating.h) and the feedback token (feedback_token.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "conversation.h"
#include "feedback_token.h"
#include "rating.h"

static const uint8_t req_a[16] = {1, 2, 3};

static void begin(sy_conv_state *st, int known, const char *text, sy_conv_turn *t, uint64_t now)
{
    sy_conv_begin_turn(st, known, text, text ? strlen(text) : 0, now, t);
}

/* A new conversation starts from zero, remembers the message, owes nobody a rating. */
static void test_first_turn(void **unused)
{
    sy_conv_state st;
    memset(&st, 0x5a, sizeof(st)); /* garbage: known = 0 must clear it */
    sy_conv_turn t;
    begin(&st, 0, "how do I reset my password", &t, 1000);
    assert_false(t.rephrase);
    assert_false(t.rate_previous);
    assert_true(t.idle_s == 0);
    assert_int_equal(st.turn, 0);
    assert_int_equal(st.good_turns, 0);
    assert_string_equal(st.last_text, "how do I reset my password");
    sy_conv_end_turn(&st, 2000, 0.25, req_a);
    assert_int_equal(st.turn, 1);
    assert_int_equal(st.last_ts_ms, 2000);
    assert_true(st.cost_usd == 0.25);
    assert_memory_equal(st.last_request, req_a, 16);
}

/* A rephrase counts, resets good turns and owes the previous answer a negative; a new
 * question is a good turn and resets the consecutive rephrases. */
static void test_rephrase_then_new_question(void **unused)
{
    sy_conv_state st;
    sy_conv_turn t;
    begin(&st, 0, "how do I reset my password", &t, 1000);
    sy_conv_end_turn(&st, 1000, 0, req_a);
    begin(&st, 1, "that's not what I asked, how can I reset my password?", &t, 6000);
    assert_true(t.rephrase);
    assert_true(t.rate_previous);
    assert_true(t.idle_s == 5.0);
    assert_int_equal(st.rephrases, 1);
    assert_int_equal(st.rephrases_total, 1);
    sy_conv_end_turn(&st, 6000, 0, req_a);
    begin(&st, 1, "what is the capital of Australia", &t, 7000);
    assert_false(t.rephrase);
    assert_int_equal(st.rephrases, 0);
    assert_int_equal(st.rephrases_total, 1);
    assert_int_equal(st.good_turns, 1);
}

/* A rephrase before any answer was recorded owes no rating (no previous request). */
static void test_rephrase_without_previous_request(void **unused)
{
    sy_conv_state st;
    sy_conv_turn t;
    begin(&st, 0, "reset my password", &t, 0);
    st.turn = 1; /* a turn whose request id was never stored */
    begin(&st, 1, "reset my password please", &t, 0);
    assert_true(t.rephrase);
    assert_false(t.rate_previous);
}

/* The remembered message is a bounded prefix. */
static void test_long_message_is_truncated(void **unused)
{
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sy_conv_state st;
    sy_conv_turn t;
    begin(&st, 0, big, &t, 0);
    assert_int_equal(strlen(st.last_text), sizeof(st.last_text) - 1);
}

/* Sticky escalation holds on later turns and backs down after N good turns; a
 * non-sticky one applies to its turn only; de-escalation clears. */
static void test_escalation_rules(void **unused)
{
    sy_conv_state st;
    sy_conv_turn t;
    sy_conv_escalation esc;
    begin(&st, 0, "a", &t, 0);
    sy_conv_rule up = {
        .name = "frustrated", .action = SY_CONV_ESCALATE, .target = "strong", .sticky = 1};
    assert_int_equal(sy_conv_apply_rule(&st, &up, 2, &esc), 1);
    assert_string_equal(esc.tier, "strong");
    assert_null(esc.pin);
    assert_string_equal(esc.rule, "frustrated");
    sy_conv_rule none = {0};
    st.good_turns = 1;
    assert_int_equal(sy_conv_apply_rule(&st, &none, 2, &esc), 1);
    assert_string_equal(esc.tier, "strong"); /* sticky */
    assert_string_equal(esc.rule, "frustrated");
    st.rephrases = 1;
    st.thumbs_down = 1;
    assert_int_equal(sy_conv_apply_rule(&st, &none, 2, &esc), 3);
    st.good_turns = 2;
    assert_int_equal(sy_conv_apply_rule(&st, &none, 2, &esc), 0); /* calm again */
    assert_null(esc.tier);
    assert_string_equal(st.tier, "");
    sy_conv_rule pin = {.name = "vip", .action = SY_CONV_PIN, .target = "gpt-4", .sticky = 0};
    assert_true(sy_conv_apply_rule(&st, &pin, 0, &esc) > 0);
    assert_string_equal(esc.pin, "gpt-4");
    assert_string_equal(st.pinned, ""); /* not sticky */
    assert_int_equal(sy_conv_apply_rule(&st, &up, 0, &esc), 3);
    sy_conv_rule down = {.name = "ok", .action = SY_CONV_DEESCALATE};
    assert_int_equal(sy_conv_apply_rule(&st, &down, 0, &esc), 0);
    assert_string_equal(esc.rule, "ok");
    assert_string_equal(st.tier, "");
    assert_string_equal(st.rule, "");
}

/* The turn after a thumbs-down is not counted as good (docs/escalation.md's rule
 * `thumbs_down >= 1 && good_turns == 0` must hold on it); the one after that is. */
static void test_thumbs_down(void **unused)
{
    sy_conv_state st;
    sy_conv_turn t;
    begin(&st, 0, "how do I reset my password", &t, 0);
    sy_conv_end_turn(&st, 0, 0, req_a);
    begin(&st, 1, "what is the capital of France", &t, 0);
    sy_conv_end_turn(&st, 0, 0, req_a);
    assert_int_equal(st.good_turns, 1);
    sy_conv_thumbs_down(&st);
    assert_int_equal(st.thumbs_down, 1);
    assert_int_equal(st.good_turns, 0);
    begin(&st, 1, "who wrote Macbeth", &t, 0);
    assert_false(t.rephrase);
    assert_int_equal(st.good_turns, 0);
    sy_conv_end_turn(&st, 0, 0, req_a);
    begin(&st, 1, "how tall is the Eiffel tower", &t, 0);
    assert_int_equal(st.good_turns, 1);
}

static double rating_of(const char *json, const char **param)
{
    cJSON *j = cJSON_Parse(json);
    const char *message = NULL;
    *param = NULL;
    double v = sy_rating_read(j, param, &message);
    if (v < 0)
        assert_non_null(message);
    cJSON_Delete(j);
    return v;
}

static void test_rating(void **unused)
{
    const char *param;
    assert_true(rating_of("{\"rating\":\"up\"}", &param) == 1);
    assert_true(rating_of("{\"rating\":\"down\"}", &param) == 0);
    assert_true(rating_of("{\"value\":0.25}", &param) == 0.25);
    assert_true(rating_of("{\"value\":0}", &param) == 0);
    assert_true(rating_of("{\"value\":1}", &param) == 1);
    assert_true(rating_of("{\"value\":1.5}", &param) < 0);
    assert_string_equal(param, "value");
    assert_true(rating_of("{\"value\":\"1\"}", &param) < 0);
    assert_true(rating_of("{\"rating\":\"meh\"}", &param) < 0);
    assert_string_equal(param, "rating");
    assert_true(rating_of("{\"rating\":\"up\",\"value\":1}", &param) < 0);
    assert_string_equal(param, "value");
    assert_true(rating_of("{}", &param) < 0);
    assert_string_equal(param, "rating");
}

/* The token is HMAC-SHA256(secret, id) truncated to 16 bytes, as hex: checked against
 * RFC 4231 test case 2 (key "Jefe", data "what do ya want for nothing?"). */
static void test_token(void **unused)
{
    sy_hmac_sha256_ctx key;
    sy_hmac_sha256_init(&key, "Jefe", 4);
    char tok[SY_FEEDBACK_TOKEN_LEN + 1];
    sy_feedback_token(&key, "what do ya want for nothing?", tok);
    assert_string_equal(tok, "5bdcc146bf60754e6a042426089575c7");
    assert_true(sy_feedback_token_valid(&key, "what do ya want for nothing?", tok, strlen(tok)));
    assert_false(sy_feedback_token_valid(&key, "what do ya want for nothing!", tok, strlen(tok)));
    assert_false(sy_feedback_token_valid(&key, "what do ya want for nothing?", tok, 31));
    tok[0] = '6';
    assert_false(sy_feedback_token_valid(&key, "what do ya want for nothing?", tok, strlen(tok)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_turn),
        cmocka_unit_test(test_rephrase_then_new_question),
        cmocka_unit_test(test_rephrase_without_previous_request),
        cmocka_unit_test(test_long_message_is_truncated),
        cmocka_unit_test(test_escalation_rules),
        cmocka_unit_test(test_thumbs_down),
        cmocka_unit_test(test_rating),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
