"""Image fixtures made in code: encoded bytes of random or patterned images, EXIF rotations."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def random_image(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """Noise plus a smooth gradient: noise stresses resampling, the gradient gives structure."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = (xx * 255 // max(width - 1, 1) + yy * 127 // max(height - 1, 1)) % 256
    noise = rng.integers(0, 256, (height, width, 3))
    rgb = ((base[..., None] + noise) // 2).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    if mode == "RGBA":
        alpha = rng.integers(0, 256, (height, width), dtype=np.uint8)
        img.putalpha(Image.fromarray(alpha, "L"))
    elif mode != "RGB":
        img = img.convert(mode)
    return img


def encode(img: Image.Image, fmt: str, orientation: int | None = None, **params: object) -> bytes:
    """Encode ``img`` as ``fmt``; with ``orientation``, store that EXIF orientation tag."""
    buf = io.BytesIO()
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        params["exif"] = exif.tobytes()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims ``width × height`` (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )
