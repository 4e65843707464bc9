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


def _bits(buffer: pa.Buffer) -> Bools:
    out: Bools = np.unpackbits(np.frombuffer(buffer, np.uint8), bitorder="little").astype(bool)
    return out


def ranks(col: pa.ChunkedArray) -> tuple[Ints, list[str | None]]:
    """Each row's group as the rank of its value in ``ORDER BY g`` (NULL last)."""
    enc = pc.dictionary_encode(pc.cast(col, pa.string())).combine_chunks()
    dictionary = enc.dictionary.to_pylist()
    order = sorted(range(len(dictionary)), key=lambda j: dictionary[j])
    rank = np.empty(len(dictionary) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(dictionary), dtype=np.int64)
    rank[len(dictionary)] = len(dictionary)  # NULL sorts last
    indices, valid = arrow_column(enc.indices)
    idx = np.where(valid, indices, len(dictionary))  # NULL sorts last
    labels: list[str | None] = [dictionary[j] for j in order]
    labels.append(None)
    return rank[idx.astype(np.int64)], labels
