"""Build of the one C extension; everything else about the package is in pyproject.toml.

`llmpulse.ingest._wire` is the OTLP wire decoder (docs/adr/0007): plain C over the CPython
API, built with the compiler and Python headers this kind of machine comes with. Ingest falls
back to upb where it is not built.
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
        )
    ]
)
