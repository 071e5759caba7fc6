"""The linux/arm64 image (Olivia's Grace-Hopper nodes), run under qemu-user-static.

Building it is hours under emulation, so no test builds it: these run only once
`make container-arm64` has built the image for the current sources, and are skipped (saying
so) otherwise. Then they run containers/test.sh in it (`sporbar --version`, the one-tile demo,
`verify`, the image digest in every item, `reproduce` of the map and the model), and run the
same one-tile area here (amd64) to compare: every asset's checksum, and `sporbar reproduce`
here of the arm64 run's catalog. The comparison is written to
tests/artifacts/arm64-vs-amd64.json for the record.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, REPO, asset_checksums, run_snakemake

# also e2e: kept out of the fast `-m "not e2e ..."` selection even where the image is built
pytestmark = [pytest.mark.container, pytest.mark.e2e]

ARTIFACTS = REPO / "tests" / "artifacts"


def _arm64_image() -> str:
    """The arm64 image of the current sources, or skip the test (with why)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed: `make container-arm64` installs it and builds the image")
    env = {**os.environ, "ARCH": "arm64"}
    tag = subprocess.run([str(REPO / "containers" / "build.sh"), "--tag"], env=env, check=True,
                         capture_output=True, text=True).stdout.strip()
    exists = subprocess.run(["podman", "image", "exists", tag], env=_podman_env(), check=False)
    if exists.returncode != 0:
        pytest.skip(f"{tag} is not built (hours under qemu): run `make container-arm64` first")
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("no qemu-aarch64 binfmt handler here: `make container-arm64` registers it")
    return tag


def _podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(REPO / "containers" / "containers.conf")}


@pytest.fixture(scope="module")
def arm64_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """containers/test.sh in the arm64 image, its run folder kept."""
    image = _arm64_image()
    env = {**_podman_env(), "ARCH": "arm64", "KEEP": "1", "TMPDIR": str(tmp_path_factory.mktemp("arm64"))}
    r = subprocess.run([str(REPO / "containers" / "test.sh")], env=env, capture_output=True,
                       text=True, timeout=5400)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    kept = re.search(r"run folder kept: (\S+)", r.stdout)
    assert kept, r.stdout[-2000:]
    return {"image": image, "work": Path(kept.group(1)), "stdout": r.stdout}


def test_arm64_image_runs_the_demo_and_reproduces_it(arm64_run: dict) -> None:
    out = arm64_run["stdout"]
    assert "(arm64," in out and "test.sh: OK" in out
    assert re.search(r"^sporbar, version \S+$", out, re.MULTILINE), "no `sporbar --version` line"


def test_arm64_run_against_amd64(arm64_run: dict, tmp_path: Path) -> None:
    # the same config here (amd64, this venv): which assets are the same bytes, and does this
    # machine's `sporbar reproduce` accept the arm64 run's items
    arm_work = arm64_run["work"]
    shutil.copy(arm_work / "config.yaml", tmp_path / "config.yaml")
    r = run_snakemake("--configfile", "config.yaml", "--quiet", "rules", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    amd, arm = asset_checksums(tmp_path / "results"), asset_checksums(arm_work / "results")
    assert amd.keys() == arm.keys(), sorted(set(amd) ^ set(arm))
    pairs = [(item, key) for item in sorted(amd) for key in amd[item]]
    same = [f"{item}#{key}" for item, key in pairs if amd[item][key] == arm[item].get(key)]
    differ = [f"{item}#{key}" for item, key in pairs if amd[item][key] != arm[item].get(key)]
    # this machine's sporbar re-runs every step of the arm64 catalog and compares (paths in the
    # config are relative to the run folder)
    rep = subprocess.run([str(BIN / "sporbar"), "reproduce", "--all", "results/catalog/catalog.json",
                          "-c", "results/config.yaml", "--json", str(tmp_path / "reproduce.json")],
                         cwd=arm_work, capture_output=True, text=True, timeout=1800)
    ARTIFACTS.mkdir(exist_ok=True)
    record = {"image": arm64_run["image"], "identical": same, "different": differ,
              "reproduce_on_amd64_of_arm64": rep.stdout.strip().splitlines()[-3:],
              "reproduce_exit": rep.returncode}
    (ARTIFACTS / "arm64-vs-amd64.json").write_text(json.dumps(record, indent=1) + "\n")
    # the inputs made before any floating-point processing are the same bytes on both
    assert any("raw/lidar" in a for a in same), record
    assert rep.returncode in (0, 1) and "Traceback" not in rep.stderr, rep.stderr[-3000:]
