"""Sampled video frames → token counts and timestamps, from headers (no pixels, no torch).

Counting (:func:`plan_video`) needs only the frame size, the sampled frame indices and the
frame rate; the pixels of a plan are :mod:`mmtok.video.pixels`' job.

Layouts (profile data, no family names): without a frame separator (Qwen2) a video is
``t·h·w / merge²`` placeholder tokens; with one (``generic``) every frame is its own block
of tokens, blocks are joined by the separator, each may be preceded by a timestamp text
such as ``<t=1.5s>``, and the video fences count when the profile says so. Per-patch fences
(``frame_start``/``frame_end``) and a profile's own timestamp style give Qwen3-VL's
``<1.2 seconds><|vision_start|>…<|vision_end|>`` and GLM-4V's
``<|begin_of_image|>…<|end_of_image|>1`` per temporal patch.

Frame sizes: Qwen2-VL bounds each frame's pixels (``video_pixels="frame"``); Qwen3-VL and
GLM-4V bound the whole clip's (``"clip"``), Qwen3-VL optionally capping each frame first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmtok.errors import UnsupportedMediaError
from mmtok.image import resize as rz
from mmtok.image.policies import SmartResize
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source
from mmtok.video.frames import FrameSelection, select_frames
from mmtok.video.probe import probe_video
from mmtok.video.sampling import Sampling, frame_max_pixels, frame_timestamps, resize_frame_count
from mmtok.video.timestamps import TimestampStyle, frame_texts, timestamp_texts

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile

TextTokens = Callable[[str], int]


@dataclass(frozen=True)
class VideoPlan:
    """How the sampled frames of one video become tokens under a profile.

    ``resized`` ``(h, w)`` pixels per frame; ``grid`` ``(t, h, w)`` encoder patches (``t``
    temporal patches after padding); ``frame_tokens`` LLM tokens per temporal patch;
    ``tokens`` the whole placeholder expansion (separators, timestamp texts, a trailing
    newline and, where the profile counts them, fences included); ``fence_tokens`` the ones
    a chat template writes around it. ``seconds_per_grid`` is seconds of video per temporal
    patch (Qwen2.5-VL's ``second_per_grid_ts``); ``timestamps`` seconds per sampled frame.
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
    # Frames as image views (``Profile.video_frame_text``): the text before the first frame
    # and after the last, which the tokenizer sees joined with the request's neighbouring text.
    edge_texts: tuple[str, str] = ("", "")
    tail_tokens: int = 0  # placeholders after the last patch (LLaVA-OneVision's newline)


def seconds_per_temporal_patch(
    num_sampled: int, total_frames: int, video_fps: float, temporal_patch_size: int
) -> float:
    """Seconds of video one temporal patch spans: ``T / sampled_fps`` with
    ``sampled_fps = num_sampled / total_frames · video_fps`` (Qwen2.5-VL)."""
    return temporal_patch_size / (num_sampled / total_frames * video_fps)


def temporal_patches(num_frames: int, temporal_patch_size: int) -> int:
    """Temporal patches after padding: ``⌈frames / T⌉`` (the last frame is repeated)."""
    return math.ceil(num_frames / temporal_patch_size)


SEPARATED = TimestampStyle()
"""The timestamps of a layout with a frame separator and no style of its own: ``<t=1.5s>``."""


def timestamp_style(profile: Profile) -> TimestampStyle | None:
    """The timestamp text ``profile`` writes per temporal patch, if any."""
    if profile.video_timestamps is not None:
        return profile.video_timestamps
    return SEPARATED if profile.tokens.frame_sep is not None else None


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
    With ``video_pixels="clip"`` the limits bound all ``num_frames`` frames together
    (:func:`_clip_frame_size`).

    A profile with a fixed ``video_size`` (LLaVA-OneVision) resizes every frame to it.

    Raises :class:`UnsupportedMediaError` naming ``source`` when the profile has no video
    limits or the aspect ratio is beyond the resize rule's.
    """
    if profile.video_size is not None:
        return profile.video_size
    lo, hi = profile.video_min_pixels, profile.video_max_pixels
    if lo is None or hi is None or not isinstance(profile.resize, SmartResize):
        raise UnsupportedMediaError(source, f"profile {profile.name} has no video resize rule")
    ratio = max(height, width) / min(height, width)
    if ratio > profile.resize.max_aspect_ratio:
        raise UnsupportedMediaError(
            source, f"{width}×{height} has aspect ratio {ratio:.1f}, above {profile.name}'s limit"
        )
    if profile.video_pixels == "clip":
        return _clip_frame_size(profile, height, width, num_frames, lo, hi, total_pixels, source)
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


def _clip_frame_size(
    profile: Profile,
    height: int,
    width: int,
    num_frames: int,
    lo: int,
    hi: int,
    total_pixels: int | None,
    source: str,
) -> tuple[int, int]:
    """Qwen3-VL / GLM-4V: ``lo ≤ t̄·h·w ≤ hi`` over the clip's frames; with
    ``video_cap_tokens`` each frame first gets ``max(min(cap·factor², hi // frames),
    ⌊1.05·lo⌋)`` pixels (``cap_pixels_per_frame``); ``total_pixels`` lowers ``hi`` further."""
    tp = profile.temporal_patch_size
    frames = resize_frame_count(num_frames, profile.video_frame_rule, tp)
    if frames < tp:
        raise UnsupportedMediaError(
            source, f"{frames} sampled frame(s): {profile.name} needs at least {tp}"
        )
    factor = profile.patch_size * profile.merge_size
    if profile.video_cap_tokens is not None:
        per_frame = max(
            min(profile.video_cap_tokens * factor * factor, hi // frames), int(lo * 1.05)
        )
        hi = per_frame * frames
    if total_pixels is not None:
        hi = min(hi, total_pixels)
    return rz.smart_resize(
        height,
        width,
        factor=factor,
        min_pixels=lo,
        max_pixels=hi,
        frames=frames,
        temporal_factor=tp,
        upscale=True,
    )


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

    ``timestamp_tokens`` (text → token count), when given and the profile writes timestamps
    (:func:`timestamp_style`), adds each temporal patch's timestamp text and counts it; with
    ``Profile.video_frame_text`` the text between frames (the text before the first and after
    the last is ``edge_texts``, tokenized with the request's text, not counted here).
    """
    n = len(indices)
    p, m, tp = profile.patch_size, profile.merge_size, profile.temporal_patch_size
    rh, rw = video_frame_size(profile, height, width, n, total_pixels, source)
    grid = (temporal_patches(n, tp), rh // p, rw // p)
    pool = profile.video_pool  # features pooled per side, rounded up (OneVision: 27 → 14)
    frame_tokens = -(-grid[1] // pool) * -(-grid[2] // pool) // (m * m)
    stamps = frame_timestamps(indices, video_fps)
    spg = seconds_per_temporal_patch(n, total_frames, video_fps, tp)
    if profile.video_grid_seconds == "fps":  # Qwen2.5-Omni: T / the fps asked for
        spg = tp / profile.video_fps
    tk = profile.tokens
    fences = int(tk.video_start is not None) + int(tk.video_end is not None)
    texts: tuple[str, ...] = ()
    groups = grid[0]
    frame_fences = int(tk.frame_start is not None) + int(tk.frame_end is not None)
    frame_fences += int(tk.frame_global is not None)
    tokens = groups * (frame_tokens + frame_fences) + (groups - 1) * int(tk.frame_sep is not None)
    tail = profile.video_additional_tokens
    tokens += tail
    style = timestamp_style(profile)
    if style is not None and timestamp_tokens is not None:
        texts = timestamp_texts(style, stamps, tp)
        tokens += sum(timestamp_tokens(t) for t in texts)
    edges = ("", "")
    if profile.video_frame_text is not None:  # frames as views: labels between them
        around = frame_texts(profile.video_frame_text, stamps, total_frames / video_fps)
        edges = (around[0], around[-1])
        if timestamp_tokens is not None:
            texts = ("", *around[1:-1])
            tokens += sum(timestamp_tokens(t) for t in texts if t)
    if tk.fences_in_count:
        tokens, fences = tokens + fences, 0
    return VideoPlan(
        n, (rh, rw), grid, frame_tokens, tokens, fences, spg, stamps, texts, edges, tail_tokens=tail
    )


def count_video(
    source: Source,
    profile: Profile,
    sampling: Sampling,
    *,
    info: MediaInfo | None = None,
    max_duration: float | None = DEFAULT_MAX_DURATION,
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
