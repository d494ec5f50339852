#!/usr/bin/env bash
# vector.sh — the vector search benchmark of the vectord issue, in one run.
#
# On the same seeded data and queries: in-process search (faiss through our
# shim, stock faiss, hnswlib; lh-bench-vector), then a real vectord
# (`lakehouse serve vectord --workers 2`) over the bus (lh-bench-vector
# --bus: build by upsert, recall@10, 1 and 32 searches in flight) and
# through the gateway (wrk with ops/bench/post_bodies.lua, 1 and 32
# connections). Prints a Markdown section with the ratios against the
# in-process limit and, with --write, replaces the vector section of
# docs/BENCHMARKS.md (other sections are left as they are).
#
#   ops/bench/vector.sh [--write] [--quick] [--seconds S] [--rounds R]
#
# --quick runs 20,000 x 128 with one short round per row, for a fast check.
# LH_BUILD_DIR names the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
QUICK=0
SECS=3
ROUNDS=3
ARGS_SEEN=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --quick) QUICK=1 ;;
    --seconds) SECS=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    *) echo "usage: $0 [--write] [--quick] [--seconds S] [--rounds R]" >&2; exit 2 ;;
  esac
  shift
done
DATA=(--n 100000 --dim 384 --queries 1000 --clusters 100 --seed 1 --m 32 --ef-construction 200)
SNAPSHOT_SECONDS=30 # vectord's default
if [ "$QUICK" = 1 ]; then
  DATA=(--n 20000 --dim 128 --queries 1000 --clusters 100 --seed 1 --m 32 --ef-construction 200)
  SECS=1 ROUNDS=1 SNAPSHOT_SECONDS=5
fi
BUILD=${LH_BUILD_DIR:-build}

ops/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse lh-bench-vector >/dev/null

# key=value helpers over lh-bench-vector --output kv
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }
row() { grep "^$2" <<<"$1" | head -1; }

LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
echo "in-process benchmark (${DATA[*]})..." >&2
INPROC=$("$BUILD/lh-bench-vector" "${DATA[@]}" --seconds "$SECS" --rounds "$ROUNDS" --output kv)
HEAD=$(row "$INPROC" "mode=inproc")
EF=$(kv "$HEAD" ef_search)

TMP=$(mktemp -d /tmp/lhbench-vector-XXXXXX)
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
PIDS=()
trap bench_cleanup EXIT

# As `lakehouse up` runs it: 8 MiB messages (an upsert batch of 1,000 x 384
# float32 is about 1.6 MB, above nats-server's default of 1 MB).
echo "max_payload: 8388608" >"$TMP/nats.conf"
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$TMP/js" -c "$TMP/nats.conf" >"$TMP/nats.log" 2>&1 &
PIDS+=($!)
URL="nats://127.0.0.1:$NATS_PORT"
HTTP="http://127.0.0.1:$HTTP_PORT"
export LH_NATS_URL=$URL LH_HTTP_PORT=$HTTP_PORT LH_DATA_DIR=$TMP/data LH_LOG_LEVEL=warn
export LH_VECTOR_SNAPSHOT_SECONDS=$SNAPSHOT_SECONDS
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.05; done
"$BUILD/lakehouse" serve vectord --workers 2 >"$TMP/vectord.log" 2>&1 &
PIDS+=($!)
"$BUILD/lakehouse" serve gateway >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do curl -sf "$HTTP/v1/vectors/indexes" >/dev/null && break; sleep 0.05; done
curl -sf "$HTTP/v1/vectors/indexes" >/dev/null || { cat "$TMP"/*.log >&2; exit 1; }

echo "bus benchmark (vectord, ef_search $EF)..." >&2
BUS=$("$BUILD/lh-bench-vector" "${DATA[@]}" --seconds "$SECS" --rounds "$ROUNDS" --output kv \
  --ef-search "$EF" --bus "$URL" --http "$HTTP" --bodies "$TMP/bodies.jsonl" \
  --inflight 1,32 --settle $((SNAPSHOT_SECONDS + 2)))

declare -A RPS P50 P99 RANGE
to_us() { # wrk latency like 85.00us / 1.20ms / 1.01s -> microseconds
  awk -v v="$1" 'BEGIN{ n=v+0; if (v ~ /ms$/) n*=1000; else if (v ~ /[0-9]s$/) n*=1000000; printf "%.0f", n }'
}
# One wrk run per round; the row is the run with the median requests/s.
run_wrk() { # name connections threads
  local name=$1 c=$2 t=$3 runs=() out
  for _ in $(seq "$ROUNDS"); do
    out=$(LH_BENCH_BODIES=$TMP/bodies.jsonl LH_BENCH_PATH=/v1/vectors/search wrk -t"$t" -c"$c" -d"${SECS}s" --latency \
      -s ops/bench/post_bodies.lua "$HTTP")
    if grep -qE "Non-2xx|Socket errors" <<<"$out"; then echo "wrk saw errors: $out" >&2; exit 1; fi
    runs+=("$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out") $(to_us "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_us "$(awk '$1=="99%" {print $2}' <<<"$out")")")
    echo "  gateway, $c connections: ${runs[-1]%% *} requests/s" >&2
  done
  local sorted; sorted=$(printf '%s\n' "${runs[@]}" | sort -n)
  read -r RPS[$name] P50[$name] P99[$name] <<<"$(sed -n "$(( (ROUNDS + 1) / 2 ))p" <<<"$sorted")"
  RANGE[$name]="$(head -1 <<<"$sorted" | cut -d' ' -f1)–$(tail -1 <<<"$sorted" | cut -d' ' -f1)"
}
echo "gateway benchmark (wrk)..." >&2
run_wrk gw1 1 1
run_wrk gw32 32 2
LOAD_AFTER=$(cut -d' ' -f1 /proc/loadavg)

# ---- the Markdown section ----
BUSHEAD=$(row "$BUS" "mode=bus")
fmt_int() { printf '%d' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
engine_name() {
  case $1 in
    shim) echo "faiss via lakehouse shim ($(kv "$HEAD" simd) kernels)" ;;
    shim_avx2) echo "faiss via lakehouse shim (kernels capped at avx2)" ;;
    hnswlib) echo "hnswlib 0.6.2 (avx2, compile time)" ;;
    stock) echo "faiss IndexHNSWFlat, stock (scalar kernels)" ;;
  esac
}
ENGINES=$(grep "^engine=" <<<"$INPROC" | sed 's/^engine=\([a-z0-9_]*\).*/\1/')
BUILD_ROWS=""
SEARCH_ROWS=""
for e in $ENGINES; do
  L=$(row "$INPROC" "engine=$e ")
  build=$(kv "$L" build_s); [ "${build#-}" != "$build" ] && build="same index"
  BUILD_ROWS+="| $(engine_name "$e"), in-process | $build | $(kv "$L" recall) |"$'\n'
  SEARCH_ROWS+="| $(engine_name "$e"), in-process | 1 thread | $(kv "$L" qps1) | $(kv "$L" lo1)–$(kv "$L" hi1) | $(kv "$L" p50_1) | $(kv "$L" p99_1) |"$'\n'
  SEARCH_ROWS+="| $(engine_name "$e"), in-process | 2 threads | $(kv "$L" qps2) | $(kv "$L" lo2)–$(kv "$L" hi2) | $(kv "$L" p50_2) | $(kv "$L" p99_2) |"$'\n'
done
SHIM=$(row "$INPROC" "engine=shim ")
B1=$(row "$BUS" "path=bus inflight=1 ")
B32=$(row "$BUS" "path=bus inflight=32 ")
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
CMD="ops/bench/vector.sh${ARGS_SEEN[*]:+ ${ARGS_SEEN[*]}}"
N=$(kv "$HEAD" n)
DIM=$(kv "$HEAD" dim)

SECTION=$(cat <<MD
<!-- vector:begin -->
## Vector search: vectord over the bus and the gateway, beside in-process faiss

Command: \`$CMD\` ($(nproc) cores, ${CPU}, SIMD kernels: $(kv "$HEAD" simd);
vectord with \`--workers 2\`, the gateway with its default 2 HTTP threads,
nats-server and the load generators all share this machine; load average
before ${LOAD_BEFORE}, after ${LOAD_AFTER}).

Data: $(fmt_int "$N") vectors of dimension ${DIM} from a seeded Gaussian mixture
(100 centres), normalized; $(fmt_int "$(kv "$HEAD" queries)") queries from the same
mixture, not indexed; exact answers from faiss \`IndexFlatIP\`. HNSW M=$(kv "$HEAD" m),
ef_construction=$(kv "$HEAD" ef_construction), ef_search=${EF} (the smallest on a fixed
ladder at which every in-process engine reaches recall@10 0.95), k=10; vectord's
index is \`cosine\`.

| engine or path | build (s) | recall@10 |
|---|---:|---:|
${BUILD_ROWS}| vectord over the bus (\`vector.upsert\`, msgpack, batches of $(fmt_int "$(kv "$BUSHEAD" batch)"), until the last ack) | $(kv "$BUSHEAD" build_s) | $(kv "$BUSHEAD" recall) |
| vectord through the gateway (\`POST /v1/vectors/search\`, same index) | — | $(kv "$BUSHEAD" gateway_recall) |

In-process builds use 2 threads. vectord's build also encodes, sends and
decodes every batch, writes it to LevelDB (synced) before indexing it, and
pauses for its periodic snapshot (every ${SNAPSHOT_SECONDS} s).

Single-query search, closed loop: in-process rows run N threads, each one
query at a time; bus rows keep N \`vector.search\` requests in flight on one
connection (msgpack, vector as bin of float32; each reply sends the next
request); gateway rows are wrk with N connections (JSON). Searches start
after vectord's snapshot of the new index. Requests/s is the median of
${ROUNDS} round(s) of ${SECS} s, beside the slowest and fastest round (a wide range
means other work took cores during the run); in-process and bus latencies
are over all rounds, the gateway's are those of its median round.

| path | threads / in flight | requests/s | rounds | p50 (µs) | p99 (µs) |
|---|---:|---:|---:|---:|---:|
${SEARCH_ROWS}| vectord over the bus | 1 | $(kv "$B1" qps) | $(kv "$B1" lo)–$(kv "$B1" hi) | $(kv "$B1" p50_us) | $(kv "$B1" p99_us) |
| vectord over the bus | 32 | $(kv "$B32" qps) | $(kv "$B32" lo)–$(kv "$B32" hi) | $(kv "$B32" p50_us) | $(kv "$B32" p99_us) |
| vectord through the gateway | 1 | ${RPS[gw1]} | ${RANGE[gw1]} | ${P50[gw1]} | ${P99[gw1]} |
| vectord through the gateway | 32 | ${RPS[gw32]} | ${RANGE[gw32]} | ${P50[gw32]} | ${P99[gw32]} |

Ratios against faiss via the shim in-process (vectord's own engine; the aim
for the bus at 32 in flight is 0.70 of in-process on the same 2 threads):
bus(32) / in-process(2 threads) = $(ratio "$(kv "$B32" qps)" "$(kv "$SHIM" qps2)");
gateway(32) / in-process(2 threads) = $(ratio "${RPS[gw32]}" "$(kv "$SHIM" qps2)");
bus(1) / in-process(1 thread) = $(ratio "$(kv "$B1" qps)" "$(kv "$SHIM" qps1)").
<!-- vector:end -->
MD
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section vector "$SECTION"
fi
