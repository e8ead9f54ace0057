"""The VQ image tokenizer: a small convolutional autoencoder with one codebook in its bottleneck.

An image of H×W pixels becomes an (H/f, W/f) grid of code ids, f = 2^stages (8 or 16), and
any such grid decodes back to pixels. Pixels are floats in [0, 1], channels first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from mmtok.discrete.config import VQImageConfig
from mmtok.discrete.quantize import CodebookStats, VectorQuantizer
from mmtok.errors import ConfigError, RequestError


@dataclass(frozen=True)
class VQStep:
    """One training step's outputs: the loss to minimise and what to report."""

    loss: Tensor  # () reconstruction MSE + commitment
    metric: float  # PSNR of the batch, dB
    stats: tuple[CodebookStats, ...]


# GroupNorm, not BatchNorm: an image's ids must not depend on the batch it is encoded in.
def _down(channels: int) -> nn.Module:
    """(B, C, H, W) -> (B, C, H/2, W/2)."""
    conv = nn.Conv2d(channels, channels, 4, stride=2, padding=1)
    return nn.Sequential(conv, nn.GroupNorm(8, channels), nn.GELU())


def _up(channels: int) -> nn.Module:
    """(B, C, H, W) -> (B, C, 2H, 2W)."""
    conv = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
    return nn.Sequential(conv, nn.GroupNorm(8, channels), nn.GELU())


class VQImageTokenizer(nn.Module):
    """Pixels (B, 3, H, W) <-> ids (B, H/f, W/f); H and W must be multiples of f."""

    metric_name: ClassVar[str] = "psnr_db"  # what training reports for reconstruction

    def __init__(self, config: VQImageConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.channels, config.quantizer.dim
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1),
            nn.GELU(),
            *(_down(c) for _ in range(config.stages)),
            nn.Conv2d(c, d, 1),
        )
        self.quantizer = VectorQuantizer(config.quantizer)
        self.decoder = nn.Sequential(
            nn.Conv2d(d, c, 3, padding=1),
            nn.GELU(),
            *(_up(c) for _ in range(config.stages)),
            nn.Conv2d(c, 3, 3, padding=1),
        )

    # The networks see pixels centred to [-1, 1]: fitting 32 generated gradient-and-disc images
    # for 300 steps, [0, 1] inputs reached 14.6 dB and centred ones 25.2 dB (measured).
    def _latents(self, pixels: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, h, w, D), channels last for the quantiser."""
        return self.encoder(pixels * 2 - 1).permute(0, 2, 3, 1)

    def _pixels(self, latents: Tensor) -> Tensor:
        """(B, h, w, D) -> (B, 3, H, W), nominally in [0, 1]."""
        return (self.decoder(latents.permute(0, 3, 1, 2)) + 1) / 2

    @torch.no_grad()
    def encode(self, pixels: Tensor, canonical: bool = False, max_rounds: int = 64) -> Tensor:
        """Pixels (B, 3, H, W) in [0, 1] -> ids (B, H/f, W/f), int64: each latent's nearest code.

        A learned autoencoder does not give back its ids when its own output is re-encoded:
        the decoded image is not the input, so some latents land in a neighbouring code's
        cell (36% of the ids of tests/discrete/test_vq.py's small model move). ``canonical``
        repeats ids <- :meth:`reencode` (ids) until nothing changes, so the ids returned
        re-encode to themselves, at a PSNR cost (measured in tests/discrete/test_vq.py). The
        repeat can cycle instead of settling; after ``max_rounds`` the last ids are returned, and
        ``reencode(ids) != ids`` tells.
        """
        ids = self.quantizer.encode(self._latents(pixels))
        for _ in range(max_rounds if canonical else 0):
            again = self.reencode(ids)
            if torch.equal(again, ids):
                break
            ids = again
        return ids

    @torch.no_grad()
    def reencode(self, ids: Tensor) -> Tensor:
        """Ids (B, h, w) -> the nearest-code ids of their decoded image: equal where stable."""
        return self.quantizer.encode(self._latents(self.decode(ids)))

    @torch.no_grad()
    def decode(self, ids: Tensor) -> Tensor:
        """Ids (B, h, w) -> pixels (B, 3, h·f, w·f) in [0, 1], on the 8-bit grid k/255.

        Rounding to what an 8-bit PNG holds makes a saved image re-encode exactly like the
        tensor does.
        """
        return (self._pixels(self.quantizer.decode(ids)).clamp(0, 1) * 255).round() / 255

    def image_to_ids(
        self, image: Image.Image, size: int | None = None, canonical: bool = False
    ) -> Tensor:
        """An RGB image -> ids (size/f, size/f), after :func:`fit_image` to ``size`` (default:
        the training size). Raises ConfigError when ``size`` is not a multiple of f."""
        size = size or self.config.image_size
        if size % self.config.downsample:
            raise ConfigError(f"image size {size} is not a multiple of {self.config.downsample}")
        pixels = image_to_pixels(fit_image(image, size))
        return self.encode(pixels[None], canonical=canonical)[0]

    def ids_to_image(self, ids: Tensor) -> Image.Image:
        """Ids (h, w) -> an RGB image of (h·f, w·f) pixels. Raises RequestError for ids that are
        not a grid of codes of this codebook."""
        k = self.config.quantizer.codebook_size
        if ids.dim() != 2 or not ids.numel() or not bool(((ids >= 0) & (ids < k)).all()):
            raise RequestError(f"image ids: need a non-empty (h, w) grid of codes in [0, {k})")
        return pixels_to_image(self.decode(ids[None])[0])

    def training_step(self, pixels: Tensor, quantize: bool = True) -> VQStep:
        """Pixels (B, 3, H, W) -> loss = MSE(reconstruction, pixels) + commitment.

        ``quantize=False`` (warm-up): the latents reach the decoder as they are, the codebook
        neither learns nor is used (its stats read zero) and k-means waits for the first
        quantised step. From a random encoder, whose latents barely differ across an image,
        training through the quantiser can sit near the flat-colour baseline for hundreds
        of steps (2 of 3 seeds of tests/discrete/test_vq.py's model after 400, measured).
        """
        latents = self._latents(pixels)
        if not quantize:
            recon = self._pixels(latents)
            mse = F.mse_loss(recon, pixels)
            return VQStep(mse, psnr(recon.detach(), pixels), (CodebookStats(0.0, 0.0, 0, 0),))
        q = self.quantizer(latents)
        recon = self._pixels(q.quantized)
        mse = F.mse_loss(recon, pixels)
        return VQStep(mse + q.commitment_loss, psnr(recon.detach(), pixels), q.stats)


def psnr(estimate: Tensor, reference: Tensor) -> float:
    """Peak signal-to-noise ratio of [0, 1] images, dB: 10·log10(1 / MSE) over all pixels."""
    mse = float(F.mse_loss(estimate.clamp(0, 1), reference))
    return 10 * math.log10(1 / max(mse, 1e-12))


def fit_image(image: Image.Image, size: int) -> Image.Image:
    """Centre-crop to a square and resize to size×size (bicubic): what the tokenizer reads."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    return square.resize((size, size), Image.Resampling.BICUBIC)


def image_to_pixels(image: Image.Image) -> Tensor:
    """RGB PIL image -> (3, H, W) float32 in [0, 1]."""
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def pixels_to_image(pixels: Tensor) -> Image.Image:
    """(3, H, W) in [0, 1] -> RGB PIL image, rounded to 8 bits."""
    array = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    return Image.fromarray(array)  # (H, W, 3) uint8: RGB


def flatten_grid(ids: Tensor, row_separator: int | None = None) -> Tensor:
    """(h, w) -> row-major (h·w,), or (h·(w+1),) with ``row_separator`` after every row.

    A separator after each row (the last too) lets a model that writes the ids end rows
    itself, so the grid's width need not be known in advance.
    """
    if row_separator is None:
        return ids.reshape(-1)
    separators = torch.full((ids.shape[0], 1), row_separator, dtype=ids.dtype)
    return torch.cat([ids, separators], dim=1).reshape(-1)


def unflatten_grid(
    sequence: Tensor, width: int | None = None, row_separator: int | None = None
) -> Tensor:
    """Inverse of :func:`flatten_grid`: (L,) -> (h, w). Needs ``width`` or ``row_separator``.

    Raises RequestError when the sequence does not form whole, equal rows.
    """
    if row_separator is not None:
        ends = (sequence == row_separator).nonzero().squeeze(1)  # positions of separators
        width = int(ends[0]) if ends.numel() else -1
        rows = ends.numel()
        expected = torch.arange(1, rows + 1) * (width + 1) - 1
        if rows == 0 or sequence.numel() != rows * (width + 1) or not torch.equal(ends, expected):
            raise RequestError("image ids: rows differ in width, or a row separator is missing")
        return sequence.view(rows, width + 1)[:, :width]
    if width is None or width <= 0 or sequence.numel() % width:
        raise RequestError(f"image ids: {sequence.numel()} ids do not make rows of width {width}")
    return sequence.view(-1, width)
