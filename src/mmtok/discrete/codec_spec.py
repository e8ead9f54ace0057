"""Codec token accounting: what a neural audio codec emits per second, and its code layouts.

A codec with hop ``h`` at sample rate ``sr`` emits one frame every ``h`` samples; each frame
holds one id from each of its Q codebooks, each codebook of K entries carrying log2(K) bits.
Multi-scale codecs (SNAC) run codebook q at a coarser frame of ``h · stride_q`` samples.
Counting is exact: rates are fractions, and a clip of N samples has ``ceil(N / (h · stride_q))``
frames in codebook q (a partial last frame is padded and still costs a whole frame).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from mmtok.errors import ConfigError, RequestError

if TYPE_CHECKING:  # the layouts take tensors; the arithmetic above them needs no torch
    from torch import Tensor

Layout = Literal["frame-major", "delay", "parallel"]


@dataclass(frozen=True)
class CodecSpec:
    """The token arithmetic of one codec configuration."""

    name: str
    sample_rate: int  # Hz
    hop_length: int  # samples per frame at the finest scale
    num_codebooks: int  # Q
    codebook_size: int  # K entries per codebook
    scale_strides: tuple[int, ...] = ()  # per codebook, frame = hop · stride; () means all 1

    def __post_init__(self) -> None:
        if min(self.sample_rate, self.hop_length, self.num_codebooks, self.codebook_size) < 1:
            raise ConfigError(f"codec {self.name!r}: rates, hop and codebook counts must be ≥ 1")
        if self.scale_strides and len(self.scale_strides) != self.num_codebooks:
            raise ConfigError(
                f"codec {self.name!r}: {len(self.scale_strides)} scale strides "
                f"for {self.num_codebooks} codebooks"
            )

    @property
    def strides(self) -> tuple[int, ...]:
        """Frame stride of each codebook, in finest-scale frames: (Q,)."""
        return self.scale_strides or (1,) * self.num_codebooks

    @property
    def frame_rate(self) -> Fraction:
        """Finest-scale frames per second, Hz."""
        return Fraction(self.sample_rate, self.hop_length)

    @property
    def codebook_rates(self) -> tuple[Fraction, ...]:
        """Frames per second of each codebook, Hz: (Q,)."""
        return tuple(self.frame_rate / s for s in self.strides)

    @property
    def tokens_per_second(self) -> Fraction:
        """Code ids per second, all codebooks together."""
        return sum(self.codebook_rates, Fraction(0))

    @property
    def bitrate(self) -> float:
        """Bits per second: tokens per second × log2(K)."""
        return float(self.tokens_per_second) * math.log2(self.codebook_size)

    def with_codebooks(self, num_codebooks: int) -> CodecSpec:
        """The same codec using its first ``num_codebooks`` codebooks (a lower bitrate)."""
        strides = self.scale_strides[:num_codebooks]
        return dataclasses.replace(self, num_codebooks=num_codebooks, scale_strides=strides)

    def num_samples(self, seconds: float) -> int:
        """Samples in a clip of ``seconds``, rounded to the nearest sample."""
        return round(seconds * self.sample_rate)

    def num_frames(self, num_samples: int, codebook: int = 0) -> int:
        """Frames codebook ``codebook`` emits for ``num_samples``: ceil(N / (hop · stride))."""
        return -(-num_samples // (self.hop_length * self.strides[codebook]))

    def num_tokens(self, num_samples: int) -> int:
        """Code ids for ``num_samples`` samples, all codebooks: Σ_q ceil(N / (hop·stride_q))."""
        return sum(self.num_frames(num_samples, q) for q in range(self.num_codebooks))

    def sequence_length(self, num_samples: int, layout: Layout) -> int:
        """Positions the codes of ``num_samples`` take in a sequence laid out as ``layout``.

        frame-major: one position per id (T·Q); delay: (T + Q − 1)·Q, pads included;
        parallel: T steps, each carrying Q ids. Delay and parallel need a single-scale codec.
        """
        if layout == "frame-major":
            return self.num_tokens(num_samples)
        if self.scale_strides and set(self.scale_strides) != {1}:
            raise ConfigError(
                f"codec {self.name!r}: the {layout} layout needs a single-scale codec"
            )
        frames = self.num_frames(num_samples)
        return (
            (frames + self.num_codebooks - 1) * self.num_codebooks if layout == "delay" else frames
        )


def _encodec(kbps: str, num_codebooks: int) -> tuple[str, CodecSpec]:
    name = f"encodec-24khz-{kbps}kbps"
    return name, CodecSpec(name, 24_000, 320, num_codebooks, 1024)


PRESETS: dict[str, CodecSpec] = {
    # EnCodec 24 kHz (Défossez et al., 2022): strides 2·4·5·8 = 320 → 75 Hz, 1024-entry codebooks,
    # 2/4/8/16/32 codebooks for 1.5/3/6/12/24 kbps.
    **dict(_encodec(k, q) for k, q in (("1.5", 2), ("3", 4), ("6", 8), ("12", 16), ("24", 32))),
    # DAC 44.1 kHz (Kumar et al., 2023): hop 512 → 86.13 Hz, 9 codebooks of 1024: 7.75 kbps
    # exactly, published as "8 kbps".
    "dac-44khz": CodecSpec("dac-44khz", 44_100, 512, 9, 1024),
    # SNAC 24 kHz (Siuzdak et al., 2024): hop 512, scales at ÷4, ÷2, ÷1 → 11.7/23.4/46.9 Hz,
    # 4096 codes: 0.98 kbps.
    "snac-24khz": CodecSpec("snac-24khz", 24_000, 512, 3, 4096, scale_strides=(4, 2, 1)),
    # Mimi (Kyutai, Moshi, 2024): 24 kHz at 12.5 Hz (hop 1920), 8 codebooks of 2048: 1.1 kbps;
    # the model has 32 codebooks (4.4 kbps).
    "mimi": CodecSpec("mimi", 24_000, 1920, 8, 2048),
    "mimi-32": CodecSpec("mimi-32", 24_000, 1920, 32, 2048),
}


def frame_major(codes: Tensor) -> Tensor:
    """(..., T, Q) -> (..., T·Q): ``[t1: c1..cQ][t2: c1..cQ]…``, one frame after another."""
    return codes.flatten(-2)


def from_frame_major(sequence: Tensor, num_codebooks: int) -> Tensor:
    """Inverse of :func:`frame_major`: (..., T·Q) -> (..., T, Q)."""
    if sequence.shape[-1] % num_codebooks:
        raise RequestError(
            f"audio ids: {sequence.shape[-1]} ids are not whole frames of {num_codebooks} codebooks"
        )
    return sequence.unflatten(-1, (-1, num_codebooks))


def delay_pattern(codes: Tensor, pad: int) -> Tensor:
    """(..., T, Q) -> (..., T + Q − 1, Q): codebook q shifted q steps later (MusicGen).

    At step t a model writes codebook q of frame t − q, so each coarse code is known before
    the finer codes of its frame are predicted; ``pad`` fills the steps with no code.
    """
    *lead, frames, books = codes.shape
    out = codes.new_full((*lead, frames + books - 1, books), pad)
    for q in range(books):
        out[..., q : q + frames, q] = codes[..., q]
    return out


def undo_delay_pattern(delayed: Tensor) -> Tensor:
    """Inverse of :func:`delay_pattern`: (..., T + Q − 1, Q) -> (..., T, Q)."""
    import torch

    books = delayed.shape[-1]
    frames = delayed.shape[-2] - books + 1
    if frames < 0:
        raise RequestError(f"audio ids: {delayed.shape[-2]} delayed steps hold no frame of {books}")
    return torch.stack([delayed[..., q : q + frames, q] for q in range(books)], dim=-1)


def parallel_streams(codes: Tensor) -> Tensor:
    """(..., T, Q) -> (..., Q, T): one stream per codebook, all advancing together (Moshi)."""
    return codes.transpose(-1, -2).contiguous()


def from_parallel_streams(streams: Tensor) -> Tensor:
    """Inverse of :func:`parallel_streams`: (..., Q, T) -> (..., T, Q)."""
    return streams.transpose(-1, -2).contiguous()
