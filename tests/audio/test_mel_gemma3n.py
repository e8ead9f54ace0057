"""Gemma 3n's front end at the edges of its frame count."""

from __future__ import annotations

import numpy as np
import pytest

from mmtok.audio.mel_gemma3n import FRAME_LENGTH, gemma3n_features
from mmtok.profiles import get_profile

MEL = get_profile("gemma3n").audio_encoder.mel


@pytest.mark.parametrize(
    ("samples", "frames"), [(1, 0), (16, 0), (512, 0), (513, 1), (640, 1), (673, 2)]
)
def test_frame_count_at_the_edges(samples: int, frames: int) -> None:
    # Zero-padded to a multiple of 128, then ⌊(S′ − 513) / 160⌋ + 1 frames of 513 samples:
    # audio shorter than one frame has none (transformers returns (1, 0, 128) then, too).
    features, mask = gemma3n_features(np.full(samples, 0.1, np.float32), MEL)
    assert features.shape == (1, frames, MEL.n_mels) and features.dtype == np.float32
    assert mask.shape == (1, frames) and mask.dtype == bool
    assert samples < FRAME_LENGTH + 1 or mask.all()
