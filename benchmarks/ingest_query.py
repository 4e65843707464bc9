"""Side-by-side ingest and query benchmark of llmpulse and Arize Phoenix (run by hand).

Usage: ``.venv/bin/python benchmarks/ingest_query.py --sizes 30000 --phoenix-spans 30000``
(see benchmarks/README.md). Writes ``benchmarks/results/<stamp>.{json,md}`` and prints the table.
"""

from sidebyside.run import main

if __name__ == "__main__":
    main()
