#!/usr/bin/env bash
# events.sh — the event log's benchmarks (the event log issue):
#   1. what telling the log adds to a hot path: storage.put of 1 KiB and
#      vector.upsert of 100 vectors (dimension 64), one request at a time
#      on the bus, the stack with LH_EVENTS=on against LH_EVENTS=off,
#      alternated over ROUNDS rounds;
#   2. replaying 1,000,000 events from the log to a subscriber
#      (observer.replay, each event a message, then 100 per message),
#      after observerd and pathwayd have caught up; and the bound, the
#      log read by an ordered consumer doing nothing else;
#   3. pathway.trace at depth 5 on a 100,000-edge graph shaped like the
#      platform's own, one request at a time on the bus.
#
#   ops/bench/events.sh [--write] [--events N] [--edges N] [--seconds S] [--rounds R]
#
# Prints a Markdown section and, with --write, replaces the event log
# section of docs/BENCHMARKS.md. LH_BUILD_DIR names the build directory
# (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
EVENTS=1000000
EDGES=100000
SECONDS_EACH=8
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --events) EVENTS=$2; shift ;;
    --edges) EDGES=$2; shift ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    *) echo "usage: $0 [--write] [--events N] [--edges N] [--seconds S] [--rounds R]" >&2; exit 2 ;;
  esac
  shift
done
BUILD=${LH_BUILD_DIR:-build}
LH=$BUILD/lakehouse

ops/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse lh-bench lh-bench-events >/dev/null

TMP=$(mktemp -d /tmp/lhbench-events-XXXXXX)
PIDS=()
trap 'LH_DATA_DIR=$TMP/data "$LH" down >/dev/null 2>&1 || true; bench_cleanup' EXIT
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
URL=nats://127.0.0.1:$NATS_PORT

up() { # up EVENTS_SETTING: a fresh stack
  LH_DATA_DIR=$TMP/data "$LH" down >/dev/null 2>&1 || true
  rm -rf "$TMP/data"
  LH_EVENTS=$1 "$LH" up --data-dir "$TMP/data" --nats-port "$NATS_PORT" --http-port "$HTTP_PORT" >/dev/null
}
req() { LH_NATS_URL=$URL "$LH" req "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

# ---- 1. the hot path, with and without the log ----
KIB=$(python3 -c 'print("x"*1024)')
PUT="{\"bucket\":\"bench\",\"key\":\"k\",\"data\":\"$KIB\"}"
UPSERT=$(python3 -c '
import json, random
random.seed(1)
items=[{"id":str(i),"vector":[round(random.uniform(-1,1),4) for _ in range(64)]} for i in range(100)]
print(json.dumps({"index":"bench","items":items}))')
declare -A P50 RPS
for r in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    up "$mode"
    req vector.create '{"index":"bench","dimension":64}' >/dev/null
    for op in put upsert; do
      if [ $op = put ]; then SUBJ=storage.put BODY=$PUT; else SUBJ=vector.upsert BODY=$UPSERT; fi
      "$BUILD/lh-bench" req "$URL" 1 1 "$SUBJ" "$BODY" >/dev/null # warm
      OUT=$("$BUILD/lh-bench" req "$URL" 1 "$SECONDS_EACH" "$SUBJ" "$BODY")
      P50[$op.$mode]="${P50[$op.$mode]:-} $(echo "$OUT" | field p50_us)"
      RPS[$op.$mode]="${RPS[$op.$mode]:-} $(echo "$OUT" | field rps)"
    done
  done
done
median() { python3 -c 'import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# ---- 2. replay ----
up on
FILL=$("$BUILD/lh-bench-events" fill "$URL" "$EVENTS")
T0=$(date +%s.%N)
for _ in $(seq 1 1200); do
  LAG=$(req observer.stats | python3 -c '
import json,sys
d=json.load(sys.stdin)
seqs=[e.get("data",{}).get("applied_seq") for s in d["services"].values() if s["name"]=="pathwayd" for e in s["endpoints"]]
seqs=[x for x in seqs if x is not None]
print(max(d["lag"], d["log_seq"]-(seqs[0] if seqs else 0)))')
  [ "$LAG" = 0 ] && break
  sleep 0.5
done
CATCHUP=$(python3 -c "import sys; print(round(float('$(date +%s.%N)') - $T0, 1))")
REPLAY=$("$BUILD/lh-bench-events" replay "$URL")
REPLAY100=$("$BUILD/lh-bench-events" replay "$URL" 100)
READ=$("$BUILD/lh-bench-events" read "$URL")

# ---- 3. trace ----
LH_DATA_DIR=$TMP/data "$LH" down >/dev/null 2>&1 || true
rm -rf "$TMP/data"
mkdir -p "$TMP/data"
GRAPH=$("$BUILD/lh-bench-events" graph "$TMP/data/pathwayd" "$EDGES")
LH_EVENTS=on "$LH" up --data-dir "$TMP/data" --nats-port "$NATS_PORT" --http-port "$HTTP_PORT" >/dev/null
DS_NODES=$(req pathway.trace '{"node":"dataset:d77@1","depth":5}' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))')
IX_NODES=$(req pathway.trace '{"node":"index:ix7","direction":"up","depth":5}' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))')
TRACE_DS=$("$BUILD/lh-bench" req "$URL" 1 "$SECONDS_EACH" pathway.trace '{"node":"dataset:d77@1","depth":5}')
TRACE_IX=$("$BUILD/lh-bench" req "$URL" 1 "$SECONDS_EACH" pathway.trace '{"node":"index:ix7","direction":"up","depth":5}')

row() { # row OP LABEL
  local on off
  on=$(median ${P50[$1.on]}) off=$(median ${P50[$1.off]})
  printf '| %s | %.0f | %.0f | %+.1f%% |\n' "$2" "$off" "$on" "$(python3 -c "print(($on/$off-1)*100)")"
}
SECTION="<!-- events:begin -->
## The event log (\`ops/bench/events.sh\`)

$(date -u +%Y-%m-%d), $(nproc) cores. Reproduce: \`ops/bench/events.sh --write\`.

**What telling the log adds to a hot path**: one request at a time on the
bus, p50 in µs, the median of $ROUNDS rounds of ${SECONDS_EACH} s, each
round a fresh stack with \`LH_EVENTS=off\` then \`on\` (objects written and
items upserted are told; storage's is acknowledged by the stream before
the reply, vectord's is queued).

| request | events off | events on | added |
|---|---|---|---|
$(row put "storage.put, 1 KiB")
$(row upsert "vector.upsert, 100 vectors of 64")

**Replay**: $(echo "$FILL" | field events) events published into the log at
$(echo "$FILL" | field events_per_s) events/s (asynchronous acknowledgements);
observerd's counts and pathwayd's graph caught up with all of them
${CATCHUP} s after the last was published. Then the whole log to a
subscriber:

| reading | events | seconds | events/s |
|---|---|---|---|
| \`observer.replay\`, each event a message | $(echo "$REPLAY" | field replayed) | $(echo "$REPLAY" | field seconds) | $(echo "$REPLAY" | field events_per_s) |
| \`observer.replay\` with \`batch\` 100 | $(echo "$REPLAY100" | field replayed) | $(echo "$REPLAY100" | field seconds) | **$(echo "$REPLAY100" | field events_per_s)** |
| the bound: an ordered consumer reading, nothing else | $(echo "$READ" | field read) | $(echo "$READ" | field seconds) | $(echo "$READ" | field events_per_s) |

**Trace**: a lineage graph of $(echo "$GRAPH" | field edges) edges shaped like the
platform's (objects -> versions -> 50 indexes -> answers, versions ->
queries), \`pathway.trace\` depth 5 one request at a time on the bus:

| trace | nodes returned | p50 µs | p99 µs |
|---|---|---|---|
| a dataset version, both ways | $DS_NODES | $(echo "$TRACE_DS" | field p50_us) | $(echo "$TRACE_DS" | field p99_us) |
| an index, up (200 versions and their objects) | $IX_NODES | $(echo "$TRACE_IX" | field p50_us) | $(echo "$TRACE_IX" | field p99_us) |
<!-- events:end -->"
echo "$SECTION"
[ "$WRITE" = 1 ] && bench_write_section events "$SECTION"
exit 0
