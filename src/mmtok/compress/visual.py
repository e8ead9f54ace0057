"""Seeing what a method kept: patch overlays on the image and quality-vs-tokens charts."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from torch import Tensor

from mmtok.compress.evaluate import EvalRow
from mmtok.compress.tokenset import Grid

PRUNED_GREY = 0.25  # brightness left to a pruned patch, greyscale
TINT = 0.45  # opacity of a merged group's colour


def group_colours(n: int) -> np.ndarray:
    """(n, 3) uint8 distinct colours: hues spaced by the golden ratio, so neighbours differ."""
    hues = (np.arange(n) * 0.618033988749895) % 1.0
    return (np.array([colorsys.hsv_to_rgb(h, 0.85, 1.0) for h in hues]) * 255).astype(np.uint8)


def draw_overlay(image: Image.Image, owner: Tensor, grid: Grid, frame: int = 0) -> Image.Image:
    """Paint one frame's patches over ``image`` (stretched to cover it).

    ``owner`` (T·H·W,) holds each original patch's output token, -1 when pruned: pruned
    patches are greyed out, patches sharing a token get that token's colour and a border,
    patches kept alone stay untouched.
    """
    _, h, w = grid
    ids = owner.reshape(grid)[frame].cpu().numpy()  # (H, W)
    width, height = image.size
    rows = np.arange(height) * h // height
    cols = np.arange(width) * w // width
    pixel_ids = ids[rows[:, None], cols[None, :]]  # (height, width) owner under each pixel
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    kept, counts = np.unique(ids[ids >= 0], return_counts=True)
    shared = np.zeros(int(ids.max(initial=-1)) + 2, dtype=bool)  # index -1 → last slot
    shared[kept[counts > 1]] = True
    colours = group_colours(len(shared)).astype(np.float32)
    tinted = shared[pixel_ids]
    rgb[tinted] = (1 - TINT) * rgb[tinted] + TINT * colours[pixel_ids[tinted]]
    pruned = pixel_ids < 0
    rgb[pruned] = rgb[pruned].mean(axis=-1, keepdims=True) * PRUNED_GREY
    edge = np.zeros_like(pruned)  # outline merged groups where the owner changes
    edge[:-1] |= (pixel_ids[:-1] != pixel_ids[1:]) & (tinted[:-1] | tinted[1:])
    edge[:, :-1] |= (pixel_ids[:, :-1] != pixel_ids[:, 1:]) & (tinted[:, :-1] | tinted[:, 1:])
    rgb[edge] = 0
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8), "RGB")


CHART_FLOOR = -0.1  # lowest quality drawn: explained variance below it is shown at it


def quality_chart(rows: Sequence[EvalRow], path: str | Path, title: str = "") -> None:
    """Plot quality (explained variance) against tokens, one line per method, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    # Explained variance is unbounded below: one method's bad score would squash the others'
    # curves, so scores under the floor are drawn at it, as ▼, and said so in the legend.
    floor = CHART_FLOOR
    for method in dict.fromkeys(row.method for row in rows):
        points = sorted((r.tokens, r.quality) for r in rows if r.method == method)
        x, y = zip(*points, strict=True)
        clipped = [q < floor for q in y]
        label = method + (f" (▼: below {floor:g})" if any(clipped) else "")
        (line,) = ax.plot(x, [max(q, floor) for q in y], marker="o", label=label)
        low = [(t, floor) for t, c in zip(x, clipped, strict=True) if c]
        if low:
            ax.plot(*zip(*low, strict=True), "v", color=line.get_color(), markersize=9)
    ax.set_ylim(floor - 0.02, 1.02)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("tokens")
    ax.set_ylabel("explained variance of patch features")
    ax.set_title(title or "information kept vs tokens")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
