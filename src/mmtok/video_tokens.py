"""Sampled video frames → token counts, timestamps and the exact pixel tensors.

Counting (:func:`plan_video`) needs only the frame size, the sampled frame indices and the
frame rate. The pixel path (:func:`preprocess_video`) follows transformers'
``Qwen2VLVideoProcessor``: frames resized with torchvision's tensor bicubic (antialiased),
rescaled and normalised in one float32 step, the frame count padded to a multiple of the
temporal patch by repeating the last frame, then cut into flattened patches
``(N, C·T·p·p)`` with ``video_grid_thw = (t, h, w)``.

Layouts (profile data, no family names): without a frame separator (Qwen) a video is
``t·h·w / merge²`` placeholder tokens; with one (``generic``) every frame is its own block
of tokens, blocks are joined by the separator, each may be preceded by a timestamp text
such as ``<t=1.5s>``, and the video fences count when the profile says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from mmtok import resize as rz
from mmtok.errors import UnsupportedMediaError
from mmtok.media.info import MediaInfo
from mmtok.media.probe import Source
from mmtok.preprocess import lookup_hwc, patchify
from mmtok.profiles.base import Profile
from mmtok.profiles.policies import SmartResize
from mmtok.sampling import Sampling, frame_max_pixels, frame_timestamps

if TYPE_CHECKING:
    from mmtok.media.video import FrameSelection

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


@lru_cache(maxsize=16)
def video_normalize_table(
    mean: tuple[float, ...], std: tuple[float, ...], rescale_factor: float
) -> np.ndarray:
    """``(C, 256)`` float32 normalised value of every 8-bit level, in the video processor's
    fused order: ``(x - mean/r) / (std/r)`` with the scaled mean and std in float32.

    The image path rescales first (``mmtok.preprocess.normalize_table``); the torchvision
    video path folds the rescale into mean/std, which rounds differently in the last bit.
    """
    scale = np.float32(1.0 / rescale_factor)
    mean_s = np.asarray(mean, dtype=np.float32)[:, None] * scale
    std_s = np.asarray(std, dtype=np.float32)[:, None] * scale
    table = (np.arange(256, dtype=np.float32)[None, :] - mean_s) / std_s
    table.setflags(write=False)
    return table


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(T, C, H, W)`` uint8 → ``(T, C, h, w)`` uint8, as torchvision resizes uint8 tensors
    on CPU: bicubic (a = -0.75), antialiased, ``align_corners=False``, on the uint8 data.

    torchvision hands CPU uint8 straight to ``interpolate`` (its fixed-point uint8 kernel);
    its float round-trip (interpolate, clamp, round) is the GPU path and differs by a few
    levels. Same size returns the input, as torchvision does.
    """
    if frames.shape[-2:] == tuple(size):
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames))
    y = F.interpolate(x, size=list(size), mode="bicubic", align_corners=False, antialias=True)
    return y.numpy()


def frame_resizer(size: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """A per-frame ``(H, W, 3)`` → ``(h, w, 3)`` resize for decoding straight to model size
    (frames are resized independently, so this equals resizing the stack)."""

    def resize_one(rgb: np.ndarray) -> np.ndarray:
        return resize_frames(rgb.transpose(2, 0, 1)[None], size)[0].transpose(1, 2, 0)

    return resize_one


def pad_temporal(frames: np.ndarray, temporal_patch_size: int) -> np.ndarray:
    """Repeat the last frame (axis 0) until the count is a multiple of the temporal patch."""
    pad = -len(frames) % temporal_patch_size
    if pad == 0:
        return frames
    return np.concatenate([frames, np.repeat(frames[-1:], pad, axis=0)])


@dataclass(frozen=True)
class VideoTensors:
    """One video's model input: ``pixel_values`` ``(N, C·T·p·p)`` float32 and
    ``video_grid_thw`` ``(1, 3)`` int64, with the plan they follow."""

    pixel_values: np.ndarray
    video_grid_thw: np.ndarray
    plan: VideoPlan


def preprocess_video(frames: np.ndarray, profile: Profile, plan: VideoPlan) -> VideoTensors:
    """Sampled ``(T, H, W, 3)`` uint8 RGB frames → flattened, normalised patches.

    Frames already at ``plan.resized`` (decoded with :func:`frame_resizer`) are not resized
    again.
    """
    p, m, tp = profile.patch_size, profile.merge_size, profile.temporal_patch_size
    chw = resize_frames(frames.transpose(0, 3, 1, 2), plan.resized)  # (T, C, h, w)
    chw = pad_temporal(chw, tp)
    table = video_normalize_table(profile.image_mean, profile.image_std, profile.rescale_factor)
    normed = lookup_hwc(chw.transpose(0, 2, 3, 1), table)  # (T, h, w, C) float32
    patches = patchify(normed.transpose(0, 3, 1, 2), p, m, tp)  # (N, C·T·p·p)
    grid = np.asarray([plan.grid], dtype=np.int64)
    return VideoTensors(patches, grid, plan)


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
    from mmtok.media.video import probe_video, select_frames

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


def load_video(
    source: Source,
    profile: Profile,
    sampling: Sampling,
    *,
    max_duration: float | None = None,
    timestamp_tokens: TextTokens | None = None,
) -> VideoTensors:
    """Decode only the sampled frames of ``source``, resized as they arrive, into tensors."""
    from mmtok.media.video import decode_frames

    _, selection, plan = count_video(
        source, profile, sampling, max_duration=max_duration, timestamp_tokens=timestamp_tokens
    )
    frames = decode_frames(source, selection.indices, transform=frame_resizer(plan.resized))
    return preprocess_video(frames, profile, plan)
