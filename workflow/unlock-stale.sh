#!/usr/bin/env bash
# A killed run (kill -9, a closed terminal) leaves .snakemake/locks behind, and Snakemake then
# refuses to start. Remove that lock so a plain `make run` resumes, unless a snakemake of this
# folder is still running (then stop with exit 3: don't race it).
#   bash workflow/unlock-stale.sh CONFIG
set -euo pipefail
CONFIG=${1:?usage: workflow/unlock-stale.sh CONFIG}
[ -n "$(ls -A .snakemake/locks 2>/dev/null)" ] || exit 0
others=""
for p in $(pgrep -f snakemake || true); do
    [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$PWD" ] || continue
    # argv[0] or argv[1] is the snakemake program (not a shell whose text mentions it)
    if tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | head -2 | grep -qE '(^|/)snakemake$'; then
        others="$others $p"
    fi
done
if [ -n "$others" ]; then
    echo "unlock-stale: another snakemake is running in $PWD (pid$others): not unlocking" >&2
    exit 3
fi
echo ">> removing the stale lock of a killed run (.snakemake/locks)"
snakemake --cores 1 --configfile "$CONFIG" --unlock >/dev/null 2>&1
