"""Lets ``benchmarks/tests`` import the ``sidebyside`` package (run by hand, not by CI)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
