"""The PyAV container shared by video and audio: open a path or bytes, its format, its duration.

Open failures become typed errors here, so neither the video nor the audio package handles
FFmpeg's exceptions itself.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import av

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaTooLargeError,
    TruncatedMediaError,
    describe,
)
from mmtok.media.source import Source, media_path, open_binary, source_name

# Video and audio longer than this (seconds) are refused unless the caller raises the limit:
# a header claiming days of media would otherwise cost days of decoding (or of planning).
DEFAULT_MAX_DURATION = 4 * 3600.0

# FFmpeg may open only local files, and only through the file protocol: a path never turns
# into a URL, and a playlist inside a file cannot reach the network.
_CONTAINER_OPTIONS = {"protocol_whitelist": "file"}


@contextmanager
def open_container(source: Source) -> Iterator[av.container.InputContainer]:
    """A PyAV input container over a path or bytes; open failures become typed errors.

    A file PyAV cannot parse is :class:`TruncatedMediaError` when its top-level ISO-BMFF
    boxes run past the end of the file (an MP4 cut before its index), else corrupt.
    """
    name = source_name(source)
    target: str | BinaryIO
    if isinstance(source, bytes | bytearray):
        if not source:
            raise EmptyMediaError(name, "no bytes")
        target = io.BytesIO(source)
    else:
        target = "file:" + str(media_path(source).absolute())
    try:
        container = av.open(
            target, "r", metadata_errors="replace", container_options=_CONTAINER_OPTIONS
        )
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if _isobmff_overruns(source):
            raise TruncatedMediaError(name, "file ends inside an MP4/MOV box") from exc
        raise CorruptMediaError(name, f"container cannot be read ({describe(exc)})") from exc
    try:
        yield container
    finally:
        container.close()


def _isobmff_overruns(source: Source) -> bool:
    """Whether an ISO-BMFF (MP4/MOV) file's top-level boxes claim more bytes than it has."""
    with open_binary(source) as f:
        f.seek(0, io.SEEK_END)
        size = f.tell()
        f.seek(4)
        if f.read(4) not in (b"ftyp", b"moov", b"mdat", b"free", b"wide"):
            return False
        offset = 0
        while offset + 8 <= size:
            f.seek(offset)
            box_size, _ = struct.unpack(">I4s", f.read(8))
            if box_size == 1:
                large = f.read(8)
                if len(large) < 8:
                    return True
                (box_size,) = struct.unpack(">Q", large)
            if box_size == 0:  # runs to the end of the file by definition
                return False
            if box_size < 8 or offset + box_size > size:
                return True
            offset += box_size
        return offset != size


def format_name(container: av.container.InputContainer, source: Source) -> str:
    """``mp4`` rather than FFmpeg's ``mov,mp4,m4a,...`` when the file's suffix says so."""
    suffix = "" if isinstance(source, bytes | bytearray) else Path(source).suffix[1:].lower()
    if suffix and suffix in (container.format.extensions or set()):
        return suffix
    return container.format.name.split(",")[0]


def header_duration(
    container: av.container.InputContainer, stream: av.stream.Stream, name: str
) -> float:
    """Seconds from the stream's header, else the container's; corrupt when neither has one
    or it is negative or not finite."""
    if stream.duration is not None and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / av.time_base
    else:
        raise CorruptMediaError(name, "no duration in the header")
    if not math.isfinite(seconds) or seconds < 0:
        raise CorruptMediaError(name, f"header declares a duration of {seconds} s")
    return seconds


def decoder(stream: av.stream.Stream, name: str) -> av.codec.context.CodecContext:
    """The stream's decoder; corrupt when FFmpeg has none for it (a mangled codec id)."""
    codec = stream.codec_context
    if codec is None:
        raise CorruptMediaError(name, f"no decoder for the {stream.type} stream's codec")
    return codec


def check_duration(name: str, kind: str, duration: float, max_duration: float | None) -> None:
    """Refuse ``duration`` seconds of ``kind`` above ``max_duration``, before decoding."""
    if max_duration is not None and duration > max_duration:
        raise MediaTooLargeError(
            name,
            f"{duration:,.1f} s of {kind}, above the limit of {max_duration:,.1f} s; "
            "refused before decoding",
        )
