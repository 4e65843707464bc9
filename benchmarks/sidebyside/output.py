"""What both benchmark commands share: progress lines, the machine line, writing results."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil


def say(msg: str) -> None:
    """A progress line on stderr (stdout carries the report)."""
    print(msg, file=sys.stderr, flush=True)


def machine() -> str:
    """Cores, CPU model, RAM and Python version of this machine, in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {ram:.0f} GiB RAM, Python {platform.python_version()}"
    )


def write_results(
    results: dict[str, Any],
    out_dir: Path,
    kind: str,
    label: str | None,
    render: Callable[[dict[str, Any]], str],
) -> None:
    """Write ``<stamp>[-kind][-label].json`` and its rendered ``.md``; print the report."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    name = "-".join(part for part in (stamp, kind, label) if part)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    md = render(results)
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    say(f"wrote {out_dir / name}.json and .md")
