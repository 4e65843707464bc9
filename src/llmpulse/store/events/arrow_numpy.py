"""Arrow columns as numpy arrays, for the batched metric scan (`metric_batch`, ADR 0033).

Read from the Arrow buffers: pyarrow's own ``to_numpy`` and ``fill_null`` import pandas,
which would cost the first monitor cycle of a process about half a second of CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.signedinteger[Any]]


def arrow_column(col: pa.ChunkedArray | pa.Array) -> tuple[npt.NDArray[Any], Bools]:
    """A fixed-width column as a numpy array (any value where NULL) and where it is not NULL,
    read from its Arrow buffers: pyarrow's `to_numpy` and `fill_null` import pandas, which
    would cost the first cycle of a process about half a second of CPU."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    validity, data = arr.buffers()[:2]
    span = slice(arr.offset, arr.offset + len(arr))
    if pa.types.is_boolean(arr.type):
        values: npt.NDArray[Any] = _bits(data)[span]
    else:
        values = np.frombuffer(data, arr.type.to_pandas_dtype())[span]
    valid = np.ones(len(arr), bool) if validity is None else _bits(validity)[span]
    return values, valid


def nulls(col: pa.ChunkedArray | pa.Array) -> Bools:
    """Where a column of any type is NULL, from its validity bitmap (``is_null`` and
    ``to_numpy`` go through pandas)."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    validity = arr.buffers()[0]
    if validity is None:
        return np.zeros(len(arr), bool)
    return ~_bits(validity)[arr.offset : arr.offset + len(arr)]


def _bits(buffer: pa.Buffer) -> Bools:
    out: Bools = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little").astype(bool)
    return out


def codes(col: pa.ChunkedArray | pa.Array) -> tuple[Ints, Bools, list[Any]]:
    """Each row's dictionary code (the index of its value in the distinct values), where it
    is not NULL, and the distinct values: a column's groups without pyarrow's filters or
    ``pc.equal`` with a Python scalar, which import pandas."""
    enc = pc.dictionary_encode(col)
    enc = enc.combine_chunks() if isinstance(enc, pa.ChunkedArray) else enc
    indices, valid = arrow_column(enc.indices)
    return indices.astype(np.int64), valid, enc.dictionary.to_pylist()


def ranks(col: pa.ChunkedArray) -> tuple[Ints, list[str | None]]:
    """Each row's group as the rank of its value in ``ORDER BY g`` (NULL last)."""
    indices, valid, dictionary = codes(pc.cast(col, pa.string()))
    order = sorted(range(len(dictionary)), key=lambda j: dictionary[j])
    rank = np.empty(len(dictionary) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(dictionary), dtype=np.int64)
    rank[len(dictionary)] = len(dictionary)  # NULL sorts last
    idx = np.where(valid, indices, len(dictionary))  # NULL sorts last
    labels: list[str | None] = [dictionary[j] for j in order]
    labels.append(None)
    return rank[idx.astype(np.int64)], labels
