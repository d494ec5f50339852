/*
 * prompt.c — what every network chat provider builds the same way:
 * the numbered passages and the messages array.
 * The exchange itself (retries, refusals, keys) is bus/http_client.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/chat/provider.h"
#include "bus/json.h"

/* ---- prompts ---- */

void lh_chat_passages_text(const lh_chat_prompt *p, lh_buf *out)
{
    lh_buf_append_str(out, "Answer from these passages when they help, and cite each one "
                           "you use as [n].");
    for (size_t i = 0; i < p->n_passages; i++) {
        const lh_chat_passage *ps = &p->passages[i];
        lh_buf_appendf(out, "\n\n[%zu] (%.*s/%.*s) %.*s", i + 1, (int)ps->corpus.len,
                       ps->corpus.s, (int)ps->id.len, ps->id.s, (int)ps->text.len,
                       ps->text.s ? ps->text.s : "");
    }
}

static void lh_chat_message_json(lh_buf *b, bool first, lh_str role, lh_str content)
{
    lh_buf_append_str(b, first ? "{\"role\":" : ",{\"role\":");
    lh_json_append_string(b, role.s, role.len);
    lh_buf_append_str(b, ",\"content\":");
    lh_json_append_string(b, content.s ? content.s : "", content.len);
    lh_buf_append(b, "}", 1);
}

void lh_chat_messages_json(const lh_chat_prompt *p, lh_buf *out)
{
    lh_buf_append(out, "[", 1);
    bool first = true;
    if (p->n_passages) {
        lh_buf sys;
        lh_buf_init(&sys);
        lh_chat_passages_text(p, &sys);
        lh_chat_message_json(out, true, (lh_str){"system", 6}, (lh_str){sys.data, sys.len});
        lh_buf_free(&sys);
        first = false;
    }
    const lh_chat_message *m = p->req->messages.v;
    for (size_t i = 0; i < p->req->messages.n; i++, first = false)
        lh_chat_message_json(out, first, m[i].role, m[i].content);
    lh_buf_append(out, "]", 1);
}
