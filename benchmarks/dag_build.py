"""Snakemake DAG build time for 1,000 and 10,000 grid tiles, and Slurm jobs per tile.

    .venv/bin/python benchmarks/dag_build.py [--sizes 1000 10000] [--job-blocks 1 2] [--repeat 1]

For each size and ``job_block`` (grid tiles per side of one job of the per-tile stages) it
writes a config (a large bbox inside the national grid, EPSG:25833),
times ``snakemake -n`` (parse + validate + DAG build + dry-run) and counts:

* steps: Snakemake jobs (rules x wildcards) in the DAG;
* Slurm jobs without grouping: one per step (the `all` target rule runs nowhere);
* Slurm jobs with the grouping of a profile (default slurm/saga): the "Group job" blocks
  of ``snakemake -n --profile ...`` plus the steps that are in no group.

1,000 tiles use 20 km tiles (the production grid). Mainland Norway has only ~1,300 such tiles,
so 10,000 tiles use 5 km tiles over a 500 x 500 km box. Each LAZ delivery tile is one grid
tile here (lidar_tile_size = tile_size), so fetch_lidar grows with the tiles, as in reality.
No timing is asserted anywhere: this prints numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# (tiles, tile_size m, bbox) -- bboxes aligned to the tile size, inside NORWAY_EXTENT_25833.
CASES = {
    1000: (20000, [0, 6_800_000, 800_000, 7_300_000]),  # 40 x 25 tiles of 20 km
    10000: (5000, [0, 6_800_000, 500_000, 7_300_000]),  # 100 x 100 tiles of 5 km
}


def write_config(work: Path, n: int, job_block: int = 1) -> Path:
    tile_size, bbox = CASES[n]
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["root"] = str(work / "results")
    cfg["area"] = {"name": f"bench-{n}", "bbox": bbox}
    cfg["grid"]["tile_size"] = tile_size
    cfg["demo"]["lidar_tile_size"] = tile_size
    cfg["job_block"] = job_block
    path = work / f"config-{n}-{job_block}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def snakemake_n(cfg: Path, work: Path, profile: str | None,
                timeout: float = 3600) -> tuple[float, str | None]:
    """Seconds of ``snakemake -n`` and its output; (timeout, None) when it ran out of time."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    cmd = [str(BIN / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "-n",
           "--configfile", str(cfg)]
    cmd += ["--profile", profile] if profile else ["--cores", "2"]
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return timeout, None
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"snakemake -n failed for {cfg}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return dt, r.stdout + r.stderr


def job_stats(out: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> count."""
    stats: dict[str, int] = {}
    m = re.search(r"Job stats:\n(.*?)\n\s*total\s+(\d+)", out, re.S)
    if not m:
        raise SystemExit("no 'Job stats' table in the dry-run output")
    for line in m.group(1).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            stats[parts[0]] = int(parts[1])
    return stats


def grouped_slurm_jobs(out: str, stats: dict[str, int], grouped_rules: set[str]) -> int:
    groups = len(re.findall(r"Group job \S+ \(jobs in lexicogr. order\)", out))
    ungrouped = sum(c for r, c in stats.items() if r not in grouped_rules and r != "all")
    return groups + ungrouped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=sorted(CASES))
    ap.add_argument("--job-blocks", type=int, nargs="+", default=[1, 2],
                    help="job_block values to measure (default 1 2)")
    ap.add_argument("--profile", default=str(REPO / "slurm" / "saga"),
                    help="profile whose groups/group-components are counted (default slurm/saga)")
    ap.add_argument("--grouped", action="store_true",
                    help="also dry-run with the profile's groups (Snakemake's group assignment is slow at 10k jobs)")
    ap.add_argument("--repeat", type=int, default=1, help="timed dry runs per case (best is kept)")
    ap.add_argument("--group-timeout", type=float, default=300,
                    help="give up on the grouped dry run after this many seconds (default 300)")
    args = ap.parse_args()
    prof = yaml.safe_load((Path(args.profile) / "config.yaml").read_text())
    grouped_rules = set((prof.get("groups") or {}).keys())
    rows = []
    with tempfile.TemporaryDirectory(prefix="sporbar-dag-") as tmp:
        work = Path(tmp)
        # Only the grouping settings of the profile: the executor itself is not needed to count.
        gprof = work / "group-profile"
        gprof.mkdir()
        (gprof / "config.yaml").write_text(yaml.safe_dump({
            "cores": prof.get("cores", 2),
            "groups": prof.get("groups") or {},
            "group-components": prof.get("group-components") or {},
        }))
        for n in args.sizes:
            for k in args.job_blocks:
                cfg = write_config(work, n, k)
                times, out = [], ""
                for _ in range(args.repeat):
                    dt, out = snakemake_n(cfg, work, None)
                    times.append(dt)
                stats = job_stats(out)
                steps = sum(c for r, c in stats.items() if r != "all")
                dt_g, grouped = None, None
                if args.grouped:
                    dt_g, out_g = snakemake_n(cfg, work, str(gprof), timeout=args.group_timeout)
                    grouped = (grouped_slurm_jobs(out_g, job_stats(out_g), grouped_rules)
                               if out_g is not None else "timeout")
                rows.append((n, k, min(times), steps, dt_g, grouped))
                print(f"{n} tiles, job_block {k}: DAG {min(times):.1f} s, {steps} jobs ({stats})", file=sys.stderr)
    print("\nDAG build (snakemake -n: parse, config validation, DAG, dry-run listing of every job)")
    print(f"{'tiles':>7} {'job_block':>9} {'dag_s':>7} {'jobs':>7} {'jobs/tile':>9} {'goal<30s':>8}"
          + (f" {'grouped_s':>9} {'grp_jobs':>8} {'grp/tile':>8}" if args.grouped else ""))
    for n, k, dt, steps, dt_g, grouped in rows:
        line = f"{n:>7} {k:>9} {dt:>7.1f} {steps:>7} {steps / n:>9.2f} {'yes' if dt < 30 else 'no':>8}"
        if args.grouped:
            g = f"{grouped / n:.2f}" if isinstance(grouped, int) else "?"
            line += f" {dt_g:>9.1f} {grouped!s:>8} {g:>8}"
        print(line)


if __name__ == "__main__":
    main()
