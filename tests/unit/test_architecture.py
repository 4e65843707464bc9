"""House rules that only hold if a test holds them (STYLE.md 2.1, 2.2)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "llmpulse"
MAX_LINES = 800


def _modules() -> list[Path]:
    return [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]


def test_modules_stay_under_the_line_limit() -> None:
    too_long = {
        str(p.relative_to(SRC)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not too_long


def test_every_package_has_a_docstring_and_no_logic() -> None:
    problems = []
    for init in SRC.rglob("__init__.py"):
        if "migrations" in init.parts:
            continue
        tree = ast.parse(init.read_text())
        if ast.get_docstring(tree) is None:
            problems.append(f"{init.relative_to(SRC)}: no docstring")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                problems.append(f"{init.relative_to(SRC)}: defines {node.name}")
    assert not problems


def test_no_module_named_like_a_grab_bag() -> None:
    banned = {"helpers.py", "models.py", "config.py", "misc.py", "common.py"}
    offenders = [
        str(p.relative_to(SRC))
        for p in _modules()
        if p.name in banned and p.parent.name not in {"routes"}
    ]
    assert not offenders
