#!/usr/bin/env bash
# Build (or reuse) the sporbar image and prove it works: `sporbar --version`, the demo pipeline
# for one small tile, `sporbar verify` of its catalog and `sporbar reproduce` of its map,
# all inside the container, with the image digest recorded in every item.
#
#   containers/test.sh            # this machine's architecture; skips the build when cached
#   ARCH=arm64 containers/test.sh # the same under qemu-user-static (slow: hours for a cold build)
#   KEEP=1 containers/test.sh     # keep the run folder (printed)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$REPO/containers/containers.conf}"
start=$(date +%s)
IMAGE="$("$REPO/containers/build.sh")"
built=$(date +%s)
DIGEST="$(podman image inspect --format '{{.Digest}}' "$IMAGE")"
ARCH="$(podman image inspect --format '{{.Architecture}}' "$IMAGE")"
SIZE="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
echo "test.sh: image $IMAGE ($ARCH, $((SIZE / 1000000)) MB, digest $DIGEST), ready in $((built - start)) s"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/sporbar-container-test.XXXX")"
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$WORK"' EXIT
HOST_ARCH="$(dpkg --print-architecture 2>/dev/null || uname -m)"
case "$HOST_ARCH" in x86_64) HOST_ARCH=amd64 ;; aarch64) HOST_ARCH=arm64 ;; esac
EMULATED=()
# under qemu-user torch needs an aarch64 /proc/cpuinfo (see containers/build.sh)
[[ "$ARCH" == arm64 && "$HOST_ARCH" != arm64 ]] \
    && EMULATED=(-v "$REPO/containers/qemu-aarch64-cpuinfo:/proc/cpuinfo:ro")
run() {
    podman run --rm --platform "linux/$ARCH" -v "$WORK:/data" -w /data \
        -e SPORBAR_IMAGE_DIGEST="$DIGEST" "${EMULATED[@]}" "$@"
}

echo "test.sh: sporbar --version"
run "$IMAGE" --version

echo "test.sh: demo pipeline for one 640 m tile"
run -i --entrypoint /opt/venv/bin/python "$IMAGE" - <<'EOF'
import yaml
cfg = yaml.safe_load(open("/opt/sporbar/config/config.yaml"))
cfg["root"] = "results"
cfg["area"] = {"name": "container-test", "bbox": [268800, 7030400, 269440, 7031040]}
cfg["grid"]["tile_size"] = 640
cfg["demo"].update(dates=["2024-06-01", "2024-08-10"], lidar_density=1.0, lidar_tile_size=500)
cfg["training"].update(samples_per_class=100, block_size=160, folds=2)
cfg["models"] = [{"id": "rf", "kind": "random_forest", "n_estimators": 20}]
cfg["map"]["model"] = "rf"
yaml.safe_dump(cfg, open("/data/config.yaml", "w"), sort_keys=False)
EOF
run --entrypoint /opt/venv/bin/snakemake "$IMAGE" \
    --snakefile /opt/sporbar/Snakefile --cores "${CORES:-2}" --configfile config.yaml --quiet rules \
    || { tail -n 40 "$WORK"/results/logs/*/*.log "$WORK"/results/logs/*.log 2>/dev/null; exit 1; }

echo "test.sh: sporbar verify"
run "$IMAGE" verify results/catalog/catalog.json

echo "test.sh: the image digest is recorded in the items"
n=$(grep -l "\"sporbar:image_digest\": \"$DIGEST\"" $(find "$WORK/results" -name item.json) | wc -l)
total=$(find "$WORK/results" -name item.json | wc -l)
echo "test.sh: $n of $total items record sporbar:image_digest $DIGEST"
[[ "$n" -eq "$total" && "$total" -gt 0 ]]

echo "test.sh: sporbar reproduce (the map and the model, inside the container)"
map="$(cd "$WORK" && find results/maps -name item.json | head -n 1)"
run --entrypoint /opt/venv/bin/python "$IMAGE" -m sporbar.cli.reproduce "$map"
# models are versioned: results/models/rf/<version>/item.json (one version in a fresh run)
model="$(cd "$WORK" && find results/models/rf -mindepth 2 -name item.json | sort | head -n 1)"
[[ -n "$model" ]] || { echo "test.sh: no model item below $WORK/results/models/rf" >&2; exit 1; }
run --entrypoint /opt/venv/bin/python "$IMAGE" -m sporbar.cli.reproduce "$model"
echo "test.sh: OK in $(( $(date +%s) - start )) s (image $IMAGE, $ARCH)"
[[ -z "${KEEP:-}" ]] || echo "test.sh: run folder kept: $WORK"
