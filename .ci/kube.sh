#!/usr/bin/env bash
# The real one-node Kubernetes kit (../shared/kube, see its README) for the `kube` system tests.
#   .ci/kube.sh up     install the kit's apt packages if missing, build (prebuilt binaries, a
#                      runner image and a web image of this checkout), start the cluster;
#                      prints the exports
#   .ci/kube.sh env    print the same exports without starting anything
#   .ci/kube.sh down   stop it (always: .ci/run traps it)
#   .ci/kube.sh web-image   build the web/scheduler image again (the Dockerfile's, the kit's
#                      way: a debootstrap rootfs + requirements.txt from PyPI, no registry) and
#                      load it into the running node. Both images carry the names the k8s/
#                      manifests use (petri-web:0.1.0, petri-runner:0.1.0).
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
  if [ ${#missing[@]} -gt 0 ]; then  # stdout is for the exports: apt's chatter goes to stderr
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >&2
  fi
}

# An image is written again only when what goes into it changed: a digest of its inputs'
# contents (not their times) and of the scripts that write it names a hard link kept beside
# it, as a build cache would. Writing one costs tens of seconds of tar and gzip.
inputs_digest() {  # inputs_digest [tar options] PATH...
  { (cd "$ROOT" && tar -c --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
      --exclude=__pycache__ "$@"); cat "$ROOT/.ci/kube.sh" "$KIT/mkimage.py"; } \
    | sha256sum | cut -c1-16
}

from_cache() {  # from_cache IMAGE KEY: the image these inputs made before, if it is kept
  [ -f "$1.$2" ] && ln -f "$1.$2" "$1"
}

keep() {  # keep IMAGE KEY: this image, for the next run with the same inputs
  rm -f "$1".????????????????   # the one kept for other inputs
  ln -f "$1" "$1.$2"
}

# The runner image holds this checkout's runner and catalog. The kit's build installs the
# algorithms' requirements from PyPI into its rootfs and copies petri_runner alone (Python
# algorithms also import petri_kit, which base-image/Dockerfile ships beside it). While the
# requirements stay the same, the build keeps its image and only the code is copied in again
# and the image written anew, with the kit's name, command, user and environment.
runner_image() {
  local home=${K8SREAL_HOME:-${HOME:-/root}/.cache/k8sreal}
  local work=${K8SREAL_WORK:-$home/work}
  local rootfs=$work/rootfs/petri-runner image=${K8SREAL_OUT:-$home/out}/images/petri-runner.tar
  local stamp; stamp=$({ cat "$ROOT/requirements.txt"
    cat "$ROOT"/algorithms/*/requirements.txt 2>/dev/null || true; } | sha256sum | cut -c1-16)
  if [ ! -f "$work/petri-runner.stamp-$stamp" ]; then
    rm -f "$image" "$image".* "$work"/petri-runner.stamp-*   # the kit's runner step runs again
  fi
  PETRI_SRC="$ROOT" "$KIT/build.sh"
  touch "$work/petri-runner.stamp-$stamp"
  local key; key=$(inputs_digest base-image/runner/petri_runner base-image/runner/petri_kit \
    algorithms requirements.txt)
  from_cache "$image" "$key" && { echo "[kube.sh] runner image kept ($key)"; return; }
  rm -rf "$rootfs/opt/petri/runner" "$rootfs/opt/petri/algorithms"
  mkdir -p "$rootfs/opt/petri/runner"
  cp -a "$ROOT/base-image/runner/petri_runner" "$ROOT/base-image/runner/petri_kit" \
    "$rootfs/opt/petri/runner/"
  cp -a "$ROOT/algorithms" "$rootfs/opt/petri/algorithms"
  cp "$ROOT/requirements.txt" "$rootfs/opt/petri/requirements.txt"
  find "$rootfs/opt/petri" -name __pycache__ -prune -exec rm -rf {} +
  python3 "$KIT/mkimage.py" "$rootfs" "$image" localhost/petri-runner:0.1.0 \
    --cmd '["python","-m","petri_runner"]' --user 10001:10001 --workdir /tmp \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHONUNBUFFERED=1 --env PYTHONDONTWRITEBYTECODE=1 --env PIP_NO_CACHE_DIR=1 \
    --env PYTHONPATH=/opt/petri/runner --env PETRI_ALGORITHMS_DIR=/opt/petri/algorithms \
    --env HOME=/tmp
  keep "$image" "$key"
}

up() {
  [ -x "$KIT/up.sh" ] || { echo "kube: no kit at $KIT (set PETRI_KUBE_KIT)" >&2; exit 1; }
  install_packages
  runner_image >&2
  build_web_image >&2
  # A fresh state every run: up.sh keeps the images a reused state already holds, and the
  # runner image must be this checkout's.
  if [ -d "$STATE" ]; then
    "$KIT/down.sh" "$STATE" >&2 || true
    rm -rf "$STATE"
  fi
  "$KIT/up.sh" "$STATE" >&2
  tag_runner_image >&2
  exports
}

exports() {  # what the tests need to find the cluster; the same before and after `up`
  echo "export KUBECONFIG=$STATE/kubeconfig PETRI_KUBE_STATE=$STATE PETRI_KUBE_KIT=$KIT"
}

down() {
  [ -d "$STATE" ] || return 0
  "$KIT/down.sh" "$STATE" >&2
}

# As the Dockerfile: the app's groups of requirements.txt (not the algorithms' nor the tests'),
# the code, the built web app and its collected static files, uid 10001, daphne by default.
# The pip install is kept while requirements.txt stays the same; the code is copied every time.
build_web_image() {
  local home=${K8SREAL_HOME:-${HOME:-/root}/.cache/k8sreal}
  local work=${K8SREAL_WORK:-$home/work} out=${K8SREAL_OUT:-$home/out}
  local base=$work/rootfs/bookworm-python rootfs=$work/rootfs/petri-web deps=$work/petri-web-deps
  local site=usr/local/lib/python3.11/dist-packages
  local stamp; stamp=$(sha256sum "$ROOT/requirements.txt" | cut -c1-16)
  [ -d "$base" ] || { echo "kube: no $base: the kit's build.sh makes it" >&2; exit 1; }
  # The web app's build (npm ci first on a fresh checkout) and the venv that collects its
  # static files: `make install frontend`, as `make test` would do them.
  # .ci/run makes them at the same time under this lock: wait for it rather than run pip twice.
  flock "${PETRI_MAKE_LOCK:-${TMPDIR:-/tmp}/petri-make.lock}" make -C "$ROOT" install frontend >&2
  if [ ! -f "$deps/$stamp" ]; then
    rm -rf "$deps"; mkdir -p "$deps"
    sed -e '/^# algorithms/,/^$/d' -e '/^# tests and lint/,/^$/d' -e '/^# pulled in by/,$d' \
      "$ROOT/requirements.txt" > "$work/petri-web.txt"
    sed 's/\[[^]]*\]//' "$ROOT/requirements.txt" > "$work/petri-web-constraints.txt"
    /usr/bin/python3 -m pip install -q --no-cache-dir --disable-pip-version-check \
      --no-warn-script-location --target "$deps/site" \
      -r "$work/petri-web.txt" -c "$work/petri-web-constraints.txt"
    touch "$deps/$stamp"
  fi
  local image=$out/images/petri-web.tar key
  key=$( { inputs_digest --exclude=webapp/frontend manage.py webapp jobs scheduler algorithms \
    base-image/runner; inputs_digest webapp/frontend/dist; echo "$stamp"; } | sha256sum | cut -c1-16)
  from_cache "$image" "$key" && { echo "[kube.sh] web image kept ($key)"; return; }
  rm -rf "$rootfs"; cp -a "$base" "$rootfs"
  cp -a "$deps/site/." "$rootfs/$site/"
  mv "$rootfs/$site/bin/"* "$rootfs/usr/local/bin/" && rmdir "$rootfs/$site/bin"
  mkdir -p "$rootfs/app/webapp/frontend"
  cp "$ROOT/manage.py" "$rootfs/app/"
  (cd "$ROOT" && tar -c --exclude=__pycache__ --exclude=webapp/frontend \
    webapp jobs scheduler algorithms base-image/runner) | tar -x -C "$rootfs/app"
  cp -a "$ROOT/base-image/runner/petri_kit" "$rootfs/app/petri_kit"
  cp -a "$ROOT/webapp/frontend/dist" "$rootfs/app/webapp/frontend/dist"
  PETRI_SECRET_KEY=build-only PETRI_VAR_DIR="$rootfs/app/var" DATABASE_URL=sqlite:///:memory: \
    "$ROOT/.venv/bin/python" "$ROOT/manage.py" collectstatic --noinput -v 0
  chroot "$rootfs" groupadd --gid 10001 petri
  chroot "$rootfs" useradd --uid 10001 --gid petri --home-dir /app --shell /usr/sbin/nologin petri
  chroot "$rootfs" chown -R petri:petri /app/var
  python3 "$KIT/mkimage.py" "$rootfs" "$image" docker.io/library/petri-web:0.1.0 \
    --cmd '["daphne","--bind=0.0.0.0","--port=8000","--proxy-headers","webapp.asgi:application"]' \
    --user 10001:10001 --workdir /app \
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --env PYTHONUNBUFFERED=1 --env PYTHONDONTWRITEBYTECODE=1 --env PETRI_VAR_DIR=/app/var
  keep "$image" "$key"
}

# The manifests name the runner image petri-runner:0.1.0 (docker.io/library/... to containerd).
tag_runner_image() {
  ctr -a "$STATE/containerd/containerd.sock" -n k8s.io images tag --force \
    localhost/petri-runner:0.1.0 docker.io/library/petri-runner:0.1.0
}

web_image() {  # into the running node
  build_web_image
  local home=${K8SREAL_HOME:-${HOME:-/root}/.cache/k8sreal}
  ctr -a "$STATE/containerd/containerd.sock" -n k8s.io images import \
    "${K8SREAL_OUT:-$home/out}/images/petri-web.tar"
  tag_runner_image
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) exports ;;
  web-image) web_image >&2 ;;
  *) echo "usage: $0 up|down|env|web-image" >&2; exit 2 ;;
esac
