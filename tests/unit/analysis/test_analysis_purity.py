"""`analysis` stays pure: stdlib, numpy, scipy, shap, sklearn, `llmpulse.domain` (STYLE.md 2.1)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[3] / "src" / "llmpulse" / "analysis"
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "shap", "sklearn", "threadpoolctl"}  # surrogate
ALLOWED_OWN = ("llmpulse.domain", "llmpulse.analysis")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_analysis_imports_only_allowed_modules_when_scanned() -> None:
    offenders = []
    modules = sorted(ANALYSIS.rglob("*.py"))
    assert modules
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            ok = (
                top in sys.stdlib_module_names
                or top in ALLOWED_THIRD_PARTY
                or name.startswith(ALLOWED_OWN)
            )
            if not ok or top in {"asyncio", "socket", "sqlite3", "urllib", "http"}:
                offenders.append(f"{path.name}: {name}")
    assert not offenders
