"""Resize policies: from an image's (height, width) to the size its vision tower sees.

Pure integer arithmetic, no pixels: counting tokens from a header uses exactly these
functions, and preprocessing resizes to exactly what they return. Every rule follows the
reference implementation of its family, including its rounding (Python's round-half-even
where the reference uses ``round``, ``int`` truncation where it truncates).
"""

from __future__ import annotations

import math


def smart_resize(
    height: int,
    width: int,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    frames: int = 1,
    temporal_factor: int = 1,
    upscale: bool = False,
) -> tuple[int, int]:
    """Qwen2-VL's dynamic resolution: both sides a multiple of ``factor``, area in bounds.

    Rounds each side to the nearest multiple of ``factor``; if the area then exceeds
    ``max_pixels`` (or falls below ``min_pixels``) both sides are scaled by the same factor and
    floored (ceiled) to multiples, keeping the aspect ratio as closely as the grid allows.
    Returns ``(height, width)`` in pixels. Callers check the aspect-ratio limit first.

    The clip form (Qwen3-VL and GLM-4V video, GLM-4V images as two frames): the limits bound
    ``t̄ · h̄ · w̄`` over ``frames`` frames, ``t̄`` = frames rounded to a multiple of
    ``temporal_factor``; with ``upscale`` a side below ``factor`` first scales both sides up
    (truncated) so the shorter one reaches it.
    """
    if upscale and (height < factor or width < factor):
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def max_side_resize(
    height: int, width: int, *, max_image_size: int, factor: int
) -> tuple[int, int]:
    """Pixtral's rule: shrink so the longer side is at most ``max_image_size``, then round each
    side *up* to a multiple of ``factor`` (patch size × spatial merge). Never upscales.

    Returns ``(height, width)`` in pixels; the token grid is that divided by ``factor``.
    """
    ratio = max(height / max_image_size, width / max_image_size)
    h: float = height
    w: float = width
    if ratio > 1:
        # An extreme aspect ratio would otherwise round the shorter side to 0 pixels.
        w = max(round(width / ratio), 1)
        h = max(round(height / ratio), 1)
    rows = (int(h) - 1) // factor + 1
    cols = (int(w) - 1) // factor + 1
    return rows * factor, cols * factor


def shortest_edge_size(height: int, width: int, shortest_edge: int) -> tuple[int, int]:
    """Resize so the shorter side is ``shortest_edge``, the longer one scaled and truncated.

    The torchvision/CLIP convention LLaVA uses before its center crop. Returns ``(h, w)``.
    """
    if (height <= width and height == shortest_edge) or (
        width <= height and width == shortest_edge
    ):
        return height, width
    if width < height:
        return int(shortest_edge * height / width), shortest_edge
    return shortest_edge, int(shortest_edge * width / height)


def center_crop_box(height: int, width: int, crop_h: int, crop_w: int) -> tuple[int, int]:
    """Top-left corner ``(top, left)`` of a centered ``crop_h × crop_w`` crop (may be negative:
    the crop is then larger than the image and the outside is zero-padded)."""
    top = (height - crop_h) // 2
    left = (width - crop_w) // 2
    return top, left


def select_best_resolution(
    height: int, width: int, pinpoints: tuple[tuple[int, int], ...]
) -> tuple[int, int]:
    """LLaVA-NeXT: the canvas ``(h, w)`` among ``pinpoints`` that keeps the most of the image's
    resolution after an aspect-preserving fit, ties broken by the least wasted area."""
    best = pinpoints[0]
    max_effective = 0
    min_wasted = math.inf
    for cand_h, cand_w in pinpoints:
        scale = min(cand_w / width, cand_h / height)
        down_w, down_h = int(width * scale), int(height * scale)
        effective = min(down_w * down_h, width * height)
        wasted = cand_w * cand_h - effective
        if effective > max_effective or (effective == max_effective and wasted < min_wasted):
            max_effective, min_wasted, best = effective, wasted, (cand_h, cand_w)
    return best


def fit_within(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int]:
    """Aspect-preserving size that fits ``target_h × target_w`` touching one side (ceil on the
    other), as LLaVA-NeXT resizes an image onto its best canvas before padding. ``(h, w)``."""
    scale_w = target_w / width
    scale_h = target_h / height
    if scale_w < scale_h:
        return min(math.ceil(height * scale_w), target_h), target_w
    return target_h, min(math.ceil(width * scale_h), target_w)


def anyres_feature_grid(
    height: int, width: int, patches_per_side: int, canvas: tuple[int, int], tile: int
) -> tuple[int, int]:
    """LLaVA-NeXT's unpadded feature grid ``(rows, cols)`` for the high-resolution tiles.

    The tiles of ``canvas`` give a ``(canvas_h/tile · p) × (canvas_w/tile · p)`` feature grid
    (``p`` = patches per tile side); the rows or columns that only covered the padding are
    removed, as the processor counts them. Each remaining row ends with a newline token.
    """
    cur_h = patches_per_side * (canvas[0] // tile)
    cur_w = patches_per_side * (canvas[1] // tile)
    if width / height > cur_w / cur_h:
        new_h = int(round(height * (cur_w / width), 7))
        cur_h -= ((cur_h - new_h) // 2) * 2
    else:
        new_w = int(round(width * (cur_h / height), 7))
        cur_w -= ((cur_w - new_w) // 2) * 2
    return cur_h, cur_w


def pan_and_scan_grid(
    height: int, width: int, *, min_crop: int, max_crops: int, min_ratio: float
) -> tuple[int, int, int, int] | None:
    """Gemma 3's pan-and-scan: ``(rows, cols, crop_h, crop_w)`` of the crops cut from an
    image of ``height × width`` pixels, or ``None`` when it takes none.

    Only an image whose long side exceeds ``min_ratio`` × its short side is cut, along the long
    side, into ``round-half-up(ratio)`` crops (at most ``long / min_crop``, between 2 and
    ``max_crops``) of ``ceil(side / crops)`` pixels; none when a crop would be below
    ``min_crop``. Crops start at multiples of the crop size (the last one may be narrower).
    """
    long, short = max(height, width), min(height, width)
    if long / short < min_ratio:
        return None
    crops = min(math.floor(long / short + 0.5), math.floor(long / min_crop))
    crops = min(max_crops, max(2, crops))
    rows, cols = (1, crops) if width >= height else (crops, 1)
    crop_h, crop_w = math.ceil(height / rows), math.ceil(width / cols)
    if min(crop_h, crop_w) < min_crop:
        return None
    return rows, cols, crop_h, crop_w


def tile_canvases(max_tiles: int, tile: int) -> tuple[tuple[int, int], ...]:
    """Llama 4's candidate canvases ``(h, w)`` in pixels: every ``rows × cols`` grid of at most
    ``max_tiles`` tiles, grouped by aspect ratio in the order its image processor lists them
    (the order breaks ties in :func:`best_fit_canvas`)."""
    by_ratio: dict[float, list[tuple[int, int]]] = {}
    for chunks in range(max_tiles, 0, -1):
        for rows in sorted(d for d in range(1, chunks + 1) if chunks % d == 0):
            by_ratio.setdefault(rows / (chunks // rows), []).append((rows, chunks // rows))
    return tuple((r * tile, c * tile) for grids in by_ratio.values() for r, c in grids)


def best_fit_canvas(
    height: int, width: int, canvases: tuple[tuple[int, int], ...], *, to_max: bool = False
) -> tuple[int, int]:
    """Llama 4's canvas ``(h, w)`` for an image: the smallest upscale (``to_max``: the largest)
    that fits without distortion, else the least downscale; ties go to the smallest area.

    Scales are float32, as the reference computes them on int64 tensors.
    """
    import numpy as np

    sizes = np.asarray(canvases, dtype=np.int64)
    scale_h = sizes[:, 0].astype(np.float32) / np.float32(height)
    scale_w = sizes[:, 1].astype(np.float32) / np.float32(width)
    scales = np.where(scale_h > scale_w, scale_w, scale_h)
    up = scales[scales >= 1]
    chosen = (up.max() if to_max else up.min()) if len(up) else scales[scales < 1].max()
    candidates = sizes[scales == chosen]
    best = candidates[np.argmin(candidates[:, 0] * candidates[:, 1])]
    return int(best[0]), int(best[1])


def fit_no_distortion(height: int, width: int, target_h: int, target_w: int) -> tuple[int, int]:
    """The largest aspect-preserving size within ``target_h × target_w`` touching one side
    (floor on the other, at least 1 pixel), as Llama 4 resizes before padding. ``(h, w)``."""
    scale_w, scale_h = target_w / width, target_h / height
    if scale_w < scale_h:
        h, w = min(math.floor(height * scale_w), target_h), target_w
    else:
        h, w = target_h, min(math.floor(width * scale_h), target_w)
    return max(h, 1), max(w, 1)


def anyres_max_cap(rows: int, cols: int, patches_per_side: int, max_tiles: int) -> tuple[int, int]:
    """LLaVA-OneVision's ``anyres_max_N`` cap on the unpadded feature grid ``(rows, cols)``:
    beyond 1.1 × the features of ``max_tiles`` tiles, both sides shrink by the same ratio."""
    ratio = math.sqrt(rows * cols / (max_tiles * patches_per_side**2))
    if ratio > 1.1:
        return int(rows // ratio), int(cols // ratio)
    return rows, cols


def closest_tile_grid(
    height: int, width: int, *, tile: int, min_tiles: int, max_tiles: int
) -> tuple[int, int]:
    """InternVL's dynamic tiling: ``(rows, cols)`` of ``tile²`` tiles whose ``cols / rows`` is
    closest to the image's ``width / height``, among grids of ``min_tiles…max_tiles`` tiles
    (fewest tiles first); a tie goes to the larger grid while the image's area exceeds half of
    the grid's, as ``get_optimal_tiled_canvas`` breaks it."""
    grids = sorted(
        ((c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
         if min_tiles <= c * r <= max_tiles),
        key=lambda g: g[0] * g[1],
    )  # fmt: skip
    aspect, area = width / height, width * height
    best_diff, best = math.inf, (1, 1)
    for cols, rows in grids:
        diff = abs(aspect - cols / rows)
        if diff < best_diff:
            best_diff, best = diff, (cols, rows)
        elif diff == best_diff and area > 0.5 * tile * tile * cols * rows:
            best = (cols, rows)
    return best[1], best[0]


def longest_edge_to(
    height: int, width: int, *, longest_edge: int, max_side: int = 4096
) -> tuple[int, int]:
    """Idefics3 / SmolVLM's first resize ``(h, w)``: the longest side to ``longest_edge`` (up
    or down), the other truncated and made even, then both shrunk (truncated) so none exceeds
    ``max_side``; at least 1 pixel each."""
    aspect = width / height
    if width >= height:
        width = longest_edge
        height = int(width / aspect)
        height += height % 2
    else:
        height = longest_edge
        width = int(height * aspect)
        width += width % 2
    height, width = max(height, 1), max(width, 1)
    aspect = width / height
    if width >= height and width > max_side:
        width, height = max_side, int(max_side / aspect)
    elif height > width and height > max_side:
        height, width = max_side, int(max_side * aspect)
    return max(height, 1), max(width, 1)


def split_canvas(height: int, width: int, tile: int) -> tuple[int, int]:
    """Idefics3 / SmolVLM's ``resize_for_vision_encoder``: ``(h, w)`` rounded up to multiples
    of ``tile``, the shorter side first re-derived (truncated) from the longer one's new length.
    The short side can reach 0 for an extreme ratio (the reference then fails to resize)."""
    aspect = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = math.ceil(int(width / aspect) / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = math.ceil(int(height * aspect) / tile) * tile
    return height, width
