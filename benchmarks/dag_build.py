"""Snakemake DAG build time for 1,000 and 10,000 grid tiles, and Slurm jobs per tile.

    .venv/bin/python benchmarks/dag_build.py [--sizes 1000 10000] [--repeat 1]

For each size it writes a config (a large bbox inside the national grid, EPSG:25833),
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


def write_config(work: Path, n: int) -> Path:
    tile_size, bbox = CASES[n]
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["root"] = str(work / "results")
    cfg["area"] = {"name": f"bench-{n}", "bbox": bbox}
    cfg["grid"]["tile_size"] = tile_size
    cfg["demo"]["lidar_tile_size"] = tile_size
    path = work / f"config-{n}.yaml"
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
    ap.add_argument("--profile", default=str(REPO / "slurm" / "saga"),
                    help="profile whose groups/group-components are counted (default slurm/saga)")
    ap.add_argument("--repeat", type=int, default=1, help="timed dry runs per size (best is kept)")
    ap.add_argument("--group-timeout", type=float, default=300,
                    help="give up on the grouped dry run after this many seconds (default 300)")
    args = ap.parse_args()
    prof = yaml.safe_load((Path(args.profile) / "config.yaml").read_text())
    grouped_rules = set((prof.get("groups") or {}).keys())
    # Only the grouping settings of the profile: the executor itself is not needed to count.
    rows = []
    with tempfile.TemporaryDirectory(prefix="sporbar-dag-") as tmp:
        work = Path(tmp)
        gprof = work / "group-profile"
        gprof.mkdir()
        (gprof / "config.yaml").write_text(yaml.safe_dump({
            "cores": prof.get("cores", 2),
            "groups": prof.get("groups") or {},
            "group-components": prof.get("group-components") or {},
        }))
        for n in args.sizes:
            cfg = write_config(work, n)
            times, out = [], ""
            for _ in range(args.repeat):
                dt, out = snakemake_n(cfg, work, None)
                times.append(dt)
            stats = job_stats(out)
            tiles = stats.get("predict", n)
            steps = sum(c for r, c in stats.items() if r != "all")
            dt_g, out_g = snakemake_n(cfg, work, str(gprof), timeout=args.group_timeout)
            grouped = (grouped_slurm_jobs(out_g, job_stats(out_g), grouped_rules)
                       if out_g is not None else None)
            rows.append((n, tiles, min(times), dt_g, steps, grouped))
            print(f"{n} tiles: DAG {min(times):.1f} s, {steps} steps, {grouped} Slurm jobs grouped "
                  f"(grouped dry run {'>' if out_g is None else ''}{dt_g:.1f} s) "
                  f"({stats})", file=sys.stderr)
    print(f"\nDAG build (snakemake -n, incl. parse and config validation); grouping of {args.profile}")
    print(f"{'tiles':>7} {'dag_s':>7} {'dag_s(grp)':>10} {'steps':>8} {'slurm_jobs':>11} "
          f"{'grouped':>8} {'jobs/tile':>10} {'grp/tile':>9}")
    for _n, tiles, dt, dt_g, steps, grouped in rows:
        if grouped is None:  # Snakemake's group assignment did not finish in time
            g_dt, g_n, g_pt = f">{dt_g:.0f}", "timeout", "?"
        else:
            g_dt, g_n, g_pt = f"{dt_g:.1f}", str(grouped), f"{grouped / tiles:.2f}"
        print(f"{tiles:>7} {dt:>7.1f} {g_dt:>10} {steps:>8} {steps:>11} {g_n:>8} "
              f"{steps / tiles:>10.2f} {g_pt:>9}")


if __name__ == "__main__":
    main()
