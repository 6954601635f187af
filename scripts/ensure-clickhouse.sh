#!/usr/bin/env bash
# Makes sure the tests and the local stack can get a real ClickHouse server: either a Docker engine
# (the testkit then uses Testcontainers) or the clickhouse-server binary, installed from Debian's
# packages when it is missing and we are allowed to install.
set -euo pipefail

# openssl writes the PEM private key a TLS ClickHouse server reads (testkit TlsCertificates).
if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "openssl is missing: installing Debian's openssl" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi

if [ "${TALLYHOUSE_TEST_BACKEND:-auto}" != "local" ] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  exit 0
fi
if command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/bin/clickhouse-server ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "clickhouse-server is missing and there is no Docker engine: installing Debian's clickhouse-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the package from starting a system-wide server; the testkit runs its own.
  apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
No ClickHouse server available: there is no Docker engine and no clickhouse-server binary.
Fix: as root run `apt-get update && apt-get install -y clickhouse-server`, or start a Docker engine
(the tests then use Testcontainers), or point CLICKHOUSE_SERVER_BIN at a clickhouse-server binary.
MSG
exit 1
