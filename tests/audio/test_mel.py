"""Log-mel features: values derived by hand from the Whisper recipe."""

from __future__ import annotations

import numpy as np
import pytest

from mmtok.audio.mel import (
    MelConfig,
    chunk_bounds,
    log_mel,
    log_mel_windows,
    mel_filters,
    pad_or_trim,
)
from tests.media_factory import tone

WHISPER = MelConfig()
WHISPER_128 = MelConfig(n_mels=128)


def test_window_constants() -> None:
    assert (WHISPER.window_samples, WHISPER.window_frames) == (480_000, 3_000)


def test_silence_is_flat_at_minus_one_and_a_half() -> None:
    # log10 of the 1e-10 floor is -10 everywhere; the max is -10, so nothing is clipped;
    # (-10 + 4) / 4 = -1.5.
    feats = log_mel(np.zeros(16_000, np.float32))
    assert feats.shape == (80, 3000) and feats.dtype == np.float32
    assert np.all(feats == -1.5)


def test_dynamic_range_is_eight_below_the_peak() -> None:
    feats = log_mel(tone(1.0, freq=1000.0)[:, 0])
    # (max - 8 + 4) / 4 = max/4 - 1: the floor sits exactly 2 below the peak after scaling
    assert feats.min() == pytest.approx(feats.max() - 2.0, abs=1e-5)


def test_tone_energy_lands_in_the_right_mel_band() -> None:
    feats = log_mel(tone(1.0, freq=440.0)[:, 0])
    band = int(np.argmax(feats[:, 50]))
    filters = mel_filters(WHISPER)  # (201, 80); FFT bin k is k · 40 Hz
    assert filters[11, band] > 0  # 440 Hz is FFT bin 11
    assert filters[11, band] == filters[11].max()


def test_filters_are_slaney_triangles() -> None:
    f = mel_filters(WHISPER_128)
    assert f.shape == (201, 128)
    assert (f >= 0).all()
    # Each filter is one triangle: non-zero on a contiguous run of bins.
    for m in range(128):
        nz = np.flatnonzero(f[:, m])
        assert len(nz) and (np.diff(nz) == 1).all()
    # Slaney's scale is linear below 1 kHz (3 mels per 200 Hz) and 0–8 kHz spans 45.245 mels:
    # 80 filters → edges every 0.5517 mels = 36.78 Hz, so filter 0 peaks at 36.78 Hz, FFT bin 1.
    peaks = np.argmax(mel_filters(WHISPER), axis=0)
    assert peaks[0] == 1
    assert np.all(np.diff(peaks) >= 0)


def test_pad_or_trim() -> None:
    assert pad_or_trim(np.ones(3), 5).tolist() == [1, 1, 1, 0, 0]
    assert pad_or_trim(np.arange(6), 4).tolist() == [0, 1, 2, 3]


def test_long_audio_windows() -> None:
    x = tone(65.0, freq=300.0)[:, 0]
    feats = log_mel_windows(x, WHISPER_128)
    assert feats.shape == (3, 128, 3000)
    np.testing.assert_array_equal(feats[0], log_mel(x[:480_000], WHISPER_128))
    assert chunk_bounds(len(x), 480_000) == [(0, 480_000), (480_000, 960_000), (960_000, 1_040_000)]
