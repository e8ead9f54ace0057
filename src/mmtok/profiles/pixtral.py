"""Pixtral (Pixtral-12B-2409 and its Tekken tokenizer): 16 px patches, longer side ≤ 1024,
rows of ``[IMG]`` closed by ``[IMG_BREAK]``, the last by ``[IMG_END]``.

mistral-common resizes with OpenCV's bicubic on float32 pixels, so this profile does too
(``resampler="opencv"``): Pillow's bicubic differs by up to a few grey levels.
"""

from __future__ import annotations

from mmtok.image.policies import MaxSide
from mmtok.profiles.base import CLIP_MEAN, CLIP_STD, Profile, SpecialTokens
from mmtok.profiles.dims import MISTRAL_NEMO_12B, VisionSpec
from mmtok.text.templates import MISTRAL

PIXTRAL = Profile(
    name="pixtral",
    patch_size=16,
    merge_size=1,
    resize=MaxSide(max_image_size=1024),
    tokens=SpecialTokens(image="[IMG]", image_break="[IMG_BREAK]", image_end="[IMG_END]"),
    layout="rows",
    image_mean=CLIP_MEAN,
    image_std=CLIP_STD,
    resampler="opencv",
    template=MISTRAL,
    llm=MISTRAL_NEMO_12B,
    vision=VisionSpec("pixtral-vit-400m", 24, 1024, 4096, mlp_matrices=3),
)
