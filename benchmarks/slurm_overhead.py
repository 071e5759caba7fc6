"""Scheduler overhead per job on the local Slurm cluster (slurm/local/cluster.sh).

    .venv/bin/python benchmarks/slurm_overhead.py [--n 20] [--snakemake-jobs 5]

Starts the cluster if it is not up (and stops it again at the end; needs root), then times
the same trivial command (`true`) run

* directly (``subprocess.run(["true"])``);
* as ``sbatch --wrap true``, one job at a time: the ``sbatch`` call itself, and submit ->
  the job seen COMPLETED in ``squeue --states=all`` (polled every 20 ms);
* as ``sbatch --wait --wrap true`` (sbatch blocks until the job ends);
* as ``srun true`` (an interactive job step);
* as N jobs submitted at once (2 CPUs here): first submit -> last job completed;
* through Snakemake: a chain of ``--snakemake-jobs`` trivial rules, each needing the one
  before, with ``--cores 1`` locally and with the Slurm executor as the local-slurm profile
  sets it up (squeue status, first status check after 2 s). The difference per job is what
  the executor adds: sbatch, a Snakemake process inside the job, and the status polling
  interval (it grows by 10 s after every check that finds nothing finished, up to 180 s,
  and falls back to ``slurm-init-seconds-before-status-checks`` when a job finishes).

Prints medians (and the 90th percentile) per job, the overhead (latency - direct run) and
the ratio (latency / direct run). No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLUSTER_SH = REPO / "slurm" / "local" / "cluster.sh"
PARTITION = "debug"  # the one partition of slurm/local/cluster.sh
JOB = ["--partition", PARTITION, "--cpus-per-task", "1", "--mem", "100M", "--time", "5",
       "--job-name", "sporbar-bench", "--output", "/dev/null"]
POLL = 0.02


def node_up() -> bool:
    r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return r.returncode == 0 and any(s.startswith(("idle", "mixed", "allocated")) for s in r.stdout.split())


def state(job_id: str) -> str:
    r = subprocess.run(["squeue", "-h", "--states=all", "-j", job_id, "-o", "%T"],
                       capture_output=True, text=True)
    return r.stdout.strip()


def submit(*extra: str) -> str:
    r = subprocess.run(["sbatch", "--parsable", *JOB, *extra, "--wrap", "true"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip().split(";")[0]


def wait_done(job_id: str, timeout: float = 120) -> str:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        s = state(job_id)
        if s in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"):
            return s
        time.sleep(POLL)
    raise TimeoutError(f"job {job_id} not finished after {timeout} s")


def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def stats(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def sbatch_roundtrip() -> None:
    s = wait_done(submit())
    assert s == "COMPLETED", s


def snakemake_chain(work: Path, n: int, slurm: bool) -> float:
    """Wall time of a chain of ``n`` trivial rules (each needs the one before)."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / "Snakefile").write_text(
        f"N = {n}\n"
        "rule all:\n    input: f'step{N - 1}.txt'\n"
        "rule first:\n    output: 'step0.txt'\n    shell: 'touch {output}'\n"
        "rule step:\n    input: lambda w: f'step{int(w.i) - 1}.txt'\n"
        "    output: 'step{i,[1-9][0-9]*}.txt'\n    shell: 'touch {output}'\n"
    )
    args = [str(BIN / "snakemake"), "--snakefile", "Snakefile", "--quiet", "all"]
    if slurm:
        args += ["--executor", "slurm", "--jobs", "2", "--latency-wait", "1",
                 "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
                 "--slurm-no-account", "--default-resources", f"slurm_partition={PARTITION}", "mem_mb=200",
                 "runtime=5"]
    else:
        args += ["--cores", "1"]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    t0 = time.perf_counter()
    r = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"snakemake ({'slurm' if slurm else 'local'}) failed:\n{r.stdout}\n{r.stderr[-3000:]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20, help="jobs per measurement (default 20)")
    ap.add_argument("--snakemake-jobs", type=int, default=5,
                    help="length of the Snakemake rule chain (0: skip the Snakemake measurement)")
    args = ap.parse_args(argv)
    if shutil.which("sbatch") is None:
        print("slurm_overhead: sbatch not found; install the cluster: bash slurm/local/cluster.sh install",
              file=sys.stderr)
        return 2
    started = False
    if not node_up():
        print("starting the local cluster (slurm/local/cluster.sh start)")
        subprocess.run(["bash", str(CLUSTER_SH), "start"], check=True)
        started = True
    n = args.n
    try:
        direct = timed(lambda: subprocess.run(["true"], check=True), n)
        submit_only: list[float] = []
        ids = []
        for _ in range(n):
            t0 = time.perf_counter()
            ids.append(submit())
            submit_only.append(time.perf_counter() - t0)
        for j in ids:
            wait_done(j)
        roundtrip = timed(sbatch_roundtrip, n)
        wait = timed(lambda: subprocess.run(["sbatch", "--wait", *JOB, "--wrap", "true"], check=True,
                                            capture_output=True), n)
        srun = timed(lambda: subprocess.run(["srun", *JOB, "true"], check=True, capture_output=True), n)
        t0 = time.perf_counter()
        burst = [submit() for _ in range(n)]
        for j in burst:
            wait_done(j)
        burst_wall = time.perf_counter() - t0

        d, _ = stats(direct)
        print(f"\nper job, {n} jobs each (median / p90), on {os.cpu_count()} CPUs:")
        print(f"  {'direct `true` (subprocess)':<48}{d * 1000:9.1f} ms")
        rows = [
            ("sbatch call only (submit, no wait)", submit_only),
            ("sbatch --wrap true -> COMPLETED in squeue", roundtrip),
            ("sbatch --wait --wrap true", wait),
            ("srun true", srun),
        ]
        for name, xs in rows:
            med, p90 = stats(xs)
            print(f"  {name:<48}{med * 1000:9.1f} ms  p90 {p90 * 1000:8.1f} ms  "
                  f"overhead {(med - d) * 1000:8.1f} ms  ratio {med / d:8.0f}x")
        print(f"  {f'{n} jobs at once: first submit -> all COMPLETED':<48}{burst_wall:9.2f} s   "
              f"= {burst_wall / n * 1000:.0f} ms per job, {n / burst_wall:.1f} jobs/s")

        if args.snakemake_jobs > 0:
            k = args.snakemake_jobs
            with tempfile.TemporaryDirectory(prefix="sporbar-smk-bench-") as tmp:
                local = snakemake_chain(Path(tmp) / "local", k, slurm=False)
                slurm = snakemake_chain(Path(tmp) / "slurm", k, slurm=True)
            print(f"\nSnakemake, a chain of {k} trivial rules (+ the local `all`):")
            print(f"  local --cores 1            {local:7.1f} s")
            print(f"  Slurm executor             {slurm:7.1f} s")
            print(f"  executor overhead per job  {(slurm - local) / k:7.1f} s  (ratio {slurm / local:.1f}x)")
    finally:
        subprocess.run(["scancel", "--name", "sporbar-bench"], capture_output=True)
        if started:
            subprocess.run(["bash", str(CLUSTER_SH), "stop"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
