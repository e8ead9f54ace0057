"""The frozen configs of mmtok's own discrete tokenizers and their training: pure data.

They live apart from the ``nn.Module``s so the CLI can show their defaults, and checkpoints
can be read, without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from mmtok.discrete.codec_spec import CodecSpec
from mmtok.errors import ConfigError


@dataclass(frozen=True)
class QuantizerConfig:
    """One codebook and how it learns."""

    dim: int = 8  # D: width of each vector
    codebook_size: int = 512  # K: number of codes
    decay: float = 0.95  # EMA decay of per-code counts and sums
    commitment_weight: float = 0.25  # β in β·mean((x − sg(q))²)
    kmeans_init: bool = True  # k-means on the first training batch; else N(0, 1) codes
    kmeans_iters: int = 10  # Lloyd iterations of that k-means
    dead_threshold: float = 0.25  # EMA count (vectors per step) below which a code is dead
    restart_dead: bool = True  # re-seed dead codes from the batch
    eps: float = 1e-5  # Laplace smoothing of EMA counts, so an empty code never divides by 0

    def __post_init__(self) -> None:
        if self.dim < 1 or self.codebook_size < 1 or not 0 <= self.decay < 1:
            raise ConfigError(
                f"quantiser: needs dim ≥ 1, codebook size ≥ 1 and 0 ≤ decay < 1 "
                f"(got {self.dim}, {self.codebook_size}, {self.decay})"
            )


@dataclass(frozen=True)
class VQImageConfig:
    """Architecture of a VQ image tokenizer; the quantiser's ``dim`` is the latent width."""

    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    downsample: int = 8  # pixels per token side: 2^stages
    channels: int = 64  # convolution width
    image_size: int = 32  # side of the square training images, pixels

    def __post_init__(self) -> None:
        f = self.downsample
        if f < 2 or f & (f - 1) or self.image_size % f or self.channels % 8:
            raise ConfigError(
                f"VQ image tokenizer: downsample must be a power of two ≥ 2 dividing the image "
                f"size, channels a multiple of 8 (got {f}, {self.image_size}, {self.channels})"
            )

    @property
    def stages(self) -> int:
        return int(math.log2(self.downsample))


@dataclass(frozen=True)
class CodecConfig:
    """Architecture of an RVQ codec; the quantiser's ``dim`` is the latent width."""

    quantizer: QuantizerConfig = field(
        default_factory=lambda: QuantizerConfig(dim=16, codebook_size=256)
    )
    num_quantizers: int = 4  # Q residual codebooks
    sample_rate: int = 16_000  # Hz
    strides: tuple[int, ...] = (4, 4, 4)  # encoder downsampling per stage; hop = product
    channels: int = 64  # convolution width
    quantizer_dropout: bool = True  # train on random prefixes so any prefix decodes

    def __post_init__(self) -> None:
        if self.num_quantizers < 1 or min(self.strides, default=0) < 2 or self.sample_rate < 1:
            raise ConfigError(
                f"codec: needs ≥ 1 quantiser, strides ≥ 2 and a sample rate "
                f"(got {self.num_quantizers}, {self.strides}, {self.sample_rate})"
            )

    @property
    def hop_length(self) -> int:
        return math.prod(self.strides)

    @property
    def spec(self) -> CodecSpec:
        """Frame rate, tokens per second and bitrate of this codec."""
        return CodecSpec(
            name="mmtok-codec",
            sample_rate=self.sample_rate,
            hop_length=self.hop_length,
            num_codebooks=self.num_quantizers,
            codebook_size=self.quantizer.codebook_size,
        )


@dataclass(frozen=True)
class TrainConfig:
    """How long and how fast to train; the model's own config lives with the model."""

    steps: int = 2000  # total optimiser steps, counting those of a resumed run
    batch_size: int = 16  # examples per step
    learning_rate: float = 2e-3  # Adam
    save_every: int = 500  # steps between checkpoints (the last step always saves)
    seed: int = 0  # step s draws from torch.manual_seed(seed + s)
    # VQ image tokenizers: the first steps train the autoencoder alone (quantiser bypassed);
    # the codebook then starts from k-means on latents that already describe the images.
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size, self.save_every) < 1 or self.learning_rate <= 0:
            raise ConfigError(
                f"training: steps, batch size, save interval and rate must be > 0 ({self})"
            )
        if not 0 <= self.warmup_steps < self.steps:
            raise ConfigError(
                f"training: warm-up steps {self.warmup_steps} must be ≥ 0 and below the "
                f"{self.steps} steps (the codebook must train)"
            )
