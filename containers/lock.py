"""Write containers/requirements.lock: sporbar's runtime dependency closure, pinned exactly
to the versions installed in the environment that runs this script (the dev venv).

The image installs from this lock, so the container runs the very library versions that
produced (and reproduce) results outside it. Run: .venv/bin/python containers/lock.py
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
OUT = HERE / "requirements.lock"
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


def check() -> int:
    """Exit status 1 (naming them) when pyproject.toml has dependencies the lock lacks."""
    locked = {canon(line.split("==")[0]) for line in OUT.read_text().splitlines()
              if line and not line.startswith("#")} if OUT.exists() else set()
    missing = sorted(r.name for r in direct() if canon(r.name) not in locked)
    if missing:
        print(f"{OUT}: stale, lacks {', '.join(missing)} from pyproject.toml; "
              "run: .venv/bin/python containers/lock.py", file=sys.stderr)
        return 1
    return 0


def main() -> None:
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
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
