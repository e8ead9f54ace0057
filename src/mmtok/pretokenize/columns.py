"""NumPy arrays ⇄ Arrow list columns, without a Python object per element.

Rows hold token ids ``(L,)``, positions ``(P, L)`` and grids ``(n, 3)``; building them with
``pa.Table.from_pylist`` would turn every id into a Python int. These helpers build list
columns from per-row arrays (one concatenation, one offsets array) and read them back as one
flat values array plus row offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _offsets(lengths: Sequence[int]) -> np.ndarray:
    """``(n + 1,)`` int32 offsets of consecutive pieces of the given lengths."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).astype(np.int32)


def _mask(pieces: Sequence[object | None]) -> pa.Array | None:
    nulls = [p is None for p in pieces]
    return pa.array(nulls, pa.bool_()) if any(nulls) else None


def list_column(pieces: Sequence[np.ndarray | None], type: pa.ListType) -> pa.Array:
    """A ``list<T>`` column from per-row 1-D arrays (``None``: a null row)."""
    dtype = type.value_type.to_pandas_dtype()
    arrays = [np.zeros(0, dtype) if p is None else np.asarray(p, dtype) for p in pieces]
    values = np.concatenate(arrays) if arrays else np.zeros(0, dtype)
    offsets = pa.array(_offsets([len(a) for a in arrays]), pa.int32())
    return pa.ListArray.from_arrays(offsets, values, type=type, mask=_mask(pieces))


def nested_column(pieces: Sequence[np.ndarray | None], type: pa.ListType) -> pa.Array:
    """A ``list<list<T>>`` column from per-row 2-D arrays ``(R, C)`` (``None``: a null row);
    row ``r`` of a piece is one inner list."""
    inner_type = type.value_type
    dtype = inner_type.value_type.to_pandas_dtype()
    arrays = [np.zeros((0, 0), dtype) if p is None else np.asarray(p, dtype) for p in pieces]
    values = np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0, dtype)
    inner_lengths = [a.shape[1] for a in arrays for _ in range(a.shape[0])]
    inner = pa.ListArray.from_arrays(
        pa.array(_offsets(inner_lengths), pa.int32()), values, type=inner_type
    )
    outer = pa.array(_offsets([a.shape[0] for a in arrays]), pa.int32())
    return pa.ListArray.from_arrays(outer, inner, type=type, mask=_mask(pieces))


@dataclass(frozen=True)
class Flat:
    """A list column read back: ``values`` every element in row order (a nested column's
    inner lists joined, so a row of positions ``(P, L)`` is ``P·L`` elements, row-major), row
    ``r`` holding ``values[offsets[r]:offsets[r + 1]]``."""

    values: np.ndarray
    offsets: np.ndarray

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The elements of ``rows`` ``(k,)``, in that order, as one array and its ``(k + 1,)``
        offsets (one fancy index, no loop over rows)."""
        starts = self.offsets[rows]
        sizes = self.offsets[rows + 1] - starts
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        index = np.repeat(starts - offsets[:-1], sizes) + np.arange(offsets[-1])
        return self.values[index], offsets


def _lengths(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)


def flat(column: pa.ChunkedArray | pa.Array, nested: bool = False) -> Flat:
    """A ``list<T>`` column, or with ``nested`` a ``list<list<T>>`` one, as one :class:`Flat`
    (a null row reads as empty)."""
    if not nested:
        values, per_row = pc.list_flatten(column), _lengths(column)
    else:
        inner = pc.list_flatten(column)
        values = pc.list_flatten(inner)
        starts = np.concatenate([[0], np.cumsum(_lengths(column))])
        ends = np.concatenate([[0], np.cumsum(_lengths(inner))])  # elements before inner list i
        per_row = ends[starts[1:]] - ends[starts[:-1]]
    values = values.to_numpy(zero_copy_only=False)
    return Flat(values, np.concatenate([[0], np.cumsum(per_row)]).astype(np.int64))
