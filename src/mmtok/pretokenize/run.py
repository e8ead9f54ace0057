"""One pretokenization run: lay out the shards, check a folder being resumed, run an engine,
write the manifest.

The manifest is written twice: when the run starts (what it is: profile, options, input
files, mmtok version; ``complete: false``) and when it ends (plus row, error and token totals
read back from every shard). The first write is what lets a rerun into the same folder check
that it continues the same job before it skips any shard. Every option is checked before the
first write, so a refused command leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from mmtok import __version__
from mmtok.errors import ConfigError
from mmtok.fusion import resolve_tokenizer
from mmtok.pretokenize.engines import Engine, Job, OnShard, check_engine, run_local, run_ray
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

_IDENTITY = ("kind", "mmtok_version", "profile", "options", "input")


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


def differences(old: Any, new: Any, key: str = "") -> list[str]:
    """``key: old → new`` for every leaf that differs between two manifests' parts (lists
    are compared whole, and named by their key alone)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            line
            for k in sorted(old.keys() | new.keys(), key=str)
            for line in differences(old.get(k), new.get(k), f"{key}.{k}" if key else str(k))
        ]
    if old == new:
        return []
    if isinstance(old, list) or isinstance(new, list):
        return [f"{key} changed"]
    return [f"{key}: {json.dumps(old)} → {json.dumps(new)}"]


def _resume_check(output: Path, identity: dict[str, Any]) -> None:
    """Refuse to mix two different jobs in one folder (a rerun must be the same job), naming
    what differs."""
    if not output.exists():
        return
    if not output.is_dir():
        raise ConfigError(f"{output}: not a folder")
    old = read_manifest(output)
    if old is None:
        if any(output.iterdir()):
            raise ConfigError(f"{output}: not empty and not a pretokenize output (no manifest)")
        return
    changed = differences({k: old.get(k) for k in _IDENTITY}, identity)
    if changed:
        raise ConfigError(
            f"{output} holds a run with different options ({'; '.join(changed)}); "
            "rerun with the same options to resume, or write to a new folder"
        )


def prepare(
    source: Path,
    output: Path,
    options: RowOptions = RowOptions(),
    *,
    shard_rows: int = 1000,
    engine: Engine = "local",
    workers: int | None = None,
) -> Run:
    """Check everything that can be checked before work starts (options, ``engine`` and
    ``workers`` included, before anything is written), lay out the shards, and find the ones
    a previous run into ``output`` already wrote. Warnings (a fallback tokenizer) are raised
    here, once, not by every worker."""
    options.check()
    check_engine(engine, workers)
    options = _absolute(options)
    profile = get_profile(options.profile)
    resolve_tokenizer(profile, options.tokenizer)
    files = input_files(source)
    if source.is_dir() and output.resolve() == source.resolve():
        raise ConfigError(f"{output}: the output folder cannot be the input folder")
    plan = layout(files, shard_rows, prefixed=source.is_dir())
    identity = {
        "kind": "pretokenize",
        "mmtok_version": __version__,
        "profile": profile.name,
        "options": {**asdict(options), "shard_rows": shard_rows},
        "input": {"path": str(source.resolve()), "files": [asdict(f) for f in plan.files]},
    }
    _resume_check(output, identity)
    output.mkdir(parents=True, exist_ok=True)
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
    check_engine(engine, workers)
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
    run = prepare(source, output, options, shard_rows=shard_rows, engine=engine, workers=workers)
    return execute(run, engine=engine, workers=workers, ray_address=ray_address, on_shard=on_shard)
