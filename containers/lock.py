"""Write containers/requirements.lock: sporbar's runtime dependency closure, pinned exactly
to the versions installed in the environment that runs this script (the dev venv).

The image installs from this lock, so the container runs the very library versions that
produced (and reproduce) results outside it. Run: .venv/bin/python containers/lock.py

The linux/arm64 image (Sigma2 Olivia's Grace-Hopper nodes) gets PyPI's aarch64 torch wheel, a
CUDA build that needs the CUDA runtime wheels the x86_64 CPU build does not. Their pins go to
containers/requirements-arm64.lock, resolved by pip for aarch64 under requirements.lock's pins:
    .venv/bin/python containers/lock.py --arm64      (needs PyPI)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
OUT = HERE / "requirements.lock"
OUT_ARM64 = HERE / "requirements-arm64.lock"
# pip --platform takes exact tags: list every manylinux level the aarch64 CUDA wheels use
AARCH64_TAGS = [f"manylinux_2_{minor}_aarch64" for minor in range(17, 40)] + ["manylinux2014_aarch64"]
PYPROJECT = HERE.parent / "pyproject.toml"


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct() -> list[Requirement]:
    """sporbar's runtime dependencies as pyproject.toml states them now."""
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return [Requirement(d) for d in deps]


def closure(reqs: list[Requirement]) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(r.name, frozenset(r.extras)) for r in reqs]
    while todo:
        name, extras = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            sys.exit(f"lock.py: {name} is not installed in {sys.prefix}: run `pip install -e .` first")
        key = canon(dist.metadata["Name"])
        first = key not in seen
        seen[key] = dist.version
        for spec in dist.requires or []:
            req = Requirement(spec)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker and not any(req.marker.evaluate(env) for env in envs):
                continue
            if first or req.extras:
                todo.append((req.name, frozenset(req.extras)))
    seen.pop("sporbar", None)
    return seen


def read_pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of a lock file's `name==version` lines (empty if no file)."""
    if not path.exists():
        return {}
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canon(name)] = version.strip()
    return pins


def check() -> int:
    """Exit status 1 (naming them) when pyproject.toml has dependencies the lock lacks, or the
    arm64 lock is for another torch than the main lock."""
    locked = read_pins(OUT)
    missing = sorted(r.name for r in direct() if canon(r.name) not in locked)
    if missing:
        print(f"{OUT}: stale, lacks {', '.join(missing)} from pyproject.toml; "
              "run: .venv/bin/python containers/lock.py", file=sys.stderr)
        return 1
    arm64 = read_pins(OUT_ARM64)
    if arm64.get("torch") != locked.get("torch"):
        print(f"{OUT_ARM64}: pins torch=={arm64.get('torch')} but {OUT.name} pins "
              f"torch=={locked.get('torch')}; run: .venv/bin/python containers/lock.py --arm64",
              file=sys.stderr)
        return 1
    return 0


def arm64_extras() -> dict[str, str]:
    """Pins of torch's aarch64 wheel and the packages it needs that requirements.lock lacks.

    pip resolves the locked torch for linux/aarch64 (PyPI's CUDA build) under the main lock's
    pins as constraints, so shared packages keep the dev venv's versions.
    """
    locked = read_pins(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        platforms = [arg for tag in AARCH64_TAGS for arg in ("--platform", tag)]
        cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
               "--only-binary=:all:", "--python-version", "3.11", *platforms,
               "--target", str(Path(tmp) / "target"), "--report", str(report),
               "--constraint", str(OUT), f"torch=={locked['torch']}"]
        subprocess.run(cmd, check=True)
        installs = json.loads(report.read_text())["install"]
    pins = {canon(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}
    return {name: v for name, v in pins.items() if name == "torch" or name not in locked}


def write_arm64() -> None:
    pins = arm64_extras()
    lines = [
        "# linux/arm64 only: PyPI's aarch64 torch wheel (a CUDA build, for Olivia's GH200 nodes) and the",
        "# CUDA runtime wheels it needs, on top of requirements.lock (containers/lock.py --arm64 writes this).",
    ]
    lines += [f"{name}=={pins[name]}" for name in sorted(pins)]
    OUT_ARM64.write_text("\n".join(lines) + "\n")
    print(f"{OUT_ARM64}: {len(pins)} packages", file=sys.stderr)


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    if sys.argv[1:] == ["--arm64"]:
        write_arm64()
        return
    pins = closure(direct())
    lines = [
        "# sporbar runtime dependencies, pinned to the dev venv (containers/lock.py writes this).",
        "# Local version labels (+cpu) are dropped: the image gets torch's CPU build from the index",
        "# or wheel folder the build is given (see containers/Containerfile).",
    ]
    for name in sorted(pins):
        version = pins[name].split("+", 1)[0]
        lines.append(f"{name}=={version}")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(pins)} packages", file=sys.stderr)


if __name__ == "__main__":
    main()
