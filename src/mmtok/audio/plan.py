"""Continuous audio token counts: samples → mel frames → encoder outputs, from headers.

Qwen2-Audio (a Whisper encoder plus pooling) turns each 30 s window into mel frames
``L = ⌈samples / hop⌉`` (at most 3,000; the processor's attention mask), then a stride-2
convolution gives ``(L - 1) // 2 + 1`` frames and a stride-2 average pool
``(L' - 2) // 2 + 1`` tokens — 750 per full window, 25 per second. Audio longer than one
window is counted window by window (:func:`mmtok.audio.mel.chunk_bounds`); Qwen2-Audio's own
processor instead truncates at 30 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mmtok.audio.mel import MelConfig, chunk_bounds
from mmtok.audio.probe import probe_audio
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source
from mmtok.profiles.base import Profile


@dataclass(frozen=True)
class AudioEncoder:
    """The encoder after the mel front end: convolution stride, then pooling (kernel ==
    stride). Defaults are Qwen2-Audio's (128 mel bins, 16 kHz, 30 s windows)."""

    mel: MelConfig = field(default_factory=lambda: MelConfig(n_mels=128))
    conv_stride: int = 2
    pool: int = 2


QWEN2_AUDIO = AudioEncoder()


@dataclass(frozen=True)
class AudioPlan:
    """How one audio input becomes tokens: ``num_samples`` at the encoder's rate,
    ``windows`` ``[start, end)`` sample ranges and ``window_tokens`` per window;
    ``tokens`` is the whole expansion (fences included when the profile counts them)."""

    num_samples: int
    duration: float  # seconds
    windows: tuple[tuple[int, int], ...]
    window_tokens: tuple[int, ...]
    tokens: int
    fence_tokens: int


def resampled_length(num_samples: int, rate: int, target_rate: int) -> int:
    """Samples soxr returns for ``num_samples`` at ``rate`` → ``target_rate``:
    ``⌊n · target / rate + ½⌋`` (round half up)."""
    return (2 * num_samples * target_rate + rate) // (2 * rate)


def mel_frame_count(num_samples: int, config: MelConfig) -> int:
    """Unpadded mel frames of one window: ``⌈min(samples, window) / hop⌉``."""
    n = min(num_samples, config.window_samples)
    return -(-n // config.hop_length)


def encoder_token_count(mel_frames: int, encoder: AudioEncoder = QWEN2_AUDIO) -> int:
    """Tokens from ``mel_frames``: stride-``s`` conv ``(L - 1) // s + 1`` then a pool of
    ``k`` ``(L' - k) // k + 1`` (Qwen2-Audio's ``_get_feat_extract_output_lengths``)."""
    after_conv = (mel_frames - 1) // encoder.conv_stride + 1
    return (after_conv - encoder.pool) // encoder.pool + 1


def tokens_per_second(encoder: AudioEncoder = QWEN2_AUDIO) -> float:
    """Tokens per second of audio for full windows: ``rate / hop / stride / pool`` (25)."""
    mel = encoder.mel
    return mel.sample_rate / mel.hop_length / encoder.conv_stride / encoder.pool


def plan_audio(
    num_samples: int,
    profile: Profile | None = None,
    encoder: AudioEncoder = QWEN2_AUDIO,
    *,
    overlap: int = 0,
) -> AudioPlan:
    """Token count of ``num_samples`` mono samples at the encoder's rate.

    Each window is one audio span; with ``profile``, its audio fences are counted per
    window when the profile counts fences (``generic``), else reported apart.
    """
    bounds = tuple(chunk_bounds(num_samples, encoder.mel.window_samples, overlap))
    per_window = tuple(
        encoder_token_count(mel_frame_count(b - a, encoder.mel), encoder) for a, b in bounds
    )
    fences = 0
    if profile is not None:
        tk = profile.tokens
        fences = int(tk.audio_start is not None) + int(tk.audio_end is not None)
    tokens = sum(per_window)
    if profile is not None and profile.tokens.fences_in_count:
        tokens, fences = tokens + fences * len(bounds), 0
    else:
        fences *= len(bounds)
    duration = num_samples / encoder.mel.sample_rate
    return AudioPlan(num_samples, duration, bounds, per_window, tokens, fences)


def header_samples(info: MediaInfo, encoder: AudioEncoder = QWEN2_AUDIO) -> int:
    """Samples the encoder will receive, from header facts only.

    Exact when the header has the frame count (WAV/FLAC/Ogg): soxr's output length.
    Otherwise (compressed formats) ``round(duration · rate)`` from the container duration.
    """
    rate = encoder.mel.sample_rate
    if info.frame_count is not None and info.sample_rate is not None and info.kind == "audio":
        return resampled_length(info.frame_count, info.sample_rate, rate)
    assert info.duration is not None
    return round(info.duration * rate)


def count_audio(
    source: Source,
    profile: Profile | None = None,
    encoder: AudioEncoder = QWEN2_AUDIO,
    *,
    info: MediaInfo | None = None,
    max_duration: float | None = None,
    overlap_s: float = 0.0,
) -> tuple[MediaInfo, AudioPlan]:
    """Probe ``source`` (header only) and count its audio tokens."""
    info = info if info is not None else probe_audio(source, max_duration=max_duration)
    overlap = round(overlap_s * encoder.mel.sample_rate)
    return info, plan_audio(header_samples(info, encoder), profile, encoder, overlap=overlap)
