"""Probe any media file from its headers: the dispatcher above the image, video and audio probers.

Images go through Pillow's header parser (:mod:`mmtok.image.probe`); anything else is opened
as a container and routed by what it holds to :mod:`mmtok.video.probe` or
:mod:`mmtok.audio.probe` (PyAV/soundfile metadata). Nothing is decoded.
"""

from __future__ import annotations

from mmtok.audio.probe import probe_audio
from mmtok.errors import CorruptMediaError, EmptyMediaError, UnsupportedMediaError
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS, probe_image, sniff_image_format
from mmtok.media.container import DEFAULT_MAX_DURATION, open_container
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, open_binary, source_name

_UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "PDF document"),
    (b"<svg", "SVG drawing"),
    (b"<?xml", "XML/SVG document"),
    (b"PK\x03\x04", "ZIP archive"),
)


def probe(
    source: Source,
    *,
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> MediaInfo:
    """Kind, format and size (and duration/fps/sample rate for time media) from headers only.

    Images go through Pillow's header parser; anything Pillow does not recognise is tried as
    a video or audio container. Raises a :class:`~mmtok.errors.MediaError` subclass naming
    the input when it is empty, corrupt, truncated, unsupported or too large (``max_pixels``
    for images and each video frame, ``max_duration`` seconds for video and audio).
    """
    name = source_name(source)
    with open_binary(source) as stream:
        head = stream.read(64)
    if not head:
        raise EmptyMediaError(name, "file is empty (0 bytes)")
    for magic, what in _UNSUPPORTED_MAGIC:
        if head.lstrip().startswith(magic):
            raise UnsupportedMediaError(name, f"{what}, not an image, video or audio file")
    if sniff_image_format(head) is not None:
        return probe_image(source, max_pixels=max_pixels)
    try:
        return probe_image(source, max_pixels=max_pixels)
    except UnsupportedMediaError:
        pass
    return probe_timed(source, max_pixels=max_pixels, max_duration=max_duration)


# Container signatures: a file that starts like one of these but cannot be opened is corrupt
# (or truncated); anything else PyAV refuses is simply not a format mmtok knows.
_AV_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3", b"\x1aE\xdf\xa3", b"\xff\xfb", b"\xff\xf3")


def _looks_like_av(head: bytes) -> bool:
    return head.startswith(_AV_MAGIC) or head[4:8] in (b"ftyp", b"moov", b"mdat", b"free")


def probe_timed(
    source: Source,
    *,
    max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> MediaInfo:
    """Header facts of a video or audio file (container metadata only, nothing decoded).

    ``max_duration`` (seconds) refuses longer files and ``max_pixels`` larger video frames
    with :class:`MediaTooLargeError`.
    """
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
        from mmtok.video.probe import probe_video

        return probe_video(source, max_duration=max_duration, max_pixels=max_pixels)
    if has_audio:
        return probe_audio(source, max_duration=max_duration)
    raise UnsupportedMediaError(name, "container has neither a video nor an audio stream")
