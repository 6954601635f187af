#!/usr/bin/env bash
# Builds the JRE base image from Debian's packages, for machines where no image registry is reachable
# (no eclipse-temurin pull): debootstrap a minimal bookworm with openjdk-17-jre-headless, then
# `podman import` it. Cached: the image is built once per machine under $CACHE (default
# ~/.cache/tallyhouse), outside target/, so `mvn clean` does not throw it away.
# Usage: build-base.sh IMAGE_NAME   (prints nothing else on success; the image then exists in podman)
set -euo pipefail

image=${1:?usage: build-base.sh IMAGE_NAME}
cache=${CACHE:-$HOME/.cache/tallyhouse}
podman=(podman --storage-driver=vfs --cgroup-manager=cgroupfs)

if "${podman[@]}" image exists "$image"; then
  exit 0
fi
# The Debian mirror this machine's apt uses: no mirror is named here.
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list)
fi
root="$cache/bookworm-jre17"
tarball="$cache/bookworm-jre17.tar"
mkdir -p "$cache"
if [ ! -f "$tarball" ]; then
  rm -rf "$root"
  debootstrap --variant=minbase --include=openjdk-17-jre-headless,ca-certificates bookworm "$root" "$mirror" >&2
  # What a JRE image does not need: package lists and caches, documentation.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
fi
"${podman[@]}" import \
  --change 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
  --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$image" >&2
