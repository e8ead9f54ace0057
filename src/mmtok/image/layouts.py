"""Token layouts: from a resized image to the number of sequence tokens it becomes.

One small function per layout, chosen by ``Profile.layout``; a new family adds data, and a
function here only when its layout is new.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mmtok.errors import UnsupportedMediaError
from mmtok.image import resize as rz
from mmtok.image.policies import AnyRes, ImagePlan

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile


def _plan_pad(profile: Profile, height: int, width: int) -> ImagePlan:
    """One placeholder per merged patch (Qwen, LLaVA-1.5, generic); fences around it."""
    p, m = profile.patch_size, profile.merge_size
    rh, rw = profile.resize.resized(height, width, p, m)
    gh, gw = rh // p, rw // p
    rows, cols = gh // m, gw // m
    fences = int(profile.tokens.image_start is not None) + int(profile.tokens.image_end is not None)
    tokens = rows * cols + profile.num_additional_tokens - int(profile.drop_cls)
    if profile.tokens.fences_in_count:
        tokens += fences
        fences = 0
    return ImagePlan(height, width, (rh, rw), (1, gh, gw), (rows, cols), tokens, fences)


def _plan_rows(profile: Profile, height: int, width: int) -> ImagePlan:
    """Pixtral: every row of tokens ends with ``[IMG_BREAK]``, the last with ``[IMG_END]``."""
    p, m = profile.patch_size, profile.merge_size
    rh, rw = profile.resize.resized(height, width, p, m)
    rows, cols = rh // (p * m), rw // (p * m)
    return ImagePlan(
        height, width, (rh, rw), (1, rh // p, rw // p), (rows, cols), rows * (cols + 1)
    )


def _plan_anyres(profile: Profile, height: int, width: int) -> ImagePlan:
    """LLaVA-NeXT: base view (``n²`` features) plus the unpadded crop features, each of their
    rows closed by a newline token, as ``LlavaNextProcessor`` counts them."""
    policy = profile.resize
    assert isinstance(policy, AnyRes)
    n = policy.tile // profile.patch_size
    canvas = rz.select_best_resolution(height, width, policy.pinpoints)
    rows, cols = rz.anyres_feature_grid(height, width, n, canvas, policy.tile)
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


_LAYOUTS: dict[str, Callable[[Profile, int, int], ImagePlan]] = {
    "pad": _plan_pad,
    "rows": _plan_rows,
    "anyres": _plan_anyres,
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
    return _LAYOUTS[profile.layout](profile, height, width)
