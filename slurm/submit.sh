#!/usr/bin/env bash
# Head job: runs Snakemake, which submits one Slurm job per step (or per group of steps).
#   sbatch --account=nnXXXXk slurm/submit.sh config/myarea.yaml [saga|betzy|olivia]
#SBATCH --job-name=sporbar-head
#SBATCH --time=3-00:00:00
#SBATCH --mem-per-cpu=2G
#SBATCH --cpus-per-task=1
#SBATCH --output=logs/slurm/sporbar-head-%j.out
set -euo pipefail
CONFIG=${1:?usage: sbatch slurm/submit.sh CONFIG [CLUSTER]}
CLUSTER=${2:-${SLURM_CLUSTER_NAME:-saga}}
export SBATCH_ACCOUNT=${SBATCH_ACCOUNT:-${SLURM_JOB_ACCOUNT:-}}
mkdir -p logs/slurm
# Fail on the login/head node before any compute job waits in the queue.
sporbar check-config "$CONFIG"
# A re-run after a time-limit kill resumes: finished items are kept, incomplete ones redone.
exec snakemake --profile "slurm/${CLUSTER}" --configfile "$CONFIG" --rerun-incomplete
