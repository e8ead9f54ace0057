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
from mmtok.audio.plan import (
    QWEN2_AUDIO,
    count_audio,
    encoder_token_count,
    header_samples,
    mel_frame_count,
    plan_audio,
    resampled_length,
    tokens_per_second,
)
from mmtok.audio.probe import probe_audio
from mmtok.profiles import get_profile
from tests.media_factory import tone, write_sound


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
        header_samples(info) == len(load_audio(path)) == resampled_length(141_561, 44_100, 16_000)
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
