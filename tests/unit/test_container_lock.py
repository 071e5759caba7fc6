"""The container installs from containers/requirements.lock: it must pin every dependency."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO
from packaging.requirements import Requirement


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_lock_pins_every_runtime_dependency() -> None:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lock = {}
    for line in (REPO / "containers" / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            lock[_canon(name.split("[")[0])] = version.split(";")[0].strip()
    missing = []
    for dep in deps:
        req = Requirement(dep)
        version = lock.get(_canon(req.name))
        if version is None or (req.specifier and not req.specifier.contains(version, prereleases=True)):
            missing.append(f"{dep} (lock: {version})")
    assert not missing, f"containers/requirements.lock is stale for {missing}: run .venv/bin/python containers/lock.py"


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_canon(name)] = version.strip()
    return pins


def test_arm64_lock_adds_cuda_wheels_to_the_same_torch() -> None:
    # the arm64 image installs both locks with --no-deps: one torch, no package pinned twice
    main = _pins(REPO / "containers" / "requirements.lock")
    arm64 = _pins(REPO / "containers" / "requirements-arm64.lock")
    assert arm64.get("torch") == main["torch"], "run .venv/bin/python containers/lock.py --arm64"
    assert not (set(arm64) - {"torch"}) & set(main), sorted((set(arm64) - {"torch"}) & set(main))
    assert any(name.startswith("nvidia-cuda-runtime") for name in arm64), sorted(arm64)
