"""Idefics3 and SmolVLM / SmolVLM2: longest-edge resize, sub-images plus a global view.

The image's longest side is resized to ``size.longest_edge`` (up or down), rounded up to
multiples of the sub-image size and cut into a grid of sub-images, each
``<fake_token_around_image>`` + ``<row_i_col_j>`` + ``image_seq_len`` ``<image>``, a newline
after each row; then the global view (``<fake_token_around_image><global-img>`` + its tokens +
``<fake_token_around_image>``). PIL Lanczos, mean/std 0.5, SigLIP patch 14.

- ``idefics3`` follows ``HuggingFaceM4/Idefics3-8B-Llama3``: 364² sub-images, longest edge
  1456 (4 × 364), pixel shuffle 2 → 169 tokens per view; Llama 3.1 8B.
- ``smolvlm`` follows ``HuggingFaceTB/SmolVLM2-2.2B-Instruct``: 384² sub-images, longest edge
  1536 (4 × 384), pixel shuffle 3 → 81 tokens per view; SmolLM2-1.7B. Its videos: one
  384² view per sampled frame, fenced like a global image, after ``Frame from MM:SS:``.
"""

from __future__ import annotations

from dataclasses import replace

from mmtok.image.policies import SplitGrid
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLAMA_3_8B, LLMSpec
from mmtok.profiles.gemma3 import SIGLIP_SO400M
from mmtok.text.templates import IDEFICS3 as IDEFICS3_TEMPLATE
from mmtok.text.templates import SMOLVLM as SMOLVLM_TEMPLATE
from mmtok.video.timestamps import FrameText

SMOLLM2_1_7B = LLMSpec("smollm2-1.7b", 24, 2048, 32, 32, 64, 8192, 49280)

SPLIT_TOKENS = SpecialTokens(
    image="<image>",
    image_start="<fake_token_around_image>",
    image_end="<fake_token_around_image>",
    image_global="<global-img>",
    tile_label="<row_{row}_col_{col}>",
    fences_in_count=True,
)

IDEFICS3 = Profile(
    name="idefics3",
    patch_size=14,
    merge_size=2,  # pixel shuffle (scale_factor 2): 26×26 patches → 13×13 = 169 tokens
    resize=SplitGrid(tile=364, longest_edge=4 * 364),
    tokens=SPLIT_TOKENS,
    layout="split",
    image_mean=(0.5, 0.5, 0.5),
    image_std=(0.5, 0.5, 0.5),
    interpolation="lanczos",
    template=IDEFICS3_TEMPLATE,
    llm=LLAMA_3_8B,
    vision=SIGLIP_SO400M,
    fit_min_tokens=169,
)

SMOLVLM_VIDEO_TEXT = FrameText(
    intro="You are provided the following series of {count_words} frames from a {duration} "
    "[H:MM:SS] video.\n",
    label="\nFrame from {minutes:02d}:{seconds:02d}:",
    outro="\n\n",
)
"""``SmolVLMProcessor``'s video prompt: the intro line, a timestamp before each frame, two
newlines after the last."""

SMOLVLM = Profile(
    name="smolvlm",
    patch_size=14,
    merge_size=3,  # pixel shuffle (scale_factor 3): 27×27 patches → 9×9 = 81 tokens
    resize=SplitGrid(tile=384, longest_edge=4 * 384),
    tokens=replace(
        SPLIT_TOKENS,
        video="<image>",
        frame_start="<fake_token_around_image>",
        frame_end="<fake_token_around_image>",
        frame_global="<global-img>",
    ),
    layout="split",
    modalities=("image", "video"),
    # Video (SmolVLM2's ``video_sampling``): 1 fps, at most 64 frames, a second skipped at
    # both ends of long clips; every frame one unsplit 384² view (its global image).
    video_size=(384, 384),
    video_frame_rule="trimmed",
    video_fps=1.0,
    video_min_frames=1,
    video_max_frames=64,
    video_frame_text=SMOLVLM_VIDEO_TEXT,
    image_mean=(0.5, 0.5, 0.5),
    image_std=(0.5, 0.5, 0.5),
    interpolation="lanczos",
    template=SMOLVLM_TEMPLATE,
    llm=SMOLLM2_1_7B,
    vision=SIGLIP_SO400M,
    fit_min_tokens=81,
)
