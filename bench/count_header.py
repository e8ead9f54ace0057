"""Claim: header-only counting is ≥ 200× faster than counting with transformers' Qwen2-VL
processor (which must decode every image).

Usage: .venv/bin/python bench/count_header.py [--n 1000] [--peer-n 100] [--runs 5]

Both sides count the same JPEGs (sides 200–4000 px). mmtok's rate is the median of ``--runs``
passes over all files; the peer (open + decode + ``Qwen2VLImageProcessorPil``) is timed on the
first ``--peer-n`` files, median of 3 passes, and compared per file.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from bench.corpus import jpeg_corpus
from mmtok.count import count_file
from mmtok.profiles import get_profile


def _per_file(fn, paths, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for p in paths:
            fn(p)
        times.append((time.perf_counter() - start) / len(paths))
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--peer-n", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mmtok-bench-jpeg")
    args = ap.parse_args()
    paths = jpeg_corpus(args.dir, args.n)
    profile = get_profile("qwen2-vl")
    proc = Qwen2VLImageProcessorPil()

    def ours(p: Path) -> int:
        return count_file(p, profile).tokens or 0

    def peer(p: Path) -> int:
        with Image.open(p) as im:
            grid = proc(images=[im.convert("RGB")], return_tensors="np")["image_grid_thw"][0]
        return int(grid.prod()) // 4

    assert all(ours(p) == peer(p) for p in paths[:20]), "counts differ from the reference"
    t_ours = _per_file(ours, paths, args.runs)
    t_peer = _per_file(peer, paths[: args.peer_n], 3)
    print(f"files: {len(paths)} JPEGs, 200–4000 px sides")
    print(f"mmtok header-only count : {t_ours * 1e6:9.1f} µs/file  ({1 / t_ours:,.0f} files/s)")
    print(f"transformers Qwen2-VL   : {t_peer * 1e6:9.1f} µs/file  ({1 / t_peer:,.1f} files/s)")
    print(f"ratio (peer / mmtok)    : {t_peer / t_ours:,.0f}×")


if __name__ == "__main__":
    main()
