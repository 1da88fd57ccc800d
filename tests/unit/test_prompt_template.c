/* Prompt templates: rendering (placeholders in string contents and text parts, defaults,
 * number formatting, the request's own messages and parameters), one error naming every
 * bad variable, definition checks, no re-expansion of values, and the size bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "prompt_template.h"

static const char *DEF =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"You are {{persona}} ({{ lang }}).\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"#{{n}} {{q}} {{ratio}} "
    "{{flag}}\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://h/{{q}}\"}}]}],"
    "\"variables\":{\"persona\":{\"type\":\"string\"},\"q\":{\"type\":\"string\"},"
    "\"lang\":{\"type\":\"string\",\"required\":false,\"default\":\"en\"},"
    "\"n\":{\"type\":\"integer\",\"required\":false,\"default\":4},"
    "\"ratio\":{\"type\":\"number\",\"required\":false},"
    "\"flag\":{\"type\":\"boolean\",\"required\":false,\"default\":true}},"
    "\"parameters\":{\"temperature\":0.1,\"max_tokens\":9},\"model\":\"m1\"}";

static sy_prompt_template *parse(const char *json)
{
    cJSON *d = cJSON_Parse(json);
    assert_non_null(d);
    sy_prompt_error err;
    sy_prompt_template *t = sy_prompt_template_parse(d, &err);
    cJSON_Delete(d);
    return t;
}

/* Render DEF with vars into req; return the rendered request as text (caller frees). */
static char *render(const char *vars, const char *req, sy_prompt_error *err, int *rc)
{
    sy_prompt_template *t = parse(DEF);
    assert_non_null(t);
    cJSON *v = vars ? cJSON_Parse(vars) : NULL;
    cJSON *r = cJSON_Parse(req);
    *rc = sy_prompt_render(t, v, r, 4096, err);
    char *out = cJSON_PrintUnformatted(r);
    cJSON_Delete(v);
    cJSON_Delete(r);
    sy_prompt_template_free(t);
    return out;
}

static void test_render(void **state)
{
    (void)state;
    sy_prompt_error err;
    int rc;
    char *out = render(
        "{\"persona\":\"a {{q}} bot\",\"q\":\"why\",\"ratio\":0.25}",
        "{\"temperature\":0.7,\"messages\":[{\"role\":\"user\",\"content\":\"more\"}]}", &err, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(
        out,
        "{\"temperature\":0.7,\"messages\":[{\"role\":\"system\",\"content\":\"You are a {{q}} "
        "bot (en).\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"#4 why "
        "0.25 true\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://h/{{q}}\"}}]},"
        "{\"role\":\"user\",\"content\":\"more\"}],\"max_tokens\":9,\"model\":\"m1\"}");
    free(out);
    out = render("{\"persona\":\"p\",\"q\":\"\",\"n\":-3,\"flag\":false}", "{\"model\":\"mine\"}",
                 &err, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "\"text\":\"#-3   false\""));
    assert_non_null(strstr(out, "\"model\":\"mine\""));
    free(out);
}

static void test_variable_errors(void **state)
{
    (void)state;
    sy_prompt_error err;
    int rc;
    free(render("{\"q\":1,\"zz\":2,\"n\":2.5}", "{}", &err, &rc));
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.message, "missing required variable(s): 'persona'"));
    assert_non_null(strstr(err.message, "undeclared variable(s): 'zz'"));
    assert_non_null(strstr(err.message, "'q' must be a string"));
    assert_non_null(strstr(err.message, "'n' must be an integer"));
    assert_string_equal(err.param, "prompt.variables.q"); /* the first problem met */
    free(render(NULL, "{}", &err, &rc));
    assert_int_equal(rc, -1);
    assert_string_equal(err.param, "prompt.variables.persona");
    free(render("[1]", "{}", &err, &rc));
    assert_int_equal(rc, -1);
    assert_string_equal(err.param, "prompt.variables");
    free(render("{\"persona\":\"p\",\"q\":\"q\"}", "{\"messages\":{}}", &err, &rc));
    assert_int_equal(rc, -1);
    assert_string_equal(err.param, "messages");
}

static void test_bad_definitions(void **state)
{
    (void)state;
    static const struct {
        const char *def, *param;
    } cases[] = {
        {"[]", ""},
        {"{\"messages\":[]}", "messages"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"{{x}}\"}]}", "messages[0].content"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"{{ x\"}]}", "messages[0].content"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"{{}}\"}]}", "messages[0].content"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"{{9x}}\"}]}", "messages[0].content"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"{{y}}\"}]}]}",
         "messages[0].content[0]"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":3}]}", "messages[0].content"},
        {"{\"messages\":[{\"content\":\"x\"}]}", "messages[0]"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"parameters\":{\"base_url\":1}}",
         "parameters.base_url"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"parameters\":{\"stream\":true}}",
         "parameters.stream"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"variables\":{\"a b\":{\"type\":"
         "\"string\"}}}",
         "variables.a b"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"variables\":{\"a\":{\"type\":"
         "\"integer\",\"required\":false,\"default\":1.5}}}",
         "variables.a"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":\"\"}", "model"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"eval\":\"1+1\"}", "eval"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *d = cJSON_Parse(cases[i].def);
        sy_prompt_error err;
        sy_prompt_template *t = sy_prompt_template_parse(d, &err);
        cJSON_Delete(d);
        if (t || strcmp(err.param, cases[i].param) != 0)
            fail_msg("case %zu (%s): got param '%s' (%s)", i, cases[i].def, err.param, err.message);
    }
}

static void test_size_bound(void **state)
{
    (void)state;
    sy_prompt_template *t = parse("{\"messages\":[{\"role\":\"user\",\"content\":"
                                  "\"{{a}}{{a}}{{a}}{{a}}{{a}}{{a}}{{a}}{{a}}\"}],"
                                  "\"variables\":{\"a\":{\"type\":\"string\"}}}");
    assert_non_null(t);
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "a", big);
    cJSON *r = cJSON_CreateObject();
    sy_prompt_error err;
    assert_int_equal(sy_prompt_render(t, v, r, 7999, &err), -1);
    assert_string_equal(err.param, "prompt");
    assert_int_equal(sy_prompt_render(t, v, r, 8000, &err), 0);
    cJSON_Delete(v);
    cJSON_Delete(r);
    sy_prompt_template_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_variable_errors),
        cmocka_unit_test(test_bad_definitions),
        cmocka_unit_test(test_size_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
