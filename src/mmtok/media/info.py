"""What a header tells about a media file, before any pixel or sample is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class MediaInfo:
    """Header facts about one media input.

    Sizes are *display* sizes: EXIF orientation (images) and rotation metadata (video) are
    already applied, so ``width``/``height`` are what a decoder hands to the model.
    Fields that do not apply to a kind are ``None``.
    """

    source: str  # path, or "<bytes>"
    kind: MediaKind
    format: str  # "jpeg", "png", "webp", "gif", "bmp", "mp4", "wav", ...
    width: int | None = None  # pixels
    height: int | None = None  # pixels
    orientation: int = 1  # EXIF orientation tag (1 = as stored)
    rotation: int = 0  # video rotation metadata, degrees clockwise
    duration: float | None = None  # seconds
    fps: float | None = None  # frames per second (average)
    frame_count: int | None = None  # frames, from the container or estimated
    sample_rate: int | None = None  # Hz
    channels: int | None = None  # audio channels
    has_audio: bool = False  # a video file that also carries an audio track
