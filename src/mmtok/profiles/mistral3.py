"""Mistral 3 / Pixtral as transformers runs it (``PixtralProcessor`` + ``PixtralImageProcessor``).

The built-in defaults follow Mistral-Small-3.1-24B-Instruct-2503: 14 px patches merged 2×2
into one token per 28 px, longer side ≤ 1540, rows of ``[IMG]`` closed by ``[IMG_BREAK]``, the
last by ``[IMG_END]``. It differs from the ``pixtral`` profile (mistral-common's rule) in two
places: a side shrunk to fit is *floored* (mistral-common rounds it: a 6160×2243 photo is
560×1540 here, 588×1540 there) and pixels are resized with Pillow's bicubic on 8-bit images
(mistral-common: OpenCV's on float32, up to a few grey levels apart). Use ``mistral3`` (or the
model folder) for a model served through transformers or a stack that reuses its processor,
``pixtral`` for one fed by mistral-common (vLLM's ``tokenizer_mode="mistral"``, la Plateforme).
"""

from __future__ import annotations

from mmtok.image.policies import MaxSide
from mmtok.profiles.base import CLIP_MEAN, CLIP_STD, Profile, SpecialTokens
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import MISTRAL

MISTRAL_SMALL_24B = LLMSpec("mistral-small-24b", 40, 5120, 32, 8, 128, 32768, 131072)

MISTRAL3 = Profile(
    name="mistral3",
    patch_size=14,
    merge_size=2,
    resize=MaxSide(max_image_size=1540, rounding="floor"),
    tokens=SpecialTokens(image="[IMG]", image_break="[IMG_BREAK]", image_end="[IMG_END]"),
    layout="rows",
    image_mean=CLIP_MEAN,
    image_std=CLIP_STD,
    resampler="pil",
    template=MISTRAL,
    llm=MISTRAL_SMALL_24B,
    vision=VisionSpec("pixtral-vit-400m", 24, 1024, 4096, mlp_matrices=3),
)
