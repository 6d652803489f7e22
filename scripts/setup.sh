#!/usr/bin/env bash
# Fetches the embedded ClickHouse engine (libchdb.so) into the cache when it
# is missing, and checks that it loads. Needs Go, gcc and npm (or an existing
# libchdb.so named by CHANGEPROOF_CHDB_LIB).
set -euo pipefail

CHDB_VERSION=26.5.3
PKG="@chdb/lib-linux-x64-gnu@${CHDB_VERSION}"
cache="${CHANGEPROOF_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/changeproof}"
lib="$cache/chdb/$CHDB_VERSION/libchdb.so"
root="$(cd "$(dirname "$0")/.." && pwd)"

fail() {
  cat >&2 <<MSG
setup: $1

The embedded ClickHouse engine could not be installed. Options:
  - make sure npm can reach its registry, then run 'make setup' again;
  - or download libchdb.so yourself (https://github.com/chdb-io/chdb releases,
    libchdb for linux x86_64, version $CHDB_VERSION) and set
    CHANGEPROOF_CHDB_LIB=/path/to/libchdb.so;
  - or run against a ClickHouse server (clickhouse.addr in the config).
MSG
  exit 1
}

if [ -n "${CHANGEPROOF_CHDB_LIB:-}" ]; then
  [ -f "$CHANGEPROOF_CHDB_LIB" ] || fail "CHANGEPROOF_CHDB_LIB=$CHANGEPROOF_CHDB_LIB does not exist"
  echo "setup: using CHANGEPROOF_CHDB_LIB=$CHANGEPROOF_CHDB_LIB"
elif [ -f "$lib" ]; then
  echo "setup: libchdb.so $CHDB_VERSION already in $lib"
else
  command -v npm >/dev/null || fail "npm is not installed (needed to fetch $PKG)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: fetching $PKG (about 170 MB) ..."
  (cd "$tmp" && npm pack --silent "$PKG" >/dev/null) || fail "npm pack $PKG failed"
  tar -xzf "$tmp"/chdb-lib-linux-x64-gnu-*.tgz -C "$tmp" package/libchdb.so || fail "the package has no libchdb.so"
  mkdir -p "$(dirname "$lib")"
  mv "$tmp/package/libchdb.so" "$lib.partial" && mv "$lib.partial" "$lib"
  echo "setup: installed $lib"
fi

mkdir -p "$root/bin"
(cd "$root" && go build -o bin/changeproof ./cmd/changeproof) || fail "go build failed"
"$root/bin/changeproof" engine || fail "libchdb.so did not load"
