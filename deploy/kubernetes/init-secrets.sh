#!/usr/bin/env sh
# Creates the secret files kustomization.yaml's secretGenerator reads, with
# random values, in deploy/kubernetes/secrets/ (or the directory given). An
# existing file is kept, so running this again never changes a secret that
# clients already use.
#
#   ./deploy/kubernetes/init-secrets.sh                           # distributed
#   ./deploy/kubernetes/init-secrets.sh deploy/kubernetes/embedded/secrets   # embedded
#
# Then give GitHub the webhook secret (cat .../github-webhook-secret), hand
# the tokens to their clients, and set clickhouse-password on ClickHouse.
set -eu
dir="${1:-$(cd "$(dirname "$0")" && pwd)/secrets}"
mkdir -p "$dir"

random() {
  # 32 random bytes, hex: 64 characters, no shell-unfriendly characters.
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

for name in github-webhook-secret ingest-token auditor-token admin-token clickhouse-password; do
  f="$dir/$name"
  if [ -s "$f" ]; then
    echo "keep    $f"
    continue
  fi
  (umask 077 && random >"$f")
  echo "created $f"
done
