"""Qwen2-VL and Qwen2.5-VL: dynamic resolution, 2×2 merge, temporal patches of 2, M-RoPE.

Pixel limits follow transformers' ``Qwen2VLImageProcessor`` defaults (min 56², max
28²·1280 pixels, the setting the Qwen model cards recommend); a profile built from a model
folder (``mmtok.profiles.hf``) takes that folder's own limits instead.
"""

from __future__ import annotations

from dataclasses import replace

from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import QWEN2_7B, VisionSpec
from mmtok.text.templates import CHATML

_TOKENS = SpecialTokens(
    image="<|image_pad|>",
    image_start="<|vision_start|>",
    image_end="<|vision_end|>",
    video="<|video_pad|>",
    video_start="<|vision_start|>",
    video_end="<|vision_end|>",
)

QWEN2_VL = Profile(
    name="qwen2-vl",
    patch_size=14,
    merge_size=2,
    temporal_patch_size=2,
    resize=SmartResize(min_pixels=56 * 56, max_pixels=28 * 28 * 1280),
    tokens=_TOKENS,
    layout="pad",
    rope="mrope",
    modalities=("image", "video"),
    video_min_pixels=128 * 28 * 28,
    video_max_pixels=768 * 28 * 28,
    template=CHATML,
    llm=QWEN2_7B,
    vision=VisionSpec("qwen2-vl-vit-675m", 32, 1280, 5120),
)

# Qwen2.5-VL shares the image rules; its M-RoPE scales video time by seconds per temporal
# patch × ``tokens_per_second`` (2 in the released checkpoints' ``vision_config``).
# Its tower has a gated MLP of width 3,420.
QWEN2_5_VL = replace(
    QWEN2_VL,
    name="qwen2.5-vl",
    tokens_per_second=2,
    vision=VisionSpec("qwen2.5-vl-vit", 32, 1280, 3420, mlp_matrices=3),
)
