"""Per-item overrides: a media part's own options applied to the profile it is planned under."""

from __future__ import annotations

from mmtok.errors import RequestError
from mmtok.fusion.request import ImagePart, MediaPart, VideoPart
from mmtok.image.policies import MaxSide, PanScan, SmartResize, SplitGrid
from mmtok.limits import DEFAULT_LIMITS, Limits
from mmtok.profiles.base import Profile

_VIDEO_OVERRIDES = {
    "fps": "video_fps",
    "max_frames": "video_max_frames",
    "min_pixels": "video_min_pixels",
    "max_pixels": "video_max_pixels",
}


def check(condition: bool, where: str, problem: str) -> None:
    """Raise :class:`RequestError` ``"{where}: {problem}"`` unless ``condition`` holds."""
    if not condition:
        raise RequestError(f"{where}: {problem}")


def _check_limits(part: ImagePart | VideoPart, limits: Limits, where: str) -> None:
    """Refuse the options that ask for more work than the media holds — upscaling an image
    (``min_pixels``), denser sampling (``fps``), more frames (``max_frames``) — above
    ``limits``. What they plan is checked per item (:meth:`Limits.check_item`): a video's
    ``min_pixels`` may bound a whole clip, so only its per-frame result is compared there."""
    if isinstance(part, ImagePart) and part.min_pixels is not None:
        limits.check_option(where, "min_pixels", part.min_pixels, limits.max_resized_pixels)
    if isinstance(part, VideoPart):
        if part.fps is not None:
            limits.check_option(where, "fps", part.fps, limits.max_fps)
        if part.max_frames is not None:
            limits.check_option(where, "max_frames", part.max_frames, limits.max_frames)


def item_profile(
    part: MediaPart, profile: Profile, where: str = "media", limits: Limits = DEFAULT_LIMITS
) -> Profile:
    """``profile`` with the part's own overrides applied — the one place they are mapped.

    Images: ``min_pixels``/``max_pixels`` (dynamic-resolution profiles), ``max_image_size``
    (max-side profiles), ``max_tiles`` (tiled profiles, at most their own cap) or
    ``do_pan_and_scan`` (pan-and-scan profiles) or ``longest_edge`` (image-splitting
    profiles: the processor's ``size.longest_edge``); videos: ``fps``, ``max_frames``,
    ``min_pixels``, ``max_pixels`` onto the profile's video fields (pixel limits: not for
    profiles with a fixed ``video_size``), ``use_audio_in_video``
    (profiles that interleave a video's audio track). An override the profile
    has no knob for, or one above ``limits``, is a :class:`RequestError` naming ``where``.
    """
    if isinstance(part, ImagePart | VideoPart):
        _check_limits(part, limits, where)
    if isinstance(part, VideoPart):
        changes = {
            name: value
            for attr, name in _VIDEO_OVERRIDES.items()
            if (value := getattr(part, attr)) is not None
        }
        if part.min_pixels is not None or part.max_pixels is not None:
            check(
                profile.video_size is None,
                where,
                f"min_pixels/max_pixels of a video apply to profiles that resize frames within "
                f"pixel limits, not {profile.name} (every frame {profile.video_size})",
            )
        if part.use_audio_in_video is not None:
            check(
                not part.use_audio_in_video or profile.audio_in_video_chunk is not None,
                where,
                f"use_audio_in_video applies to profiles that interleave a video's audio "
                f"(Qwen2.5-Omni), not {profile.name}",
            )
            changes["use_audio_in_video"] = part.use_audio_in_video
        if part.fps is not None:  # an fps asked for replaces a uniform default (OneVision)
            changes["video_num_frames"] = None
        return profile.with_options(**changes) if changes else profile
    if not isinstance(part, ImagePart):
        return profile
    changes = {k: v for k in ("min_pixels", "max_pixels") if (v := getattr(part, k)) is not None}
    if changes:
        check(
            isinstance(profile.resize, SmartResize),
            where,
            f"min_pixels/max_pixels apply to dynamic-resolution profiles, not {profile.name}",
        )
    if part.max_image_size is not None:
        check(
            isinstance(profile.resize, MaxSide),
            where,
            f"max_image_size applies to max-side profiles (Pixtral), not {profile.name}",
        )
        changes["max_image_size"] = part.max_image_size
    if part.max_tiles is not None:
        own = getattr(profile.resize, "max_tiles", None)
        check(own is not None, where, f"max_tiles applies to tiled profiles, not {profile.name}")
        low = getattr(profile.resize, "min_tiles", 1)
        check(
            low <= part.max_tiles <= own,
            where,
            f"max_tiles must be between {low} and {profile.name}'s {own}, got {part.max_tiles}",
        )
        changes["max_tiles"] = part.max_tiles
    if part.do_pan_and_scan is not None:
        check(
            isinstance(profile.resize, PanScan),
            where,
            f"do_pan_and_scan applies to pan-and-scan profiles (Gemma 3), not {profile.name}",
        )
        changes["enabled"] = part.do_pan_and_scan
    if part.longest_edge is not None:
        check(
            isinstance(profile.resize, SplitGrid),
            where,
            f"longest_edge applies to image-splitting profiles (Idefics3, SmolVLM), "
            f"not {profile.name}",
        )
        changes["longest_edge"] = part.longest_edge
    return profile.with_options(**changes) if changes else profile
