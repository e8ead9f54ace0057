"""Gemma 3: every image one 896² view of 256 soft tokens; pan-and-scan crops as extra views.

Defaults follow ``google/gemma-3-4b-it``: SigLIP-So400m at 896² (patch 14, a 64×64 grid)
average-pooled 4×4 to 16×16 = 256 ``<image_soft_token>`` per view, fenced by
``<start_of_image>``/``<end_of_image>`` and written with ``\\n\\n`` before and after it (the
processor's ``full_image_sequence``); PIL bilinear resize, mean/std 0.5. Pan-and-scan
(``do_pan_and_scan``; min crop 256, at most 4 crops, from an aspect ratio of 1.2) is off by
default, as the checkpoint's ``preprocessor_config.json`` leaves it; ``PanScan.enabled`` turns
it on (``--profile`` a folder that sets it, or ``with_options(enabled=True)``). Note that
transformers 5.24's ``Gemma3Processor`` itself keeps pan-and-scan off for a plain
``processor(text, images)`` call even when the folder enables it (its ``images_kwargs``
default wins); it is on when the call passes ``do_pan_and_scan=True``, as vLLM users do.
"""

from __future__ import annotations

from mmtok.image.policies import PanScan
from mmtok.profiles.base import Profile, SpecialTokens, ViewText
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import GEMMA

GEMMA3_4B = LLMSpec("gemma-3-4b", 34, 2560, 8, 4, 256, 10240, 262208)
SIGLIP_SO400M = VisionSpec("siglip-so400m", 27, 1152, 4304)

GEMMA3 = Profile(
    name="gemma3",
    patch_size=14,
    merge_size=4,  # 4×4 average pooling of the 64×64 patch grid
    resize=PanScan(size=896),
    tokens=SpecialTokens(
        image="<image_soft_token>",
        image_start="<start_of_image>",
        image_end="<end_of_image>",
        fences_in_count=True,
    ),
    layout="views",
    image_mean=(0.5, 0.5, 0.5),
    image_std=(0.5, 0.5, 0.5),
    interpolation="bilinear",
    view_text=ViewText(
        before="\n\n",
        after="\n\n",
        intro="Here is the original image ",
        crops=" and here are some crops to help you see better ",
        crop_sep=" ",
    ),
    token_type_ids=True,
    template=GEMMA,
    llm=GEMMA3_4B,
    vision=SIGLIP_SO400M,
    fit_min_tokens=256,
)
