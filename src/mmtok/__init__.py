"""mmtok: images, audio and video into exact token sequences for multimodal LLMs."""

from __future__ import annotations

from mmtok.count import CountOptions, CountRow, count_file
from mmtok.image.decode import decode_image
from mmtok.image.pixels import ImageBatch, ImageTensors, preprocess_image, preprocess_images
from mmtok.media.info import MediaInfo
from mmtok.probe import probe
from mmtok.profiles import PROFILES, Profile, get_profile

__version__ = "0.1.0"

__all__ = [
    "PROFILES",
    "CountOptions",
    "CountRow",
    "ImageBatch",
    "ImageTensors",
    "MediaInfo",
    "Profile",
    "count_file",
    "decode_image",
    "get_profile",
    "preprocess_image",
    "preprocess_images",
    "probe",
]
