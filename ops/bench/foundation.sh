#!/usr/bin/env bash
# foundation.sh — the bus and gateway benchmark of the foundation issue.
#
# In one run on this machine: raw nats.c request-reply (an echo responder,
# the bus's physical limit), embed.request over the bus, and POST /v1/embed
# through the gateway with wrk; each at 1 and 64 requests in flight (raw
# also at 32), one short text per request. Prints a Markdown section and,
# with --write, replaces the foundation section of docs/BENCHMARKS.md.
#
#   ops/bench/foundation.sh [--write] [--seconds S]
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
SECS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --seconds) SECS=$2; shift ;;
    *) echo "usage: $0 [--write] [--seconds S]" >&2; exit 2 ;;
  esac
  shift
done

ops/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target lakehouse lh-bench >/dev/null

TMP=$(mktemp -d /tmp/lhbench-XXXXXX)
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
PIDS=()
trap bench_cleanup EXIT

nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$TMP/js" >"$TMP/nats.log" 2>&1 &
PIDS+=($!)
URL="nats://127.0.0.1:$NATS_PORT"
export LH_NATS_URL=$URL LH_HTTP_PORT=$HTTP_PORT LH_DATA_DIR=$TMP/data LH_LOG_LEVEL=warn
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.05; done
build/lakehouse serve embedd >"$TMP/embedd.log" 2>&1 &
PIDS+=($!)
build/lakehouse serve gateway >"$TMP/gateway.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$HTTP_PORT/v1/health" >/dev/null && break; sleep 0.05; done

BODY='{"texts":["hello world"]}'
bench() { build/lh-bench "$@"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

declare -A RPS P50 P99
run_bus() { # name args...
  local name=$1; shift
  local out; out=$(bench "$@")
  RPS[$name]=$(echo "$out" | field rps); P50[$name]=$(echo "$out" | field p50_us); P99[$name]=$(echo "$out" | field p99_us)
}
to_us() { # wrk latency like 85.00us / 1.20ms / 1.01s -> microseconds
  awk -v v="$1" 'BEGIN{ n=v+0; if (v ~ /ms$/) n*=1000; else if (v ~ /[0-9]s$/) n*=1000000; printf "%.1f", n }'
}
run_wrk() { # name connections threads
  local name=$1 c=$2 t=$3
  local out; out=$(wrk -t"$t" -c"$c" -d"${SECS}s" --latency -s ops/bench/post_embed.lua "http://127.0.0.1:$HTTP_PORT/v1/embed")
  RPS[$name]=$(echo "$out" | awk '/Requests\/sec/ {print int($2)}')
  P50[$name]=$(to_us "$(echo "$out" | awk '$1=="50%" {print $2}')")
  P99[$name]=$(to_us "$(echo "$out" | awk '$1=="99%" {print $2}')")
  if echo "$out" | grep -q "Non-2xx"; then echo "wrk saw errors: $out" >&2; exit 1; fi
}

run_bus raw1 raw "$URL" 1 "$SECS"
run_bus raw32 raw "$URL" 32 "$SECS"
run_bus raw64 raw "$URL" 64 "$SECS"
run_bus bus1 req "$URL" 1 "$SECS" embed.request "$BODY"
run_bus bus64 req "$URL" 64 "$SECS" embed.request "$BODY"
run_wrk gw1 1 1
run_wrk gw64 64 2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
SECTION=$(cat <<MD
<!-- foundation:begin -->
## Foundation: bus and gateway request-reply

Command: \`ops/bench/foundation.sh --write\` (${SECS} s per row; $(nproc) cores, ${CPU};
nats-server, embedd, the gateway and the load generator all share this machine).
One short text per request (\`{"texts":["hello world"]}\`, 384-d vectors back).
Closed loop: each row keeps the stated number of requests in flight.

| path | in flight | requests/s | p50 (µs) | p99 (µs) |
|---|---:|---:|---:|---:|
| raw nats.c request-reply (echo) | 1 | ${RPS[raw1]} | ${P50[raw1]} | ${P99[raw1]} |
| raw nats.c request-reply (echo) | 32 | ${RPS[raw32]} | ${P50[raw32]} | ${P99[raw32]} |
| raw nats.c request-reply (echo) | 64 | ${RPS[raw64]} | ${P50[raw64]} | ${P99[raw64]} |
| embed.request over the bus (JSON) | 1 | ${RPS[bus1]} | ${P50[bus1]} | ${P99[bus1]} |
| embed.request over the bus (JSON) | 64 | ${RPS[bus64]} | ${P50[bus64]} | ${P99[bus64]} |
| POST /v1/embed through the gateway (wrk) | 1 | ${RPS[gw1]} | ${P50[gw1]} | ${P99[gw1]} |
| POST /v1/embed through the gateway (wrk) | 64 | ${RPS[gw64]} | ${P50[gw64]} | ${P99[gw64]} |

Ratios: gateway(64) / raw(32) = $(ratio "${RPS[gw64]}" "${RPS[raw32]}");
bus(64) / raw(64) = $(ratio "${RPS[bus64]}" "${RPS[raw64]}");
gateway(64) / raw(64) = $(ratio "${RPS[gw64]}" "${RPS[raw64]}").
<!-- foundation:end -->
MD
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section foundation "$SECTION"
fi
