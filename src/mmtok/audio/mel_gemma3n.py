"""Gemma 3n's audio front end: HTK-preemphasised 32 ms frames, a doubled FFT, magnitude
(not power) through HTK mel filters of 125–7,600 Hz, natural log floored at 1e-5.

transformers' ``Gemma3nAudioFeatureExtractor`` at its defaults (the checkpoints' setting):
16 kHz, frames of 512 + 1 samples every 160 (10 ms), preemphasis 0.97 with the HTK first
sample ``x₀ · (1 − 0.97)``, periodic Hann of 512, ``rfft`` of 1,024 (``fft_overdrive``), no
per-bin normalisation. Audio past 30 s is cut and the rest zero-padded to a multiple of 128
samples; ``T = ⌊(S − 513) / 160⌋ + 1`` frames, each marked real when its first sample is.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from mmtok.audio.mel import MelConfig

FRAME_LENGTH = 512  # samples (32 ms at 16 kHz)
FFT_LENGTH = 1024  # the frame's power of two, doubled
MIN_HZ, MAX_HZ = 125.0, 7600.0
PREEMPHASIS = 0.97
MEL_FLOOR = 1e-5
PAD_MULTIPLE = 128  # samples


@lru_cache(maxsize=4)
def htk_filters(sample_rate: int, n_mels: int) -> np.ndarray:
    """``(FFT_LENGTH/2 + 1, n_mels)`` triangular HTK mel filters, unnormalised."""
    freqs = np.arange(FFT_LENGTH // 2 + 1, dtype=np.float32) * (sample_rate / FFT_LENGTH)
    lo, hi = (2595.0 * np.log10(1.0 + f / 700.0) for f in (MIN_HZ, MAX_HZ))
    edges = 700.0 * (10 ** (np.linspace(lo, hi, n_mels + 2) / 2595.0) - 1.0)
    widths = np.diff(edges)
    slopes = edges[None, :] - freqs[:, None]  # (F, M + 2)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters.setflags(write=False)
    return filters


def gemma3n_features(samples: np.ndarray, mel: MelConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(S,)`` mono samples (at most one window) → ``(1, T, n_mels)`` float32 log-mel
    frames and their ``(1, T)`` bool mask (``True`` on frames that start inside the audio)."""
    x = np.asarray(samples, dtype=np.float32)[: mel.window_samples]
    padded_len = -(-len(x) // PAD_MULTIPLE) * PAD_MULTIPLE
    x = np.pad(x, (0, padded_len - len(x)))
    hop = mel.hop_length
    count = max(0, (padded_len - FRAME_LENGTH - 1) // hop + 1)
    if count == 0:  # shorter than one frame: no frames, as the reference returns
        return np.zeros((1, 0, mel.n_mels), dtype=np.float32), np.zeros((1, 0), dtype=bool)
    raw = np.lib.stride_tricks.sliding_window_view(x, FRAME_LENGTH + 1)[::hop][:count]
    first = raw[:, :1] * (1.0 - PREEMPHASIS)
    frames = np.concatenate([first, raw[:, 1:-1] - PREEMPHASIS * raw[:, :-2]], axis=-1)
    # float32 throughout, as the reference: low-energy bins of a log spectrum magnify rounding.
    steps = np.arange(FRAME_LENGTH, dtype=np.float32)
    window = (0.5 * (1 - np.cos(2 * np.pi * steps / FRAME_LENGTH))).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(frames * window, n=FFT_LENGTH, axis=-1))
    log_mel = np.log(np.maximum(magnitude @ htk_filters(mel.sample_rate, mel.n_mels), MEL_FLOOR))
    mask = (np.arange(count) * hop) < len(samples[: mel.window_samples])
    return log_mel.astype(np.float32)[None], mask[None]
