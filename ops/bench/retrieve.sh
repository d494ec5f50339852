#!/usr/bin/env bash
# retrieve.sh — the hybrid retrieval benchmark of the matrixd issue, in one
# run, on text no one here wrote (the installed manual pages):
#
#  1. quality: ops/eval/manpages.py's known-item set (one document per page,
#     its NAME summary as the query) loaded with `lakehouse ingest
#     --embed-column`, then `lakehouse eval retrieval` on the report half of
#     the queries (the other half is the one defaults were tuned on), as
#     written and with typing slips: recall@1, recall@10, MRR@10, nDCG@10
#     and ms/query per mode;
#  2. indexing: the same pages cut into passages of 100 words, the first
#     20,000 of them ingested into one index (embed + vector + keyword,
#     durable when acknowledged), timed end to end, then again as a second
#     index;
#  3. latency: POST /v1/matrix/retrieve through the gateway with wrk, one
#     connection, over one corpus and over both (the same queries), plus
#     the two searches it fans out, called directly through the gateway.
#
# Prints a Markdown section and, with --write, replaces the retrieval
# section of docs/BENCHMARKS.md.
#
#   ops/bench/retrieve.sh [--write] [--quick] [--seconds S]
#
# --quick uses 2,000 passages and 300 queries, for a fast check.
# LH_BUILD_DIR names the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
QUICK=0
SECS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --quick) QUICK=1 ;;
    --seconds) SECS=$2; shift ;;
    *) echo "usage: $0 [--write] [--quick] [--seconds S]" >&2; exit 2 ;;
  esac
  shift
done
PASSAGES=20000
LIMIT=()
if [ "$QUICK" = 1 ]; then PASSAGES=2000; LIMIT=(--limit 300); SECS=1; fi
BUILD=${LH_BUILD_DIR:-build}
LH=$BUILD/lakehouse

ops/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse >/dev/null

TMP=$(mktemp -d /tmp/lhbench-retrieve-XXXXXX)
PIDS=()
trap 'LH_DATA_DIR=$TMP/data "$LH" down >/dev/null 2>&1 || true; bench_cleanup' EXIT
export LH_DATA_DIR=$TMP/data
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
export LH_NATS_URL=nats://127.0.0.1:$NATS_PORT
URL=http://127.0.0.1:$HTTP_PORT

echo "building the sets from the manual pages..." >&2
python3 ops/eval/manpages.py --out "$TMP/set" >&2
python3 ops/eval/manpages.py --out "$TMP/long" --max-words 2000 >/dev/null
python3 - "$TMP/long/docs.jsonl" "$TMP/passages.jsonl" "$PASSAGES" <<'PY'
import json, sys
src, dst, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
n = 0
with open(dst, "w") as out:
    for line in open(src):
        d = json.loads(line)
        words = d["text"].split()
        for i in range(0, len(words), 100):
            chunk = words[i:i + 100]
            if len(chunk) < 20 or n == want:
                continue
            out.write(json.dumps({"id": f'{d["id"]}#{i // 100}', "text": " ".join(chunk)}) + "\n")
            n += 1
print(f"{n} passages of up to 100 words", file=sys.stderr)
PY
# the queries of the latency runs: the set's summaries, as request bodies
python3 - "$TMP/set/queries.jsonl" "$TMP" <<'PY'
import json, sys
qs = [json.loads(l)["query"] for l in open(sys.argv[1])][:2000]
def write(name, body):
    with open(f"{sys.argv[2]}/{name}.bodies", "w") as f:
        for q in qs:
            f.write(json.dumps(body(q)) + "\n")
write("one", lambda q: {"query": q, "corpora": ["p1"], "include_text": False})
write("two", lambda q: {"query": q, "corpora": ["p1", "p2"], "include_text": False})
write("vector", lambda q: {"index": "p1", "text": q, "k": 50})
write("keyword", lambda q: {"index": "p1", "text": q, "k": 50, "mode": "keyword"})
PY

"$LH" up --nats-port "$NATS_PORT" --http-port "$HTTP_PORT" >"$TMP/up.log" 2>&1

echo "quality: loading $(wc -l <"$TMP/set/docs.jsonl") pages..." >&2
"$LH" ingest "$TMP/set/docs.jsonl" --dataset man --embed-column text --index man \
  --id-column id >/dev/null
echo "quality: lakehouse eval retrieval (report half)..." >&2
QUALITY=$("$LH" eval retrieval --corpus man --queries "$TMP/set/queries.jsonl" --split report \
  "${LIMIT[@]}")
MISSPELLED=$("$LH" eval retrieval --corpus man --queries "$TMP/set/queries_misspelled.jsonl" \
  --split report "${LIMIT[@]}")

index_seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  "$LH" ingest "$TMP/passages.jsonl" --dataset "$1" --embed-column text --index "$1" \
    --id-column id >/dev/null
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.1f}')"
}
echo "indexing $PASSAGES passages, twice..." >&2
IDX1=$(index_seconds p1)
IDX2=$(index_seconds p2)

# p50 and p99 (ms) and requests/s of wrk on PATH with BODIES and C connections
latency() {
  local out
  out=$(LH_BENCH_BODIES=$TMP/$2.bodies LH_BENCH_PATH=$1 wrk -t1 -c"$3" -d"${SECS}s" --latency \
    -s ops/bench/post_bodies.lua "$URL" 2>&1)
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if errors:
    sys.exit(f"wrk saw {errors.group(1)} failed responses:\n{out}")
print(f"{ms('50%'):.2f} {ms('99%'):.2f} {rps:.0f}")
PY
}
echo "latency through the gateway..." >&2
declare -A LAT
for row in "one /v1/matrix/retrieve 1" "two /v1/matrix/retrieve 1" \
           "vector /v1/vectors/search 1" "keyword /v1/vectors/search 1" \
           "one /v1/matrix/retrieve 32" "two /v1/matrix/retrieve 32" \
           "vector /v1/vectors/search 32" "keyword /v1/vectors/search 32"; do
  set -- $row
  LAT["$1/$3"]=$(latency "$2" "$1" "$3")
done

f() { cut -d' ' -f"$2" <<<"${LAT[$1]}"; }
SECTION=$(cat <<EOF
<!-- retrieval:begin -->
## Retrieval: keyword, vector and hybrid (matrixd)

Command: \`ops/bench/retrieve.sh --write\` (2 cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//');
every actor, nats-server and the load generator share this machine).
Text: the manual pages installed here (\`ops/eval/manpages.py\`), which no one
here wrote. Built-in embedder, default settings throughout.

**Quality** — known-item search: each page's DESCRIPTION and what follows
it is a document, its one-line NAME summary the query, the page the one
right answer ($(wc -l <"$TMP/set/docs.jsonl") documents). Defaults (\`rrf_k\` 5, weights 0.4 vector, 1
keyword) were tuned on the *tune* half of the queries; these figures are
the *report* half, through \`lakehouse eval retrieval\` (matrix.retrieve,
one query at a time, k 10). The queries as written:

\`\`\`
$QUALITY
\`\`\`

The same queries with one typing slip in every word of five letters or
more (\`queries_misspelled.jsonl\`: "inetrface", "certifcate"), as users
type them:

\`\`\`
$MISSPELLED
\`\`\`

**Indexing** — $PASSAGES passages of up to 100 words, \`lakehouse ingest
--embed-column\` (upload, embed, vector and keyword index, acknowledged
durable), end to end: ${IDX1} s; a second index of the same passages: ${IDX2} s.

**Latency** — \`POST\` through the gateway with wrk (${SECS} s per row, the set's
queries in turn, \`include_text: false\`), on the $PASSAGES-passage indexes:

| request | connections | p50 (ms) | p99 (ms) | requests/s |
|---|---|---|---|---|
| matrix.retrieve hybrid, one corpus | 1 | $(f one/1 1) | $(f one/1 2) | $(f one/1 3) |
| matrix.retrieve hybrid, two corpora | 1 | $(f two/1 1) | $(f two/1 2) | $(f two/1 3) |
| vector.search text, k 50 (its vector half) | 1 | $(f vector/1 1) | $(f vector/1 2) | $(f vector/1 3) |
| vector.search keyword, k 50 (its keyword half) | 1 | $(f keyword/1 1) | $(f keyword/1 2) | $(f keyword/1 3) |
| matrix.retrieve hybrid, one corpus | 32 | $(f one/32 1) | $(f one/32 2) | $(f one/32 3) |
| matrix.retrieve hybrid, two corpora | 32 | $(f two/32 1) | $(f two/32 2) | $(f two/32 3) |
| vector.search text, k 50 | 32 | $(f vector/32 1) | $(f vector/32 2) | $(f vector/32 3) |
| vector.search keyword, k 50 | 32 | $(f keyword/32 1) | $(f keyword/32 2) | $(f keyword/32 3) |
<!-- retrieval:end -->
EOF
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then bench_write_section retrieval "$SECTION"; fi
