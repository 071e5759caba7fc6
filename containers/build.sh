#!/usr/bin/env bash
# Build the sporbar OCI image here, with podman (no Docker daemon, no registry needed).
#
#   containers/build.sh                 # image for this machine's architecture
#   ARCH=arm64 containers/build.sh      # aarch64 image under qemu-user-static (slow)
#   SPORBAR_REBUILD=1 containers/build.sh   # ignore the cache
#
# 1. installs podman/buildah/debootstrap/runc (+ qemu-user-static for a foreign arch) if missing;
# 2. makes the base image with debootstrap (bookworm minbase + python3 + python3-venv) and
#    `podman import`s it as localhost/sporbar-base:bookworm-<arch> (once, cached);
# 3. builds containers/Containerfile, tagged localhost/sporbar:<inputs-hash>-<arch> where the hash
#    covers the Containerfile, the lock files, pyproject.toml and the package sources: when an image
#    with that tag exists the build is skipped. The host's pip configuration (index, find-links,
#    constraints, CA bundle) is bind-mounted into the build, never copied into the image;
# 4. tags it localhost/sporbar:latest-<arch> and prints the image reference on stdout.
#    `podman save` to a file: containers/build.sh --save sporbar-amd64.tar
#    `containers/build.sh --tag` only prints the tag the current inputs give (builds nothing).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/containers/containers.conf}"
HOST_ARCH="$(dpkg --print-architecture 2>/dev/null || uname -m)"
case "$HOST_ARCH" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; esac
ARCH="${ARCH:-$HOST_ARCH}"
case "$ARCH" in amd64|arm64) ;; *) echo "build.sh: ARCH must be amd64 or arm64, not $ARCH" >&2; exit 2 ;; esac
CACHE="${SPORBAR_CONTAINER_CACHE:-/var/cache/sporbar-containers}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SAVE=""
if [[ "${1:-}" == "--save" ]]; then SAVE="${2:?--save needs a file name}"; fi

log() { echo "build.sh: $*" >&2; }

need_tools() {
    local missing=()
    for t in podman buildah debootstrap runc newuidmap fuse-overlayfs; do
        command -v "$t" >/dev/null || missing+=("$t")
    done
    if [[ "$ARCH" != "$HOST_ARCH" ]] && ! command -v qemu-aarch64-static >/dev/null; then
        missing+=(qemu-user-static)
    fi
    if ((${#missing[@]})); then
        log "installing missing tools: ${missing[*]}"
        local pkgs=(podman buildah debootstrap runc uidmap fuse-overlayfs)
        [[ "$ARCH" != "$HOST_ARCH" ]] && pkgs+=(qemu-user-static binfmt-support)
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
    fi
    if [[ "$ARCH" != "$HOST_ARCH" ]]; then
        [[ -e /proc/sys/fs/binfmt_misc/register ]] \
            || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
        grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 \
            || { log "qemu-aarch64 binfmt handler not enabled: cannot build for $ARCH here"; exit 3; }
    fi
}

base_image() {
    local ref="localhost/sporbar-base:bookworm-$ARCH"
    if podman image exists "$ref"; then echo "$ref"; return; fi
    mkdir -p "$CACHE"
    local rootfs
    rootfs="$(mktemp -d "$CACHE/rootfs-$ARCH.XXXX")"
    log "debootstrap bookworm minbase ($ARCH) -> $ref"
    debootstrap --arch="$ARCH" --variant=minbase \
        --include=python3,python3-venv,ca-certificates bookworm "$rootfs" "$MIRROR" >&2
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -c . \
        | podman import --arch "$ARCH" --change 'CMD ["/bin/bash"]' - "$ref" >&2
    rm -rf "$rootfs"
    echo "$ref"
}

inputs_hash() {
    # Everything that goes into the image; untracked-but-not-ignored files count too.
    (cd "$REPO" && {
        printf '%s\n' containers/Containerfile containers/requirements.lock containers/requirements-arm64.lock pyproject.toml README.md
        git ls-files --cached --others --exclude-standard src rules workflow config stac Snakefile | grep -v '__pycache__' | sort
    } | while read -r f; do [[ -f "$f" ]] && { printf '%s\0' "$f"; cat "$f"; }; done | sha256sum | cut -c1-16)
}

pip_mounts() {
    # The host's pip settings and local wheel/index folders, read-only, for the build only.
    local m=()
    for p in /etc/pip.conf /etc/xdg/pip /etc/ssl/certs/ca-certificates.crt /opt/wheels /opt/pypi /opt/pypi-more; do
        [[ -e "$p" ]] && m+=(--volume "$p:$p:ro")
    done
    # Under qemu-user (7.2) the guest reads the host's x86 /proc/cpuinfo, and the aarch64 torch
    # segfaults in its CPU detection on `import torch`: show it an aarch64 one (build only).
    [[ "$ARCH" != "$HOST_ARCH" && "$ARCH" == arm64 ]] \
        && m+=(--volume "$REPO/containers/qemu-aarch64-cpuinfo:/proc/cpuinfo:ro")
    local env=()
    for v in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_CERT PIP_DEFAULT_TIMEOUT PIP_CONSTRAINT; do
        [[ -n "${!v:-}" ]] && env+=(--build-arg "$v=${!v}")
    done
    printf '%s\n' "${m[@]}" "${env[@]}"
}

if [[ "${1:-}" == "--tag" ]]; then echo "localhost/sporbar:$(inputs_hash)-$ARCH"; exit 0; fi
need_tools
PY="$REPO/.venv/bin/python"; [[ -x "$PY" ]] || PY=python3
"$PY" "$REPO/containers/lock.py" --check   # fails fast, saying how to refresh the lock
BASE="$(base_image)"
HASH="$(inputs_hash)"
IMAGE="localhost/sporbar:$HASH-$ARCH"
if [[ -z "${SPORBAR_REBUILD:-}" ]] && podman image exists "$IMAGE"; then
    log "cached: $IMAGE (inputs unchanged)"
else
    log "building $IMAGE from $BASE"
    mapfile -t EXTRA < <(pip_mounts)
    start=$(date +%s)
    # a clean build context: only what the image needs (not .venv/, results/, .git/)
    CTX="$(mktemp -d)"
    trap 'rm -rf "$CTX"' EXIT
    (cd "$REPO" && { printf '%s\n' containers/Containerfile containers/requirements.lock containers/requirements-arm64.lock pyproject.toml README.md
        git ls-files --cached --others --exclude-standard src rules workflow config stac Snakefile | grep -v '__pycache__'; } \
        | while read -r f; do [[ -f "$f" ]] && printf '%s\n' "$f"; done | tar -h -c -T - | tar -x -C "$CTX")
    podman build --platform "linux/$ARCH" --pull=never --layers \
        -f "$CTX/containers/Containerfile" \
        --build-arg "BASE=$BASE" --build-arg "INPUTS_HASH=$HASH" \
        "${EXTRA[@]}" -t "$IMAGE" "$CTX" >&2
    log "built $IMAGE in $(( $(date +%s) - start )) s"
    # drop images of older inputs (each ~2 GB); the layer cache of the new one stays
    podman images --format '{{.Repository}}:{{.Tag}}' | grep -E "^localhost/sporbar:[0-9a-f]{16}-$ARCH\$" \
        | grep -vx "$IMAGE" | xargs -r podman rmi >/dev/null 2>&1 || true
fi
podman tag "$IMAGE" "localhost/sporbar:latest-$ARCH"
if [[ -n "$SAVE" ]]; then
    podman save --format oci-archive -o "$SAVE" "$IMAGE"
    log "saved $IMAGE to $SAVE"
fi
echo "$IMAGE"
