"""Media inputs every modality shares: a path or in-memory bytes, how errors name it, opening it."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import BinaryIO

from mmtok.errors import MediaError

Source = str | os.PathLike[str] | bytes


def source_name(source: Source) -> str:
    """How errors and reports name an input: its path, or ``<bytes>``."""
    return "<bytes>" if isinstance(source, bytes | bytearray) else str(source)


def open_binary(source: Source) -> BinaryIO:
    """A readable, seekable binary stream over a path or in-memory bytes."""
    if isinstance(source, bytes | bytearray):
        return io.BytesIO(source)
    path = Path(source)
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise MediaError(path, "file not found") from exc
    except IsADirectoryError as exc:
        raise MediaError(path, "is a directory, not a media file") from exc
    except OSError as exc:
        raise MediaError(path, f"cannot be read ({exc.strerror})") from exc
