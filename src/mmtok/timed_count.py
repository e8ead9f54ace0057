"""Count rows for video and audio files: duration-based, from container headers."""

from __future__ import annotations

from mmtok.audio_tokens import count_audio
from mmtok.count import CountOptions, CountRow
from mmtok.media.info import MediaInfo
from mmtok.profiles.base import Profile
from mmtok.sampling import sampling_for
from mmtok.video_tokens import count_video


def count_timed(info: MediaInfo, profile: Profile, options: CountOptions) -> CountRow:
    """A video row (sampled frame indices and timestamps included) or an audio row.

    Only ``scenes`` sampling decodes anything (one low-resolution pass); the row's
    ``decoded`` field says what was read: ``header``, ``packets`` or ``low-res pass``.
    """
    if info.kind == "audio":
        _, plan = count_audio(info.source, profile, info=info)
        return CountRow(
            path=info.source,
            kind="audio",
            tokens=plan.tokens,
            extra={
                "format": info.format,
                "duration": info.duration,
                "sample_rate": info.sample_rate,
                "windows": len(plan.windows),
                "fence_tokens": plan.fence_tokens,
            },
        )
    sampling = sampling_for(
        profile,
        options.sampling,
        fps=options.fps,
        num_frames=options.num_frames,
        max_frames=options.max_frames,
    )
    _, selection, plan = count_video(info.source, profile, sampling, info=info)
    return CountRow(
        path=info.source,
        kind="video",
        width=info.width,
        height=info.height,
        resized=list(plan.resized),
        grid=list(plan.grid),
        tokens=plan.tokens,
        extra={
            "format": info.format,
            "duration": info.duration,
            "fps": info.fps,
            "frame_count": selection.total_frames,
            "sampled_frames": list(selection.indices),
            "timestamps": list(selection.timestamps),
            "decoded": selection.decoded,
            "seconds_per_grid": plan.seconds_per_grid,
            "fence_tokens": plan.fence_tokens,
            "rotation": info.rotation,
        },
    )
