"""Claims: ``mmtok pretokenize --lengths-only`` is ≥ 100× faster than a loop calling
transformers' Qwen2-VL image processor on the same requests; full rows (ids, positions,
grids, from headers) take ≤ 1.5× the time of ``--lengths-only`` on every engine (1 and 2 local
workers, Ray on the same CPUs).

Usage: .venv/bin/python -m bench.pretokenize_speed [--n 2000] [--full-n 2000] [--runs 3]
       [--peer-n 100] [--shard-rows 250] [--full-shard-rows 250] [--no-ray]

Requests: ``--n`` prompts of 1–4 JPEGs each (drawn from a pool of 300, sides 200–1500 px)
and 5–60 words of text, in one JSONL file. Each mmtok figure is the median of ``--runs``
end-to-end ``pretokenize()`` calls into a fresh folder (read, tokenize, write Parquet,
manifest), after one untimed warm-up call per engine (it starts the local forkserver and the
Ray workers; Ray itself is started once, untimed). Full rows run on the first ``--full-n``
requests (all by default; nothing is decoded, as for ``--lengths-only``). Every run pays its own
worker start-up (the local pool is new each run; Ray's workers stay warm): "start s" is the
median of 16-row runs and "steady" the rate once started, (n − 16) / (run − start). The peer
opens, decodes and processes every image of the first ``--peer-n`` requests
(``Qwen2VLImageProcessorPil``; count = its grid), median of 3 passes. Ratios are rows/s over
the peer's rows/s. The full rows' grids are checked equal to the peer's first.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from bench.corpus import jpeg_corpus
from mmtok.pretokenize import RowOptions, pretokenize, read_output

WORDS = np.array(
    [
        "the",
        "a",
        "photo",
        "of",
        "two",
        "cats",
        "dog",
        "on",
        "red",
        "blue",
        "table",
        "compare",
        "these",
        "images",
    ]
)


def write_requests(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` prompt requests of 1–4 images (paths relative to the JSONL) and some text."""
    images = jpeg_corpus(folder / "images", 300, lo=200, hi=1500, seed=seed)
    rng = np.random.default_rng(seed)
    lines = []
    for i in range(n):
        k = int(rng.integers(1, 5))
        text = " ".join(rng.choice(WORDS, int(rng.integers(5, 61))))
        media = [
            {"type": "image", "path": f"images/{images[j].name}"} for j in rng.integers(0, 300, k)
        ]
        lines.append(
            json.dumps({"id": f"s{i}", "prompt": f"{text} " + "<image>" * k, "media": media})
        )
    path = folder / f"requests-{n}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def head(path: Path, n: int) -> Path:
    """The first ``n`` lines of a JSONL file, beside it (same media folder)."""
    out = path.with_name(f"{path.stem}-head{n}.jsonl")
    out.write_text("".join(path.read_text().splitlines(keepends=True)[:n]))
    return out


def peer_grids(path: Path, n: int, proc: object) -> list[list[list[int]]]:
    """The reference: decode and process every image of the first ``n`` requests."""
    out = []
    for line in path.read_text().splitlines()[:n]:
        grids = []
        for item in json.loads(line)["media"]:
            with Image.open(path.parent / item["path"]) as im:
                grid = proc(images=[im.convert("RGB")], return_tensors="np")["image_grid_thw"][0]
            grids.append([int(v) for v in grid])
        out.append(grids)
    return out


def timed_run(source: Path, out: Path, options: RowOptions, **engine) -> float:
    """Seconds of one end-to-end run into a fresh folder."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    pretokenize(source, out, options, **engine)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--full-n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-n", type=int, default=100)
    ap.add_argument("--shard-rows", type=int, default=250)
    ap.add_argument("--full-shard-rows", type=int, default=250)
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "mmtok-bench-pretok")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # the fallback tokenizer: text counts approximate
    source = write_requests(args.dir, args.n)
    full_source = head(source, args.full_n) if args.full_n < args.n else source
    # Imported here, not at the top: worker processes re-import this module as their main.
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )

    proc = Qwen2VLImageProcessorPil()

    engines = {"local, 1 worker": {"engine": "local", "workers": 1}}
    engines["local, 2 workers"] = {"engine": "local", "workers": 2}
    if not args.no_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
        engines["ray, local 2 CPUs"] = {"engine": "ray", "workers": 2}
    small = head(source, 16)
    out = args.dir / "out"
    for kw in engines.values():  # untimed: starts the forkserver and the Ray workers
        timed_run(small, out / "warm", RowOptions(), shard_rows=8, **kw)

    # exactness first: the full rows' grids are the processor's
    check = head(source, 10)
    timed_run(check, out / "check", RowOptions(), workers=1)
    ours = read_output(out / "check").column("image_grid_thw").to_pylist()
    assert ours == peer_grids(check, 10, proc), "grids differ from the reference processor"

    peer_times = []
    for _ in range(3):
        start = time.perf_counter()
        peer_grids(source, args.peer_n, proc)
        peer_times.append(time.perf_counter() - start)
    peer_rate = args.peer_n / statistics.median(peer_times)

    results = []
    modes = (
        ("lengths-only", source, args.n, args.shard_rows),
        ("full", full_source, args.full_n, args.full_shard_rows),
    )
    for mode, src, n, rows in modes:
        options = RowOptions(lengths_only=mode == "lengths-only")
        for name, kw in engines.items():

            def median(
                path: Path, kw: dict = kw, options: RowOptions = options, rows: int = rows
            ) -> float:
                shard_rows = 8 if path == small else rows
                runs = [
                    timed_run(path, out / "run", options, shard_rows=shard_rows, **kw)
                    for _ in range(args.runs)
                ]
                return statistics.median(runs)

            results.append((mode, name, n, median(src), median(small)))

    print(
        f"requests: {args.n} (1–4 JPEGs of 200–1500 px, 5–60 words); full on the first "
        f"{args.full_n}; medians of {args.runs} runs"
    )
    print(
        f"{'':34} {'run s':>7} {'rows/s':>8} {'× peer':>7} "
        f"{'start s':>8} {'steady':>8} {'× peer':>7}"
    )
    for mode, name, n, seconds, start in results:
        rate, steady = n / seconds, (n - 16) / (seconds - start)
        print(
            f"{mode + ' · ' + name:34} {seconds:7.2f} {rate:8.0f} {rate / peer_rate:6.0f}× "
            f"{start:8.2f} {steady:8.0f} {steady / peer_rate:6.0f}×"
        )
    print(f"{'transformers Qwen2-VL processor':34} {'':7} {peer_rate:8.1f} {1:6.0f}×")
    runs = {(mode, name): seconds / n for mode, name, n, seconds, _ in results}
    for name in engines:
        ratio = runs[("full", name)] / runs[("lengths-only", name)]
        print(f"full ÷ lengths-only time per row, {name}: {ratio:.2f}× (target ≤ 1.5×)")
    print(f"  peer: first {args.peer_n} requests, median of 3 passes")
    print("  start s: a 16-row run (worker start-up + 2 shards); steady: (n − 16) / (run − start)")


if __name__ == "__main__":
    main()
