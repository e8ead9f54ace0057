"""Resize policies: from an image's (height, width) to the size its vision tower sees.

Pure integer arithmetic, no pixels: counting tokens from a header uses exactly these
functions, and preprocessing resizes to exactly what they return. Every rule follows the
reference implementation of its family, including its rounding (Python's round-half-even
where the reference uses ``round``, ``int`` truncation where it truncates).
"""

from __future__ import annotations

import math


def smart_resize(
    height: int, width: int, *, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """Qwen2-VL's dynamic resolution: both sides a multiple of ``factor``, area in bounds.

    Rounds each side to the nearest multiple of ``factor``; if the area then exceeds
    ``max_pixels`` (or falls below ``min_pixels``) both sides are scaled by the same factor and
    floored (ceiled) to multiples, keeping the aspect ratio as closely as the grid allows.
    Returns ``(height, width)`` in pixels. Callers check the aspect-ratio limit first.
    """
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
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
