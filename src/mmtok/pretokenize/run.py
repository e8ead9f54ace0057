"""One pretokenization run: lay out the shards, check a folder being resumed, run an engine,
write the manifest.

The manifest is written twice: when the run starts (what it is: profile, options, input
files, mmtok version; ``complete: false``) and when it ends (plus row, error and token totals
read back from every shard). The first write is what lets a rerun into the same folder check
that it continues the same job before it skips any shard.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from mmtok import __version__
from mmtok.errors import ConfigError
from mmtok.fusion.sequence import resolve_tokenizer
from mmtok.pretokenize.engines import Job, OnShard, run_local, run_ray
from mmtok.pretokenize.rows import RowOptions
from mmtok.pretokenize.shards import (
    Layout,
    Shard,
    clear_partial,
    is_complete,
    layout,
    read_manifest,
    write_manifest,
)
from mmtok.pretokenize.source import input_files
from mmtok.pretokenize.summary import Summary, summarize
from mmtok.profiles import get_profile

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
_IDENTITY = ("mmtok_version", "profile", "options", "input")


@dataclass(frozen=True)
class Run:
    """A run ready to start: its shards, the ones still to write, and its identity (the part
    of the manifest a resumed run must match)."""

    output: Path
    options: RowOptions
    layout: Layout
    pending: tuple[Shard, ...]
    identity: dict[str, Any]

    @property
    def pending_rows(self) -> int:
        return sum(s.rows for s in self.pending)


@dataclass(frozen=True)
class Finished:
    """What a run wrote: the totals over all shards and the manifest saved beside them."""

    summary: Summary
    manifest: dict[str, Any]


def default_workers() -> int:
    """The local engine's default: the CPUs this process may run on (a container's share,
    not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _absolute(options: RowOptions) -> RowOptions:
    """Paths in options made absolute: workers (other nodes, too) may start elsewhere."""
    profile = options.profile
    if Path(profile).is_dir():
        profile = str(Path(profile).resolve())
    tokenizer = options.tokenizer and str(Path(options.tokenizer).resolve())
    return replace(options, profile=profile, tokenizer=tokenizer)


def _resume_check(output: Path, identity: dict[str, Any]) -> None:
    """Refuse to mix two different jobs in one folder (a rerun must be the same job)."""
    old = read_manifest(output)
    if old is None:
        if any(output.iterdir()):
            raise ConfigError(f"{output}: not empty and not a pretokenize output (no manifest)")
        return
    changed = [k for k in _IDENTITY if old.get(k) != identity[k]]
    if changed:
        raise ConfigError(
            f"{output} holds a run with different {', '.join(changed)}; "
            "write to a new folder (or delete this one) to start over"
        )


def prepare(
    source: Path, output: Path, options: RowOptions = RowOptions(), *, shard_rows: int = 1000
) -> Run:
    """Check everything that can be checked before work starts, lay out the shards, and find
    the ones a previous run into ``output`` already wrote. Warnings (a fallback tokenizer)
    are raised here, once, not by every worker."""
    options.check()
    options = _absolute(options)
    profile = get_profile(options.profile)
    resolve_tokenizer(profile, options.tokenizer)
    files = input_files(source)
    if source.is_dir() and output.resolve() == source.resolve():
        raise ConfigError(f"{output}: the output folder cannot be the input folder")
    plan = layout(files, shard_rows, prefixed=source.is_dir())
    identity = {
        "mmtok_version": __version__,
        "profile": profile.name,
        "options": {**asdict(options), "shard_rows": shard_rows},
        "input": {"path": str(source.resolve()), "files": [asdict(f) for f in plan.files]},
    }
    output.mkdir(parents=True, exist_ok=True)
    _resume_check(output, identity)
    clear_partial(output)
    write_manifest(output, {**identity, "complete": False})
    pending = tuple(s for s in plan.shards if not is_complete(output, s, options.schema))
    return Run(output, options, plan, pending, identity)


def execute(
    run: Run,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    on_shard: OnShard | None = None,
) -> Finished:
    """Write the pending shards with ``engine``, then the final manifest."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine {engine!r}: expected {' or '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: must be at least 1")
    if engine == "local":
        workers = workers or default_workers()
    job = Job(str(run.output), run.options)
    callback = on_shard or (lambda _: None)
    start = time.perf_counter()
    if engine == "ray":
        run_ray(run.pending, job, workers, ray_address, callback)
    else:
        run_local(run.pending, job, workers, callback)
    seconds = time.perf_counter() - start
    summary = summarize(run.output, run.layout.shards)
    manifest = {
        **run.identity,
        "complete": True,
        **summary.to_json(),
        "run": {
            "engine": engine,
            "workers": workers,
            "shards_written": len(run.pending),
            "shards_skipped": len(run.layout.shards) - len(run.pending),
            "rows_written": run.pending_rows,
            "seconds": round(seconds, 3),
        },
    }
    write_manifest(run.output, manifest)
    return Finished(summary, manifest)


def pretokenize(
    source: Path,
    output: Path,
    options: RowOptions = RowOptions(),
    *,
    shard_rows: int = 1000,
    engine: Engine = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    on_shard: OnShard | None = None,
) -> Finished:
    """Pretokenize every request of ``source`` (a JSONL or Parquet file, or a folder of them)
    into Parquet shards in ``output``, resuming a run that was stopped part-way."""
    run = prepare(source, output, options, shard_rows=shard_rows)
    return execute(run, engine=engine, workers=workers, ray_address=ray_address, on_shard=on_shard)
