"""The PyAV container shared by video and audio: open a path or bytes, its format, its duration.

Open failures become typed errors here, so neither the video nor the audio package handles
FFmpeg's exceptions itself.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import av

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaError,
    MediaTooLargeError,
    TruncatedMediaError,
)
from mmtok.media.source import Source, open_binary, source_name


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
        path = Path(source)
        if not path.is_file():
            raise MediaError(name, "file not found")
        if path.stat().st_size == 0:
            raise EmptyMediaError(name, "file is empty (0 bytes)")
        target = str(path)
    try:
        container = av.open(target, "r")
    except av.error.FFmpegError as exc:
        if _isobmff_overruns(source):
            raise TruncatedMediaError(name, "file ends inside an MP4/MOV box") from exc
        raise CorruptMediaError(name, f"container cannot be read ({exc})") from exc
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
                (box_size,) = struct.unpack(">Q", f.read(8))
            if box_size == 0:  # runs to the end of the file by definition
                return False
            if box_size < 8 or offset + box_size > size:
                return True
            offset += box_size
        return offset != size


def file_size(source: Source) -> int:
    if isinstance(source, bytes | bytearray):
        return len(source)
    return os.path.getsize(source)


def format_name(container: av.container.InputContainer, source: Source) -> str:
    """``mp4`` rather than FFmpeg's ``mov,mp4,m4a,...`` when the file's suffix says so."""
    suffix = "" if isinstance(source, bytes | bytearray) else Path(source).suffix[1:].lower()
    if suffix and suffix in (container.format.extensions or set()):
        return suffix
    return container.format.name.split(",")[0]


def header_duration(
    container: av.container.InputContainer, stream: av.stream.Stream, name: str
) -> float:
    """Seconds from the stream's header, else the container's; corrupt when neither has one."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    raise CorruptMediaError(name, "no duration in the header")


def check_duration(name: str, kind: str, duration: float, max_duration: float | None) -> None:
    """Refuse ``duration`` seconds of ``kind`` above ``max_duration``, before decoding."""
    if max_duration is not None and duration > max_duration:
        raise MediaTooLargeError(
            name,
            f"{duration:,.1f} s of {kind}, above the limit of {max_duration:,.1f} s; "
            "refused before decoding",
        )
