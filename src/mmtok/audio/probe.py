"""Audio header facts: sample rate, channels, duration — libsndfile where exact, else PyAV."""

from __future__ import annotations

import soundfile as sf

from mmtok.errors import EmptyMediaError, UnsupportedMediaError
from mmtok.media.container import check_duration, format_name, header_duration, open_container
from mmtok.media.info import MediaInfo
from mmtok.media.source import Source, open_binary, source_name

# libsndfile reports exact frame counts for these; everything else goes through PyAV.
_SOUNDFILE_FORMATS = {"WAV", "WAVEX", "RF64", "W64", "FLAC", "OGG", "AIFF", "CAF", "AU"}


def soundfile_info(source: Source) -> sf._SoundFileInfo | None:
    """libsndfile's header facts when it reads this format exactly, else ``None``."""
    with open_binary(source) as f:
        try:
            info = sf.info(f)
        except (sf.LibsndfileError, RuntimeError, TypeError):
            return None
    return info if info.format in _SOUNDFILE_FORMATS else None


def probe_audio(source: Source, *, max_duration: float | None = None) -> MediaInfo:
    """Header facts of an audio file (or of a video file's first audio track).

    Raises :class:`EmptyMediaError` for zero-length audio, :class:`UnsupportedMediaError`
    without an audio stream and :class:`MediaTooLargeError` above ``max_duration`` seconds.
    """
    name = source_name(source)
    info = soundfile_info(source)
    if info is not None:
        if info.frames <= 0:
            raise EmptyMediaError(name, "audio has no samples (zero length)")
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
        duration = header_duration(container, stream, name)
        if duration <= 0:
            raise EmptyMediaError(name, "audio has no samples (zero length)")
        check_duration(name, "audio", duration, max_duration)
        return MediaInfo(
            source=name,
            kind="audio",
            format=format_name(container, source),
            duration=duration,
            sample_rate=stream.rate,
            channels=stream.channels,
        )
