#!/usr/bin/env bash
# Installs the Node.js clients the integration tests run (clients/: @openrouter/sdk, kafkajs and the
# Confluent schema registry client) exactly as clients/package-lock.json pins them, with `npm ci`. Skips the
# install when clients/node_modules is newer than the lock file and package.json.
set -euo pipefail

dir="$(cd "$(dirname "$0")/../clients" && pwd)"
stamp="$dir/node_modules/.package-lock.json" # written by npm at the end of every install

fail() {
  echo "ensure-node-clients: $1" >&2
  echo "The integration tests need them (testkit NodeScripts); make deps runs this script." >&2
  exit 1
}

command -v node >/dev/null 2>&1 || fail "node is not on the PATH. Install Node.js 20 or later (Debian: apt-get install -y nodejs npm)."
command -v npm >/dev/null 2>&1 || fail "npm is not on the PATH. Install it (Debian: apt-get install -y npm)."
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || fail "node $(node --version) is too old: the clients need Node.js 20 or later."

if [ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ] && [ "$stamp" -nt "$dir/package.json" ]; then
  exit 0
fi

echo "ensure-node-clients: installing clients/node_modules from clients/package-lock.json (npm ci)" >&2
# --ignore-scripts: none of these packages needs an install script (lz4-napi ships its binary as a
# per-platform package), and a test dependency has no business running code at install time.
if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error); then
  fail "npm ci failed in $dir (see npm's message above): is the npm registry reachable?"
fi
