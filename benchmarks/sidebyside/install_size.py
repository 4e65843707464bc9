"""Installed size of a requirement closure, computed inside the venv that holds it.

Run as a script by that venv's interpreter (``python install_size.py REQ...``); it prints
JSON ``{"bytes": ..., "distributions": [...]}``. Sizes are the files each distribution's
RECORD lists (what pip would remove), so unrelated packages in the same venv do not count.
Extras are not followed; environment markers are evaluated for this interpreter.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import Requirement
except ImportError:  # pragma: no cover - venvs without packaging still have pip's copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _dist_bytes(dist: metadata.Distribution) -> int:
    total = 0
    for f in dist.files or []:
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            total += path.stat().st_size
    return total


def closure(requirements: list[str]) -> dict[str, int]:
    """Installed distributions reachable from ``requirements``, with their sizes."""
    seen: dict[str, int] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = _norm(req.name)
        if key in seen:
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            seen[key] = 0
            continue
        seen[key] = _dist_bytes(dist)
        todo.extend(Requirement(r) for r in dist.requires or [])
    return seen


def main(argv: list[str]) -> None:
    """Print the closure's size of the requirements given as arguments."""
    sizes = closure(argv)
    out = {"bytes": sum(sizes.values()), "distributions": sorted(sizes)}
    sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
