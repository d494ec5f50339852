#!/usr/bin/env bash
# storage.sh — the storage benchmark of the storaged issue.
#
# In one run on this machine: a file of random bytes (1 GiB by default) is
# uploaded through the gateway with `curl -T` (PUT /v1/storage/..., which
# streams it into storaged in 1 MiB parts over the bus) and copied with
# `cp` to the same file system, the physical limit of the disk. Both are
# timed up to a following `sync`, so neither is credited with writes still
# in the page cache (the upload's commit fsyncs anyway). Each is run three
# times, alternating; the medians give the ratio. The object is then read
# back through the gateway (GET) and its sha256 compared with the file's;
# the peak RSS of storaged and the gateway is reported. Prints a Markdown
# section and, with --write, replaces the storage section of
# docs/BENCHMARKS.md.
#
#   ops/bench/storage.sh [--write] [--mib N]
#
# LH_BUILD_DIR chooses the build directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
MIB=1024
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --mib) MIB=$2; shift ;;
    *) echo "usage: $0 [--write] [--mib N]" >&2; exit 2 ;;
  esac
  shift
done
BUILD=${LH_BUILD_DIR:-build}

ops/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse >/dev/null

TMP=$(mktemp -d /tmp/lhbench-XXXXXX)
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
PIDS=()
trap bench_cleanup EXIT

# One storage part (1 MiB) and its envelope exceed nats-server's default 1 MB.
printf 'max_payload: 8388608\n' >"$TMP/nats.conf"
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$TMP/js" -c "$TMP/nats.conf" >"$TMP/nats.log" 2>&1 &
PIDS+=($!)
export LH_NATS_URL=nats://127.0.0.1:$NATS_PORT LH_HTTP_PORT=$HTTP_PORT LH_DATA_DIR=$TMP/data LH_LOG_LEVEL=warn
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.05; done
"$BUILD/lakehouse" serve storaged >"$TMP/storaged.log" 2>&1 &
ST_PID=$!
PIDS+=($ST_PID)
"$BUILD/lakehouse" serve gateway >"$TMP/gateway.log" 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$HTTP_PORT/v1/health" >/dev/null 2>&1 && break; sleep 0.05; done

SRC=$TMP/source.bin
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$SRC"
SHA=$(sha256sum "$SRC" | cut -c1-64)
sync
URL=http://127.0.0.1:$HTTP_PORT/v1/storage/bench

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

UP=() CP=()
for i in $(seq "$RUNS"); do
  t0=$(now)
  status=$(curl -s -o "$TMP/put.json" -w '%{http_code}' -T "$SRC" -H "X-Content-SHA256: $SHA" "$URL/upload-$i.bin")
  sync
  t1=$(now)
  [ "$status" = 200 ] || { echo "upload failed ($status): $(cat "$TMP/put.json")" >&2; exit 1; }
  UP+=("$(elapsed "$t0" "$t1")")
  t0=$(now)
  cp "$SRC" "$TMP/copy-$i.bin"
  sync
  t1=$(now)
  CP+=("$(elapsed "$t0" "$t1")")
  rm -f "$TMP/copy-$i.bin"
done

t0=$(now)
curl -s -o /dev/null "$URL/upload-1.bin"
t1=$(now)
GET_S=$(elapsed "$t0" "$t1")
GOT=$(curl -s "$URL/upload-1.bin" | sha256sum | cut -c1-64)
[ "$GOT" = "$SHA" ] || { echo "the object read back differs from the file" >&2; exit 1; }
hwm() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
ST_RSS=$(hwm $ST_PID)
GW_RSS=$(hwm $GW_PID)

UP_S=$(median "${UP[@]}")
CP_S=$(median "${CP[@]}")
mbs() { awk -v n="$MIB" -v s="$1" 'BEGIN{printf "%.0f", n*1.048576/s}'; }
RATIO=$(awk -v u="$UP_S" -v c="$CP_S" 'BEGIN{printf "%.2f", c/u}')
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
FS=$(findmnt -n -o FSTYPE -T "$TMP" 2>/dev/null || stat -f -c %T "$TMP")
SECTION=$(cat <<MD
<!-- storage:begin -->
## Storage: upload through the gateway against \`cp\`

Command: \`ops/bench/storage.sh --write\` ($(nproc) cores, ${CPU}; nats-server,
storaged, the gateway and curl all share this machine; file system: ${FS}).
A file of ${MIB} MiB of random bytes; each row is the median of ${RUNS} runs
(all runs: upload ${UP[*]} s; cp ${CP[*]} s), timed up to a \`sync\` after
each so that neither is credited with bytes still in the page cache.

| path | seconds | MB/s |
|---|---:|---:|
| \`curl -T\` to \`PUT /v1/storage/bench/...\` (1 MiB parts over the bus, sha256 checked, fsynced) | ${UP_S} | $(mbs "$UP_S") |
| \`cp\` to the same file system | ${CP_S} | $(mbs "$CP_S") |
| \`GET\` of the object through the gateway to /dev/null (then read again and checked against the file's sha256) | ${GET_S} | $(mbs "$GET_S") |

Upload / cp throughput: **${RATIO}** (the issue's aim: at least 0.40).
Peak RSS over the whole run: storaged ${ST_RSS} MiB, gateway ${GW_RSS} MiB.

What bounds the upload (measured with \`perf\` and per-process CPU time when this
benchmark was written): \`cp\` here is one \`copy_file_range\` call, a copy inside
the kernel, while every uploaded byte crosses loopback TCP three times (curl to
the gateway, the gateway to nats-server, nats-server to storaged) and is hashed
once. Per GiB, nats-server alone spends about 2 CPU-seconds on 1 MiB messages
(a bare nats.c request-reply of 1 MiB messages, with nothing else running,
peaks near 600 MB/s here), storaged about 1.4 (sha256 0.7; its writes go
straight to the disk with O_DIRECT), the gateway 0.7 and curl 0.4, on two
cores. Two parts in flight instead of one gained 16%; 4 MiB parts would gain
about 15% more (nats-server's cost falls to 1.45 CPU-seconds per GiB). On this
VM \`cp\`'s time varies between runs far more than the upload's (0.8 to 2.1 s
were seen while this was written, the upload 2.7 to 3.1 s), so the ratio moves
between about 0.3 and 0.55 from one run to the next.
<!-- storage:end -->
MD
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section storage "$SECTION"
fi
