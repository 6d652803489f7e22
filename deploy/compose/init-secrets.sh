#!/usr/bin/env sh
# Creates the secret files docker-compose.yml mounts, with random values,
# in deploy/compose/secrets/. An existing file is kept, so running this
# again never changes a secret that clients already use.
#
#   ./deploy/compose/init-secrets.sh
#
# Then give GitHub the webhook secret (cat deploy/compose/secrets/github_webhook_secret)
# and hand the tokens to their clients.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"

random() {
  # 32 random bytes, hex: 64 characters, no shell-unfriendly characters.
  od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

for name in github_webhook_secret ingest_token auditor_token admin_token clickhouse_password; do
  f="$dir/$name"
  if [ -s "$f" ]; then
    echo "keep    $f"
    continue
  fi
  (umask 077 && random >"$f" && echo >>"$f")
  # The containers read the file as uid 10001 (changeproof) and 101
  # (clickhouse); compose bind-mounts it with the host's permissions.
  chmod 0644 "$f"
  echo "created $f"
done
