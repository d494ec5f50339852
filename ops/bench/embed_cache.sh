#!/usr/bin/env bash
# embed_cache.sh — the embedding cache benchmark of the chat issue: 10,000
# texts embedded through a remote provider that takes 5 ms per call (a
# local stand-in speaking OpenAI's /v1/embeddings, in python3), first
# pass against second pass (every vector from embedd's LevelDB cache),
# through the gateway's POST /v1/embed in batches of 100; and the same
# 10,000 texts one per request on the bus in msgpack (lh-bench texts), the
# way an ingest or a chat's retrieval asks embedd.
#
#   ops/bench/embed_cache.sh [--write] [--texts N] [--delay-ms D]
#
# Prints a Markdown section and, with --write, replaces the embedding
# cache section of docs/BENCHMARKS.md. LH_BUILD_DIR names the build
# directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
. ops/bench/lib.sh
WRITE=0
TEXTS=10000
DELAY_MS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --write) WRITE=1 ;;
    --texts) TEXTS=$2; shift ;;
    --delay-ms) DELAY_MS=$2; shift ;;
    *) echo "usage: $0 [--write] [--texts N] [--delay-ms D]" >&2; exit 2 ;;
  esac
  shift
done
BUILD=${LH_BUILD_DIR:-build}
LH=$BUILD/lakehouse

ops/deps.sh
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j2 --target lakehouse lh-bench >/dev/null

TMP=$(mktemp -d /tmp/lhbench-embedcache-XXXXXX)
PIDS=()
trap 'LH_DATA_DIR=$TMP/data "$LH" down >/dev/null 2>&1 || true; bench_cleanup' EXIT
PROVIDER_PORT=$(free_port)
NATS_PORT=$(free_port)
HTTP_PORT=$(free_port)

# The stand-in provider: OpenAI's embeddings shape, DELAY_MS per call.
python3 - "$PROVIDER_PORT" "$DELAY_MS" <<'PY' &
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
delay = float(sys.argv[2]) / 1000
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(delay)
        data = [{"object": "embedding", "index": i,
                 "embedding": [float(len(t) % 7 + 1), 1.0, 2.0, 3.0] * 96}
                for i, t in enumerate(body["input"])]
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PIDS+=($!)

export LH_DATA_DIR=$TMP/data
LH_OPENAI_BASE_URL=http://127.0.0.1:$PROVIDER_PORT/v1 LH_OPENAI_API_KEY=bench \
  "$LH" up --nats-port "$NATS_PORT" --http-port "$HTTP_PORT" >"$TMP/up.log" 2>&1

# Both passes, timed by the client: seconds and texts served from the cache.
PASSES=$(python3 - "$HTTP_PORT" "$TEXTS" <<'PY'
import json, sys, time, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
texts = [f"passage number {i} of the benchmark" for i in range(n)]
def run(model="openai/bench"):
    cached, t0 = 0, time.perf_counter()
    for i in range(0, n, 100):
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/embed",
            data=json.dumps({"texts": texts[i:i + 100], "model": model}).encode(),
            headers={"Content-Type": "application/json"})
        cached += json.load(urllib.request.urlopen(req)).get("cached", 0)
    return time.perf_counter() - t0, cached
(a, ca), (b, cb) = run(), run()
h, _ = run("hash2-384")  # the same path with no provider and no cache: its floor
print(f"{a:.2f} {ca} {b:.2f} {cb} {a / b:.1f} {h:.2f}")
PY
)
read -r FIRST FIRST_CACHED SECOND SECOND_CACHED RATIO FLOOR <<<"$PASSES"

# On the bus: one text per request, msgpack, one in flight; twice.
NATS_URL=nats://127.0.0.1:$NATS_PORT
secs() { "$BUILD/lh-bench" texts "$NATS_URL" 1 "$TEXTS" "$1" | sed 's/^seconds=\([0-9.]*\).*/\1/'; }
BUS_FIRST=$(secs openai/bus)     # a model name of its own: nothing of it is cached yet
BUS_SECOND=$(secs openai/bus)
BUS_FLOOR=$(secs hash2-384)
BUS_RATIO=$(python3 -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.1f}")' "$BUS_FIRST" "$BUS_SECOND")

SECTION=$(cat <<EOF
<!-- embedcache:begin -->
## Embedding cache: a remote provider's vectors, the second time

Command: \`ops/bench/embed_cache.sh --write\` (2 cores; a stand-in provider
speaking OpenAI's \`/v1/embeddings\` that takes ${DELAY_MS} ms per call and returns
384 numbers per text, the stack and the client on the same machine).
${TEXTS} texts through \`POST /v1/embed\` with \`model: openai/bench\`, 100 per request:

| pass | seconds | texts from the cache |
|---|---|---|
| first (every text asked of the provider) | ${FIRST} | ${FIRST_CACHED} |
| second (every text from embedd's cache) | ${SECOND} | ${SECOND_CACHED} |
| the built-in \`hash2-384\`, for the floor of the path (no provider, no cache) | ${FLOOR} | — |

Here the second pass is ${RATIO}x faster than the first. Most of the
second pass is what the path costs with no provider at all (the last
row): the JSON of 38,400 numbers per response, made by the gateway and
read by the (Python) client; the cache adds its sha256s, LevelDB reads
and copies. The first pass adds the provider's 5 ms and its own JSON per
call, once per 100 texts.

The same ${TEXTS} texts one per request, on the bus in msgpack
(\`lh-bench texts\`, one in flight; each text a provider call the first
time):

| pass | seconds |
|---|---|
| first (every text asked of the provider) | ${BUS_FIRST} |
| second (every text from embedd's cache) | ${BUS_SECOND} |
| the built-in \`hash2-384\`, for the floor of the path | ${BUS_FLOOR} |

Here the second pass is ${BUS_RATIO}x faster than the first (the aim: at
least 20x): re-embedding what was embedded before costs a LevelDB read
per text instead of a provider call.
<!-- embedcache:end -->
EOF
)
echo "$SECTION"
if [ "$WRITE" = 1 ]; then bench_write_section embedcache "$SECTION"; fi
