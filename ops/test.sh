#!/usr/bin/env bash
# test.sh — installs what is missing, then builds and runs the whole test
# suite twice: a normal build, then an AddressSanitizer + UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/deps.sh
# The real clients some tests drive (the openai npm package), pinned in
# tests/js/package-lock.json, from the npm registry.
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
npm ci --prefix tests/js --no-audit --no-fund --loglevel=error >/dev/null

run_suite() {
  local dir=$1; shift
  echo "== build $dir ($*)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j2
  echo "== test $dir"
  (cd "$dir" && ctest --output-on-failure --timeout 600)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DLH_SANITIZE=ON
