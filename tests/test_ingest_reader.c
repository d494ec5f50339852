/*
 * test_ingest_reader.c — the CSV / JSON Lines reader and schema inference
 * (lib/tabular/tabular.h, infer.h) without a bus: every CSV edge case of
 * RFC 4180 and ours, JSON Lines records and broken lines, line numbers of
 * malformed records, bounded records, and the same result whatever the
 * chunking (every split point of inputs that hold every construct).
 */
#include "tests/support/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/tabular/infer.h"
#include "lib/tabular/tabular.h"
#include "bus/buf.h"

/* ---- reading a whole input into a comparable text ---- */

typedef struct collected {
    lh_buf out;       /* one line per record or bad record */
    bool show_kinds;  /* prefix each field with its kind letter */
    lh_tab_infer *inf;
} collected;

static void put_escaped(lh_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            lh_buf_append_str(b, "\\n");
        else if (s[i] == '\r')
            lh_buf_append_str(b, "\\r");
        else
            lh_buf_append(b, &s[i], 1);
    }
}

static const char kind_letter[] = {'~', 't', 's', 'i', 'r', 'b', 'n'};

static lh_err *on_record(void *user, const lh_tab_record *rec)
{
    collected *c = user;
    lh_buf_appendf(&c->out, "%lld#%lld:", (long long)rec->line, (long long)rec->index);
    for (size_t i = 0; i < rec->n; i++) {
        const lh_tab_field *f = &rec->fields[i];
        if (i)
            lh_buf_append(&c->out, "|", 1);
        assert_int_equal(f->s[f->len], '\0');
        if (c->show_kinds)
            lh_buf_append(&c->out, &kind_letter[f->kind], 1);
        if (f->kind == LH_TAB_NULL)
            lh_buf_append_str(&c->out, c->show_kinds ? "" : "~");
        else
            put_escaped(&c->out, f->s, f->len);
    }
    lh_buf_append(&c->out, "\n", 1);
    if (c->inf)
        lh_tab_infer_record(c->inf, rec);
    return NULL;
}

static lh_err *on_bad_skip(void *user, int64_t line, const char *message)
{
    collected *c = user;
    lh_buf_appendf(&c->out, "!%lld:%s\n", (long long)line, message);
    return NULL;
}

/* Feeds `in` in chunks of `chunk` bytes (0 = whole), or split once at
 * `split` when split > 0; returns the error (caller frees) and leaves the
 * records in c->out and the columns as "a,b,c" in `cols`. */
typedef struct read_args {
    lh_tab_options opts;
    bool skip_bad;
    bool show_kinds;
    size_t chunk;
    size_t split;
} read_args;

static lh_err *read_input(const read_args *a, const char *in, size_t len, lh_buf *out,
                          lh_buf *cols, lh_tab_infer *inf)
{
    collected c = {.show_kinds = a->show_kinds, .inf = inf};
    lh_buf_init(&c.out);
    lh_tab_handler h = {.record = on_record, .bad_record = a->skip_bad ? on_bad_skip : NULL,
                        .user = &c};
    lh_tab_reader *r = NULL;
    lh_err *err = lh_tab_reader_create(&a->opts, &h, &r);
    if (err) {
        lh_buf_free(&c.out);
        return err;
    }
    size_t step = a->chunk ? a->chunk : (a->split ? a->split : len);
    for (size_t off = 0; off < len && !err; off += step) {
        if (a->split && off >= a->split)
            step = len - off;
        size_t n = len - off < step ? len - off : step;
        err = lh_tab_reader_feed(r, in + off, n);
    }
    if (!err)
        err = lh_tab_reader_finish(r);
    assert_int_equal(lh_tab_reader_bytes(r), err ? lh_tab_reader_bytes(r) : (int64_t)len);
    if (cols) {
        lh_buf_reset(cols);
        for (size_t i = 0; i < lh_tab_reader_n_columns(r); i++)
            lh_buf_appendf(cols, "%s%s", i ? "," : "", lh_tab_reader_column(r, i));
    }
    lh_buf_reset(out);
    lh_buf_append(out, c.out.data, c.out.len);
    lh_buf_free(&c.out);
    lh_tab_reader_destroy(r);
    return err;
}

/* Reads `in` whole and checks the records and the columns. */
static void expect_read(const read_args *a, const char *in, const char *records,
                        const char *columns)
{
    lh_buf out, cols;
    lh_buf_init(&out);
    lh_buf_init(&cols);
    lh_err *err = read_input(a, in, strlen(in), &out, &cols, NULL);
    if (err)
        fail_msg("unexpected error: %s", lh_err_message(err));
    assert_string_equal(lh_buf_cstr(&out), records);
    if (columns)
        assert_string_equal(lh_buf_cstr(&cols), columns);
    lh_buf_free(&out);
    lh_buf_free(&cols);
}

/* Reads `in` whole and checks it stops with `code` and a message holding `part`. */
static void expect_error(const read_args *a, const char *in, size_t len, int code,
                         const char *part)
{
    lh_buf out;
    lh_buf_init(&out);
    lh_err *err = read_input(a, in, len, &out, NULL, NULL);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), code);
    if (!strstr(lh_err_message(err), part))
        fail_msg("error '%s' does not mention '%s'", lh_err_message(err), part);
    lh_err_free(err);
    lh_buf_free(&out);
}

/* The same records, bad records and columns at every split point and
 * byte by byte. */
static void expect_chunking_invariant(read_args a, const char *in)
{
    size_t len = strlen(in);
    lh_buf whole, part, cols_whole, cols_part;
    lh_buf_init(&whole);
    lh_buf_init(&part);
    lh_buf_init(&cols_whole);
    lh_buf_init(&cols_part);
    a.chunk = a.split = 0;
    lh_err *err = read_input(&a, in, len, &whole, &cols_whole, NULL);
    assert_null(err);
    for (size_t k = 1; k < len; k++) {
        a.split = k;
        err = read_input(&a, in, len, &part, &cols_part, NULL);
        assert_null(err);
        if (strcmp(lh_buf_cstr(&whole), lh_buf_cstr(&part)))
            fail_msg("split at %zu:\n%s\nwhole:\n%s", k, part.data, whole.data);
        assert_string_equal(lh_buf_cstr(&cols_whole), lh_buf_cstr(&cols_part));
    }
    a.split = 0;
    a.chunk = 1;
    assert_null(read_input(&a, in, len, &part, &cols_part, NULL));
    assert_string_equal(lh_buf_cstr(&whole), lh_buf_cstr(&part));
    lh_buf_free(&whole);
    lh_buf_free(&part);
    lh_buf_free(&cols_whole);
    lh_buf_free(&cols_part);
}

static read_args csv(void) { return (read_args){.opts = {.format = LH_TAB_CSV}}; }
static read_args jsonl(void)
{
    return (read_args){.opts = {.format = LH_TAB_JSONL}, .show_kinds = true};
}

/* ---- CSV ---- */

static void test_csv_plain(void **state)
{
    (void)state;
    read_args a = csv();
    expect_read(&a, "a,b,c\n1,2,3\nx,y,z\n", "2#1:1|2|3\n3#2:x|y|z\n",
                "a,b,c");
}

static void test_csv_quoted_fields(void **state)
{
    (void)state;
    read_args a = csv();
    expect_read(&a, "a,b\n\"x\",\"y z\"\n", "2#1:x|y z\n", "a,b");
    /* doubled quotes, delimiter and newline inside quotes */
    expect_read(&a, "a,b\n\"say \"\"hi\"\"\",\"1,2\"\n\"two\nlines\",\"\"\"\"\n",
                "2#1:say \"hi\"|1,2\n3#2:two\\nlines|\"\n", "a,b");
    /* the line numbers after a quoted line break are physical lines */
    expect_read(&a, "a\n\"x\ny\nz\"\nnext\n", "2#1:x\\ny\\nz\n5#2:next\n", "a");
    /* a quote inside an unquoted field is data */
    expect_read(&a, "a,b\nab\"c,d\n", "2#1:ab\"c|d\n", "a,b");
}

static void test_csv_line_endings(void **state)
{
    (void)state;
    read_args a = csv();
    expect_read(&a, "a,b\r\n1,2\r\n3,4\r\n", "2#1:1|2\n3#2:3|4\n", "a,b");
    expect_read(&a, "a,b\r1,2\r3,4", "2#1:1|2\n3#2:3|4\n", "a,b");
    expect_read(&a, "a,b\n1,2\r\n3,4\r5,6", "2#1:1|2\n3#2:3|4\n4#3:5|6\n", "a,b");
    /* CRLF inside quotes is data, and one line */
    expect_read(&a, "a\r\n\"x\r\ny\"\r\nz\r\n", "2#1:x\\r\\ny\n4#2:z\n", "a");
    /* no line break at the end */
    expect_read(&a, "a,b\n1,2", "2#1:1|2\n", "a,b");
    /* blank lines are skipped, and counted */
    expect_read(&a, "a,b\n\n1,2\n\r\n\n3,4\n\n", "3#1:1|2\n6#2:3|4\n", "a,b");
}

static void test_csv_bom(void **state)
{
    (void)state;
    read_args a = csv();
    expect_read(&a, "\xEF\xBB\xBFid,name\n1,x\n", "2#1:1|x\n", "id,name");
    /* bytes that only start like a BOM are data */
    expect_read(&a, "\xEF\xBBz,b\n1,2\n", "2#1:1|2\n", "\xEF\xBBz,b");
    /* a BOM later in the file is data */
    expect_read(&a, "a\n\xEF\xBB\xBFx\n", "2#1:\xEF\xBB\xBFx\n", "a");
    /* only a partial BOM in the whole file */
    a.opts.no_header = true;
    expect_read(&a, "\xEF\xBB", "1#1:\xEF\xBB\n", "c1");
}

static void test_csv_empty_fields(void **state)
{
    (void)state;
    read_args a = csv();
    /* empty unquoted is null (~); empty quoted is the empty string */
    expect_read(&a, "a,b,c\n,\"\",\n1,,\"\"\n", "2#1:~||~\n3#2:1|~|\n", "a,b,c");
    a.show_kinds = true;
    expect_read(&a, "a,b\n,\"\"\n", "2#1:~|t\n", "a,b");
}

static void test_csv_custom_delimiter_and_quote(void **state)
{
    (void)state;
    read_args a = csv();
    a.opts.delimiter = ';';
    expect_read(&a, "a;b\n1,5;\"x;y\"\n", "2#1:1,5|x;y\n", "a,b");
    a.opts.delimiter = '\t';
    a.opts.quote = '\'';
    expect_read(&a, "a\tb\n'it''s'\t\"q\"\n", "2#1:it's|\"q\"\n", "a,b");
}

static void test_csv_no_header(void **state)
{
    (void)state;
    read_args a = csv();
    a.opts.no_header = true;
    expect_read(&a, "1,2,3\n4,5,6\n", "1#1:1|2|3\n2#2:4|5|6\n", "c1,c2,c3");
    expect_error(&a, "1,2\n3\n", 6, LH_EUNPROCESSABLE, "line 2: expected 2 fields, found 1");
}

static void test_csv_header_names(void **state)
{
    (void)state;
    read_args a = csv();
    /* blank names become c<N>; repeats (ignoring case) get _2, _3 */
    expect_read(&a, "id,,ID,name, ,id\n1,2,3,4,5,6\n", "2#1:1|2|3|4|5|6\n",
                "id,c2,ID_2,name,c5,id_3");
    expect_read(&a, "c2,\n1,2\n", "2#1:1|2\n", "c2,c2_2");
    /* a header only: columns and no records */
    expect_read(&a, "x,y\n", "", "x,y");
    expect_read(&a, "", "", "");
}

static void test_csv_ragged_rows(void **state)
{
    (void)state;
    read_args a = csv();
    const char *in = "a,b\n1,2\n3\n\"4\n\",5,6\n7,8\n";
    expect_error(&a, in, strlen(in), LH_EUNPROCESSABLE, "line 3: expected 2 fields, found 1");
    a.skip_bad = true;
    expect_read(&a, in,
                "2#1:1|2\n!3:expected 2 fields, found 1\n!4:expected 2 fields, found 3\n"
                "6#2:7|8\n",
                "a,b");
}

static void test_csv_bad_quotes(void **state)
{
    (void)state;
    read_args a = csv();
    a.skip_bad = true;
    expect_read(&a, "a,b\n\"x\"y,1\n2,3\n",
                "!2:unexpected character after a closing quote\n3#1:2|3\n", "a,b");
    expect_read(&a, "a,b\n1,2\n\"open,3\n4,5\n",
                "2#1:1|2\n!3:a quoted field is not closed before the end of the file\n",
                "a,b");
    /* a malformed header stops the reader whatever the handler says */
    const char *bad_header = "\"a\"x,b\n1,2\n";
    expect_error(&a, bad_header, strlen(bad_header), LH_EUNPROCESSABLE,
                 "line 1: header: unexpected");
}

static void test_csv_record_limit(void **state)
{
    (void)state;
    read_args a = csv();
    a.opts.max_record = 16;
    a.skip_bad = true; /* too long is not skippable */
    expect_read(&a, "a,b\n0123456,789\n", "2#1:0123456|789\n", "a,b");
    const char *in = "a,b\n1,2\n\"never closed, 0123456789abcdef\n";
    expect_error(&a, in, strlen(in), LH_ETOOLARGE, "line 3: a record is longer than 16 bytes");
    a.chunk = 3;
    expect_error(&a, in, strlen(in), LH_ETOOLARGE, "line 3:");
    /* many empty fields are bounded too */
    a.chunk = 0;
    a.opts.max_fields = 2;
    expect_read(&a, "a,b\n,,,,,,,,,,,,,,,,,,,,,,,,,,\n1,2\n",
                "!2:expected 2 fields, found 27\n3#1:1|2\n", "a,b");
    expect_error(&a, "a,b,c\n", 6, LH_EUNPROCESSABLE, "more than 2 fields");
}

static void test_csv_bad_options(void **state)
{
    (void)state;
    lh_tab_handler h = {0};
    lh_tab_reader *r = NULL;
    lh_tab_options o = {.format = LH_TAB_CSV, .delimiter = '"'};
    lh_err *err = lh_tab_reader_create(&o, &h, &r);
    assert_non_null(err);
    assert_int_equal(lh_err_code(err), LH_EBADREQ);
    lh_err_free(err);
    o.delimiter = '\n';
    err = lh_tab_reader_create(&o, &h, &r);
    assert_int_equal(lh_err_code(err), LH_EBADREQ);
    lh_err_free(err);
}

static void test_csv_every_split(void **state)
{
    (void)state;
    read_args a = csv();
    a.skip_bad = true;
    expect_chunking_invariant(a, "\xEF\xBB\xBFid,\"na,me\",note\r\n"
                                 "1,\"a \"\"q\"\" b\",\"x\r\ny\"\r\n"
                                 "\r\n"
                                 "2,,\"\"\r"
                                 "3,bad\"x\n"
                                 "4,\"y\"z,w\n"
                                 "5,last,\"\"");
    a.opts.delimiter = '\t';
    a.opts.no_header = true;
    expect_chunking_invariant(a, "a\tb\n\"c\td\"\t\"\"\"\"\n\n\ne\tf");
}

/* ---- JSON Lines ---- */

static void test_jsonl_values(void **state)
{
    (void)state;
    read_args a = jsonl();
    expect_read(&a,
                "{\"s\":\"x\",\"i\":-3,\"r\":1.5,\"b\":true,\"n\":null,"
                "\"o\":{\"k\":[1,2,{\"z\":\"\\u00e9\"}]},\"a\":[]}\n",
                "1#1:sx|i-3|r1.5|btrue|~|n{\"k\":[1,2,{\"z\":\"\xC3\xA9\"}]}|n[]\n",
                "s,i,r,b,n,o,a");
    /* a number as a string stays a string */
    expect_read(&a, "{\"v\":\"12\"}\n{\"v\":0.1}\n", "1#1:s12\n2#2:r0.1\n", "v");
}

static void test_jsonl_union_of_keys(void **state)
{
    (void)state;
    read_args a = jsonl();
    expect_read(&a, "{\"a\":1}\n{\"b\":2,\"a\":3}\n{\"c\":4}\n",
                "1#1:i1\n2#2:i3|i2\n3#3:~|~|i4\n", "a,b,c");
    /* keys differing only in case become two columns with unique names */
    expect_read(&a, "{\"A\":1,\"a\":2,\"\":3}\n", "1#1:i1|i2|i3\n", "A,a_2,c3");
}

static void test_jsonl_broken_lines(void **state)
{
    (void)state;
    read_args a = jsonl();
    const char *in = "{\"a\":1}\n\n{\"a\":\n{\"a\":2}\n[1]\n{\"a\":1,\"a\":2}\n\"s\"\n{\"a\":3}";
    expect_error(&a, in, strlen(in), LH_EUNPROCESSABLE, "line 3:");
    a.skip_bad = true;
    lh_buf out;
    lh_buf_init(&out);
    assert_null(read_input(&a, in, strlen(in), &out, NULL, NULL));
    const char *s = lh_buf_cstr(&out);
    assert_non_null(strstr(s, "1#1:i1\n!3:"));
    assert_non_null(strstr(s, "4#2:i2\n!5:expected a JSON object, found an array\n!6:"));
    assert_non_null(strstr(s, "duplicate"));
    assert_non_null(strstr(s, "!7:expected a JSON object, found a string\n8#3:i3\n"));
    lh_buf_free(&out);
}

static void test_jsonl_line_endings_and_limits(void **state)
{
    (void)state;
    read_args a = jsonl();
    expect_read(&a, "\xEF\xBB\xBF{\"a\":1}\r\n \t\r\n{\"a\":2}", "1#1:i1\n3#2:i2\n", "a");
    a.opts.max_record = 12;
    expect_read(&a, "{\"a\":\"1234\"}\n", "1#1:s1234\n", "a");
    const char *in = "{\"a\":1}\n{\"a\":\"123456789\"}\n";
    expect_error(&a, in, strlen(in), LH_ETOOLARGE, "line 2: a record is longer than 12 bytes");
    a.chunk = 4;
    expect_error(&a, in, strlen(in), LH_ETOOLARGE, "line 2:");
    a.chunk = 0;
    a.opts.max_record = 0;
    a.opts.max_fields = 2;
    a.skip_bad = true;
    expect_read(&a, "{\"a\":1,\"b\":2}\n{\"c\":3}\n{\"b\":4}\n",
                "1#1:i1|i2\n!2:more than 2 distinct keys in the file\n3#2:~|i4\n", "a,b");
}

static void test_jsonl_every_split(void **state)
{
    (void)state;
    read_args a = jsonl();
    a.skip_bad = true;
    expect_chunking_invariant(a, "\xEF\xBB\xBF{\"id\":1,\"t\":\"a\\nb\",\"o\":{\"x\":[1]}}\r\n"
                                 "\n"
                                 "{\"id\":2,\"extra\":true}\n"
                                 "{broken\n"
                                 "{\"t\":\"\xE2\x82\xAC\"}");
}

/* ---- inference ---- */

static void infer_file(read_args a, const char *in, const char *expected)
{
    lh_tab_infer *inf = lh_tab_infer_create();
    lh_buf out, cols, got;
    lh_buf_init(&out);
    lh_buf_init(&cols);
    lh_buf_init(&got);
    lh_err *err = read_input(&a, in, strlen(in), &out, &cols, inf);
    if (err)
        fail_msg("%s", lh_err_message(err));
    size_t n = 1;
    for (const char *p = lh_buf_cstr(&cols); *p; p++)
        n += *p == ',';
    for (size_t i = 0; i < n; i++) {
        lh_tab_type t;
        bool nullable;
        lh_tab_infer_column(inf, i, &t, &nullable);
        lh_buf_appendf(&got, "%s%s%s", i ? " " : "", lh_tab_type_name(t), nullable ? "?" : "");
    }
    assert_string_equal(lh_buf_cstr(&got), expected);
    lh_tab_infer_destroy(inf);
    lh_buf_free(&out);
    lh_buf_free(&cols);
    lh_buf_free(&got);
}

static void test_infer_csv_types(void **state)
{
    (void)state;
    infer_file(csv(),
               "int,real,bool,text,widen,mixed,nul,allnull,zip,big,inf,neg\n"
               "1,1.5,true,x,1,1,,,007,99999999999999999999,1e400,-.5\n"
               "-20,2e10,FALSE,y,2.5,true,3,,012,1,2,-0\n"
               "0,-3.,True,1,3,2,4,,1,2,3,-1E-3\n",
               "integer real boolean text real text integer? text? text text text real");
}

static void test_infer_nullable_and_empty_strings(void **state)
{
    (void)state;
    /* "" is null in a typed column and the empty string in a text column */
    infer_file(csv(), "n,t,e\n\"\",\"\",\"\"\n1,x,\"\"\n", "integer? text text");
    infer_file(csv(), "n,t\n1,\n2,x\n", "integer text?");
    /* a header only: nothing known */
    infer_file(csv(), "a,b\n", "text? text?");
}

static void test_infer_jsonl_types(void **state)
{
    (void)state;
    infer_file(jsonl(),
               "{\"i\":1,\"r\":1,\"s\":\"12\",\"b\":true,\"o\":{\"a\":1},\"m\":1}\n"
               "{\"i\":2,\"r\":2.5,\"s\":\"x\",\"b\":false,\"o\":[1],\"m\":\"1\",\"late\":1}\n"
               "{\"i\":3,\"r\":3,\"s\":\"y\",\"b\":null,\"o\":{},\"m\":false}\n",
               "integer real text boolean? text text integer?");
}

static void test_convert(void **state)
{
    (void)state;
    lh_tab_value v;
    lh_tab_field f = {"42", 2, LH_TAB_TEXT};
    assert_true(lh_tab_convert(&f, LH_TAB_TYPE_REAL, &v));
    assert_false(v.null);
    assert_int_equal(v.type, LH_TAB_TYPE_REAL);
    assert_true(v.r == 42.0);
    assert_true(lh_tab_convert(&f, LH_TAB_TYPE_INTEGER, &v));
    assert_int_equal(v.i, 42);
    assert_true(lh_tab_convert(&f, LH_TAB_TYPE_TEXT, &v));
    assert_int_equal(v.type, LH_TAB_TYPE_TEXT);
    assert_int_equal(v.len, 2);
    assert_false(lh_tab_convert(&f, LH_TAB_TYPE_BOOLEAN, &v));
    lh_tab_field empty = {"", 0, LH_TAB_TEXT};
    assert_true(lh_tab_convert(&empty, LH_TAB_TYPE_INTEGER, &v));
    assert_true(v.null);
    assert_true(lh_tab_convert(&empty, LH_TAB_TYPE_TEXT, &v));
    assert_false(v.null);
    lh_tab_field b = {"TRUE", 4, LH_TAB_TEXT};
    assert_true(lh_tab_convert(&b, LH_TAB_TYPE_BOOLEAN, &v));
    assert_true(v.b);
    lh_tab_field jb = {"false", 5, LH_TAB_BOOLEAN};
    assert_true(lh_tab_convert(&jb, LH_TAB_TYPE_BOOLEAN, &v));
    assert_false(v.b);
    lh_tab_field js = {"7", 1, LH_TAB_STRING};
    assert_false(lh_tab_convert(&js, LH_TAB_TYPE_INTEGER, &v));
    lh_tab_type t;
    assert_true(lh_tab_type_parse("boolean", 7, &t));
    assert_int_equal(t, LH_TAB_TYPE_BOOLEAN);
    assert_false(lh_tab_type_parse("bool", 4, &t));
}

static void test_formats(void **state)
{
    (void)state;
    lh_tab_format f;
    assert_true(lh_tab_format_from_key("a/b.CSV", 7, &f));
    assert_int_equal(f, LH_TAB_CSV);
    assert_true(lh_tab_format_from_key("x.ndjson", 8, &f));
    assert_int_equal(f, LH_TAB_JSONL);
    assert_true(lh_tab_format_from_key("x.jsonl", 7, &f));
    assert_false(lh_tab_format_from_key("x.json", 6, &f));
    assert_false(lh_tab_format_from_key("csv", 3, &f));
    assert_true(lh_tab_format_parse("jsonl", 5, &f));
    assert_false(lh_tab_format_parse("tsv", 3, &f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_plain),
        cmocka_unit_test(test_csv_quoted_fields),
        cmocka_unit_test(test_csv_line_endings),
        cmocka_unit_test(test_csv_bom),
        cmocka_unit_test(test_csv_empty_fields),
        cmocka_unit_test(test_csv_custom_delimiter_and_quote),
        cmocka_unit_test(test_csv_no_header),
        cmocka_unit_test(test_csv_header_names),
        cmocka_unit_test(test_csv_ragged_rows),
        cmocka_unit_test(test_csv_bad_quotes),
        cmocka_unit_test(test_csv_record_limit),
        cmocka_unit_test(test_csv_bad_options),
        cmocka_unit_test(test_csv_every_split),
        cmocka_unit_test(test_jsonl_values),
        cmocka_unit_test(test_jsonl_union_of_keys),
        cmocka_unit_test(test_jsonl_broken_lines),
        cmocka_unit_test(test_jsonl_line_endings_and_limits),
        cmocka_unit_test(test_jsonl_every_split),
        cmocka_unit_test(test_infer_csv_types),
        cmocka_unit_test(test_infer_nullable_and_empty_strings),
        cmocka_unit_test(test_infer_jsonl_types),
        cmocka_unit_test(test_convert),
        cmocka_unit_test(test_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
