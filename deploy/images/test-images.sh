#!/usr/bin/env bash
# make test-images: builds the three images with podman over a JRE base made from Debian's packages (no image
# registry is reachable here), then runs gateway-ingest's image: --version must match the distribution, the
# process must not run as root. Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/../.."

# What works inside this sandbox (deploy/images/README.md says why): vfs storage, cgroupfs, runc.
export PODMAN_FLAGS=${PODMAN_FLAGS:---storage-driver=vfs --cgroup-manager=cgroupfs --runtime runc}
# vfs copies the whole file system for every layer: one layer per stage instead of one per instruction.
export PODMAN_BUILD_FLAGS=${PODMAN_BUILD_FLAGS:---layers=false}
base=localhost/tallyhouse-base:bookworm-jre17
# shellcheck disable=SC2206
podman=(podman $PODMAN_FLAGS)
# Limits no higher than this machine's: the sandbox forbids raising them (no CAP_SYS_RESOURCE).
run=("${podman[@]}" run --rm --network=host --no-healthcheck --ulimit "nofile=$(ulimit -n):$(ulimit -Hn)"
  --ulimit nproc=4096:4096)

started=$SECONDS
bash deploy/images/build-base.sh "$base"
echo "base image ready after $((SECONDS - started)) s"

started=$SECONDS
ENGINE=podman BASE_IMAGE=$base TAG_PREFIX=localhost/tallyhouse/ bash deploy/images/build-images.sh
echo "three images built in $((SECONDS - started)) s"

tarball=$(ls deploy/dist/gateway-ingest/target/tallyhouse-gateway-ingest-*.tar.gz)
version=$(basename "$tarball" .tar.gz)
version=${version#tallyhouse-gateway-ingest-}
image=localhost/tallyhouse/gateway-ingest:$version

printed=$("${run[@]}" "$image" --version)
case $printed in
  "gateway-ingest $version"*) echo "ok: $image --version: $printed" ;;
  *) echo "FAIL: $image --version printed '$printed', expected gateway-ingest $version" >&2; exit 1 ;;
esac
user=$("${run[@]}" --entrypoint id "$image" -u)
if [ "$user" = "0" ] || [ -z "$user" ]; then
  echo "FAIL: $image runs as uid '$user', expected a non-root user" >&2
  exit 1
fi
echo "ok: $image runs as uid $user"
tools=$("${run[@]}" --entrypoint tallyhouse "$image" --version)
echo "ok: the image's tools: $tools"

# The images of earlier runs, untagged by this one's, would fill the disk run after run (vfs keeps full copies).
"${podman[@]}" image prune -f >/dev/null
