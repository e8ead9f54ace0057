"""LLaVA-OneVision: LLaVA-NeXT's any-resolution tiles at 384² with the ``anyres_max_9`` cap.

Defaults follow ``llava-hf/llava-onevision-qwen2-7b-ov-hf``: SigLIP-So400m/14 at 384²
(27×27 = 729 features per view, no CLS: ``vision_feature_select_strategy: full``), 36
pinpoints from 384×384 to 2304×2304, the base view plus the unpadded crop features with one
newline per feature row, capped at 1.1 × the features of 9 tiles (``vision_aspect_ratio:
anyres_max_9``); PIL bicubic, CLIP mean/std; Qwen2-7B behind it. A request with several images
lays each out as one mean-padded 384² view (729 features + a newline: 730 tokens), as
transformers' processor does for the images of one sample.

Video: every sampled frame resized to 384² (aspect ratio not kept, torchvision bicubic as
``LlavaOnevisionVideoProcessor``), its 27×27 features bilinearly pooled to 14×14 = 196 by
the model, one newline after the whole video: ``frames × 196 + 1`` ``<video>``. The processor
takes the frames it is given; the default here is the model card's 8 frames sampled
uniformly (``⌊i · total / 8⌋``, transformers' ``num_frames=8``).
"""

from __future__ import annotations

from mmtok.image.policies import AnyRes, FixedSize
from mmtok.profiles.base import Profile, SeveralImages, SpecialTokens
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
    modalities=("image", "video"),
    video_size=(384, 384),
    video_pool=2,
    video_additional_tokens=1,
    video_num_frames=8,
    # ``fps`` sampling as transformers' default rule: at least one frame, no cap of its own
    # (the request limits' 32,768 frames bound it).
    video_min_frames=1,
    video_max_frames=32_768,
    video_inputs="frames",
    # Several images in one request: each one 384² view, padded to a square in the mean
    # colour, 729 features + 1 newline (transformers' processor, images nested per sample).
    several_images=SeveralImages(
        FixedSize(shortest_edge=384, crop=384, pad_to_square=True), num_additional_tokens=1
    ),
)
