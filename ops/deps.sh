#!/usr/bin/env bash
# deps.sh — installs the Debian 12 packages Lakehouse builds and runs with,
# then DuckDB's library and header, which Debian does not package
# (ops/duckdb.sh: pinned, sha256-checked, from DuckDB's npm packages).
# Idempotent and non-interactive: does nothing when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  nats-server libnats-dev libmsgpack-dev libcurl4-openssl-dev libleveldb-dev
  libfaiss-dev libopenblas-dev libcmocka-dev libmicrohttpd-dev libjansson-dev
  libsqlite3-dev libhnswlib-dev libssl-dev wrk
  libstemmer-dev  # Snowball's English stemmer, for embedd's hash2 scheme
  python3  # the benchmark scripts' helpers and ops/eval/manpages.py
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exec "$(dirname "$0")/duckdb.sh" # not in Debian: pinned, from npm
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
"$(dirname "$0")/duckdb.sh" # not in Debian: pinned, from npm
