#!/usr/bin/env bash
# Makes sure the tests can get Prometheus' own tools: `promtool` (checks the services' /metrics text,
# the alert rules and their unit tests) and the `prometheus` server (the live scrape test), installed
# from Debian's `prometheus` package when they are missing and we are allowed to install.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "promtool or prometheus is missing: installing Debian's prometheus package" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Several builds may share the machine: wait for another apt-get instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  # policy-rc.d keeps the package from starting a system-wide server; the tests run their own.
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends prometheus >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
No promtool/prometheus available and not allowed to install them.
Fix: as root run `apt-get update && apt-get install -y --no-install-recommends prometheus` (Debian's
package brings both; version 2.42 or later), or put a Prometheus release's `promtool` and `prometheus`
binaries on the PATH (or point PROMTOOL_BIN at promtool).
MSG
exit 1
