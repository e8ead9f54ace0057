"""Codebook health on real data: how many codes a folder of images uses, how evenly, and how
well the tokenizer reconstructs each image.

Collapse (a few codes doing all the work) and dead codes waste a tokenizer's vocabulary;
utilisation, entropy and perplexity of the code histogram show it, PSNR and SSIM of each
decoded image show what it costs. Pure NumPy over code ids and 8-bit pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from mmtok.image.decode import decode_image


class ImageTokenizer(Protocol):
    """What the health report needs of a tokenizer: ids, the pixels they stand for, pixels
    back (None when it cannot decode)."""

    @property
    def codebook_size(self) -> int: ...

    def tokenize(self, image: Image.Image, source: str) -> tuple[np.ndarray, np.ndarray]: ...

    def detokenize(self, ids: np.ndarray) -> np.ndarray | None: ...


def psnr_u8(estimate: np.ndarray, reference: np.ndarray) -> float:
    """PSNR of two (H, W, 3) uint8 images, dB: 10·log10(255² / MSE); identical -> inf."""
    mse = float(np.mean((estimate.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def _gaussian_blur(x: np.ndarray, sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    """(H, W) float64 -> same, a separable 11-tap Gaussian over the valid region only."""
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    rows = np.apply_along_axis(np.convolve, 0, x, taps, mode="valid")
    return np.apply_along_axis(np.convolve, 1, rows, taps, mode="valid")


def ssim_u8(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: 11-tap Gaussian σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255)
    of two (H, W, 3) uint8 images, averaged over channels; images under 11 px use one window."""
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for ch in range(reference.shape[2]):
        a = estimate[..., ch].astype(np.float64)
        b = reference[..., ch].astype(np.float64)
        if min(a.shape) < 11:
            mu_a, mu_b = a.mean(), b.mean()
            var_a, var_b, cov = a.var(), b.var(), ((a - mu_a) * (b - mu_b)).mean()
        else:
            mu_a, mu_b = _gaussian_blur(a), _gaussian_blur(b)
            var_a = _gaussian_blur(a * a) - mu_a**2
            var_b = _gaussian_blur(b * b) - mu_b**2
            cov = _gaussian_blur(a * b) - mu_a * mu_b
        s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
            (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
        )
        scores.append(float(np.mean(s)))
    return float(np.mean(scores))


@dataclass(frozen=True)
class ImageQuality:
    """One image: its grid and, where the tokenizer decodes, its reconstruction quality."""

    name: str
    rows: int
    cols: int
    psnr_db: float | None = None
    ssim: float | None = None


@dataclass(frozen=True)
class CodebookHealth:
    """Code usage over a set of images and their reconstruction quality."""

    codebook_size: int  # K
    counts: np.ndarray = field(repr=False)  # (K,) int64: how often each code was picked
    images: tuple[ImageQuality, ...] = ()

    @property
    def codes(self) -> int:
        """Ids in all the images together."""
        return int(self.counts.sum())

    @property
    def used(self) -> int:
        """Codes picked at least once."""
        return int((self.counts > 0).sum())

    @property
    def utilisation(self) -> float:
        """used / K, 0..1."""
        return self.used / self.codebook_size

    @property
    def dead(self) -> int:
        """Codes never picked on this data."""
        return self.codebook_size - self.used

    @property
    def entropy_bits(self) -> float:
        """Entropy of the code histogram, bits; log2(K) for perfectly even use."""
        p = self.counts[self.counts > 0] / max(self.codes, 1)
        return float(-(p * np.log2(p)).sum())

    @property
    def perplexity(self) -> float:
        """2^entropy: the effective number of codes in use, 1..K."""
        return 2.0**self.entropy_bits

    def mean(self, key: str) -> float | None:
        """Mean of ``psnr_db`` or ``ssim`` over the images that decoded (finite values)."""
        values = [getattr(q, key) for q in self.images if getattr(q, key) is not None]
        values = [v for v in values if math.isfinite(v)]
        return float(np.mean(values)) if values else None

    def summary(self) -> dict[str, object]:
        """JSON-ready report: usage numbers, mean quality and the per-image rows."""
        return {
            "codebook_size": self.codebook_size,
            "images": len(self.images),
            "codes": self.codes,
            "used": self.used,
            "utilisation": self.utilisation,
            "dead": self.dead,
            "entropy_bits": self.entropy_bits,
            "perplexity": self.perplexity,
            "mean_psnr_db": self.mean("psnr_db"),
            "mean_ssim": self.mean("ssim"),
            "per_image": [q.__dict__ for q in self.images],
        }


def add_counts(counts: np.ndarray, ids: np.ndarray) -> None:
    """Add the codes of one grid (any shape, int) to a (K,) histogram in place."""
    counts += np.bincount(ids.reshape(-1), minlength=counts.shape[0])


def measure(
    tokenizer: ImageTokenizer,
    paths: Sequence[Path],
    on_image: Callable[[ImageQuality], None] | None = None,
) -> CodebookHealth:
    """Tokenize every image (and decode it back, where the tokenizer can): the code histogram
    over all of them and each one's PSNR/SSIM against the pixels its codes stand for."""
    counts = np.zeros(tokenizer.codebook_size, dtype=np.int64)
    rows = []
    for path in paths:
        ids, target = tokenizer.tokenize(decode_image(path), str(path))
        add_counts(counts, ids)
        decoded = tokenizer.detokenize(ids)
        quality = ImageQuality(str(path), *ids.shape)
        if decoded is not None:
            quality = ImageQuality(
                str(path), *ids.shape, psnr_u8(decoded, target), ssim_u8(decoded, target)
            )
        rows.append(quality)
        if on_image is not None:
            on_image(quality)
    return CodebookHealth(tokenizer.codebook_size, counts, tuple(rows))


def plot_health(health: CodebookHealth, path: Path) -> None:
    """Two panels: every code's count sorted (collapse shows as a cliff) and the per-image
    PSNR histogram (when the tokenizer decodes). Written as a PNG."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 3.6), layout="constrained")
    usage, quality = figure.subplots(1, 2)
    ranked = np.sort(health.counts)[::-1]
    usage.plot(np.arange(1, ranked.size + 1), np.maximum(ranked, 0.5), lw=0.8)
    usage.set_yscale("log")
    usage.set_xscale("log")
    usage.set_title(
        f"code usage: {health.used}/{health.codebook_size} used, perplexity {health.perplexity:.0f}"
    )
    usage.set_xlabel("code rank")
    usage.set_ylabel("count (0 drawn at 0.5)")
    psnrs = [q.psnr_db for q in health.images if q.psnr_db is not None and math.isfinite(q.psnr_db)]
    if psnrs:
        quality.hist(psnrs, bins=min(30, max(5, len(psnrs))), color="grey")
        quality.set_title(f"reconstruction PSNR (mean {np.mean(psnrs):.1f} dB)")
        quality.set_xlabel("dB")
    else:
        quality.set_title("no decoder: reconstruction not measured")
        quality.set_axis_off()
    for axis in (usage, quality):
        axis.grid(alpha=0.3)
    figure.savefig(path, dpi=100)
