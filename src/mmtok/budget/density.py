"""Token density of a profile: tokens per image by resolution, per second of video and audio.

Computed from the profile's real rules (the same plans counting and encoding use), not from
rules of thumb, so the table answers "what does a 1080p frame cost in *this* model".
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from mmtok.audio.plan import plan_audio
from mmtok.errors import MmtokError
from mmtok.profiles import ProfileLike, as_profile
from mmtok.video.plan import plan_video
from mmtok.video.sampling import fps_indices, sampling_for

IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (224, 224),
    (336, 336),
    (512, 512),
    (1024, 1024),
    (1280, 720),
    (1920, 1080),
    (3840, 2160),
)
VIDEO_SIZES: tuple[tuple[int, int], ...] = ((640, 360), (1280, 720), (1920, 1080))


@dataclass(frozen=True)
class DensityRow:
    """One line of the density table: ``tokens`` for ``what`` (fences included), and
    ``per_second`` for time media (tokens per second of media)."""

    kind: str
    what: str
    tokens: int
    per_second: float | None = None


def image_density(profile: ProfileLike) -> list[DensityRow]:
    """Tokens of one image at common resolutions (``width×height``)."""
    profile = as_profile(profile)
    rows = []
    for w, h in IMAGE_SIZES:
        plan = profile.plan_image(h, w)
        rows.append(DensityRow("image", f"{w}×{h}", plan.tokens + plan.fence_tokens))
    return rows


def video_density(
    profile: ProfileLike, seconds: float = 60.0, video_fps: float = 30.0
) -> list[DensityRow]:
    """Tokens of a ``seconds``-long clip at ``video_fps`` under the profile's default fps
    sampling, per size, and the resulting tokens per second of video."""
    profile = as_profile(profile)
    if "video" not in profile.modalities:
        return []
    sampling = sampling_for(profile)
    total = round(seconds * video_fps)
    indices = fps_indices(total, video_fps, sampling)
    n = len(indices)
    rows = []
    for w, h in VIDEO_SIZES:
        plan = plan_video(profile, h, w, indices, total, video_fps)
        tokens = plan.tokens + plan.fence_tokens
        what = f"{w}×{h}, {seconds:g} s @ {sampling.fps:g} fps sampled ({n} frames)"
        rows.append(DensityRow("video", what, tokens, tokens / seconds))
    return rows


def audio_density(profile: ProfileLike, seconds: float = 30.0) -> list[DensityRow]:
    """Tokens of ``seconds`` of audio (one encoder window) and tokens per second."""
    profile = as_profile(profile)
    if "audio" not in profile.modalities:
        return []
    plan = plan_audio(round(seconds * 16000), profile)
    tokens = plan.tokens + plan.fence_tokens
    return [DensityRow("audio", f"{seconds:g} s", tokens, tokens / seconds)]


def density_report(profile: ProfileLike) -> list[DensityRow]:
    """The whole table for a profile (or its name, or a model folder); modalities it lacks
    are simply absent."""
    profile = as_profile(profile)
    rows = image_density(profile)
    with suppress(MmtokError):  # a profile without a video resize rule has no video density
        rows += video_density(profile)
    return rows + audio_density(profile)
