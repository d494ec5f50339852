#!/usr/bin/env bash
# run.sh — installs what is missing, builds, and starts the whole stack on
# embedded defaults: a local nats-server with JetStream, every actor, and
# the gateway. `build/lakehouse down` stops it. Extra arguments go to
# `lakehouse up` (e.g. --http-port 9090 --data-dir /srv/lh).
set -euo pipefail
cd "$(dirname "$0")/.."
ops/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target lakehouse >/dev/null
exec build/lakehouse up "$@"
