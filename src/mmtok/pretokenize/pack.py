"""Pack a pretokenized folder into fixed-length training sequences (``mmtok pack``).

Each packed row concatenates whole samples (never split) up to ``context`` tokens:
``input_ids``, ``modality_ids``, ``position_ids`` (every sample keeps its own positions,
which restart at 0 per sample, as the model's ``get_rope_index`` computes them per sample),
``seq_lens`` and ``cu_seqlens`` (sample boundaries for varlen attention), ``ids``, and the
samples' ``image_grid_thw`` / ``video_grid_thw`` concatenated in order. Samples are assigned
by first-fit decreasing (:mod:`mmtok.pretokenize.binpack`); within a row they keep input order.

Only the lengths are held in memory for the assignment. The rows then stream through in two
passes: each input shard is read once and its rows are appended to the temporary bucket file
of the output shards they go to (at most :data:`BUCKETS` open files); each bucket is then read
back, its rows sorted into packs and written as output shards. Memory is one input shard plus
one bucket (``1 / BUCKETS`` of the data, or one output shard, whichever is larger).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from mmtok import __version__
from mmtok.errors import ConfigError
from mmtok.pretokenize.binpack import first_fit_decreasing, lower_bound
from mmtok.pretokenize.columns import Flat, flat, list_column
from mmtok.pretokenize.shards import (
    read_manifest,
    shard_files,
    shard_name,
    write_manifest,
    write_table,
)

BUCKETS = 64
_IDS = pa.list_(pa.int32())
_GRID = pa.list_(pa.list_(pa.int32()))
PACKED_SCHEMA = pa.schema(
    [
        ("input_ids", _IDS),  # (T,) T ≤ context, padding last
        ("position_ids", _GRID),  # (P, T) each sample's own positions, restarting per sample
        ("modality_ids", pa.list_(pa.int8())),  # (T,)
        ("seq_lens", _IDS),  # (k,) the samples' lengths, in order
        ("cu_seqlens", _IDS),  # (k + 1,) or (k + 2,) with padding: 0, ends of samples, T
        ("ids", pa.list_(pa.string())),  # (k,) the samples' ids, in order
        ("image_grid_thw", _GRID),  # (Σn, 3)
        ("video_grid_thw", _GRID),  # (Σv, 3)
        ("num_tokens", pa.int32()),  # Σ seq_lens (padding excluded)
    ]
)
_ROW_COLUMNS = (
    "id",
    "num_tokens",
    "input_ids",
    "position_ids",
    "modality_ids",
    "image_grid_thw",
    "video_grid_thw",
)
OnProgress = Callable[[str, int, int], None]  # stage, done, total


@dataclass(frozen=True)
class PackOptions:
    """``context`` tokens per packed row; rows padded to a multiple of ``pad_to_multiple``
    with ``pad_id`` (position 0, modality special); ``shuffle_seed`` shuffles the order of
    packed rows (and which of equal-length samples go together); ``shard_rows`` packed rows
    per output file."""

    context: int
    pad_to_multiple: int = 1
    pad_id: int = 0
    shuffle_seed: int | None = None
    shard_rows: int = 1000

    @property
    def capacity(self) -> int:
        """Sample tokens a row may hold: ``context`` rounded down to the padding multiple."""
        return self.context // self.pad_to_multiple * self.pad_to_multiple

    def check(self) -> None:
        """Refuse inconsistent options before anything is read (:class:`ConfigError`)."""
        if self.context < 1:
            raise ConfigError(f"--context {self.context}: must be positive")
        if not 1 <= self.pad_to_multiple <= self.context:
            raise ConfigError(
                f"--pad-to-multiple {self.pad_to_multiple}: must be between 1 and --context"
            )
        if self.pad_id < 0:
            raise ConfigError(f"--pad-id {self.pad_id}: must be a token id (≥ 0)")
        if self.shard_rows < 1:
            raise ConfigError(f"--shard-rows {self.shard_rows}: must be at least 1")


def source_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a complete full-row pretokenize folder (:class:`ConfigError` else)."""
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder")
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("kind", "pretokenize") != "pretokenize":
        raise ConfigError(f"{folder}: not an mmtok pretokenize output (no manifest)")
    if not manifest.get("complete"):
        raise ConfigError(f"{folder}: the pretokenize run is not complete; rerun it to finish")
    if manifest["options"].get("lengths_only"):
        raise ConfigError(f"{folder}: holds --lengths-only rows; packing needs full rows")
    return manifest


def _lengths(files: list[Path], on_progress: OnProgress) -> tuple[np.ndarray, list[int]]:
    """Every row's length ``(n,)`` (−1: an error row) and each file's row count."""
    lengths, counts = [], []
    for k, path in enumerate(files):
        table = pq.read_table(path, columns=["num_tokens", "error"])
        ok = pc.is_null(table.column("error")).to_numpy(zero_copy_only=False)
        n = table.column("num_tokens").fill_null(-1).to_numpy().astype(np.int64)
        lengths.append(np.where(ok, n, -1))
        counts.append(table.num_rows)
        on_progress("lengths", k + 1, len(files))
    return (np.concatenate(lengths) if lengths else np.zeros(0, np.int64)), counts


def assign(lengths: np.ndarray, options: PackOptions) -> np.ndarray:
    """The packed row of every sample ``(n,)``: −1 for error rows (length −1), empty rows
    and rows over the capacity; packed rows numbered in output order."""
    pack = np.full(len(lengths), -1, dtype=np.int64)
    fits = np.flatnonzero((lengths > 0) & (lengths <= options.capacity))
    rng = np.random.default_rng(options.shuffle_seed) if options.shuffle_seed is not None else None
    order = rng.permutation(len(fits)) if rng is not None else None
    bins = first_fit_decreasing(lengths[fits], options.capacity, order)
    if rng is not None and len(bins):
        bins = rng.permutation(int(bins.max()) + 1)[bins]
    pack[fits] = bins
    return pack


def _too_long(files: list[Path], counts: list[int], rows: np.ndarray) -> list[dict[str, Any]]:
    """``{"id", "num_tokens"}`` of the given global rows, read from their files."""
    out, start = [], 0
    for path, n in zip(files, counts, strict=True):
        local = rows[(rows >= start) & (rows < start + n)] - start
        if len(local):
            table = pq.read_table(path, columns=["id", "num_tokens"]).take(pa.array(local))
            out.extend(table.to_pylist())
        start += n
    return out


def _distribute(
    files: list[Path],
    pack: np.ndarray,
    shard_rows: int,
    per_bucket: int,
    tmp: Path,
    on_progress: OnProgress,
) -> list[Path]:
    """Pass 1: append every packed row, with its ``_pack`` and global ``_row``, to the bucket
    file of its output shard; return the bucket files in order."""
    writers: dict[int, ipc.RecordBatchStreamWriter] = {}
    paths: dict[int, Path] = {}
    start = 0
    try:
        for k, path in enumerate(files):
            table = pq.read_table(path, columns=list(_ROW_COLUMNS))
            rows = np.arange(start, start + table.num_rows)
            start += table.num_rows
            keep = pack[rows] >= 0
            table = table.filter(pa.array(keep))
            packs = pack[rows[keep]]
            table = table.append_column("_pack", pa.array(packs)).append_column(
                "_row", pa.array(rows[keep])
            )
            buckets = packs // shard_rows // per_bucket
            for b in np.unique(buckets):
                part = table.filter(pa.array(buckets == b))
                if int(b) not in writers:
                    paths[int(b)] = tmp / f"bucket-{int(b):05d}.arrow"
                    writers[int(b)] = ipc.new_stream(str(paths[int(b)]), table.schema)
                writers[int(b)].write_table(part)
            on_progress("distribute", k + 1, len(files))
    finally:
        for writer in writers.values():
            writer.close()
    return [paths[b] for b in sorted(paths)]


def _list(values: np.ndarray, offsets: np.ndarray, type: pa.ListType) -> pa.Array:
    return pa.ListArray.from_arrays(
        pa.array(offsets, pa.int32()), pa.array(values, type.value_type), type=type
    )


@dataclass(frozen=True)
class _Bucket:
    """One bucket's rows, flattened once: per sample its packed row, input row, length, id,
    and the flat token, position and grid arrays."""

    pack: np.ndarray
    row: np.ndarray
    lengths: np.ndarray
    ids: pa.Array
    input_ids: Flat
    modality_ids: Flat
    position_ids: Flat  # offsets count P·L elements per sample
    positions: int  # P
    image_grid_thw: Flat  # offsets count 3·n elements
    video_grid_thw: Flat

    @classmethod
    def of(cls, table: pa.Table) -> _Bucket:
        return cls(
            pack=table.column("_pack").to_numpy(),
            row=table.column("_row").to_numpy(),
            lengths=table.column("num_tokens").to_numpy().astype(np.int64),
            ids=table.column("id").combine_chunks(),
            input_ids=flat(table.column("input_ids")),
            modality_ids=flat(table.column("modality_ids")),
            position_ids=flat(table.column("position_ids"), nested=True),
            positions=int(pc.list_value_length(table.column("position_ids"))[0].as_py()),
            image_grid_thw=flat(table.column("image_grid_thw"), nested=True),
            video_grid_thw=flat(table.column("video_grid_thw"), nested=True),
        )


def _grids(grids: Flat, order: np.ndarray, firsts: np.ndarray) -> pa.Array:
    """``(n, 3)`` grids of the samples in ``order``, joined per packed row (``firsts``: each
    packed row's first sample in ``order``)."""
    values, offsets = grids.gather(order)
    inner = _list(values, np.arange(len(values) // 3 + 1) * 3, _GRID.value_type)
    outer = np.append(offsets[firsts], offsets[-1]) // 3
    return pa.ListArray.from_arrays(pa.array(outer, pa.int32()), inner, type=_GRID)


def _packed_rows(bucket: _Bucket, select: np.ndarray, options: PackOptions) -> pa.Table:
    """The packed rows of the samples ``select`` of ``bucket``: one per packed row number,
    its samples in input order. Every column is built by index arithmetic over the flat token
    arrays (no loop over tokens or samples)."""
    order = select[np.lexsort((bucket.row[select], bucket.pack[select]))]
    packs, lengths = bucket.pack[order], bucket.lengths[order]
    firsts = np.flatnonzero(np.diff(packs, prepend=-1))  # (K,) first sample of each row
    counts = np.diff(np.append(firsts, len(packs)))  # (K,) samples per row
    tokens = np.add.reduceat(lengths, firsts)  # (K,)
    padded = tokens + (-tokens % options.pad_to_multiple)  # (K,)
    out_starts = np.concatenate([[0], np.cumsum(padded)])  # (K + 1,) in the padded stream

    ids, sample_starts = bucket.input_ids.gather(order)  # (T,), (n + 1,)
    mods, _ = bucket.modality_ids.gather(order)
    pack_of_token = np.repeat(np.repeat(np.arange(len(firsts)), counts), lengths)  # (T,)
    within = np.arange(len(ids)) - sample_starts[firsts][pack_of_token]  # index in its row
    dest = out_starts[:-1][pack_of_token] + within
    out_ids = np.full(out_starts[-1], options.pad_id, dtype=np.int32)
    out_ids[dest] = ids
    out_mods = np.full(out_starts[-1], 4, dtype=np.int8)  # padding: special
    out_mods[dest] = mods

    # positions: sample r holds (P, L_r) row-major; packed row k holds (P, padded_k)
    n_pos = bucket.positions
    out_pos = np.zeros(n_pos * out_starts[-1], dtype=np.int32)
    to_sample = np.repeat(bucket.position_ids.offsets[order] - sample_starts[:-1], lengths)
    row_start = n_pos * out_starts[:-1][pack_of_token] + within
    for p in range(n_pos):
        source = to_sample + np.repeat(p * lengths, lengths) + np.arange(len(ids))
        out_pos[row_start + p * padded[pack_of_token]] = bucket.position_ids.values[source]
    inner = _list(out_pos, np.concatenate([[0], np.cumsum(np.repeat(padded, n_pos))]), _IDS)

    cu = [
        np.concatenate([[0], np.cumsum(lengths[a : a + c]), [pad] if pad > t else []])
        for a, c, t, pad in zip(firsts, counts, tokens, padded, strict=True)
    ]
    sample_offsets = np.append(firsts, len(packs))
    columns = {
        "input_ids": _list(out_ids, out_starts, _IDS),
        "position_ids": pa.ListArray.from_arrays(
            pa.array(np.arange(len(firsts) + 1) * n_pos, pa.int32()), inner, type=_GRID
        ),
        "modality_ids": _list(out_mods, out_starts, pa.list_(pa.int8())),
        "seq_lens": _list(lengths, sample_offsets, _IDS),
        "cu_seqlens": list_column(cu, _IDS),
        "ids": pa.ListArray.from_arrays(
            pa.array(sample_offsets, pa.int32()),
            bucket.ids.take(pa.array(order)),
            type=pa.list_(pa.string()),
        ),
        "image_grid_thw": _grids(bucket.image_grid_thw, order, firsts),
        "video_grid_thw": _grids(bucket.video_grid_thw, order, firsts),
        "num_tokens": pa.array(tokens, pa.int32()),
    }
    return pa.Table.from_arrays([columns[f.name] for f in PACKED_SCHEMA], schema=PACKED_SCHEMA)


def _write(
    buckets: list[Path], output: Path, n_rows: int, options: PackOptions, progress: OnProgress
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Pass 2: every bucket's packed rows as output shards; per shard its totals, and the
    fraction of the context each packed row fills ``(n_rows,)``."""
    shards, fill, written = [], np.zeros(n_rows), 0
    for bucket in buckets:
        with pa.memory_map(str(bucket)) as stream:
            rows_of = _Bucket.of(ipc.open_stream(stream).read_all())
        shard_of = rows_of.pack // options.shard_rows
        for index in np.unique(shard_of).tolist():
            rows = _packed_rows(rows_of, np.flatnonzero(shard_of == index), options)
            write_table(output / shard_name(index), rows)
            tokens = rows.column("num_tokens").to_numpy()
            first = index * options.shard_rows
            fill[first : first + len(tokens)] = tokens / options.context
            length = pc.sum(pc.list_value_length(rows.column("input_ids"))).as_py()
            shards.append(
                {
                    "file": shard_name(index),
                    "rows": rows.num_rows,
                    "samples": int(pc.sum(pc.list_value_length(rows["seq_lens"])).as_py()),
                    "tokens": int(tokens.sum()),
                    "padding": int(length - tokens.sum()),
                }
            )
            written += rows.num_rows
            progress("write", written, n_rows)
    return shards, fill


def _check_output(output: Path, source: Path) -> None:
    """An output folder is new, empty, or an earlier pack output (replaced)."""
    if output.resolve() == source.resolve():
        raise ConfigError(f"{output}: the output folder cannot be the input folder")
    if not output.exists():
        return
    if not output.is_dir():
        raise ConfigError(f"{output}: not a folder")
    old = read_manifest(output)
    if old is None and any(output.iterdir()):
        raise ConfigError(f"{output}: not empty and not an mmtok pack output (no manifest)")
    if old is not None and old.get("kind") != "pack":
        raise ConfigError(f"{output}: holds a {old.get('kind', 'pretokenize')} output, not a pack")


def _histogram(fill: np.ndarray) -> dict[str, list]:
    """Packed rows per 5 % of the context filled (the last bin includes full rows)."""
    counts, edges = np.histogram(fill, bins=20, range=(0.0, 1.0))
    return {"fill": [round(float(e), 2) for e in edges], "rows": counts.tolist()}


def pack(
    source: Path,
    output: Path,
    options: PackOptions,
    *,
    on_progress: OnProgress | None = None,
) -> dict[str, Any]:
    """Pack the successful rows of the pretokenize folder ``source`` into ``output``; return
    the manifest written beside the shards (totals, efficiency, rows not packed)."""
    options.check()
    manifest = source_manifest(source)
    _check_output(output, source)
    progress = on_progress or (lambda *_: None)
    start_time = time.perf_counter()
    files = shard_files(source)
    lengths, counts = _lengths(files, progress)
    pack_of = assign(lengths, options)
    over = np.flatnonzero(lengths > options.capacity)
    n_rows = int(pack_of.max()) + 1 if len(pack_of) and pack_of.max() >= 0 else 0
    n_shards = -(-n_rows // options.shard_rows)
    per_bucket = max(1, -(-n_shards // BUCKETS))

    if output.exists():
        for old in [*output.glob("shard-*.parquet"), *output.glob(".pack-*")]:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    output.mkdir(parents=True, exist_ok=True)
    identity = {
        "kind": "pack",
        "mmtok_version": __version__,
        "source": {"path": str(source.resolve()), "rows": len(lengths)},
        "profile": manifest.get("profile"),
        "options": asdict(options),
    }
    write_manifest(output, {**identity, "complete": False})
    tmp = output / f".pack-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        buckets = _distribute(files, pack_of, options.shard_rows, per_bucket, tmp, progress)
        shards, fill = _write(buckets, output, n_rows, options, progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    tokens = int(lengths[pack_of >= 0].sum())
    result = {
        **identity,
        "complete": True,
        "rows": n_rows,
        "samples": int(np.sum(pack_of >= 0)),
        "tokens": tokens,
        "padding": sum(s["padding"] for s in shards),
        "efficiency": round(tokens / (n_rows * options.context), 4) if n_rows else 0.0,
        "lower_bound_rows": lower_bound(lengths[pack_of >= 0], options.capacity),
        "histogram": _histogram(fill),
        "skipped": {
            "errors": int(np.sum(lengths < 0)),
            "empty": int(np.sum(lengths == 0)),
            "too_long": len(over),
        },
        "too_long": _too_long(files, counts, over),
        "shards": shards,
        "seconds": round(time.perf_counter() - start_time, 3),
    }
    write_manifest(output, result)
    return result
