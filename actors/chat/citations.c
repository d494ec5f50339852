/*
 * citations.c — which passages an answer cites: every [n] marker in it
 * ("[2]", "[1, 3]") whose n numbers a passage that was put before the
 * model, each passage once, in the order the answer first cites them. A
 * model that invents [9] for five passages cites nothing by it.
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

/* Reads "[1]", "[1,2]" or "[1, 2]" at text[i]: calls cite for each
 * number; returns where the marker ends (i itself when it is none). */
static size_t lh_cite_marker(lh_str text, size_t i, size_t max, size_t *nums, size_t *n_nums)
{
    size_t j = i + 1;
    *n_nums = 0;
    for (;;) {
        size_t n = 0, start = j;
        while (j < text.len && isdigit((unsigned char)text.s[j]) && n <= max)
            n = n * 10 + (size_t)(text.s[j++] - '0');
        if (j == start || j >= text.len || *n_nums == 16)
            return i;
        nums[(*n_nums)++] = n;
        if (text.s[j] == ']')
            return j + 1;
        if (text.s[j] != ',')
            return i;
        j++;
        while (j < text.len && text.s[j] == ' ')
            j++;
    }
}

void lh_chat_cite_markers(const lh_chat_prompt *p, lh_str answer, lh_arena *arena,
                          lh_chat_complete_reply *rep)
{
    lh_chat_citation *cites = lh_arena_alloc(arena, (p->n_passages + 1) * sizeof *cites);
    bool *seen = lh_arena_alloc(arena, p->n_passages + 1);
    size_t n_cites = 0, nums[16], n_nums;
    for (size_t i = 0; i < answer.len; i++) {
        if (answer.s[i] != '[' || lh_cite_marker(answer, i, p->n_passages, nums, &n_nums) == i)
            continue;
        for (size_t k = 0; k < n_nums; k++) {
            size_t n = nums[k];
            if (n < 1 || n > p->n_passages || seen[n - 1])
                continue;
            seen[n - 1] = true;
            lh_cite_one(&p->passages[n - 1], (int64_t)n, arena, &cites[n_cites++]);
        }
    }
    rep->citations = (lh_objs){cites, n_cites};
}
