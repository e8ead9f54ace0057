"""Which frames of a video a model sees: pure rules over frame counts, rates and scores.

Frame indices count decoded frames in presentation order from 0. Every rule here is integer
or rational arithmetic on header numbers (or on keyframe positions and change scores that
the caller measured), so a count from the header and the frames later decoded agree.

The fps rule is transformers' ``Qwen2VLVideoProcessor.sample_frames``: the number of
frames is ``total / video_fps · fps`` clamped to ``[min_frames, max_frames]`` and to the
frame count, then floored to a multiple of the temporal patch size; the indices are
``⌊i · total / n⌋`` for ``i < n`` (the reference writes this as a float32 ``torch.arange``;
see :func:`uniform_indices` for where the two can differ).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from mmtok.errors import ConfigError
from mmtok.video.scenes import CUT_FLOOR

if TYPE_CHECKING:
    from mmtok.profiles.base import Profile

SamplingMethod = Literal["fps", "uniform", "keyframes", "scenes"]
SAMPLING_METHODS: tuple[SamplingMethod, ...] = ("fps", "uniform", "keyframes", "scenes")
FrameRule = Literal["floor", "linspace", "seconds", "centered", "trimmed"]


@dataclass(frozen=True)
class Sampling:
    """How to pick frames; validated once by :func:`sampling_for`.

    ``fps``/``min_frames``/``max_frames`` drive the ``fps`` and ``scenes`` rules (``scenes``
    keeps the fps rule's frame count and moves frames onto cuts); ``num_frames`` is the
    ``uniform`` count; ``max_frames`` also caps ``keyframes``. ``temporal_patch_size`` is the
    encoder's (frame counts round to multiples of it). ``total_pixels`` caps the pixels of
    all frames together (``None``: only the per-frame limit applies). ``rule`` is the
    family's fps rule (:data:`FPS_RULES`); ``max_seconds`` the longest span the ``seconds``
    rule samples at ``fps`` before it spreads its frames evenly instead.
    """

    method: SamplingMethod = "fps"
    fps: float = 2.0  # frames per second of video
    num_frames: int | None = None  # frames, ``uniform`` only
    min_frames: int = 4
    max_frames: int = 768
    temporal_patch_size: int = 2
    total_pixels: int | None = None  # pixels over all sampled frames
    scene_threshold: float = CUT_FLOOR  # least mean absolute change (0..255) a cut may have
    rule: FrameRule = "floor"
    max_seconds: float | None = None


def sampling_for(
    profile: Profile,
    method: str | None = None,
    *,
    fps: float | None = None,
    num_frames: int | None = None,
    max_frames: int | None = None,
    total_pixels: int | None = None,
) -> Sampling:
    """A :class:`Sampling` with ``profile``'s video defaults and the user's overrides.

    ``method`` ``None``: the profile's default — ``uniform`` with ``video_num_frames`` frames
    (at most ``video_max_frames``) where the profile sets them (LLaVA-OneVision) and no
    ``fps`` is given, else ``fps``.

    Raises :class:`~mmtok.errors.ConfigError` for an unknown method or a non-positive value.
    """
    if method is None:
        method = "fps" if profile.video_num_frames is None or fps is not None else "uniform"
    if method not in SAMPLING_METHODS:
        raise ConfigError(f"--sampling {method!r}: expected one of {', '.join(SAMPLING_METHODS)}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ConfigError(f"--fps {fps}: must be a positive number of frames per second")
    for name, value in (("num_frames", num_frames), ("max_frames", max_frames)):
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if method == "uniform" and profile.video_frame_rule != "floor":
        raise ConfigError(
            f"--sampling uniform: profile {profile.name} samples frames by its own fps rule "
            f"({profile.video_frame_rule}); use fps, keyframes or scenes"
        )
    if method == "uniform" and num_frames is None and max_frames is not None:
        num_frames = max_frames
    elif method == "uniform" and num_frames is None and profile.video_num_frames is not None:
        num_frames = min(profile.video_num_frames, profile.video_max_frames)
    elif method == "uniform" and num_frames is None:
        num_frames = profile.video_min_frames
    if total_pixels is not None and total_pixels < 1:
        raise ConfigError(f"total_pixels {total_pixels}: must be positive")
    return Sampling(
        method=method,  # type: ignore[arg-type]
        fps=profile.video_fps if fps is None else fps,
        num_frames=num_frames,
        min_frames=profile.video_min_frames,
        max_frames=profile.video_max_frames if max_frames is None else max_frames,
        temporal_patch_size=profile.temporal_patch_size,
        total_pixels=total_pixels,
        rule=profile.video_frame_rule,
        max_seconds=profile.video_max_seconds,
    )


def fps_frame_count(
    total_frames: int,
    video_fps: float,
    *,
    fps: float,
    min_frames: int,
    max_frames: int,
    temporal_patch_size: int,
) -> int:
    """Frames the fps rule keeps from ``total_frames`` frames shot at ``video_fps``.

    ``n = total / video_fps · fps``, clamped to ``[min_frames, ⌊min(max_frames, total)⌋_T]``
    and to ``total``, floored to a multiple ``T`` of the temporal patch size. A clip shorter
    than one temporal patch keeps all its frames (the reference divides by zero there).
    """
    t = temporal_patch_size
    cap = math.floor(min(max_frames, total_frames) / t) * t
    n = total_frames / video_fps * fps
    n = min(max(n, min_frames), cap, total_frames)
    n = math.floor(n / t) * t
    return n if n > 0 else min(total_frames, t)


def uniform_frame_count(num_frames: int, total_frames: int, *, temporal_patch_size: int) -> int:
    """Frames kept when the user asks for ``num_frames``: rounded (half to even, as the
    reference's ``round``) to a multiple of the temporal patch, at least one patch, at most
    the largest multiple that fits in ``total_frames`` (the reference raises instead)."""
    t = temporal_patch_size
    n = round(num_frames / t) * t
    cap = (total_frames // t) * t
    return max(min(n, cap), min(t, total_frames))


def uniform_indices(total_frames: int, num_frames: int) -> np.ndarray:
    """``(num_frames,)`` int64: ``⌊i · total / n⌋``, evenly spaced from frame 0.

    Exact integer arithmetic. The reference computes ``arange(0, total, total / n)`` in
    float32, which equals this for clips under 16,384 frames with ``n ≤ 768``; above that a
    float32 rounding can move an index up by one frame. Its float length can also come out
    as ``n + 1`` with a last index equal to ``total`` (17 frames, 14 wanted), a frame that
    does not exist; here the length is always ``n``.
    """
    i = np.arange(num_frames, dtype=np.int64)
    return (i * total_frames) // num_frames


def frame_timestamps(indices: Sequence[int], video_fps: float) -> tuple[float, ...]:
    """Seconds of each sampled frame, ``index / fps`` (transformers' ``VideoMetadata``)."""
    return tuple(int(i) / video_fps for i in indices)


def _floor_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """``Qwen2VLVideoProcessor.sample_frames`` with ``fps``."""
    n = fps_frame_count(
        total_frames,
        video_fps,
        fps=sampling.fps,
        min_frames=sampling.min_frames,
        max_frames=sampling.max_frames,
        temporal_patch_size=sampling.temporal_patch_size,
    )
    return uniform_indices(total_frames, n)


def _linspace_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """``Qwen3VLVideoProcessor.sample_frames`` with ``fps``: ``n = ⌊total / video_fps · fps⌋``
    clamped to ``[min_frames, max_frames]`` and to ``total`` (not rounded to temporal
    patches: the last frame is repeated instead), spread by ``linspace(0, total - 1, n)``
    rounded half to even."""
    n = int(total_frames / video_fps * sampling.fps)
    n = min(max(n, sampling.min_frames), sampling.max_frames, total_frames)
    return np.linspace(0, total_frames - 1, n).round().astype(np.int64)


def _seconds_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """``Glm4vVideoProcessor.sample_frames``: the frame at or after every ``1 / fps`` seconds
    over ``duration = total / video_fps`` (beyond ``max_seconds``: ``max_seconds · fps``
    instants spread over the whole clip), duplicates dropped. The reference then repeats the
    last frame to an even count; here that repeat is the temporal patch's padding
    (:func:`resize_frame_count`), so every index is decoded once."""
    last = total_frames - 1
    duration = total_frames / video_fps
    fps = sampling.fps
    if sampling.max_seconds is None or duration <= sampling.max_seconds:
        n = max(math.floor(duration * fps), 1)
        picks = [min(last, math.ceil(i * video_fps / fps)) for i in range(n)]
    else:
        samples = int(sampling.max_seconds * fps)
        if samples >= total_frames:
            picks = list(range(total_frames))
        else:
            seconds = np.linspace(0, duration, samples, endpoint=True)
            picks = [min(last, math.ceil(t * video_fps)) for t in seconds]
    return np.asarray(list(dict.fromkeys(picks)), dtype=np.int64)


def _centered_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """``InternVLVideoProcessor.sample_frames`` with ``fps``: ``n = ⌊total / video_fps ·
    fps⌋`` (clamped to ``[min_frames, max_frames]`` and to ``total``, where the reference
    has no bounds), each frame the middle of its ``total / n`` segment: ``⌊s + i · total /
    n⌋`` with ``s = total / n / 2``, computed as the reference's float32 ``arange``."""
    n = int(total_frames / video_fps * sampling.fps)
    n = min(max(min(n, sampling.max_frames), sampling.min_frames, 1), total_frames)
    step = total_frames / n
    shift = step / 2
    count = math.ceil((total_frames - shift) / step)
    values = (shift + step * np.arange(count, dtype=np.float64)).astype(np.float32)
    return values.astype(np.int64)


TRIM_SECONDS = 1
"""Seconds SmolVLM skips at each end of a long clip (``sample_frames``' ``skip_secs``)."""


def _trimmed_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """``SmolVLMVideoProcessor.sample_frames``: ``round(fps · duration)`` frames (at most
    ``max_frames``, at least ``min_frames`` and 1) spread by an integer ``linspace`` over the
    clip, skipping :data:`TRIM_SECONDS` at both ends when the clip is longer than
    ``max_frames`` frames at ``fps`` plus both skips; duplicates dropped."""
    duration = total_frames / video_fps
    n = max(min(round(sampling.fps * duration), sampling.max_frames), sampling.min_frames, 1)
    start, end = 0, total_frames - 1
    if duration - 2 * TRIM_SECONDS > sampling.max_frames * sampling.fps:
        start = int(TRIM_SECONDS * video_fps)
        end = min(int(total_frames - TRIM_SECONDS * video_fps), total_frames - 1)
    if start >= end:
        start, end = 0, total_frames - 1
    return np.unique(np.linspace(start, end, n, dtype=int)).astype(np.int64)


FPS_RULES = {
    "floor": _floor_indices,
    "linspace": _linspace_indices,
    "seconds": _seconds_indices,
    "centered": _centered_indices,
    "trimmed": _trimmed_indices,
}
"""The fps rule of each family, by ``Profile.video_frame_rule``."""


def resize_frame_count(num_frames: int, rule: FrameRule, temporal_patch_size: int) -> int:
    """Frames a clip-wide resize rule counts: the sampled ones, or for the ``seconds`` rule
    (GLM-4V) that count padded to whole temporal patches, as its sampler pads before
    resizing."""
    t = temporal_patch_size
    return -(-num_frames // t) * t if rule == "seconds" else num_frames


def fps_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """Indices of the fps rule ``sampling.rule`` (see :data:`FPS_RULES`)."""
    return FPS_RULES[sampling.rule](total_frames, video_fps, sampling)


def header_indices(total_frames: int, video_fps: float, sampling: Sampling) -> np.ndarray:
    """Indices of a method that needs only the header's frame count and rate: ``fps``
    (:func:`fps_indices`) or ``uniform`` (:func:`uniform_frame_count` frames,
    :func:`uniform_indices`)."""
    if sampling.method == "fps":
        return fps_indices(total_frames, video_fps, sampling)
    assert sampling.method == "uniform" and sampling.num_frames is not None
    n = uniform_frame_count(
        sampling.num_frames, total_frames, temporal_patch_size=sampling.temporal_patch_size
    )
    return uniform_indices(total_frames, n)


def keyframe_indices(keyframes: Sequence[int], max_frames: int) -> np.ndarray:
    """The keyframes themselves (frame indices, ascending); thinned uniformly to at most
    ``max_frames`` by the same ``⌊i · K / n⌋`` rule over the keyframe list."""
    kf = np.asarray(sorted(set(keyframes)), dtype=np.int64)
    if len(kf) <= max_frames:
        return kf
    return kf[uniform_indices(len(kf), max_frames)]


def scene_indices(
    total_frames: int, num_frames: int, cuts: Sequence[int], strengths: Sequence[float]
) -> np.ndarray:
    """``num_frames`` indices that include the first frame after every cut, the rest uniform.

    Starts from :func:`uniform_indices` and moves, for each cut (strongest first), the
    nearest not-yet-moved uniform sample onto the cut frame; when there are more cuts than
    frames the weakest cuts are dropped. The result stays sorted and unique.
    """
    picks = uniform_indices(total_frames, num_frames).copy()
    moved = np.zeros(num_frames, dtype=bool)
    order = np.argsort(-np.asarray(strengths, dtype=np.float64), kind="stable")
    for k in order[:num_frames]:
        cut = int(cuts[k])
        if cut in picks[moved]:
            continue
        free = np.flatnonzero(~moved)
        j = free[np.argmin(np.abs(picks[free] - cut))]
        picks[j] = cut
        moved[j] = True
    return np.unique(picks)


def frame_max_pixels(
    num_frames: int,
    *,
    min_pixels: int,
    max_pixels: int,
    total_pixels: int,
    temporal_patch_size: int,
) -> int:
    """Per-frame pixel cap under a budget of ``total_pixels`` for all frames together.

    transformers' ``cap_pixels_per_frame`` (and qwen-vl-utils): each temporal patch gets an
    even share, ``total · T // frames``, never above ``max_pixels`` and never below
    ``1.05 · min_pixels`` — so more frames means smaller frames, down to that floor.
    """
    share = total_pixels * temporal_patch_size // num_frames
    return max(min(max_pixels, share), int(min_pixels * 1.05))
