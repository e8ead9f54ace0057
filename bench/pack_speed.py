"""Claims: ``mmtok pack`` fills ≥ 97% of every packed row on a realistic length mix, and
packs faster than the pretokenize run that produced its input (so packing never limits the
pipeline).

Usage: .venv/bin/python -m bench.pack_speed [--samples 200000] [--context 8192] [--runs 3]

Input: a synthetic pretokenized folder written directly (no media): ``--samples`` rows in
shards of 1000 whose lengths mix chat and captions (log-normal, median ≈ 660 tokens) with a
tail of long image/video samples (2k–8k), each row carrying real-sized ids, 3-row M-RoPE
positions and a grid. The packer's floor is first-fit decreasing alone on the same lengths;
"rows/s" counts input samples. Efficiency = tokens / (packed rows × context); the lower
bound is ⌈Σ lengths / context⌉ rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from mmtok.pretokenize.binpack import first_fit_decreasing, lower_bound
from mmtok.pretokenize.pack import PackOptions, pack
from mmtok.pretokenize.rows import FULL_SCHEMA, to_table
from mmtok.pretokenize.shards import MANIFEST, shard_name, write_table


def mix(n: int, context: int, seed: int = 0) -> np.ndarray:
    """``n`` sample lengths: 95% log-normal chat/caption, 5% long media samples."""
    rng = np.random.default_rng(seed)
    long = rng.random(n) < 0.05
    lengths = np.where(long, rng.uniform(2_000, context, n), rng.lognormal(6.5, 0.9, n))
    return np.clip(lengths.astype(np.int64), 1, context)


def write_folder(folder: Path, lengths: np.ndarray, shard_rows: int = 1000) -> None:
    """A pretokenize output folder holding rows of the given lengths."""
    folder.mkdir(parents=True)
    for k, start in enumerate(range(0, len(lengths), shard_rows)):
        part = lengths[start : start + shard_rows]
        rows = [
            {
                "id": f"s{start + i}",
                "num_tokens": int(n),
                "input_ids": np.arange(n) % 1000,
                "position_ids": np.tile(np.arange(n), (3, 1)),
                "modality_ids": np.zeros(n),
                "image_grid_thw": np.array([[1, 8, 16]]),
                "video_grid_thw": np.zeros((0, 3)),
                "fitted": False,
                "error": None,
            }
            for i, n in enumerate(part)
        ]
        write_table(folder / shard_name(k), to_table(rows, FULL_SCHEMA))
    manifest = {"kind": "pretokenize", "complete": True, "profile": "qwen2-vl"}
    manifest["options"] = {"lengths_only": False}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--context", type=int, default=8192)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mmtok-bench-pack")
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    lengths = mix(args.samples, args.context)
    source = args.dir / "pretokenized"
    write_folder(source, lengths)

    ffd = []
    for _ in range(args.runs):
        start = time.perf_counter()
        bins = first_fit_decreasing(lengths, args.context)
        ffd.append(time.perf_counter() - start)
    runs, manifest = [], {}
    for _ in range(args.runs):
        shutil.rmtree(args.dir / "packed", ignore_errors=True)
        start = time.perf_counter()
        manifest = pack(source, args.dir / "packed", PackOptions(context=args.context))
        runs.append(time.perf_counter() - start)
    seconds, floor = statistics.median(runs), statistics.median(ffd)
    print(
        f"{args.samples:,} samples, {int(lengths.sum()):,} tokens (median "
        f"{int(np.median(lengths))}, max {int(lengths.max())}), context {args.context:,}; "
        f"medians of {args.runs} runs"
    )
    print(
        f"first-fit decreasing alone: {floor:6.2f} s  {args.samples / floor:10,.0f} samples/s  "
        f"{int(bins.max()) + 1:,} rows"
    )
    print(
        f"mmtok pack (read, route, write): {seconds:6.2f} s  {args.samples / seconds:10,.0f} "
        f"samples/s  {manifest['rows']:,} rows"
    )
    print(
        f"efficiency {manifest['efficiency']:.2%} (target ≥ 97%); lower bound "
        f"{lower_bound(lengths, args.context):,} rows"
    )


if __name__ == "__main__":
    main()
