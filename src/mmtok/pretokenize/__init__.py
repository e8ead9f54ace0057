"""Batch pretokenization: a dataset of requests → Parquet shards of ids, positions and grids
(or lengths alone), on local processes or on Ray Data, resumable shard by shard."""

from __future__ import annotations

from mmtok.pretokenize.engines import Job, run_shard
from mmtok.pretokenize.rows import FULL_SCHEMA, LENGTHS_SCHEMA, RowOptions, build_row, process_batch
from mmtok.pretokenize.run import ENGINES, Finished, Run, execute, prepare, pretokenize
from mmtok.pretokenize.shards import MANIFEST, Layout, Shard, ShardResult, layout, read_output
from mmtok.pretokenize.source import Cursor, Slice, SourceRow, input_files, read_slice
from mmtok.pretokenize.summary import Summary, plot_lengths, summarize

__all__ = [
    "ENGINES",
    "FULL_SCHEMA",
    "LENGTHS_SCHEMA",
    "MANIFEST",
    "Cursor",
    "Finished",
    "Job",
    "Layout",
    "RowOptions",
    "Run",
    "Shard",
    "ShardResult",
    "Slice",
    "SourceRow",
    "Summary",
    "build_row",
    "execute",
    "input_files",
    "layout",
    "plot_lengths",
    "prepare",
    "pretokenize",
    "process_batch",
    "read_output",
    "read_slice",
    "run_shard",
    "summarize",
]
