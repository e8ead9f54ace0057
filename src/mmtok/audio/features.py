"""Decoded audio → the model's input features: log-mel windows and their attention masks.

The token count a sequence was planned with comes from headers and packets
(:func:`mmtok.audio.plan.count_audio`); loading checks that decoding delivered exactly the
samples that count assumed, so a placeholder count never outruns or undershoots its features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mmtok.audio.load import load_audio
from mmtok.audio.mel import MelConfig, log_mel
from mmtok.audio.mel_gemma3n import gemma3n_features
from mmtok.audio.plan import AudioEncoder, AudioPlan, count_audio, mel_frame_count
from mmtok.errors import CorruptMediaError, TruncatedMediaError
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.media.source import Source, source_name

if TYPE_CHECKING:  # profiles sit above the modality packages: types only here
    from mmtok.profiles.base import Profile


@dataclass(frozen=True)
class AudioFeatures:
    """Model input for one audio: ``input_features`` ``(B, n_mels, F)`` float32, one row per
    window (``F`` = 3,000 for 30 s), and ``feature_attention_mask`` ``(B, F)`` int64 (1 on real
    frames), the two tensors Qwen2-Audio's ``forward`` takes (Gemma 3n: ``(1, T, n_mels)`` and
    a bool ``(1, T)`` mask; the encoder's ``mask_key`` names it); ``plan`` counts their
    tokens."""

    input_features: np.ndarray
    feature_attention_mask: np.ndarray
    plan: AudioPlan


def whisper_features(
    samples: np.ndarray, plan: AudioPlan, encoder: AudioEncoder
) -> tuple[np.ndarray, np.ndarray]:
    """``(B, n_mels, F)`` log-mel windows of ``samples`` as the plan's windows read them and
    their ``(B, F)`` int64 masks. ``pad`` (Voxtral): the whole audio zero-padded to whole
    windows is one spectrogram (its dynamic-range floor over all of it), cut into windows."""
    mel = encoder.mel
    lengths = np.array([mel_frame_count(b - a, mel) for a, b in plan.windows])
    if encoder.windows == "pad":
        k = len(plan.windows)
        whole = MelConfig(mel.sample_rate, mel.n_fft, mel.hop_length, mel.n_mels,
                          mel.chunk_length * k)  # fmt: skip
        features = log_mel(samples, whole).reshape(mel.n_mels, k, mel.window_frames)
        features = features.transpose(1, 0, 2)
    else:
        features = np.stack([log_mel(samples[a:b], mel) for a, b in plan.windows])
    mask = (np.arange(mel.window_frames)[None, :] < lengths[:, None]).astype(np.int64)
    return np.ascontiguousarray(features), mask


def load_audio_features(
    source: Source,
    profile: Profile | None = None,
    encoder: AudioEncoder | None = None,
    *,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    overlap_s: float = 0.0,
    plan: AudioPlan | None = None,
) -> AudioFeatures:
    """Decode ``source`` (mono, 16 kHz) into log-mel windows, their masks and token plan.

    ``plan`` is the header-side plan when the caller has it (a sequence plan's item); else
    it is counted here. Raises :class:`TruncatedMediaError` (fewer) or
    :class:`CorruptMediaError` (more) when decoding does not give the samples it planned.
    """
    if plan is None:
        _, plan = count_audio(
            source, profile, encoder, max_duration=max_duration, overlap_s=overlap_s
        )
    encoder = encoder or (profile.audio_encoder if profile is not None else AudioEncoder())
    mel = encoder.mel
    samples = load_audio(source, sample_rate=mel.sample_rate, max_duration=max_duration)
    if len(samples) != plan.num_samples:
        error = TruncatedMediaError if len(samples) < plan.num_samples else CorruptMediaError
        raise error(
            source_name(source),
            f"{len(samples):,} samples decode at {mel.sample_rate} Hz but its header and "
            f"packets promise {plan.num_samples:,}: the planned audio token count would not "
            "match the features",
        )
    if encoder.front_end == "gemma3n":
        a, b = plan.windows[0]
        features, mask = gemma3n_features(samples[a:b], mel)
    else:
        features, mask = whisper_features(samples, plan, encoder)
    return AudioFeatures(features, mask, plan)
