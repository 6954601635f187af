#!/usr/bin/env bash
# Makes sure the manifest tests can render deploy/k8s with a real kustomize: `kubectl kustomize` (kubectl has
# kustomize built in). Any kubectl that has it will do (KUBECTL names one off the PATH); when there is none,
# Debian's kubernetes-client (kubectl 1.20, whose kustomize the manifests are written for) is installed.
set -euo pipefail

KUBECTL="${KUBECTL:-kubectl}"
if command -v "$KUBECTL" >/dev/null 2>&1 && "$KUBECTL" kustomize --help >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "kubectl is missing: installing Debian's kubernetes-client" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq kubernetes-client >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
No kubectl with kustomize: KubernetesManifestsIntegrationTest renders deploy/k8s with `kubectl kustomize`.
Fix: as root run `apt-get update && apt-get install -y kubernetes-client`, or install any kubectl 1.14 or
later, or point KUBECTL at one.
MSG
exit 1
