"""Audio files decoded: float samples checked against the header, mono mix-down, resampling.

WAV, FLAC and Ogg (and the other formats libsndfile reads exactly) go through soundfile;
compressed formats (MP3, AAC/M4A, Opus in Matroska/WebM, ...) and the audio track of a
video go through PyAV. Samples come out float32 in ``[-1, 1]``, channels first; mono is
the mean of the channels (librosa's ``to_mono``), resampling is soxr's high quality
(librosa's default ``soxr_hq``), so features match the reference pipelines.
:func:`chunk_audio` cuts long audio into windows.
"""

from __future__ import annotations

import av
import numpy as np
import soxr

from mmtok.audio.mel import chunk_bounds
from mmtok.audio.packets import packet_samples
from mmtok.audio.probe import probe_audio
from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    TruncatedMediaError,
    UnsupportedMediaError,
)
from mmtok.media.container import DEFAULT_MAX_DURATION, decoder, open_container
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, open_binary, source_name

# Compressed audio decodes to its header's duration give or take encoder delay and padding
# (AAC primes 1024 samples, Matroska rounds the last block): more than this apart, the header
# lies or the file is cut, and a count made from the header would not match the features.
DURATION_SLACK_S = 0.25
DURATION_SLACK_FRACTION = 0.01

# Read libsndfile formats in blocks of this many frames: memory follows what really decodes,
# never a header's claim.
_BLOCK_FRAMES = 1 << 16

# PyAV sample formats → NumPy type, and the scale and offset that map them to [-1, 1]
# (swresample's own conversion to float).
_SAMPLE_TYPES = {
    "u8": (np.uint8, 128.0, 128.0),
    "s16": (np.int16, 32768.0, 0.0),
    "s32": (np.int32, 2.0**31, 0.0),
    "s64": (np.int64, 2.0**63, 0.0),
    "flt": (np.float32, 1.0, 0.0),
    "dbl": (np.float64, 1.0, 0.0),
}


def duration_slack(seconds: float) -> float:
    """How far (seconds) decoded audio may run from a header's ``seconds`` and still be the
    same file."""
    return DURATION_SLACK_S + DURATION_SLACK_FRACTION * seconds


def _decode_soundfile(source: Source, info: MediaInfo) -> tuple[np.ndarray, int]:
    """``(C, S)`` float32 samples and their rate; exactly the header's ``frame_count``
    samples, else truncated (fewer decode) or corrupt (more would)."""
    import soundfile as sf  # libsndfile loads only for its own formats

    name = source_name(source)
    assert info.frame_count is not None
    blocks: list[np.ndarray] = []
    decoded = 0
    with open_binary(source) as f:
        try:
            with sf.SoundFile(f) as sound:
                while decoded <= info.frame_count:
                    block = sound.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)  # (s, C)
                    if not len(block):
                        break
                    blocks.append(block)
                    decoded += len(block)
                rate = sound.samplerate
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise CorruptMediaError(name, f"audio cannot be decoded ({exc})") from exc
    if decoded < info.frame_count:
        raise TruncatedMediaError(
            name, f"header declares {info.frame_count:,} samples but {decoded:,} decode"
        )
    if decoded > info.frame_count:
        raise CorruptMediaError(
            name, f"header declares {info.frame_count:,} samples but more decode"
        )
    if not blocks:
        return np.zeros((info.channels or 1, 0), dtype=np.float32), rate
    return np.concatenate(blocks, axis=0).T, rate


def _frame_samples(frame: av.AudioFrame, channels: int, name: str) -> np.ndarray:
    """One decoded frame as ``(C, s)`` float32 in ``[-1, 1]``, read from its planes here.

    Neither swresample nor PyAV's ``to_ndarray`` sees the frame: both trust its channel
    layout and crash on one that changed mid-stream (an AAC program config element can
    announce 49 channels in one frame). The frame must keep the stream's ``channels`` and
    every plane must hold its samples, or the stream is corrupt.
    """
    fmt = frame.format
    kind = _SAMPLE_TYPES.get(fmt.name.rstrip("p"))
    if kind is None:
        raise UnsupportedMediaError(name, f"audio sample format {fmt.name!r}")
    dtype, scale, offset = kind
    if frame.layout.nb_channels != channels:
        raise CorruptMediaError(
            name, f"a frame has {frame.layout.nb_channels} channels, the stream {channels}"
        )
    per_plane = frame.samples * (1 if fmt.is_planar else channels)
    planes = frame.planes
    if len(planes) != (channels if fmt.is_planar else 1) or any(
        p.buffer_size < per_plane * fmt.bytes for p in planes
    ):
        raise CorruptMediaError(name, "a decoded audio frame does not hold its samples")
    data = np.stack([np.frombuffer(p, dtype=dtype, count=per_plane) for p in planes])
    if not fmt.is_planar:
        data = data.reshape(-1, channels).T  # interleaved (1, s·C) → (C, s)
    out = data.astype(np.float32)
    if offset:
        out -= offset
    return out / scale if scale != 1.0 else out


def _decode_pyav(source: Source, info: MediaInfo, declared: float) -> tuple[np.ndarray, int]:
    """``(C, S)`` float32 samples and their rate, stopped (corrupt) as soon as more decodes
    than ``declared`` seconds (what the packets announce) allow."""
    name = source_name(source)
    assert info.sample_rate is not None
    chunks: list[np.ndarray] = []
    limit = round((declared + duration_slack(declared)) * info.sample_rate)
    decoded = 0
    with open_container(source) as container:
        if not container.streams.audio:
            raise UnsupportedMediaError(name, "no audio stream in the container")
        stream = container.streams.audio[0]
        codec = decoder(stream, name)
        rate, channels = codec.sample_rate, codec.channels
        try:
            for frame in container.decode(stream):
                if frame.sample_rate != rate:
                    raise CorruptMediaError(name, "sample rate changes inside the stream")
                chunk = _frame_samples(frame, channels, name)
                chunks.append(chunk)
                decoded += chunk.shape[1]
                if decoded > limit:
                    raise CorruptMediaError(
                        name, f"more audio decodes than the packets' {declared:,.2f} s"
                    )
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"audio cannot be decoded ({exc})") from exc
    if not chunks:
        return np.zeros((info.channels or 1, 0), dtype=np.float32), rate
    return np.concatenate(chunks, axis=1), rate


def load_audio(
    source: Source,
    *,
    sample_rate: int | None = 16_000,
    mono: bool = True,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> np.ndarray:
    """Decoded samples, float32: ``(S,)`` when ``mono`` else ``(C, S)``.

    Resampled to ``sample_rate`` Hz with soxr (``None`` keeps the file's rate). The header
    duration is checked against ``max_duration`` before decoding, and what decodes against
    the header: :class:`TruncatedMediaError` when clearly less does (more than
    :func:`duration_slack`; libsndfile formats must match to the sample),
    :class:`CorruptMediaError` when more would. Raises :class:`EmptyMediaError` for zero
    samples and :class:`CorruptMediaError` for NaN or infinite samples.
    """
    name = source_name(source)
    info = probe_audio(source, max_duration=max_duration)
    # The probe fills ``frame_count`` only for the formats libsndfile reads exactly; for the
    # others the packets say how much decodes (a container's duration may be an estimate:
    # ADTS AAC's is a bitrate guess, several percent off).
    assert info.duration is not None
    if info.frame_count is not None:
        declared = info.duration
        samples, rate = _decode_soundfile(source, info)
    else:
        count, packet_rate = packet_samples(source)
        declared = count / packet_rate
        samples, rate = _decode_pyav(source, info, declared)
    if samples.shape[1] == 0:
        raise EmptyMediaError(name, "audio has no samples (zero length)")
    if declared - samples.shape[1] / rate > duration_slack(declared):
        raise TruncatedMediaError(
            name,
            f"its packets declare {declared:,.2f} s but only {samples.shape[1] / rate:,.2f} s "
            "of audio decode",
        )
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise CorruptMediaError(name, f"{bad:,} samples are NaN or infinite")
    if mono:
        samples = samples.mean(axis=0, keepdims=True)
    if sample_rate is not None and sample_rate != rate:
        samples = soxr.resample(samples.T, rate, sample_rate, quality="HQ").T
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    return samples[0] if mono else samples


def chunk_audio(
    samples: np.ndarray, sample_rate: int, *, window_s: float = 30.0, overlap_s: float = 0.0
) -> list[np.ndarray]:
    """Long audio ``(S,)`` cut into windows of ``window_s`` seconds overlapping by
    ``overlap_s`` (views, not copies)."""
    window = round(window_s * sample_rate)
    overlap = round(overlap_s * sample_rate)
    return [samples[a:b] for a, b in chunk_bounds(len(samples), window, overlap)]
