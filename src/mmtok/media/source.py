"""Media inputs every modality shares: a path or in-memory bytes, how errors name it, opening it.

A path must name a regular file with content: FIFOs, devices, sockets, directories and
pseudo-files (``/proc``, ``/dev/stdin``) are refused from ``stat`` alone, before anything
opens them, so a FIFO never blocks a run and a device is never read.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import BinaryIO

from mmtok.errors import EmptyMediaError, MediaError

Source = str | os.PathLike[str] | bytes

_KINDS = (
    (stat.S_ISDIR, "is a directory, not a media file"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
)


def source_name(source: Source) -> str:
    """How errors and reports name an input: its path, or ``<bytes>``."""
    return "<bytes>" if isinstance(source, bytes | bytearray) else str(source)


def media_path(source: str | os.PathLike[str]) -> Path:
    """``source`` as a path to a readable regular file with content (``stat`` only, never
    opened); typed errors for a missing, special, unreadable or empty file."""
    try:
        path = Path(source)
        mode = os.stat(path)
    except FileNotFoundError:
        raise MediaError(source_name(source), "file not found") from None
    except (OSError, ValueError, TypeError) as exc:  # ValueError: a NUL byte in the path
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise MediaError(source_name(source), f"cannot be read ({problem})") from None
    for test, problem in _KINDS:
        if test(mode.st_mode):
            raise MediaError(path, problem)
    if not stat.S_ISREG(mode.st_mode):
        raise MediaError(path, "is not a regular file")
    if mode.st_size == 0:
        raise EmptyMediaError(path, "file is empty (0 bytes)")
    return path


def file_size(source: Source) -> int:
    """Bytes in ``source`` (checked like :func:`media_path` for a path)."""
    if isinstance(source, bytes | bytearray):
        return len(source)
    return media_path(source).stat().st_size


def open_binary(source: Source) -> BinaryIO:
    """A readable, seekable binary stream over a path or in-memory bytes.

    The path is checked by :func:`media_path` first; it is then opened non-blocking and
    checked again on the open descriptor, so a file swapped for a FIFO in between cannot
    block either.
    """
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    path = media_path(source)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise MediaError(path, f"cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise MediaError(path, "is not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
