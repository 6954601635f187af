#!/usr/bin/env bash
# Makes sure `make test-images` can build and run the container images without a Docker engine:
# Debian's podman (daemonless, runs as root here) and debootstrap (to make the JRE base image from
# Debian's packages, since no image registry is reachable). Installs them when missing and we are root.
set -euo pipefail

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# runc as well as crun: crun cannot set RLIMIT_NPROC inside this sandbox (see deploy/images/README.md).
command -v runc >/dev/null 2>&1 || missing+=(runc)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "${missing[*]} missing: installing Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "podman and debootstrap are needed (apt-get install -y podman debootstrap, as root)" >&2
exit 1
