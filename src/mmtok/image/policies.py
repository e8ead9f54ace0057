"""Resize policies and the plan they produce for one image: pure data and arithmetic."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

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
    ``feature_tokens`` counts the placeholders of ``tokens`` that receive encoder features
    (the family's image tokens in the processor's ``input_ids``: breaks, ends and fences
    excluded); ``None`` when built means all of ``tokens``.
    """

    height: int
    width: int
    resized: tuple[int, int]
    grid: tuple[int, int, int]
    token_grid: tuple[int, int]
    tokens: int
    fence_tokens: int = 0
    canvas: tuple[int, int] | None = None  # LLaVA-NeXT best-fit resolution (h, w)
    feature_tokens: int = None  # type: ignore[assignment]  # set in __post_init__

    def __post_init__(self) -> None:
        if self.feature_tokens is None:
            object.__setattr__(self, "feature_tokens", self.tokens)


@dataclass(frozen=True)
class SmartResize:
    """Qwen2-VL dynamic resolution: sides multiples of ``patch_size · merge_size``.

    ``frames``: the pixel limits bound this many copies of the image (GLM-4V counts an image
    as one temporal patch of 2 frames); ``upscale``: sides below the factor are scaled up
    first (GLM-4V). See :func:`mmtok.image.resize.smart_resize`.
    """

    min_pixels: int
    max_pixels: int
    max_aspect_ratio: float = 200.0
    frames: int = 1
    upscale: bool = False

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return rz.smart_resize(
            height,
            width,
            factor=patch * merge,
            min_pixels=self.min_pixels,
            max_pixels=self.max_pixels,
            frames=self.frames,
            temporal_factor=self.frames,
            upscale=self.upscale,
        )


@dataclass(frozen=True)
class MaxSide:
    """Pixtral: longer side at most ``max_image_size``, sides rounded up to the token size.

    ``rounding`` is how the shrunk sides become integers before that: ``round`` (half to
    even, mistral-common) or ``floor`` (transformers' ``PixtralImageProcessor``). A floored
    side can reach 0 pixels (a 1×5000 image at 1540): such an image has no tokens and is
    refused by the layout.
    """

    max_image_size: int
    max_aspect_ratio: float | None = None
    rounding: Literal["round", "floor"] = "round"

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        if self.rounding == "floor":
            ratio = max(height / self.max_image_size, width / self.max_image_size)
            if ratio > 1:  # floored first, so the rounding below only rounds up to the factor
                height, width = math.floor(height / ratio), math.floor(width / ratio)
        return rz.max_side_resize(
            height, width, max_image_size=self.max_image_size, factor=patch * merge
        )


@dataclass(frozen=True)
class FixedSize:
    """LLaVA-1.5: shortest side to ``shortest_edge`` then a centered ``crop`` square; or, with
    ``pad_to_square``, pad to a square in the mean colour first (the original LLaVA recipe).

    Either way the intermediate image grows with the aspect ratio (``shortest_edge² · ratio``
    pixels, or the longer side squared): a valid 97-byte 4000×1 PNG takes transformers' CLIP
    processor 28 s and 4.7 GB, so ratios above ``max_aspect_ratio`` are refused (as Qwen's).
    """

    shortest_edge: int
    crop: int
    pad_to_square: bool = False
    max_aspect_ratio: float | None = 200.0

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.crop, self.crop


@dataclass(frozen=True)
class AnyRes:
    """LLaVA-NeXT: a base ``tile × tile`` view plus the tiles of the best-fit canvas among
    ``pinpoints`` (each ``(h, w)``)."""

    tile: int
    pinpoints: tuple[tuple[int, int], ...]
    max_aspect_ratio: float | None = None
    max_tiles: int | None = None  # LLaVA-OneVision's ``anyres_max_N`` feature cap (N tiles)

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.tile, self.tile


@dataclass(frozen=True)
class ExactSize:
    """SigLIP-style: every image resized to exactly ``height × width`` (aspect ratio not kept,
    no crop), as ``SiglipImageProcessor`` does with ``size: {height, width}``."""

    height: int
    width: int
    max_aspect_ratio: float | None = None

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.height, self.width


@dataclass(frozen=True)
class PanScan:
    """Gemma 3: every view resized to ``size²`` (aspect ratio not kept); with ``enabled``,
    pan-and-scan adds crops of a long image as extra views (see
    :func:`mmtok.image.resize.pan_and_scan_grid`)."""

    size: int
    enabled: bool = False
    min_crop: int = 256
    max_crops: int = 4
    min_ratio: float = 1.2
    max_aspect_ratio: float | None = None

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.size, self.size

    def crops(self, height: int, width: int) -> tuple[int, int, int, int] | None:
        """``(rows, cols, crop_h, crop_w)`` of the pan-and-scan crops, ``None``: none."""
        if not self.enabled:
            return None
        return rz.pan_and_scan_grid(
            height, width, min_crop=self.min_crop, max_crops=self.max_crops,
            min_ratio=self.min_ratio,
        )  # fmt: skip


@dataclass(frozen=True)
class TileCanvas:
    """Llama 4: ``tile²`` tiles of the best-fit canvas among grids of at most ``max_tiles``
    tiles (a global ``tile²`` view added when there is more than one); the image is resized
    without distortion (upscaled only to ``tile`` unless ``to_max``) and padded."""

    tile: int
    max_tiles: int
    to_max: bool = False
    max_aspect_ratio: float | None = None

    def canvas(self, height: int, width: int) -> tuple[int, int]:
        """The canvas ``(h, w)`` in pixels, a multiple of ``tile`` on both sides."""
        canvases = rz.tile_canvases(self.max_tiles, self.tile)
        return rz.best_fit_canvas(height, width, canvases, to_max=self.to_max)

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        """The size the image is resized to before padding onto its canvas."""
        ch, cw = self.canvas(height, width)
        if not self.to_max:
            ch, cw = min(max(height, self.tile), ch), min(max(width, self.tile), cw)
        return rz.fit_no_distortion(height, width, ch, cw)


@dataclass(frozen=True)
class TileGrid:
    """InternVL: the image resized onto the ``tile²`` grid closest to its aspect ratio among
    grids of ``min_tiles…max_tiles`` tiles (:func:`mmtok.image.resize.closest_tile_grid`), a
    ``tile²`` thumbnail after them when there is more than one; ``crop`` off (or
    ``max_tiles`` 1): one ``tile²`` view."""

    tile: int
    min_tiles: int = 1
    max_tiles: int = 12
    crop: bool = True
    max_aspect_ratio: float | None = None

    def grid(self, height: int, width: int) -> tuple[int, int]:
        """``(rows, cols)`` of tiles."""
        if not self.crop or self.max_tiles <= 1:
            return 1, 1
        return rz.closest_tile_grid(
            height, width, tile=self.tile, min_tiles=self.min_tiles, max_tiles=self.max_tiles
        )

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.tile, self.tile


@dataclass(frozen=True)
class SplitGrid:
    """Idefics3 / SmolVLM: the longest side resized to ``longest_edge`` (at most
    ``max_side``); with ``split``, the image rounded up to multiples of ``tile`` and cut into
    ``tile²`` sub-images plus a ``tile²`` global view (one view when it is a single tile);
    without, one ``tile²`` view."""

    tile: int
    longest_edge: int
    split: bool = True
    max_side: int = 4096
    max_aspect_ratio: float | None = None

    def first(self, height: int, width: int) -> tuple[int, int]:
        """The size of the first (longest-edge) resize, ``(h, w)``."""
        return rz.longest_edge_to(
            height, width, longest_edge=self.longest_edge, max_side=self.max_side
        )

    def canvas(self, height: int, width: int) -> tuple[int, int]:
        """``(h, w)`` the image is resized to before splitting (``tile²`` unsplit)."""
        if not self.split:
            return self.tile, self.tile
        return rz.split_canvas(*self.first(height, width), self.tile)

    def resized(self, height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
        return self.tile, self.tile


ResizePolicy = (
    SmartResize
    | MaxSide
    | FixedSize
    | AnyRes
    | ExactSize
    | PanScan
    | TileCanvas
    | TileGrid
    | SplitGrid
)
