"""Token layouts: from a resized image to the number of sequence tokens it becomes.

One small function per layout, chosen by ``Profile.layout``; a new family adds data, and a
function here only when its layout is new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mmtok.errors import UnsupportedMediaError
from mmtok.image import resize as rz
from mmtok.image.policies import AnyRes, ImagePlan, PanScan, SplitGrid, TileCanvas, TileGrid

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile


def _fences(profile: Profile) -> int:
    """How many of the image fences (start, end tokens) the profile has: 0, 1 or 2."""
    return int(profile.tokens.image_start is not None) + int(profile.tokens.image_end is not None)


def _plan_pad(profile: Profile, height: int, width: int) -> ImagePlan:
    """One placeholder per merged patch (Qwen, LLaVA-1.5, generic); fences around it."""
    p, m = profile.patch_size, profile.merge_size
    rh, rw = profile.resize.resized(height, width, p, m)
    gh, gw = rh // p, rw // p
    rows, cols = gh // m, gw // m
    fences = _fences(profile)
    features = rows * cols + profile.num_additional_tokens - int(profile.drop_cls)
    tokens = features
    if profile.tokens.fences_in_count:
        tokens += fences
        fences = 0
    return ImagePlan(
        height, width, (rh, rw), (1, gh, gw), (rows, cols), tokens, fences, feature_tokens=features
    )


def _plan_rows(profile: Profile, height: int, width: int) -> ImagePlan:
    """Pixtral: every row of tokens ends with ``[IMG_BREAK]``, the last with ``[IMG_END]``."""
    p, m = profile.patch_size, profile.merge_size
    rh, rw = profile.resize.resized(height, width, p, m)
    rows, cols = rh // (p * m), rw // (p * m)
    return ImagePlan(
        height,
        width,
        (rh, rw),
        (1, rh // p, rw // p),
        (rows, cols),
        rows * (cols + 1),
        feature_tokens=rows * cols,
    )


def _plan_anyres(profile: Profile, height: int, width: int) -> ImagePlan:
    """LLaVA-NeXT: base view (``n²`` features) plus the unpadded crop features, each of their
    rows closed by a newline token, as ``LlavaNextProcessor`` counts them (every one an
    ``<image>`` placeholder: the newline embedding is a feature too)."""
    policy = profile.resize
    assert isinstance(policy, AnyRes)
    n = policy.tile // profile.patch_size
    canvas = rz.select_best_resolution(height, width, policy.pinpoints)
    rows, cols = rz.anyres_feature_grid(height, width, n, canvas, policy.tile)
    if policy.max_tiles is not None:
        rows, cols = rz.anyres_max_cap(rows, cols, n, policy.max_tiles)
    tiles = (canvas[0] // policy.tile) * (canvas[1] // policy.tile)
    base = n * n + profile.num_additional_tokens - int(profile.drop_cls)
    tokens = base + rows * cols + rows
    return ImagePlan(
        height,
        width,
        (policy.tile, policy.tile),
        (1 + tiles, n, n),
        (rows, cols),
        tokens,
        canvas=canvas,
    )


def _plan_views(profile: Profile, height: int, width: int) -> ImagePlan:
    """Gemma 3: the image (plus its pan-and-scan crops) as fixed-size views, each
    ``<start_of_image>`` + ``(S/p/m)²`` soft tokens + ``<end_of_image>``. The text the
    processor writes around the views (``Profile.view_text``) is text, not counted here."""
    policy = profile.resize
    assert isinstance(policy, PanScan)
    crops = policy.crops(height, width)
    views = 1 + (crops[0] * crops[1] if crops else 0)
    g, side = _view_tokens(profile, policy.size)
    fences = _fences(profile)
    return ImagePlan(
        height,
        width,
        (policy.size, policy.size),
        (views, g, g),
        (side, side),
        views * (side * side + fences),
        feature_tokens=views * side * side,
    )


def _plan_tiles(profile: Profile, height: int, width: int) -> ImagePlan:
    """Llama 4: ``<|image_start|>``, per tile row its tiles' tokens joined by x-separators and
    closed by a y-separator (only with more than one tile), then ``<|image|>``, the global
    view's tokens and ``<|image_end|>``. Each view is ``(S/p)² / m²`` tokens after pixel
    shuffle (``merge_size`` = 2 for the 0.5 ratio)."""
    policy = profile.resize
    assert isinstance(policy, TileCanvas)
    ch, cw = policy.canvas(height, width)
    rows, cols = ch // policy.tile, cw // policy.tile
    g, side = _view_tokens(profile, policy.tile)
    per_view = (g * g) // (profile.merge_size**2)
    tiles = rows * cols
    views = tiles + 1 if tiles > 1 else 1
    separators = rows * cols if tiles > 1 else 0  # (cols - 1) x-separators + 1 y-separator a row
    return ImagePlan(
        height,
        width,
        (policy.tile, policy.tile),
        (views, g, g),
        (side, side),
        views * per_view + separators + 3,  # <|image_start|>, <|image|>, <|image_end|>
        canvas=(ch, cw),
        feature_tokens=views * per_view,
    )


def _view_tokens(profile: Profile, tile: int) -> tuple[int, int]:
    """``(patches per side, tokens per side)`` of one ``tile²`` view after ``merge_size``."""
    g = tile // profile.patch_size
    return g, g // profile.merge_size


def _plan_dynamic(profile: Profile, height: int, width: int) -> ImagePlan:
    """InternVL: ``<img>``, ``(S/p/m)²`` ``<IMG_CONTEXT>`` per tile (plus the thumbnail when
    there are several tiles), ``</img>``; ``canvas`` is the tile grid in pixels."""
    policy = profile.resize
    assert isinstance(policy, TileGrid)
    rows, cols = policy.grid(height, width)
    views = rows * cols + (1 if rows * cols > 1 else 0)
    g, side = _view_tokens(profile, policy.tile)
    fences = _fences(profile)
    features = views * side * side
    return ImagePlan(
        height,
        width,
        (policy.tile, policy.tile),
        (views, g, g),
        (side, side),
        features + fences,
        canvas=(rows * policy.tile, cols * policy.tile),
        feature_tokens=features,
    )


def _plan_split(profile: Profile, height: int, width: int) -> ImagePlan:
    """Idefics3 / SmolVLM: per sub-image ``<fake_token_around_image>`` + ``<row_i_col_j>`` +
    ``(S/p/m)²`` ``<image>``, then ``<fake_token_around_image>`` + ``<global-img>`` + the global
    view's tokens + ``<fake_token_around_image>``. The newlines the processor writes after
    each row of sub-images are text (tokenized with the sequence), not counted in ``tokens``."""
    policy = profile.resize
    assert isinstance(policy, SplitGrid)
    ch, cw = policy.canvas(height, width)
    tiles = (ch // policy.tile) * (cw // policy.tile)
    views = tiles + 1 if tiles > 1 else 1
    g, side = _view_tokens(profile, policy.tile)
    per_view = side * side
    sub_images = tiles if tiles > 1 else 0
    return ImagePlan(
        height,
        width,
        (policy.tile, policy.tile),
        (views, g, g),
        (side, side),
        views * per_view + 2 * sub_images + 3,  # fake + label per sub-image; fake, global, fake
        canvas=(ch, cw),
        feature_tokens=views * per_view,
    )


_LAYOUTS: dict[str, Callable[[Profile, int, int], ImagePlan]] = {
    "pad": _plan_pad,
    "rows": _plan_rows,
    "anyres": _plan_anyres,
    "views": _plan_views,
    "tiles": _plan_tiles,
    "dynamic": _plan_dynamic,
    "split": _plan_split,
}


def plan_image(profile: Profile, height: int, width: int, source: str) -> ImagePlan:
    """Validate the size against the profile's limits, then apply its layout."""
    limit = profile.resize.max_aspect_ratio
    if limit is not None and max(height, width) / min(height, width) > limit:
        ratio = max(height, width) / min(height, width)
        raise UnsupportedMediaError(
            source,
            f"{width}×{height} has aspect ratio {ratio:.1f}, "
            f"above {profile.name}'s limit of {limit:g}",
        )
    plan = _LAYOUTS[profile.layout](profile, height, width)
    size = plan.canvas if plan.canvas is not None and min(plan.canvas) <= 0 else plan.resized
    if min(size) <= 0:
        raise UnsupportedMediaError(
            source,
            f"{width}×{height} shrinks to nothing under {profile.name}'s resize rule "
            f"({size[1]}×{size[0]})",
        )
    return plan
