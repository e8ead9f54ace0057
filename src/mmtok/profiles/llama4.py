"""Llama 4: 336² tiles of a best-fit canvas (at most 16), a global tile, 144 tokens each.

Defaults follow ``meta-llama/Llama-4-Scout-17B-16E-Instruct``: patch 14 (24×24 per tile),
pixel shuffle ratio 0.5 (2×2 → 144 ``<|patch|>`` tokens per tile), ``max_patches`` 16,
``resize_to_max_canvas`` false; ``<|image_start|>``, per tile row the tiles joined by
``<|tile_x_separator|>`` and closed by ``<|tile_y_separator|>`` (only with more than one tile),
then ``<|image|>``, the global tile and ``<|image_end|>``. Mean/std 0.5, bilinear resize. Its
image processor normalises in bfloat16 with torchvision; mmtok's pixels follow that recipe but
are untested against a reference (docs/families.md).
"""

from __future__ import annotations

from mmtok.image.policies import TileCanvas
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import LLAMA4

LLAMA4_SCOUT = LLMSpec(
    "llama-4-scout-17b-16e", 48, 5120, 40, 8, 128, 8192, 202048,
    experts=16, experts_per_token=1, expert_intermediate=8192, shared_experts=1,
)  # fmt: skip

LLAMA4 = Profile(
    name="llama4",
    patch_size=14,
    merge_size=2,  # pixel shuffle 0.5: 2×2 patches per token
    resize=TileCanvas(tile=336, max_tiles=16),
    tokens=SpecialTokens(
        image="<|patch|>",
        image_start="<|image_start|>",
        image_end="<|image_end|>",
        tile_sep="<|tile_x_separator|>",
        tile_row_end="<|tile_y_separator|>",
        image_global="<|image|>",
        fences_in_count=True,
    ),
    layout="tiles",
    image_mean=(0.5, 0.5, 0.5),
    image_std=(0.5, 0.5, 0.5),
    interpolation="bilinear",
    template=LLAMA4,
    llm=LLAMA4_SCOUT,
    vision=VisionSpec("llama4-vit", 34, 1408, 5632),
    fit_min_tokens=144,
)
