"""Run a coroutine to completion from a test, whatever loop this thread already runs.

Playwright's sync API leaves an event loop running in the main thread of an xdist worker
once a browser test has run there (`--dist loadfile` puts any test file after it), and
``asyncio.run`` refuses to start inside a running loop. A thread of its own has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on a fresh thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
