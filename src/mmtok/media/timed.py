"""Route a non-image file to the video or audio prober by what its container holds."""

from __future__ import annotations

import av

from mmtok.errors import CorruptMediaError, UnsupportedMediaError
from mmtok.media.info import MediaInfo
from mmtok.media.probe import Source, open_binary, source_name


def probe_timed(source: Source) -> MediaInfo:
    """Header facts of a video or audio file (container metadata only, nothing decoded)."""
    name = source_name(source)
    try:
        with open_binary(source) as stream, av.open(stream) as container:
            has_video = any(s.type == "video" for s in container.streams)
            has_audio = any(s.type == "audio" for s in container.streams)
    except av.error.InvalidDataError as exc:
        raise UnsupportedMediaError(name, "not a recognised image, video or audio format") from exc
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(name, f"container cannot be read ({exc})") from exc
    if has_video:
        from mmtok.media.video import probe_video

        return probe_video(source)
    if has_audio:
        from mmtok.media.audio import probe_audio

        return probe_audio(source)
    raise UnsupportedMediaError(name, "container has neither a video nor an audio stream")
