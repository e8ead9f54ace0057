"""Audio probing, loading, mono mix-down, resampling and chunking on generated sounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmtok.audio.load import chunk_audio, load_audio
from mmtok.audio.plan import resampled_length
from mmtok.audio.probe import probe_audio
from mmtok.errors import (
    ConfigError,
    CorruptMediaError,
    EmptyMediaError,
    MediaTooLargeError,
    UnsupportedMediaError,
)
from mmtok.video.probe import probe_video
from tests.media_factory import (
    index_frame,
    speechlike,
    tone,
    write_compressed_audio,
    write_sound,
    write_video,
    write_video_with_audio,
)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


def dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize(("suffix", "fmt"), [(".wav", "wav"), (".flac", "flac"), (".ogg", "ogg")])
def test_probe_soundfile_formats_exactly(media: Path, suffix: str, fmt: str) -> None:
    path = write_sound(media / f"tone{suffix}", tone(1.5, 44_100, channels=2), 44_100)
    info = probe_audio(path)
    assert (info.kind, info.format, info.sample_rate, info.channels) == ("audio", fmt, 44_100, 2)
    assert info.frame_count == 66_150 and info.duration == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("name", "codec"), [("a.mp3", "libmp3lame"), ("a.m4a", "aac"), ("a.opus", "libopus")]
)
def test_compressed_formats_through_pyav(media: Path, name: str, codec: str) -> None:
    rate = 48_000
    path = write_compressed_audio(media / name, tone(2.0, rate, freq=440.0), rate, codec)
    info = probe_audio(path)
    assert info.kind == "audio" and info.sample_rate == rate and info.channels == 1
    assert info.duration == pytest.approx(2.0, abs=0.1)  # codec priming/padding
    samples = load_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == pytest.approx(32_000, abs=1_600)
    assert dominant_hz(samples, 16_000) == pytest.approx(440.0, abs=2.0)


def test_wav_mono_mixdown_and_resample(media: Path) -> None:
    left = tone(1.0, 44_100, freq=1000.0)[:, 0]
    # Identical channels mix to the channel itself; opposite channels cancel.
    same = write_sound(media / "same.wav", np.stack([left, left], 1), 44_100, "FLOAT")
    opposite = write_sound(media / "opp.wav", np.stack([left, -left], 1), 44_100, "FLOAT")
    mono = load_audio(same, sample_rate=None)
    np.testing.assert_allclose(mono, left, atol=1e-7)
    assert np.abs(load_audio(opposite, sample_rate=None)).max() < 1e-7
    resampled = load_audio(same)
    assert len(resampled) == resampled_length(44_100, 44_100, 16_000) == 16_000
    assert dominant_hz(resampled, 16_000) == pytest.approx(1000.0, abs=2.0)
    both = load_audio(same, mono=False, sample_rate=None)
    assert both.shape == (2, 44_100)


def test_bytes_input(media: Path) -> None:
    path = write_sound(media / "speech.flac", speechlike(1.0), 16_000)
    from_bytes = load_audio(path.read_bytes())
    np.testing.assert_array_equal(from_bytes, load_audio(path))


def test_audio_track_of_a_video(media: Path) -> None:
    path = write_video_with_audio(media / "av.mp4", 1.0, tone(1.0, 44_100, freq=500.0), 44_100)
    info = probe_video(path)
    assert info.has_audio and info.sample_rate == 44_100 and info.channels == 1
    samples = load_audio(path)
    assert len(samples) == pytest.approx(16_000, abs=1_000)
    assert dominant_hz(samples, 16_000) == pytest.approx(500.0, abs=3.0)


def test_chunk_audio_windows_with_overlap() -> None:
    x = np.arange(70 * 10, dtype=np.float32)  # 70 s at 10 Hz
    chunks = chunk_audio(x, 10, window_s=30.0, overlap_s=5.0)
    # hop 25 s: [0, 30) [25, 55) [50, 70)
    assert [(c[0], len(c)) for c in chunks] == [(0, 300), (250, 300), (500, 200)]
    assert len(chunk_audio(x[:100], 10)) == 1
    with pytest.raises(ConfigError, match="overlap"):
        chunk_audio(x, 10, window_s=30.0, overlap_s=30.0)


# --- bad input -------------------------------------------------------------------------


def test_zero_length_audio(media: Path) -> None:
    path = write_sound(media / "empty.wav", np.zeros((0, 1), np.float32), 16_000)
    with pytest.raises(EmptyMediaError, match="zero length"):
        probe_audio(path)
    with pytest.raises(EmptyMediaError, match=r"empty\.wav"):
        load_audio(path)


def test_nan_samples(media: Path) -> None:
    x = tone(0.5)[:, 0]
    x[100:110] = np.nan
    path = write_sound(media / "nan.wav", x, 16_000, "FLOAT")
    with pytest.raises(CorruptMediaError, match="10 samples are NaN"):
        load_audio(path)


def test_long_audio_refused_before_decoding(media: Path) -> None:
    path = write_sound(media / "long.wav", np.zeros(36_000, np.int16), 1_000)  # 36 s
    with pytest.raises(MediaTooLargeError, match=r"36\.0 s of audio, above the limit of 10\.0"):
        load_audio(path, max_duration=10)
    assert probe_audio(path, max_duration=None).duration == 36


def test_impossible_sample_rate_is_corrupt(media: Path) -> None:
    # 1 Hz: 36,000 samples would claim 10 h and resample to 576 M samples at 16 kHz.
    path = write_sound(media / "one_hz.wav", np.zeros(36_000, np.int16), 1)
    with pytest.raises(
        CorruptMediaError, match=r"one_hz\.wav: header declares a sample rate of 1 Hz"
    ):
        probe_audio(path)


def test_video_without_audio_track(media: Path) -> None:
    path = write_video(media / "silent.mp4", index_frame(64, 48), 5)
    with pytest.raises(UnsupportedMediaError, match="no audio stream"):
        load_audio(path)


def test_garbage_audio(media: Path) -> None:
    junk = media / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunk" * 10)
    with pytest.raises(CorruptMediaError, match=r"junk\.wav"):
        probe_audio(junk)
