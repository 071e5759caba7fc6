"""Write containers/requirements.lock: sporbar's runtime dependency closure, pinned exactly
to the versions installed in the environment that runs this script (the dev venv).

The image installs from this lock, so the container runs the very library versions that
produced (and reproduce) results outside it. Run: .venv/bin/python containers/lock.py
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

OUT = Path(__file__).resolve().parent / "requirements.lock"


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(root: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
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


def main() -> None:
    pins = closure("sporbar")
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
