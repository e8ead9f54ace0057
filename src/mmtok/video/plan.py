"""Sampled video frames → token counts and timestamps, from headers (no pixels, no torch).

Counting (:func:`plan_video`) needs only the frame size, the sampled frame indices and the
frame rate; the pixels of a plan are :mod:`mmtok.video.pixels`' job.

Layouts (profile data, no family names): without a frame separator (Qwen) a video is
``t·h·w / merge²`` placeholder tokens; with one (``generic``) every frame is its own block
of tokens, blocks are joined by the separator, each may be preceded by a timestamp text
such as ``<t=1.5s>``, and the video fences count when the profile says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmtok.errors import UnsupportedMediaError
from mmtok.image import resize as rz
from mmtok.image.policies import SmartResize
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source
from mmtok.video.frames import FrameSelection, select_frames
from mmtok.video.probe import probe_video
from mmtok.video.sampling import Sampling, frame_max_pixels, frame_timestamps

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile

TextTokens = Callable[[str], int]


@dataclass(frozen=True)
class VideoPlan:
    """How the sampled frames of one video become tokens under a profile.

    ``resized`` ``(h, w)`` pixels per frame; ``grid`` ``(t, h, w)`` encoder patches (``t``
    temporal patches after padding); ``frame_tokens`` LLM tokens per temporal patch;
    ``tokens`` the whole placeholder expansion (separators, timestamp texts and, where the
    profile counts them, fences included); ``fence_tokens`` the ones a chat template writes
    around it. ``seconds_per_grid`` is seconds of video per temporal patch (Qwen2.5-VL's
    ``second_per_grid_ts``); ``timestamps`` seconds per sampled frame.
    """

    num_frames: int
    resized: tuple[int, int]
    grid: tuple[int, int, int]
    frame_tokens: int
    tokens: int
    fence_tokens: int
    seconds_per_grid: float
    timestamps: tuple[float, ...]
    timestamp_texts: tuple[str, ...] = ()


def seconds_per_temporal_patch(
    num_sampled: int, total_frames: int, video_fps: float, temporal_patch_size: int
) -> float:
    """Seconds of video one temporal patch spans: ``T / sampled_fps`` with
    ``sampled_fps = num_sampled / total_frames · video_fps`` (Qwen2.5-VL)."""
    return temporal_patch_size / (num_sampled / total_frames * video_fps)


def temporal_patches(num_frames: int, temporal_patch_size: int) -> int:
    """Temporal patches after padding: ``⌈frames / T⌉`` (the last frame is repeated)."""
    return math.ceil(num_frames / temporal_patch_size)


def timestamp_text(seconds: float) -> str:
    """The text a frame's timestamp becomes in the generic layout: ``<t=1.5s>``."""
    return f"<t={seconds:.1f}s>"


def video_frame_size(
    profile: Profile,
    height: int,
    width: int,
    num_frames: int,
    total_pixels: int | None,
    source: str = "video",
) -> tuple[int, int]:
    """``(h, w)`` every sampled frame is resized to: smart resize within the profile's video
    pixel limits, the upper limit lowered by the ``total_pixels`` budget when one is set.

    Raises :class:`UnsupportedMediaError` naming ``source`` when the profile has no video
    limits or the aspect ratio is beyond the resize rule's.
    """
    lo, hi = profile.video_min_pixels, profile.video_max_pixels
    if lo is None or hi is None or not isinstance(profile.resize, SmartResize):
        raise UnsupportedMediaError(source, f"profile {profile.name} has no video resize rule")
    ratio = max(height, width) / min(height, width)
    if ratio > profile.resize.max_aspect_ratio:
        raise UnsupportedMediaError(
            source, f"{width}×{height} has aspect ratio {ratio:.1f}, above {profile.name}'s limit"
        )
    if total_pixels is not None:
        hi = frame_max_pixels(
            num_frames,
            min_pixels=lo,
            max_pixels=hi,
            total_pixels=total_pixels,
            temporal_patch_size=profile.temporal_patch_size,
        )
    factor = profile.patch_size * profile.merge_size
    return rz.smart_resize(height, width, factor=factor, min_pixels=lo, max_pixels=hi)


def plan_video(
    profile: Profile,
    height: int,
    width: int,
    indices: Sequence[int],
    total_frames: int,
    video_fps: float,
    *,
    total_pixels: int | None = None,
    timestamp_tokens: TextTokens | None = None,
    source: str = "video",
) -> VideoPlan:
    """Count one video's tokens from its display size and sampled frame ``indices``.

    ``timestamp_tokens`` (text → token count), when given and the profile separates frames,
    adds a ``<t=…s>`` text before every frame and counts it.
    """
    n = len(indices)
    p, m, tp = profile.patch_size, profile.merge_size, profile.temporal_patch_size
    rh, rw = video_frame_size(profile, height, width, n, total_pixels, source)
    grid = (temporal_patches(n, tp), rh // p, rw // p)
    frame_tokens = grid[1] * grid[2] // (m * m)
    stamps = frame_timestamps(indices, video_fps)
    spg = seconds_per_temporal_patch(n, total_frames, video_fps, tp)
    tk = profile.tokens
    fences = int(tk.video_start is not None) + int(tk.video_end is not None)
    texts: tuple[str, ...] = ()
    if tk.frame_sep is None:
        tokens = grid[0] * frame_tokens
    else:
        tokens = grid[0] * frame_tokens + (grid[0] - 1)
        if timestamp_tokens is not None:
            texts = tuple(timestamp_text(s) for s in stamps[::tp])
            tokens += sum(timestamp_tokens(t) for t in texts)
    if tk.fences_in_count:
        tokens, fences = tokens + fences, 0
    return VideoPlan(n, (rh, rw), grid, frame_tokens, tokens, fences, spg, stamps, texts)


def count_video(
    source: Source,
    profile: Profile,
    sampling: Sampling,
    *,
    info: MediaInfo | None = None,
    max_duration: float | None = None,
    timestamp_tokens: TextTokens | None = None,
) -> tuple[MediaInfo, FrameSelection, VideoPlan]:
    """Probe, sample and plan one video file without decoding its frames (``scenes``
    decodes one low-resolution pass; ``keyframes`` demuxes packets)."""
    info = info if info is not None else probe_video(source, max_duration=max_duration)
    assert info.width is not None and info.height is not None
    selection = select_frames(source, info, sampling)
    plan = plan_video(
        profile,
        info.height,
        info.width,
        selection.indices,
        selection.total_frames,
        selection.video_fps,
        total_pixels=sampling.total_pixels,
        timestamp_tokens=timestamp_tokens,
        source=info.source,
    )
    return info, selection, plan
