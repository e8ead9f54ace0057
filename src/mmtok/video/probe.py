"""Video header facts with PyAV: display size (rotation applied), duration, fps, frame count."""

from __future__ import annotations

import av

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    TruncatedMediaError,
    UnsupportedMediaError,
)
from mmtok.media.container import (
    check_duration,
    file_size,
    format_name,
    header_duration,
    open_container,
)
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, source_name


def video_stream(container: av.container.InputContainer, name: str) -> av.VideoStream:
    if not container.streams.video:
        raise UnsupportedMediaError(name, "no video stream in the container")
    return container.streams.video[0]


def _index_overruns(container: av.container.InputContainer, file_size: int) -> bool:
    """Whether the container's sample index points past the end of the file (a faststart
    MP4 cut short keeps its index but loses samples)."""
    for stream in container.streams:
        entries = stream.index_entries
        tail = entries[max(0, len(entries) - 8) :] if len(entries) else []
        if any(e.pos + e.size > file_size for e in tail):
            return True
    return False


def _first_frame_rotation(container: av.container.InputContainer, stream: av.VideoStream) -> int:
    """Counter-clockwise display rotation in degrees (0/90/180/270) from the first frame.

    PyAV 18 exposes the display matrix only on decoded frames; one frame is the cost.
    """
    for frame in container.decode(stream):
        return round(frame.rotation / 90) * 90 % 360
    return 0


def probe_video(source: Source, *, max_duration: float | None = None) -> MediaInfo:
    """Header facts of a video file; sizes are display sizes (rotation applied).

    Raises :class:`UnsupportedMediaError` without a video stream,
    :class:`CorruptMediaError` for a zero or missing frame rate,
    :class:`TruncatedMediaError` when the index points past the end of the file and
    :class:`MediaTooLargeError` when the duration exceeds ``max_duration`` seconds.
    """
    name = source_name(source)
    with open_container(source) as container:
        stream = video_stream(container, name)
        # The average rate, else FFmpeg's guess from the timestamps (IVF has no average).
        rate = stream.average_rate or stream.guessed_rate
        if rate is None or rate <= 0:
            raise CorruptMediaError(name, "frame rate of 0 in the header")
        fps = float(rate)
        duration = header_duration(container, stream, name)
        check_duration(name, "video", duration, max_duration)
        if _index_overruns(container, file_size(source)):
            raise TruncatedMediaError(name, "the sample index points past the end of the file")
        frames = stream.frames if stream.frames > 0 else round(duration * fps)
        if frames <= 0:
            raise EmptyMediaError(name, "video stream has no frames")
        width, height = stream.codec_context.width, stream.codec_context.height
        try:
            ccw = _first_frame_rotation(container, stream)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"first frame cannot be decoded ({exc})") from exc
        if ccw in (90, 270):
            width, height = height, width
        audio = container.streams.audio[0] if container.streams.audio else None
        return MediaInfo(
            source=name,
            kind="video",
            format=format_name(container, source),
            width=width,
            height=height,
            rotation=(-ccw) % 360,
            duration=duration,
            fps=fps,
            frame_count=frames,
            sample_rate=audio.rate if audio is not None else None,
            channels=audio.channels if audio is not None else None,
            has_audio=audio is not None,
        )
