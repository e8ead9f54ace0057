"""Whisper-style log-mel features: the audio front end of Whisper and Qwen2-Audio.

16 kHz mono, 25 ms periodic Hann window (``n_fft`` 400), 10 ms hop (160 samples),
reflect-padded centred STFT, power spectrum, Slaney mel filters (80 or 128 bins,
0–8 kHz), ``log10`` floored at ``1e-10``, the last frame dropped, a dynamic range of 8
(≈ 80 dB) below each window's maximum, then ``(x + 4) / 4``. Audio is cut or zero-padded to
30 s windows (3,000 frames), exactly as transformers' ``WhisperFeatureExtractor`` does.
Computed in float64 numpy and returned as float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from mmtok.errors import ConfigError


@dataclass(frozen=True)
class MelConfig:
    """The front end's constants; the defaults are Whisper's (Qwen2-Audio: ``n_mels=128``)."""

    sample_rate: int = 16_000  # Hz
    n_fft: int = 400  # samples (25 ms)
    hop_length: int = 160  # samples (10 ms)
    n_mels: int = 80
    chunk_length: int = 30  # seconds per window

    @property
    def window_samples(self) -> int:
        """Samples per window (480,000 for 30 s at 16 kHz)."""
        return self.chunk_length * self.sample_rate

    @property
    def window_frames(self) -> int:
        """Mel frames per window (3,000)."""
        return self.window_samples // self.hop_length


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    mel = 3.0 * hz / 200.0
    log_region = hz >= 1000.0
    return np.where(
        log_region, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) * 27.0 / np.log(6.4), mel
    )


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = 200.0 * mel / 3.0
    return np.where(mel >= 15.0, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), hz)


@lru_cache(maxsize=8)
def mel_filters(config: MelConfig) -> np.ndarray:
    """``(n_fft/2 + 1, n_mels)`` float64 triangular filters, Slaney scale and area norm,
    0 Hz to 8 kHz (librosa's ``filters.mel(norm="slaney")``, transposed)."""
    n_freqs = config.n_fft // 2 + 1
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(8000.0)), config.n_mels + 2)
    )
    fft_freqs = np.linspace(0, config.sample_rate // 2, n_freqs)
    slopes = edges[None, :] - fft_freqs[:, None]  # (F, M + 2)
    widths = np.diff(edges)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    tri = np.maximum(0.0, np.minimum(down, up))
    filters = tri * (2.0 / (edges[2:] - edges[:-2]))[None, :]
    filters.setflags(write=False)
    return filters


def _hann(n: int) -> np.ndarray:
    """Periodic Hann window of ``n`` samples (``torch.hann_window`` default)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def pad_or_trim(samples: np.ndarray, length: int) -> np.ndarray:
    """``(S,)`` → ``(length,)``: zero-padded at the end, or cut."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def log_mel(samples: np.ndarray, config: MelConfig = MelConfig()) -> np.ndarray:
    """``(S,)`` mono samples at ``config.sample_rate`` → ``(n_mels, window_frames)`` float32
    features of the first window (shorter audio is zero-padded, longer is cut)."""
    x = pad_or_trim(np.asarray(samples, dtype=np.float64), config.window_samples)
    half = config.n_fft // 2
    padded = np.pad(x, (half, half), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft)[:: config.hop_length]
    spectrum = np.fft.rfft(frames * _hann(config.n_fft), axis=-1)  # (F, n_fft/2 + 1)
    power = spectrum.real**2 + spectrum.imag**2
    mel = power[:-1] @ mel_filters(config)  # (F - 1, M): the last frame is dropped
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).T.astype(np.float32)


def chunk_bounds(num_samples: int, window: int, overlap: int = 0) -> list[tuple[int, int]]:
    """``[start, end)`` sample ranges of windows ``window`` long, each starting
    ``window - overlap`` after the previous; the last ends at ``num_samples`` (it may be
    shorter). One window when the audio fits in one.

    Raises :class:`ConfigError` unless ``0 ≤ overlap < window``.
    """
    if window <= 0 or not 0 <= overlap < window:
        raise ConfigError(f"audio window {window} / overlap {overlap}: need 0 ≤ overlap < window")
    hop = window - overlap
    bounds = [(0, min(window, num_samples))]
    while bounds[-1][1] < num_samples:
        start = bounds[-1][0] + hop
        bounds.append((start, min(start + window, num_samples)))
    return bounds


def log_mel_windows(
    samples: np.ndarray, config: MelConfig = MelConfig(), *, overlap: int = 0
) -> np.ndarray:
    """Long audio ``(S,)`` → ``(B, n_mels, window_frames)`` float32, one 30 s window each
    (``overlap`` samples shared by neighbours); the last window is zero-padded."""
    bounds = chunk_bounds(len(samples), config.window_samples, overlap)
    return np.stack([log_mel(samples[a:b], config) for a, b in bounds])
