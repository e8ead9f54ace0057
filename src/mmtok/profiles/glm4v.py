"""GLM-4.1V / GLM-4.5V: patch 14, 2×2 merge, CLIP normalisation, per-frame seconds, M-RoPE.

Images: ``Glm4vImageProcessor``'s smart resize, which bounds an image as one temporal patch
of two frames (``2·h·w`` within the limits) and first scales sides under 28 pixels up.
Built-in image limits follow the published ``zai-org/GLM-4.1V-9B-Thinking`` folder
(``shortest_edge`` 12,544, ``longest_edge`` 9,633,792); video limits, 2 fps and the
300-second sampling span are ``Glm4vVideoProcessor``'s class defaults (a folder's own
``video_preprocessor_config.json`` overrides them).

An image is ``<|begin_of_image|>`` + ``<|image|>``×N + ``<|end_of_image|>``; a video is
``<|begin_of_video|>``, then per temporal patch ``<|begin_of_image|>`` + ``<|image|>``×n +
``<|end_of_image|>`` + its first frame's whole seconds as text, then ``<|end_of_video|>``.
Each patch is its own M-RoPE item (``mrope-frames``). Model dimensions: GLM-4.1V-9B.
"""

from __future__ import annotations

from mmtok.image.policies import SmartResize
from mmtok.profiles.base import Profile, SpecialTokens
from mmtok.profiles.dims import LLMSpec, VisionSpec
from mmtok.text.templates import GLM
from mmtok.video.timestamps import TimestampStyle

GLM4_9B = LLMSpec("glm-4-9b", 40, 4096, 32, 2, 128, 13696, 151552)

GLM4V = Profile(
    name="glm4v",
    patch_size=14,
    merge_size=2,
    temporal_patch_size=2,
    resize=SmartResize(min_pixels=12544, max_pixels=9633792, frames=2, upscale=True),
    tokens=SpecialTokens(
        image="<|image|>",
        image_start="<|begin_of_image|>",
        image_end="<|end_of_image|>",
        video="<|image|>",
        video_start="<|begin_of_video|>",
        video_end="<|end_of_video|>",
        frame_start="<|begin_of_image|>",
        frame_end="<|end_of_image|>",
    ),
    layout="pad",
    rope="mrope-frames",
    modalities=("image", "video"),
    video_fps=2.0,
    video_min_pixels=112 * 112,
    video_max_pixels=28 * 28 * 2 * 30000,
    video_frame_rule="seconds",
    video_pixels="clip",
    video_max_seconds=300.0,
    video_timestamps=TimestampStyle(template="{}", time="whole", after=True),
    template=GLM,
    llm=GLM4_9B,
    vision=VisionSpec("glm-4.1v-vit", 24, 1536, 13696, mlp_matrices=3),
)
