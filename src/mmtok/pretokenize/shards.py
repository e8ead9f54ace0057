"""The output folder: which rows go to which shard, atomic shard writes, resume, manifest.

The folder is a plain Parquet dataset: ``shard-*.parquet`` files and nothing else a reader
sees. The manifest and temporary files start with a dot, which pyarrow, pandas, Polars and
Hugging Face ``datasets`` all skip when they read a folder.

Shard ``k`` holds input rows ``[k·N, (k+1)·N)`` in input order across the sorted input files
(``N`` = rows per shard), so a rerun with the same input and options maps every row to the
same shard. A shard is written to a hidden temporary file and renamed into place, so a shard
file that exists was written whole: "complete" means it exists and its Parquet metadata
holds the expected row count and schema. A killed run leaves only complete shards (and
temporary files, removed on the next run), and a rerun writes just the missing ones.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mmtok.errors import ConfigError
from mmtok.pretokenize.source import Cursor, Slice, cursors

MANIFEST = ".mmtok-manifest.json"


@dataclass(frozen=True)
class Shard:
    """Output shard ``index``: the input slices it holds, in order."""

    index: int
    slices: tuple[Slice, ...]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.slices)

    @property
    def name(self) -> str:
        return shard_name(self.index)


def shard_name(index: int) -> str:
    """The file name of shard ``index``: zero-padded, so names sort in shard order."""
    return f"shard-{index:05d}.parquet"


@dataclass(frozen=True)
class ShardResult:
    """A written shard's totals: rows, error rows, tokens (summed ``num_tokens``)."""

    index: int
    rows: int
    errors: int
    tokens: int


def totals(index: int, table: pa.Table) -> ShardResult:
    """The totals of shard ``index`` from its table (or just its two columns read back)."""
    errors = table.num_rows - table.column("error").null_count
    tokens = pc.sum(table.column("num_tokens")).as_py() or 0
    return ShardResult(index, table.num_rows, errors, tokens)


@dataclass(frozen=True)
class InputFile:
    """An input file as the manifest records it: a rerun must see the same rows and size."""

    path: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class Layout:
    """Every shard of a run and the input files they cover."""

    shards: tuple[Shard, ...]
    files: tuple[InputFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def layout(files: Sequence[Path], shard_rows: int, prefixed: bool) -> Layout:
    """Cut the rows of ``files`` (in order) into shards of ``shard_rows`` rows, the last one
    shorter; ``prefixed`` puts each file's name before its default ids (a folder's files)."""
    if shard_rows < 1:
        raise ConfigError(f"--shard-rows {shard_rows}: must be at least 1")
    shards: list[Shard] = []
    pieces: list[Slice] = []
    filled = 0
    infos = []
    for path in files:
        prefix = f"{path.name}:" if prefixed else ""
        start: Cursor | None = None
        taken = total = 0
        for cursor in cursors(path):
            start = start or cursor
            taken, total, filled = taken + 1, total + 1, filled + 1
            if filled == shard_rows:
                pieces.append(Slice(str(path), start, taken, prefix))
                shards.append(Shard(len(shards), tuple(pieces)))
                pieces, filled, start, taken = [], 0, None, 0
        if start is not None:
            pieces.append(Slice(str(path), start, taken, prefix))
        infos.append(InputFile(str(path), total, path.stat().st_size))
    if pieces:
        shards.append(Shard(len(shards), tuple(pieces)))
    return Layout(tuple(shards), tuple(infos))


def is_complete(folder: Path, shard: Shard, schema: pa.Schema) -> bool:
    """Whether ``shard`` is already written whole, from its Parquet footer alone."""
    path = folder / shard.name
    if not path.is_file():
        return False
    try:
        meta = pq.read_metadata(path)
        written = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return False
    return meta.num_rows == shard.rows and written.equals(schema, check_metadata=False)


def _replace(path: Path, write: Any) -> None:
    """Write through ``write(tmp)`` to a hidden temporary file, flush it to disk, rename.
    The temporary name is unique, so writers on several nodes never share one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    write(tmp)
    with tmp.open("rb") as stream:
        os.fsync(stream.fileno())
    os.replace(tmp, path)


def write_table(path: Path, table: pa.Table) -> None:
    """Write ``table`` as the Parquet file ``path``, atomically. Column statistics (min/max,
    for filters) are kept for scalar columns only: over token lists they are useless and cost
    a third of the write."""
    scalars = [f.name for f in table.schema if not pa.types.is_list(f.type)]

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression="zstd", write_statistics=scalars)

    _replace(path, write)


def write_shard(folder: Path, shard: Shard, table: pa.Table) -> None:
    """Write ``table`` as ``shard``'s file, atomically."""
    write_table(folder / shard.name, table)


def clear_partial(folder: Path) -> None:
    """Remove the temporary files a killed run left behind."""
    for tmp in folder.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest, or ``None`` for a folder that has none yet."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable manifest ({exc})") from None


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically (a killed run never leaves half a manifest)."""
    text = json.dumps(manifest, indent=2) + "\n"
    _replace(folder / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def shard_files(folder: Path) -> list[Path]:
    """The shard files of an output folder, in shard (= row) order."""
    files = sorted(folder.glob("shard-*.parquet"), key=lambda p: int(p.stem.split("-")[1]))
    if not files:
        raise ConfigError(f"{folder}: no shard files")
    return files


def read_output(folder: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Every shard of an output folder as one table, in row order (what
    ``pq.read_table(folder)`` also gives)."""
    return pa.concat_tables(pq.read_table(f, columns=columns) for f in shard_files(folder))
