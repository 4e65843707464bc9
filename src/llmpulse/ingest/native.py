"""The C extension ``llmpulse.ingest._wire`` (ADR 0007), or None where it is not built.

Its users (`wire`, `indexed`) fall back to their Python code when `module` is None, so the
package works without a compiler, only slower; a test asserts it is built here.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def _load() -> ModuleType | None:
    try:
        return importlib.import_module("llmpulse.ingest._wire")
    except ImportError:  # only where the package was installed without a compiler
        return None


module = _load()
