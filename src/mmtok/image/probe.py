"""Image facts from headers alone: format, display size, EXIF orientation; bombs refused here.

Images are probed with Pillow's lazy ``Image.open`` (it parses the header and stops), plus a
look at the file's tail so a truncated JPEG/PNG/GIF/WebP/BMP is caught without decoding.
Video and audio have their own probes (:mod:`mmtok.video.probe`, :mod:`mmtok.audio.probe`);
:func:`mmtok.probe.probe` routes a file to the right one.
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    MediaTooLargeError,
    TruncatedMediaError,
    UnsupportedMediaError,
    describe,
)
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, open_binary, source_name

# Refuse images above this many pixels before decoding (~ a 10,000 × 10,000 scan). Pillow's
# own bomb check still applies on top, at twice its ``Image.MAX_IMAGE_PIXELS``.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000

_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)
# EXIF orientations 5–8 rotate by 90° or 270°: the displayed width and height swap.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}

# What Pillow's format plugins raise on bytes they cannot parse or decode, beyond OSError:
# each plugin picks its own (BMP/TIFF ``struct.error`` and ``ValueError``, GIF ``EOFError``
# and ``IndexError``, BLP ``NotImplementedError``, AVIF ``RuntimeError``, EXIF ``KeyError``,
# ``TypeError`` and ``ZeroDivisionError`` from tag arithmetic).
PILLOW_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    RuntimeError,
    NotImplementedError,
    UnicodeDecodeError,
)


def sniff_image_format(head: bytes) -> str | None:
    """The image format named by the first bytes, or ``None``."""
    for magic, fmt in _IMAGE_MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _is_complete(fmt: str, stream: BinaryIO, size: int) -> bool:
    """Whether the file's tail shows its end marker, read without decoding any pixels."""
    tail_len = min(size, 4096)
    stream.seek(size - tail_len)
    tail = stream.read(tail_len)
    if fmt == "jpeg":
        # EOI marker; encoders may append padding or trailers after it.
        return b"\xff\xd9" in tail
    if fmt == "png":
        return b"IEND\xaeB`\x82" in tail
    if fmt == "gif":
        return tail.rstrip(b"\x00").endswith(b";")
    if fmt == "webp":
        return size >= _le32(stream, 4) + 8
    if fmt == "bmp":
        declared = _le32(stream, 2)
        return declared == 0 or size >= declared
    return True


def _le32(stream: BinaryIO, offset: int) -> int:
    """The little-endian 32-bit size field at ``offset``; a file too short to hold it reads
    as claiming more than any file has (so it counts as truncated)."""
    stream.seek(offset)
    raw = stream.read(4)
    return struct.unpack("<I", raw)[0] if len(raw) == 4 else 1 << 62


def _png_exif_orientation(stream: BinaryIO) -> int:
    """EXIF orientation from a PNG's ``eXIf`` chunk, found by walking the chunk headers.

    Pillow's ``getexif()`` decodes the whole PNG when ``eXIf`` follows the image data; this
    reads 8 bytes per chunk and seeks over the data, so probing stays header-only.
    """
    stream.seek(8)
    while header := stream.read(8):
        if len(header) < 8:
            break
        length, kind = struct.unpack(">I4s", header)
        if kind == b"eXIf":
            exif = Image.Exif()
            exif.load(stream.read(length))
            return int(exif.get(0x0112, 1) or 1)
        if kind == b"IEND":
            break
        stream.seek(length + 4, io.SEEK_CUR)
    return 1


def probe_image(source: Source, *, max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS) -> MediaInfo:
    """Header facts of an image; raises a typed error for corrupt, truncated or bomb files.

    ``width``/``height`` are the *displayed* size: EXIF orientations 5–8 swap them, exactly
    as :func:`mmtok.image.decode.decode_image` will when it applies the orientation.
    """
    name = source_name(source)
    with open_binary(source) as stream:
        stream.seek(0, io.SEEK_END)
        size = stream.tell()
        if size == 0:
            raise EmptyMediaError(name, "file is empty (0 bytes)")
        stream.seek(0)
        head = stream.read(16)
        fmt = sniff_image_format(head)
        if fmt is not None and not _is_complete(fmt, stream, size):
            raise TruncatedMediaError(name, f"{fmt} file is truncated ({size:,} bytes)")
        stream.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                warnings.simplefilter("ignore", UserWarning)  # damage is refused or tolerated
                img = Image.open(stream)
                width, height = img.size
                pil_format = (img.format or fmt or "unknown").lower()
                if pil_format == "png" and "exif" not in img.info:
                    orientation = _png_exif_orientation(stream)
                else:
                    orientation = int(img.getexif().get(0x0112, 1) or 1)
        except Image.DecompressionBombError as exc:
            raise MediaTooLargeError(name, f"refused before decoding: {exc}") from exc
        except UnidentifiedImageError as exc:
            if fmt is not None:
                raise CorruptMediaError(name, f"{fmt} header is corrupt") from exc
            raise UnsupportedMediaError(name, "not a recognised image format") from exc
        except PILLOW_ERRORS as exc:
            if "runcated" in str(exc):
                raise TruncatedMediaError(name, f"{fmt or 'image'} header is truncated") from exc
            raise CorruptMediaError(name, f"header cannot be parsed ({describe(exc)})") from exc
        if width <= 0 or height <= 0:
            raise CorruptMediaError(name, f"header declares an empty {width}×{height} image")
        if max_pixels is not None and width * height > max_pixels:
            raise MediaTooLargeError(
                name,
                f"header declares {width}×{height} = {width * height:,} pixels, above the "
                f"limit of {max_pixels:,}; refused before decoding (raise max_pixels to allow)",
            )
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return MediaInfo(
        source=name,
        kind="image",
        format="jpeg" if pil_format == "mpo" else pil_format,
        width=width,
        height=height,
        orientation=orientation,
    )
