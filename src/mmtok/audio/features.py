"""Decoded audio → the model's input features: log-mel windows and their attention masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmtok.audio.load import load_audio
from mmtok.audio.mel import log_mel_windows
from mmtok.audio.plan import QWEN2_AUDIO, AudioEncoder, AudioPlan, mel_frame_count, plan_audio
from mmtok.media.source import Source
from mmtok.profiles.base import Profile


@dataclass(frozen=True)
class AudioFeatures:
    """Model input for one audio: ``input_features`` ``(B, n_mels, 3000)`` float32, one row per
    30 s window, and ``feature_attention_mask`` ``(B, 3000)`` int64 (1 on real frames), the
    two tensors Qwen2-Audio's ``forward`` takes; ``plan`` counts their tokens."""

    input_features: np.ndarray
    feature_attention_mask: np.ndarray
    plan: AudioPlan


def load_audio_features(
    source: Source,
    profile: Profile | None = None,
    encoder: AudioEncoder = QWEN2_AUDIO,
    *,
    max_duration: float | None = None,
    overlap_s: float = 0.0,
) -> AudioFeatures:
    """Decode ``source`` (mono, 16 kHz) into log-mel windows, their masks and token plan."""
    mel = encoder.mel
    samples = load_audio(source, sample_rate=mel.sample_rate, max_duration=max_duration)
    overlap = round(overlap_s * mel.sample_rate)
    plan = plan_audio(len(samples), profile, encoder, overlap=overlap)
    features = log_mel_windows(samples, mel, overlap=overlap)
    lengths = np.array([mel_frame_count(b - a, mel) for a, b in plan.windows])
    mask = (np.arange(mel.window_frames)[None, :] < lengths[:, None]).astype(np.int64)
    return AudioFeatures(features, mask, plan)
