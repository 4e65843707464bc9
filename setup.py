"""Build of the two C extensions; everything else about the package is in pyproject.toml.

Both are plain C over the CPython API, built with the compiler and Python headers this kind
of machine comes with, and both have a Python fallback where they are not built:
- `llmpulse.ingest._wire`, the OTLP wire decoder (docs/adr/0007; ingest falls back to upb);
- `llmpulse.store.events._terms`, the search indexer's tally of a block's terms
  (docs/adr/0061; `search_terms.tally` falls back to Python).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "llmpulse.ingest._wire",
            sources=[
                "src/llmpulse/ingest/_wire.c",
                "src/llmpulse/ingest/_wire_values.c",
                "src/llmpulse/ingest/_wire_indexed.c",
                "src/llmpulse/ingest/_wire_row.c",
            ],
            depends=["src/llmpulse/ingest/_wire.h"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
        Extension(
            "llmpulse.store.events._terms",
            sources=["src/llmpulse/store/events/_terms.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
        ),
    ]
)
