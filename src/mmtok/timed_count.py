"""Count rows for video and audio files (duration-based, header only)."""

from __future__ import annotations

from mmtok.count import CountOptions, CountRow
from mmtok.errors import UnsupportedMediaError
from mmtok.media.info import MediaInfo
from mmtok.profiles.base import Profile


def count_timed(info: MediaInfo, profile: Profile, options: CountOptions) -> CountRow:
    """Video and audio rows; filled in by the video/audio layer."""
    raise UnsupportedMediaError(info.source, f"{info.kind} counting is not available yet")
