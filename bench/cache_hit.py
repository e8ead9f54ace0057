"""Claim: on a repeated image, a cache hit costs under 5% of a miss; the key's own cost
(hashing a 5 MB file) is small against decoding that file.

Usage: .venv/bin/python -m bench.cache_hit [--runs 9] [--hit-runs 5] [--threads N]

The encoder is a randomly initialised ViT of CLIP-B/16 size (12 layers, width 768, 224 px
in patches of 16: 196 tokens), saved with ``save_pretrained`` and loaded through
``mmtok.compress.tower.load_vision_tower``; preprocessing is LLaVA-1.5's (shortest side to 224,
centre crop). The image is a 4000×3000 photo-like JPEG of about 5 MB. Timed paths, all
through :func:`mmtok.cache.encode_media` on the same file:

- **uncached**: no cache (hash, decode, preprocess, tower);
- **miss**: an empty disk cache each run (the above plus storing the entry, fsync included);
- **hit (memory)**: a warm cache (hash the file, look up, copy the tensors out);
- **hit (disk)**: a new cache object each run with no memory tier (what another process
  sees: hash, read and checksum the entry file).

Outputs are checked bit-identical before timing. Paths are timed round-robin (so load from
other processes falls on all of them alike); medians.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import transformers

from bench.corpus import photo_like
from mmtok.cache import Cache, CacheConfig, TierLimits, content_digest, encode_media
from mmtok.compress.tower import VisionTower, load_vision_tower
from mmtok.image.decode import decode_image
from mmtok.profiles import Profile, get_profile


def interleaved_medians(
    paths: dict[str, Callable[[], object]], rounds: int, repeat: dict[str, int]
) -> dict[str, float]:
    """Median seconds per call of each path, timed round-robin (``repeat[name]`` calls per
    round) so load from other processes falls on every path alike."""
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, fn in paths.items():
            for _ in range(repeat.get(name, 1)):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def clip_b16(folder: Path) -> tuple[VisionTower, Profile]:
    torch.manual_seed(0)
    config = transformers.CLIPVisionConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=224,
        patch_size=16,
    )
    transformers.CLIPVisionModel(config).save_pretrained(folder)
    transformers.CLIPImageProcessorPil(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}
    ).save_pretrained(folder)
    # The LLaVA-1.5 profile the folder gives; its patch size is the tower's, 16.
    return load_vision_tower(folder), get_profile(folder).with_options(patch_size=16)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9, help="rounds (one call of each slow path)")
    ap.add_argument("--hit-runs", type=int, default=5, help="calls of each fast path a round")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    work = Path(tempfile.mkdtemp(prefix="mmtok-bench-cache-"))
    try:
        tower, profile = clip_b16(work / "tower")
        image = work / "photo.jpg"
        photo_like(4000, 3000, seed=0).save(image, "JPEG", quality=94)
        size_mb = image.stat().st_size / 1e6
        params = sum(p.numel() for p in tower.model.parameters()) / 1e6
        print(f"tower: {params:.1f} M parameters; image: 4000×3000 JPEG, {size_mb:.2f} MB")
        print(f"torch threads: {torch.get_num_threads()}")

        warm = Cache.at(work / "warm")
        computed = encode_media(image, profile, tower, cache=warm)
        hit = encode_media(image, profile, tower, cache=warm)
        assert hit.cached and torch.equal(hit.features, computed.features)
        print(f"features: {tuple(computed.features.shape)}")

        def disk_only() -> Cache:
            none = TierLimits(max_bytes=1)
            return Cache(CacheConfig(directory=work / "warm", memory=none))

        got = encode_media(image, profile, tower, cache=disk_only())
        assert got.cached and torch.equal(got.features, computed.features)

        empties = iter(range(10**6))

        def miss() -> None:
            fresh = Cache.at(work / f"empty-{next(empties)}")
            assert not encode_media(image, profile, tower, cache=fresh).cached

        paths = {
            "uncached": lambda: encode_media(image, profile, tower),
            "miss": miss,
            "hit (memory)": lambda: encode_media(image, profile, tower, cache=warm),
            "hit (disk)": lambda: encode_media(image, profile, tower, cache=disk_only()),
            "hash": lambda: content_digest(image),
            "decode": lambda: decode_image(image),
        }
        fast = {"hit (memory)": args.hit_runs, "hit (disk)": args.hit_runs, "hash": args.hit_runs}
        rows = interleaved_medians(paths, args.runs, fast)
        hash_s, decode_s = rows.pop("hash"), rows.pop("decode")

        print("\npath            median ms   vs miss")
        for name, seconds in rows.items():
            print(f"{name:<15} {seconds * 1e3:9.2f}   {seconds / rows['miss']:7.2%}")
        print(f"\nhash {size_mb:.1f} MB (SHA-256): {hash_s * 1e3:.2f} ms")
        print(f"decode (Pillow):     {decode_s * 1e3:.2f} ms")
        print(f"hash / decode:       {hash_s / decode_s:.2%}")
        verdict = "meets" if rows["hit (memory)"] / rows["miss"] < 0.05 else "MISSES"
        print(f"\nhit (memory) / miss = {rows['hit (memory)'] / rows['miss']:.2%}: {verdict} < 5%")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
