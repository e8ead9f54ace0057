"""InternVL3 / 3.5: dynamic tiling into 448² tiles plus a thumbnail, 256 tokens per tile.

Defaults follow ``OpenGVLab/InternVL3-8B-hf`` (the InternVL3.5 ``-HF`` checkpoints share its
image settings): ``GotOcr2ImageProcessor`` at 448² with ``crop_to_patches`` (the
``InternVLProcessor`` default), 1…12 tiles on the grid whose aspect ratio is closest to the
image's, a 448² thumbnail after them when there is more than one; InternViT-300M (patch 14,
32×32 patches) with pixel shuffle 0.5 (2×2 → 256 ``<IMG_CONTEXT>`` per tile), fenced by
``<img>``/``</img>``; PIL bicubic, ImageNet mean/std; Qwen2.5-7B behind it. A video is one
448² view per sampled frame, each written ``FrameN: <img>…</img>`` (``InternVLProcessor``).
"""

from __future__ import annotations

from mmtok.image.policies import TileGrid
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import INTERNVL as INTERNVL_TEMPLATE
from mmtok.video.timestamps import FrameText

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
QWEN2_5_7B_INTERNVL = LLMSpec("qwen2.5-7b", 28, 3584, 28, 4, 128, 18944, 151674)
INTERNVIT_300M = VisionSpec("internvit-300m", 24, 1024, 4096)

INTERNVL3 = Profile(
    name="internvl3",
    patch_size=14,
    merge_size=2,  # pixel shuffle 0.5: 2×2 patches per token
    resize=TileGrid(tile=448, min_tiles=1, max_tiles=12),
    tokens=SpecialTokens(
        image="<IMG_CONTEXT>",
        image_start="<img>",
        image_end="</img>",
        fences_in_count=True,
        video="<IMG_CONTEXT>",  # each frame one fenced view
        frame_start="<img>",
        frame_end="</img>",
    ),
    layout="dynamic",
    modalities=("image", "video"),
    # Video: each frame one 448² view (``InternVLVideoProcessor``'s size in the checkpoint),
    # ``Frame{N}: <img>…</img>`` joined by newlines; ⌊duration · 1 fps⌋ frames, at most 8
    # (the model card's ``num_frames=8``), each the middle of its segment.
    video_size=(448, 448),
    video_frame_rule="centered",
    video_fps=1.0,
    video_min_frames=1,
    video_max_frames=8,
    video_frame_text=FrameText(label="Frame{number}: ", sep="\n"),
    image_mean=IMAGENET_MEAN,
    image_std=IMAGENET_STD,
    template=INTERNVL_TEMPLATE,
    llm=QWEN2_5_7B_INTERNVL,
    vision=INTERNVIT_300M,
    fit_min_tokens=256,
)
