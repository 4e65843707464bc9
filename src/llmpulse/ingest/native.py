"""The C extension ``llmpulse.ingest._wire`` (ADR 0007), or None where it is not built.

Its users (`wire`, `indexed`, `openinference`) read `module` on each call and fall back to
their Python code when it is None, so the package works without a compiler, only slower; a
test asserts it is built here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


def _load() -> ModuleType | None:
    try:
        return importlib.import_module("llmpulse.ingest._wire")
    except ImportError:  # only where the package was installed without a compiler
        return None


module = _load()


@contextmanager
def python_only() -> Iterator[None]:
    """Run the Python mappings even where the extension is built.

    For measuring the plain-Python decode (the benchmark's store-rows ceiling) and for tests
    that compare the two; not thread-safe.
    """
    global module
    saved, module = module, None
    try:
        yield
    finally:
        module = saved
