"""Audio header facts: sample rate, channels, duration — libsndfile where exact, else PyAV.

Header fields are checked before use: a sample rate outside ``[MIN_SAMPLE_RATE,
MAX_SAMPLE_RATE]`` Hz, no channels or more than :data:`MAX_CHANNELS`, or (libsndfile) more
samples than the file could hold are corrupt headers, refused before any arithmetic or
decoding trusts them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmtok.errors import CorruptMediaError, EmptyMediaError, UnsupportedMediaError
from mmtok.media.container import (
    DEFAULT_MAX_DURATION,
    check_duration,
    decoder,
    format_name,
    header_duration,
    open_container,
)
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, file_size, open_binary, source_name

if TYPE_CHECKING:
    import soundfile as sf

# libsndfile reports exact frame counts for these; everything else goes through PyAV.
_SOUNDFILE_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "AIFF", "CAF", "AU"}
# The first bytes of those formats: anything else is not handed to libsndfile at all (its
# MP3 reader, for one, writes warnings straight to stderr).
_SOUNDFILE_MAGIC = (b"RIFF", b"RF64", b"riff", b"fLaC", b"OggS", b"FORM", b"caff", b".snd")

# Telephony records at 8 kHz and nothing real below 1 kHz; 768 kHz is the highest rate audio
# interfaces record. Outside is header damage (or a bomb: 1 Hz audio resampled to 16 kHz
# grows 16,000-fold).
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
# 7.1.4 immersive layouts use 12; 64 leaves room for ambisonics without trusting a byte flip.
MAX_CHANNELS = 64
# The fewest bits a sample can take in any format libsndfile reads (compressed FLAC of
# silence takes ~0.02 bits a sample, so this bounds only wild lies: see :func:`probe_audio`).
_MIN_BITS_PER_FRAME = 0.001


def soundfile_info(source: Source) -> sf._SoundFileInfo | None:
    """libsndfile's header facts when it reads this format exactly, else ``None``."""
    with open_binary(source) as f:
        if not f.read(4).startswith(_SOUNDFILE_MAGIC):
            return None
        f.seek(0)
        import soundfile as sf  # libsndfile loads only when a file may be one of its formats

        try:
            info = sf.info(f)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            return None
    return info if info.format in _SOUNDFILE_FORMATS else None


def check_layout(name: str, sample_rate: int | None, channels: int | None) -> None:
    """Refuse a sample rate or channel count no real recording has (header damage)."""
    if sample_rate is None or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise CorruptMediaError(name, f"header declares a sample rate of {sample_rate} Hz")
    if channels is None or not 1 <= channels <= MAX_CHANNELS:
        raise CorruptMediaError(name, f"header declares {channels} audio channels")


def probe_audio(source: Source, *, max_duration: float | None = DEFAULT_MAX_DURATION) -> MediaInfo:
    """Header facts of an audio file (or of a video file's first audio track).

    Raises :class:`EmptyMediaError` for zero-length audio, :class:`UnsupportedMediaError`
    without an audio stream, :class:`CorruptMediaError` for an impossible sample rate,
    channel count or sample count and :class:`MediaTooLargeError` above ``max_duration``
    seconds.
    """
    name = source_name(source)
    info = soundfile_info(source)
    if info is not None:
        check_layout(name, info.samplerate, info.channels)
        if info.frames <= 0:
            raise EmptyMediaError(name, "audio has no samples (zero length)")
        if info.frames * info.channels * _MIN_BITS_PER_FRAME > 8 * file_size(source):
            raise CorruptMediaError(
                name, f"header declares {info.frames:,} samples, more than the file can hold"
            )
        duration = info.frames / info.samplerate
        check_duration(name, "audio", duration, max_duration)
        return MediaInfo(
            source=name,
            kind="audio",
            format=info.format.lower(),
            duration=duration,
            frame_count=info.frames,
            sample_rate=info.samplerate,
            channels=info.channels,
        )
    with open_container(source) as container:
        if not container.streams.audio:
            raise UnsupportedMediaError(name, "no audio stream in the container")
        stream = container.streams.audio[0]
        codec = decoder(stream, name)
        check_layout(name, codec.sample_rate, codec.channels)
        duration = header_duration(container, stream, name)
        if duration <= 0:
            raise EmptyMediaError(name, "audio has no samples (zero length)")
        check_duration(name, "audio", duration, max_duration)
        return MediaInfo(
            source=name,
            kind="audio",
            format=format_name(container, source),
            duration=duration,
            sample_rate=codec.sample_rate,
            channels=codec.channels,
        )
