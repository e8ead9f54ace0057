"""Video header facts with PyAV: display size (rotation applied), duration, fps, frame count.

Every field is checked before arithmetic uses it: a frame rate of zero or above
:data:`MAX_FPS`, an empty or oversized frame (the image pixel limit applies to each frame),
a duration above the limit, or more frames than the file has bytes are typed errors.
"""

from __future__ import annotations

import math

import av

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaTooLargeError,
    TruncatedMediaError,
    UnsupportedMediaError,
)
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS
from mmtok.media.container import (
    DEFAULT_MAX_DURATION,
    check_duration,
    decoder,
    format_name,
    header_duration,
    open_container,
)
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, file_size, source_name

# Frame rates above this are header damage, not video (high-speed cameras record 960 fps).
MAX_FPS = 1000.0


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
        return frame_rotation(frame)
    return 0


def frame_rotation(frame: av.VideoFrame) -> int:
    """A decoded frame's counter-clockwise display rotation, snapped to 0/90/180/270 degrees
    (0 for a damaged, non-finite matrix)."""
    rotation = frame.rotation
    return round(rotation / 90) * 90 % 360 if math.isfinite(rotation) else 0


def probe_video(
    source: Source,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
) -> MediaInfo:
    """Header facts of a video file; sizes are display sizes (rotation applied).

    Raises :class:`UnsupportedMediaError` without a video stream,
    :class:`CorruptMediaError` for a missing decoder, a zero, absurd or missing frame rate
    or an empty frame size, :class:`TruncatedMediaError` when the index points past the end
    of the file and :class:`MediaTooLargeError` when the duration exceeds ``max_duration``
    seconds or a frame ``max_pixels`` pixels.
    """
    name = source_name(source)
    with open_container(source) as container:
        stream = video_stream(container, name)
        codec = decoder(stream, name)
        # The average rate, else FFmpeg's guess from the timestamps (IVF has no average).
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate is not None else 0.0
        if not 0 < fps <= MAX_FPS:
            raise CorruptMediaError(name, f"header declares a frame rate of {fps:g} fps")
        width, height = codec.width, codec.height
        if width <= 0 or height <= 0:
            raise CorruptMediaError(name, f"header declares an empty {width}×{height} frame")
        if max_pixels is not None and width * height > max_pixels:
            raise MediaTooLargeError(
                name,
                f"header declares {width}×{height} = {width * height:,} pixels per frame, "
                f"above the limit of {max_pixels:,}; refused before decoding",
            )
        duration = header_duration(container, stream, name)
        check_duration(name, "video", duration, max_duration)
        size = file_size(source)
        if _index_overruns(container, size):
            raise TruncatedMediaError(name, "the sample index points past the end of the file")
        frames = stream.frames if stream.frames > 0 else round(duration * fps)
        if frames <= 0:
            raise EmptyMediaError(name, "video stream has no frames")
        if frames > size:
            raise CorruptMediaError(
                name, f"header declares {frames:,} frames in a file of {size:,} bytes"
            )
        try:
            ccw = _first_frame_rotation(container, stream)
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"first frame cannot be decoded ({exc})") from exc
        if ccw in (90, 270):
            width, height = height, width
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_codec = audio.codec_context if audio is not None else None
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
            sample_rate=audio_codec.sample_rate if audio_codec is not None else None,
            channels=audio_codec.channels if audio_codec is not None else None,
            has_audio=audio is not None,
        )
