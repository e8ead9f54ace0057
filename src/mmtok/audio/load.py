"""Audio files: header probe, decoding to float samples, mono mix-down, resampling, windows.

WAV, FLAC and Ogg (and the other formats libsndfile reads exactly) go through soundfile;
compressed formats (MP3, AAC/M4A, Opus in Matroska/WebM, ...) and the audio track of a
video go through PyAV. Samples come out float32 in ``[-1, 1]``, channels first; mono is
the mean of the channels (librosa's ``to_mono``), resampling is soxr's high quality
(librosa's default ``soxr_hq``), so features match the reference pipelines.
"""

from __future__ import annotations

import av
import numpy as np
import soundfile as sf
import soxr

from mmtok.audio.mel import chunk_bounds
from mmtok.audio.probe import probe_audio
from mmtok.errors import (
    CorruptMediaError,
    EmptyMediaError,
    UnsupportedMediaError,
)
from mmtok.media.container import check_duration, open_container
from mmtok.media.source import Source, open_binary, source_name


def _decode_soundfile(source: Source) -> tuple[np.ndarray, int]:
    with open_binary(source) as f:
        try:
            data, rate = sf.read(f, dtype="float32", always_2d=True)  # (S, C)
        except sf.LibsndfileError as exc:
            raise CorruptMediaError(
                source_name(source), f"audio cannot be decoded ({exc})"
            ) from exc
    return data.T, rate


def _decode_pyav(source: Source) -> tuple[np.ndarray, int]:
    name = source_name(source)
    chunks: list[np.ndarray] = []
    with open_container(source) as container:
        if not container.streams.audio:
            raise UnsupportedMediaError(name, "no audio stream in the container")
        stream = container.streams.audio[0]
        rate = stream.rate
        # Planar float at the stream's own rate and layout: a format change only.
        resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())  # (C, s)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.error.FFmpegError as exc:
            raise CorruptMediaError(name, f"audio cannot be decoded ({exc})") from exc
    if not chunks:
        return np.zeros((stream.channels or 1, 0), dtype=np.float32), rate
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), rate


def load_audio(
    source: Source,
    *,
    sample_rate: int | None = 16_000,
    mono: bool = True,
    max_duration: float | None = None,
) -> np.ndarray:
    """Decoded samples, float32: ``(S,)`` when ``mono`` else ``(C, S)``.

    Resampled to ``sample_rate`` Hz with soxr (``None`` keeps the file's rate). The header
    duration is checked against ``max_duration`` before decoding. Raises
    :class:`EmptyMediaError` for zero samples and :class:`CorruptMediaError` for NaN or
    infinite samples.
    """
    name = source_name(source)
    info = probe_audio(source, max_duration=max_duration)
    # The probe fills ``frame_count`` only for the formats libsndfile reads exactly.
    decode = _decode_soundfile if info.frame_count is not None else _decode_pyav
    samples, rate = decode(source)
    if samples.shape[1] == 0:
        raise EmptyMediaError(name, "audio has no samples (zero length)")
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        raise CorruptMediaError(name, f"{bad:,} samples are NaN or infinite")
    check_duration(name, "audio", samples.shape[1] / rate, max_duration)
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
