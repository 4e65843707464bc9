"""`fit_fd_limit` (#9, item 9): the open-file soft limit is raised to fit the connection cap, or
the cap is lowered to fit a hard limit that cannot be raised."""

from __future__ import annotations

import json
import resource
import subprocess
import sys

import pytest

PROBE = """
import json, resource, sys
from llmpulse.server.connections import fit_fd_limit
cap = fit_fd_limit(int(sys.argv[1]))
print(json.dumps([cap, resource.getrlimit(resource.RLIMIT_NOFILE)[0]]))
"""


def _run(soft: int, hard: int, max_connections: int) -> tuple[int, int]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(max_connections)],
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=limit,
    )
    cap, new_soft = json.loads(out.stdout.strip().splitlines()[-1])
    return int(cap), int(new_soft)


def _hard() -> int:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1 << 20 if hard == resource.RLIM_INFINITY else hard


def test_soft_limit_is_raised_to_fit_the_cap() -> None:
    if _hard() < 2000:
        pytest.skip("the hard open-file limit is too low to raise the soft one")
    cap, soft = _run(256, _hard(), 1000)
    assert cap == 1000
    assert soft == 1000 + 128


def test_cap_is_lowered_when_the_hard_limit_is_too_low() -> None:
    cap, soft = _run(300, 300, 1000)
    assert soft == 300
    assert cap == 300 - 128
