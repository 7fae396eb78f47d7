#!/usr/bin/env bash
# The real one-node Kubernetes kit (../shared/kube, see its README) for the `kube` system tests.
#   .ci/kube.sh up     install the kit's apt packages if missing, build (prebuilt binaries + a
#                      runner image of this checkout), start the cluster; prints the exports
#   .ci/kube.sh down   stop it (always: .ci/run traps it)
# Environment: PETRI_KUBE_KIT (default ../shared/kube), PETRI_KUBE_STATE (default
# /tmp/petri-kube-state: outside the checkout), K8SREAL_HOME (build output, the kit's default).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT=${PETRI_KUBE_KIT:-$ROOT/../shared/kube}
[ -d "$KIT" ] || KIT=$ROOT/../../shared/kube   # a worktree, one folder deeper
STATE=${PETRI_KUBE_STATE:-/tmp/petri-kube-state}
PACKAGES="containerd runc containernetworking-plugins iptables iproute2 openssl util-linux
          debootstrap gcc libc6-dev patch python3 python3-pip ca-certificates"

install_packages() {
  local missing=()
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

# The kit's build copies base-image/runner/petri_runner alone; Python algorithms also import
# petri_kit, which base-image/Dockerfile ships beside it. Add it and write the image again, with
# the same name, command, user and environment as the kit's build.
add_algorithm_kit() {
  local home=${K8SREAL_HOME:-${HOME:-/root}/.cache/k8sreal}
  local rootfs=${K8SREAL_WORK:-$home/work}/rootfs/petri-runner
  local image=${K8SREAL_OUT:-$home/out}/images/petri-runner.tar
  [ -d "$rootfs/opt/petri/runner/petri_kit" ] && return 0
  cp -a "$ROOT/base-image/runner/petri_kit" "$rootfs/opt/petri/runner/"
  find "$rootfs/opt/petri/runner" -name __pycache__ -prune -exec rm -rf {} +
  python3 "$KIT/mkimage.py" "$rootfs" "$image" localhost/petri-runner:0.1.0 \
    --cmd '["python","-m","petri_runner"]' --user 10001:10001 --workdir /tmp \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHONUNBUFFERED=1 --env PYTHONDONTWRITEBYTECODE=1 --env PIP_NO_CACHE_DIR=1 \
    --env PYTHONPATH=/opt/petri/runner --env PETRI_ALGORITHMS_DIR=/opt/petri/algorithms \
    --env HOME=/tmp
}

up() {
  [ -x "$KIT/up.sh" ] || { echo "kube: no kit at $KIT (set PETRI_KUBE_KIT)" >&2; exit 1; }
  install_packages
  # The runner image holds this checkout's runner and catalog: rebuild it for every run.
  rm -f "${K8SREAL_HOME:-$HOME/.cache/k8sreal}/out/images/petri-runner.tar"
  PETRI_SRC="$ROOT" "$KIT/build.sh" >&2
  add_algorithm_kit >&2
  # A fresh state every run: up.sh keeps the images a reused state already holds, and the
  # runner image must be this checkout's.
  if [ -d "$STATE" ]; then
    "$KIT/down.sh" "$STATE" >&2 || true
    rm -rf "$STATE"
  fi
  "$KIT/up.sh" "$STATE" >&2
  echo "export KUBECONFIG=$STATE/kubeconfig PETRI_KUBE_STATE=$STATE PETRI_KUBE_KIT=$KIT"
}

down() {
  [ -d "$STATE" ] || return 0
  "$KIT/down.sh" "$STATE" >&2
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
