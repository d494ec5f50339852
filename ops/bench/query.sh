#!/usr/bin/env bash
# query.sh — the SQL benchmark of the queryd issue.
#
# In one run on this machine: the ingest benchmark's 1,000,000-row CSV and
# a 5-row `cities` dataset are ingested; then
#   1. the cold first query (queryd loads the version from storaged through
#      the tabular reader into its cache) against `sqlite3 .import` of the
#      same file into a typed table;
#   2. three warm queries — GROUP BY, a filter, a join with the small
#      dataset — through the bus (`lakehouse sql`), through the gateway
#      (`curl POST /v1/sql`) and by the `sqlite3` tool on a database file
#      holding the same typed rows. Each is the median of 5 runs, timed
#      around the whole client process (so each includes a process start
#      and a connection, as the sqlite3 tool's includes opening the file).
# Prints a Markdown section and, with --write, replaces the query section of
# docs/BENCHMARKS.md.
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
cmake --build "$BUILD" -j2 --target lakehouse >/dev/null
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
for a in storaged catalogd ingestd queryd gateway; do
  "$LH" serve "$a" >"$TMP/$a.log" 2>&1 &
  PIDS+=($!)
done
for a in storage catalog ingest query gateway; do
  for _ in $(seq 200); do
    "$LH" req "\$SRV.PING.${a}d" '{}' >/dev/null 2>&1 && break
    "$LH" req "\$SRV.PING.${a}" '{}' >/dev/null 2>&1 && break; sleep 0.05
  done
done
"$LH" ingest "$TMP/rows.csv" --dataset big >/dev/null
"$LH" ingest "$TMP/cities.csv" --dataset cities >/dev/null

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b - a) * 1000}'; }
median() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }

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

t2=$(now)
"$LH" sql --json --timeout 300000 'SELECT count(*) FROM big' >"$TMP/cold.json"
t3=$(now)
COLD=$(ms "$t2" "$t3")
grep -q "\[\[$ROWS\]\]" "$TMP/cold.json" || { cat "$TMP/cold.json" >&2; exit 1; }
"$LH" sql 'SELECT count(*) FROM cities' >/dev/null

Q_GROUP="SELECT city, count(*), sum(amount), avg(qty) FROM big GROUP BY city ORDER BY city"
Q_FILTER="SELECT count(*), sum(amount) FROM big WHERE qty > 50 AND active = 1 AND name LIKE 'user1%'"
Q_JOIN="SELECT c.region, count(*), sum(r.amount) FROM big r JOIN cities c ON c.city = r.city GROUP BY c.region ORDER BY c.region"

bus() { "$LH" sql --json "$1" >"$TMP/out.json"; }
gateway() { # the JSON body is made before the clock starts (body.json)
  curl -sf -X POST -H 'Content-Type: application/json' --data-binary "@$TMP/body.json" \
    "http://127.0.0.1:$HTTP_PORT/v1/sql" >"$TMP/out.json"
}
peer() { sqlite3 "$SQLDB" "$1" >"$TMP/out.txt"; }
timed() { # timed FN SQL -> median ms of RUNS runs
  local fn=$1 sql=$2
  for _ in $(seq "$RUNS"); do
    local a b
    a=$(now); "$fn" "$sql"; b=$(now)
    ms "$a" "$b"; echo
  done | median
}

ROWS_MD=""
for q in GROUP FILTER JOIN; do
  var="Q_$q"; sql=${!var}
  python3 -c 'import json,sys; print(json.dumps({"sql": sys.argv[1]}))' "$sql" >"$TMP/body.json"
  B=$(timed bus "$sql"); G=$(timed gateway "$sql"); P=$(timed peer "$sql")
  R=$(awk -v b="$B" -v p="$P" 'BEGIN{printf "%.2f", b / p}')
  RG=$(awk -v g="$G" -v p="$P" 'BEGIN{printf "%.2f", g / p}')
  ROWS_MD+="| ${q,,}: \`${sql}\` | ${B} | ${G} | ${P} | ${R} | ${RG} |"$'\n'
done

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
SECTION=$(cat <<MD
<!-- query:begin -->
## SQL: queryd against the sqlite3 tool

Command: \`ops/bench/query.sh --write\` ($(nproc) cores, ${CPU}; nats-server,
the actors and the clients share this machine). Data: the ingest benchmark's
${ROWS}-row CSV as dataset \`big\`, and a 5-row \`cities\`.

Cold first query (\`SELECT count(*) FROM big\`: queryd loads the version
from storaged, through the tabular reader, into its cache): **${COLD} ms**,
against **${IMPORT} ms** for \`sqlite3 .import\` of the same file into a
typed table.

Warm queries, median of ${RUNS} runs each, milliseconds around the whole client
process (\`lakehouse sql\` for the bus, \`curl\` for the gateway, the
\`sqlite3\` tool on a database file of the same typed rows):

| query | bus | gateway | sqlite3 | bus / sqlite3 | gateway / sqlite3 |
|---|---:|---:|---:|---:|---:|
${ROWS_MD}
<!-- query:end -->
MD
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then
  bench_write_section query "$SECTION"
fi
