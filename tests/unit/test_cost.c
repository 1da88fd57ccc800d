/*
 * Cost accounting against hand-computed values, to the micro-dollar: usage as each
 * dialect reports it (converted to the OpenAI convention by its adapter), cached and
 * cache-written tokens, and aborted streams billed for what was relayed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "cost.h"

#define MICRO 1e-6

static void assert_usd(double got, double want)
{
    if (fabs(got - want) >= 0.5 * MICRO)
        fail_msg("cost %.9f USD, expected %.9f USD", got, want);
}

/* gpt-4o-like: 2.50 in, 1.25 cached, 10.00 out per million. */
static const sy_price_cfg gpt4o = {
    .input = 2.5, .cached_input = 1.25, .cache_write = 2.5, .output = 10};
/* claude-sonnet-like: 3 in, 0.30 cache read, 3.75 cache write, 15 out. */
static const sy_price_cfg sonnet = {
    .input = 3, .cached_input = 0.3, .cache_write = 3.75, .output = 15};
/* gemini-flash-like: 0.30 in, 0.075 cached, 2.50 out (thinking billed as output). */
static const sy_price_cfg flash = {
    .input = 0.3, .cached_input = 0.075, .cache_write = 0.3, .output = 2.5};

static void test_openai_usage_with_cache(void **state)
{
    /* 1,200 prompt tokens of which 1,024 cached, 300 completion:
     * 176 × 2.5 + 1024 × 1.25 + 300 × 10 = 440 + 1280 + 3000 = 4720 µ$ */
    sy_usage u = {
        .prompt_tokens = 1200, .cached_tokens = 1024, .completion_tokens = 300, .have = 1};
    assert_usd(sy_cost_usd(&gpt4o, &u), 4720 * MICRO);
}

static void test_anthropic_usage_with_cache_read_and_write(void **state)
{
    /* Anthropic reports input_tokens=50, cache_read=2000, cache_creation=1000, out=400;
     * the adapter's convention: prompt = 3050, cached = 2000, cache_write = 1000.
     * 50 × 3 + 2000 × 0.3 + 1000 × 3.75 + 400 × 15 = 150 + 600 + 3750 + 6000 = 10500 µ$ */
    sy_usage u = {.prompt_tokens = 3050,
                  .cached_tokens = 2000,
                  .cache_write_tokens = 1000,
                  .completion_tokens = 400,
                  .have = 1};
    assert_usd(sy_cost_usd(&sonnet, &u), 10500 * MICRO);
}

static void test_gemini_usage_with_thoughts(void **state)
{
    /* promptTokenCount=1000 (incl. 600 cached), candidates=120, thoughts=380:
     * completion = 500. 400 × 0.3 + 600 × 0.075 + 500 × 2.5 = 120 + 45 + 1250 = 1415 µ$ */
    sy_usage u = {.prompt_tokens = 1000,
                  .cached_tokens = 600,
                  .completion_tokens = 500,
                  .reasoning_tokens = 380,
                  .have = 1};
    assert_usd(sy_cost_usd(&flash, &u), 1415 * MICRO);
}

static void test_fractional_micro_dollars(void **state)
{
    /* 3 cached tokens at 0.075 = 0.225 µ$; 1 output at 2.5 = 2.5 µ$: 2.725 µ$ total */
    sy_usage u = {.prompt_tokens = 3, .cached_tokens = 3, .completion_tokens = 1, .have = 1};
    assert_true(fabs(sy_cost_usd(&flash, &u) - 2.725e-6) < 1e-12);
}

static void test_complete_exchange_bills_reported_usage(void **state)
{
    sy_relay_state rs = {.usage = {.prompt_tokens = 100, .completion_tokens = 20, .have = 1},
                         .content_chunks = 25,
                         .content_bytes = 400};
    sy_bill b;
    sy_bill_exchange(&gpt4o, &rs, 1, 999, &b);
    assert_false(b.estimated);
    assert_int_equal(b.usage.completion_tokens, 20); /* reported wins when complete */
    assert_usd(b.cost_usd, (100 * 2.5 + 20 * 10) * MICRO);
}

static void test_aborted_stream_without_usage_is_billed(void **state)
{
    /* OpenAI stream cut after 37 content chunks (150 bytes of text), no usage at all;
     * the request body was 410 bytes: prompt ≈ ceil(410/4) = 103, completion =
     * max(37, ceil(150/4) = 38) = 38. 103 × 2.5 + 38 × 10 = 257.5 + 380 = 637.5 µ$ */
    sy_relay_state rs = {.content_chunks = 37, .content_bytes = 150};
    sy_bill b;
    sy_bill_exchange(&gpt4o, &rs, 0, 410, &b);
    assert_true(b.estimated);
    assert_int_equal(b.usage.prompt_tokens, 103);
    assert_int_equal(b.usage.completion_tokens, 38);
    assert_usd(b.cost_usd, 637.5 * MICRO);
}

static void test_aborted_stream_keeps_reported_prompt(void **state)
{
    /* Anthropic reported input usage in message_start (prompt 500, 100 cache read) and
     * output_tokens=1 so far; the stream was cut after 60 chunks: completion = 60.
     * 400 × 3 + 100 × 0.3 + 60 × 15 = 1200 + 30 + 900 = 2130 µ$ */
    sy_relay_state rs = {
        .usage = {.prompt_tokens = 500, .cached_tokens = 100, .completion_tokens = 1, .have = 1},
        .content_chunks = 60,
        .content_bytes = 200};
    sy_bill b;
    sy_bill_exchange(&sonnet, &rs, 0, 4000, &b);
    assert_true(b.estimated);
    assert_int_equal(b.usage.prompt_tokens, 500);
    assert_int_equal(b.usage.completion_tokens, 60);
    assert_usd(b.cost_usd, 2130 * MICRO);
}

static void test_nothing_relayed_costs_nothing_beyond_prompt(void **state)
{
    sy_relay_state rs = {0};
    sy_bill b;
    sy_bill_exchange(&gpt4o, &rs, 0, 0, &b);
    assert_false(b.estimated);
    assert_usd(b.cost_usd, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_usage_with_cache),
        cmocka_unit_test(test_anthropic_usage_with_cache_read_and_write),
        cmocka_unit_test(test_gemini_usage_with_thoughts),
        cmocka_unit_test(test_fractional_micro_dollars),
        cmocka_unit_test(test_complete_exchange_bills_reported_usage),
        cmocka_unit_test(test_aborted_stream_without_usage_is_billed),
        cmocka_unit_test(test_aborted_stream_keeps_reported_prompt),
        cmocka_unit_test(test_nothing_relayed_costs_nothing_beyond_prompt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
