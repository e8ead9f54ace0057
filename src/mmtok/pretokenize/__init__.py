"""Batch pretokenization: a dataset of requests → Parquet shards of ids, positions and grids
(or lengths alone), from headers, on local processes or on Ray Data, resumable shard by shard;
then packing into fixed-length training sequences (:mod:`.pack`, ``pack.pack``) and reading
packed rows as model inputs (:mod:`.read`)."""

from __future__ import annotations

from mmtok.pretokenize.binpack import first_fit_decreasing
from mmtok.pretokenize.engines import ENGINES, Job, check_engine, run_shard
from mmtok.pretokenize.pack import PACKED_SCHEMA, PackOptions
from mmtok.pretokenize.read import packed_inputs, read_packed
from mmtok.pretokenize.rows import FULL_SCHEMA, LENGTHS_SCHEMA, RowOptions, build_row, process_batch
from mmtok.pretokenize.run import Finished, Run, execute, prepare, pretokenize
from mmtok.pretokenize.shards import MANIFEST, Layout, Shard, ShardResult, layout, read_output
from mmtok.pretokenize.source import Cursor, Slice, SourceRow, input_files, read_slice
from mmtok.pretokenize.summary import Summary, plot_lengths, summarize

__all__ = [
    "ENGINES",
    "FULL_SCHEMA",
    "LENGTHS_SCHEMA",
    "MANIFEST",
    "PACKED_SCHEMA",
    "Cursor",
    "Finished",
    "Job",
    "Layout",
    "PackOptions",
    "RowOptions",
    "Run",
    "Shard",
    "ShardResult",
    "Slice",
    "SourceRow",
    "Summary",
    "build_row",
    "check_engine",
    "execute",
    "first_fit_decreasing",
    "input_files",
    "layout",
    "packed_inputs",
    "plot_lengths",
    "prepare",
    "pretokenize",
    "process_batch",
    "read_output",
    "read_packed",
    "read_slice",
    "run_shard",
    "summarize",
]
