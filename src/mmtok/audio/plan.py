"""Continuous audio token counts: samples → mel frames → encoder outputs, from headers.

Qwen2-Audio (a Whisper encoder plus pooling) turns each 30 s window into mel frames
``L = ⌈samples / hop⌉`` (at most 3,000; the processor's attention mask), then a stride-2
convolution gives ``(L - 1) // 2 + 1`` frames and a stride-2 average pool
``(L' - 2) // 2 + 1`` tokens — 750 per full window, 25 per second. Audio longer than one
window is counted window by window (:func:`mmtok.audio.mel.chunk_bounds`) by ``generic``; the
real families say in their :class:`AudioEncoder` what happens past a window: Qwen2-Audio,
Qwen2.5-Omni (300 s windows) and Gemma 3n truncate, Voxtral zero-pads the last 30 s window
and counts it whole (375 tokens per window, 12.5 per second), Gemma 3n writes a fixed 188
tokens per clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mmtok.audio.mel import MelConfig, chunk_bounds
from mmtok.audio.packets import packet_samples
from mmtok.audio.probe import probe_audio
from mmtok.media.container import DEFAULT_MAX_DURATION
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source

if TYPE_CHECKING:  # profiles sit above the modality packages: types only here
    from mmtok.profiles.base import Profile


WindowRule = Literal["chunk", "truncate", "pad"]
FrontEnd = Literal["whisper", "gemma3n"]


@dataclass(frozen=True)
class AudioEncoder:
    """The encoder after the mel front end: convolution stride, then pooling (kernel ==
    stride). Defaults are Qwen2-Audio's (128 mel bins, 16 kHz, 30 s windows).

    ``windows``: audio longer than one window is cut into windows (``chunk``, the last one
    partial), cut to the first window (``truncate``: the processors' ``truncation=True``) or
    cut into windows with the last zero-padded and counted whole (``pad``: Voxtral).
    ``fence``: the audio fences open and close each ``window`` or the whole ``item`` once.
    ``fixed_tokens``: every clip takes this many tokens whatever its length (Gemma 3n).
    ``front_end``: which features (``whisper`` log-mel, ``gemma3n``'s own); ``mask_key``:
    the name the model's ``forward`` takes the feature mask by (``None``: no mask).
    """

    mel: MelConfig = field(default_factory=lambda: MelConfig(n_mels=128))
    conv_stride: int = 2
    pool: int = 2
    windows: WindowRule = "chunk"
    fence: Literal["window", "item"] = "window"
    fixed_tokens: int | None = None
    front_end: FrontEnd = "whisper"
    mask_key: str | None = "feature_attention_mask"


QWEN2_AUDIO = AudioEncoder()


@dataclass(frozen=True)
class AudioPlan:
    """How one audio input becomes tokens: ``num_samples`` at the encoder's rate,
    ``windows`` ``[start, end)`` sample ranges of what the encoder reads and
    ``window_tokens`` per window; ``tokens`` is the whole expansion (fences included when the
    profile counts them); ``runs`` the placeholder tokens of each fenced run (one per window,
    or one per item)."""

    num_samples: int
    duration: float  # seconds
    windows: tuple[tuple[int, int], ...]
    window_tokens: tuple[int, ...]
    tokens: int
    fence_tokens: int
    runs: tuple[int, ...] = ()


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
    """Tokens per second of audio for full windows: ``rate / hop / stride / pool`` (25), or
    for a fixed count per clip, that count over one window (Gemma 3n: 188 / 30 s)."""
    mel = encoder.mel
    if encoder.fixed_tokens is not None:
        return encoder.fixed_tokens / mel.chunk_length
    return mel.sample_rate / mel.hop_length / encoder.conv_stride / encoder.pool


def audio_windows(
    num_samples: int, encoder: AudioEncoder, overlap: int = 0
) -> tuple[tuple[int, int], ...]:
    """``[start, end)`` sample ranges the encoder reads of ``num_samples`` (its window rule)."""
    window = encoder.mel.window_samples
    if encoder.windows == "truncate":
        return ((0, min(num_samples, window)),)
    return tuple(chunk_bounds(num_samples, window, overlap))


def _window_tokens(samples: int, encoder: AudioEncoder) -> int:
    if encoder.fixed_tokens is not None:
        return encoder.fixed_tokens
    if encoder.windows == "pad":  # zero-padded to a whole window, counted whole
        samples = encoder.mel.window_samples
    return encoder_token_count(mel_frame_count(samples, encoder.mel), encoder)


def plan_audio(
    num_samples: int,
    profile: Profile | None = None,
    encoder: AudioEncoder | None = None,
    *,
    overlap: int = 0,
) -> AudioPlan:
    """Token count of ``num_samples`` mono samples at the encoder's rate (``encoder``:
    default the profile's, else Qwen2-Audio's).

    Each window (or the whole item, ``encoder.fence == "item"``) is one fenced audio run;
    with ``profile``, its audio fences are counted in ``tokens`` when the profile counts
    fences (``generic``), else reported apart.
    """
    encoder = encoder or (profile.audio_encoder if profile is not None else QWEN2_AUDIO)
    bounds = audio_windows(num_samples, encoder, overlap)
    per_window = tuple(_window_tokens(b - a, encoder) for a, b in bounds)
    runs = per_window if encoder.fence == "window" else (sum(per_window),)
    fences = 0
    if profile is not None:
        tk = profile.tokens
        fences = int(tk.audio_start is not None) + int(tk.audio_end is not None)
    tokens = sum(per_window)
    if profile is not None and profile.tokens.fences_in_count:
        tokens, fences = tokens + fences * len(runs), 0
    else:
        fences *= len(runs)
    duration = num_samples / encoder.mel.sample_rate
    return AudioPlan(num_samples, duration, bounds, per_window, tokens, fences, runs)


def file_samples(source: Source, info: MediaInfo) -> tuple[int, int]:
    """``(samples per channel, Hz)`` the decoder hands back at the file's own rate.

    libsndfile's header frame count where it reads the format exactly; otherwise counted
    from the compressed packets (:func:`~mmtok.audio.packets.packet_samples`), because a
    container's duration is not the decoded length: ADTS AAC only estimates it, MP4 AAC
    decodes its last packet to a whole 1024-sample frame past the edit list's end.
    """
    if info.frame_count is not None and info.sample_rate is not None and info.kind == "audio":
        return info.frame_count, info.sample_rate
    return packet_samples(source)


def planned_samples(source: Source, info: MediaInfo, rate: int) -> int:
    """Samples at ``rate`` Hz a model receives: :func:`file_samples` resampled as soxr does."""
    samples, file_rate = file_samples(source, info)
    return resampled_length(samples, file_rate, rate)


def count_audio(
    source: Source,
    profile: Profile | None = None,
    encoder: AudioEncoder | None = None,
    *,
    info: MediaInfo | None = None,
    max_duration: float | None = DEFAULT_MAX_DURATION,
    overlap_s: float = 0.0,
) -> tuple[MediaInfo, AudioPlan]:
    """Probe ``source`` (header, and packets where the header cannot tell) and count its
    audio tokens."""
    info = info if info is not None else probe_audio(source, max_duration=max_duration)
    encoder = encoder or (profile.audio_encoder if profile is not None else QWEN2_AUDIO)
    overlap = round(overlap_s * encoder.mel.sample_rate)
    samples = planned_samples(source, info, encoder.mel.sample_rate)
    return info, plan_audio(samples, profile, encoder, overlap=overlap)
