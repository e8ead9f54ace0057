"""Claim: full Qwen2-VL preprocessing is ≥ 2× faster than transformers'
``Qwen2VLImageProcessorPil`` at pixel parity, and within 1.5× of the floor (Pillow decode +
resize alone).

Usage: .venv/bin/python bench/preprocess_speed.py [--n 60] [--runs 5]

All three paths start from the same JPEG files and run single-threaded, one image at a time
(``preprocess_images`` can also spread a batch over threads; that is reported separately).
Medians of ``--runs`` passes; outputs are checked equal (≤ 1e-5) before timing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from bench.corpus import jpeg_corpus
from mmtok.image.decode import decode_image
from mmtok.image.pixels import preprocess_image, preprocess_images
from mmtok.profiles import get_profile


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mmtok-bench-pre")
    ap.add_argument("--lo", type=int, default=300, help="smallest side, px")
    ap.add_argument("--hi", type=int, default=2000, help="largest side, px")
    args = ap.parse_args()
    paths = jpeg_corpus(args.dir, args.n, lo=args.lo, hi=args.hi, seed=7)
    profile = get_profile("qwen2-vl")
    proc = Qwen2VLImageProcessorPil()

    def peer():
        return [proc(images=[decode_image(p)], return_tensors="np")["pixel_values"] for p in paths]

    def ours():
        return [preprocess_image(p, profile).pixel_values for p in paths]

    def floor():
        for p in paths:
            img = decode_image(p)
            plan = profile.plan_image(img.height, img.width)
            img.resize(plan.resized[::-1], Image.Resampling.BICUBIC)

    def ours_threads():
        return preprocess_images(paths, profile, workers=2)

    def floor_one(p):
        img = decode_image(p)
        plan = profile.plan_image(img.height, img.width)
        return img.resize(plan.resized[::-1], Image.Resampling.BICUBIC)

    def floor_threads():
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(floor_one, paths))

    for a, b in zip(peer()[:10], ours()[:10], strict=False):
        assert np.abs(a - b).max() <= 1e-5
    t_peer = _median_time(peer, args.runs)
    t_ours = _median_time(ours, args.runs)
    t_floor = _median_time(floor, args.runs)
    t_thr = _median_time(ours_threads, args.runs)
    t_floor_thr = _median_time(floor_threads, args.runs)
    n = len(paths)
    print(
        f"{n} JPEGs, sides {args.lo}–{args.hi} px, qwen2-vl (ms per image, median of {args.runs})"
    )
    print(f"transformers Qwen2VLImageProcessorPil : {t_peer / n * 1e3:7.2f}")
    print(f"mmtok preprocess_image                : {t_ours / n * 1e3:7.2f}")
    print(f"floor: decode + resize only           : {t_floor / n * 1e3:7.2f}")
    print(f"mmtok preprocess_images, 2 threads    : {t_thr / n * 1e3:7.2f}")
    print(f"floor, 2 threads                      : {t_floor_thr / n * 1e3:7.2f}")
    print(f"speed-up vs transformers              : {t_peer / t_ours:.2f}×")
    print(f"mmtok / floor                         : {t_ours / t_floor:.2f}×")
    print(f"batch, 2 threads: vs transformers     : {t_peer / t_thr:.2f}×")
    print(f"batch, 2 threads: mmtok / floor       : {t_thr / t_floor_thr:.2f}×")


if __name__ == "__main__":
    main()
