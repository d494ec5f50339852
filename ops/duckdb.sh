#!/usr/bin/env bash
# duckdb.sh — DuckDB's C library and header, which Debian 12 does not
# package, from DuckDB's official npm packages at one pinned version:
# `@duckdb/node-bindings-linux-x64` carries libduckdb.so (the whole C API,
# with the parquet and json extensions built in) and `duckdb` (the older
# Node package, its sources) carries the C API's header. Each tarball's
# sha256 is checked against the value below before anything is unpacked.
# Idempotent: does nothing when the pinned version is in place.
#
#   ops/duckdb.sh [DIR]     (default: .deps/duckdb-<version> in the tree)
#
# The build finds the library there (CMakeLists.txt) and the executables
# carry its directory as their rpath. Nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.4.4
BINDINGS_VERSION=1.4.4-r.4
HEADER_PKG="duckdb@$VERSION"
HEADER_TGZ="duckdb-$VERSION.tgz"
HEADER_SHA256=5bb967dcbcd517670ba5f169f238fb9d6787e53752c60ebe24386169d76941ed
LIB_PKG="@duckdb/node-bindings-linux-x64@$BINDINGS_VERSION"
LIB_TGZ="duckdb-node-bindings-linux-x64-$BINDINGS_VERSION.tgz"
LIB_SHA256=732fac4dc6b8f198870b9c4bb6ddf13544466daca00ad28ba2f1d80de5d7aa4b

DIR=${1:-.deps/duckdb-$VERSION}
[ -f "$DIR/include/duckdb.h" ] && [ -f "$DIR/lib/libduckdb.so" ] && exit 0

if ! command -v npm >/dev/null; then # Debian's, to fetch from the npm registry
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ "$(uname -m)" != x86_64 ]; then
  echo "duckdb.sh: the pinned library is for x86_64 Linux, not $(uname -m)" >&2
  exit 1
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "deps: DuckDB $VERSION from npm ($HEADER_PKG, $LIB_PKG)" >&2
(cd "$WORK" && npm pack --silent "$HEADER_PKG" "$LIB_PKG" >/dev/null)
check() { # check FILE SHA256
  local got
  got=$(sha256sum "$WORK/$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "duckdb.sh: $1 has sha256 $got, not the pinned $2: refusing it" >&2
    exit 1
  fi
}
check "$HEADER_TGZ" "$HEADER_SHA256"
check "$LIB_TGZ" "$LIB_SHA256"

mkdir -p "$WORK/out/include" "$WORK/out/lib"
tar -xzf "$WORK/$HEADER_TGZ" -C "$WORK" package/src/duckdb/src/include/duckdb.h
mv "$WORK/package/src/duckdb/src/include/duckdb.h" "$WORK/out/include/"
rm -rf "$WORK/package"
tar -xzf "$WORK/$LIB_TGZ" -C "$WORK" package/libduckdb.so package/LICENSE
mv "$WORK/package/libduckdb.so" "$WORK/out/lib/"
mv "$WORK/package/LICENSE" "$WORK/out/LICENSE"
echo "$VERSION" > "$WORK/out/VERSION"
mkdir -p "$(dirname "$DIR")"
rm -rf "$DIR"
mv "$WORK/out" "$DIR" # whole, or not at all
