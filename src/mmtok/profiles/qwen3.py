"""Qwen3-VL: patch 16, 2×2 merge (32-pixel factor), mean/std 0.5, timestamped video, M-RoPE.

Built-in defaults follow the published ``Qwen/Qwen3-VL-8B-Instruct`` folder: images
``shortest_edge`` 65,536 / ``longest_edge`` 16,777,216 pixels (``Qwen2VLImageProcessor``
with ``patch_size`` 16); video ``shortest_edge`` 4,096 / ``longest_edge`` 25,165,824 pixels
over the whole clip, 2 fps, 4–768 frames (``Qwen3VLVideoProcessor``), no per-frame cap
(transformers 5.24's default; a folder with ``cap_pixels_per_frame: true`` turns it on).

A video is one ``<{t:.1f} seconds><|vision_start|>…<|vision_end|>`` block per temporal patch
(``t`` the mean time of its two frames) inside the chat template's own
``<|vision_start|>…<|vision_end|>``; each block is its own M-RoPE item (``mrope-frames``).
Model dimensions: Qwen3-VL-8B (Qwen3-8B text model, 27-layer 1152-wide vision tower).
"""

from __future__ import annotations

from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import CHATML_NOSYS
from mmtok.video.timestamps import TimestampStyle

QWEN3_8B = LLMSpec("qwen3-8b", 36, 4096, 32, 8, 128, 12288, 151936)

QWEN3_VL = Profile(
    name="qwen3-vl",
    patch_size=16,
    merge_size=2,
    temporal_patch_size=2,
    resize=SmartResize(min_pixels=65536, max_pixels=16777216),
    tokens=SpecialTokens(
        image="<|image_pad|>",
        image_start="<|vision_start|>",
        image_end="<|vision_end|>",
        video="<|video_pad|>",
        video_start="<|vision_start|>",
        video_end="<|vision_end|>",
        frame_start="<|vision_start|>",
        frame_end="<|vision_end|>",
    ),
    layout="pad",
    image_mean=(0.5, 0.5, 0.5),
    image_std=(0.5, 0.5, 0.5),
    rope="mrope-frames",
    modalities=("image", "video"),
    video_fps=2.0,
    video_min_frames=4,
    video_max_frames=768,
    video_min_pixels=4096,
    video_max_pixels=25165824,
    video_frame_rule="linspace",
    video_pixels="clip",
    video_timestamps=TimestampStyle(template="<{:.1f} seconds>", time="mean"),
    template=CHATML_NOSYS,
    llm=QWEN3_8B,
    vision=VisionSpec("qwen3-vl-vit", 27, 1152, 4304),
)
