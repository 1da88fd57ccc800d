/*
 * fake_dialect: what the three dialects of fake-provider (fake_openai.c,
 * fake_anthropic.c, fake_gemini.c) have in common — see fake_dialect.h.
 */
#include "fake_dialect.h"

#include <stdlib.h>
#include <string.h>

void fp_chat_free(fp_chat *c)
{
    free(c->model);
    free(c->tool_name);
    sy_buf_free(&c->echo);
    memset(c, 0, sizeof *c);
}
