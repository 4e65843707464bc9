"""Detection benchmark: precision, recall, time to detect and false alarms per detector.

Usage: ``.venv/bin/python benchmarks/detection.py`` (see benchmarks/README-detection.md).
Writes ``benchmarks/results/<stamp>-detection.{json,md}`` and prints the tables.
"""

from detectionbench.bench import main

if __name__ == "__main__":
    main()
