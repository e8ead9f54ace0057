"""LLaVA-1.5 (fixed 336² view, 576 tokens) and LLaVA-NeXT (any-resolution tiles).

Both use CLIP ViT-L/14-336: 24×24 patches per view plus a CLS token that the ``default``
feature-select strategy drops again, as ``llava-hf`` checkpoints configure it. Their projector
merges no patches, so a folder's merge size never applies (``merge_from_folder=False``).
"""

from __future__ import annotations

from mmtok.image.policies import AnyRes, FixedSize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import MISTRAL_7B, VICUNA_7B, VisionSpec
from mmtok.text.templates import VICUNA

CLIP_VIT_L_336 = VisionSpec("clip-vit-l-336", 24, 1024, 4096)

LLAVA_1_5 = Profile(
    name="llava-1.5",
    patch_size=14,
    resize=FixedSize(shortest_edge=336, crop=336),
    tokens=SpecialTokens(image="<image>"),
    layout="pad",
    num_additional_tokens=1,
    drop_cls=True,
    template=VICUNA,
    llm=VICUNA_7B,
    vision=CLIP_VIT_L_336,
    merge_from_folder=False,
)

LLAVA_NEXT = Profile(
    name="llava-next",
    patch_size=14,
    resize=AnyRes(
        tile=336,
        pinpoints=((336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)),
    ),
    tokens=SpecialTokens(image="<image>"),
    layout="anyres",
    num_additional_tokens=1,
    drop_cls=True,
    template=VICUNA,
    llm=MISTRAL_7B,  # LLaVA-NeXT-Mistral-7B
    vision=CLIP_VIT_L_336,
    merge_from_folder=False,
)
