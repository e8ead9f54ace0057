"""Decode an image to RGB exactly as the reference processors receive it.

The header is probed first (bombs and truncation refused before any pixel is decoded), then
Pillow decodes, EXIF orientation is applied (so decoded size == probed size), and the image is
converted to RGB with transparency composited onto white — what both transformers'
``convert_to_rgb`` and mistral-common do.
"""

from __future__ import annotations

import warnings

from PIL import Image, ImageOps

from mmtok.errors import CorruptMediaError, MediaError, TruncatedMediaError, describe
from mmtok.image.probe import DEFAULT_MAX_IMAGE_PIXELS, PILLOW_ERRORS, probe_image
from mmtok.media.source import Source, open_binary, source_name


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB view of ``image``; alpha (or a transparency key) composited over white."""
    if "A" in image.getbands() or image.info.get("transparency") is not None:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_image(
    source: Source, *, max_pixels: int | None = DEFAULT_MAX_IMAGE_PIXELS
) -> Image.Image:
    """Decoded RGB image, EXIF orientation applied; typed errors for every bad input."""
    info = probe_image(source, max_pixels=max_pixels)
    name = source_name(source)
    try:
        with open_binary(source) as stream, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)  # damage is refused or tolerated
            img = Image.open(stream)
            img.load()
            if info.orientation != 1:
                # Only when there is something to undo: with nothing to do, Pillow's
                # exif_transpose returns a full copy of the decoded image (36 MB at 12 MP).
                img = ImageOps.exif_transpose(img)
            return to_rgb(img)
    except MediaError:
        raise
    except PILLOW_ERRORS as exc:
        if "truncated" in str(exc).lower():
            raise TruncatedMediaError(name, "image data is truncated") from exc
        raise CorruptMediaError(name, f"image data cannot be decoded ({describe(exc)})") from exc
