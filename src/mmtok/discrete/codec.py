"""The RVQ audio codec: a small convolutional autoencoder over waveforms with Q residual codebooks.

A mono waveform of L samples becomes T = ceil(L / hop) frames of Q code ids; ``hop`` is the
product of the encoder's strides, so the frame rate is sample_rate / hop. Trained with
quantiser dropout, any prefix of the Q codebooks decodes: fewer codebooks, lower bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmtok.discrete.config import CodecConfig
from mmtok.discrete.quantize import CodebookStats, ResidualQuantizer


@dataclass(frozen=True)
class CodecStep:
    """One training step's outputs: the loss to minimise and what to report."""

    loss: Tensor  # () waveform MSE + commitment
    metric: float  # mean SI-SDR of the batch, dB
    stats: tuple[CodebookStats, ...]  # one per codebook


def _down(channels: int, stride: int) -> nn.Module:
    """(B, C, L) -> (B, C, L / stride) for L a multiple of stride."""
    conv = nn.Conv1d(channels, channels, 2 * stride, stride=stride, padding=(stride + 1) // 2)
    return nn.Sequential(conv, nn.GELU())


def _up(channels: int, stride: int) -> nn.Module:
    """(B, C, L) -> (B, C, L · stride): the transpose of :func:`_down`."""
    pad = (stride + 1) // 2
    conv = nn.ConvTranspose1d(
        channels, channels, 2 * stride, stride=stride, padding=pad, output_padding=2 * pad - stride
    )
    return nn.Sequential(conv, nn.GELU())


class RVQCodec(nn.Module):
    """Waveforms (B, L) <-> codes (B, T, Q), T = ceil(L / hop)."""

    metric_name: ClassVar[str] = "si_sdr_db"  # what training reports for reconstruction

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.config = config
        c, d = config.channels, config.quantizer.dim
        self.encoder = nn.Sequential(
            nn.Conv1d(1, c, 7, padding=3),
            nn.GELU(),
            *(_down(c, s) for s in config.strides),
            nn.Conv1d(c, d, 3, padding=1),
        )
        self.quantizer = ResidualQuantizer(
            config.quantizer, config.num_quantizers, config.quantizer_dropout
        )
        self.decoder = nn.Sequential(
            nn.Conv1d(d, c, 3, padding=1),
            nn.GELU(),
            *(_up(c, s) for s in reversed(config.strides)),
            nn.Conv1d(c, 1, 7, padding=3),
        )

    def _latents(self, wave: Tensor) -> Tensor:
        """(B, L) -> (B, T, D): zero-padded to T·hop samples, channels last."""
        hop = self.config.hop_length
        padded = F.pad(wave, (0, -wave.shape[-1] % hop))
        return self.encoder(padded[:, None]).transpose(1, 2)

    def _wave(self, latents: Tensor) -> Tensor:
        """(B, T, D) -> (B, T·hop)."""
        return self.decoder(latents.transpose(1, 2))[:, 0]

    @torch.no_grad()
    def encode(self, wave: Tensor) -> Tensor:
        """Waveform (B, L) at ``sample_rate`` -> codes (B, T, Q), int64."""
        return self.quantizer.encode(self._latents(wave))

    @torch.no_grad()
    def decode(self, codes: Tensor) -> Tensor:
        """Codes (B, T, n), any n ≤ Q (a prefix of the codebooks) -> waveform (B, T·hop)."""
        return self._wave(self.quantizer.decode(codes))

    def training_step(self, wave: Tensor) -> CodecStep:
        """Waveform (B, L) -> loss = MSE(reconstruction, wave) + commitment."""
        q = self.quantizer(self._latents(wave))
        recon = self._wave(q.quantized)[:, : wave.shape[-1]]
        loss = F.mse_loss(recon, wave) + q.commitment_loss
        return CodecStep(loss, float(si_sdr(recon.detach(), wave).mean()), q.stats)


def si_sdr(estimate: Tensor, reference: Tensor) -> Tensor:
    """Scale-invariant signal-to-distortion ratio per item, dB: (B, L), (B, L) -> (B,).

    The reference is scaled to best fit the estimate, so gain errors do not count:
    ``10·log10(‖αs‖² / ‖αs − ŝ‖²)`` with ``α = ⟨ŝ, s⟩ / ‖s‖²`` (Le Roux et al., 2019).
    """
    alpha = (estimate * reference).sum(-1, keepdim=True) / reference.square().sum(-1, keepdim=True)
    target = alpha * reference
    return 10 * torch.log10(target.square().sum(-1) / (target - estimate).square().sum(-1))
