"""Continuous audio token counts: Qwen2-Audio's rule by hand, and against its processor math."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soxr
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtok.audio.features import load_audio_features
from mmtok.audio.load import load_audio
from mmtok.audio.packets import opus_packet_samples
from mmtok.audio.plan import (
    QWEN2_AUDIO,
    count_audio,
    encoder_token_count,
    file_samples,
    mel_frame_count,
    plan_audio,
    planned_samples,
    resampled_length,
    tokens_per_second,
)
from mmtok.audio.probe import probe_audio
from mmtok.errors import CorruptMediaError, TruncatedMediaError
from mmtok.profiles import get_profile
from tests.media_factory import tone, write_compressed_audio, write_sound, write_video_with_audio


@pytest.mark.parametrize(
    ("samples", "tokens"),
    [
        (480_000, 750),  # 30 s: 3000 mel frames → 1500 → 750
        (16_000, 25),  # 1 s: 100 → 50 → 25
        (8_000, 12),  # 0.5 s: 50 → 25 → (25 - 2) // 2 + 1 = 12
        (161, 0),  # 2 mel frames → 1 → (1 - 2) // 2 + 1 = 0
        (1, 0),
        (960_000, 750),  # one window: the rest is in the next window
    ],
)
def test_single_window_counts_by_hand(samples: int, tokens: int) -> None:
    assert encoder_token_count(mel_frame_count(samples, QWEN2_AUDIO.mel)) == tokens


def test_tokens_per_second_is_25() -> None:
    assert tokens_per_second() == 25.0


def test_long_audio_counts_window_by_window() -> None:
    plan = plan_audio(70 * 16_000)  # windows of 30 + 30 + 10 s
    assert plan.window_tokens == (750, 750, 250)
    assert plan.tokens == 1750 and plan.duration == 70.0
    overlapped = plan_audio(70 * 16_000, overlap=5 * 16_000)  # [0,30) [25,55) [50,70)
    assert overlapped.window_tokens == (750, 750, 500)


def test_generic_profile_counts_fences_per_window() -> None:
    plan = plan_audio(40 * 16_000, get_profile("generic"))
    assert plan.tokens == 750 + 250 + 2 * 2 and plan.fence_tokens == 0


@settings(max_examples=25)
@given(
    n=st.integers(1, 50_000), rate=st.sampled_from([8_000, 11_025, 22_050, 32_000, 44_100, 48_000])
)
def test_resampled_length_matches_soxr(n: int, rate: int) -> None:
    assert len(soxr.resample(np.zeros(n, np.float32), rate, 16_000)) == resampled_length(
        n, rate, 16_000
    )


def test_header_count_equals_decoded_count(tmp_path: Path) -> None:
    path = write_sound(tmp_path / "t.wav", tone(3.21, 44_100, channels=2), 44_100)
    info = probe_audio(path)
    assert (
        planned_samples(path, info, 16_000)
        == len(load_audio(path))
        == resampled_length(141_561, 44_100, 16_000)
    )


@pytest.mark.parametrize("seconds", [0.37, 1.0, 12.345, 29.99, 30.0, 45.0])
def test_matches_qwen2_audio_processor_arithmetic(seconds: float) -> None:
    """Qwen2AudioProcessor: feature attention mask from WhisperFeatureExtractor(128),
    ``padding="max_length"``, then ``((L - 1) // 2 + 1 - 2) // 2 + 1`` (30 s truncation)."""
    transformers = pytest.importorskip("transformers")
    extractor = transformers.WhisperFeatureExtractor(feature_size=128)
    x = tone(seconds)[:, 0]
    mask = extractor(
        x, sampling_rate=16_000, return_attention_mask=True, padding="max_length",
        return_tensors="np",
    )["attention_mask"]  # fmt: skip
    length = int(mask.sum())
    reference = (((length - 1) // 2 + 1) - 2) // 2 + 1
    assert plan_audio(len(x)).window_tokens[0] == reference


def test_features_masks_and_counts_for_long_audio(tmp_path: Path) -> None:
    path = write_sound(tmp_path / "long.flac", tone(40.0, 16_000), 16_000)
    info, plan = count_audio(path)
    assert info.duration == 40.0 and plan.window_tokens == (750, 250)
    feats = load_audio_features(path)
    assert feats.input_features.shape == (2, 128, 3000)
    assert feats.feature_attention_mask.sum(axis=1).tolist() == [3000, 1000]
    assert feats.plan == plan


# Compressed audio: the count comes from the packets, and loading checks it.
# AAC decodes 1024-sample frames: the encoder's 1024 priming samples are dropped through the
# MP4 edit list, but the last frame decodes whole, past the edit list's end.
@pytest.mark.parametrize(
    ("seconds", "rate", "channels"), [(7.3, 44_100, 2), (31.1, 16_000, 1), (0.3, 48_000, 1)]
)
def test_m4a_count_is_whole_aac_frames_and_matches_features(
    tmp_path: Path, seconds: float, rate: int, channels: int
) -> None:
    samples = round(seconds * rate)
    path = write_compressed_audio(
        tmp_path / "a.m4a", tone(seconds, rate, channels=channels), rate, "aac"
    )
    frames = -(-samples // 1024)  # the edit list keeps `samples`; the last frame pads to 1024
    assert file_samples(path, probe_audio(path)) == (frames * 1024, rate)
    _, plan = count_audio(path)
    assert plan.num_samples == resampled_length(frames * 1024, rate, 16_000)
    feats = load_audio_features(path)
    assert feats.plan == plan
    assert feats.feature_attention_mask.sum(axis=1).tolist() == [
        mel_frame_count(b - a, QWEN2_AUDIO.mel) for a, b in plan.windows
    ]


def test_issue_example_31s_m4a_plans_what_decodes(tmp_path: Path) -> None:
    """The issue's file: 31.1 s at 44.1 kHz is 1,371,510 samples, decoded as 1,340 whole AAC
    frames = 1,372,160, which is 497,836 at 16 kHz: windows of 480,000 + 17,836 samples, the
    second ⌈17,836 / 160⌉ = 112 mel frames → 56 → 28 tokens (the header's 31.1 s said 27)."""
    path = write_compressed_audio(tmp_path / "a.m4a", tone(31.1, 44_100), 44_100, "aac")
    _, plan = count_audio(path)
    assert plan.num_samples == resampled_length(1340 * 1024, 44_100, 16_000) == 497_836
    assert plan.window_tokens == (750, 28)
    assert load_audio_features(path).plan == plan


@pytest.mark.parametrize(
    ("suffix", "codec", "rate"),
    [("aac", "aac", 16_000), ("mp3", "libmp3lame", 44_100), ("webm", "libopus", 48_000)],
)
def test_other_compressed_formats_plan_what_decodes(
    tmp_path: Path, suffix: str, codec: str, rate: int
) -> None:
    path = write_compressed_audio(tmp_path / f"a.{suffix}", tone(2.5, rate), rate, codec)
    _, plan = count_audio(path)
    assert plan.num_samples == len(load_audio(path))
    assert load_audio_features(path).plan == plan


def test_adts_aac_counts_every_frame_priming_included(tmp_path: Path) -> None:
    """Raw ADTS has no edit list: all ⌈(n + 1024) / 1024⌉ frames decode, priming included,
    while the header's duration is only a bitrate estimate."""
    path = write_compressed_audio(tmp_path / "a.aac", tone(2.5, 16_000), 16_000, "aac")
    assert file_samples(path, probe_audio(path)) == (-(-(40_000 + 1024) // 1024) * 1024, 16_000)


def test_long_adts_aac_loads_although_its_header_duration_is_an_estimate(tmp_path: Path) -> None:
    """31 s of ADTS at 44.1 kHz: the header's bitrate estimate is ~1 s long, the packets are
    exact; loading trusts the packets, and features fill the planned count."""
    path = write_compressed_audio(tmp_path / "long.aac", tone(31.1, 44_100), 44_100, "aac")
    _, plan = count_audio(path)
    assert load_audio_features(path).plan == plan


def test_video_audio_track_plans_what_decodes(tmp_path: Path) -> None:
    path = write_video_with_audio(tmp_path / "v.mp4", 1.0, tone(1.0, 44_100, channels=2), 44_100)
    _, plan = count_audio(path)
    assert plan.num_samples == resampled_length(44 * 1024, 44_100, 16_000)
    assert load_audio_features(path).plan == plan


@pytest.mark.parametrize("extra", [-1, 1])
def test_load_refuses_features_that_disagree_with_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: int
) -> None:
    import mmtok.audio.features as features

    path = write_sound(tmp_path / "t.wav", tone(1.0), 16_000)
    real = features.count_audio

    def off_by_one(*args, **kwargs):
        info, plan = real(*args, **kwargs)
        return info, plan_audio(plan.num_samples - extra)

    monkeypatch.setattr(features, "count_audio", off_by_one)
    error = CorruptMediaError if extra > 0 else TruncatedMediaError
    with pytest.raises(error, match="planned audio token count"):
        load_audio_features(path)


@pytest.mark.parametrize(
    ("packet", "samples"),
    [
        (bytes([0b11111_0_00]), 960),  # CELT 20 ms, one frame
        (bytes([0b00001_0_01]), 1920),  # SILK 20 ms, two frames (code 1)
        (bytes([0b01111_0_10]), 1920),  # hybrid 20 ms, two frames (code 2)
        (bytes([0b10000_0_11, 5]), 600),  # CELT 2.5 ms × 5 frames (code 3)
        (bytes([0b00011_0_00]), 2880),  # SILK 60 ms
    ],
)
def test_opus_toc_by_hand(packet: bytes, samples: int) -> None:
    assert opus_packet_samples(packet) == samples


def test_opus_code_3_without_its_count_byte_is_refused() -> None:
    # Code 3 announces its frame count in a second byte; a 1-byte packet is malformed, and
    # ``packet_samples`` turns this ValueError into a CorruptMediaError naming the file.
    with pytest.raises(ValueError, match="frame-count byte"):
        opus_packet_samples(bytes([0b10000_0_11]))
