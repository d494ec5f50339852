#!/usr/bin/env bash
# query.sh — the SQL benchmark of the DuckDB issue.
#
# In one run on this machine: the ingest benchmark's CSV (--rows, default
# 1,000,000) and a 5-row `cities` dataset are ingested (ingestd writes each
# version as a Parquet object); then
#   1. the cold first query of the version: queryd's cache emptied and
#      queryd restarted, so the query first puts the Parquet object in the
#      cache (a hard link to storaged's file here, one machine) (median of 3);
#   2. three warm queries — GROUP BY, a filter, a join with the small
#      dataset — timed four ways, median of RUNS each:
#        bus:      one request after another on one connection (lh-bench req,
#                  INFLIGHT 1), its p50 round trip;
#        gateway:  curl POST /v1/sql, curl's own time_total (no process start);
#        duckdb:   DuckDB in-process on the same Parquet files queryd reads
#                  (lh-bench-duckdb: the limit);
#        sqlite3:  the sqlite3 tool on a database file of the same typed rows
#                  (the old anchor), timed around the process;
#      and one bus round trip (PING of queryd, p50) for the aim "within 1.3x
#      of in-process DuckDB plus one round trip".
# Prints a Markdown section and, with --write, replaces the section of
# docs/BENCHMARKS.md (`query` for 1M rows, `query-<rows>` otherwise).
#
#   ops/bench/query.sh [--write] [--rows N]     (BUILD=dir: build directory, default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
ROWS=1000000
RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --rows) ROWS=$2; shift ;;
    *) echo "usage: $0 [--write] [--rows N]" >&2; exit 2 ;;
  esac
  shift
done

ops/deps.sh
command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse lh-bench lh-bench-duckdb >/dev/null
LH=$BUILD/lakehouse

TMP=$(mktemp -d /tmp/lhbench-query-XXXXXX)
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)
PIDS=()
trap bench_cleanup EXIT

python3 - "$TMP/rows.csv" "$TMP/cities.csv" "$ROWS" <<'PY'
import random, sys
random.seed(1)
cities = ["Paris", "Lyon", "Nice", "Lille", "Nantes"]
with open(sys.argv[1], "w") as f:
    f.write("id,name,city,amount,qty,active,note\n")
    for i in range(1, int(sys.argv[3]) + 1):
        f.write(f'{i},user{i % 9973},{cities[i % 5]},{random.random() * 1000:.2f},{i % 97},'
                f'{"true" if i % 3 else "false"},"note, {i}"\n')
with open(sys.argv[2], "w") as f:
    f.write("city,region,population\n")
    for i, c in enumerate(cities):
        f.write(f"{c},{'north' if i % 2 else 'south'},{(i + 1) * 100000}\n")
PY

echo "max_payload: 8388608" >"$TMP/nats.conf"
nats-server -c "$TMP/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$TMP/js" >"$TMP/nats.log" 2>&1 &
PIDS+=($!)
export LH_NATS_URL="nats://127.0.0.1:$NATS_PORT" LH_DATA_DIR=$TMP/data LH_LOG_LEVEL=warn
export LH_REQUEST_TIMEOUT_MS=600000 LH_HTTP_PORT=$HTTP_PORT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null && break; sleep 0.05; done
declare -A APID
start_actor() {
  "$LH" serve "$1" >>"$TMP/$1.log" 2>&1 &
  APID[$1]=$!
  PIDS+=($!)
}
wait_ping() {
  for _ in $(seq 400); do "$LH" req "\$SRV.PING.$1" '{}' >/dev/null 2>&1 && return; sleep 0.05; done
  echo "$1 never answered" >&2; exit 1
}
for a in storaged catalogd ingestd queryd gateway; do start_actor "$a"; done
for a in storaged catalogd ingestd queryd gateway; do wait_ping "$a"; done

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b - a) * 1000}'; }
median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }

t0=$(now)
"$LH" ingest "$TMP/rows.csv" --dataset big >/dev/null
t1=$(now)
INGEST=$(ms "$t0" "$t1")
"$LH" ingest "$TMP/cities.csv" --dataset cities >/dev/null

# The Parquet file of a dataset's latest version, as queryd caches it.
parquet_of() {
  "$LH" req catalog.get "{\"name\":\"$1\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["version"]["parquet"]["sha256"])' |
    sed "s|^|$LH_DATA_DIR/queryd/cache/pq-|; s|$|.parquet|"
}

# The peer's database: the same rows, typed as the catalog typed them.
SQLDB=$TMP/peer.db
t0=$(now)
sqlite3 "$SQLDB" "CREATE TABLE big(id INTEGER, name TEXT, city TEXT, amount REAL, qty INTEGER, active INTEGER, note TEXT);" \
  ".import --csv --skip 1 $TMP/rows.csv big"
t1=$(now)
sqlite3 "$SQLDB" "UPDATE big SET active = (active = 'true');" \
  "CREATE TABLE cities(city TEXT, region TEXT, population INTEGER);" \
  ".import --csv --skip 1 $TMP/cities.csv cities"
IMPORT=$(ms "$t0" "$t1")

Q_GROUP="SELECT city, count(*), sum(amount), avg(qty) FROM big GROUP BY city ORDER BY city"
Q_FILTER="SELECT count(*), sum(amount) FROM big WHERE qty > 50 AND active AND name LIKE 'user1%'"
Q_FILTER_SQLITE="SELECT count(*), sum(amount) FROM big WHERE qty > 50 AND active = 1 AND name LIKE 'user1%'"
Q_JOIN="SELECT c.region, count(*), sum(r.amount) FROM big r JOIN cities c ON c.city = r.city GROUP BY c.region ORDER BY c.region"

# Cold: the cache emptied and queryd restarted before each first query.
cold_once() {
  kill "${APID[queryd]}"; wait "${APID[queryd]}" 2>/dev/null || true
  rm -rf "$LH_DATA_DIR/queryd/cache"
  start_actor queryd; wait_ping queryd
  "$LH" sql 'SELECT 1' >/dev/null # the connection and catalog warm, not the version
  local a b
  a=$(now); "$LH" sql --json "$Q_GROUP" >"$TMP/cold.json"; b=$(now)
  ms "$a" "$b" >>"$TMP/cold.ms"; echo >>"$TMP/cold.ms"
}
# Not in a subshell: the restarted queryd must be in this shell's PIDS.
for _ in 1 2 3; do cold_once; done
COLD=$(median <"$TMP/cold.ms")
COLD_WARM=$(for _ in $(seq "$RUNS"); do
  a=$(now); "$LH" sql --json "$Q_GROUP" >/dev/null; b=$(now); ms "$a" "$b"; echo
done | median)
"$LH" sql 'SELECT count(*) FROM cities' >/dev/null
BIG_PQ=$(parquet_of big); CITIES_PQ=$(parquet_of cities)
[ -f "$BIG_PQ" ] && [ -f "$CITIES_PQ" ] || { echo "no cached Parquet files" >&2; exit 1; }

bus_p50() { # the p50 round trip of query.sql, in ms, one at a time for 3 s
  local body; body=$(python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "$1")
  "$BUILD/lh-bench" req "$LH_NATS_URL" 1 3 query.sql "$body" |
    sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' | awk '{printf "%.1f", $1 / 1000}'
}
gateway_ms() {
  python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "$1" >"$TMP/body.json"
  for _ in $(seq "$RUNS"); do
    curl -sf -o /dev/null -w '%{time_total}\n' -X POST -H 'Content-Type: application/json' \
      --data-binary "@$TMP/body.json" "http://127.0.0.1:$HTTP_PORT/v1/sql"
  done | median | awk '{printf "%.1f", $1 * 1000}'
}
duckdb_ms() {
  "$BUILD/lh-bench-duckdb" query "$1" "$RUNS" "big=$BIG_PQ" "cities=$CITIES_PQ" |
    sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p'
}
sqlite_ms() {
  for _ in $(seq "$RUNS"); do
    local a b; a=$(now); sqlite3 "$SQLDB" "$1" >/dev/null; b=$(now); ms "$a" "$b"; echo
  done | median
}
PING=$("$BUILD/lh-bench" req "$LH_NATS_URL" 1 2 '$SRV.PING.queryd' '{}' |
       sed -n 's/.*p50_us=\([0-9]*\).*/\1/p' | awk '{printf "%.2f", $1 / 1000}')

ROWS_MD=""
for q in GROUP FILTER JOIN; do
  var="Q_$q"; sql=${!var}
  svar="Q_${q}_SQLITE"; ssql=${!svar:-$sql}
  B=$(bus_p50 "$sql"); G=$(gateway_ms "$sql"); D=$(duckdb_ms "$sql"); S=$(sqlite_ms "$ssql")
  R=$(awk -v b="$B" -v d="$D" -v p="$PING" 'BEGIN{printf "%.2f", b / (d + p)}')
  ROWS_MD+="| ${q,,}: \`${sql}\` | ${B} | ${G} | ${D} | ${S} | ${R} |"$'\n'
done

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
NAME=query; [ "$ROWS" = 1000000 ] || NAME="query-$ROWS"
SECTION=$(cat <<MD
<!-- $NAME:begin -->
## SQL: queryd (DuckDB over Parquet), ${ROWS} rows

Command: \`ops/bench/query.sh --write$([ "$ROWS" = 1000000 ] || echo " --rows $ROWS")\` ($(nproc) cores, ${CPU}; nats-server,
the actors and the clients share this machine). Data: the ingest benchmark's
${ROWS}-row CSV as dataset \`big\`, and a 5-row \`cities\`.

- \`lakehouse ingest\` of the CSV (upload in 1 MiB parts, the job: read,
  infer, write and store the Parquet object, commit): **${INGEST} ms**;
  \`sqlite3 .import\` of the same file into a typed table: ${IMPORT} ms.
- Cold first query of the version (queryd's cache emptied, queryd
  restarted; the GROUP BY below through \`lakehouse sql\`: the version's
  Parquet object put in the cache, here by a hard link to storaged's file,
  then hashed): **${COLD} ms**, against
  ${COLD_WARM} ms for the same command warm (median of 3 and of ${RUNS}; both
  include the client's process start).
- One bus round trip (PING of queryd, p50): ${PING} ms.

Warm queries, milliseconds, median of ${RUNS} (bus: p50 of back-to-back
requests for 3 s on one connection; gateway: curl's time_total; duckdb:
in-process on the same Parquet files; sqlite3: the tool on a database file
of the same typed rows, around the process). The last column is the aim's
ratio: bus / (duckdb + one round trip), aim at most 1.3.

| query | bus | gateway | duckdb in-process | sqlite3 | bus / (duckdb + RTT) |
|---|---:|---:|---:|---:|---:|
${ROWS_MD}
<!-- $NAME:end -->
MD
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section "$NAME" "$SECTION"
fi
