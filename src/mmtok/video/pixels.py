"""Sampled video frames → the exact pixel tensors (the only video module that imports torch).

Follows transformers' ``Qwen2VLVideoProcessor``: frames resized with torchvision's tensor
bicubic (antialiased), rescaled and normalised in one float32 step, the frame count padded to
a multiple of the temporal patch by repeating the last frame, then cut into flattened patches
``(N, C·T·p·p)`` with ``video_grid_thw = (t, h, w)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from mmtok.image.pixels import lookup_hwc, patchify
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.media.source import Source
from mmtok.video.frames import FrameSelection, decode_frames
from mmtok.video.plan import TextTokens, VideoPlan, count_video
from mmtok.video.sampling import Sampling

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile


@lru_cache(maxsize=16)
def video_normalize_table(
    mean: tuple[float, ...], std: tuple[float, ...], rescale_factor: float
) -> np.ndarray:
    """``(C, 256)`` float32 normalised value of every 8-bit level, in the video processor's
    fused order: ``(x - mean/r) / (std/r)`` with the scaled mean and std in float32.

    The image path rescales first (``mmtok.image.pixels.normalize_table``); the torchvision
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
    """One video's model input: ``pixel_values`` ``(N, C·T·p·p)`` float32 (a profile with
    ``video_inputs="frames"``: ``(T, C, h, w)``, LLaVA-OneVision) and ``video_grid_thw``
    ``(1, 3)`` int64, with the plan they follow."""

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
    grid = np.asarray([plan.grid], dtype=np.int64)
    if profile.video_inputs == "frames":
        return VideoTensors(np.ascontiguousarray(normed.transpose(0, 3, 1, 2)), grid, plan)
    patches = patchify(normed.transpose(0, 3, 1, 2), p, m, tp)  # (N, C·T·p·p)
    return VideoTensors(patches, grid, plan)


def load_frames(
    source: Source, profile: Profile, selection: FrameSelection, plan: VideoPlan
) -> VideoTensors:
    """Decode the frames a plan selected, resized as they arrive, into tensors."""
    frames = decode_frames(source, selection.indices, transform=frame_resizer(plan.resized))
    return preprocess_video(frames, profile, plan)


def load_video(
    source: Source,
    profile: Profile,
    sampling: Sampling,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    timestamp_tokens: TextTokens | None = None,
) -> VideoTensors:
    """Probe, sample and plan ``source`` (:func:`count_video`), then :func:`load_frames`."""
    _, selection, plan = count_video(
        source, profile, sampling, max_duration=max_duration, timestamp_tokens=timestamp_tokens
    )
    return load_frames(source, profile, selection, plan)
