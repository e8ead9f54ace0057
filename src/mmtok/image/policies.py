"""Resize policies and the plan they produce for one image: pure data and arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

from mmtok.image import resize as rz


@dataclass(frozen=True)
class ImagePlan:
    """How one image of ``height × width`` pixels becomes tokens under a profile.

    ``resized`` is ``(height, width)`` of each encoder input (a tile for LLaVA-NeXT);
    ``grid`` is ``(t, h, w)`` in encoder patches (``t`` counts tiles for LLaVA-NeXT: base
    image + high-resolution crops); ``token_grid`` is ``(rows, cols)`` of LLM tokens after
    spatial merging (the unpadded feature grid for LLaVA-NeXT's crops); ``tokens`` is what the
    model's processor inserts for the image placeholder: separator, break, newline and end
    tokens included. ``fence_tokens`` counts the tokens a chat template writes around it
    (Qwen's ``<|vision_start|>``/``<|vision_end|>``), not part of ``tokens``.
    """

    height: int
    width: int
    resized: tuple[int, int]
    grid: tuple[int, int, int]
    token_grid: tuple[int, int]
    tokens: int
    fence_tokens: int = 0
    canvas: tuple[int, int] | None = None  # LLaVA-NeXT best-fit resolution (h, w)


@dataclass(frozen=True)
class SmartResize:
    """Qwen2-VL dynamic resolution: sides multiples of ``patch_size · merge_size``."""

    min_pixels: int
    max_pixels: int
    max_aspect_ratio: float = 200.0

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return rz.smart_resize(
            height,
            width,
            factor=patch * merge,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
        )


@dataclass(frozen=True)
class MaxSide:
    """Pixtral: longer side at most ``max_image_size``, sides rounded up to the token size."""

    max_image_size: int
    max_aspect_ratio: float | None = None

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return rz.max_side_resize(
            height, width, max_image_size=self.max_image_size, factor=patch * merge
        )


@dataclass(frozen=True)
class FixedSize:
    """LLaVA-1.5: shortest side to ``shortest_edge`` then a centered ``crop`` square; or, with
    ``pad_to_square``, pad to a square in the mean colour first (the original LLaVA recipe)."""

    shortest_edge: int
    crop: int
    pad_to_square: bool = False
    max_aspect_ratio: float | None = None

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.crop, self.crop


@dataclass(frozen=True)
class AnyRes:
    """LLaVA-NeXT: a base ``tile × tile`` view plus the tiles of the best-fit canvas among
    ``pinpoints`` (each ``(h, w)``)."""

    tile: int
    pinpoints: tuple[tuple[int, int], ...]
    max_aspect_ratio: float | None = None

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.tile, self.tile


ResizePolicy = SmartResize | MaxSide | FixedSize | AnyRes
