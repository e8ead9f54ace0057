"""Engines: run the pending shards on local processes (default) or on Ray Data.

The unit of work is a shard. Both engines call the same :func:`run_shard` — read the shard's
input slices, run the per-batch function, write the shard file atomically — so they write
byte-identical files, and only small per-shard totals travel back to the driver.

Ray: the dataset is one item per pending shard (one block each), and ``map_batches`` runs
:func:`run_shard` on it, on any node of the cluster. Each task writes its own shard with
pyarrow rather than handing rows to ``Dataset.write_parquet``: Ray's writer chooses its own
file names and row-to-file split, which would break resume (a shard is complete or missing)
and the identical layout the two engines promise. A task that Ray retries rewrites the same
shard, which the atomic rename makes harmless. Input and output paths must be on storage
every node sees.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

from mmtok.errors import ConfigError
from mmtok.pretokenize.rows import RowOptions, process_batch
from mmtok.pretokenize.shards import Shard, ShardResult, totals, write_shard
from mmtok.pretokenize.source import read_slice


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides its shard: where to write, how to build rows."""

    output: str
    options: RowOptions


OnShard = Callable[[ShardResult], None]


def run_shard(shard: Shard, job: Job) -> ShardResult:
    """Read, tokenize and write one shard (what every engine runs on every worker)."""
    rows = [row for piece in shard.slices for row in read_slice(piece)]
    table = process_batch(rows, job.options)
    write_shard(Path(job.output), shard, table)
    return totals(shard.index, table)


def _context() -> Any:
    """Worker processes forked from a preloaded server: mmtok (and torch) are imported once,
    and no thread of the driver (the progress bar's) is copied into a child mid-lock."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["mmtok.pretokenize.engines"])
    return ctx


def run_local(shards: Sequence[Shard], job: Job, workers: int, on_shard: OnShard) -> None:
    """Run ``shards`` on ``workers`` local processes (in this process when one is enough)."""
    if workers <= 1 or len(shards) <= 1:
        for shard in shards:
            on_shard(run_shard(shard, job))
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=_context())
    try:
        futures = [pool.submit(run_shard, shard, job) for shard in shards]
        for future in as_completed(futures):
            on_shard(future.result())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # stopped early: finish running shards only


def import_ray() -> ModuleType:
    """The ``ray`` module with Ray Data, or a :class:`ConfigError` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(
            "the ray engine needs Ray Data, an optional extra: pip install 'mmtok[ray]'"
        ) from None
    return ray


def _ray_batch(batch: dict[str, Any], shards: dict[int, Shard], job: Job) -> dict[str, list]:
    """``map_batches`` adapter: shard indices in, their :class:`ShardResult` columns out."""
    results = [run_shard(shards[int(k)], job) for k in batch["shard"]]
    return {f.name: [getattr(r, f.name) for r in results] for f in fields(ShardResult)}


def run_ray(
    shards: Sequence[Shard],
    job: Job,
    workers: int | None,
    address: str | None,
    on_shard: OnShard,
) -> None:
    """Run ``shards`` with Ray Data: on the cluster at ``address``, on the instance this
    process already joined, or on a local instance started here (``workers`` CPUs, all when
    ``None``) and shut down after."""
    ray = import_ray()
    started = not ray.is_initialized()
    if started:
        local = {"num_cpus": workers, "include_dashboard": False} if address is None else {}
        ray.init(address=address, logging_level=logging.WARNING, **local)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # the CLI draws its own
        context.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "disabled"
        if not shards:
            return
        ds = ray.data.from_items(
            [{"shard": s.index} for s in shards], override_num_blocks=len(shards)
        )
        ds = ds.map_batches(
            _ray_batch,
            batch_size=1,
            fn_kwargs={"shards": {s.index: s for s in shards}, "job": job},
            compute=ray.data.TaskPoolStrategy(size=workers) if workers else None,
        )
        for row in ds.iter_rows():
            on_shard(ShardResult(**{f.name: int(row[f.name]) for f in fields(ShardResult)}))
    finally:
        if started:
            ray.shutdown()
