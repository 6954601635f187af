#!/usr/bin/env bash
# make images: one image per service from its distribution (deploy/dist/SERVICE/target/*.tar.gz, built by
# mvn package), with docker or podman, whichever answers. Without a container engine it says so and exits 0.
#
# ENGINE=docker|podman chooses; BASE_IMAGE overrides the JRE base (default: the Dockerfile's eclipse-temurin:17-jre);
# PODMAN_FLAGS are podman's global options (storage driver, runtime: see deploy/images/README.md), PODMAN_BUILD_FLAGS
# more options of podman build;
# TAG_PREFIX names the images (default ghcr.io/tallyhouse/, giving ghcr.io/tallyhouse/gateway-ingest:VERSION: the
# names deploy/compose and deploy/k8s run).
set -euo pipefail
cd "$(dirname "$0")/../.."

services=(gateway-ingest usage-stream activity-query)
engine=${ENGINE:-}
if [ -z "$engine" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1 && podman ${PODMAN_FLAGS:-} info >/dev/null 2>&1; then
    engine=podman
  else
    echo "no container engine: skipping image build (neither 'docker info' nor 'podman info' answers)"
    exit 0
  fi
fi

build=("$engine")
if [ "$engine" = podman ]; then
  # shellcheck disable=SC2206
  build+=(${PODMAN_FLAGS:-})
fi
build+=(build)
if [ "$engine" = podman ]; then
  # chroot isolation runs the Dockerfile's RUN steps without an OCI runtime (none may work in a sandbox);
  # the docker format keeps HEALTHCHECK, which the OCI image format has no field for.
  build+=(--isolation=chroot --format docker)
  # shellcheck disable=SC2206
  build+=(${PODMAN_BUILD_FLAGS:-})
fi
if [ -n "${BASE_IMAGE:-}" ]; then
  build+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || true)

for service in "${services[@]}"; do
  shopt -s nullglob
  tarballs=(deploy/dist/"$service"/target/tallyhouse-"$service"-*.tar.gz)
  shopt -u nullglob
  if [ ${#tarballs[@]} -ne 1 ]; then
    echo "expected one distribution of $service in deploy/dist/$service/target, found ${#tarballs[@]}: run mvn package (make build)" >&2
    exit 1
  fi
  name=$(basename "${tarballs[0]}" .tar.gz)
  version=${name#tallyhouse-"$service"-}
  # The service's default port, as its configuration reference (the example in the tarball) says.
  port=$(tar -xzOf "${tarballs[0]}" "$name/config/$service.env.example" | sed -n 's/^#HTTP_PORT=//p')
  image="${TAG_PREFIX:-ghcr.io/tallyhouse/}$service:$version"
  echo "building $image with $engine"
  "${build[@]}" -f deploy/images/Dockerfile \
    --build-arg "SERVICE=$service" --build-arg "VERSION=$version" --build-arg "HTTP_PORT=$port" \
    --build-arg "COMMIT=$commit" -t "$image" .
done
