/*
 * test_layering.c — the source tree keeps the shape the architecture says
 * it has, checked on the files themselves:
 *
 *   - only bus/ speaks msgpack-c: no file outside it (tests and benchmarks
 *     aside) packs, unpacks or walks a msgpack object, or includes
 *     msgpack.h or bus/codec.h; bus/'s public headers (checked below)
 *     show no msgpack-c type either; messages go through the schema
 *     codec, run-time values through bus/value.h and bus/mpscan.h;
 *   - the folder graph has no loop: bus/ includes only bus/; schemas/ only
 *     bus/ and schemas/; lib/ no actor, gateway or ops; actors/ no gateway
 *     or ops; gateway/ no actor, lib or ops (it knows contracts, not actors);
 *   - a subject is written once, in its contract: no source file outside
 *     schemas/ holds a contract's subject as a whole string literal.
 */
#include "tests/support/harness.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bus/contract.h"

typedef void (*file_fn)(const char *rel, const char *text, void *user);

static bool is_source(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".c") || !strcmp(dot, ".h") || !strcmp(dot, ".cpp"));
}

/* Calls fn for every source file under dir (relative to the tree root). */
static void walk(const char *dir, file_fn fn, void *user)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LH_SOURCE_DIR, dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "bench"))
            continue; /* ops/bench measures msgpack-c itself */
        char rel[1024], full[2048];
        snprintf(rel, sizeof rel, "%s/%s", dir, e->d_name);
        snprintf(full, sizeof full, "%s/%s", LH_SOURCE_DIR, rel);
        struct stat st;
        assert_int_equal(stat(full, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            walk(rel, fn, user);
        } else if (is_source(e->d_name)) {
            char *text = lh_test_read_file(full, NULL);
            assert_non_null(text);
            fn(rel, text, user);
            free(text);
        }
    }
    closedir(d);
}

typedef struct findings {
    char list[4096];
    int n;
} findings;

static void found(findings *f, const char *rel, const char *text, const char *at, const char *what)
{
    int line = 1;
    for (const char *p = text; p < at; p++)
        line += *p == '\n';
    size_t used = strlen(f->list);
    snprintf(f->list + used, sizeof f->list - used, "  %s:%d: %s\n", rel, line, what);
    f->n++;
}

/* ---- only bus/ speaks msgpack-c ---- */

static void no_msgpack_c(const char *rel, const char *text, void *user)
{
    static const char *const tokens[] = {"msgpack_pack", "msgpack_unpack", "msgpack_object",
                                         "<msgpack.h>", "\"bus/codec.h\""};
    for (size_t i = 0; i < sizeof tokens / sizeof tokens[0]; i++)
        for (const char *at = strstr(text, tokens[i]); at; at = strstr(at + 1, tokens[i]))
            found(user, rel, text, at, tokens[i]);
}

/* bus/'s headers but codec.h (and the internals next to their .c) are its
 * public face: no msgpack-c there, so no caller can come to depend on it. */
static void no_msgpack_c_in_public_headers(const char *rel, const char *text, void *user)
{
    size_t n = strlen(rel);
    bool header = n > 2 && !strcmp(rel + n - 2, ".h");
    if (!header || strstr(rel, "codec.h") || strstr(rel, "_internal.h"))
        return;
    /* msgpack-c's names start a word; ours merely contain it (lh_msgpack_to_json) */
    for (const char *at = strstr(text, "msgpack"); at; at = strstr(at + 1, "msgpack")) {
        bool word = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
        if (word && (at[7] == '_' || !strncmp(at + 7, ".h>", 3)))
            found(user, rel, text, at, "a public bus header shows msgpack-c");
    }
}

static void test_only_bus_speaks_msgpack_c(void **state)
{
    (void)state;
    static const char *const dirs[] = {"actors", "gateway", "ops", "lib", "schemas"};
    findings f = {0};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        walk(dirs[i], no_msgpack_c, &f);
    walk("bus", no_msgpack_c_in_public_headers, &f);
    if (f.n)
        fail_msg("msgpack-c used outside bus/ (use the schema codec, bus/value.h or "
                 "bus/mpscan.h):\n%s", f.list);
}

/* ---- the folder graph ---- */

typedef struct layer {
    const char *dir;
    const char *const *may; /* include prefixes allowed besides system headers */
} layer;

static void includes_only(const char *rel, const char *text, void *user)
{
    const layer *l = ((void **)user)[0];
    findings *f = ((void **)user)[1];
    for (const char *at = strstr(text, "#include \""); at; at = strstr(at + 1, "#include \"")) {
        const char *name = at + 10;
        bool ok = false;
        for (const char *const *m = l->may; *m && !ok; m++)
            ok = !strncmp(name, *m, strlen(*m));
        if (!ok)
            found(f, rel, text, at, "includes outside its layer");
    }
}

static void test_folder_graph_has_no_loop(void **state)
{
    (void)state;
    static const char *const bus[] = {"bus/", NULL};
    static const char *const schemas[] = {"bus/", "schemas/", NULL};
    static const char *const lib[] = {"bus/", "schemas/", "lib/", NULL};
    static const char *const actors[] = {"bus/", "schemas/", "lib/", "actors/", NULL};
    static const char *const gateway[] = {"bus/", "schemas/", "gateway/", NULL};
    static const layer layers[] = {{"bus", bus},       {"schemas", schemas}, {"lib", lib},
                                   {"actors", actors}, {"gateway", gateway}};
    findings f = {0};
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        void *user[] = {(void *)&layers[i], &f};
        walk(layers[i].dir, includes_only, user);
    }
    if (f.n)
        fail_msg("includes that break the layering (bus < schemas < lib < actors; gateway "
                 "knows bus and schemas; ops composes):\n%s", f.list);
}

/* ---- subjects are written once ---- */

static void no_literal(const char *rel, const char *text, const char *subject, findings *f)
{
    char quoted[160];
    snprintf(quoted, sizeof quoted, "\"%s\"", subject);
    const char *at = strstr(text, quoted);
    if (at)
        found(f, rel, text, at, subject);
}

static void no_subject_literal(const char *rel, const char *text, void *user)
{
    size_t n;
    const lh_contract *const *all = lh_contracts_all(&n);
    for (size_t i = 0; i < n; i++)
        no_literal(rel, text, all[i]->subject, user);
    const lh_event_contract *const *evs = lh_events_all(&n);
    for (size_t i = 0; i < n; i++)
        no_literal(rel, text, evs[i]->subject, user);
}

static void test_subjects_are_written_once(void **state)
{
    (void)state;
    static const char *const dirs[] = {"actors", "gateway", "ops", "lib", "bus"};
    findings f = {0};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        walk(dirs[i], no_subject_literal, &f);
    if (f.n)
        fail_msg("subjects written outside their contract (name the contract, lh_ep_...):\n%s",
                 f.list);
}

/* The checks above can fail: each finds what it looks for in a sample. */
static void test_the_checks_see_what_they_look_for(void **state)
{
    (void)state;
    findings f = {0};
    no_msgpack_c("sample.c", "int x;\nmsgpack_pack_int(&pk, 1);\n", &f);
    assert_int_equal(f.n, 1);
    assert_non_null(strstr(f.list, "sample.c:2: msgpack_pack"));
    findings g = {0};
    static const char *const bus[] = {"bus/", NULL};
    layer l = {"bus", bus};
    void *user[] = {&l, &g};
    includes_only("bus/x.c", "#include \"bus/a.h\"\n#include \"gateway/gw.h\"\n", user);
    assert_int_equal(g.n, 1);
    findings h = {0};
    no_subject_literal("x.c", "lh_request(c, \"vector.search\", ...);", &h);
    assert_int_equal(h.n, 1);
    findings k = {0};
    no_msgpack_c_in_public_headers("bus/x.h", "/* msgpack. */\nvoid lh_msgpack_to(void);\n", &k);
    assert_int_equal(k.n, 0); /* prose and our own names are not msgpack-c */
    no_msgpack_c_in_public_headers("bus/x.h", "#include <msgpack.h>\nmsgpack_object *o;\n", &k);
    assert_int_equal(k.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_checks_see_what_they_look_for),
        cmocka_unit_test(test_only_bus_speaks_msgpack_c),
        cmocka_unit_test(test_folder_graph_has_no_loop),
        cmocka_unit_test(test_subjects_are_written_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
