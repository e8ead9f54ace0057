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

import importlib.util
import logging
import multiprocessing as mp
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from mmtok.errors import ConfigError
from mmtok.pretokenize.rows import RowOptions, build_row, process_batch, to_table
from mmtok.pretokenize.shards import Shard, ShardResult, totals, write_shard
from mmtok.pretokenize.source import read_slice

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
_RAY_EXTRA = "the ray engine needs Ray Data, an optional extra: pip install 'mmtok[ray]'"


def check_engine(engine: str, workers: int | None) -> None:
    """Refuse an unknown engine, a worker count below 1, or Ray when it is not installed
    (found without importing it), before a run writes anything (:class:`ConfigError`)."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: expected {' or '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be at least 1")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ConfigError(_RAY_EXTRA)


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


# --- crash isolation: a process that dies in native code (a media decoder) costs its row ---

CRASHED = (
    "internal error: the worker process died while building this row (a crash in native "
    "code, such as a media decoder); the run went on without it"
)


def _helper() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=1, mp_context=_context())


def run_isolated(shard: Shard, job: Job) -> ShardResult:
    """Build ``shard`` row by row in a helper process (reused until it dies), so a row whose
    media kills its process becomes an error row (:data:`CRASHED`) and the others are built
    as :func:`run_shard` builds them."""
    rows = [row for piece in shard.slices for row in read_slice(piece)]
    built = []
    helper = _helper()
    try:
        for row in rows:
            try:
                built.append(helper.submit(build_row, row, job.options).result())
            except BrokenProcessPool:
                built.append({"id": row.id, "error": CRASHED})
                helper.shutdown(wait=False)
                helper = _helper()
    finally:
        helper.shutdown()
    table = to_table(built, job.options.schema)
    write_shard(Path(job.output), shard, table)
    return totals(shard.index, table)


def run_guarded(shard: Shard, job: Job) -> ShardResult:
    """:func:`run_shard` in a helper process of its own; if the helper dies, the shard is
    rebuilt by :func:`run_isolated` (a crash then costs one row, never the run)."""
    with _helper() as helper:
        try:
            return helper.submit(run_shard, shard, job).result()
        except BrokenProcessPool:
            pass
    return run_isolated(shard, job)


def run_local(shards: Sequence[Shard], job: Job, workers: int, on_shard: OnShard) -> None:
    """Run ``shards`` on ``workers`` local processes (one helper process when one is enough:
    never in this process, so a crash in native code cannot end the run).

    A worker that dies breaks the pool and fails every shard not yet done; those shards are
    then run :func:`run_guarded`, ``workers`` at a time, so only the rows that crash are lost
    (as error rows)."""
    if workers <= 1 or len(shards) <= 1:
        for shard in shards:
            on_shard(run_guarded(shard, job))
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=_context())
    broken: list[Shard] = []
    try:
        futures = {pool.submit(run_shard, shard, job): shard for shard in shards}
        for future in as_completed(futures):
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append(futures[future])
                continue
            on_shard(result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # stopped early: finish running shards only
    if broken:
        with ThreadPoolExecutor(max_workers=min(workers, len(broken))) as threads:
            for done in as_completed([threads.submit(run_guarded, s, job) for s in broken]):
                on_shard(done.result())


def import_ray() -> ModuleType:
    """The ``ray`` module with Ray Data, or a :class:`ConfigError` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigError(_RAY_EXTRA) from None
    return ray


def _ray_batch(batch: dict[str, Any], shards: dict[int, Shard], job: Job) -> dict[str, list]:
    """``map_batches`` adapter: shard indices in, their :class:`ShardResult` columns out.
    Each shard runs guarded (:func:`run_guarded`): Ray retries a task whose worker died
    without end, so a crash must never reach the task's own process."""
    results = [run_guarded(shards[int(k)], job) for k in batch["shard"]]
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
