/*
 * citations.c — which passages an answer cites: every [n] marker in it
 * whose n numbers a passage that was put before the model, each passage
 * once, in the order the answer first cites them. A model that invents
 * [9] for five passages cites nothing by it.
 */
#include <ctype.h>
#include <stdlib.h>

#include "actors/chat/provider.h"

#define LH_CITE_SNIPPET_BYTES 200

static void lh_cite_one(const lh_chat_passage *ps, int64_t n, lh_arena *arena,
                        lh_chat_citation *c)
{
    size_t len = ps->text.len < LH_CITE_SNIPPET_BYTES ? ps->text.len : LH_CITE_SNIPPET_BYTES;
    while (len < ps->text.len && len && ((unsigned char)ps->text.s[len] & 0xC0) == 0x80)
        len--; /* whole characters only */
    *c = (lh_chat_citation){.corpus = ps->corpus, .id = ps->id,
                            .snippet = {lh_arena_strndup(arena, ps->text.s ? ps->text.s : "", len),
                                        len}};
    LH_SET(c, n, n);
}

void lh_chat_cite_markers(const lh_chat_prompt *p, lh_str answer, lh_arena *arena,
                          lh_chat_complete_reply *rep)
{
    lh_chat_citation *cites = lh_arena_alloc(arena, (p->n_passages + 1) * sizeof *cites);
    bool *seen = lh_arena_alloc(arena, p->n_passages + 1);
    size_t n_cites = 0;
    for (size_t i = 0; i < answer.len; i++) {
        if (answer.s[i] != '[')
            continue;
        size_t j = i + 1, n = 0;
        while (j < answer.len && isdigit((unsigned char)answer.s[j]) && n <= p->n_passages)
            n = n * 10 + (size_t)(answer.s[j++] - '0');
        if (j == i + 1 || j >= answer.len || answer.s[j] != ']' || n < 1 || n > p->n_passages)
            continue;
        if (!seen[n - 1]) {
            seen[n - 1] = true;
            lh_cite_one(&p->passages[n - 1], (int64_t)n, arena, &cites[n_cites++]);
        }
    }
    rep->citations = (lh_objs){cites, n_cites};
}
