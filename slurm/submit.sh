#!/usr/bin/env bash
# Head job: runs Snakemake, which submits one Slurm job per step or per group of steps
# (groups: see the profile). On Sigma2:
#
#   sbatch --account=nnXXXXk slurm/submit.sh config/myarea.yaml [saga|betzy|olivia]
#
# Without sbatch it is the same head command run in the foreground (the tests run it so
# against the local cluster, where a head job would take one of the node's two CPUs):
#
#   bash slurm/submit.sh config/myarea.yaml local-slurm
#
# Working directory: where you ran sbatch (SLURM_SUBMIT_DIR) or the current one; Snakemake's
# state (.snakemake/, job logs in .snakemake/slurm_logs/<rule or group>/...) lives there.
# Resume after a time-limit kill (or any kill): submit the same command again. Finished items
# are kept; outputs of jobs that were running are redone (--rerun-incomplete). A stale lock
# left by a killed head is removed first, unless another sporbar head job of yours is still
# running (then this one stops instead of racing it).
# NIRD stage-out (staging.enabled): a head job on a compute node (no NIRD there) does all but
# stage_out and prints the command that finishes it on a login node.
#SBATCH --job-name=sporbar-head
#SBATCH --time=7-00:00:00
#SBATCH --mem-per-cpu=2G
#SBATCH --cpus-per-task=1
#SBATCH --output=logs/slurm/sporbar-head-%j.out
set -euo pipefail
CONFIG=${1:?usage: sbatch slurm/submit.sh CONFIG [saga|betzy|olivia|local-slurm] [extra snakemake args]}
CLUSTER=${2:-${SLURM_CLUSTER_NAME:-saga}}
shift $(( $# >= 2 ? 2 : 1 ))

# The repository: sbatch copies this script to a spool dir, so $0 is not in the repo there.
if [ -n "${SPORBAR_REPO:-}" ]; then REPO=$SPORBAR_REPO
elif [ -f "$(dirname "$0")/../Snakefile" ]; then REPO=$(cd "$(dirname "$0")/.." && pwd)
else REPO=${SLURM_SUBMIT_DIR:-$PWD}; fi
[ -f "$REPO/Snakefile" ] || { echo "submit.sh: no Snakefile in $REPO; set SPORBAR_REPO" >&2; exit 2; }
PROFILE=$REPO/slurm/$CLUSTER
[ -f "$PROFILE/config.yaml" ] || { echo "submit.sh: no profile $PROFILE/config.yaml" >&2; exit 2; }
cd "${SLURM_SUBMIT_DIR:-$PWD}"
mkdir -p logs/slurm

# The project account for the compute jobs (profiles read SBATCH_ACCOUNT).
export SBATCH_ACCOUNT=${SBATCH_ACCOUNT:-${SLURM_JOB_ACCOUNT:-}}
# Jobs inherit this environment (sbatch --export=ALL): make sure they find sporbar.
if [ -x "$REPO/.venv/bin/sporbar" ]; then export PATH="$REPO/.venv/bin:$PATH"; fi

# Fail on the login/head node before any compute job waits in the queue.
sporbar check-config "$CONFIG"

SMK=(snakemake --snakefile "$REPO/Snakefile" --profile "$PROFILE" --configfile "$CONFIG")

# A killed head leaves .snakemake/locks behind; remove it unless another head job of ours runs.
if [ -n "$(ls -A .snakemake/locks 2>/dev/null)" ]; then
    others=""
    if command -v squeue >/dev/null; then
        others=$(squeue -h -u "$(id -un)" -n sporbar-head -t RUNNING -o '%i' 2>/dev/null \
                 | grep -vx "${SLURM_JOB_ID:-none}" || true)
    fi
    if [ -n "$others" ]; then
        echo "submit.sh: another sporbar head job is running ($others); not unlocking" >&2
        exit 3
    fi
    echo "submit.sh: removing the stale lock of a killed run" >&2
    "${SMK[@]}" --unlock >/dev/null
fi
# NIRD is mounted on login nodes, not on compute nodes. With staging on and NIRD not visible
# here (a head job on a compute node), run everything but stage_out (a local rule, it would
# fail here), then say how to finish on a login node. `stage --check` exits 3 only for that.
nird=0
sporbar stage -c "$CONFIG" --check >/dev/null 2>&1 || nird=$?
# --rerun-incomplete: a re-run after a kill redoes what was running, keeps what finished.
if [ "$nird" -ne 3 ]; then
    exec "${SMK[@]}" --rerun-incomplete "$@"
fi
echo "submit.sh: NIRD (staging.nird_root) is not mounted on $(hostname): running all but stage_out" >&2
rc=0
"${SMK[@]}" --rerun-incomplete --omit-from stage_out "$@" || rc=$?
if [ "$rc" -eq 0 ]; then
    echo "submit.sh: done, except the stage-out to NIRD. Finish it on a login node, in $PWD:" >&2
    echo "    bash $REPO/slurm/submit.sh $CONFIG $CLUSTER      # runs only stage_out (a local rule)" >&2
fi
exit "$rc"
