"""LLaVA-OneVision: LLaVA-NeXT's any-resolution tiles at 384² with the ``anyres_max_9`` cap.

Defaults follow ``llava-hf/llava-onevision-qwen2-7b-ov-hf``: SigLIP-So400m/14 at 384²
(27×27 = 729 features per view, no CLS: ``vision_feature_select_strategy: full``), 36
pinpoints from 384×384 to 2304×2304, the base view plus the unpadded crop features with one
newline per feature row, capped at 1.1 × the features of 9 tiles (``vision_aspect_ratio:
anyres_max_9``); PIL bicubic, CLIP mean/std; Qwen2-7B behind it. A request with several images
is laid out by transformers' processor as one padded view each (730 tokens); mmtok plans each
image as a single-image request (see docs/families.md).
"""

from __future__ import annotations

from mmtok.image.policies import AnyRes
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import QWEN2_7B
from mmtok.profiles.gemma3 import SIGLIP_SO400M
from mmtok.text.templates import ONEVISION

ONEVISION_PINPOINTS = tuple(
    (h * 384, w * 384) for h in range(1, 7) for w in range(1, 7)
)  # 384×384 … 2304×2304, rows first, as the checkpoint lists them

LLAVA_ONEVISION = Profile(
    name="llava-onevision",
    patch_size=14,
    resize=AnyRes(tile=384, pinpoints=ONEVISION_PINPOINTS, max_tiles=9),
    tokens=SpecialTokens(image="<image>", video="<video>"),
    layout="anyres",
    template=ONEVISION,
    llm=QWEN2_7B,
    vision=SIGLIP_SO400M,
    merge_from_folder=False,
)
