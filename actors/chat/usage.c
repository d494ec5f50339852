/*
 * usage.c — a completion's token counts: the provider's own when it gives
 * them, otherwise estimated (a token counted as a word, the way
 * /v1/embeddings counts them) and marked so, so usage is always there.
 */
#include <ctype.h>

#include "actors/chat/provider.h"

size_t lh_chat_count_words(const char *s, size_t len)
{
    size_t words = 0;
    for (size_t i = 0; s && i < len; i++)
        words += !isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1]));
    return words;
}

static size_t lh_chat_prompt_words(const lh_chat_prompt *p)
{
    size_t words = 0;
    const lh_chat_message *m = p->req->messages.v;
    for (size_t i = 0; i < p->req->messages.n; i++)
        words += lh_chat_count_words(m[i].content.s, m[i].content.len);
    for (size_t i = 0; i < p->n_passages; i++)
        words += lh_chat_count_words(p->passages[i].text.s, p->passages[i].text.len);
    return words;
}

lh_chat_usage *lh_chat_usage_make(const lh_chat_prompt *p, lh_str answer, const int64_t *prompt,
                                  const int64_t *completion, lh_arena *arena)
{
    lh_chat_usage *u = lh_arena_alloc(arena, sizeof *u);
    LH_SET(u, prompt_tokens, prompt ? *prompt : (int64_t)lh_chat_prompt_words(p));
    LH_SET(u, completion_tokens,
           completion ? *completion : (int64_t)lh_chat_count_words(answer.s, answer.len));
    LH_SET(u, estimated, !prompt || !completion);
    return u;
}
