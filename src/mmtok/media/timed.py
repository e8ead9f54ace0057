"""Route a non-image file to the video or audio prober by what its container holds."""

from __future__ import annotations

from mmtok.errors import CorruptMediaError, UnsupportedMediaError
from mmtok.media.info import MediaInfo
from mmtok.media.probe import Source, open_binary, source_name

# Container signatures: a file that starts like one of these but cannot be opened is corrupt
# (or truncated); anything else PyAV refuses is simply not a format mmtok knows.
_AV_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3", b"\x1aE\xdf\xa3", b"\xff\xfb", b"\xff\xf3")


def _looks_like_av(head: bytes) -> bool:
    return head.startswith(_AV_MAGIC) or head[4:8] in (b"ftyp", b"moov", b"mdat", b"free")


def probe_timed(source: Source, *, max_duration: float | None = None) -> MediaInfo:
    """Header facts of a video or audio file (container metadata only, nothing decoded).

    ``max_duration`` (seconds) refuses longer files with :class:`MediaTooLargeError`.
    """
    from mmtok.media.video import open_container

    name = source_name(source)
    with open_binary(source) as stream:
        head = stream.read(16)
    try:
        with open_container(source) as container:
            has_video = any(s.type == "video" for s in container.streams)
            has_audio = any(s.type == "audio" for s in container.streams)
    except CorruptMediaError as exc:
        if type(exc) is CorruptMediaError and not _looks_like_av(head):
            raise UnsupportedMediaError(
                name, "not a recognised image, video or audio format"
            ) from exc
        raise
    if has_video:
        from mmtok.media.video import probe_video

        return probe_video(source, max_duration=max_duration)
    if has_audio:
        from mmtok.media.audio import probe_audio

        return probe_audio(source, max_duration=max_duration)
    raise UnsupportedMediaError(name, "container has neither a video nor an audio stream")
