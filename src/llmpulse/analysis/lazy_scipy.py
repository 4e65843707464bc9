"""`stats`: scipy.stats, imported on first use.

scipy.stats costs about half a second and tens of MiB to import; the server imports the
analysis package at start but may never run a test, so the import waits for the first call.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


stats: Any = _LazyModule("scipy.stats")
