"""Benchmark corpora generated on the fly (nothing large is committed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def photo_like(width: int, height: int, seed: int) -> Image.Image:
    """A smooth, photo-like image (gradients + low-frequency noise): JPEG-sized realistically."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(height // 64, 2), max(width // 64, 2), 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    noise = rng.integers(-12, 13, (height, width, 3))
    return Image.fromarray(
        np.clip(np.asarray(img, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    )


def jpeg_corpus(folder: Path, n: int, lo: int = 200, hi: int = 4000, seed: int = 0) -> list[Path]:
    """``n`` JPEGs with sides drawn uniformly in [lo, hi] px, reused if already written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        w, h = (int(v) for v in rng.integers(lo, hi + 1, size=2))
        path = folder / f"{i:05d}_{w}x{h}.jpg"
        if not path.exists():
            photo_like(w, h, seed + i).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths
