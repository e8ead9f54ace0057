"""Log-mel features against transformers' ``WhisperFeatureExtractor`` (max abs diff ≤ 1e-4)."""

from __future__ import annotations

import numpy as np
import pytest
from transformers import WhisperFeatureExtractor

from mmtok.audio.mel import MelConfig, log_mel
from tests.media_factory import speechlike, tone


def _signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "tone_1s": tone(1.0, freq=440.0)[:, 0],
        "speech_7s": speechlike(7.3),
        "noise_0.2s": (0.1 * rng.standard_normal(3_200)).astype(np.float32),
        "speech_31s_truncated": speechlike(31.0, seed=3),
        "chirp_30s": np.sin(2 * np.pi * np.cumsum(np.linspace(50, 7900, 480_000)) / 16_000).astype(
            np.float32
        ),
    }


@pytest.mark.parametrize("n_mels", [80, 128])
@pytest.mark.parametrize("name", list(_signals()))
def test_log_mel_matches_whisper_feature_extractor(n_mels: int, name: str) -> None:
    x = _signals()[name]
    reference = WhisperFeatureExtractor(feature_size=n_mels)(
        x, sampling_rate=16_000, return_tensors="np"
    ).input_features[0]
    ours = log_mel(x, MelConfig(n_mels=n_mels))
    assert ours.shape == reference.shape == (n_mels, 3000)
    assert np.abs(ours - reference).max() <= 1e-4
