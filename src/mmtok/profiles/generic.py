"""The generic seed-style layout: ``[IMG_START] v1…vN [IMG_END]`` with one token per p×p patch.

No merge, no family-specific tricks: a baseline for custom models. Images keep their aspect
ratio with sides a multiple of 16 and at most 512² pixels (1,024 patches); video frames are
separated by ``[FRAME]``; audio is fenced by ``[AUD_START]``/``[AUD_END]``.
"""

from __future__ import annotations

from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLAMA_3_8B, VisionSpec
from mmtok.text.templates import PLAIN

GENERIC = Profile(
    name="generic",
    patch_size=16,
    resize=SmartResize(min_pixels=32 * 32, max_pixels=512 * 512),
    tokens=SpecialTokens(
        image="[IMG]",
        image_start="[IMG_START]",
        image_end="[IMG_END]",
        video="[IMG]",
        video_start="[VID_START]",
        video_end="[VID_END]",
        frame_sep="[FRAME]",
        audio="[AUD]",
        audio_start="[AUD_START]",
        audio_end="[AUD_END]",
        fences_in_count=True,
    ),
    layout="pad",
    modalities=("image", "video", "audio"),
    video_min_pixels=32 * 32,
    video_max_pixels=256 * 256,
    template=PLAIN,
    llm=LLAMA_3_8B,
    vision=VisionSpec("vit-b-16", 12, 768, 3072),
)
